//! Which parts border a piece, and along how much.
//!
//! The edges of a container and of its parts go into one R-tree in local metres, so each edge of
//! a piece finds the boundaries it lies on in O(log n), instead of comparing every edge with
//! every edge (which made one sliver cost as much as a whole grid's outline). The gap finder
//! names a gap's neighbours with it, and the sliver grouping names the two sides of a sliver.

use geo::{Coord, MultiPolygon, Polygon};
use rstar::primitives::{GeomWithData, Line};
use rstar::{PointDistance, RTree};

use super::geom::LocalFrame;

/// The owner of the container's own edges.
pub const BOUNDARY: usize = usize::MAX;

type Edge = GeomWithData<Line<[f64; 2]>, usize>;

/// The edges of a container and its parts, by owner (the part's index, or [`BOUNDARY`]).
pub struct EdgeIndex {
    frame: LocalFrame,
    tree: RTree<Edge>,
}

fn rings(mp: &MultiPolygon<f64>) -> impl Iterator<Item = &geo::LineString<f64>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
}

impl EdgeIndex {
    pub fn new(container: &MultiPolygon<f64>, parts: &[&MultiPolygon<f64>]) -> EdgeIndex {
        let frame = LocalFrame::around(container);
        let local = |c: Coord<f64>| {
            let l = frame.to_local(c);
            [l.x, l.y]
        };
        let owned = std::iter::once((BOUNDARY, container))
            .chain(parts.iter().enumerate().map(|(i, p)| (i, *p)));
        let edges: Vec<Edge> = owned
            .flat_map(|(owner, mp)| {
                rings(mp).flat_map(move |r| {
                    r.lines().map(move |l| {
                        GeomWithData::new(Line::new(local(l.start), local(l.end)), owner)
                    })
                })
            })
            .collect();
        EdgeIndex {
            frame,
            tree: RTree::bulk_load(edges),
        }
    }

    /// Length in metres of the boundary of `piece` lying on each owner's boundary (within
    /// `tolerance_m`), longest first, ties by owner. Each edge of the piece is sampled at the
    /// middles of equal steps of at most a metre (`max_steps` at most per edge), and each step
    /// counts for the owner of the nearest edge when that is close enough: boolean operations
    /// round vertices and merge collinear edges, so a piece's edge can run along two neighbours'
    /// edges at once; and where a sliver narrows to a point both its sides are within the
    /// tolerance, so only the nearest may count or its length would be counted twice.
    pub fn borders(
        &self,
        piece: &Polygon<f64>,
        tolerance_m: f64,
        max_steps: usize,
    ) -> Vec<(usize, f64)> {
        let mut lengths: Vec<(usize, f64)> = Vec::new();
        let piece_rings = std::iter::once(piece.exterior()).chain(piece.interiors());
        for l in piece_rings.flat_map(|r| r.lines()) {
            let (a, b) = (self.frame.to_local(l.start), self.frame.to_local(l.end));
            let len = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
            if len == 0.0 {
                continue;
            }
            let steps = len.ceil().clamp(1.0, max_steps.max(1) as f64);
            for k in 0..steps as usize {
                let t = (k as f64 + 0.5) / steps;
                let p = [a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)];
                // Only edges within the tolerance matter: a bounded search, with no heap.
                let nearest = self
                    .tree
                    .locate_within_distance(p, tolerance_m * tolerance_m)
                    .map(|e| (e.distance_2(&p), e.data))
                    .min_by(|x, y| x.0.total_cmp(&y.0));
                let Some((_, o)) = nearest else { continue };
                match lengths.iter_mut().find(|(x, _)| *x == o) {
                    Some((_, total)) => *total += len / steps,
                    None => lengths.push((o, len / steps)),
                }
            }
        }
        lengths.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        lengths
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::geom::tests::rect_m;

    #[test]
    fn a_strip_between_two_parts_borders_both_and_the_boundary() {
        let container = MultiPolygon(vec![rect_m(0., 0., 200.2, 50.)]);
        let a = MultiPolygon(vec![rect_m(0., 0., 100., 50.)]);
        let b = MultiPolygon(vec![rect_m(100.2, 0., 100., 50.)]);
        let index = EdgeIndex::new(&container, &[&a, &b]);
        let strip = rect_m(100., 0., 0.2, 50.);
        let borders = index.borders(&strip, 0.05, 64);
        let find = |o: usize| borders.iter().find(|(x, _)| *x == o).map(|b| b.1);
        assert!((find(0).unwrap() - 50.0).abs() < 0.01, "{borders:?}");
        assert!((find(1).unwrap() - 50.0).abs() < 0.01, "{borders:?}");
        // The two 0.2 m ends lie on the container's boundary.
        assert!((find(BOUNDARY).unwrap() - 0.4).abs() < 0.01, "{borders:?}");
    }
}
