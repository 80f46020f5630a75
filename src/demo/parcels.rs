//! Parcels inside the blocks, behind a street margin: residential compounds, commercial grids
//! (market districts and office towers) and the campuses of stationed units.
//!
//! A block is cut into one to four parcels in its patch coordinates; a parcel's outline follows
//! the block's curvature and has one corner cut off now and then, so that no two look alike.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::lattice::{Cell, Lattice, Side};
use super::plan::Partition;
use super::streets::Streets;
use super::topo::{self, Ring};
use super::{COMMERCIAL_GRIDS, COMPOUNDS};

/// Patch margin between a block's streets and the parcels inside it (the planted street-strip
/// gap is shallower, so it never cuts a parcel).
pub(crate) const MARGIN: f64 = 0.09;
/// Patch gap between two parcels of one block.
const PARCEL_GAP: f64 = 0.045;
/// Campus units (schools, hospitals, offices) get a parcel of their own.
pub(crate) const CAMPUSES: usize = 25;

/// What a parcel is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Free,
    Compound,
    Commercial,
    Campus,
}

/// A parcel inside a block: a patch rectangle `[u0, u1] × [v0, v1]`, its ring and area.
#[derive(Debug, Clone)]
pub(crate) struct Parcel {
    pub cell: Cell,
    /// The designed party grid of the block.
    pub grid: usize,
    pub uv: [f64; 4],
    pub ring: Ring,
    /// Area in m² (local frame).
    pub area: f64,
    pub use_: Use,
}

impl Parcel {
    /// The gate: the middle of the parcel side nearest a street.
    pub fn gate(&self) -> (Side, f64) {
        let (side, t, _) = Side::facing(self.uv);
        (side, t)
    }

    pub fn centre(&self) -> (f64, f64) {
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

/// Lay out the parcels of every block and decide their uses: one compound in every party grid
/// first, then the commercial grids (central blocks on main roads), the campuses (big parcels)
/// and the other compounds (anywhere). Parcels left over stay free (parks, markets, vacant lots).
pub(crate) fn lay_out(
    rng: &mut ChaCha8Rng,
    part: &mut Partition,
    streets: &Streets,
) -> Vec<Parcel> {
    let mut layouts: Vec<(Cell, Vec<[f64; 4]>)> = part
        .cells
        .iter()
        .map(|&c| (c, layout(rng, false)))
        .collect();
    while layouts.iter().map(|(_, l)| l.len()).sum::<usize>()
        < COMPOUNDS + COMMERCIAL_GRIDS + CAMPUSES + 40
    {
        let k = rng.gen_range(0..layouts.len());
        layouts[k].1 = layout(rng, true);
    }
    let mut parcels: Vec<Parcel> = Vec::new();
    for (cell, rects) in layouts {
        for uv in rects {
            let ring = parcel_ring(&mut part.lat, cell, uv, rng);
            let area = topo::signed_area2(&ring, &part.lat.xy) / 2.0;
            parcels.push(Parcel {
                cell,
                grid: part.grid(cell),
                uv,
                ring,
                area,
                use_: Use::Free,
            });
        }
    }
    for g in 0..part.grids.len() {
        let mine: Vec<usize> = (0..parcels.len())
            .filter(|&p| parcels[p].grid == g)
            .collect();
        let p = mine[rng.gen_range(0..mine.len())];
        parcels[p].use_ = Use::Compound;
    }
    let commercial = |p: &Parcel| {
        let main = Side::ALL.iter().any(|&s| streets.is_main(p.cell, s));
        (0.05 + part.centrality(part.lat.centre(p.cell))) * if main { 3.0 } else { 1.0 }
    };
    assign(
        rng,
        &mut parcels,
        COMMERCIAL_GRIDS,
        Use::Commercial,
        &commercial,
    );
    assign(rng, &mut parcels, CAMPUSES, Use::Campus, &|p| p.area);
    let more = COMPOUNDS - part.grids.len();
    assign(rng, &mut parcels, more, Use::Compound, &|p| p.area.sqrt());
    parcels
}

/// Give `n` free parcels, drawn by `weight`, the use `use_`.
fn assign(
    rng: &mut ChaCha8Rng,
    parcels: &mut [Parcel],
    n: usize,
    use_: Use,
    weight: &dyn Fn(&Parcel) -> f64,
) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn weighted_picks_skip_zero_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            assert_eq!(pick_weighted(&mut rng, &[0.0, 2.0, 0.0]), Some(1));
        }
        assert_eq!(pick_weighted(&mut rng, &[0.0, 0.0]), None);
    }

    #[test]
    fn layouts_stay_inside_the_margin() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for dense in [false, true] {
            for _ in 0..50 {
                for [u0, u1, v0, v1] in layout(&mut rng, dense) {
                    assert!(MARGIN <= u0 && u0 < u1 && u1 <= 1.0 - MARGIN);
                    assert!(MARGIN <= v0 && v0 < v1 && v1 <= 1.0 - MARGIN);
                }
            }
        }
    }
}
