//! Checks every geometry that enters the store, and says exactly what is wrong and where.
//!
//! Coordinates are WGS84/CGCS2000 longitude-latitude in degrees (x = longitude, y = latitude).
//! Two kinds of check:
//!
//! - **Raw checks** ([`check_position`], [`check_raw_ring`]) run on positions as a file holds them,
//!   before any conversion: `geo-types` closes open rings silently, so closure and ring length
//!   must be checked first.
//! - **Validity checks** ([`check_polygon`], [`check_multipolygon`], [`check_geometry`]) follow the
//!   OGC Simple Features rules that `geo::Validation` implements: rings are simple (no crossing, no
//!   self-touching, no spike), holes lie inside the exterior ring and touch it or each other at
//!   points only, and the polygons of a multipolygon neither overlap nor share an edge. Simple
//!   connectivity of the interior is not checked (nor is it by `geo`).
//!
//! `geo::Validation` (geo 0.33) compares every pair of ring edges, which takes seconds on a
//! 20,000-vertex boundary; the ring check here uses an R-tree over edge boxes instead and reports
//! the crossing point. Ring relations use `geo`'s `Relate`, as `geo::Validation` does. The unit tests
//! check that both agree on the degenerate cases.

use std::fmt;

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{
    BoundingRect, Coord, Geometry, Intersects, Line, MultiPolygon, Polygon, PreparedGeometry, Rect,
    Relate,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// Where a ring is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingAt {
    /// Ring `ring` of a polygon (0 is the exterior, 1… the holes), and the polygon's index when it
    /// is one of a multipolygon's.
    Ring { polygon: Option<usize>, ring: usize },
    /// Part `n` of a shapefile shape, before its parts are grouped into polygons.
    Part(usize),
}

impl RingAt {
    /// Ring `ring` of a plain polygon.
    pub fn of_polygon(ring: usize) -> RingAt {
        RingAt::Ring {
            polygon: None,
            ring,
        }
    }
}

impl fmt::Display for RingAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RingAt::Ring { polygon, ring } => {
                if let Some(p) = polygon {
                    write!(f, "polygon {p}, ")?;
                }
                if ring == 0 {
                    f.write_str("ring 0 (exterior)")
                } else {
                    write!(f, "ring {ring} (hole)")
                }
            }
            RingAt::Part(n) => write!(f, "part {n}"),
        }
    }
}

/// Where a position is: its ring (none for a point) and its index in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionAt {
    pub ring: Option<RingAt>,
    pub index: usize,
}

impl PositionAt {
    /// The position of a Point geometry.
    pub const POINT: PositionAt = PositionAt {
        ring: None,
        index: 0,
    };
}

impl fmt::Display for PositionAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ring {
            Some(ring) => write!(f, "{ring}, position {}", self.index),
            None => f.write_str("the point"),
        }
    }
}

/// A coordinate pair as `(x, y)` for messages, to 9 decimals (0.1 mm in degrees) so that a
/// computed crossing point reads `116.385`, not `116.38499999999999`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xy(pub Coord<f64>);

impl fmt::Display for Xy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", short(self.0.x), short(self.0.y))
    }
}

fn short(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Most vertices one feature may have. A community boundary digitised at a vertex per metre
/// has a few thousand; the bound keeps every geometric operation on one feature (validation,
/// shared borders, the coverage arrangement) within a fraction of a second, where an unbounded
/// outline could hold a request, or a report that meets it, for minutes.
pub const MAX_VERTICES: usize = 100_000;

/// What is wrong with a geometry, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryFault {
    #[error("the geometry is empty")]
    Empty,
    #[error("the geometry has {count} vertices; at most {max} are accepted (simplify it first)")]
    TooManyVertices { count: usize, max: usize },
    #[error("polygon {0} of the multipolygon is empty")]
    EmptyPart(usize),
    #[error("{at}: coordinate {} is not a finite number", Xy(*.coord))]
    NonFinite { at: PositionAt, coord: Coord<f64> },
    #[error(
        "{at}: coordinate ({:e}, {:e}) is too close to zero to compute with (write 0)",
        .coord.x, .coord.y
    )]
    NearZero { at: PositionAt, coord: Coord<f64> },
    #[error(
        "{at}: longitude {} is outside -180..180 (are the coordinates projected? gridmap stores longitude-latitude)",
        .coord.x
    )]
    LongitudeOutOfRange { at: PositionAt, coord: Coord<f64> },
    #[error("{at}: latitude {} is outside -90..90 (are longitude and latitude swapped?)", .coord.y)]
    LatitudeOutOfRange { at: PositionAt, coord: Coord<f64> },
    #[error(
        "{ring} has {count} positions; a ring needs at least 4 (3 corners and the first repeated at the end)"
    )]
    RingTooShort { ring: RingAt, count: usize },
    #[error("{ring} is not closed: it starts at {} but ends at {}", Xy(*.first), Xy(*.last))]
    RingNotClosed {
        ring: RingAt,
        first: Coord<f64>,
        last: Coord<f64>,
    },
    #[error("{ring} has only {distinct} distinct corners; a ring needs at least 3")]
    RingCollapsed { ring: RingAt, distinct: usize },
    #[error(
        "{ring} crosses or touches itself at {}: the edge from position {} to {} meets the edge from position {} to {}",
        Xy(*.at), .edges[0].0, .edges[0].1, .edges[1].0, .edges[1].1
    )]
    SelfIntersection {
        ring: RingAt,
        at: Coord<f64>,
        /// The two edges, each as (start, end) position indices in the ring.
        edges: [(usize, usize); 2],
    },
    #[error("{ring} doubles back on itself (a spike) at position {position} {}", Xy(*.at))]
    Spike {
        ring: RingAt,
        position: usize,
        at: Coord<f64>,
    },
    #[error("{hole} is not inside the exterior ring")]
    HoleOutsideShell { hole: RingAt },
    #[error("{a} and {b} touch along a line (rings may touch at single points only)")]
    RingsTouchAlongLine { a: RingAt, b: RingAt },
    #[error("{a} and {b} overlap")]
    HolesOverlap { a: RingAt, b: RingAt },
    #[error("polygons {a} and {b} of the multipolygon overlap")]
    PartsOverlap { a: usize, b: usize },
    #[error(
        "polygons {a} and {b} of the multipolygon share an edge (they may touch at single points only; merge them)"
    )]
    PartsTouchAlongLine { a: usize, b: usize },
}

/// The smallest magnitude a coordinate other than 0 may have. The predicates that check
/// validity multiply differences of coordinates; below about 1e-154 those products underflow and
/// geo's `relate` can panic. No real position is that close to 0 without being 0 (1e-100° is
/// 1e-95 m).
pub const MIN_MAGNITUDE: f64 = 1e-100;

/// Checks one position: both numbers finite and either 0 or at least [`MIN_MAGNITUDE`] in size,
/// longitude within ±180°, latitude within ±90°.
pub fn check_position(coord: Coord<f64>, at: PositionAt) -> Result<(), GeometryFault> {
    let near_zero = |v: f64| v != 0.0 && v.abs() < MIN_MAGNITUDE;
    if !coord.x.is_finite() || !coord.y.is_finite() {
        Err(GeometryFault::NonFinite { at, coord })
    } else if near_zero(coord.x) || near_zero(coord.y) {
        Err(GeometryFault::NearZero { at, coord })
    } else if !(-180.0..=180.0).contains(&coord.x) {
        Err(GeometryFault::LongitudeOutOfRange { at, coord })
    } else if !(-90.0..=90.0).contains(&coord.y) {
        Err(GeometryFault::LatitudeOutOfRange { at, coord })
    } else {
        Ok(())
    }
}

/// Checks a ring as the file holds it: every position valid, at least four positions, and the last
/// equal to the first.
pub fn check_raw_ring(ring: &[Coord<f64>], at: RingAt) -> Result<(), GeometryFault> {
    for (index, &c) in ring.iter().enumerate() {
        check_position(
            c,
            PositionAt {
                ring: Some(at),
                index,
            },
        )?;
    }
    if ring.len() < 4 {
        return Err(GeometryFault::RingTooShort {
            ring: at,
            count: ring.len(),
        });
    }
    match (ring.first(), ring.last()) {
        (Some(&first), Some(&last)) if first != last => Err(GeometryFault::RingNotClosed {
            ring: at,
            first,
            last,
        }),
        _ => Ok(()),
    }
}

/// Checks a polygon's validity: each ring has three distinct corners and is simple, holes lie inside
/// the exterior and touch it and each other at points only. `polygon` is its index in a
/// multipolygon, for messages. Positions are not range-checked here (see [`check_geometry`]).
pub fn check_polygon(polygon: &Polygon<f64>, index: Option<usize>) -> Result<(), GeometryFault> {
    let at = |ring| RingAt::Ring {
        polygon: index,
        ring,
    };
    for (i, ring) in std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .enumerate()
    {
        check_ring_is_simple(&ring.0, at(i))?;
    }
    if polygon.interiors().is_empty() {
        return Ok(());
    }
    let shell = Polygon::new(polygon.exterior().clone(), vec![]);
    let shell = PreparedGeometry::from(&shell);
    let holes: Vec<Polygon<f64>> = polygon
        .interiors()
        .iter()
        .map(|h| Polygon::new(h.clone(), vec![]))
        .collect();
    for (k, hole) in holes.iter().enumerate() {
        let m = shell.relate(hole);
        if !m.is_contains() {
            return Err(GeometryFault::HoleOutsideShell { hole: at(k + 1) });
        }
        if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            return Err(GeometryFault::RingsTouchAlongLine {
                a: at(0),
                b: at(k + 1),
            });
        }
    }
    for_overlapping_pairs(&holes, |a, b| {
        let m = holes[a].relate(&holes[b]);
        if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
            Err(GeometryFault::HolesOverlap {
                a: at(a + 1),
                b: at(b + 1),
            })
        } else if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            Err(GeometryFault::RingsTouchAlongLine {
                a: at(a + 1),
                b: at(b + 1),
            })
        } else {
            Ok(())
        }
    })
}

/// Checks a multipolygon's validity: it has polygons, each is valid, and no two overlap or share
/// an edge.
pub fn check_multipolygon(mp: &MultiPolygon<f64>) -> Result<(), GeometryFault> {
    check_size(mp)?;
    check_parts_not_empty(mp)?;
    for (i, p) in mp.0.iter().enumerate() {
        check_polygon(p, Some(i))?;
    }
    for_overlapping_pairs(&mp.0, |a, b| {
        let m = mp.0[a].relate(&mp.0[b]);
        if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
            Err(GeometryFault::PartsOverlap { a, b })
        } else if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            Err(GeometryFault::PartsTouchAlongLine { a, b })
        } else {
            Ok(())
        }
    })
}

/// Checks any geometry already in `geo-types` form (an edit from the API, a converted file): not
/// empty, every position valid, every ring at least four positions, and OGC-valid. Rings are
/// assumed closed (`geo-types` closes them); check raw input with [`check_raw_ring`] first.
///
/// ```
/// use gridmap::spatial::validate::{check_geometry, GeometryFault};
/// let bow_tie = geo::wkt!(POLYGON((0. 0., 2. 2., 2. 0., 0. 2., 0. 0.)));
/// let fault = check_geometry(&bow_tie.into()).unwrap_err();
/// assert!(matches!(fault, GeometryFault::SelfIntersection { .. }));
/// assert!(fault.to_string().contains("crosses or touches itself at (1, 1)"));
/// ```
pub fn check_geometry(geometry: &Geometry<f64>) -> Result<(), GeometryFault> {
    check_size(geometry)?;
    match geometry {
        Geometry::Point(p) => check_position(p.0, PositionAt::POINT),
        Geometry::Polygon(p) => {
            if p.exterior().0.is_empty() {
                return Err(GeometryFault::Empty);
            }
            check_polygon_rings(p, None)?;
            check_polygon(p, None)
        }
        Geometry::MultiPolygon(mp) => {
            check_parts_not_empty(mp)?;
            for (i, p) in mp.0.iter().enumerate() {
                check_polygon_rings(p, Some(i))?;
            }
            check_multipolygon(mp)
        }
        other => {
            let mut empty = true;
            for (index, c) in geo::CoordsIter::coords_iter(other).enumerate() {
                empty = false;
                check_position(c, PositionAt { ring: None, index })?;
            }
            if empty {
                Err(GeometryFault::Empty)
            } else {
                Ok(())
            }
        }
    }
}

/// At most [`MAX_VERTICES`], counted before anything else is done with the geometry.
fn check_size(geometry: &impl geo::CoordsIter<Scalar = f64>) -> Result<(), GeometryFault> {
    check_vertex_count(geometry.coords_count())
}

/// At most [`MAX_VERTICES`] positions (for raw input, counted before it is converted).
pub fn check_vertex_count(count: usize) -> Result<(), GeometryFault> {
    if count > MAX_VERTICES {
        return Err(GeometryFault::TooManyVertices {
            count,
            max: MAX_VERTICES,
        });
    }
    Ok(())
}

/// A multipolygon has polygons, and each has an exterior ring.
fn check_parts_not_empty(mp: &MultiPolygon<f64>) -> Result<(), GeometryFault> {
    if mp.0.is_empty() {
        return Err(GeometryFault::Empty);
    }
    match mp.0.iter().position(|p| p.exterior().0.is_empty()) {
        Some(i) => Err(GeometryFault::EmptyPart(i)),
        None => Ok(()),
    }
}

/// The raw checks on each ring of a `geo-types` polygon.
fn check_polygon_rings(p: &Polygon<f64>, polygon: Option<usize>) -> Result<(), GeometryFault> {
    for (ring, ls) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        check_raw_ring(&ls.0, RingAt::Ring { polygon, ring })?;
    }
    Ok(())
}

/// Calls `check(a, b)` for each pair `a < b` whose bounding boxes meet, in order.
fn for_overlapping_pairs<T>(
    items: &[T],
    mut check: impl FnMut(usize, usize) -> Result<(), GeometryFault>,
) -> Result<(), GeometryFault>
where
    T: BoundingRect<f64, Output = Option<Rect<f64>>>,
{
    let boxes: Vec<Option<Rect<f64>>> = items.iter().map(|g| g.bounding_rect()).collect();
    for a in 0..items.len() {
        for b in a + 1..items.len() {
            if let (Some(ra), Some(rb)) = (boxes[a], boxes[b])
                && ra.intersects(&rb)
            {
                check(a, b)?;
            }
        }
    }
    Ok(())
}

/// Below this many edges a ring is checked pair by pair; above, through an R-tree of edge boxes.
const INDEX_FROM_EDGES: usize = 32;

/// Checks that a closed ring has three distinct corners and is simple: edges meet only their
/// neighbours, and only at their shared corner. Repeated consecutive positions are allowed.
fn check_ring_is_simple(ring: &[Coord<f64>], at: RingAt) -> Result<(), GeometryFault> {
    // Corners without consecutive repeats, each with its position index in the ring.
    let mut corners: Vec<(usize, Coord<f64>)> = Vec::with_capacity(ring.len());
    for (i, &c) in ring.iter().enumerate() {
        if corners.last().is_none_or(|&(_, last)| last != c) {
            corners.push((i, c));
        }
    }
    if let (Some(&(_, first)), Some(&(_, last))) = (corners.first(), corners.last())
        && corners.len() > 1
        && first == last
    {
        corners.pop();
    }
    if corners.len() < 3 {
        return Err(GeometryFault::RingCollapsed {
            ring: at,
            distinct: corners.len(),
        });
    }
    let n = corners.len();
    // Edge i runs from corner i to corner (i + 1) % n.
    let edge = |i: usize| Line::new(corners[i].1, corners[(i + 1) % n].1);
    let ends = |i: usize| (corners[i].0, corners[(i + 1) % n].0);
    let check_pair = |i: usize, j: usize| -> Result<(), GeometryFault> {
        let Some(meet) = line_intersection(edge(i), edge(j)) else {
            return Ok(());
        };
        // i < j: neighbours are (i, i + 1) sharing corner j, and (0, n - 1) sharing corner 0.
        let shared = if j == i + 1 {
            Some(j)
        } else if i == 0 && j == n - 1 {
            Some(0)
        } else {
            None
        };
        match (shared, meet) {
            (Some(_), LineIntersection::SinglePoint { .. }) => Ok(()),
            (Some(c), LineIntersection::Collinear { .. }) => Err(GeometryFault::Spike {
                ring: at,
                position: corners[c].0,
                at: corners[c].1,
            }),
            (None, meet) => Err(GeometryFault::SelfIntersection {
                ring: at,
                at: match meet {
                    LineIntersection::SinglePoint { intersection, .. } => intersection,
                    LineIntersection::Collinear { intersection } => intersection.start,
                },
                edges: [ends(i), ends(j)],
            }),
        }
    };
    // Neighbours first, so that a spike is named as such rather than as the crossing it also makes.
    for i in 0..n {
        let (a, b) = if i + 1 < n { (i, i + 1) } else { (0, n - 1) };
        check_pair(a, b)?;
    }
    if n <= INDEX_FROM_EDGES {
        for i in 0..n {
            for j in i + 1..n {
                check_pair(i, j)?;
            }
        }
        return Ok(());
    }
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = (0..n)
        .map(|i| {
            let e = edge(i);
            GeomWithData::new(
                Rectangle::from_corners([e.start.x, e.start.y], [e.end.x, e.end.y]),
                i,
            )
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    let mut near = Vec::new();
    for i in 0..n {
        let e = edge(i);
        let envelope = AABB::from_corners([e.start.x, e.start.y], [e.end.x, e.end.y]);
        near.clear();
        near.extend(
            tree.locate_in_envelope_intersecting(&envelope)
                .map(|g| g.data)
                .filter(|&j| j > i),
        );
        near.sort_unstable();
        for &j in &near {
            check_pair(i, j)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Validation, wkt};

    fn ring(xy: &[(f64, f64)]) -> LineString<f64> {
        xy.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    fn fault(g: impl Into<Geometry<f64>>) -> GeometryFault {
        let g = g.into();
        match check_geometry(&g) {
            Err(f) => f,
            Ok(()) => panic!("expected a fault for {g:?}"),
        }
    }

    /// Our verdict agrees with `geo::Validation` (on geometries small enough for its pair scan).
    fn agrees_with_geo(g: impl Into<Geometry<f64>>) -> bool {
        let g = g.into();
        let ours = check_geometry(&g).is_ok();
        assert_eq!(ours, g.is_valid(), "ours and geo disagree on {g:?}");
        ours
    }

    #[test]
    fn valid_polygon_multipolygon_and_point() {
        assert!(agrees_with_geo(
            wkt!(POLYGON((0. 0., 1. 0., 1. 1., 0. 1., 0. 0.)))
        ));
        assert!(agrees_with_geo(wkt!(MULTIPOLYGON(
            ((0. 0., 1. 0., 1. 1., 0. 0.)),
            ((2. 0., 3. 0., 3. 1., 2. 0.))
        ))));
        assert!(agrees_with_geo(wkt!(POINT(116.4 39.9))));
    }

    #[test]
    fn empty_geometries_are_refused() {
        assert_eq!(
            fault(Polygon::<f64>::new(ring(&[]), vec![])),
            GeometryFault::Empty
        );
        assert_eq!(fault(MultiPolygon::<f64>(vec![])), GeometryFault::Empty);
        let with_empty_part = MultiPolygon(vec![
            wkt!(POLYGON((0. 0., 1. 0., 1. 1., 0. 0.))),
            Polygon::new(ring(&[]), vec![]),
        ]);
        assert_eq!(fault(with_empty_part), GeometryFault::EmptyPart(1));
    }

    #[test]
    fn hole_touching_the_shell_at_one_point_is_valid() {
        assert!(agrees_with_geo(wkt!(POLYGON(
            (0. 0., 4. 0., 4. 4., 0. 4., 0. 0.),
            (0. 2., 2. 1., 3. 2., 2. 3., 0. 2.)
        ))));
    }

    #[test]
    fn bow_tie_is_invalid_and_says_where() {
        let f = fault(wkt!(POLYGON((0. 0., 2. 2., 2. 0., 0. 2., 0. 0.))));
        assert!(!agrees_with_geo(
            wkt!(POLYGON((0. 0., 2. 2., 2. 0., 0. 2., 0. 0.)))
        ));
        assert_eq!(
            f.to_string(),
            "ring 0 (exterior) crosses or touches itself at (1, 1): the edge from position 0 to 1 meets the edge from position 2 to 3"
        );
    }

    #[test]
    fn spike_is_invalid() {
        // Out to (3 1) and straight back along the same line.
        let spiked = wkt!(POLYGON((0. 0., 2. 0., 2. 1., 3. 1., 2. 1., 2. 2., 0. 2., 0. 0.)));
        assert!(!agrees_with_geo(spiked.clone()));
        let f = fault(spiked);
        assert!(matches!(
            f,
            GeometryFault::SelfIntersection { .. } | GeometryFault::Spike { .. }
        ));
        // A spike whose two edges are the only ones meeting: caught as a fold at its tip.
        let tip = wkt!(POLYGON((0. 0., 2. 0., 4. 0., 2. 0., 2. 2., 0. 0.)));
        assert!(!agrees_with_geo(tip.clone()));
        assert_eq!(
            fault(tip).to_string(),
            "ring 0 (exterior) doubles back on itself (a spike) at position 2 (4, 0)"
        );
    }

    #[test]
    fn collinear_ring_is_invalid() {
        // geo 0.33 passes this zero-area triangle (its scan skips neighbouring edges); GEOS
        // (PostGIS `ST_IsValidReason`) says "Self-intersection[1 0]", and so do we.
        let flat = wkt!(POLYGON((0. 0., 1. 0., 2. 0., 0. 0.)));
        assert!(flat.is_valid());
        assert!(matches!(
            fault(flat),
            GeometryFault::Spike { position: 2, .. }
        ));
    }

    #[test]
    fn duplicate_consecutive_points_are_fine() {
        assert!(agrees_with_geo(wkt!(POLYGON((
            0. 0., 0. 0., 1. 0., 1. 0., 1. 1., 0. 1., 0. 1., 0. 0., 0. 0.
        )))));
    }

    #[test]
    fn ring_with_too_few_distinct_corners_is_collapsed() {
        let f = fault(wkt!(POLYGON((0. 0., 1. 1., 1. 1., 0. 0.))));
        assert_eq!(
            f,
            GeometryFault::RingCollapsed {
                ring: RingAt::of_polygon(0),
                distinct: 2
            }
        );
    }

    #[test]
    fn raw_ring_must_be_closed_and_long_enough() {
        let open = ring(&[(0., 0.), (1., 0.), (1., 1.), (0., 1.)]);
        let f = check_raw_ring(&open.0, RingAt::of_polygon(0)).unwrap_err();
        assert_eq!(
            f.to_string(),
            "ring 0 (exterior) is not closed: it starts at (0, 0) but ends at (0, 1)"
        );
        let short = ring(&[(0., 0.), (1., 0.), (0., 0.)]);
        let f = check_raw_ring(
            &short.0,
            RingAt::Ring {
                polygon: Some(2),
                ring: 1,
            },
        )
        .unwrap_err();
        assert!(
            f.to_string()
                .starts_with("polygon 2, ring 1 (hole) has 3 positions")
        );
    }

    #[test]
    fn positions_out_of_range_or_not_finite() {
        let at = PositionAt::POINT;
        assert!(check_position(Coord { x: 180., y: -90. }, at).is_ok());
        let f = check_position(
            Coord {
                x: 500000.,
                y: 3800000.,
            },
            at,
        )
        .unwrap_err();
        assert!(
            f.to_string()
                .contains("longitude 500000 is outside -180..180")
        );
        let f = check_position(Coord { x: 116., y: 91. }, at).unwrap_err();
        assert!(f.to_string().contains("latitude 91 is outside -90..90"));
        let f = check_position(Coord { x: f64::NAN, y: 1. }, at).unwrap_err();
        assert_eq!(
            f.to_string(),
            "the point: coordinate (NaN, 1) is not a finite number"
        );
        let f = check_position(
            Coord {
                x: 1.,
                y: f64::INFINITY,
            },
            PositionAt {
                ring: Some(RingAt::Part(3)),
                index: 7,
            },
        )
        .unwrap_err();
        assert!(
            f.to_string()
                .starts_with("part 3, position 7: coordinate (1, inf)")
        );
    }

    #[test]
    fn coordinates_too_close_to_zero_are_refused() {
        // A sliver 5e-79° wide whose hole reaches far past it: geo's relate computed with
        // products that underflow and panicked ("topology position conflict"), found by
        // fuzz/tile_clip.
        let polygon = Polygon::new(
            LineString::from(vec![
                (0.0, 85.043_540_945_656_55),
                (-5.344_687_647_454_282e-79, -5.344_404_531_786_861_4e-79),
                (-5.344_687_647_454_282e-79, 3.621_175_41e-315),
            ]),
            vec![LineString::from(vec![
                (-56.953_125, 88.152_073_483_097_64),
                (9.690_037_356_431_25e-296, 2e-323),
                (-5.344_687_647_454_282e-79, 1.086_461_844_995_5e-311),
            ])],
        );
        let fault = check_geometry(&polygon.into()).unwrap_err();
        assert_eq!(
            fault.to_string(),
            "ring 0 (exterior), position 2: coordinate (-5.344687647454282e-79, 3.62117541e-315) \
             is too close to zero to compute with (write 0)"
        );
        for fine in [0.0, -0.0, 1e-100, -1e-100, 5e-79] {
            assert!(check_position(Coord { x: fine, y: fine }, PositionAt::POINT).is_ok());
        }
    }

    #[test]
    fn hole_outside_or_crossing_the_shell() {
        let outside = wkt!(POLYGON(
            (0. 0., 4. 0., 4. 4., 0. 4., 0. 0.),
            (5. 5., 6. 5., 6. 6., 5. 5.)
        ));
        assert!(!agrees_with_geo(outside.clone()));
        assert_eq!(
            fault(outside).to_string(),
            "ring 1 (hole) is not inside the exterior ring"
        );
        let along_edge = wkt!(POLYGON(
            (0. 0., 4. 0., 4. 4., 0. 4., 0. 0.),
            (0. 1., 1. 1., 1. 2., 0. 2., 0. 1.)
        ));
        assert!(!agrees_with_geo(along_edge.clone()));
        assert!(matches!(
            fault(along_edge),
            GeometryFault::RingsTouchAlongLine { .. }
        ));
    }

    #[test]
    fn overlapping_holes() {
        let p = wkt!(POLYGON(
            (0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),
            (1. 1., 5. 1., 5. 5., 1. 5., 1. 1.),
            (3. 3., 7. 3., 7. 7., 3. 7., 3. 3.)
        ));
        assert!(!agrees_with_geo(p.clone()));
        assert_eq!(
            fault(p).to_string(),
            "ring 1 (hole) and ring 2 (hole) overlap"
        );
    }

    #[test]
    fn multipolygon_parts_must_not_overlap_or_share_an_edge() {
        let overlap = wkt!(MULTIPOLYGON(
            ((0. 0., 2. 0., 2. 2., 0. 2., 0. 0.)),
            ((1. 1., 3. 1., 3. 3., 1. 3., 1. 1.))
        ));
        assert!(!agrees_with_geo(overlap.clone()));
        assert_eq!(fault(overlap), GeometryFault::PartsOverlap { a: 0, b: 1 });
        let shared_edge = wkt!(MULTIPOLYGON(
            ((0. 0., 1. 0., 1. 1., 0. 1., 0. 0.)),
            ((1. 0., 2. 0., 2. 1., 1. 1., 1. 0.))
        ));
        assert!(!agrees_with_geo(shared_edge.clone()));
        assert_eq!(
            fault(shared_edge),
            GeometryFault::PartsTouchAlongLine { a: 0, b: 1 }
        );
        let corner = wkt!(MULTIPOLYGON(
            ((0. 0., 1. 0., 1. 1., 0. 1., 0. 0.)),
            ((1. 1., 2. 1., 2. 2., 1. 2., 1. 1.))
        ));
        assert!(agrees_with_geo(corner));
    }

    #[test]
    fn inverted_hole_touching_itself_is_invalid() {
        // The exterior touches itself at (2 0): OGC wants that as a hole, not a pinched shell.
        let pinched = wkt!(POLYGON((0. 0., 2. 0., 3. 1., 2. 0., 4. 0., 4. 4., 0. 4., 0. 0.)));
        assert!(!agrees_with_geo(pinched.clone()));
        let pinched2 =
            wkt!(POLYGON((0. 0., 2. 0., 3. 1., 1. 1., 2. 0., 4. 0., 4. 4., 0. 4., 0. 0.)));
        assert!(!agrees_with_geo(pinched2.clone()));
        assert!(matches!(
            fault(pinched2),
            GeometryFault::SelfIntersection { .. }
        ));
    }

    /// A circle of `n` corners around (cx, cy), optionally with a figure-eight twist.
    #[test]
    fn too_many_vertices_are_refused_before_anything_else() {
        let ring = circle(MAX_VERTICES + 10, false);
        let p = Polygon::new(ring, vec![]);
        let fault = check_geometry(&p.clone().into()).unwrap_err();
        assert_eq!(
            fault,
            GeometryFault::TooManyVertices {
                count: MAX_VERTICES + 11,
                max: MAX_VERTICES
            }
        );
        assert!(fault.to_string().contains("at most 100000"), "{fault}");
        assert!(check_multipolygon(&MultiPolygon(vec![p])).is_err());
        // At the limit it is checked as usual.
        assert!(
            check_geometry(&Polygon::new(circle(MAX_VERTICES - 1, false), vec![]).into()).is_ok()
        );
    }

    fn circle(n: usize, twist: bool) -> LineString<f64> {
        let mut c: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                (116. + 0.01 * a.cos(), 39. + 0.01 * a.sin())
            })
            .collect();
        if twist {
            c.swap(n / 4, 3 * n / 4);
        }
        c.push(c[0]);
        ring(&c)
    }

    #[test]
    fn large_rings_use_the_index_and_agree_with_the_pair_scan() {
        assert!(check_geometry(&Polygon::new(circle(5000, false), vec![]).into()).is_ok());
        let twisted = Polygon::new(circle(200, true), vec![]);
        assert!(!agrees_with_geo(twisted.clone()));
        assert!(matches!(
            fault(twisted),
            GeometryFault::SelfIntersection { .. }
        ));
    }
}
