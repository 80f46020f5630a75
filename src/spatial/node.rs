//! Noding neighbours: make polygons that share a boundary share its vertices, bit for bit.
//!
//! After an edit's boolean operations, neighbours' borders coincide only up to T-junctions: a
//! vertex of one lies on an edge of the other (within float rounding) without being a vertex of
//! it. Another tool, a later boolean operation or a stricter validator then sees hair-thin gaps
//! and overlaps. [`node`] inserts into every edge the other polygons' vertices that lie on it
//! (within a tolerance, given in metres), using their exact coordinates, so that both sides of a
//! shared border are the same sequence of vertices. geo has no noding of separate polygons (its
//! boolean operations node only their own inputs, on a grid of their own), so it is written here.

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Rect};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use crate::coverage::geom::LocalFrame;

/// A vertex in a local metric frame, with its exact longitude-latitude.
type Vertex = GeomWithData<[f64; 2], Coord<f64>>;

fn vertices(mp: &MultiPolygon<f64>, frame: &LocalFrame) -> Vec<Vertex> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter())
        .map(|&c| {
            let m = frame.to_local(c);
            GeomWithData::new([m.x, m.y], c)
        })
        .collect()
}

/// Insert into `ring` every vertex of `index` within `tol_m` of one of its edges (strictly between
/// the edge's ends); returns how many were inserted.
fn node_ring(
    ring: &mut LineString<f64>,
    index: &RTree<Vertex>,
    frame: &LocalFrame,
    tol_m: f64,
) -> usize {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
    let mut added = 0;
    for w in ring.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        out.push(a);
        let (ma, mb) = (frame.to_local(a), frame.to_local(b));
        let envelope = AABB::from_corners(
            [ma.x.min(mb.x) - tol_m, ma.y.min(mb.y) - tol_m],
            [ma.x.max(mb.x) + tol_m, ma.y.max(mb.y) + tol_m],
        );
        let (dx, dy) = (mb.x - ma.x, mb.y - ma.y);
        let len2 = dx * dx + dy * dy;
        if len2 == 0.0 {
            continue;
        }
        let mut on: Vec<(f64, Coord<f64>)> = index
            .locate_in_envelope(&envelope)
            .filter(|v| v.data != a && v.data != b)
            .filter_map(|v| {
                let p = v.geom();
                let t = ((p[0] - ma.x) * dx + (p[1] - ma.y) * dy) / len2;
                let (qx, qy) = (ma.x + t * dx, ma.y + t * dy);
                let d = (p[0] - qx).hypot(p[1] - qy);
                // Strictly inside the edge: an end within the tolerance is the same vertex, which
                // snapping (not noding) settles.
                let inside = t * len2.sqrt() > tol_m && (1.0 - t) * len2.sqrt() > tol_m;
                (d <= tol_m && inside).then_some((t, v.data))
            })
            .collect();
        on.sort_by(|x, y| x.0.total_cmp(&y.0));
        on.dedup_by(|x, y| x.1 == y.1);
        added += on.len();
        out.extend(on.into_iter().map(|(_, c)| c));
    }
    if let Some(&last) = ring.0.last() {
        out.push(last);
    }
    ring.0 = out;
    added
}

fn rect_meets(a: Option<Rect<f64>>, b: Option<Rect<f64>>, pad: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.min().x - pad <= b.max().x
                && b.min().x - pad <= a.max().x
                && a.min().y - pad <= b.max().y
                && b.min().y - pad <= a.max().y
        }
        _ => false,
    }
}

/// Node `shapes` against each other and against `fixed` (whose vertices are inserted into
/// `shapes` but which are not changed themselves): every vertex of one lying within `tol_m` of an
/// edge of another becomes a vertex of that edge. Returns the number of vertices inserted.
pub fn node(shapes: &mut [MultiPolygon<f64>], fixed: &[&MultiPolygon<f64>], tol_m: f64) -> usize {
    let Some(frame) = shapes.first().map(LocalFrame::around) else {
        return 0;
    };
    // About a metre in degrees, for the bounding-box test.
    let pad = tol_m / 100_000.0 + 1e-9;
    let boxes: Vec<Option<Rect<f64>>> = shapes.iter().map(|s| s.bounding_rect()).collect();
    let sources: Vec<(Option<Rect<f64>>, Vec<Vertex>)> = shapes
        .iter()
        .map(|s| s.bounding_rect())
        .zip(shapes.iter().map(|s| vertices(s, &frame)))
        .chain(
            fixed
                .iter()
                .map(|f| (f.bounding_rect(), vertices(f, &frame))),
        )
        .collect();
    let mut added = 0;
    for i in 0..shapes.len() {
        let near: Vec<Vertex> = sources
            .iter()
            .enumerate()
            .filter(|(j, (b, _))| *j != i && rect_meets(boxes[i], *b, pad))
            .flat_map(|(_, (_, v))| v.iter().cloned())
            .collect();
        if near.is_empty() {
            continue;
        }
        let index = RTree::bulk_load(near);
        for p in &mut shapes[i].0 {
            p.exterior_mut(|r| added += node_ring(r, &index, &frame, tol_m));
            p.interiors_mut(|rs| {
                for r in rs {
                    added += node_ring(r, &index, &frame, tol_m);
                }
            });
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Polygon, wkt};

    #[test]
    fn a_t_junction_becomes_a_shared_vertex() {
        // B's vertex (1, 0.5) lies on A's edge from (1, 0) to (1, 1).
        let a: Polygon<f64> = wkt!(POLYGON((0. 0., 0.001 0., 0.001 0.001, 0. 0.001, 0. 0.)));
        let b: Polygon<f64> =
            wkt!(POLYGON((0.001 0., 0.002 0., 0.002 0.001, 0.001 0.001, 0.001 0.0005, 0.001 0.)));
        let mut shapes = vec![MultiPolygon(vec![a]), MultiPolygon(vec![b])];
        assert_eq!(node(&mut shapes, &[], 0.001), 1);
        assert!(shapes[0].0[0].exterior().0.contains(&Coord {
            x: 0.001,
            y: 0.0005
        }));
        // Noding again adds nothing.
        assert_eq!(node(&mut shapes, &[], 0.001), 0);
    }
}
