//! A uniform cell grid over many prepared polygons: for a point, the short list of polygons whose
//! closure may hold it, each marked either as holding the whole cell in its interior (no test
//! needed) or as having its boundary cross the cell. For a crossed cell the index keeps the
//! polygon's edges that meet the cell and whether the cell's centre lies inside, so the point is
//! decided by those few local edges alone, read from the same place as the cell's list.
//!
//! Why: a lookup asks five layers at once. An R-tree per layer walks several nodes per layer and
//! then tests every polygon whose *box* holds the point, and boxes of neighbouring grids overlap a
//! lot. Here one multiplication finds the cell, and for most points every polygon listed in it is
//! marked "interior", so the lookup reads a handful of integers and tests no edge at all. This is
//! the idea of tidwall/tg's and geo's edge indexes taken one level up (over the whole snapshot
//! instead of inside one polygon); no crate offers it over a set of polygons with an exact,
//! boundary-aware answer, so it is written here.
//!
//! **Why local edges.** On the city set a quarter of the cell entries are crossed by a boundary,
//! and most random points meet at least one of them. Testing such a point against the whole
//! prepared polygon (feature → boxed polygon → stripe list → stripe → edges) costs five or six
//! dependent cache misses, which was most of a lookup's time. With tg's idea instead — the edges
//! that cross the cell plus the known position of one reference point, the centre `c` of the
//! cell — the test walks the segment from the point `p` to `c` and counts the edges it crosses:
//! `p` is inside iff `c` is inside XOR the count is odd. Every edge the segment meets lies in the
//! cell (a rectangle is convex), so the cell's edges are all it needs. The edges live once in a
//! pool (a boundary shared by two grids, or by a grid and its community, is stored once), and
//! the cell's list names them by number, right after the polygon's entry, so a crossed entry costs
//! one more read from the pool instead of a chase through the polygon.
//!
//! **Exactness.** A cell is marked interior only when it is proven so, by exact predicates: no edge
//! of the polygon meets the cell's closed rectangle (a separating-axis test whose only non-trivial
//! axis uses the robust `orient2d`), and one point of the rectangle is `Inside` by the exact test.
//! A rectangle is connected, so a rectangle that no boundary edge meets lies wholly in the interior
//! or wholly outside the closure. The local test is exact too: the centre's position comes from
//! the polygon's exact test (a centre on the boundary makes the entry fall back to that test), a
//! point on any listed edge is `OnBoundary` (every edge through the point meets its cell), and the
//! crossings are counted with robust orientations and the half-open rule (an edge counts when its
//! ends lie on different sides of the line `p`–`c`, an end on the line counting as the left side,
//! and `p` and `c` lie strictly on different sides of the edge's line), which is the count for the
//! segment pushed an infinitesimal distance to the right, where it passes through no vertex; both
//! ends are off the boundary, so the push does not change their positions. Any case that would
//! contradict this reasoning (an orientation that should not be zero) answers "don't know" and the
//! caller runs the polygon's own exact test. Every doubt leads to a test, which costs time, never a
//! wrong answer. The rectangles are enlarged by a margin of 1/64 cell, far more than the rounding
//! of the arithmetic that maps a point to its cell, so a point always lies in the rectangle its
//! cell was classified on.

use std::collections::HashMap;

use geo::Coord;
use geo::kernels::{Kernel, Orientation, RobustKernel};
use rayon::prelude::*;

use super::locate::{Position, PreparedPolygon};

/// Set on an entry when the polygon's boundary crosses the cell and the point must be tested.
pub const TEST: u32 = 1;

/// In the word after a crossed entry: the cell's centre lies inside the polygon.
const CENTRE_INSIDE: u32 = 1;
/// In the word after a crossed entry: no local test (the centre lies on the boundary); the caller
/// tests the polygon.
const FULL_TEST: u32 = 2;
/// The word after a crossed entry holds the number of local edges above these flags.
const EDGES_SHIFT: u32 = 2;

/// What the index knows of a listed polygon at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Decided from the cell (interior) or its local edges.
    Known(Position),
    /// The caller must run the polygon's exact test.
    Unknown,
}

/// The polygons of a set, by cell; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct CellIndex {
    /// The extent: the union of the polygons' bounding boxes.
    min: Coord<f64>,
    max: Coord<f64>,
    /// Cell width and height (equal, in degrees) and its inverse.
    size: f64,
    inv: f64,
    cols: usize,
    rows: usize,
    /// Cell `c` (row-major) lists the `lists[at]` entries that follow `at = cells[c]`.
    cells: Vec<u32>,
    /// Every distinct cell list once: its number of entries, then the entries (`payload << 1 |
    /// TEST`-flag, in the order the polygons were given). A crossed entry (`TEST`) is followed by
    /// one word of flags and edge count ([`CENTRE_INSIDE`], [`FULL_TEST`], count `<<`
    /// [`EDGES_SHIFT`]) and that many edge numbers into `points`. Neighbouring cells mostly list the
    /// same polygons (the same grid, community and compound; the same edge crossing a row of
    /// cells), so sharing the lists keeps them few and makes a finer grid affordable.
    lists: Vec<u32>,
    /// The edge pool: every distinct edge of the polygons (either direction) once, as vertex
    /// chains; edge `j` runs from `points[j]` to `points[j + 1]`.
    points: Vec<Coord<f64>>,
    /// Entries of all cells, and of those the crossed ones, before sharing (for the bench's
    /// report).
    entries: (usize, usize),
    /// How many distinct cell lists there are.
    distinct: usize,
}

/// One cell entry of one polygon, before the lists are assembled: the cell, the entry word, and for
/// a crossed cell the flags word and where in the polygon's list of local edges (see
/// [`CellIndex::classify`]) its edges that meet the cell are.
struct Raw {
    cell: u32,
    entry: u32,
    flags: u32,
    edges: std::ops::Range<u32>,
}

impl CellIndex {
    /// Index `polygons` (each with a caller's payload below 2³¹, returned with every hit) in about
    /// `target_cells` cells. Each cell lists the payloads in the order given.
    pub fn new(polygons: &[(u32, &PreparedPolygon)], target_cells: usize) -> CellIndex {
        let boxes: Vec<_> = polygons.iter().filter_map(|(_, p)| p.bbox()).collect();
        let Some(first) = boxes.first() else {
            return CellIndex::default();
        };
        let (mut min, mut max) = (first.min(), first.max());
        for b in &boxes {
            min.x = min.x.min(b.min().x);
            min.y = min.y.min(b.min().y);
            max.x = max.x.max(b.max().x);
            max.y = max.y.max(b.max().y);
        }
        let (w, h) = (max.x - min.x, max.y - min.y);
        let target = target_cells.max(1) as f64;
        // Square cells, so that neither direction is much finer than the other.
        let mut size = (w * h / target).sqrt();
        if !(size.is_finite() && size > 0.0) {
            // A degenerate extent (one line or point): cells along its one dimension.
            size = (w.max(h) / target).max(f64::MIN_POSITIVE * 1e6).max(1e-12);
        }
        let cols = ((w / size).ceil() as usize).clamp(1, 1 << 15);
        let rows = ((h / size).ceil() as usize).clamp(1, 1 << 15);
        let mut index = CellIndex {
            min,
            max,
            size,
            inv: 1.0 / size,
            cols,
            rows,
            ..CellIndex::default()
        };
        // The edge pool: every distinct edge once, whichever way round it was drawn, as vertex
        // chains (edge `j` runs from `points[j]` to `points[j + 1]`: a run of new edges along a
        // ring costs one vertex each). Each polygon's edges by number in the pool.
        let mut pool: HashMap<[u64; 4], u32> = HashMap::new();
        let mut points: Vec<Coord<f64>> = Vec::new();
        let numbers: Vec<Vec<u32>> = polygons
            .iter()
            .map(|(_, poly)| {
                poly.edges()
                    .map(|(a, b)| {
                        let (lo, hi) = if (a.x, a.y) <= (b.x, b.y) {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        let key = [lo.x, lo.y, hi.x, hi.y].map(f64::to_bits);
                        *pool.entry(key).or_insert_with(|| {
                            if points.last() != Some(&a) {
                                points.push(a);
                            }
                            points.push(b);
                            (points.len() - 2) as u32
                        })
                    })
                    .collect()
            })
            .collect();
        drop(pool);
        assert!(points.len() < u32::MAX as usize, "too many edges");
        // Each polygon on its own (in parallel): the cells it meets, in cell order, with the local
        // edges of crossed cells (as pool numbers). Concatenated in the given order, then a
        // stable counting sort by cell.
        let per_polygon: Vec<(Vec<Raw>, Vec<u32>)> = polygons
            .par_iter()
            .zip(&numbers)
            .map(|(&(payload, poly), numbers)| {
                let (raw, local) = index.classify(payload, poly);
                (
                    raw,
                    local.into_iter().map(|k| numbers[k as usize]).collect(),
                )
            })
            .collect();
        drop(numbers);
        let n = cols * rows;
        let words = |r: &Raw| {
            if r.entry & TEST == 0 {
                1
            } else {
                2 + r.edges.len()
            }
        };
        let mut starts = vec![0u32; n + 1];
        let (mut tests, mut all) = (0, 0);
        for r in per_polygon.iter().flat_map(|p| &p.0) {
            starts[r.cell as usize + 1] += words(r) as u32;
            all += 1;
            tests += (r.entry & TEST != 0) as usize;
        }
        index.entries = (tests, all);
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut counts = vec![0u32; n];
        let mut flat = vec![0u32; starts[n] as usize];
        for (raw, local) in &per_polygon {
            for r in raw {
                let c = r.cell as usize;
                counts[c] += 1;
                let at = fill[c] as usize;
                flat[at] = r.entry;
                if r.entry & TEST != 0 {
                    flat[at + 1] = r.flags;
                    flat[at + 2..at + 2 + r.edges.len()]
                        .copy_from_slice(&local[r.edges.start as usize..r.edges.end as usize]);
                }
                fill[c] += words(r) as u32;
            }
        }
        drop(per_polygon);
        drop(fill);
        // The empty list first, at 0.
        let mut lists = vec![0u32];
        let mut seen: HashMap<&[u32], u32> = HashMap::new();
        seen.insert(&[], 0);
        let mut cells = Vec::with_capacity(n);
        let mut previous: (&[u32], u32) = (&[], 0);
        for c in 0..n {
            let list = &flat[starts[c] as usize..starts[c + 1] as usize];
            // Most cells list what their left neighbour lists: compare before hashing.
            if list == previous.0 {
                cells.push(previous.1);
                continue;
            }
            let at = *seen.entry(list).or_insert_with(|| {
                let at = lists.len() as u32;
                lists.push(counts[c]);
                lists.extend_from_slice(list);
                at
            });
            previous = (list, at);
            cells.push(at);
        }
        index.distinct = seen.len();
        drop(seen);
        lists.shrink_to_fit();
        points.shrink_to_fit();
        assert!(lists.len() < u32::MAX as usize, "cell lists too long");
        index.cells = cells;
        index.lists = lists;
        index.points = points;
        index
    }

    /// Call `f(payload, hit)` for every polygon listed in the cell holding `p`, in the order the
    /// polygons were given, skipping those the local test finds `Outside`. Nothing outside the
    /// extent (where no closure reaches) and for a non-finite point.
    #[inline]
    pub fn locate(&self, p: Coord<f64>, mut f: impl FnMut(u32, Hit)) {
        // Written so that NaN fails every comparison and lands in the empty answer.
        if !(p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y)
            || self.cells.is_empty()
        {
            return;
        }
        let col = (((p.x - self.min.x) * self.inv) as usize).min(self.cols - 1);
        let row = (((p.y - self.min.y) * self.inv) as usize).min(self.rows - 1);
        // In bounds: cells has cols·rows entries whenever the extent is set, and each points at a
        // count followed by that many entries (with their edge words).
        let mut at = self.cells[row * self.cols + col] as usize;
        let count = self.lists[at];
        at += 1;
        for _ in 0..count {
            let e = self.lists[at];
            at += 1;
            if e & TEST == 0 {
                f(e >> 1, Hit::Known(Position::Inside));
                continue;
            }
            let flags = self.lists[at];
            let k = (flags >> EDGES_SHIFT) as usize;
            let ids = &self.lists[at + 1..at + 1 + k];
            at += 1 + k;
            let local = if flags & FULL_TEST == 0 {
                let c = self.centre(col, row);
                local_locate(&self.points, p, c, flags & CENTRE_INSIDE != 0, ids)
            } else {
                None
            };
            let hit = match local {
                Some(Position::Outside) => continue,
                Some(pos) => Hit::Known(pos),
                None => Hit::Unknown,
            };
            f(e >> 1, hit);
        }
    }

    /// The reference point of the cell holding `p` (the point the local test walks to), `None`
    /// outside the extent. For tests that aim at the degenerate cases of the local test.
    pub fn cell_centre(&self, p: Coord<f64>) -> Option<Coord<f64>> {
        if !(p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y)
            || self.cells.is_empty()
        {
            return None;
        }
        let col = (((p.x - self.min.x) * self.inv) as usize).min(self.cols - 1);
        let row = (((p.y - self.min.y) * self.inv) as usize).min(self.rows - 1);
        Some(self.centre(col, row))
    }

    /// Columns and rows.
    pub fn shape(&self) -> (usize, usize) {
        (self.cols, self.rows)
    }

    /// The side of a cell, in degrees.
    pub fn cell_size(&self) -> f64 {
        self.size
    }

    /// How many cell entries are crossed by their polygon's boundary, and how many in all (counted
    /// before the lists are shared).
    pub fn test_entries(&self) -> (usize, usize) {
        self.entries
    }

    /// How many distinct cell lists there are.
    pub fn distinct_lists(&self) -> usize {
        self.distinct
    }

    /// Heap memory held, in bytes.
    pub fn heap_bytes(&self) -> usize {
        (self.cells.capacity() + self.lists.capacity()) * std::mem::size_of::<u32>()
            + self.points.capacity() * std::mem::size_of::<Coord<f64>>()
    }

    /// The closed rectangle a cell is classified on: the cell enlarged by 1/64 of its side, which
    /// dwarfs the rounding in [`CellIndex::locate`] (relative 2⁻⁵⁰ of at most 2¹⁵ cells).
    fn rect(&self, col: usize, row: usize) -> (Coord<f64>, Coord<f64>) {
        let m = self.size / 64.0;
        (
            Coord {
                x: self.min.x + col as f64 * self.size - m,
                y: self.min.y + row as f64 * self.size - m,
            },
            Coord {
                x: self.min.x + (col + 1) as f64 * self.size + m,
                y: self.min.y + (row + 1) as f64 * self.size + m,
            },
        )
    }

    /// The reference point of a cell: the centre of its rectangle, computed the same way when the
    /// index is built and when it is read.
    #[inline]
    fn centre(&self, col: usize, row: usize) -> Coord<f64> {
        let (lo, hi) = self.rect(col, row);
        Coord {
            x: (lo.x + hi.x) / 2.0,
            y: (lo.y + hi.y) / 2.0,
        }
    }

    /// The range of columns (or rows) whose enlarged rectangles may meet `[lo, hi]`, with one
    /// cell of slack each side (the slack cells are classified exactly like the others).
    fn span(&self, lo: f64, hi: f64, origin: f64, count: usize) -> (usize, usize) {
        let a = ((lo - origin) * self.inv).floor() - 1.0;
        let b = ((hi - origin) * self.inv).floor() + 1.0;
        let clamp = |v: f64| (v.max(0.0) as usize).min(count - 1);
        (clamp(a), clamp(b))
    }

    /// The cells of one polygon: every cell its boundary meets gets `payload << 1 | TEST` with the
    /// centre's position and the edges (by position in the polygon, into the returned list) that
    /// meet the cell; every cell wholly in its interior `payload << 1`; cells outside its closure
    /// nothing.
    fn classify(&self, payload: u32, poly: &PreparedPolygon) -> (Vec<Raw>, Vec<u32>) {
        assert!(payload < 1 << 31, "cell payload {payload} does not fit");
        let Some(b) = poly.bbox() else {
            return (Vec::new(), Vec::new());
        };
        let (c0, c1) = self.span(b.min().x, b.max().x, self.min.x, self.cols);
        let (r0, r1) = self.span(b.min().y, b.max().y, self.min.y, self.rows);
        let nc = c1 - c0 + 1;
        // (cell within the box, edge) for every edge meeting a cell, in edge order.
        let mut crossings: Vec<(u32, u32)> = Vec::new();
        for (i, (a, c)) in poly.edges().enumerate() {
            let (ec0, ec1) = self.span(a.x.min(c.x), a.x.max(c.x), self.min.x, self.cols);
            let (er0, er1) = self.span(a.y.min(c.y), a.y.max(c.y), self.min.y, self.rows);
            for row in er0.max(r0)..=er1.min(r1) {
                for col in ec0.max(c0)..=ec1.min(c1) {
                    if segment_meets_rect(a, c, self.rect(col, row)) {
                        crossings.push((((row - r0) * nc + (col - c0)) as u32, i as u32));
                    }
                }
            }
        }
        // Stable: each cell's edges stay in edge order.
        crossings.sort_by_key(|&(cell, _)| cell);
        let mut next = crossings.iter().peekable();
        let mut out = Vec::new();
        let mut local = Vec::new();
        for row in r0..=r1 {
            // A run of cells that no edge meets is one connected, boundary-free set: one test
            // decides all of it.
            let mut run: Option<Option<u32>> = None;
            for col in c0..=c1 {
                let cell = (row * self.cols + col) as u32;
                let rel = ((row - r0) * nc + (col - c0)) as u32;
                let start = local.len() as u32;
                while let Some(&(_, e)) = next.next_if(|&&(c, _)| c == rel) {
                    local.push(e);
                }
                if local.len() as u32 > start {
                    run = None;
                    let flags = match poly.locate(self.centre(col, row)) {
                        Position::Inside => CENTRE_INSIDE,
                        Position::Outside => 0,
                        Position::OnBoundary => FULL_TEST,
                    };
                    let k = local.len() as u32 - start;
                    let (flags, edges) = if flags == FULL_TEST || k >= 1 << (32 - EDGES_SHIFT) {
                        local.truncate(start as usize);
                        (FULL_TEST, start..start)
                    } else {
                        (flags | k << EDGES_SHIFT, start..start + k)
                    };
                    out.push(Raw {
                        cell,
                        entry: payload << 1 | TEST,
                        flags,
                        edges,
                    });
                    continue;
                }
                let entry = *run.get_or_insert_with(|| {
                    let (lo, hi) = self.rect(col, row);
                    let centre = Coord {
                        x: (lo.x + hi.x) / 2.0,
                        y: (lo.y + hi.y) / 2.0,
                    };
                    match poly.locate(centre) {
                        Position::Inside => Some(payload << 1),
                        Position::Outside => None,
                        // Cannot happen (no edge meets the rectangle); "test" is the safe answer.
                        Position::OnBoundary => Some(payload << 1 | TEST),
                    }
                });
                if let Some(e) = entry {
                    let flags = if e & TEST != 0 { FULL_TEST } else { 0 };
                    out.push(Raw {
                        cell,
                        entry: e,
                        flags,
                        edges: 0..0,
                    });
                }
            }
        }
        (out, local)
    }
}

/// Where `p` lies relative to a polygon whose edges meeting `p`'s cell are `ids` (in the pool
/// `points`), given the position of the cell's centre `c` (not on the boundary); `None` when in
/// doubt. See the module documentation.
#[inline]
fn local_locate(
    points: &[Coord<f64>],
    p: Coord<f64>,
    c: Coord<f64>,
    c_inside: bool,
    ids: &[u32],
) -> Option<Position> {
    let (lo_x, hi_x) = (p.x.min(c.x), p.x.max(c.x));
    let (lo_y, hi_y) = (p.y.min(c.y), p.y.max(c.y));
    let mut inside = c_inside;
    for &id in ids {
        let (a, b) = (*points.get(id as usize)?, *points.get(id as usize + 1)?);
        let (ax, ay, bx, by) = (a.x, a.y, b.x, b.y);
        // The edge's box misses the segment's: no crossing, and p is not on the edge.
        if ax.max(bx) < lo_x || ax.min(bx) > hi_x || ay.max(by) < lo_y || ay.min(by) > hi_y {
            continue;
        }
        let op = RobustKernel::orient2d(a, b, p);
        if op == Orientation::Collinear
            && p.x >= ax.min(bx)
            && p.x <= ax.max(bx)
            && p.y >= ay.min(by)
            && p.y <= ay.max(by)
        {
            return Some(Position::OnBoundary);
        }
        let left = |q| RobustKernel::orient2d(p, c, q) != Orientation::Clockwise;
        if left(a) == left(b) {
            continue;
        }
        let oc = RobustKernel::orient2d(a, b, c);
        if op == Orientation::Collinear || oc == Orientation::Collinear {
            // Impossible for p off the edge and c off the boundary; let the full test decide.
            return None;
        }
        if op != oc {
            inside = !inside;
        }
    }
    Some(if inside {
        Position::Inside
    } else {
        Position::Outside
    })
}

/// Whether the segment `a`–`c` meets the closed rectangle `lo`–`hi`, exactly: two convex sets are
/// disjoint iff some axis separates them, and for a segment and an axis-aligned rectangle the
/// candidates are the two coordinate axes (a box test) and the segment's normal (all four corners
/// strictly on one side of its line, decided by the robust orientation predicate).
fn segment_meets_rect(a: Coord<f64>, c: Coord<f64>, (lo, hi): (Coord<f64>, Coord<f64>)) -> bool {
    if a.x.max(c.x) < lo.x || a.x.min(c.x) > hi.x || a.y.max(c.y) < lo.y || a.y.min(c.y) > hi.y {
        return false;
    }
    let corners = [
        lo,
        Coord { x: hi.x, y: lo.y },
        hi,
        Coord { x: lo.x, y: hi.y },
    ];
    let sides = corners.map(|q| RobustKernel::orient2d(a, c, q));
    let all = |o| sides.iter().all(|&s| s == o);
    !(all(Orientation::CounterClockwise) || all(Orientation::Clockwise))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, coord, polygon};

    fn hits(index: &CellIndex, polys: &[PreparedPolygon], p: Coord<f64>) -> Vec<(u32, Position)> {
        let mut out = Vec::new();
        index.locate(p, |id, hit| {
            let pos = match hit {
                Hit::Known(pos) => pos,
                Hit::Unknown => polys[id as usize].locate(p),
            };
            if pos != Position::Outside {
                out.push((id, pos));
            }
        });
        out
    }

    #[test]
    fn segment_and_rectangle() {
        let r = (coord!(x: 0., y: 0.), coord!(x: 1., y: 1.));
        assert!(segment_meets_rect(
            coord!(x: -1., y: 0.5),
            coord!(x: 2., y: 0.5),
            r
        ));
        assert!(segment_meets_rect(
            coord!(x: 1., y: 1.),
            coord!(x: 2., y: 2.),
            r
        ));
        assert!(!segment_meets_rect(
            coord!(x: 1.5, y: 0.),
            coord!(x: 3., y: 1.5),
            r
        ));
        assert!(!segment_meets_rect(
            coord!(x: 2., y: 0.),
            coord!(x: 2., y: 1.),
            r
        ));
        // The box test alone would say yes; the segment's normal separates them.
        assert!(!segment_meets_rect(
            coord!(x: 0.5, y: 1.6),
            coord!(x: 1.6, y: 0.5),
            r
        ));
    }

    proptest::proptest! {
        /// Every point gets, from the cells, the same positions as from testing every polygon.
        #[test]
        fn agrees_with_testing_every_polygon(x in -1.0f64..11.0, y in -1.0f64..11.0,
                                             snap in 0u8..4, cells in 1usize..400) {
            let shapes = [
                MultiPolygon(vec![polygon!(
                    exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 3.), (x: 7., y: 3.5),
                               (x: 10., y: 10.), (x: 3., y: 8.), (x: 0., y: 10.)],
                    interiors: [[(x: 2., y: 2.), (x: 4., y: 2.), (x: 3., y: 4.)]],
                )]),
                MultiPolygon(vec![
                    polygon![(x: 3., y: 3.), (x: 5., y: 3.), (x: 5., y: 5.), (x: 3., y: 5.)],
                    polygon![(x: 6., y: 6.), (x: 9., y: 6.), (x: 9., y: 9.)],
                ]),
            ];
            let polys: Vec<_> = shapes.iter().map(PreparedPolygon::new).collect();
            let items: Vec<_> = polys.iter().enumerate().map(|(i, p)| (i as u32, p)).collect();
            let index = CellIndex::new(&items, cells);
            // Snap to whole and half units: vertices, edges, and often cell borders.
            let p = match snap {
                0 => coord!(x: x, y: y),
                1 => coord!(x: x.round(), y: y.round()),
                2 => coord!(x: (x * 2.).round() / 2., y: y),
                _ => coord!(x: x, y: (y * 2.).round() / 2.),
            };
            let expected: Vec<_> = polys
                .iter()
                .enumerate()
                .map(|(i, poly)| (i as u32, poly.locate(p)))
                .filter(|h| h.1 != Position::Outside)
                .collect();
            proptest::prop_assert_eq!(hits(&index, &polys, p), expected);
        }
    }
}
