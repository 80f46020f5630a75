//! The immutable in-memory view of the store that every read path uses.
//!
//! Built once at start and again after every committed change, then shared as an `Arc` and swapped
//! whole ([`SnapshotCell`]), so readers never take a lock that a writer holds while it works.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use geo::BoundingRect;
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::address::{AddressIndex, Matched};
use crate::lookup::Card;
use crate::model::{Feature, FeatureKey, Layer};
use crate::spatial::cells::CellIndex;
use crate::spatial::locate::PreparedPolygon;

/// An R-tree entry: a feature's bounding box and its index in [`Snapshot::features`].
pub type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Every current feature, indexed by key, by layer and by bounding box.
///
/// Features are kept sorted by (layer, code), so a layer is a slice and a key is found by binary
/// search: no per-feature map entry, which matters at city scale (hundreds of thousands of
/// features held in memory).
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The store's data version this snapshot reflects (the latest revision id).
    pub data_version: i64,
    features: Vec<Feature>,
    /// Where each layer's features lie in `features`.
    by_layer: HashMap<Layer, Range<usize>>,
    /// One R-tree per layer, over bounding boxes; exact tests are the caller's.
    index: HashMap<Layer, RTree<BoxEntry>>,
    /// For each feature with an areal geometry, its polygon prepared for point tests (boxed:
    /// most features are points, and `None` then costs one word).
    prepared: Vec<Option<Box<PreparedPolygon>>>,
    /// The areal features of the [`LOCATED`] layers by cell, for lookups; each entry's payload is
    /// `index << 3 | position in LOCATED` (see [`Snapshot::located_at`]).
    cells: CellIndex,
    /// The contact card of every feature of the [`LOCATED`] layers (which sort first, so card `i`
    /// is feature `i`), built once instead of per answer.
    cards: Vec<Card>,
    /// The `address` layer indexed for matching address text.
    addresses: AddressIndex,
}

impl Snapshot {
    /// Index `features` at `data_version`.
    pub fn new(data_version: i64, mut features: Vec<Feature>) -> Snapshot {
        // The stores return this order already; sorting a sorted Vec is a single pass.
        features.sort_unstable_by(|a, b| (a.layer, &a.code).cmp(&(b.layer, &b.code)));
        let mut by_layer: HashMap<Layer, Range<usize>> = HashMap::new();
        let mut entries: HashMap<Layer, Vec<BoxEntry>> = HashMap::new();
        for (i, f) in features.iter().enumerate() {
            by_layer
                .entry(f.layer)
                .and_modify(|r| r.end = i + 1)
                .or_insert(i..i + 1);
            if let Some(r) = f.geometry.bounding_rect() {
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                entries
                    .entry(f.layer)
                    .or_default()
                    .push(GeomWithData::new(rect, i));
            }
        }
        // The parts are independent: prepare the polygons and then the cell index on one side,
        // while the R-trees, contact cards and address index are built on the other (rayon), so
        // a rebuild after an edit uses both cores from start to end.
        let t = std::time::Instant::now();
        let ((prepared, cells), (index, (cards, addresses))) = rayon::join(
            || {
                let prepared: Vec<Option<Box<PreparedPolygon>>> = features
                    .par_iter()
                    .map(|f| areal(&f.geometry).map(|mp| Box::new(PreparedPolygon::new(&mp))))
                    .collect();
                let cells = located_cells(&features, &prepared);
                (prepared, cells)
            },
            || {
                rayon::join(
                    // Bulk loading builds a better-packed tree than inserting one by one.
                    || {
                        entries
                            .into_par_iter()
                            .map(|(layer, e)| (layer, RTree::bulk_load(e)))
                            .collect::<HashMap<_, _>>()
                    },
                    || {
                        let located = features
                            .iter()
                            .take_while(|f| LOCATED.contains(&f.layer))
                            .count();
                        let cards: Vec<Card> = features[..located].iter().map(Card::from).collect();
                        (cards, AddressIndex::new(&features))
                    },
                )
            },
        );
        tracing::debug!(
            features = features.len(),
            seconds = t.elapsed().as_secs_f64(),
            "snapshot indexes built"
        );
        Snapshot {
            data_version,
            features,
            by_layer,
            index,
            prepared,
            cells,
            cards,
            addresses,
        }
    }

    /// The cell index over the [`LOCATED`] layers' polygons.
    pub fn cells(&self) -> &CellIndex {
        &self.cells
    }

    /// The contact card of the feature at index `i`, for features of the [`LOCATED`] layers.
    #[inline]
    pub fn card_at(&self, i: usize) -> Option<&Card> {
        self.cards.get(i)
    }

    /// The prepared polygon of the feature at index `i`, for areal features.
    #[inline]
    pub fn prepared_at(&self, i: usize) -> Option<&PreparedPolygon> {
        self.prepared.get(i).and_then(|p| p.as_deref())
    }

    /// Every feature, by layer (in [`Layer::ALL`] order), then by code.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The features of one layer, in code order.
    fn layer_slice(&self, layer: Layer) -> &[Feature] {
        self.by_layer
            .get(&layer)
            .map_or(&[][..], |r| &self.features[r.clone()])
    }

    /// The feature with this key.
    pub fn get(&self, key: &FeatureKey) -> Option<&Feature> {
        self.find(key.layer, &key.code)
    }

    /// The feature with this layer and code.
    pub fn find(&self, layer: Layer, code: &str) -> Option<&Feature> {
        let slice = self.layer_slice(layer);
        slice
            .binary_search_by(|f| f.code.as_str().cmp(code))
            .ok()
            .map(|i| &slice[i])
    }

    /// The features of one layer, in code order.
    pub fn layer(&self, layer: Layer) -> impl Iterator<Item = &Feature> {
        self.layer_slice(layer).iter()
    }

    /// How many features a layer holds.
    pub fn count(&self, layer: Layer) -> usize {
        self.layer_slice(layer).len()
    }

    /// Match an address text against the `address` layer; hits refer to [`Snapshot::features`].
    pub fn find_address(&self, text: &str) -> Matched {
        self.addresses.find(text)
    }

    /// The feature at an index of [`Snapshot::features`] (as address hits give them).
    pub fn feature_at(&self, i: usize) -> Option<&Feature> {
        self.features.get(i)
    }

    /// Features of `layer` whose bounding box meets the box `[min, max]` (lon/lat).
    pub fn in_box(&self, layer: Layer, min: [f64; 2], max: [f64; 2]) -> Vec<&Feature> {
        let aabb = AABB::from_corners(min, max);
        match self.index.get(&layer) {
            Some(tree) => tree
                .locate_in_envelope_intersecting(&aabb)
                .map(|e| &self.features[e.data])
                .collect(),
            None => Vec::new(),
        }
    }

    /// Read every current feature of `store` into a new snapshot.
    pub async fn load(
        store: &dyn crate::store::Store,
    ) -> Result<Snapshot, crate::store::StoreError> {
        // Read the version first: a change committed between the two reads makes the snapshot
        // newer than its version says, so the next reload check still fires.
        let data_version = store.data_version().await?;
        let features = store.load().await?;
        tokio::task::spawn_blocking(move || Snapshot::new(data_version, features))
            .await
            .map_err(|e| crate::store::StoreError::Open(format!("snapshot build failed: {e}")))
    }

    /// Features of `layer` whose bounding box holds `p`, with their prepared polygons (areal
    /// features only).
    pub fn areal_at(
        &self,
        layer: Layer,
        p: geo::Coord<f64>,
    ) -> impl Iterator<Item = (&Feature, &PreparedPolygon)> {
        self.index
            .get(&layer)
            .into_iter()
            .flat_map(move |t| t.locate_all_at_point(&[p.x, p.y]))
            .filter_map(|e| {
                self.prepared[e.data]
                    .as_ref()
                    .map(|pp| (&self.features[e.data], &**pp))
            })
    }

    /// True when the store held nothing.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }
}

/// The layers a point lookup answers, in the order of the payload's low three bits in
/// [`Snapshot::cells`].
pub const LOCATED: [Layer; 5] = [
    Layer::Subdistrict,
    Layer::Community,
    Layer::PartyGrid,
    Layer::CommercialGrid,
    Layer::Compound,
];

/// About this many cells per polygon edge of the located layers, at most [`MAX_CELLS`]. Finer
/// cells mean fewer lookups that meet a boundary but more memory (four bytes a cell, and the lists
/// of crossed cells, which carry their local edges, are shared less). `cargo run --release
/// --example bench_lookup -- --in-process` prints the resulting shape, share of entries crossed
/// by a boundary, and size.
const CELLS_PER_EDGE: usize = 16;

/// Caps the cells whatever the data. Since crossed cells carry their own edges (see
/// [`crate::spatial::cells`]), a lookup that meets a boundary is cheap, so a coarser grid costs
/// little time: on the city set (615,000 located edges), 2²⁰ cells of 66 m make a 27 MB index
/// (cells 4 MB, edge pool 7 MB, lists 15 MB) and 2²² cells of 33 m a 52 MB one whose lookups are
/// only about a fifth faster (83 against 106 ns of CPU time). With the prepared polygons' flat
/// layout (17 MB less) the snapshot stays smaller than before.
const MAX_CELLS: usize = 1 << 20;

fn located_cells(features: &[Feature], prepared: &[Option<Box<PreparedPolygon>>]) -> CellIndex {
    let mut polygons = Vec::new();
    let mut edges = 0;
    for (i, (f, p)) in features.iter().zip(prepared).enumerate() {
        let (Some(slot), Some(p)) = (LOCATED.iter().position(|&l| l == f.layer), p) else {
            continue;
        };
        let payload = u32::try_from(i << 3 | slot).expect("fewer than 2²⁷ features");
        edges += p.edges().count();
        polygons.push((payload, &**p));
    }
    CellIndex::new(
        &polygons,
        (edges * CELLS_PER_EDGE).clamp(1 << 10, MAX_CELLS),
    )
}

/// The polygons of an areal geometry, `None` for points and lines.
fn areal(g: &geo::Geometry<f64>) -> Option<geo::MultiPolygon<f64>> {
    match g {
        geo::Geometry::Polygon(p) => Some(geo::MultiPolygon(vec![p.clone()])),
        geo::Geometry::MultiPolygon(mp) => Some(mp.clone()),
        _ => None,
    }
}

/// The current snapshot, swapped whole on every change.
///
/// A `std::sync::RwLock` guards only the pointer: readers clone the `Arc` and release the lock at
/// once, nothing is awaited while it is held, and the writer holds it for one pointer swap.
#[derive(Debug, Default)]
pub struct SnapshotCell(RwLock<Arc<Snapshot>>);

impl SnapshotCell {
    pub fn new(snapshot: Snapshot) -> SnapshotCell {
        SnapshotCell(RwLock::new(Arc::new(snapshot)))
    }

    /// The current snapshot; hold it as long as one request needs a consistent view.
    pub fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a writer panicked mid-swap; the Arc inside is still whole.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Publish a new snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }
}

/// Hand memory that is free but still held by the allocators back to the OS. Building a city's
/// snapshot needs scratch space (decoded rows, the cell index's per-polygon lists) about as large
/// as the snapshot itself; mimalloc keeps freed pages for reuse, and the C library's malloc (which
/// SQLite uses) keeps its arenas, so without this the server's resident size would stay at the
/// build's peak for its whole life. Harmless when mimalloc is not the global allocator (its own heap
/// is then empty).
pub fn release_free_memory() {
    // mimalloc keeps a heap per thread, and the build ran on rayon's threads too: collect on each
    // of them when it is next free (spawned, not awaited: a long report holding them must not
    // hold the caller), then on this one.
    // SAFETY: neither call takes pointers; both may be called at any time from any thread.
    rayon::spawn_broadcast(|_| unsafe { libmimalloc_sys::mi_collect(true) });
    unsafe {
        libmimalloc_sys::mi_collect(true);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, point, polygon};

    fn feature(layer: Layer, code: &str, geometry: Geometry<f64>) -> Feature {
        Feature {
            layer,
            code: code.into(),
            name: code.into(),
            parent: None,
            properties: Default::default(),
            geometry,
            version: 1,
        }
    }

    #[test]
    fn indexes_by_key_layer_and_box() {
        let grid = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)];
        let snap = Snapshot::new(
            7,
            vec![
                feature(Layer::PartyGrid, "a", grid.into()),
                feature(Layer::Shop, "s", point!(x: 5., y: 5.).into()),
            ],
        );
        assert_eq!(snap.data_version, 7);
        assert_eq!(snap.count(Layer::PartyGrid), 1);
        assert_eq!(snap.count(Layer::Community), 0);
        assert_eq!(snap.find(Layer::Shop, "s").unwrap().code, "s");
        assert!(snap.find(Layer::Shop, "a").is_none());
        assert_eq!(snap.in_box(Layer::PartyGrid, [0.5, 0.5], [2., 2.]).len(), 1);
        assert_eq!(snap.in_box(Layer::PartyGrid, [1.5, 1.5], [2., 2.]).len(), 0);
        assert_eq!(snap.in_box(Layer::Shop, [4., 4.], [6., 6.]).len(), 1);
    }

    #[test]
    fn empty_snapshot_answers_nothing() {
        let snap = Snapshot::default();
        assert!(snap.is_empty());
        assert_eq!(snap.layer(Layer::PartyGrid).count(), 0);
        assert_eq!(snap.in_box(Layer::Shop, [0., 0.], [1., 1.]).len(), 0);
    }
}
