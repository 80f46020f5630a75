//! What one grid is and holds, for the map page's side panel: its figures and contacts, and how
//! many compounds, shops, units and organisations lie inside it — a pure function over the
//! snapshot.
//!
//! **Counting rule.** A point feature (a compound by its interior point, as the coverage report
//! places it) counts for a party grid, community or subdistrict only when the lookup's boundary
//! rule gives it to that feature ([`crate::lookup`]): these layers partition the ground, so a
//! point on a shared edge is counted once, in the same grid the coverage report and a lookup
//! name. Commercial grids lie on top of party grids and of each other, so for them every point
//! in the closure counts.

use geo::{BoundingRect, InteriorPoint};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::lookup::candidates;
use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;

/// Layers a summary can be asked for: the areal layers with a code scheme.
pub const SUMMARY_LAYERS: [Layer; 4] = [
    Layer::Subdistrict,
    Layer::Community,
    Layer::PartyGrid,
    Layer::CommercialGrid,
];

/// The point layers counted inside a grid, in the order of [`Contents`].
const COUNTED: [Layer; 6] = [
    Layer::Compound,
    Layer::Shop,
    Layer::Unit,
    Layer::SocialOrg,
    Layer::ServiceStation,
    Layer::PartyCenter,
];

/// How many features of each point layer lie inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Contents {
    pub compounds: usize,
    pub shops: usize,
    pub units: usize,
    pub social_orgs: usize,
    pub service_stations: usize,
    pub party_centers: usize,
}

impl Contents {
    fn slot(&mut self, layer: Layer) -> Option<&mut usize> {
        Some(match layer {
            Layer::Compound => &mut self.compounds,
            Layer::Shop => &mut self.shops,
            Layer::Unit => &mut self.units,
            Layer::SocialOrg => &mut self.social_orgs,
            Layer::ServiceStation => &mut self.service_stations,
            Layer::PartyCenter => &mut self.party_centers,
            _ => return None,
        })
    }
}

/// A feature named by code and name.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

/// One grid (or community, or subdistrict) for the side panel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GridSummary {
    pub layer: String,
    pub code: String,
    pub name: String,
    /// The parent community (for grids) or subdistrict (for communities); `null` when the
    /// feature has no parent or the parent is not in the data.
    pub parent: Option<Named>,
    pub grid_worker: Option<String>,
    pub grid_worker_phone: Option<String>,
    pub grid_leader: Option<String>,
    pub grid_leader_phone: Option<String>,
    /// `null` when the data has no figure.
    pub households: Option<u64>,
    pub residents: Option<u64>,
    /// Counted from the point layers by the rule in this module's documentation.
    pub contents: Contents,
    /// `[west, south, east, north]`, for fitting the map to the grid.
    pub bbox: [f64; 4],
}

/// Why there is no summary.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SummaryError {
    #[error(
        "layer {0} has no grid summary (expected subdistrict, community, party_grid or commercial_grid)"
    )]
    NotAGridLayer(Layer),
    #[error("no {0} with code {1:?}")]
    NotFound(Layer, String),
}

fn text(f: &Feature, key: &str) -> Option<String> {
    match f.properties.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn count(f: &Feature, key: &str) -> Option<u64> {
    f.properties.get(key)?.as_u64()
}

/// The point a feature is placed by: itself, or a polygon's interior point.
pub(crate) fn placed_at(f: &Feature) -> Option<geo::Coord<f64>> {
    match &f.geometry {
        geo::Geometry::Point(p) => Some(p.0),
        g => g.interior_point().map(|p| p.0),
    }
}

/// Count what lies inside `grid` (a feature of `layer`) by the module's counting rule.
pub fn contents(snapshot: &Snapshot, grid: &Feature) -> Contents {
    let mut out = Contents::default();
    let Some(r) = grid.geometry.bounding_rect() else {
        return out;
    };
    let (min, max) = ([r.min().x, r.min().y], [r.max().x, r.max().y]);
    let layer = grid.layer;
    for l in COUNTED {
        for f in snapshot.in_box(l, min, max) {
            let Some(p) = placed_at(f) else { continue };
            let mut holders = candidates(snapshot, layer, p).into_iter();
            let inside = if layer == Layer::CommercialGrid {
                holders.any(|(g, _)| g.code == grid.code)
            } else {
                holders.next().is_some_and(|(g, _)| g.code == grid.code)
            };
            if inside && let Some(slot) = out.slot(l) {
                *slot += 1;
            }
        }
    }
    out
}

/// The summary of the feature `code` of `layer`.
pub fn summary(snapshot: &Snapshot, layer: Layer, code: &str) -> Result<GridSummary, SummaryError> {
    if !SUMMARY_LAYERS.contains(&layer) {
        return Err(SummaryError::NotAGridLayer(layer));
    }
    let f = snapshot
        .find(layer, code)
        .ok_or_else(|| SummaryError::NotFound(layer, code.to_string()))?;
    let parent = match (layer.parent_layer(), &f.parent) {
        (Some(pl), Some(pc)) => snapshot.find(pl, pc).map(|p| Named {
            code: p.code.clone(),
            name: p.name.clone(),
        }),
        _ => None,
    };
    let bbox = f
        .geometry
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
        .unwrap_or([0.0; 4]);
    Ok(GridSummary {
        layer: layer.id().to_string(),
        code: f.code.clone(),
        name: f.name.clone(),
        parent,
        grid_worker: text(f, "grid_worker"),
        grid_worker_phone: text(f, "grid_worker_phone"),
        grid_leader: text(f, "grid_leader"),
        grid_leader_phone: text(f, "grid_leader_phone"),
        households: count(f, "households"),
        residents: count(f, "residents"),
        contents: contents(snapshot, f),
        bbox,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{self, CoverageOptions};

    fn demo() -> Snapshot {
        crate::demo::embedded_snapshot()
    }

    /// The coverage report places every point once (its own loop over all points); each party
    /// grid's counts here, found from the grid's side through the R-tree, must agree with it.
    #[test]
    fn party_grid_counts_agree_with_the_coverage_report() {
        let snap = demo();
        let report = coverage::report(&snap, &CoverageOptions::default()).unwrap();
        assert!(!report.grids.is_empty());
        let mut total_shops = 0;
        for g in &report.grids {
            let s = summary(&snap, Layer::PartyGrid, &g.code).unwrap();
            let c = s.contents;
            assert_eq!(
                (c.compounds, c.shops, c.units, c.social_orgs),
                (g.compounds, g.shops, g.units, g.social_orgs),
                "{}",
                g.code
            );
            assert_eq!(s.households, Some(g.households));
            total_shops += c.shops;
        }
        assert!(total_shops > 0);
    }

    #[test]
    fn a_grid_has_its_community_and_contacts() {
        let snap = demo();
        let grid = snap.layer(Layer::PartyGrid).next().unwrap();
        let s = summary(&snap, Layer::PartyGrid, &grid.code).unwrap();
        let community = snap
            .find(Layer::Community, grid.parent.as_deref().unwrap())
            .unwrap();
        assert_eq!(s.parent.as_ref().unwrap().name, community.name);
        assert!(s.grid_worker.is_some() && s.grid_worker_phone.is_some());
        assert!(s.bbox[0] < s.bbox[2] && s.bbox[1] < s.bbox[3]);
    }

    /// Commercial grids overlap, so they count every point in their closure: checked against a
    /// brute-force test of every counted feature against the grid's geometry (no R-tree, no
    /// prepared polygon).
    #[test]
    fn commercial_grids_count_by_closure() {
        use geo::Intersects;
        let snap = demo();
        let mut total = 0;
        for g in snap.layer(Layer::CommercialGrid) {
            let mut expected = Contents::default();
            for l in COUNTED {
                for f in snap.layer(l) {
                    let p = geo::Point(placed_at(f).unwrap());
                    if p.intersects(&g.geometry) {
                        *expected.slot(l).unwrap() += 1;
                    }
                }
            }
            let got = summary(&snap, Layer::CommercialGrid, &g.code)
                .unwrap()
                .contents;
            assert_eq!(got, expected, "{}", g.code);
            total += got.compounds + got.shops + got.units + got.social_orgs;
        }
        assert!(total > 0, "nothing inside any commercial grid");
    }

    #[test]
    fn bad_requests_are_named() {
        let snap = demo();
        assert_eq!(
            summary(&snap, Layer::Shop, "x").unwrap_err(),
            SummaryError::NotAGridLayer(Layer::Shop)
        );
        assert!(matches!(
            summary(&snap, Layer::PartyGrid, "nope"),
            Err(SummaryError::NotFound(Layer::PartyGrid, _))
        ));
    }
}
