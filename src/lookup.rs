//! Which subdistrict, community, grids and compound a point lies in — a pure function over the
//! snapshot.
//!
//! **The boundary rule.** A point on an edge or vertex shared by two polygons of one layer lies in
//! the closure of both. It is given to one of them: a polygon that holds the point in its interior
//! wins over one that holds it only on its boundary, and among equals the one with the smallest
//! code wins (codes are fixed-width and numbered west to east, north to south, so this is also the
//! north-western one). The answer says `on_boundary` when the chosen party grid (or, outside every
//! party grid, the chosen community) holds the point only on its boundary. The same rule picks one
//! party grid where two overlap (a data fault), and the answer lists every candidate in `overlap`.

use geo::Coord;

use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;
use crate::spatial::locate::Position;

/// Where a point lies.
#[derive(Debug, Clone, Default)]
pub struct Located<'a> {
    pub subdistrict: Option<&'a Feature>,
    pub community: Option<&'a Feature>,
    pub party_grid: Option<&'a Feature>,
    /// Every commercial grid whose closure holds the point (they may overlap party grids and
    /// each other), in code order.
    pub commercial_grids: Vec<&'a Feature>,
    pub compound: Option<&'a Feature>,
    /// The chosen party grid (or community) holds the point only on its boundary.
    pub on_boundary: bool,
    /// When the point lies inside two or more party grids: all of them, in code order.
    pub overlap: Vec<&'a Feature>,
}

/// The features of `layer` whose closure holds `p`, best first by the boundary rule, each with
/// whether it holds `p` only on its boundary.
pub(crate) fn candidates(
    snapshot: &Snapshot,
    layer: Layer,
    p: Coord<f64>,
) -> Vec<(&Feature, bool)> {
    let mut hits: Vec<(&Feature, bool)> = snapshot
        .areal_at(layer, p)
        .filter_map(|(f, poly)| match poly.locate(p) {
            Position::Inside => Some((f, false)),
            Position::OnBoundary => Some((f, true)),
            Position::Outside => None,
        })
        .collect();
    hits.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.code.cmp(&b.0.code)));
    hits
}

/// Locate a WGS84 point. A point outside the subdistrict gets an answer full of `None`s.
pub fn locate(snapshot: &Snapshot, p: Coord<f64>) -> Located<'_> {
    let first = |layer| candidates(snapshot, layer, p).into_iter().next();
    let party = candidates(snapshot, Layer::PartyGrid, p);
    let community = first(Layer::Community);
    let on_boundary = match (party.first(), community) {
        (Some(&(_, b)), _) => b,
        (None, Some((_, b))) => b,
        (None, None) => false,
    };
    let inside: Vec<&Feature> = party.iter().filter(|c| !c.1).map(|c| c.0).collect();
    let mut overlap = if inside.len() > 1 { inside } else { Vec::new() };
    overlap.sort_by(|a, b| a.code.cmp(&b.code));
    let mut commercial: Vec<&Feature> = candidates(snapshot, Layer::CommercialGrid, p)
        .into_iter()
        .map(|c| c.0)
        .collect();
    commercial.sort_by(|a, b| a.code.cmp(&b.code));
    Located {
        subdistrict: first(Layer::Subdistrict).map(|c| c.0),
        community: community.map(|c| c.0),
        party_grid: party.first().map(|c| c.0),
        commercial_grids: commercial,
        compound: first(Layer::Compound).map(|c| c.0),
        on_boundary,
        overlap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, coord, polygon};
    use serde_json::Map;

    fn f(layer: Layer, code: &str, g: Geometry<f64>) -> Feature {
        Feature {
            layer,
            code: code.into(),
            name: code.into(),
            parent: None,
            properties: Map::new(),
            geometry: g,
            version: 1,
        }
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Geometry<f64> {
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)].into()
    }

    /// Two grids side by side in one community; a third overlapping the right one.
    fn snapshot() -> Snapshot {
        Snapshot::new(
            1,
            vec![
                f(Layer::Community, "c1", rect(0., 0., 2., 1.)),
                f(Layer::PartyGrid, "g2", rect(1., 0., 2., 1.)),
                f(Layer::PartyGrid, "g1", rect(0., 0., 1., 1.)),
                f(Layer::PartyGrid, "g3", rect(1.5, 0.5, 3., 1.)),
                f(Layer::CommercialGrid, "m1", rect(0.5, 0., 1.5, 0.5)),
                f(Layer::Compound, "k1", rect(0.1, 0.1, 0.4, 0.4)),
            ],
        )
    }

    #[test]
    fn interior_point() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 0.2, y: 0.2));
        assert_eq!(l.party_grid.unwrap().code, "g1");
        assert_eq!(l.community.unwrap().code, "c1");
        assert_eq!(l.compound.unwrap().code, "k1");
        assert!(!l.on_boundary);
        assert!(l.overlap.is_empty());
        assert!(l.commercial_grids.is_empty());
    }

    #[test]
    fn shared_edge_goes_to_the_smaller_code_and_says_so() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 1.0, y: 0.3));
        assert_eq!(l.party_grid.unwrap().code, "g1");
        assert!(l.on_boundary);
        assert_eq!(l.commercial_grids.len(), 1);
    }

    #[test]
    fn interior_beats_boundary() {
        let s = snapshot();
        // On g3's boundary (y = 0.5) but inside g2.
        let l = locate(&s, coord!(x: 1.7, y: 0.5));
        assert_eq!(l.party_grid.unwrap().code, "g2");
        assert!(!l.on_boundary);
    }

    #[test]
    fn overlap_is_listed() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 1.7, y: 0.7));
        assert_eq!(l.party_grid.unwrap().code, "g2");
        let codes: Vec<_> = l.overlap.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["g2", "g3"]);
    }

    #[test]
    fn outside_everything() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 10., y: 10.));
        assert!(l.party_grid.is_none() && l.community.is_none() && l.subdistrict.is_none());
        assert!(!l.on_boundary);
    }
}
