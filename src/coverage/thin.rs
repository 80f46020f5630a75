//! Cheap, certain upper bounds on the width of a thin piece.
//!
//! Two neighbours digitised apart leave hundreds of slivers per community: long, straight-ish
//! pieces a few centimetres to half a metre wide. The inscribed-circle search costs one cell per
//! few millimetres of such a piece's length (it cannot know the width barely changes), which
//! made the report on a messy subdistrict 150× slower than on a clean one. These bounds cost a
//! few microseconds, and on straight slivers they are the width:
//!
//! - the **hull width**: no circle wider than the convex hull's smallest width fits;
//! - the **chord width**: across the direction of that smallest width, the longest chord of the
//!   piece. A circle inside the piece lies across the chord through its centre, so its diameter
//!   is at most that chord; chords change linearly between the piece's vertices, so the longest
//!   is found at a vertex. For a sliver along a straight shared edge it is the inscribed
//!   circle's diameter to well under a millimetre.
//!
//! Hand-written: geo's `MinimumRotatedRect` minimises area, not width, in O(n²), and no crate
//! measures chords.

use geo::{ConvexHull, Coord, Polygon};

use super::geom::{LocalFrame, signed_distance};

/// Pieces with more vertices than this skip the chord measure (it is quadratic); they are the
/// large pieces that the search measures anyway.
const CHORD_MAX_VERTICES: usize = 256;

/// The bounds of one piece.
#[derive(Debug, Clone, Copy)]
pub struct Thin {
    /// The convex hull's smallest width (m).
    pub hull_width_m: f64,
    /// The longest chord across that direction (m); infinite when not measured.
    pub chord_width_m: f64,
    /// Where the piece is widest (longitude-latitude): the centre of the circle below.
    pub label: Coord<f64>,
    /// The width of a circle that fits near that chord: the inscribed circle's diameter lies
    /// between this and `chord_width_m`.
    pub lower_width_m: f64,
}

/// The hull's smallest width and its direction (a unit vector along the hull edge it is measured
/// from), by rotating calipers: each hull edge with its farthest vertex, the far pointer only ever
/// advancing.
fn hull_width(points: &[Coord<f64>]) -> (f64, Coord<f64>) {
    let hull = geo::LineString(points.to_vec()).convex_hull();
    let h = &hull.exterior().0;
    let n = h.len().saturating_sub(1);
    let mut best = (0.0, Coord { x: 1.0, y: 0.0 });
    if n < 3 {
        return best;
    }
    best.0 = f64::INFINITY;
    let mut j = 1;
    for i in 0..n {
        let (a, b) = (h[i], h[i + 1]);
        let len = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let dist =
            |p: Coord<f64>| ((b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)).abs() / len;
        for _ in 0..n {
            if dist(h[(j + 1) % n]) > dist(h[j]) {
                j = (j + 1) % n;
            } else {
                break;
            }
        }
        let d = dist(h[j]);
        if d < best.0 {
            best = (
                d,
                Coord {
                    x: (b.x - a.x) / len,
                    y: (b.y - a.y) / len,
                },
            );
        }
    }
    if best.0.is_finite() {
        best
    } else {
        (0.0, best.1)
    }
}

/// The longest chord (interval) of the rings on the vertical line at `x`: its length and middle.
fn longest_at(rings: &[Vec<Coord<f64>>], x: f64, ys: &mut Vec<f64>) -> Option<(f64, Coord<f64>)> {
    ys.clear();
    for r in rings {
        for w in r.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.x <= x) != (b.x <= x) {
                ys.push(a.y + (x - a.x) * (b.y - a.y) / (b.x - a.x));
            }
        }
    }
    ys.sort_by(f64::total_cmp);
    ys.chunks_exact(2)
        .map(|p| {
            (
                p[1] - p[0],
                Coord {
                    x,
                    y: (p[0] + p[1]) / 2.0,
                },
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Across `u` (rings in local metres, each closed): the longest chord, and the width of a circle
/// that fits near it (twice the clearance of the best of its middle and the middles of the chords
/// half its length to either side: at the end of a strip or the wide end of a wedge the longest
/// chord lies on the boundary, and a circle that wide sits half a width inwards). Both with the
/// circle's centre.
fn chord(rings: &[Vec<Coord<f64>>], u: Coord<f64>) -> (f64, f64, Coord<f64>) {
    // Rotate so that `u` is the x axis: chords are vertical.
    let rot = |c: Coord<f64>| Coord {
        x: c.x * u.x + c.y * u.y,
        y: -c.x * u.y + c.y * u.x,
    };
    let rings: Vec<Vec<Coord<f64>>> = rings
        .iter()
        .map(|r| r.iter().map(|&c| rot(c)).collect())
        .collect();
    let mut xs: Vec<f64> = rings.iter().flatten().map(|c| c.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (lo, hi) = (xs[0], xs[xs.len() - 1]);
    // Just either side of each vertex: the chords' limits there, without the degenerate cases of
    // a line through a vertex.
    let eps = ((hi - lo) * 1e-9).max(1e-9);
    let mut ys: Vec<f64> = Vec::new();
    let mut best = (0.0, Coord { x: lo, y: 0.0 });
    for x in xs.iter().flat_map(|&x| [x - eps, x + eps]) {
        if x <= lo || x >= hi {
            continue;
        }
        if let Some(c) = longest_at(&rings, x, &mut ys)
            && c.0 > best.0
        {
            best = c;
        }
    }
    let (len, at) = best;
    let mut fit = (0.0, at);
    for x in [at.x, at.x - len / 2.0, at.x + len / 2.0] {
        if let Some((_, mid)) = longest_at(&rings, x.clamp(lo, hi), &mut ys) {
            let w = 2.0 * signed_distance(mid, &rings).abs();
            if w > fit.0 {
                fit = (w, mid);
            }
        }
    }
    let c = fit.1;
    // Back from the rotated frame.
    (
        len,
        fit.0,
        Coord {
            x: c.x * u.x - c.y * u.y,
            y: c.x * u.y + c.y * u.x,
        },
    )
}

/// The bounds of a piece (WGS84 in, metres out).
pub fn measure(poly: &Polygon<f64>) -> Thin {
    let frame = LocalFrame::around(poly);
    let rings: Vec<Vec<Coord<f64>>> = std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .map(|r| frame.ring(r))
        .collect();
    let (hull_width_m, u) = hull_width(&rings[0]);
    let vertices: usize = rings.iter().map(Vec::len).sum();
    let (chord_width_m, lower_width_m, middle) = if rings[0].len() < 4 {
        (0.0, 0.0, Coord { x: 0.0, y: 0.0 })
    } else if vertices <= CHORD_MAX_VERTICES {
        chord(&rings, u)
    } else {
        (f64::INFINITY, 0.0, Coord { x: 0.0, y: 0.0 })
    };
    Thin {
        hull_width_m,
        chord_width_m: chord_width_m.min(hull_width_m),
        label: frame.to_lonlat(middle),
        lower_width_m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::geom::{reaches, width_m};
    use geo::LineString;

    fn poly(points: &[(f64, f64)]) -> Polygon<f64> {
        let f = LocalFrame::new(Coord { x: 113.6, y: 34.7 });
        let mut ring: Vec<Coord<f64>> = points
            .iter()
            .map(|&(x, y)| f.to_lonlat(Coord { x, y }))
            .collect();
        ring.push(ring[0]);
        Polygon::new(LineString(ring), vec![])
    }

    #[test]
    fn a_strip_and_a_square() {
        let strip = measure(&poly(&[(0., 0.), (300., 0.), (300., 0.4), (0., 0.4)]));
        assert!((strip.hull_width_m - 0.4).abs() < 1e-6, "{strip:?}");
        assert!((strip.chord_width_m - 0.4).abs() < 1e-6, "{strip:?}");
        assert!((strip.lower_width_m - 0.4).abs() < 1e-6, "{strip:?}");
        let square = measure(&poly(&[(0., 0.), (50., 0.), (50., 20.), (0., 20.)]));
        assert!((square.hull_width_m - 20.0).abs() < 1e-6, "{square:?}");
    }

    #[test]
    fn chords_of_a_slanted_lens_match_the_inscribed_circle() {
        // Two noisy copies of one 120 m edge at 30°, crossing at both ends, 0.31 m apart at most.
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let along = |t: f64, off: f64| (t * c - off * s, t * s + off * c);
        let lens = poly(&[
            along(0., 0.),
            along(50., -0.12),
            along(120., 0.),
            along(70., 0.19),
        ]);
        let thin = measure(&lens);
        let exact = width_m(&lens);
        assert!(thin.chord_width_m >= exact - 1e-3, "{thin:?} {exact}");
        assert!(thin.chord_width_m - exact < 0.005, "{thin:?} {exact}");
    }

    #[test]
    fn an_l_is_bounded_but_not_measured_by_its_hull() {
        let l = poly(&[
            (0., 0.),
            (40., 0.),
            (40., 0.3),
            (0.3, 0.3),
            (0.3, 40.),
            (0., 40.),
        ]);
        let thin = measure(&l);
        assert!(thin.hull_width_m > 20.0);
        // Across the arm the chord is long: the bound says nothing, the search decides.
        assert!(thin.chord_width_m >= width_m(&l));
        let corner = 0.3 * 2f64.sqrt() / (1.0 + 2f64.sqrt());
        assert!(
            (width_m(&l) - 2.0 * corner).abs() < 0.002,
            "{}",
            width_m(&l)
        );
        assert!(!reaches(&l, corner + 0.001) && reaches(&l, corner - 0.001));
    }
}
