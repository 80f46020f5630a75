//! A uniform cell grid over many prepared polygons: for a point, the short list of polygons whose
//! closure may hold it, each marked either as holding the whole cell in its interior (no test
//! needed) or as having its boundary cross the cell (the exact test of [`PreparedPolygon::locate`]
//! decides).
//!
//! Why: a lookup asks five layers at once. An R-tree per layer walks several nodes per layer and
//! then tests every polygon whose *box* holds the point, and boxes of neighbouring grids overlap a
//! lot. Here one multiplication finds the cell, and for most points every polygon listed in it is
//! marked "interior", so the lookup reads a handful of integers and tests no edge at all. This is
//! the idea of tidwall/tg's and geo's edge indexes taken one level up (over the whole snapshot
//! instead of inside one polygon); no crate offers it over a set of polygons with an exact,
//! boundary-aware answer, so it is written here.
//!
//! **Exactness.** A cell is marked interior only when it is proven so, by exact predicates: no edge
//! of the polygon meets the cell's closed rectangle (a separating-axis test whose only non-trivial
//! axis uses the robust `orient2d`), and one point of the rectangle is `Inside` by the exact test.
//! A rectangle is connected, so a rectangle that no boundary edge meets lies wholly in the interior
//! or wholly outside the closure. Every doubt leads to "test", which costs time, never a wrong
//! answer. The rectangles are enlarged by a margin of 1/64 cell, far more than the rounding of the
//! arithmetic that maps a point to its cell, so a point always lies in the rectangle its cell was
//! classified on.

use std::collections::HashMap;

use geo::Coord;
use geo::kernels::{Kernel, Orientation, RobustKernel};
use rayon::prelude::*;

use super::locate::{Position, PreparedPolygon};

/// Set on an entry when the polygon's boundary crosses the cell and the point must be tested.
pub const TEST: u32 = 1;

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
    /// Cell `c` (row-major) lists `lists[at + 1..=at + lists[at]]` where `at = cells[c]`.
    cells: Vec<u32>,
    /// Every distinct cell list once, as its length followed by its entries (`payload << 1 |
    /// TEST`-flag, in the order the polygons were given). Neighbouring cells mostly list the same
    /// polygons (the same grid, community and compound; the same two grids along a shared edge),
    /// so sharing the lists keeps them few enough to stay in the cache and makes a finer grid
    /// affordable: a cell costs four bytes.
    lists: Vec<u32>,
    /// Entries of all cells, and of those the exact test, before sharing (for the bench's
    /// report).
    entries: (usize, usize),
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
            cells: Vec::new(),
            lists: Vec::new(),
            entries: (0, 0),
        };
        // Each polygon on its own (in parallel): the cells it meets, as (cell, entry), in cell
        // order. Concatenated in the given order, then a stable counting sort by cell.
        let per_polygon: Vec<Vec<(u32, u32)>> = polygons
            .par_iter()
            .map(|&(payload, poly)| index.classify(payload, poly))
            .collect();
        let n = cols * rows;
        let mut starts = vec![0u32; n + 1];
        for &(cell, _) in per_polygon.iter().flatten() {
            starts[cell as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut entries = vec![0u32; starts[n] as usize];
        for &(cell, entry) in per_polygon.iter().flatten() {
            let slot = &mut fill[cell as usize];
            entries[*slot as usize] = entry;
            *slot += 1;
        }
        drop(per_polygon);
        let tests = entries.iter().filter(|&&e| e & TEST != 0).count();
        index.entries = (tests, entries.len());
        // The empty list first, at 0.
        let mut lists = vec![0u32];
        let mut seen: HashMap<&[u32], u32> = HashMap::new();
        seen.insert(&[], 0);
        let mut cells = Vec::with_capacity(n);
        let mut previous: (&[u32], u32) = (&[], 0);
        for c in 0..n {
            let list = &entries[starts[c] as usize..starts[c + 1] as usize];
            // Most cells list what their left neighbour lists: compare before hashing.
            if list == previous.0 {
                cells.push(previous.1);
                continue;
            }
            let at = *seen.entry(list).or_insert_with(|| {
                let at = lists.len() as u32;
                lists.push(list.len() as u32);
                lists.extend_from_slice(list);
                at
            });
            previous = (list, at);
            cells.push(at);
        }
        lists.shrink_to_fit();
        index.cells = cells;
        index.lists = lists;
        index
    }

    /// The entries (`payload << 1 | TEST`-flag) of the cell holding `p`; empty outside the
    /// extent (where no closure reaches) and for a non-finite point.
    #[inline]
    pub fn at(&self, p: Coord<f64>) -> &[u32] {
        // Written so that NaN fails every comparison and lands in the empty answer.
        if !(p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y)
            || self.cells.is_empty()
        {
            return &[];
        }
        let col = (((p.x - self.min.x) * self.inv) as usize).min(self.cols - 1);
        let row = (((p.y - self.min.y) * self.inv) as usize).min(self.rows - 1);
        // In bounds: cells has cols·rows entries whenever the extent is set, and each points at a
        // length followed by that many entries.
        let at = self.cells[row * self.cols + col] as usize;
        let len = self.lists[at] as usize;
        &self.lists[at + 1..at + 1 + len]
    }

    /// Columns and rows.
    pub fn shape(&self) -> (usize, usize) {
        (self.cols, self.rows)
    }

    /// The side of a cell, in degrees.
    pub fn cell_size(&self) -> f64 {
        self.size
    }

    /// How many cell entries need the exact test, and how many in all (counted before the lists
    /// are shared).
    pub fn test_entries(&self) -> (usize, usize) {
        self.entries
    }

    /// How many distinct cell lists there are.
    pub fn distinct_lists(&self) -> usize {
        let mut n = 0;
        let mut at = 0;
        while at < self.lists.len() {
            at += 1 + self.lists[at] as usize;
            n += 1;
        }
        n
    }

    /// Heap memory held, in bytes.
    pub fn heap_bytes(&self) -> usize {
        (self.cells.capacity() + self.lists.capacity()) * std::mem::size_of::<u32>()
    }

    /// The closed rectangle a cell is classified on: the cell enlarged by 1/64 of its side, which
    /// dwarfs the rounding in [`CellIndex::at`] (relative 2⁻⁵⁰ of at most 2¹⁵ cells).
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

    /// The range of columns (or rows) whose enlarged rectangles may meet `[lo, hi]`, with one
    /// cell of slack each side (the slack cells are classified exactly like the others).
    fn span(&self, lo: f64, hi: f64, origin: f64, count: usize) -> (usize, usize) {
        let a = ((lo - origin) * self.inv).floor() - 1.0;
        let b = ((hi - origin) * self.inv).floor() + 1.0;
        let clamp = |v: f64| (v.max(0.0) as usize).min(count - 1);
        (clamp(a), clamp(b))
    }

    /// The cells of one polygon: every cell its boundary meets gets `payload << 1 | TEST`, every
    /// cell wholly in its interior `payload << 1`; cells outside its closure nothing.
    fn classify(&self, payload: u32, poly: &PreparedPolygon) -> Vec<(u32, u32)> {
        assert!(payload < 1 << 31, "cell payload {payload} does not fit");
        let Some(b) = poly.bbox() else {
            return Vec::new();
        };
        let (c0, c1) = self.span(b.min().x, b.max().x, self.min.x, self.cols);
        let (r0, r1) = self.span(b.min().y, b.max().y, self.min.y, self.rows);
        let nc = c1 - c0 + 1;
        let mut crossed = vec![false; nc * (r1 - r0 + 1)];
        for (a, c) in poly.edges() {
            let (ec0, ec1) = self.span(a.x.min(c.x), a.x.max(c.x), self.min.x, self.cols);
            let (er0, er1) = self.span(a.y.min(c.y), a.y.max(c.y), self.min.y, self.rows);
            for row in er0.max(r0)..=er1.min(r1) {
                for col in ec0.max(c0)..=ec1.min(c1) {
                    let flag = &mut crossed[(row - r0) * nc + (col - c0)];
                    if !*flag && segment_meets_rect(a, c, self.rect(col, row)) {
                        *flag = true;
                    }
                }
            }
        }
        let mut out = Vec::new();
        for row in r0..=r1 {
            // A run of cells that no edge meets is one connected, boundary-free set: one test
            // decides all of it.
            let mut run: Option<Option<u32>> = None;
            for col in c0..=c1 {
                let cell = (row * self.cols + col) as u32;
                if crossed[(row - r0) * nc + (col - c0)] {
                    run = None;
                    out.push((cell, payload << 1 | TEST));
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
                    out.push((cell, e));
                }
            }
        }
        out
    }
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
        index
            .at(p)
            .iter()
            .map(|&e| {
                let id = e >> 1;
                let pos = if e & TEST == 0 {
                    Position::Inside
                } else {
                    polys[id as usize].locate(p)
                };
                (id, pos)
            })
            .filter(|h| h.1 != Position::Outside)
            .collect()
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
