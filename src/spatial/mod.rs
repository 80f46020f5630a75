//! Pure geometry over `geo-types` in WGS84 longitude-latitude: validation, geodesic measures.
//! Nothing here knows of HTTP, SQL or files.

pub mod cells;
pub mod crs;
pub mod locate;
pub mod node;
pub mod normalise;
pub mod validate;

use geo::Coord;

/// The point of the segment `a`–`b` nearest to `p`, in the plane (a hand-written projection:
/// geo's `ClosestPoint` works on `Point`/`Line` values and reports the kind of hit, which the
/// callers in snapping and the inscribed-circle search do not need).
pub fn closest_on_segment(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Coord {
        x: a.x + t * dx,
        y: a.y + t * dy,
    }
}
