//! Polygons as gridmap keeps them: RFC 7946 winding (exterior rings counter-clockwise, holes
//! clockwise) and no repeated consecutive positions.
//!
//! Files arrive in every winding (ArcGIS writes shapefile shells clockwise; many GeoJSON writers
//! ignore RFC 7946) and with repeated vertices (double clicks while digitising). Every algorithm of
//! gridmap is meant to be orientation-free (the coverage report and edits orient their own copies,
//! tiles orient for MVT, point tests count crossings), but geo's `unary_union` picks its fill rule
//! from the first ring's winding and counts a differently wound polygon as nothing, so one wrongly
//! wound ring anywhere is a silent error. Import and edits therefore normalise on the way in and
//! say how much they changed ([`Normalised`]); `--strict` import refuses instead.

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use utoipa::ToSchema;

/// What normalising changed, and what the geometry holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Normalised {
    /// Rings whose winding was reversed (shells wound clockwise, holes counter-clockwise).
    pub rings_reoriented: usize,
    /// Repeated consecutive positions dropped.
    pub repeated_vertices_dropped: usize,
    /// Features of more than one polygon.
    pub multipart_features: usize,
    /// Polygons in all (a polygon feature counts one).
    pub parts: usize,
    pub holes: usize,
}

impl Normalised {
    /// Whether anything was changed (as opposed to merely counted).
    pub fn changed(&self) -> bool {
        self.rings_reoriented > 0 || self.repeated_vertices_dropped > 0
    }

    pub fn add(&mut self, o: &Normalised) {
        self.rings_reoriented += o.rings_reoriented;
        self.repeated_vertices_dropped += o.repeated_vertices_dropped;
        self.multipart_features += o.multipart_features;
        self.parts += o.parts;
        self.holes += o.holes;
    }
}

/// Twice the signed planar area of a closed ring (positive when counter-clockwise), with the
/// coordinates taken relative to the first, so that large longitudes lose no precision.
pub fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    let Some(&o) = ring.first() else {
        return 0.0;
    };
    ring.windows(2)
        .map(|w| {
            let (a, b) = (w[0] - o, w[1] - o);
            a.x * b.y - b.x * a.y
        })
        .sum()
}

/// Drop repeated consecutive positions; `true` when the ring is wound counter-clockwise.
fn clean_ring(ring: &mut LineString<f64>, n: &mut Normalised) -> bool {
    let before = ring.0.len();
    ring.0.dedup();
    n.repeated_vertices_dropped += before - ring.0.len();
    signed_area2(&ring.0) > 0.0
}

fn normalise_polygon(p: &mut Polygon<f64>, n: &mut Normalised) {
    n.parts += 1;
    n.holes += p.interiors().len();
    p.exterior_mut(|r| {
        if !clean_ring(r, n) {
            r.0.reverse();
            n.rings_reoriented += 1;
        }
    });
    p.interiors_mut(|holes| {
        for r in holes {
            if clean_ring(r, n) {
                r.0.reverse();
                n.rings_reoriented += 1;
            }
        }
    });
}

/// Normalise a geometry in place (points and other types are left as they are).
pub fn normalise(g: &mut Geometry<f64>) -> Normalised {
    let mut n = Normalised::default();
    match g {
        Geometry::Polygon(p) => normalise_polygon(p, &mut n),
        Geometry::MultiPolygon(mp) => {
            if mp.0.len() > 1 {
                n.multipart_features = 1;
            }
            for p in &mut mp.0 {
                normalise_polygon(p, &mut n);
            }
        }
        _ => {}
    }
    n
}

/// A copy of `mp` wound as RFC 7946 asks, for algorithms whose answer depends on winding.
pub fn oriented(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let mut g = Geometry::MultiPolygon(mp.clone());
    normalise(&mut g);
    match g {
        Geometry::MultiPolygon(mp) => mp,
        _ => MultiPolygon(vec![]),
    }
}

/// Whether every ring of `mp` is already wound as RFC 7946 asks (so no copy is needed).
pub fn is_oriented(mp: &MultiPolygon<f64>) -> bool {
    mp.0.iter().all(|p| {
        signed_area2(&p.exterior().0) > 0.0
            && p.interiors().iter().all(|h| signed_area2(&h.0) < 0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::wkt;

    #[test]
    fn clockwise_shells_and_counter_clockwise_holes_are_turned_and_repeats_dropped() {
        // Shell clockwise with a repeated vertex, hole counter-clockwise.
        let mut g: Geometry<f64> = wkt!(POLYGON(
            (0. 0., 0. 10., 0. 10., 10. 10., 10. 0., 0. 0.),
            (2. 2., 4. 2., 4. 4., 2. 4., 2. 2.)
        ))
        .into();
        let n = normalise(&mut g);
        assert_eq!(n.rings_reoriented, 2);
        assert_eq!(n.repeated_vertices_dropped, 1);
        assert_eq!((n.parts, n.holes, n.multipart_features), (1, 1, 0));
        let Geometry::Polygon(p) = &g else { panic!() };
        assert!(signed_area2(&p.exterior().0) > 0.0);
        assert!(signed_area2(&p.interiors()[0].0) < 0.0);
        assert_eq!(p.exterior().0.len(), 5);
        // Normalising again changes nothing.
        assert!(!normalise(&mut g).changed());
    }

    #[test]
    fn multipolygons_are_counted() {
        let mut g: Geometry<f64> =
            wkt!(MULTIPOLYGON(((0. 0., 1. 0., 1. 1., 0. 0.)), ((5. 5., 5. 6., 6. 6., 5. 5.))))
                .into();
        let n = normalise(&mut g);
        assert_eq!(
            (n.parts, n.multipart_features, n.rings_reoriented),
            (2, 1, 1)
        );
        let Geometry::MultiPolygon(mp) = &g else {
            panic!()
        };
        assert!(is_oriented(mp));
    }
}
