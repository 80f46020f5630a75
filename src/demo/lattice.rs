//! The street lattice of one subdistrict, in a local metric frame (metres, x east, y north).
//!
//! Street crossings form a jittered lattice of `NX × NY` blocks with varied widths; the southern
//! lattice line follows a meandering river bank; a smooth warp bends the streets gently and the
//! whole lattice is turned a little off north. Every street between two crossings is one polyline
//! of vertex ids, so the two blocks on either side use the very same vertices. Points inside a
//! block are placed through its Coons patch: `(u, v)` in the unit square maps onto the block with
//! `v = 0` on its southern street, `u = 0` on its western street.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::TAU;

use geo::Coord;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::topo::{Ring, Vid};

/// Blocks across (west to east).
pub(crate) const NX: usize = 17;
/// Blocks up (south to north).
pub(crate) const NY: usize = 11;
/// Intermediate points on a street between two crossings.
const STREET_POINTS: usize = 3;
/// Intermediate points on a stretch of river bank between two crossings.
const RIVER_POINTS: usize = 9;

/// A block of the lattice: column `i` from the west, row `j` from the river.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cell {
    pub i: usize,
    pub j: usize,
}

/// A side of a block, in the counter-clockwise order of its ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Side {
    /// The southern side (`v = 0`), run west to east.
    Bottom,
    /// The eastern side (`u = 1`), run south to north.
    Right,
    /// The northern side (`v = 1`), run east to west.
    Top,
    /// The western side (`u = 0`), run north to south.
    Left,
}

impl Side {
    pub const ALL: [Side; 4] = [Side::Bottom, Side::Right, Side::Top, Side::Left];

    /// The patch coordinates `(u, v)` of the point at fraction `t` along this side (in ring
    /// order) and `depth` into the block.
    pub fn uv(self, t: f64, depth: f64) -> (f64, f64) {
        match self {
            Side::Bottom => (t, depth),
            Side::Right => (1.0 - depth, t),
            Side::Top => (1.0 - t, 1.0 - depth),
            Side::Left => (depth, 1.0 - t),
        }
    }

    /// The block side nearest to the patch rectangle `[u0, u1, v0, v1]` (a point when
    /// `u0 == u1` and `v0 == v1`): the side, the fraction along it (in ring order) of the
    /// rectangle's middle, and the rectangle's distance from it.
    pub fn facing(uv: [f64; 4]) -> (Side, f64, f64) {
        let [u0, u1, v0, v1] = uv;
        let (um, vm) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
        [
            (Side::Bottom, um, v0),
            (Side::Right, vm, 1.0 - u1),
            (Side::Top, 1.0 - um, 1.0 - v1),
            (Side::Left, 1.0 - vm, u0),
        ]
        .into_iter()
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or((Side::Bottom, um, v0))
    }
}

/// A street line of the lattice: `H(j)` runs west to east through the crossings of row `j`,
/// `V(i)` south to north through the crossings of column `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Line {
    H(usize),
    V(usize),
}

/// The lattice and the table of every vertex the generator makes.
#[derive(Debug, Clone)]
pub(crate) struct Lattice {
    /// Local metric coordinates by vertex id; crossings come first, row by row.
    pub xy: Vec<Coord<f64>>,
    /// Streets along lattice rows: index `j * NX + i`, west to east.
    h: Vec<Vec<Vid>>,
    /// Streets along lattice columns: index `j * (NX + 1) + i`, south to north.
    v: Vec<Vec<Vid>>,
    /// Block centres before warping (lattice frame), which shape the subdistrict.
    plan: Vec<Coord<f64>>,
    /// Where the subdistrict is centred in the lattice frame, and its half-axes.
    blob: Blob,
}

#[derive(Debug, Clone)]
struct Blob {
    centre: Coord<f64>,
    a: f64,
    b: f64,
    waves: [(f64, f64); 3],
}

impl Blob {
    /// Below 1 inside the irregular oval the subdistrict fills.
    fn value(&self, p: Coord<f64>) -> f64 {
        let dx = (p.x - self.centre.x) / self.a;
        let dy = (p.y - self.centre.y) / self.b;
        let theta = dy.atan2(dx);
        let r = 1.0
            + self
                .waves
                .iter()
                .zip([2.0, 3.0, 5.0])
                .map(|((amp, phase), k)| amp * (k * theta + phase).sin())
                .sum::<f64>();
        dx.hypot(dy) / r
    }
}

fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    a + (b - a) * t
}

impl Lattice {
    /// A new random lattice, centred on the origin.
    pub fn generate(rng: &mut ChaCha8Rng) -> Lattice {
        let mut xs = vec![0.0];
        for _ in 0..NX {
            let last = xs[xs.len() - 1];
            xs.push(last + rng.gen_range(230.0..420.0));
        }
        let mut ys = vec![0.0];
        for j in 0..NY {
            let last = ys[ys.len() - 1];
            let height = if j == 0 {
                rng.gen_range(340.0..430.0)
            } else {
                rng.gen_range(230.0..400.0)
            };
            ys.push(last + height);
        }
        let river = [
            (rng.gen_range(70.0..110.0), rng.gen_range(1900.0..2600.0)),
            (rng.gen_range(25.0..45.0), rng.gen_range(700.0..1000.0)),
        ]
        .map(|(amp, len)| (amp, len, rng.gen_range(0.0..TAU)));
        let bank = |x: f64| -> f64 {
            river
                .iter()
                .map(|(amp, len, phase)| amp * (TAU * x / len + phase).sin())
                .sum()
        };

        let mut xy = Vec::new();
        for (j, &yj) in ys.iter().enumerate() {
            for &xi in &xs {
                let x = xi + rng.gen_range(-22.0..22.0);
                let y = if j == 0 {
                    bank(x)
                } else {
                    yj + rng.gen_range(-22.0..22.0)
                };
                xy.push(Coord { x, y });
            }
        }
        let node = |i: usize, j: usize| (j * (NX + 1) + i) as Vid;
        let polyline = |xy: &mut Vec<Coord<f64>>, a: Vid, b: Vid, river: bool| {
            let k = if river { RIVER_POINTS } else { STREET_POINTS };
            let mut ids = vec![a];
            for m in 1..=k {
                let mut p = lerp(xy[a as usize], xy[b as usize], m as f64 / (k + 1) as f64);
                if river {
                    p.y = bank(p.x);
                }
                ids.push(xy.len() as Vid);
                xy.push(p);
            }
            ids.push(b);
            ids
        };
        let mut h = Vec::new();
        for j in 0..=NY {
            for i in 0..NX {
                h.push(polyline(&mut xy, node(i, j), node(i + 1, j), j == 0));
            }
        }
        let mut v = Vec::new();
        for j in 0..NY {
            for i in 0..=NX {
                v.push(polyline(&mut xy, node(i, j), node(i, j + 1), false));
            }
        }

        let plan = (0..NY)
            .flat_map(|j| {
                let (xs, ys) = (&xs, &ys);
                (0..NX).map(move |i| Coord {
                    x: (xs[i] + xs[i + 1]) / 2.0,
                    y: (ys[j] + ys[j + 1]) / 2.0,
                })
            })
            .collect();
        let b = rng.gen_range(2050.0..2350.0);
        let blob = Blob {
            centre: Coord {
                x: xs[NX] / 2.0 + rng.gen_range(-250.0..250.0),
                y: b * rng.gen_range(0.45..0.6),
            },
            a: rng.gen_range(2300.0..2600.0),
            b,
            waves: [0.12, 0.08, 0.05].map(|amp| (amp, rng.gen_range(0.0..TAU))),
        };

        // Bend the streets with a gentle warp and turn the lattice a little off north.
        let waves: Vec<(f64, f64, f64)> = [(40.0, 80.0), (40.0, 70.0), (20.0, 40.0), (15.0, 30.0)]
            .into_iter()
            .map(|(lo, hi)| {
                (
                    rng.gen_range(lo..hi),
                    rng.gen_range(2600.0..4600.0),
                    rng.gen_range(0.0..TAU),
                )
            })
            .collect();
        let angle =
            rng.gen_range(4.0_f64..14.0).to_radians() * if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        let (sin, cos) = angle.sin_cos();
        let centre = Coord {
            x: xs[NX] / 2.0,
            y: ys[NY] / 2.0,
        };
        let wave = |k: usize, s: f64| waves[k].0 * (TAU * s / waves[k].1 + waves[k].2).sin();
        for p in &mut xy {
            let w = Coord {
                x: p.x + wave(0, p.y) + wave(2, p.x + p.y),
                y: p.y + wave(1, p.x) + wave(3, p.x - p.y),
            } - centre;
            *p = Coord {
                x: w.x * cos - w.y * sin,
                y: w.x * sin + w.y * cos,
            };
        }
        Lattice {
            xy,
            h,
            v,
            plan,
            blob,
        }
    }

    /// The vertex id of the crossing at column `i`, row `j`.
    pub fn node(&self, i: usize, j: usize) -> Vid {
        (j * (NX + 1) + i) as Vid
    }

    /// The polyline of street `k` (counted west to east or south to north) on `line`.
    pub fn edge(&self, line: Line, k: usize) -> &[Vid] {
        match line {
            Line::H(j) => &self.h[j * NX + k],
            Line::V(i) => &self.v[k * (NX + 1) + i],
        }
    }

    /// The number of streets between crossings along `line`.
    pub fn line_len(line: Line) -> usize {
        match line {
            Line::H(_) => NX,
            Line::V(_) => NY,
        }
    }

    /// The street under `side` of `cell`: its line, its index on the line, and whether the
    /// side runs against the line's direction.
    pub fn side_edge(cell: Cell, side: Side) -> (Line, usize, bool) {
        match side {
            Side::Bottom => (Line::H(cell.j), cell.i, false),
            Side::Right => (Line::V(cell.i + 1), cell.j, false),
            Side::Top => (Line::H(cell.j + 1), cell.i, true),
            Side::Left => (Line::V(cell.i), cell.j, true),
        }
    }

    /// The vertices of `side` of `cell` in the block's counter-clockwise ring order.
    pub fn side_vids(&self, cell: Cell, side: Side) -> Vec<Vid> {
        let (line, k, reversed) = Self::side_edge(cell, side);
        let mut ids = self.edge(line, k).to_vec();
        if reversed {
            ids.reverse();
        }
        ids
    }

    /// The block's counter-clockwise ring.
    pub fn cell_ring(&self, cell: Cell) -> Ring {
        Side::ALL
            .into_iter()
            .flat_map(|s| {
                let mut ids = self.side_vids(cell, s);
                ids.pop();
                ids
            })
            .collect()
    }

    /// The block across `side` of `cell`, if the lattice has one.
    pub fn neighbour(cell: Cell, side: Side) -> Option<Cell> {
        let Cell { i, j } = cell;
        match side {
            Side::Bottom => j.checked_sub(1).map(|j| Cell { i, j }),
            Side::Right => (i + 1 < NX).then_some(Cell { i: i + 1, j }),
            Side::Top => (j + 1 < NY).then_some(Cell { i, j: j + 1 }),
            Side::Left => i.checked_sub(1).map(|i| Cell { i, j }),
        }
    }

    fn along(&self, line: &[Vid], f: f64) -> Coord<f64> {
        let n = line.len() - 1;
        let x = f.clamp(0.0, 1.0) * n as f64;
        let k = (x.floor() as usize).min(n - 1);
        lerp(
            self.xy[line[k] as usize],
            self.xy[line[k + 1] as usize],
            x - k as f64,
        )
    }

    /// The point at patch coordinates `(u, v)` of `cell` (Coons patch over its four streets).
    pub fn coons(&self, cell: Cell, u: f64, v: f64) -> Coord<f64> {
        let Cell { i, j } = cell;
        let c0 = self.along(self.edge(Line::H(j), i), u);
        let c1 = self.along(self.edge(Line::H(j + 1), i), u);
        let d0 = self.along(self.edge(Line::V(i), j), v);
        let d1 = self.along(self.edge(Line::V(i + 1), j), v);
        let p = |i: usize, j: usize| self.xy[self.node(i, j) as usize];
        let corners = p(i, j) * ((1.0 - u) * (1.0 - v))
            + p(i + 1, j) * (u * (1.0 - v))
            + p(i, j + 1) * ((1.0 - u) * v)
            + p(i + 1, j + 1) * (u * v);
        c0 * (1.0 - v) + c1 * v + d0 * (1.0 - u) + d1 * u - corners
    }

    /// The point at fraction `t` along `side` of `cell`, `depth` into the block.
    pub fn side_point(&self, cell: Cell, side: Side, t: f64, depth: f64) -> Coord<f64> {
        let (u, v) = side.uv(t, depth);
        self.coons(cell, u, v)
    }

    /// Add a vertex to the table.
    pub fn add(&mut self, p: Coord<f64>) -> Vid {
        self.xy.push(p);
        (self.xy.len() - 1) as Vid
    }

    /// The length in metres of street `k` on `line`.
    pub fn edge_length(&self, line: Line, k: usize) -> f64 {
        self.edge(line, k)
            .windows(2)
            .map(|w| {
                let d = self.xy[w[1] as usize] - self.xy[w[0] as usize];
                d.x.hypot(d.y)
            })
            .sum()
    }

    /// Multiply every coordinate by `s` (about the origin).
    pub fn scale(&mut self, s: f64) {
        for p in &mut self.xy {
            *p = *p * s;
        }
    }

    /// The block centre (mean of its corners).
    pub fn centre(&self, cell: Cell) -> Coord<f64> {
        let p = |i: usize, j: usize| self.xy[self.node(i, j) as usize];
        (p(cell.i, cell.j)
            + p(cell.i + 1, cell.j)
            + p(cell.i, cell.j + 1)
            + p(cell.i + 1, cell.j + 1))
            * 0.25
    }

    /// Choose about `n` blocks that make an irregular, connected subdistrict along the river,
    /// without holes and without blocks that touch only at a corner.
    pub fn choose_cells(&self, n: usize) -> Vec<Cell> {
        let value = |c: Cell| self.blob.value(self.plan[c.j * NX + c.i]);
        let all: Vec<Cell> = (0..NY)
            .flat_map(|j| (0..NX).map(move |i| Cell { i, j }))
            .collect();
        let Some(&first) = all.iter().min_by(|a, b| value(**a).total_cmp(&value(**b))) else {
            return Vec::new();
        };
        // Grow from the most central block, always taking the most central neighbour.
        let mut chosen = BTreeSet::from([first]);
        while chosen.len() < n {
            let next = chosen
                .iter()
                .flat_map(|&c| {
                    Side::ALL
                        .into_iter()
                        .filter_map(move |s| Self::neighbour(c, s))
                })
                .filter(|c| !chosen.contains(c))
                .min_by(|a, b| value(*a).total_cmp(&value(*b)).then(a.cmp(b)));
            match next {
                Some(c) => chosen.insert(c),
                None => break,
            };
        }
        loop {
            let mut add = holes(&chosen, &all);
            for j in 1..NY {
                for i in 1..NX {
                    let [sw, se, nw, ne] = [(i - 1, j - 1), (i, j - 1), (i - 1, j), (i, j)]
                        .map(|(i, j)| Cell { i, j });
                    let has = |c: &Cell| chosen.contains(c);
                    let pinch = |a: Cell, b: Cell, x: Cell, y: Cell| {
                        has(&a) && has(&b) && !has(&x) && !has(&y)
                    };
                    if pinch(sw, ne, se, nw) || pinch(se, nw, sw, ne) {
                        let missing = if has(&sw) { [se, nw] } else { [sw, ne] };
                        let best = if value(missing[0]) <= value(missing[1]) {
                            missing[0]
                        } else {
                            missing[1]
                        };
                        add.insert(best);
                    }
                }
            }
            if add.is_empty() {
                break;
            }
            chosen.extend(add);
        }
        chosen.into_iter().collect()
    }
}

/// The blocks outside `chosen` that cannot reach the lattice's border through other outside
/// blocks.
fn holes(chosen: &BTreeSet<Cell>, all: &[Cell]) -> BTreeSet<Cell> {
    let mut outside: BTreeSet<Cell> = all
        .iter()
        .copied()
        .filter(|c| !chosen.contains(c) && (c.i == 0 || c.j == 0 || c.i == NX - 1 || c.j == NY - 1))
        .collect();
    let mut stack: Vec<Cell> = outside.iter().copied().collect();
    while let Some(c) = stack.pop() {
        for s in Side::ALL {
            if let Some(n) = Lattice::neighbour(c, s)
                && !chosen.contains(&n)
                && outside.insert(n)
            {
                stack.push(n);
            }
        }
    }
    all.iter()
        .copied()
        .filter(|c| !chosen.contains(c) && !outside.contains(c))
        .collect()
}

/// Per street line, the length in metres of each of its streets (by index on the line).
pub(crate) fn edge_lengths(lat: &Lattice) -> BTreeMap<(Line, usize), f64> {
    let lines = (0..=NY).map(Line::H).chain((0..=NX).map(Line::V));
    lines
        .flat_map(|line| (0..Lattice::line_len(line)).map(move |k| (line, k)))
        .map(|(line, k)| ((line, k), lat.edge_length(line, k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::topo::{dissolve, is_simple_disc, signed_area2};
    use rand::SeedableRng;

    #[test]
    fn blocks_are_counter_clockwise_and_share_their_streets() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let lat = Lattice::generate(&mut rng);
        for j in 0..NY {
            for i in 0..NX {
                let c = Cell { i, j };
                assert!(signed_area2(&lat.cell_ring(c), &lat.xy) > 0.0, "{c:?}");
            }
        }
        let a = lat.side_vids(Cell { i: 3, j: 4 }, Side::Right);
        let mut b = lat.side_vids(Cell { i: 4, j: 4 }, Side::Left);
        b.reverse();
        assert_eq!(a, b);
    }

    #[test]
    fn patch_corners_and_sides_meet_the_streets() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let lat = Lattice::generate(&mut rng);
        let c = Cell { i: 5, j: 0 };
        let close = |a: Coord<f64>, b: Coord<f64>| (a - b).x.hypot((a - b).y) < 1e-6;
        assert!(close(
            lat.coons(c, 0.0, 0.0),
            lat.xy[lat.node(5, 0) as usize]
        ));
        assert!(close(
            lat.coons(c, 1.0, 1.0),
            lat.xy[lat.node(6, 1) as usize]
        ));
        let river = lat.side_vids(c, Side::Bottom);
        assert_eq!(river.len(), RIVER_POINTS + 2);
        assert!(close(
            lat.side_point(c, Side::Bottom, 0.5, 0.0),
            lat.xy[river[5] as usize]
        ));
        let top = lat.side_vids(c, Side::Top);
        assert!(close(
            lat.side_point(c, Side::Top, 0.25, 0.0),
            lat.xy[top[1] as usize]
        ));
    }

    #[test]
    fn the_chosen_blocks_make_one_simple_outline_on_the_river() {
        for seed in 0..5 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let lat = Lattice::generate(&mut rng);
            let cells = lat.choose_cells(136);
            assert!((136..145).contains(&cells.len()), "{}", cells.len());
            assert!(cells.iter().filter(|c| c.j == 0).count() >= 6);
            let rings: Vec<Ring> = cells.iter().map(|c| lat.cell_ring(*c)).collect();
            let outline = dissolve(rings.iter().map(|r| (&r[..], 1)), &lat.xy).unwrap();
            assert!(is_simple_disc(&outline), "seed {seed}");
        }
    }

    #[test]
    fn the_facing_side_reports_fraction_and_depth_in_ring_order() {
        let (s, t, d) = Side::facing([0.9, 0.9, 0.3, 0.3]);
        assert_eq!(s, Side::Right);
        assert!((t - 0.3).abs() < 1e-12 && (d - 0.1).abs() < 1e-12);
        let (u, v) = s.uv(t, d);
        assert!((u - 0.9).abs() < 1e-12 && (v - 0.3).abs() < 1e-12);
    }
}
