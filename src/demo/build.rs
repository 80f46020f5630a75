//! One synthetic subdistrict, from a seed to finished features.
//!
//! The steps, in order (each draws from the same seeded ChaCha stream, so a seed fixes all):
//!
//! 1. a warped street lattice along a river, and the blocks that make the subdistrict; the local
//!    metric frame is scaled so that the outline's geodesic area is [`AREA_M2`];
//! 2. blocks grouped into party grids, grids into communities (both contiguous; every community
//!    outline a simple ring);
//! 3. street names; the planted faults' places;
//! 4. parcels inside the blocks (behind a street margin): compounds, commercial grids, campuses;
//! 5. households and residents; people and phone numbers;
//! 6. point features along the streets (shops, units, stations, centres) and inside blocks
//!    (social organisations), each with a house number;
//! 7. geometry to longitude/latitude (rounded to 1e-7°), codes in numbering order, features.
//!
//! Every polygon is a ring of shared vertex ids dissolved by [`topo::dissolve`], so communities
//! tile the subdistrict and party grids tile their communities exactly, except where a fault is
//! planted on purpose.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Centroid, Coord, GeodesicArea, Geometry, LineString, MultiPolygon, Point, Polygon};
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::lattice::{Cell, Lattice, Side};
use super::names::{self, Phones, Unique};
use super::plan::{apportion, group_cells, grow_communities};
use super::streets::Streets;
use super::topo::{self, Ring, RingPolygon, Vid, dissolve, is_simple_disc, ring_contains};
use super::*;
use crate::model::{FeatureDraft, Layer};

/// Patch margin between a block's streets and the parcels inside it.
const MARGIN: f64 = 0.09;
/// Patch gap between two parcels of one block.
const PARCEL_GAP: f64 = 0.045;
/// How deep into the block the planted faults reach (fraction of the block).
const OVERLAP_DEPTH: f64 = 0.3;
const CROSS_DEPTH: f64 = 0.2;
const STRIP_DEPTH: f64 = 0.08;
/// Party grids per community: communities differ in size, within reason.
const MIN_COMMUNITY_GRIDS: usize = 4;
const MAX_COMMUNITY_GRIDS: usize = 10;
/// Campus units (schools, hospitals, offices) get a parcel of their own.
const CAMPUSES: usize = 25;
/// Of the commercial grids, this many are market districts (商圈); the rest office towers.
const MARKET_DISTRICTS: usize = 11;

/// What to generate: a seed and where the subdistrict sits in the code scheme and on the map.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub seed: u64,
    /// 6-digit county code.
    pub county: String,
    /// 1..=999, the subdistrict's 3-digit number in the county.
    pub number: u32,
    /// "xx街道".
    pub name: String,
    /// The river along the southern side.
    pub river: String,
    /// Longitude/latitude of the local frame's origin (the lattice centre).
    pub origin: Coord<f64>,
    /// Telephone area code of landlines.
    pub area_code: String,
}

/// The kinds of planted fault, as a coverage report names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Part of a community that no party grid covers.
    Gap,
    /// Two party grids of one community that overlap.
    Overlap,
    /// A party grid reaching beyond its community into the next one.
    CrossBoundary,
    /// A shop in no party grid.
    ShopOutside,
}

/// A fault planted on purpose, for the README and for tests.
#[derive(Debug, Clone)]
pub struct PlantedFault {
    pub kind: FaultKind,
    /// The party grid drawn wrongly (the shop, for [`FaultKind::ShopOutside`]).
    pub code: String,
    /// The community of `code`.
    pub community: String,
    /// Gap: the grid across the street or the compound left out; overlap: the grid overlapped;
    /// cross-boundary: the community reached into.
    pub other: String,
    /// Where, in words.
    pub place: String,
    /// The region of the fault (a point for the shop), longitude/latitude.
    pub region: Geometry<f64>,
    /// Geodesic area of `region` in m².
    pub area_m2: f64,
}

/// A generated subdistrict.
#[derive(Debug, Clone)]
pub(crate) struct Subdistrict {
    /// Every feature, layer by layer in [`Layer::ALL`] order, by code within a layer.
    pub features: Vec<FeatureDraft>,
    pub faults: Vec<PlantedFault>,
}

/// The local metric frame → longitude/latitude (WGS84 ellipsoid radii at the origin).
#[derive(Debug, Clone, Copy)]
struct Frame {
    origin: Coord<f64>,
    /// Degrees per metre east and north.
    kx: f64,
    ky: f64,
}

impl Frame {
    fn new(origin: Coord<f64>) -> Frame {
        let (a, f) = (6_378_137.0, 1.0 / 298.257_223_563);
        let e2 = f * (2.0 - f);
        let phi = origin.y.to_radians();
        let w = 1.0 - e2 * phi.sin().powi(2);
        let meridian = a * (1.0 - e2) / w.powf(1.5);
        let normal = a / w.sqrt();
        Frame {
            origin,
            kx: (1.0 / (normal * phi.cos())).to_degrees(),
            ky: (1.0 / meridian).to_degrees(),
        }
    }

    fn raw(&self, p: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.origin.x + p.x * self.kx,
            y: self.origin.y + p.y * self.ky,
        }
    }

    /// Rounded to 1e-7° (about 1 cm), so that files are stable and neighbours share vertices.
    fn at(&self, p: Coord<f64>) -> Coord<f64> {
        let r = self.raw(p);
        Coord {
            x: round7(r.x),
            y: round7(r.y),
        }
    }

    fn ring(&self, xy: &[Coord<f64>], ring: &[Vid]) -> LineString<f64> {
        let mut coords: Vec<Coord<f64>> = ring.iter().map(|&v| self.at(xy[v as usize])).collect();
        coords.push(coords[0]);
        LineString(coords)
    }

    fn polygon(&self, xy: &[Coord<f64>], p: &RingPolygon) -> Polygon<f64> {
        Polygon::new(
            self.ring(xy, &p.exterior),
            p.holes.iter().map(|h| self.ring(xy, h)).collect(),
        )
    }

    fn geometry(&self, xy: &[Coord<f64>], polygons: &[RingPolygon]) -> Geometry<f64> {
        match polygons {
            [p] => Geometry::Polygon(self.polygon(xy, p)),
            _ => Geometry::MultiPolygon(MultiPolygon(
                polygons.iter().map(|p| self.polygon(xy, p)).collect(),
            )),
        }
    }
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Dissolve signed rings; the generator only ever builds valid partitions, so a failure is a bug.
fn union<'a>(
    rings: impl IntoIterator<Item = (&'a [Vid], i32)>,
    xy: &[Coord<f64>],
) -> Vec<RingPolygon> {
    dissolve(rings, xy).unwrap_or_else(|e| panic!("demo generator: {e}"))
}

/// Run `attempt` until it succeeds (it draws new random numbers each time).
fn retry<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    for _ in 0..10_000 {
        if let Some(t) = attempt() {
            return t;
        }
    }
    panic!("demo generator: no {what} after 10000 attempts")
}

/// Draw an index with probability proportional to `weights` (`None` when all are zero).
fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.gen_range(0.0..total);
    for (k, &w) in weights.iter().enumerate() {
        if x < w {
            return Some(k);
        }
        x -= w;
    }
    weights.iter().rposition(|&w| w > 0.0)
}

/// An approximately normal number (mean 0, standard deviation 1).
fn normalish(rng: &mut ChaCha8Rng) -> f64 {
    ((0..4).map(|_| rng.gen_range(0.0..1.0)).sum::<f64>() - 2.0) * 3.0_f64.sqrt()
}

/// What a parcel is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Free,
    Compound,
    Commercial,
    Campus,
}

/// A parcel inside a block: a patch rectangle `[u0, u1] × [v0, v1]`, its ring and area.
#[derive(Debug, Clone)]
struct Parcel {
    cell: Cell,
    grid: usize,
    uv: [f64; 4],
    ring: Ring,
    area: f64,
    use_: Use,
}

impl Parcel {
    /// The gate: the middle of the parcel side nearest a street.
    fn gate(&self) -> (Side, f64) {
        let (side, t, _) = Side::facing(self.uv);
        (side, t)
    }

    fn centre(&self) -> (f64, f64) {
        let [u0, u1, v0, v1] = self.uv;
        ((u0 + u1) / 2.0, (v0 + v1) / 2.0)
    }
}

/// The patch rectangles of one block's parcels, from one of five layouts.
fn layout(rng: &mut ChaCha8Rng, dense: bool) -> Vec<[f64; 4]> {
    let (lo, hi, g) = (MARGIN, 1.0 - MARGIN, PARCEL_GAP / 2.0);
    let split = |rng: &mut ChaCha8Rng| rng.gen_range(0.4..0.6);
    let kind = if dense { 4 } else { rng.gen_range(0..20) / 4 };
    match kind {
        0 => vec![[lo, hi, lo, hi]],
        1 => {
            let s = split(rng);
            vec![[lo, s - g, lo, hi], [s + g, hi, lo, hi]]
        }
        2 => {
            let s = split(rng);
            vec![[lo, hi, lo, s - g], [lo, hi, s + g, hi]]
        }
        3 => {
            let (s, t) = (split(rng), split(rng));
            vec![
                [lo, s - g, lo, hi],
                [s + g, hi, lo, t - g],
                [s + g, hi, t + g, hi],
            ]
        }
        _ => {
            let (s, t) = (split(rng), split(rng));
            vec![
                [lo, s - g, lo, t - g],
                [s + g, hi, lo, t - g],
                [lo, s - g, t + g, hi],
                [s + g, hi, t + g, hi],
            ]
        }
    }
}

/// The ring of a parcel: its patch rectangle, one corner cut off at random, each long side
/// subdivided so that the outline follows the block's curvature.
fn parcel_ring(lat: &mut Lattice, cell: Cell, uv: [f64; 4], rng: &mut ChaCha8Rng) -> Ring {
    let [u0, u1, v0, v1] = uv;
    let mut corners = vec![(u0, v0), (u1, v0), (u1, v1), (u0, v1)];
    if rng.gen_bool(0.5) {
        let k = rng.gen_range(0..4);
        let cut = 0.3 * (u1 - u0).min(v1 - v0);
        let (u, v) = corners[k];
        let prev = corners[(k + 3) % 4];
        let next = corners[(k + 1) % 4];
        let toward = |(pu, pv): (f64, f64)| {
            let len = (pu - u).hypot(pv - v);
            (u + (pu - u) / len * cut, v + (pv - v) / len * cut)
        };
        corners.splice(k..=k, [toward(prev), toward(next)]);
    }
    let n = corners.len();
    let mut ring = Vec::new();
    for k in 0..n {
        let (a, b) = (corners[k], corners[(k + 1) % n]);
        let steps = if (b.0 - a.0).hypot(b.1 - a.1) > 0.15 {
            3
        } else {
            1
        };
        for s in 0..steps {
            let t = s as f64 / steps as f64;
            let p = lat.coons(cell, a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            ring.push(lat.add(p));
        }
    }
    ring
}

/// A bite out of `cell` along `side`: from the vertex a quarter along the side to the one three
/// quarters along, and `depth` into the block. Its side vertices are the street's own.
fn bite(lat: &mut Lattice, cell: Cell, side: Side, depth: f64) -> Ring {
    let sv = lat.side_vids(cell, side);
    let n = sv.len() - 1;
    let (a, b) = (n / 4, 3 * n / 4);
    let (ta, tb) = (a as f64 / n as f64, b as f64 / n as f64);
    let mut ring = sv[a..=b].to_vec();
    let steps = 6;
    for s in 0..=steps {
        let t = tb - (tb - ta) * s as f64 / steps as f64;
        let p = lat.side_point(cell, side, t, depth);
        ring.push(lat.add(p));
    }
    ring
}

/// A point feature before it has a code.
#[derive(Debug, Clone)]
struct Spot {
    layer: Layer,
    cell: Cell,
    at: Coord<f64>,
    name: String,
    props: Map<String, Value>,
    /// Placed in a gap on purpose: its parent is the community, not a grid.
    in_gap: bool,
}

/// Street frontage, cut into slots about 11 m wide, for point features along the streets.
struct Frontage {
    sides: Vec<(Cell, Side)>,
    cumulative: Vec<f64>,
    capacity: Vec<usize>,
    used: Vec<BTreeSet<usize>>,
}

impl Frontage {
    fn new(
        lat: &Lattice,
        sides: Vec<(Cell, Side)>,
        weight: impl Fn(Cell, Side) -> f64,
    ) -> Frontage {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(sides.len());
        let mut capacity = Vec::with_capacity(sides.len());
        for &(c, s) in &sides {
            let (line, k, _) = Lattice::side_edge(c, s);
            let len = lat.edge_length(line, k);
            total += weight(c, s) * len;
            cumulative.push(total);
            capacity.push(((0.8 * len / 11.0) as usize).max(1));
        }
        Frontage {
            used: vec![BTreeSet::new(); sides.len()],
            sides,
            cumulative,
            capacity,
        }
    }

    /// A free slot on a random side (by weight) that `accept` allows: the side, the fraction along
    /// it, and the point `depth` into the block. Slots whose point `avoid` rejects are closed.
    fn take(
        &mut self,
        rng: &mut ChaCha8Rng,
        lat: &Lattice,
        depth: (f64, f64),
        accept: impl Fn(Cell) -> bool,
        avoid: impl Fn(Coord<f64>) -> bool,
    ) -> (Cell, Side, f64, Coord<f64>) {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        for _ in 0..1_000_000 {
            let x = rng.gen_range(0.0..total);
            let k = self
                .cumulative
                .partition_point(|&c| c <= x)
                .min(self.sides.len() - 1);
            let (cell, side) = self.sides[k];
            if !accept(cell) || self.used[k].len() >= self.capacity[k] {
                continue;
            }
            let slot = rng.gen_range(0..self.capacity[k]);
            if !self.used[k].insert(slot) {
                continue;
            }
            let t = 0.1 + 0.8 * (slot as f64 + 0.5) / self.capacity[k] as f64;
            let p = lat.side_point(cell, side, t, rng.gen_range(depth.0..depth.1));
            if avoid(p) {
                continue;
            }
            return (cell, side, t, p);
        }
        panic!("demo generator: the street frontage is full")
    }
}

/// Numbering order: bands of [`BAND_DEG`] latitude from `north` down, west to east within a band.
pub(crate) fn order_key(north: f64, at: Coord<f64>) -> (i64, f64) {
    (((north - at.y) / BAND_DEG).floor() as i64, at.x)
}

/// The point that orders a feature: a polygon's centroid (planar, in degrees) or the point.
pub(crate) fn anchor(g: &Geometry<f64>) -> Coord<f64> {
    g.centroid().map_or(Coord::zero(), |p| p.0)
}

/// The northernmost latitude of a geometry.
pub(crate) fn north_edge(g: &Geometry<f64>) -> f64 {
    use geo::BoundingRect;
    g.bounding_rect().map_or(0.0, |r| r.max().y)
}

/// Sort `items` (indices) by [`order_key`] of their anchors within a container's `north`.
fn numbered(items: &mut [usize], anchors: &[Coord<f64>], north: f64) {
    items.sort_by(|&a, &b| {
        let (ka, kb) = (order_key(north, anchors[a]), order_key(north, anchors[b]));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(a.cmp(&b))
    });
}

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Generate the subdistrict `spec` describes.
pub(crate) fn build(spec: &Spec) -> Subdistrict {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let frame = Frame::new(spec.origin);

    // 1. The lattice and the subdistrict's blocks, scaled to the area.
    let (mut lat, cells) = retry("subdistrict outline", || {
        let lat = Lattice::generate(&mut rng);
        let cells = lat.choose_cells(BLOCKS);
        let rings: Vec<Ring> = cells.iter().map(|c| lat.cell_ring(*c)).collect();
        let outline = dissolve(rings.iter().map(|r| (&r[..], 1)), &lat.xy).ok()?;
        is_simple_disc(&outline).then_some((lat, cells))
    });
    let cell_rings = |lat: &Lattice, cells: &mut dyn Iterator<Item = Cell>| -> Vec<Ring> {
        cells.map(|c| lat.cell_ring(c)).collect()
    };
    let all_rings = cell_rings(&lat, &mut cells.iter().copied());
    for _ in 0..2 {
        let outline = union(all_rings.iter().map(|r| (&r[..], 1)), &lat.xy);
        let raw = Polygon::new(
            LineString(
                outline[0]
                    .exterior
                    .iter()
                    .map(|&v| frame.raw(lat.xy[v as usize]))
                    .collect(),
            ),
            vec![],
        );
        lat.scale((AREA_M2 / raw.geodesic_area_unsigned()).sqrt());
    }

    // 2. Party grids and communities.
    let (grids, community_of) = retry("grids and communities", || {
        let grids = group_cells(&cells, PARTY_GRIDS, &mut rng)?;
        let owner = grow_communities(&lat, &grids, COMMUNITIES, &mut rng);
        let sizes_ok = (0..COMMUNITIES).all(|k| {
            let n = owner.iter().filter(|&&o| o == k).count();
            (MIN_COMMUNITY_GRIDS..=MAX_COMMUNITY_GRIDS).contains(&n)
        });
        let simple = sizes_ok
            && (0..COMMUNITIES).all(|k| {
                let rings = cell_rings(
                    &lat,
                    &mut grids
                        .iter()
                        .zip(&owner)
                        .filter(|(_, o)| **o == k)
                        .flat_map(|(g, _)| g.iter().copied()),
                );
                dissolve(rings.iter().map(|r| (&r[..], 1)), &lat.xy)
                    .is_ok_and(|p| is_simple_disc(&p))
            });
        simple.then_some((grids, owner))
    });
    let grid_of: BTreeMap<Cell, usize> = grids
        .iter()
        .enumerate()
        .flat_map(|(g, cs)| cs.iter().map(move |c| (*c, g)))
        .collect();
    let community_cells: Vec<BTreeSet<Cell>> = (0..COMMUNITIES)
        .map(|k| {
            cells
                .iter()
                .copied()
                .filter(|c| community_of[grid_of[c]] == k)
                .collect()
        })
        .collect();
    let comm = |c: Cell| community_of[grid_of[&c]];

    // 3. Streets, community names and the places of the planted faults.
    let mut streets = Streets::name(&lat, &cells, "滨河路", &mut rng);
    let mut used_streets = BTreeSet::new();
    let community_names: Vec<String> = community_cells
        .iter()
        .map(|cs| {
            let metres = streets.frontage_in(cs);
            let best = (0..streets.list.len())
                .filter(|s| !used_streets.contains(s))
                .max_by(|&a, &b| {
                    let score = |s: usize| {
                        let st = &streets.list[s];
                        metres[s]
                            * if st.main { 1.5 } else { 1.0 }
                            * if st.name.ends_with('巷') { 0.3 } else { 1.0 }
                    };
                    score(a).total_cmp(&score(b)).then(b.cmp(&a))
                })
                .unwrap_or(0);
            used_streets.insert(best);
            format!("{}社区", streets.list[best].name)
        })
        .collect();

    let set: BTreeSet<Cell> = cells.iter().copied().collect();
    let shared_sides: Vec<(Cell, Side, Cell)> = cells
        .iter()
        .flat_map(|&c| Side::ALL.into_iter().map(move |s| (c, s)))
        .filter_map(|(c, s)| {
            Lattice::neighbour(c, s)
                .filter(|n| set.contains(n))
                .map(|n| (c, s, n))
        })
        .filter(|(c, _, n)| grid_of[c] != grid_of[n])
        .collect();
    let mut fault_communities = BTreeSet::new();
    let mut fault_cells = BTreeSet::new();
    let mut choose_side =
        |rng: &mut ChaCha8Rng, same_community: bool, communities: &mut BTreeSet<usize>| {
            let fits: Vec<&(Cell, Side, Cell)> = shared_sides
                .iter()
                .filter(|(c, _, n)| {
                    (comm(*c) == comm(*n)) == same_community
                        && !communities.contains(&comm(*c))
                        && !communities.contains(&comm(*n))
                        && !fault_cells.contains(c)
                        && !fault_cells.contains(n)
                })
                .collect();
            let &(c, s, n) = fits[rng.gen_range(0..fits.len())];
            communities.insert(comm(c));
            communities.insert(comm(n));
            fault_cells.insert(c);
            fault_cells.insert(n);
            (c, s, n)
        };
    // Overlap: the grid of `n` also claims a bite of `c` (same community).
    let overlap = choose_side(&mut rng, true, &mut fault_communities);
    // Cross-boundary: the grid of `n` claims a bite of `c` in the next community.
    let cross = choose_side(&mut rng, false, &mut fault_communities);
    // Gap: a strip along a street between two communities that the grid of `c` leaves out.
    let strip = {
        let mut others = fault_communities.clone();
        let (c, s, n) = choose_side(&mut rng, false, &mut others);
        fault_communities.insert(comm(c));
        (c, s, n)
    };
    let overlap_ring = bite(&mut lat, overlap.0, overlap.1, OVERLAP_DEPTH);
    let cross_ring = bite(&mut lat, cross.0, cross.1, CROSS_DEPTH);
    let strip_ring = bite(&mut lat, strip.0, strip.1, STRIP_DEPTH);

    // 4. Parcels, and what they are used for.
    let mut layouts: Vec<(Cell, Vec<[f64; 4]>)> = cells
        .iter()
        .map(|&c| (c, layout(&mut rng, false)))
        .collect();
    while layouts.iter().map(|(_, l)| l.len()).sum::<usize>()
        < COMPOUNDS + COMMERCIAL_GRIDS + CAMPUSES + 40
    {
        let k = rng.gen_range(0..layouts.len());
        layouts[k].1 = layout(&mut rng, true);
    }
    let mut parcels: Vec<Parcel> = Vec::new();
    for (cell, rects) in layouts {
        for uv in rects {
            let ring = parcel_ring(&mut lat, cell, uv, &mut rng);
            let area = topo::signed_area2(&ring, &lat.xy) / 2.0;
            parcels.push(Parcel {
                cell,
                grid: grid_of[&cell],
                uv,
                ring,
                area,
                use_: Use::Free,
            });
        }
    }
    let centre = cells
        .iter()
        .map(|c| lat.centre(*c))
        .fold(Coord::zero(), |a, b| a + b)
        / cells.len() as f64;
    let centrality = |p: Coord<f64>| {
        let d = p - centre;
        (-(d.x * d.x + d.y * d.y) / (2.0 * 1100.0_f64.powi(2))).exp()
    };
    for g in 0..grids.len() {
        let mine: Vec<usize> = (0..parcels.len())
            .filter(|&p| parcels[p].grid == g)
            .collect();
        let p = mine[rng.gen_range(0..mine.len())];
        parcels[p].use_ = Use::Compound;
    }
    let assign = |rng: &mut ChaCha8Rng,
                  parcels: &mut [Parcel],
                  n: usize,
                  use_: Use,
                  weight: &dyn Fn(&Parcel) -> f64| {
        let mut weights: Vec<f64> = parcels
            .iter()
            .map(|p| if p.use_ == Use::Free { weight(p) } else { 0.0 })
            .collect();
        for _ in 0..n {
            let Some(k) = pick_weighted(rng, &weights) else {
                break;
            };
            parcels[k].use_ = use_;
            weights[k] = 0.0;
        }
    };
    assign(
        &mut rng,
        &mut parcels,
        COMMERCIAL_GRIDS,
        Use::Commercial,
        &|p| {
            let main = Side::ALL.iter().any(|&s| streets.is_main(p.cell, s));
            (0.05 + centrality(lat.centre(p.cell))) * if main { 3.0 } else { 1.0 }
        },
    );
    assign(&mut rng, &mut parcels, CAMPUSES, Use::Campus, &|p| p.area);
    assign(
        &mut rng,
        &mut parcels,
        COMPOUNDS - grids.len(),
        Use::Compound,
        &|p| p.area.sqrt(),
    );

    // The second gap: a compound that its grid's map leaves out.
    let left_out = {
        let fits: Vec<usize> = (0..parcels.len())
            .filter(|&p| {
                let c = parcels[p].cell;
                parcels[p].use_ == Use::Compound
                    && !fault_communities.contains(&comm(c))
                    && !fault_cells.contains(&c)
                    && parcels
                        .iter()
                        .filter(|q| q.grid == parcels[p].grid && q.use_ == Use::Compound)
                        .count()
                        > 1
            })
            .collect();
        let p = fits[rng.gen_range(0..fits.len())];
        fault_communities.insert(comm(parcels[p].cell));
        p
    };
    let gaps: Vec<Ring> = vec![parcels[left_out].ring.clone(), strip_ring.clone()];
    let in_gap = |p: Coord<f64>, xy: &[Coord<f64>]| gaps.iter().any(|g| ring_contains(g, xy, p));

    // 5. Households, residents, people.
    let households = grid_households(&mut rng, &grids, &parcels);
    let ratios: Vec<f64> = households
        .iter()
        .map(|&h| h as f64 * rng.gen_range(3.55..4.05))
        .collect();
    let residents = apportion(RESIDENTS, &ratios);
    let mut phones = Phones::default();
    let mut people = Unique::default();

    // 6. Points along the streets and inside blocks.
    let sides: Vec<(Cell, Side)> = cells
        .iter()
        .flat_map(|&c| Side::ALL.into_iter().map(move |s| (c, s)))
        .collect();
    let commercial_cells: BTreeSet<Cell> = parcels
        .iter()
        .filter(|p| p.use_ == Use::Commercial)
        .map(|p| p.cell)
        .collect();
    let weight = |c: Cell, s: Side| {
        let main = if streets.is_main(c, s) { 2.5 } else { 1.0 };
        let river = if s == Side::Bottom && c.j == 0 {
            0.4
        } else {
            1.0
        };
        let busy = if commercial_cells.contains(&c) {
            1.5
        } else {
            1.0
        };
        main * river * busy * (1.0 + 2.0 * centrality(lat.centre(c)))
    };
    let mut shop_frontage = Frontage::new(&lat, sides.clone(), weight);
    let mut office_frontage = Frontage::new(&lat, sides, weight);
    let avoid = |p: Coord<f64>| in_gap(p, &lat.xy);
    let mut spots: Vec<Spot> = Vec::new();

    let mut shop_names = Vec::with_capacity(SHOPS);
    for _ in 0..SHOPS - 1 {
        shop_names.push(shop_frontage.take(&mut rng, &lat, (0.02, 0.045), |_| true, avoid));
    }
    // The planted shop: on the street strip no grid covers.
    {
        let n = lat.side_vids(strip.0, strip.1).len() - 1;
        let t = ((n / 4 + 3 * n / 4) as f64 / 2.0) / n as f64;
        let at = lat.side_point(strip.0, strip.1, t, 0.035);
        shop_names.push((strip.0, strip.1, t, at));
    }
    let archived: BTreeSet<usize> = index::sample(&mut rng, SHOPS, SHOPS_ARCHIVED)
        .into_iter()
        .collect();
    for (k, (cell, side, t, at)) in shop_names.into_iter().enumerate() {
        let address = streets.address(cell, side, t);
        let street = &streets.list[address.street].name;
        let (name, category) = names::shop(&mut rng, street.trim_end_matches(['路', '街', '巷']));
        let phone = if rng.gen_bool(0.8) {
            Value::String(phones.mobile())
        } else {
            Value::Null
        };
        spots.push(Spot {
            layer: Layer::Shop,
            cell,
            at,
            name,
            props: props(json!({
                "category": category,
                "address": address.text,
                "phone": phone,
                "archived": archived.contains(&k),
            })),
            in_gap: k == SHOPS - 1,
        });
    }

    // Units: campuses on their parcels, the others along the streets.
    let short = spec.name.trim_end_matches("街道");
    let mut unit_names = Unique::default();
    let campus: Vec<usize> = (0..parcels.len())
        .filter(|&p| parcels[p].use_ == Use::Campus)
        .collect();
    let mut units: Vec<(Cell, Coord<f64>, String, &str, String)> = Vec::new();
    for (&p, &(template, category)) in campus.iter().zip(names::CAMPUS_UNITS) {
        let name = match template {
            "街道办事处" => format!("{}办事处", spec.name),
            "公安分局派出所" => format!("公安分局{short}派出所"),
            "供电公司供电所" => format!("供电公司{short}供电所"),
            other => other.to_string(),
        };
        let name = unit_names.pick(&mut rng, |_| name.clone());
        let (side, t) = parcels[p].gate();
        let address = streets.address(parcels[p].cell, side, t);
        let (u, v) = parcels[p].centre();
        let cell = parcels[p].cell;
        units.push((cell, lat.coons(cell, u, v), name, category, address.text));
    }
    for _ in campus.len().min(names::CAMPUS_UNITS.len())..UNITS {
        let (cell, side, t, at) =
            office_frontage.take(&mut rng, &lat, (0.05, 0.075), |_| true, avoid);
        let address = streets.address(cell, side, t);
        let street = streets.list[address.street].name.clone();
        let (name, category) = {
            let mut category = "";
            let name = unit_names.pick(&mut rng, |rng| {
                let (n, c) = names::unit(rng, &street, short);
                category = c;
                n
            });
            (name, category)
        };
        units.push((cell, at, name, category, address.text));
    }
    for (cell, at, name, category, address) in units {
        spots.push(Spot {
            layer: Layer::Unit,
            cell,
            at,
            name,
            props: props(json!({
                "category": category,
                "address": address,
                "phone": phones.landline(&spec.area_code),
            })),
            in_gap: false,
        });
    }

    // Party-and-public service centres: one per community on its most central block, one for the
    // subdistrict; then service stations, one to three per community.
    let mut centre_addresses = Vec::new();
    for (k, community) in community_names.iter().enumerate() {
        let (cell, side, t, at) =
            office_frontage.take(&mut rng, &lat, (0.05, 0.075), |c| comm(c) == k, avoid);
        let address = streets.address(cell, side, t);
        centre_addresses.push(address.text.clone());
        spots.push(Spot {
            layer: Layer::PartyCenter,
            cell,
            at,
            name: format!("{community}党群服务中心"),
            props: props(json!({
                "address": address.text,
                "phone": phones.landline(&spec.area_code),
                "hours": "周一至周日 8:30-18:00",
                "floor_area_m2": rng.gen_range(3..=12) * 100,
            })),
            in_gap: false,
        });
    }
    let central_cell = *cells
        .iter()
        .min_by(|a, b| {
            let d = |c: &Cell| {
                let d = lat.centre(*c) - centre;
                d.x.hypot(d.y)
            };
            d(a).total_cmp(&d(b))
        })
        .unwrap_or(&cells[0]);
    let (cell, side, t, at) = office_frontage.take(
        &mut rng,
        &lat,
        (0.05, 0.075),
        |c| comm(c) == comm(central_cell),
        avoid,
    );
    let subdistrict_address = streets.address(cell, side, t).text;
    let subdistrict_phone = phones.landline(&spec.area_code);
    let subdistrict_centre = FeatureDraft {
        layer: Layer::PartyCenter,
        code: String::new(),
        name: format!("{}党群服务中心", spec.name),
        parent: None,
        properties: props(json!({
            "address": subdistrict_address,
            "phone": subdistrict_phone,
            "hours": "周一至周日 8:30-18:00",
            "floor_area_m2": 1500,
        })),
        geometry: Geometry::Point(Point(frame.at(at))),
    };
    let mut station_names = Unique::default();
    for k in 0..COMMUNITIES {
        for _ in 0..rng.gen_range(1..=3) {
            let (cell, side, t, at) =
                office_frontage.take(&mut rng, &lat, (0.05, 0.075), |c| comm(c) == k, avoid);
            let address = streets.address(cell, side, t);
            let street = streets.list[address.street].name.clone();
            let name = station_names.pick(&mut rng, |rng| names::station(rng, &street));
            spots.push(Spot {
                layer: Layer::ServiceStation,
                cell,
                at,
                name,
                props: props(json!({
                    "address": address.text,
                    "phone": phones.mobile(),
                    "services": names::STATION_SERVICES,
                    "hours": "8:00-20:00",
                })),
                in_gap: false,
            });
        }
    }

    // Social organisations: a volunteer team per community (268 people in all), the others in
    // blocks anywhere.
    let members = apportion(
        VOLUNTEERS,
        &(0..COMMUNITIES)
            .map(|_| rng.gen_range(0.6..1.4))
            .collect::<Vec<_>>(),
    );
    let org_archived: BTreeSet<usize> = index::sample(&mut rng, SOCIAL_ORGS, ORGS_ARCHIVED)
        .into_iter()
        .collect();
    let mut org_names = Unique::default();
    for k in 0..SOCIAL_ORGS {
        let (cell, u, v, at) = loop {
            let cell = if k < COMMUNITIES {
                let mine: Vec<&Cell> = community_cells[k].iter().collect();
                *mine[rng.gen_range(0..mine.len())]
            } else {
                cells[rng.gen_range(0..cells.len())]
            };
            let (u, v) = (rng.gen_range(0.12..0.88), rng.gen_range(0.12..0.88));
            let at = lat.coons(cell, u, v);
            if !avoid(at) {
                break (cell, u, v, at);
            }
        };
        let (side, t, _) = Side::facing([u, u, v, v]);
        let address = streets.address(cell, side, t);
        let (name, category, extra) = if k < COMMUNITIES {
            (
                org_names.pick(&mut rng, |_| format!("{}志愿服务队", community_names[k])),
                "志愿服务",
                Some(members[k]),
            )
        } else {
            let places = [
                community_names[comm(cell)].as_str(),
                streets.list[address.street].name.as_str(),
                spec.name.as_str(),
            ];
            let mut category = "";
            let name = org_names.pick(&mut rng, |rng| {
                let place = places[rng.gen_range(0..places.len())];
                let (n, c) = names::social_org(rng, place);
                category = c;
                n
            });
            (name, category, None)
        };
        let mut p = props(json!({
            "category": category,
            "address": address.text,
            "phone": if rng.gen_bool(0.6) { Value::String(phones.mobile()) } else { Value::Null },
            "archived": org_archived.contains(&k),
        }));
        if let Some(m) = extra {
            p.insert("members".into(), json!(m));
        }
        spots.push(Spot {
            layer: Layer::SocialOrg,
            cell,
            at,
            name,
            props: p,
            in_gap: false,
        });
    }

    // 7. Geometry, numbering, codes and features.
    let xy = &lat.xy;
    let subdistrict_code = format!("{}{:03}", spec.county, spec.number);
    let outline = union(all_rings.iter().map(|r| (&r[..], 1)), xy);
    let subdistrict_geometry = frame.geometry(xy, &outline);
    let community_geometry: Vec<Geometry<f64>> = community_cells
        .iter()
        .map(|cs| {
            let rings = cell_rings(&lat, &mut cs.iter().copied());
            frame.geometry(xy, &union(rings.iter().map(|r| (&r[..], 1)), xy))
        })
        .collect();
    let mut communities: Vec<usize> = (0..COMMUNITIES).collect();
    let community_anchor: Vec<Coord<f64>> = community_geometry.iter().map(anchor).collect();
    numbered(
        &mut communities,
        &community_anchor,
        north_edge(&subdistrict_geometry),
    );
    let mut community_code = vec![String::new(); COMMUNITIES];
    for (n, &k) in communities.iter().enumerate() {
        community_code[k] = format!("{subdistrict_code}{:03}", n + 1);
    }

    let designed_rings: Vec<Vec<Ring>> = grids
        .iter()
        .map(|g| cell_rings(&lat, &mut g.iter().copied()))
        .collect();
    let designed: Vec<Geometry<f64>> = designed_rings
        .iter()
        .map(|rings| frame.geometry(xy, &union(rings.iter().map(|r| (&r[..], 1)), xy)))
        .collect();
    let grid_anchor: Vec<Coord<f64>> = designed.iter().map(anchor).collect();
    let mut grid_code = vec![String::new(); grids.len()];
    let mut grid_number = vec![0; grids.len()];
    for k in 0..COMMUNITIES {
        let mut mine: Vec<usize> = (0..grids.len()).filter(|&g| community_of[g] == k).collect();
        numbered(&mut mine, &grid_anchor, north_edge(&community_geometry[k]));
        for (n, &g) in mine.iter().enumerate() {
            grid_code[g] = format!("{}{:03}", community_code[k], n + 1);
            grid_number[g] = n + 1;
        }
    }

    // The planted grid faults change single grids; everything else stays as designed.
    let mut extra: Vec<Vec<(Ring, i32)>> = vec![Vec::new(); grids.len()];
    extra[grid_of[&overlap.2]].push((overlap_ring.clone(), 1));
    extra[grid_of[&cross.2]].push((cross_ring.clone(), 1));
    extra[grid_of[&strip.0]].push((strip_ring.clone(), -1));
    extra[parcels[left_out].grid].push((parcels[left_out].ring.clone(), -1));
    let grid_geometry: Vec<Geometry<f64>> = (0..grids.len())
        .map(|g| {
            if extra[g].is_empty() {
                designed[g].clone()
            } else {
                let rings = designed_rings[g]
                    .iter()
                    .map(|r| (&r[..], 1))
                    .chain(extra[g].iter().map(|(r, s)| (&r[..], *s)));
                frame.geometry(xy, &union(rings, xy))
            }
        })
        .collect();

    let mut features: Vec<FeatureDraft> = Vec::new();
    let total_households: u64 = households.iter().sum();
    let total_residents: u64 = residents.iter().sum();
    features.push(FeatureDraft {
        layer: Layer::Subdistrict,
        code: subdistrict_code.clone(),
        name: spec.name.clone(),
        parent: None,
        properties: props(json!({
            "households": total_households,
            "residents": total_residents,
            "communities": COMMUNITIES,
            "office_address": subdistrict_address,
            "office_phone": subdistrict_phone,
            "party_org": format!("{}党工委", spec.name),
            "river": spec.river,
            "synthetic": true,
        })),
        geometry: subdistrict_geometry.clone(),
    });
    for k in 0..COMMUNITIES {
        let mine: Vec<usize> = (0..grids.len()).filter(|&g| community_of[g] == k).collect();
        features.push(FeatureDraft {
            layer: Layer::Community,
            code: community_code[k].clone(),
            name: community_names[k].clone(),
            parent: Some(subdistrict_code.clone()),
            properties: props(json!({
                "households": mine.iter().map(|&g| households[g]).sum::<u64>(),
                "residents": mine.iter().map(|&g| residents[g]).sum::<u64>(),
                "party_grids": mine.len(),
                "office_address": centre_addresses[k],
                "office_phone": phones.landline(&spec.area_code),
                "party_org": format!("{}党委", community_names[k]),
                "services": names::community_services(&mut rng),
            })),
            geometry: community_geometry[k].clone(),
        });
    }

    // Compounds: households shared among a grid's compounds by parcel area.
    let mut compound_households = vec![0u64; parcels.len()];
    let mut compound_buildings = vec![0u64; parcels.len()];
    for (g, &grid_households) in households.iter().enumerate() {
        let mine: Vec<usize> = (0..parcels.len())
            .filter(|&p| parcels[p].grid == g && parcels[p].use_ == Use::Compound)
            .collect();
        let share = (grid_households as f64 * rng.gen_range(0.72..0.92)).round() as u64;
        let split = apportion(
            share,
            &mine.iter().map(|&p| parcels[p].area).collect::<Vec<_>>(),
        );
        for (&p, h) in mine.iter().zip(split) {
            compound_households[p] = h;
            compound_buildings[p] = (h as f64 / rng.gen_range(18.0..48.0)).ceil().max(1.0) as u64;
        }
    }
    for (g, &grid_households) in households.iter().enumerate() {
        let buildings: u64 = (0..parcels.len())
            .filter(|&p| parcels[p].grid == g)
            .map(|p| compound_buildings[p])
            .sum::<u64>()
            + rng.gen_range(2..=10);
        let worker = people.pick(&mut rng, names::person);
        let leader = if rng.gen_bool(0.6) {
            Value::String(people.pick(&mut rng, names::person))
        } else {
            Value::Null
        };
        let k = community_of[g];
        features.push(FeatureDraft {
            layer: Layer::PartyGrid,
            code: grid_code[g].clone(),
            name: format!("{}第{}网格", community_names[k], grid_number[g]),
            parent: Some(community_code[k].clone()),
            properties: props(json!({
                "households": grid_households,
                "residents": residents[g],
                "buildings": buildings,
                "grid_worker": worker,
                "grid_worker_phone": phones.mobile(),
                "grid_leader": leader,
            })),
            geometry: grid_geometry[g].clone(),
        });
    }

    // Commercial grids: the biggest parcels are market districts, the others office towers.
    let mut commercial: Vec<usize> = (0..parcels.len())
        .filter(|&p| parcels[p].use_ == Use::Commercial)
        .collect();
    commercial.sort_by(|&a, &b| parcels[b].area.total_cmp(&parcels[a].area).then(a.cmp(&b)));
    let commercial_geometry: Vec<Geometry<f64>> = commercial
        .iter()
        .map(|&p| {
            Geometry::Polygon(frame.polygon(
                xy,
                &RingPolygon {
                    exterior: parcels[p].ring.clone(),
                    holes: vec![],
                },
            ))
        })
        .collect();
    let commercial_anchor: Vec<Coord<f64>> = commercial_geometry.iter().map(anchor).collect();
    let mut commercial_code = vec![String::new(); commercial.len()];
    for k in 0..COMMUNITIES {
        let mut mine: Vec<usize> = (0..commercial.len())
            .filter(|&i| comm(parcels[commercial[i]].cell) == k)
            .collect();
        numbered(
            &mut mine,
            &commercial_anchor,
            north_edge(&community_geometry[k]),
        );
        for (n, &i) in mine.iter().enumerate() {
            commercial_code[i] = format!("{}{}", community_code[k], 901 + n);
        }
    }
    let mut commercial_names = Unique::default();
    for (i, &p) in commercial.iter().enumerate() {
        let (side, t) = parcels[p].gate();
        let address = streets.address(parcels[p].cell, side, t);
        let street = streets.list[address.street].name.clone();
        let market = i < MARKET_DISTRICTS;
        let name = if market {
            commercial_names.pick(&mut rng, |rng| {
                if rng.gen_bool(0.7) {
                    format!("{street}商圈专属网格")
                } else {
                    format!("{}商圈专属网格", names::tower(rng).trim_end_matches("大厦"))
                }
            })
        } else {
            commercial_names.pick(&mut rng, |rng| format!("{}商务楼宇网格", names::tower(rng)))
        };
        features.push(FeatureDraft {
            layer: Layer::CommercialGrid,
            code: commercial_code[i].clone(),
            name,
            parent: Some(community_code[comm(parcels[p].cell)].clone()),
            properties: props(json!({
                "kind": if market { "商圈市场" } else { "商务楼宇" },
                "address": address.text,
                "enterprises": if market { rng.gen_range(60..=240) } else { rng.gen_range(12..=90) },
                "buildings": if market { rng.gen_range(3..=12) } else { rng.gen_range(1..=3) },
                "grid_worker": people.pick(&mut rng, names::person),
                "grid_worker_phone": phones.mobile(),
            })),
            geometry: commercial_geometry[i].clone(),
        });
    }

    // Compounds and points are numbered within their community: community code, a two-letter
    // layer tag, four digits in numbering order.
    let mut compound_items: Vec<(usize, Geometry<f64>)> = Vec::new();
    let mut compound_names = Unique::default();
    for p in (0..parcels.len()).filter(|&p| parcels[p].use_ == Use::Compound) {
        let g = Geometry::Polygon(frame.polygon(
            xy,
            &RingPolygon {
                exterior: parcels[p].ring.clone(),
                holes: vec![],
            },
        ));
        compound_items.push((p, g));
    }
    let mut tagged: Vec<(Spot, Geometry<f64>)> = Vec::new();
    for (p, g) in compound_items {
        let name = compound_names.pick(&mut rng, names::compound);
        let (side, t) = parcels[p].gate();
        let address = streets.address(parcels[p].cell, side, t);
        let company = names::property_company(&mut rng, name.ends_with("家属院"));
        let spot = Spot {
            layer: Layer::Compound,
            cell: parcels[p].cell,
            at: Coord::zero(),
            name,
            props: props(json!({
                "households": compound_households[p],
                "buildings": compound_buildings[p],
                "property_company": company,
                "address": address.text,
            })),
            in_gap: p == left_out,
        };
        tagged.push((spot, g));
    }
    for s in spots {
        let g = Geometry::Point(Point(frame.at(s.at)));
        tagged.push((s, g));
    }
    let norths: Vec<f64> = community_geometry.iter().map(north_edge).collect();
    let keys: Vec<(Layer, &str, i64, f64)> = tagged
        .iter()
        .map(|(s, g)| {
            let k = comm(s.cell);
            let (band, x) = order_key(norths[k], anchor(g));
            (s.layer, community_code[k].as_str(), band, x)
        })
        .collect();
    let mut order: Vec<usize> = (0..tagged.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (&keys[a], &keys[b]);
        (ka.0, ka.1, ka.2)
            .cmp(&(kb.0, kb.1, kb.2))
            .then(ka.3.total_cmp(&kb.3))
            .then(a.cmp(&b))
    });
    let mut seq: BTreeMap<(Layer, usize), usize> = BTreeMap::new();
    let mut codes = vec![String::new(); tagged.len()];
    for &t in &order {
        let s = &tagged[t].0;
        let k = comm(s.cell);
        let n = seq.entry((s.layer, k)).or_insert(0);
        *n += 1;
        codes[t] = format!("{}{}{:04}", community_code[k], layer_tag(s.layer), n);
    }
    let mut shop_outside = String::new();
    let mut left_out_code = String::new();
    for ((s, geometry), code) in tagged.into_iter().zip(codes) {
        let parent = if s.in_gap {
            community_code[comm(s.cell)].clone()
        } else {
            grid_code[grid_of[&s.cell]].clone()
        };
        if s.in_gap && s.layer == Layer::Shop {
            shop_outside = code.clone();
        }
        if s.in_gap && s.layer == Layer::Compound {
            left_out_code = code.clone();
        }
        features.push(FeatureDraft {
            layer: s.layer,
            code,
            name: s.name,
            parent: Some(parent),
            properties: s.props,
            geometry,
        });
    }
    // The subdistrict's own centre belongs to the subdistrict, as community 000.
    features.push(FeatureDraft {
        code: format!("{subdistrict_code}000{}0001", layer_tag(Layer::PartyCenter)),
        parent: Some(subdistrict_code.clone()),
        ..subdistrict_centre
    });
    features.sort_by(|a, b| a.layer.cmp(&b.layer).then(a.code.cmp(&b.code)));

    // The planted faults, described.
    let region = |ring: &Ring| {
        Geometry::Polygon(frame.polygon(
            xy,
            &RingPolygon {
                exterior: ring.clone(),
                holes: vec![],
            },
        ))
    };
    let area = |g: &Geometry<f64>| g.geodesic_area_unsigned();
    let street_name = |c: Cell, s: Side| {
        streets
            .street_at(c, s)
            .map_or(String::new(), |k| streets.list[k].name.clone())
    };
    let fault = |kind, grid: usize, other: String, place: String, ring: &Ring| {
        let region = region(ring);
        PlantedFault {
            kind,
            code: grid_code[grid].clone(),
            community: community_code[community_of[grid]].clone(),
            other,
            place,
            area_m2: area(&region),
            region,
        }
    };
    let left_out_name = features
        .iter()
        .find(|f| f.code == left_out_code)
        .map_or(String::new(), |f| f.name.clone());
    let g2 = grid_of[&strip.0];
    let compound_place = format!("the whole compound {left_out_name} lies in no party grid");
    let strip_place = format!(
        "a strip along {}: the grid boundary was drawn at the kerb, not the street centre",
        street_name(strip.0, strip.1)
    );
    let overlap_place = format!(
        "a bite of the block across {}",
        street_name(overlap.0, overlap.1)
    );
    let cross_place = format!(
        "across {} into {}",
        street_name(cross.0, cross.1),
        community_names[comm(cross.0)]
    );
    let g1 = parcels[left_out].grid;
    let (ov, ov_other) = (grid_of[&overlap.2], grid_code[grid_of[&overlap.0]].clone());
    let (cr, cr_other) = (grid_of[&cross.2], community_code[comm(cross.0)].clone());
    let strip_other = grid_code[grid_of[&strip.2]].clone();
    let mut faults: Vec<PlantedFault> = [
        (
            FaultKind::Gap,
            g1,
            left_out_code,
            compound_place,
            &parcels[left_out].ring,
        ),
        (FaultKind::Gap, g2, strip_other, strip_place, &strip_ring),
        (
            FaultKind::Overlap,
            ov,
            ov_other,
            overlap_place,
            &overlap_ring,
        ),
        (
            FaultKind::CrossBoundary,
            cr,
            cr_other,
            cross_place,
            &cross_ring,
        ),
    ]
    .into_iter()
    .map(|(kind, grid, other, place, ring)| fault(kind, grid, other, place, ring))
    .collect();
    let shop_at = features
        .iter()
        .find(|f| f.code == shop_outside)
        .map(|f| f.geometry.clone())
        .unwrap_or(Geometry::Point(Point::new(0.0, 0.0)));
    faults.push(PlantedFault {
        kind: FaultKind::ShopOutside,
        code: shop_outside.clone(),
        community: community_code[comm(strip.0)].clone(),
        other: grid_code[g2].clone(),
        place: format!("on {}, inside the strip gap", street_name(strip.0, strip.1)),
        area_m2: 0.0,
        region: shop_at,
    });
    Subdistrict { features, faults }
}

/// The two-letter tag of a point or compound layer in its codes (pinyin initials).
pub(crate) fn layer_tag(layer: Layer) -> &'static str {
    match layer {
        Layer::Compound => "XQ",
        Layer::Unit => "DW",
        Layer::Shop => "SP",
        Layer::SocialOrg => "ZZ",
        Layer::ServiceStation => "YZ",
        Layer::PartyCenter => "DQ",
        _ => "",
    }
}

/// Households per party grid: most between 300 and 500, two grids well below (grids full of
/// offices and shops) and two well above, adding up to [`HOUSEHOLDS`] exactly.
fn grid_households(rng: &mut ChaCha8Rng, grids: &[Vec<Cell>], parcels: &[Parcel]) -> Vec<u64> {
    let n = grids.len();
    let busy = |g: usize| {
        parcels
            .iter()
            .filter(|p| p.grid == g && matches!(p.use_, Use::Commercial | Use::Campus))
            .count()
    };
    let mut by_busy: Vec<usize> = (0..n).collect();
    by_busy.sort_by_key(|&g| (std::cmp::Reverse(busy(g)), grids[g].len(), g));
    let mut by_size: Vec<usize> = (0..n).filter(|g| !by_busy[..2].contains(g)).collect();
    by_size.sort_by_key(|&g| (std::cmp::Reverse(grids[g].len()), g));
    let mut fixed = BTreeMap::new();
    fixed.insert(by_busy[0], rng.gen_range(170..230));
    fixed.insert(by_busy[1], rng.gen_range(235..280));
    fixed.insert(by_size[rng.gen_range(0..4)], rng.gen_range(560..600));
    let mut k = rng.gen_range(4..8);
    while fixed.contains_key(&by_size[k]) {
        k += 1;
    }
    fixed.insert(by_size[k], rng.gen_range(610..660));
    let mut h: Vec<i64> = (0..n)
        .map(|g| {
            fixed.get(&g).copied().unwrap_or_else(|| {
                (445.0 + 42.0 * normalish(rng)).round().clamp(310.0, 495.0) as i64
            })
        })
        .collect();
    let free: Vec<usize> = (0..n).filter(|g| !fixed.contains_key(g)).collect();
    let mut diff = HOUSEHOLDS as i64 - h.iter().sum::<i64>();
    while diff != 0 {
        let g = free[rng.gen_range(0..free.len())];
        let step = diff.signum();
        if (305..=498).contains(&(h[g] + step)) {
            h[g] += step;
            diff -= step;
        }
    }
    h.into_iter().map(|x| x as u64).collect()
}
