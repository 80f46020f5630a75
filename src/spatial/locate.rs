//! Exact point-in-polygon with the boundary reported, over a polygon prepared once.
//!
//! geo's `Contains` excludes the boundary and `Intersects` includes it, and neither says which
//! happened; a lookup must know, because a point on a shared edge lies in two grids and must be
//! given to one by a rule (see `lookup`). [`PreparedPolygon`] answers [`Position::Inside`],
//! [`Position::OnBoundary`] or [`Position::Outside`] with robust orientation predicates, so the
//! answer is exact for every representable input point.
//!
//! Written by hand because no maintained crate offers a prepared polygon with an exact
//! boundary-aware test: the edges are bucketed into horizontal stripes (the simplest form of the
//! edge index tidwall/tg describes), so a test visits only the edges whose y-range holds the point
//! instead of all of them.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Coord, MultiPolygon, Polygon, Rect};

/// Where a point lies relative to a polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Inside,
    /// On an edge or a vertex of any ring (exterior or hole).
    OnBoundary,
    Outside,
}

/// A (multi)polygon with its edges indexed for repeated point tests.
///
/// Laid out flat, because a city snapshot holds hundreds of thousands of these: the rings' vertices
/// in one slice (edge `k` runs from vertex `k` to `k + 1` within a ring, so an edge costs one
/// vertex, not two), and the stripes as one list of edge numbers with the start of each stripe
/// (instead of a vector per stripe, whose header and spare capacity cost more than its entries).
#[derive(Debug, Clone)]
pub struct PreparedPolygon {
    /// The vertices of every ring (exterior, then holes, polygon after polygon), each ring closed
    /// (its last vertex repeats its first).
    points: Box<[Coord<f64>]>,
    /// Where each ring starts in `points`, and the end of the last.
    rings: Box<[u32]>,
    bbox: Option<Rect<f64>>,
    /// Stripe `i` covers y in `[min_y + i·h, min_y + (i+1)·h]` and lists the edges meeting it:
    /// `stripe_edges[stripe_starts[i]..stripe_starts[i + 1]]`. Both empty without edges.
    stripe_starts: Box<[u32]>,
    stripe_edges: Box<[u32]>,
    stripe_height: f64,
}

/// About this many edges per stripe on average; more stripes cost memory, fewer cost time.
const EDGES_PER_STRIPE: usize = 4;

impl PreparedPolygon {
    pub fn new(polygons: &MultiPolygon<f64>) -> PreparedPolygon {
        let mut points = Vec::new();
        let mut rings = vec![0u32];
        for poly in polygons {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                if ring.0.len() >= 2 {
                    points.extend_from_slice(&ring.0);
                    rings.push(u32::try_from(points.len()).expect("fewer than 2³² vertices"));
                }
            }
        }
        let mut prepared = PreparedPolygon {
            points: points.into_boxed_slice(),
            rings: rings.into_boxed_slice(),
            bbox: geo::BoundingRect::bounding_rect(polygons),
            stripe_starts: Box::new([]),
            stripe_edges: Box::new([]),
            stripe_height: 1.0,
        };
        let edges: Vec<u32> = prepared.edge_numbers().collect();
        if let (Some(b), false) = (prepared.bbox, edges.is_empty()) {
            let n = (edges.len() / EDGES_PER_STRIPE).clamp(1, 1 << 16);
            let h = (b.height() / n as f64).max(f64::MIN_POSITIVE);
            let span = |k: u32| {
                let (a, c) = prepared.edge_at(k);
                stripe_of(a.y.min(c.y), b.min().y, h, n)..=stripe_of(a.y.max(c.y), b.min().y, h, n)
            };
            // A counting sort by stripe: the sizes, their running sums, then the entries.
            let mut starts = vec![0u32; n + 1];
            for &k in &edges {
                for s in span(k) {
                    starts[s + 1] += 1;
                }
            }
            for i in 0..n {
                starts[i + 1] += starts[i];
            }
            let mut fill = starts.clone();
            let mut list = vec![0u32; starts[n] as usize];
            for &k in &edges {
                for s in span(k) {
                    list[fill[s] as usize] = k;
                    fill[s] += 1;
                }
            }
            prepared.stripe_starts = starts.into_boxed_slice();
            prepared.stripe_edges = list.into_boxed_slice();
            prepared.stripe_height = h;
        }
        prepared
    }

    /// Prepare a single polygon.
    pub fn from_polygon(polygon: &Polygon<f64>) -> PreparedPolygon {
        PreparedPolygon::new(&MultiPolygon(vec![polygon.clone()]))
    }

    /// The numbers of the edges, without zero-length ones: `k` for the edge from vertex `k` to
    /// `k + 1` of a ring.
    fn edge_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.rings.windows(2).flat_map(move |r| {
            (r[0]..r[1] - 1)
                .filter(move |&k| self.points[k as usize] != self.points[k as usize + 1])
        })
    }

    #[inline]
    fn edge_at(&self, k: u32) -> (Coord<f64>, Coord<f64>) {
        (self.points[k as usize], self.points[k as usize + 1])
    }

    /// Every edge of every ring, as (start, end), without zero-length ones.
    pub fn edges(&self) -> impl Iterator<Item = (Coord<f64>, Coord<f64>)> + '_ {
        self.edge_numbers().map(|k| self.edge_at(k))
    }

    /// The bounding box, `None` for an empty polygon.
    pub fn bbox(&self) -> Option<Rect<f64>> {
        self.bbox
    }

    /// Heap memory held, in bytes (not counting the box this may live in).
    pub fn heap_bytes(&self) -> usize {
        self.points.len() * std::mem::size_of::<Coord<f64>>()
            + (self.rings.len() + self.stripe_starts.len() + self.stripe_edges.len())
                * std::mem::size_of::<u32>()
    }

    /// Where `p` lies: counts crossings of the ray from `p` towards +x with the half-open rule
    /// (an edge counts when one end is at or below `p.y` and the other above), which counts a
    /// vertex exactly once; any edge through `p` makes it [`Position::OnBoundary`].
    pub fn locate(&self, p: Coord<f64>) -> Position {
        let Some(b) = self.bbox else {
            return Position::Outside;
        };
        if !(p.x.is_finite() && p.y.is_finite())
            || p.x < b.min().x
            || p.x > b.max().x
            || p.y < b.min().y
            || p.y > b.max().y
        {
            return Position::Outside;
        }
        let Some(n) = self.stripe_starts.len().checked_sub(1).filter(|&n| n > 0) else {
            // No edge of non-zero length: nothing has an interior.
            return if self.points.contains(&p) {
                Position::OnBoundary
            } else {
                Position::Outside
            };
        };
        let s = stripe_of(p.y, b.min().y, self.stripe_height, n);
        let stripe =
            &self.stripe_edges[self.stripe_starts[s] as usize..self.stripe_starts[s + 1] as usize];
        let mut inside = false;
        for &k in stripe {
            let (a, c) = self.edge_at(k);
            if (a.y > p.y) == (c.y > p.y) {
                // Both ends on one side: no crossing, but p may lie on a horizontal edge.
                if a.y == p.y && c.y == p.y && p.x >= a.x.min(c.x) && p.x <= a.x.max(c.x) {
                    return Position::OnBoundary;
                }
                if a.y == p.y && a.x == p.x || c.y == p.y && c.x == p.x {
                    return Position::OnBoundary;
                }
                continue;
            }
            match RobustKernel::orient2d(a, c, p) {
                Orientation::Collinear => return Position::OnBoundary,
                // Upward edge with p on its left, or downward edge with p on its right: the ray
                // to +x crosses it.
                Orientation::CounterClockwise if c.y > a.y => inside = !inside,
                Orientation::Clockwise if a.y > c.y => inside = !inside,
                _ => {}
            }
        }
        if inside {
            Position::Inside
        } else {
            Position::Outside
        }
    }
}

fn stripe_of(y: f64, min_y: f64, h: f64, n: usize) -> usize {
    (((y - min_y) / h) as usize).min(n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Intersects, coord, polygon};

    fn square_with_hole() -> PreparedPolygon {
        PreparedPolygon::from_polygon(&polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 4., y: 4.), (x: 6., y: 4.), (x: 6., y: 6.), (x: 4., y: 6.)]],
        ))
    }

    #[test]
    fn inside_outside_and_hole() {
        let p = square_with_hole();
        assert_eq!(p.locate(coord!(x: 1., y: 1.)), Position::Inside);
        assert_eq!(p.locate(coord!(x: 5., y: 5.)), Position::Outside);
        assert_eq!(p.locate(coord!(x: 11., y: 5.)), Position::Outside);
        assert_eq!(p.locate(coord!(x: -1., y: 5.)), Position::Outside);
    }

    #[test]
    fn edges_and_vertices_are_boundary() {
        let p = square_with_hole();
        for c in [
            coord!(x: 0., y: 5.),
            coord!(x: 10., y: 10.),
            coord!(x: 5., y: 0.),
            coord!(x: 4., y: 5.),
            coord!(x: 6., y: 6.),
            coord!(x: 5., y: 4.),
        ] {
            assert_eq!(p.locate(c), Position::OnBoundary, "{c:?}");
        }
    }

    #[test]
    fn ray_through_a_vertex_counts_once() {
        // A diamond: the ray from (-1, 0) passes exactly through the vertices (0,0)…(2,0).
        let p = PreparedPolygon::from_polygon(&polygon![
            (x: 1., y: -1.), (x: 2., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)
        ]);
        assert_eq!(p.locate(coord!(x: 1., y: 0.)), Position::Inside);
        assert_eq!(p.locate(coord!(x: -1., y: 0.)), Position::Outside);
        assert_eq!(p.locate(coord!(x: 3., y: 0.)), Position::Outside);
    }

    #[test]
    fn multipolygon_parts_and_nan() {
        let mp = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)],
            polygon![(x: 5., y: 5.), (x: 6., y: 5.), (x: 6., y: 6.), (x: 5., y: 6.)],
        ]);
        let p = PreparedPolygon::new(&mp);
        assert_eq!(p.locate(coord!(x: 5.5, y: 5.5)), Position::Inside);
        assert_eq!(p.locate(coord!(x: 3., y: 3.)), Position::Outside);
        assert_eq!(p.locate(coord!(x: f64::NAN, y: 0.5)), Position::Outside);
        let empty = PreparedPolygon::new(&MultiPolygon(vec![]));
        assert_eq!(empty.locate(coord!(x: 0., y: 0.)), Position::Outside);
    }

    proptest::proptest! {
        /// Agrees with geo's own predicates on a ragged polygon: `Contains` for the interior,
        /// `Intersects` for the closure.
        #[test]
        fn agrees_with_geo(x in -1.0f64..11.0, y in -1.0f64..11.0) {
            let poly = polygon!(
                exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 3.), (x: 7., y: 3.5),
                           (x: 10., y: 10.), (x: 3., y: 8.), (x: 0., y: 10.)],
                interiors: [[(x: 2., y: 2.), (x: 4., y: 2.), (x: 3., y: 4.)]],
            );
            let prepared = PreparedPolygon::from_polygon(&poly);
            let pt = geo::Point::new(x, y);
            let expected = if poly.contains(&pt) {
                Position::Inside
            } else if poly.intersects(&pt) {
                Position::OnBoundary
            } else {
                Position::Outside
            };
            proptest::prop_assert_eq!(prepared.locate(pt.0), expected);
        }
    }
}
