//! The designed layout of a subdistrict: which blocks it has, how they are grouped into party
//! grids of one to three adjacent blocks, and the grids into contiguous communities grown from
//! spread-out seeds.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Coord, GeodesicArea, LineString, Polygon};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::build::Frame;
use super::lattice::{Cell, Lattice, Side};
use super::topo::{Ring, RingPolygon, dissolve, is_simple_disc};
use super::{AREA_M2, BLOCKS, COMMUNITIES, PARTY_GRIDS};

/// Party grids per community: communities differ in size, within reason.
const MIN_COMMUNITY_GRIDS: usize = 4;
const MAX_COMMUNITY_GRIDS: usize = 10;

/// The subdistrict as designed, before any fault is planted: its lattice (whose vertex table
/// grows as later steps add parcels and fault outlines), its blocks, party grids and communities.
#[derive(Debug)]
pub(crate) struct Partition {
    pub lat: Lattice,
    /// The subdistrict's blocks, sorted.
    pub cells: Vec<Cell>,
    /// The blocks of each party grid.
    pub grids: Vec<Vec<Cell>>,
    grid_of: BTreeMap<Cell, usize>,
    /// The community of each party grid.
    pub community_of: Vec<usize>,
    /// The blocks of each community.
    pub community_cells: Vec<BTreeSet<Cell>>,
    /// The mean of the block centres (metres).
    pub centre: Coord<f64>,
}

impl Partition {
    /// A new subdistrict: lattice and blocks (one simple outline, scaled so that its geodesic
    /// area through `frame` is [`AREA_M2`]), then grids and communities (each community one
    /// simple outline of a reasonable size). Attempts that miss are drawn again.
    pub fn generate(rng: &mut ChaCha8Rng, frame: &Frame) -> Partition {
        let (mut lat, cells) = retry("subdistrict outline", || {
            let lat = Lattice::generate(rng);
            let cells = lat.choose_cells(BLOCKS);
            simple_outline(&lat, &cells)?;
            Some((lat, cells))
        });
        for _ in 0..2 {
            let outline = simple_outline(&lat, &cells).unwrap_or_default();
            let ring = outline.first().map_or(&[][..], |p| &p.exterior[..]);
            let coords = ring
                .iter()
                .map(|&v| frame.raw(lat.xy[v as usize]))
                .collect();
            let area = Polygon::new(LineString(coords), vec![]).geodesic_area_unsigned();
            lat.scale((AREA_M2 / area).sqrt());
        }
        let (grids, community_of) = retry("grids and communities", || {
            let grids = group_cells(&cells, PARTY_GRIDS, rng)?;
            let owner = grow_communities(&lat, &grids, COMMUNITIES, rng);
            for k in 0..COMMUNITIES {
                let mine: Vec<Cell> = (0..grids.len())
                    .filter(|&g| owner[g] == k)
                    .flat_map(|g| grids[g].iter().copied())
                    .collect();
                let size = owner.iter().filter(|&&o| o == k).count();
                if !(MIN_COMMUNITY_GRIDS..=MAX_COMMUNITY_GRIDS).contains(&size) {
                    return None;
                }
                simple_outline(&lat, &mine)?;
            }
            Some((grids, owner))
        });
        let grid_of: BTreeMap<Cell, usize> = grids
            .iter()
            .enumerate()
            .flat_map(|(g, cs)| cs.iter().map(move |c| (*c, g)))
            .collect();
        let community_cells = (0..COMMUNITIES)
            .map(|k| {
                cells
                    .iter()
                    .copied()
                    .filter(|c| community_of[grid_of[c]] == k)
                    .collect()
            })
            .collect();
        let centre = cells
            .iter()
            .map(|c| lat.centre(*c))
            .fold(Coord::zero(), |a, b| a + b)
            / cells.len() as f64;
        Partition {
            lat,
            cells,
            grids,
            grid_of,
            community_of,
            community_cells,
            centre,
        }
    }

    /// The designed party grid of a block of the subdistrict.
    pub fn grid(&self, c: Cell) -> usize {
        self.grid_of[&c]
    }

    /// The community of a block of the subdistrict.
    pub fn community(&self, c: Cell) -> usize {
        self.community_of[self.grid_of[&c]]
    }

    /// The rings of `cells`.
    pub fn rings<'a>(&self, cells: impl IntoIterator<Item = &'a Cell>) -> Vec<Ring> {
        cells.into_iter().map(|c| self.lat.cell_ring(*c)).collect()
    }

    /// Near 1 in the middle of the subdistrict, falling off over a kilometre or two.
    pub fn centrality(&self, p: Coord<f64>) -> f64 {
        let d = p - self.centre;
        (-(d.x * d.x + d.y * d.y) / (2.0 * 1100.0_f64.powi(2))).exp()
    }
}

/// The union of `cells` if it is one polygon without holes whose ring visits no vertex twice.
fn simple_outline(lat: &Lattice, cells: &[Cell]) -> Option<Vec<RingPolygon>> {
    let rings: Vec<Ring> = cells.iter().map(|c| lat.cell_ring(*c)).collect();
    let outline = dissolve(rings.iter().map(|r| (&r[..], 1)), &lat.xy).ok()?;
    is_simple_disc(&outline).then_some(outline)
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

/// Split `total` into whole parts proportional to `weights` (largest remainders; ties go to the
/// earlier part), so that the parts add up to `total` exactly.
pub(crate) fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let given: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &k in order
        .iter()
        .cycle()
        .take(total.saturating_sub(given) as usize)
    {
        parts[k] += 1;
    }
    parts
}

/// Group `cells` into exactly `n` grids of one to three edge-adjacent blocks, merging random
/// adjacent groups that still fit. `None` when the merging gets stuck (try again).
pub(crate) fn group_cells(
    cells: &[Cell],
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Vec<Cell>>> {
    let set: BTreeSet<Cell> = cells.iter().copied().collect();
    let mut group_of: BTreeMap<Cell, usize> =
        cells.iter().enumerate().map(|(k, c)| (*c, k)).collect();
    let mut members: Vec<Vec<Cell>> = cells.iter().map(|c| vec![*c]).collect();
    let pairs: Vec<(Cell, Cell)> = cells
        .iter()
        .flat_map(|&c| {
            [Side::Right, Side::Top]
                .into_iter()
                .filter_map(move |s| Lattice::neighbour(c, s))
                .filter(|n| set.contains(n))
                .map(move |n| (c, n))
        })
        .collect();
    let mut count = cells.len();
    while count > n {
        let candidates: Vec<(usize, usize)> = pairs
            .iter()
            .filter_map(|(a, b)| {
                let (g, h) = (group_of[a], group_of[b]);
                (g != h && members[g].len() + members[h].len() <= 3).then(|| (g.min(h), g.max(h)))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (g, h) = candidates[rng.gen_range(0..candidates.len())];
        let moved = std::mem::take(&mut members[h]);
        for c in &moved {
            group_of.insert(*c, g);
        }
        members[g].extend(moved);
        count -= 1;
    }
    Some(
        members
            .into_iter()
            .filter(|m| !m.is_empty())
            .map(|mut m| {
                m.sort();
                m
            })
            .collect(),
    )
}

/// The mean of the block centres of each grid.
pub(crate) fn grid_centres(lat: &Lattice, grids: &[Vec<Cell>]) -> Vec<Coord<f64>> {
    grids
        .iter()
        .map(|g| {
            g.iter()
                .map(|c| lat.centre(*c))
                .fold(Coord::zero(), |a, b| a + b)
                / g.len() as f64
        })
        .collect()
}

/// For each grid, the grids that share a street with it.
pub(crate) fn grid_adjacency(grids: &[Vec<Cell>]) -> Vec<BTreeSet<usize>> {
    let grid_of: BTreeMap<Cell, usize> = grids
        .iter()
        .enumerate()
        .flat_map(|(g, cells)| cells.iter().map(move |c| (*c, g)))
        .collect();
    let mut adj = vec![BTreeSet::new(); grids.len()];
    for (&c, &g) in &grid_of {
        for s in Side::ALL {
            if let Some(&h) = Lattice::neighbour(c, s).and_then(|n| grid_of.get(&n))
                && h != g
            {
                adj[g].insert(h);
            }
        }
    }
    adj
}

/// Assign each grid to one of `n` contiguous communities: seeds far apart, random target sizes,
/// each step growing the community furthest below its target by its nearest free neighbour.
pub(crate) fn grow_communities(
    lat: &Lattice,
    grids: &[Vec<Cell>],
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let centres = grid_centres(lat, grids);
    let adj = grid_adjacency(grids);
    let dist = |a: usize, b: usize| {
        let d = centres[a] - centres[b];
        d.x.hypot(d.y)
    };
    let mut seeds = vec![rng.gen_range(0..grids.len())];
    while seeds.len() < n.min(grids.len()) {
        let nearest: Vec<f64> = (0..grids.len())
            .map(|g| {
                seeds
                    .iter()
                    .map(|&s| dist(g, s))
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        let max = nearest.iter().copied().fold(0.0, f64::max);
        let far: Vec<usize> = (0..grids.len())
            .filter(|&g| nearest[g] >= 0.75 * max)
            .collect();
        seeds.push(far[rng.gen_range(0..far.len())]);
    }
    let weights: Vec<f64> = seeds.iter().map(|_| rng.gen_range(0.6..1.4)).collect();
    let targets = apportion(grids.len() as u64, &weights);
    let noise: Vec<f64> = grids.iter().map(|_| rng.gen_range(0.8..1.2)).collect();
    let mut owner = vec![usize::MAX; grids.len()];
    let mut size = vec![1u64; seeds.len()];
    for (k, &s) in seeds.iter().enumerate() {
        owner[s] = k;
    }
    loop {
        let mut best: Option<(f64, usize, usize)> = None;
        for k in 0..seeds.len() {
            let next = (0..grids.len())
                .filter(|&g| owner[g] == usize::MAX && adj[g].iter().any(|&h| owner[h] == k))
                .min_by(|&a, &b| {
                    (dist(a, seeds[k]) * noise[a]).total_cmp(&(dist(b, seeds[k]) * noise[b]))
                });
            if let Some(g) = next {
                let ratio = size[k] as f64 / targets[k].max(1) as f64;
                if best.is_none_or(|(r, _, _)| ratio < r) {
                    best = Some((ratio, k, g));
                }
            }
        }
        let Some((_, k, g)) = best else { break };
        owner[g] = k;
        size[k] += 1;
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn apportion_adds_up_and_follows_the_weights() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(29_268, &[2.0, 1.0]).iter().sum::<u64>(), 29_268);
        assert_eq!(apportion(5, &[]), Vec::<u64>::new());
        assert_eq!(apportion(5, &[0.0]), vec![0]);
    }

    #[test]
    fn grids_are_small_and_communities_cover_every_grid() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let lat = Lattice::generate(&mut rng);
        let cells = lat.choose_cells(136);
        let grids = (0..50)
            .find_map(|_| group_cells(&cells, 66, &mut rng))
            .unwrap();
        assert_eq!(grids.len(), 66);
        assert!(grids.iter().all(|g| (1..=3).contains(&g.len())));
        assert_eq!(grids.iter().map(Vec::len).sum::<usize>(), cells.len());
        let owner = grow_communities(&lat, &grids, 10, &mut rng);
        assert!(owner.iter().all(|&k| k < 10));
        let used: BTreeSet<usize> = owner.iter().copied().collect();
        assert_eq!(used.len(), 10);
    }
}
