//! Geometry helpers of the coverage report, all in WGS84 longitude-latitude in and metres out:
//! geodesic areas (m², on the WGS84 ellipsoid), the width of a piece (twice the radius of its
//! largest inscribed circle, in metres) and the length of border two polygons share (metres).
//!
//! Widths and shared borders are measured in a local tangent frame (east/north metres around
//! the piece), which is exact to well under 0.1% over the few kilometres of a community; areas
//! are geodesic because they are the report's headline figures.

use geo::{BoundingRect, Coord, GeodesicArea, Geometry, LineString, MultiPolygon, Polygon};

use crate::spatial::normalise::{is_oriented, oriented};

/// WGS84 semi-major axis and first eccentricity squared.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 0.006_694_379_990_141_317;

/// The polygons of an areal geometry, wound as RFC 7946 asks (exterior rings counter-clockwise,
/// holes clockwise) whatever the stored winding; `None` for points and lines.
///
/// Every boolean operation of the report and of edits takes its polygons from here: geo's
/// `unary_union` chooses its fill rule from the first ring's winding and drops polygons wound the
/// other way, so a store holding either winding (written before import normalised, or by another
/// tool) must still give the same answers.
pub fn areal(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    let mp = match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => mp.clone(),
        Geometry::Rect(r) => MultiPolygon(vec![r.to_polygon()]),
        _ => return None,
    };
    Some(if is_oriented(&mp) { mp } else { oriented(&mp) })
}

/// Geodesic area in m² on the WGS84 ellipsoid; holes subtracted, orientation ignored.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(polygon_area_m2).fold(0.0, |a, b| a + b)
}

/// Geodesic area of one polygon in m²: each ring measured on its own, so that rings of any
/// orientation give the same answer (geo's polygon area expects holes wound against the shell).
pub fn polygon_area_m2(p: &Polygon<f64>) -> f64 {
    let ring = |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).geodesic_area_signed().abs();
    let holes: f64 = p.interiors().iter().map(ring).fold(0.0, |a, b| a + b);
    (ring(p.exterior()) - holes).max(0.0)
}

/// Area in m² in a plane tangent at the polygon (its [`LocalFrame`]): far cheaper than the
/// geodesic area and well within 1e-4 of it for a piece a few hundred metres across.
pub fn local_area_m2(p: &Polygon<f64>) -> f64 {
    let Some(rect) = p.bounding_rect() else {
        return 0.0;
    };
    let o = rect.center();
    let frame = LocalFrame::new(o);
    // Shoelace about the centre (keeps the products small): the frame is linear, so the
    // area in square degrees times its scale is the area in the frame.
    let ring = |r: &LineString<f64>| {
        let twice: f64 = r
            .lines()
            .map(|l| (l.start.x - o.x) * (l.end.y - o.y) - (l.end.x - o.x) * (l.start.y - o.y))
            .sum();
        twice.abs() / 2.0
    };
    let holes: f64 = p.interiors().iter().map(ring).fold(0.0, |a, b| a + b);
    ((ring(p.exterior()) - holes) * frame.area_scale()).max(0.0)
}

/// A local east/north frame in metres around an origin (WGS84 radii of curvature there).
#[derive(Debug, Clone, Copy)]
pub struct LocalFrame {
    origin: Coord<f64>,
    /// Metres per degree east and north.
    mx: f64,
    my: f64,
}

impl LocalFrame {
    pub fn new(origin: Coord<f64>) -> LocalFrame {
        let phi = origin.y.to_radians();
        let w = (1.0 - WGS84_E2 * phi.sin().powi(2)).sqrt();
        let n = WGS84_A / w;
        let m = WGS84_A * (1.0 - WGS84_E2) / (w * w * w);
        LocalFrame {
            origin,
            mx: n * phi.cos() * std::f64::consts::PI / 180.0,
            my: m * std::f64::consts::PI / 180.0,
        }
    }

    /// A frame centred on the bounding box of `g` (the origin when it is empty).
    pub fn around(g: &impl BoundingRect<f64, Output = Option<geo::Rect<f64>>>) -> LocalFrame {
        let c = g
            .bounding_rect()
            .map_or(Coord { x: 0.0, y: 0.0 }, |r| r.center());
        LocalFrame::new(c)
    }

    /// Square metres per square degree of longitude and latitude (the frame is linear).
    pub fn area_scale(&self) -> f64 {
        self.mx * self.my
    }

    /// Longitude-latitude → metres east and north of the origin.
    pub fn to_local(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.origin.x) * self.mx,
            y: (c.y - self.origin.y) * self.my,
        }
    }

    /// Metres east and north of the origin → longitude-latitude.
    pub fn to_lonlat(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.origin.x + c.x / self.mx,
            y: self.origin.y + c.y / self.my,
        }
    }

    pub fn ring(&self, ring: &LineString<f64>) -> Vec<Coord<f64>> {
        ring.0.iter().map(|&c| self.to_local(c)).collect()
    }
}

/// Distance in the plane from `p` to the segment `a`–`b`.
fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let q = crate::spatial::closest_on_segment(p, a, b);
    ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
}

/// Signed distance from `p` to the boundary of the rings (first the exterior): positive inside.
pub(crate) fn signed_distance(p: Coord<f64>, rings: &[Vec<Coord<f64>>]) -> f64 {
    let mut inside = false;
    let mut best = f64::INFINITY;
    for ring in rings {
        for w in ring.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
                inside = !inside;
            }
            best = best.min(segment_distance(p, a, b));
        }
    }
    if inside { best } else { -best }
}

/// The largest inscribed circle of a polygon: its centre (longitude-latitude) and radius in
/// metres, found by the polylabel search (Mapbox's pole of inaccessibility: a priority queue of
/// square cells, split while a cell could still hold a better centre) to within `precision_m`,
/// or, when that is 0, to 1/2000 of the piece's smaller side (at least 1 mm): a width within
/// 0.1% whatever the size, without chasing millimetres across a large gap.
pub fn inscribed_circle(poly: &Polygon<f64>, precision_m: f64) -> (Coord<f64>, f64) {
    let frame = LocalFrame::around(poly);
    let rings: Vec<Vec<Coord<f64>>> = std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .map(|r| frame.ring(r))
        .collect();
    let Some(bbox) = LineString(rings[0].clone()).bounding_rect() else {
        return (Coord { x: 0.0, y: 0.0 }, 0.0);
    };
    let cell_size = bbox.width().min(bbox.height());
    if cell_size.is_nan() || cell_size <= 0.0 {
        return (frame.to_lonlat(bbox.center()), 0.0);
    }
    let precision_m = if precision_m > 0.0 {
        precision_m
    } else {
        (cell_size / 2000.0).max(0.001)
    };
    #[derive(PartialEq)]
    struct Cell {
        c: Coord<f64>,
        h: f64,
        d: f64,
        max: f64,
    }
    impl Eq for Cell {}
    impl PartialOrd for Cell {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Cell {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.max.total_cmp(&o.max)
        }
    }
    let cell = |c: Coord<f64>, h: f64| {
        let d = signed_distance(c, &rings);
        Cell {
            c,
            h,
            d,
            max: d + h * std::f64::consts::SQRT_2,
        }
    };
    let mut queue = std::collections::BinaryHeap::new();
    // At most about 10,000 starting cells: a hair-thin sliver (micrometres wide, kilometres
    // long, as boolean operations on neighbours can leave) would otherwise start with billions
    // of cells and exhaust memory. Larger cells are split by the search as needed.
    let cell_size = cell_size.max(bbox.width().max(bbox.height()) / 10_000.0);
    let h = cell_size / 2.0;
    let mut x = bbox.min().x;
    while x < bbox.max().x {
        let mut y = bbox.min().y;
        while y < bbox.max().y {
            queue.push(cell(Coord { x: x + h, y: y + h }, h));
            y += cell_size;
        }
        x += cell_size;
    }
    let mut best = cell(bbox.center(), 0.0);
    // The centroid of the exterior's vertices is often a good first guess for convex pieces.
    let n = rings[0].len().max(1) as f64;
    let mean = rings[0]
        .iter()
        .fold(Coord { x: 0.0, y: 0.0 }, |s, c| Coord {
            x: s.x + c.x / n,
            y: s.y + c.y / n,
        });
    let guess = cell(mean, 0.0);
    if guess.d > best.d {
        best = guess;
    }
    // A bound on the work for pathological shapes; the answer is then still a lower bound.
    let mut budget = 50_000usize;
    while let Some(c) = queue.pop() {
        if c.d > best.d {
            best = Cell { max: c.d, ..c };
        }
        if c.max - best.d <= precision_m || budget == 0 {
            continue;
        }
        budget = budget.saturating_sub(4);
        let h = c.h / 2.0;
        for (dx, dy) in [(-h, -h), (h, -h), (-h, h), (h, h)] {
            queue.push(cell(
                Coord {
                    x: c.c.x + dx,
                    y: c.c.y + dy,
                },
                h,
            ));
        }
    }
    (frame.to_lonlat(best.c), best.d.max(0.0))
}

/// Does the polygon hold a circle of `radius_m`? It does when eroding it by that radius (an
/// inward buffer with round joins: the points at least that far from its boundary, computed in
/// metres by geo's `Buffer` on i_overlay) leaves anything. A sliver is told from a fault in one
/// offset, where the cell search would chase it along its whole length. A radius within about
/// a tenth of a millimetre of the answer may go either way (the round joins are polylines).
pub fn reaches(poly: &Polygon<f64>, radius_m: f64) -> bool {
    use geo::{Area, Buffer};
    if radius_m <= 0.0 {
        return true;
    }
    let frame = LocalFrame::around(poly);
    let local = Polygon::new(
        LineString(frame.ring(poly.exterior())),
        poly.interiors()
            .iter()
            .map(|r| LineString(frame.ring(r)))
            .collect(),
    );
    local.buffer(-radius_m).unsigned_area() > 1e-12
}

/// Width of a polygon in metres: twice the radius of its largest inscribed circle.
pub fn width_m(poly: &Polygon<f64>) -> f64 {
    2.0 * inscribed_circle(poly, 0.0).1
}

/// Length in metres of the boundary of `piece` that lies on the boundary of `other` (within
/// `tolerance_m`): each edge of `piece` counts when its midpoint and both ends are that close to
/// an edge of `other`. Boolean operations move shared vertices by rounding, so exact equality of
/// edges cannot be asked for.
pub fn shared_border_m(piece: &Polygon<f64>, other: &MultiPolygon<f64>, tolerance_m: f64) -> f64 {
    use rstar::primitives::Line;
    use rstar::{PointDistance, RTree};
    let frame = LocalFrame::around(piece);
    let local = |c: Coord<f64>| {
        let l = frame.to_local(c);
        [l.x, l.y]
    };
    // The other's edges in an R-tree: each of the piece's points asks only the edges near it
    // (comparing every edge with every edge took seconds at ten thousand vertices).
    let other_edges: RTree<Line<[f64; 2]>> = RTree::bulk_load(
        other
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.lines())
            .map(|l| Line::new(local(l.start), local(l.end)))
            .collect(),
    );
    let squared = tolerance_m * tolerance_m;
    let near = |p: [f64; 2]| {
        other_edges
            .locate_within_distance(p, squared)
            .any(|e| e.distance_2(&p) <= squared)
    };
    std::iter::once(piece.exterior())
        .chain(piece.interiors())
        .flat_map(|r| r.lines())
        .map(|l| (local(l.start), local(l.end)))
        .filter(|&(a, b)| {
            let mid = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
            near(mid) && near(a) && near(b)
        })
        .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
        .sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::polygon;

    /// A rectangle `w` × `h` metres at 34.7°N, in longitude-latitude.
    pub(crate) fn rect_m(x0: f64, y0: f64, w: f64, h: f64) -> Polygon<f64> {
        let f = LocalFrame::new(Coord { x: 113.6, y: 34.7 });
        let c = |x: f64, y: f64| f.to_lonlat(Coord { x, y });
        Polygon::new(
            LineString(vec![
                c(x0, y0),
                c(x0 + w, y0),
                c(x0 + w, y0 + h),
                c(x0, y0 + h),
                c(x0, y0),
            ]),
            vec![],
        )
    }

    #[test]
    fn geodesic_area_of_a_100m_square() {
        let a = polygon_area_m2(&rect_m(0., 0., 100., 100.));
        assert!((a - 10_000.0).abs() < 5.0, "{a}");
    }

    #[test]
    fn local_and_geodesic_areas_agree() {
        let p = rect_m(0., 0., 300., 0.4);
        let (a, b) = (local_area_m2(&p), polygon_area_m2(&p));
        assert!((a - b).abs() < 1e-4 * b, "{a} {b}");
    }

    #[test]
    fn holes_of_either_orientation_are_subtracted() {
        let outer = rect_m(0., 0., 100., 100.);
        let hole = rect_m(40., 40., 20., 20.);
        for h in [hole.exterior().clone(), {
            let mut r = hole.exterior().clone();
            r.0.reverse();
            r
        }] {
            let p = Polygon::new(outer.exterior().clone(), vec![h]);
            let a = polygon_area_m2(&p);
            assert!((a - 9_600.0).abs() < 5.0, "{a}");
        }
    }

    #[test]
    fn width_is_the_short_side_of_a_rectangle() {
        let w = width_m(&rect_m(0., 0., 300., 0.4));
        assert!((w - 0.4).abs() < 0.02, "{w}");
        let w = width_m(&rect_m(0., 0., 50., 20.));
        assert!((w - 20.0).abs() < 0.05, "{w}");
    }

    #[test]
    fn width_of_degenerate_polygons_is_zero() {
        let flat = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 2., y: 0.), (x: 0., y: 0.)];
        assert_eq!(width_m(&flat), 0.0);
        let empty = Polygon::new(LineString(vec![]), vec![]);
        assert_eq!(width_m(&empty), 0.0);
    }

    #[test]
    fn shared_border_of_neighbours() {
        let a = rect_m(0., 0., 100., 50.);
        let b = MultiPolygon(vec![rect_m(100., 0., 80., 50.)]);
        let s = shared_border_m(&a, &b, 0.05);
        assert!((s - 50.0).abs() < 0.1, "{s}");
        let far = MultiPolygon(vec![rect_m(300., 0., 80., 50.)]);
        assert_eq!(shared_border_m(&a, &far, 0.05), 0.0);
    }
}
