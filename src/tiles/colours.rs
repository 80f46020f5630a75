//! Community colours: party grids are filled with their community's colour, so two communities
//! that touch must never share one, or their border disappears on the map (with colours given in
//! code order, 柴市路社区 and 磨坊路社区 of the demo both came out yellow, side by side).
//!
//! The communities' adjacency is read off the snapshot (two communities touch when their polygons
//! meet, or come within [`NEAR_M`] of each other, as hand-digitised neighbours do), and the graph
//! is coloured greedily by DSatur (Brélaz 1979): next colour the community with the most distinct
//! colours among its neighbours, ties to the most neighbours, then to the smaller code; give it
//! the palette colour no neighbour has that is used least so far (ties to the palette's order).
//! Deterministic. The planar graphs of neighbouring areas need four or five colours, but taking the
//! least used spreads all eight over the map, so that fewer communities share a colour in the
//! legend. Only if some community had eight neighbours all of different colours would a colour
//! repeat (taken round the palette).

use geo::{BoundingRect, Distance, Euclidean, Geometry, Intersects, MultiPolygon};

use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;

/// Fill colours of communities (ColorBrewer Set3, pastel, drawn at half opacity). Without Set3's
/// red and orange: red means a coverage gap and orange an overlap on this map, nothing else.
pub const PALETTE: [&str; 8] = [
    "#8dd3c7", "#ffffb3", "#bebada", "#80b1d3", "#b3de69", "#fccde5", "#d9d9d9", "#ccebc5",
];

/// Communities this close (metres) count as touching: a digitised border often leaves a hairline
/// gap that is invisible at any zoom where colours are told apart.
pub const NEAR_M: f64 = 1.0;

/// Degrees of latitude per metre; a degree of longitude is shorter, so the same number of degrees
/// is at most [`NEAR_M`] in any direction.
const DEG_PER_M: f64 = 1.0 / 111_320.0;

/// Each community (in code order) with its colour.
pub fn community_colours(snapshot: &Snapshot) -> Vec<(&Feature, &'static str)> {
    snapshot
        .layer(Layer::Community)
        .zip(assign(snapshot))
        .collect()
}

/// The colour of each community, in code order (as [`Snapshot::layer`] gives them).
pub fn assign(snapshot: &Snapshot) -> Vec<&'static str> {
    let communities: Vec<&Feature> = snapshot.layer(Layer::Community).collect();
    let adjacent = adjacency(snapshot, &communities);
    dsatur(&adjacent)
        .into_iter()
        .map(|k| PALETTE[k % PALETTE.len()])
        .collect()
}

/// A colour per community, in code order, shared between requests.
pub type Colouring = std::sync::Arc<Vec<&'static str>>;

/// The last colouring, by a fingerprint of the communities (code, version and bounding box of
/// each): an edit to grids or points keeps it, an edit to a community recolours.
#[derive(Debug, Default)]
pub struct ColourMemo {
    /// Held only to copy an `Arc` out or in; the colouring itself runs outside the lock, so two
    /// first requests may both compute it (the same answer) rather than one wait on the other.
    last: std::sync::Mutex<Option<(u64, Colouring)>>,
}

impl ColourMemo {
    pub fn get(&self, snapshot: &Snapshot) -> Colouring {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for c in snapshot.layer(Layer::Community) {
            (&c.code, c.version).hash(&mut h);
            if let Some(r) = c.geometry.bounding_rect() {
                [r.min().x, r.min().y, r.max().x, r.max().y]
                    .map(f64::to_bits)
                    .hash(&mut h);
            }
        }
        let key = h.finish();
        let lock = || self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, v)) = lock().as_ref()
            && *k == key
        {
            return v.clone();
        }
        let v = std::sync::Arc::new(assign(snapshot));
        *lock() = Some((key, v.clone()));
        v
    }
}

/// For each community (indices into `communities`), the indices of those it touches.
fn adjacency(snapshot: &Snapshot, communities: &[&Feature]) -> Vec<Vec<usize>> {
    let index_of = |f: &Feature| communities.iter().position(|c| c.code == f.code);
    let near = NEAR_M * DEG_PER_M;
    let mut adj = vec![Vec::new(); communities.len()];
    for (i, a) in communities.iter().enumerate() {
        let Some(r) = a.geometry.bounding_rect() else {
            continue;
        };
        let (min, max) = (
            [r.min().x - near, r.min().y - near],
            [r.max().x + near, r.max().y + near],
        );
        for b in snapshot.in_box(Layer::Community, min, max) {
            let Some(j) = index_of(b) else { continue };
            if j <= i {
                continue;
            }
            if touch(&a.geometry, &b.geometry, near) {
                adj[i].push(j);
                adj[j].push(i);
            }
        }
    }
    for a in &mut adj {
        a.sort_unstable();
    }
    adj
}

fn touch(a: &Geometry<f64>, b: &Geometry<f64>, near: f64) -> bool {
    if a.intersects(b) {
        return true;
    }
    match (areal(a), areal(b)) {
        (Some(a), Some(b)) => Euclidean.distance(&a, &b) <= near,
        _ => false,
    }
}

fn areal(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
        Geometry::MultiPolygon(mp) => Some(mp.clone()),
        _ => None,
    }
}

/// DSatur over the adjacency lists, choosing among the first [`PALETTE`]`.len()` colours the
/// least used one: a colour index per vertex.
fn dsatur(adj: &[Vec<usize>]) -> Vec<usize> {
    let n = adj.len();
    let mut colour: Vec<Option<usize>> = vec![None; n];
    let mut uses = [0usize; PALETTE.len()];
    for _ in 0..n {
        let saturation = |v: usize| {
            let mut seen: Vec<usize> = adj[v].iter().filter_map(|&u| colour[u]).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        };
        // The vertices come in code order, so the smallest index breaks the last tie.
        let Some(v) = (0..n)
            .filter(|&v| colour[v].is_none())
            .max_by_key(|&v| (saturation(v), adj[v].len(), std::cmp::Reverse(v)))
        else {
            break;
        };
        let used: Vec<usize> = adj[v].iter().filter_map(|&u| colour[u]).collect();
        let k = (0..PALETTE.len())
            .filter(|k| !used.contains(k))
            .min_by_key(|&k| (uses[k], k))
            .or_else(|| (PALETTE.len()..).find(|k| !used.contains(k)));
        if let Some(k) = k.filter(|&k| k < PALETTE.len()) {
            uses[k] += 1;
        }
        colour[v] = k;
    }
    colour.into_iter().map(|c| c.unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Relate, polygon};

    fn demo() -> Snapshot {
        crate::demo::embedded_snapshot()
    }

    #[test]
    fn touching_demo_communities_never_share_a_colour() {
        let snap = demo();
        let coloured = community_colours(&snap);
        assert_eq!(coloured.len(), 10);
        let mut pairs = 0;
        for (i, (a, ca)) in coloured.iter().enumerate() {
            for (b, cb) in &coloured[i + 1..] {
                // Judged by geo's DE-9IM relate, not by the code under test.
                if a.geometry.relate(&b.geometry).is_intersects() {
                    pairs += 1;
                    assert_ne!(ca, cb, "{} and {} touch", a.name, b.name);
                }
            }
        }
        assert!(
            pairs >= 10,
            "only {pairs} touching pairs: the test would prove little"
        );
        // Deterministic: the same snapshot gives the same colours.
        let again: Vec<&str> = community_colours(&snap).into_iter().map(|c| c.1).collect();
        assert_eq!(again, coloured.iter().map(|c| c.1).collect::<Vec<_>>());
    }

    #[test]
    fn a_three_by_three_block_touching_at_corners_gets_distinct_neighbours() {
        let mut features = Vec::new();
        for i in 0..3 {
            for j in 0..3 {
                let (x, y) = (f64::from(i) * 0.01, f64::from(j) * 0.01);
                features.push(Feature {
                    layer: Layer::Community,
                    code: format!("{i}{j}"),
                    name: format!("{i}{j}"),
                    parent: None,
                    properties: Default::default(),
                    geometry: polygon![(x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01)].into(),
                    version: 1,
                });
            }
        }
        let snap = Snapshot::new(1, features);
        let coloured = community_colours(&snap);
        let distinct: std::collections::BTreeSet<&str> = coloured.iter().map(|c| c.1).collect();
        // Corners count (the king's-move graph of a 3×3 block needs four); the least used colour
        // is taken each time, so all eight appear.
        assert_eq!(distinct.len(), 8, "{coloured:?}");
        for (i, (a, ca)) in coloured.iter().enumerate() {
            for (b, cb) in &coloured[i + 1..] {
                if a.geometry.relate(&b.geometry).is_intersects() {
                    assert_ne!(ca, cb);
                }
            }
        }
    }

    #[test]
    fn a_hairline_apart_still_touches() {
        let a =
            polygon![(x: 0.0, y: 0.0), (x: 0.01, y: 0.0), (x: 0.01, y: 0.01), (x: 0.0, y: 0.01)];
        let b = polygon![(x: 0.010_003, y: 0.0), (x: 0.02, y: 0.0), (x: 0.02, y: 0.01), (x: 0.010_003, y: 0.01)];
        let c = polygon![(x: 0.011, y: 0.0), (x: 0.02, y: 0.0), (x: 0.02, y: 0.01), (x: 0.011, y: 0.01)];
        let near = NEAR_M * DEG_PER_M;
        assert!(touch(&a.clone().into(), &b.into(), near), "0.3 m apart");
        assert!(!touch(&a.into(), &c.into(), near), "100 m apart");
    }

    #[test]
    fn dsatur_on_small_graphs() {
        assert_eq!(dsatur(&[]), Vec::<usize>::new());
        assert_eq!(dsatur(&[vec![]]), vec![0]);
        // A triangle's three differ; along a path the least used colour comes next.
        let tri = dsatur(&[vec![1, 2], vec![0, 2], vec![0, 1]]);
        assert_eq!(
            tri.iter().collect::<std::collections::BTreeSet<_>>().len(),
            3
        );
        assert_eq!(dsatur(&[vec![1], vec![0, 2], vec![1]]), vec![1, 0, 2]);
        // Nine mutually touching vertices: the ninth has to take a colour beyond the palette,
        // which `community_colours` takes round it.
        let k9: Vec<Vec<usize>> = (0..9)
            .map(|v| (0..9).filter(|&u| u != v).collect())
            .collect();
        let c = dsatur(&k9);
        assert_eq!(c.iter().collect::<std::collections::BTreeSet<_>>().len(), 9);
    }
}
