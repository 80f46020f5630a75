//! `gridmap clean`: the coverage cleaner ([`crate::coverage::clean`]) run over the live party
//! grids of one community or all, its result staged as a plan. Nothing live changes: the plan
//! previews (coverage and household balance before and after) and applies like every plan, with
//! its history.

use geo::MultiPolygon;

use crate::coverage::clean::{PartChange, clean};
use crate::coverage::geom::areal;
use crate::coverage::partition::Part;
use crate::model::{Feature, FeatureDraft, Layer};
use crate::snapshot::Snapshot;
use crate::store::StoreError;
use crate::store::plans::{PlanEdit, PlanInfo, PlanStore};

/// What a clean would do, per community.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CommunityClean {
    pub community: String,
    /// Per party grid (every one of the community, changed or not).
    pub changes: Vec<PartChange>,
    /// Gaps left as they are (m² each).
    pub gaps_left: Vec<f64>,
}

/// A grid whose area moves by less than this (m²) is left as it is: only noise would change.
const UNCHANGED_M2: f64 = 0.01;

/// Clean the party grids of `community` (or of every community), returning the grids to change
/// and what happened per community.
pub fn plan_clean(
    snapshot: &Snapshot,
    community: Option<&str>,
    sliver_width_m: f64,
    fill_gaps: bool,
) -> (Vec<PlanEdit>, Vec<CommunityClean>) {
    use rayon::prelude::*;
    // Communities are independent: cleaned in parallel.
    let communities: Vec<&Feature> = snapshot
        .layer(Layer::Community)
        .filter(|c| community.is_none_or(|code| code == c.code))
        .collect();
    let results: Vec<(Vec<PlanEdit>, CommunityClean)> = communities
        .par_iter()
        .filter_map(|c| clean_community(snapshot, c, sliver_width_m, fill_gaps))
        .collect();
    let mut edits = Vec::new();
    let mut report = Vec::new();
    for (e, r) in results {
        edits.extend(e);
        report.push(r);
    }
    (edits, report)
}

fn clean_community(
    snapshot: &Snapshot,
    c: &Feature,
    sliver_width_m: f64,
    fill_gaps: bool,
) -> Option<(Vec<PlanEdit>, CommunityClean)> {
    let shape = areal(&c.geometry)?;
    let grids: Vec<_> = snapshot
        .layer(Layer::PartyGrid)
        .filter(|g| g.parent.as_deref() == Some(c.code.as_str()))
        .filter_map(|g| areal(&g.geometry).map(|s| (g, s)))
        .collect();
    let parts: Vec<Part> = grids
        .iter()
        .map(|(g, s)| Part {
            code: &g.code,
            geometry: s,
        })
        .collect();
    let cleaned = clean(&shape, &parts, sliver_width_m, fill_gaps);
    let mut edits = Vec::new();
    for (((g, before), after), change) in grids.iter().zip(cleaned.parts).zip(&cleaned.changes) {
        let moved = change.outside_m2 + change.lost_m2 + change.gained_m2;
        if moved < UNCHANGED_M2 || after == *before || after.0.is_empty() {
            continue;
        }
        let mut draft = FeatureDraft::from((*g).clone());
        draft.geometry = geometry(after);
        edits.push(PlanEdit {
            key: draft.key(),
            base_version: g.version,
            draft: Some(draft),
        });
    }
    let report = CommunityClean {
        community: c.code.clone(),
        changes: cleaned.changes,
        gaps_left: cleaned.gaps_left,
    };
    Some((edits, report))
}

fn geometry(mut mp: MultiPolygon<f64>) -> geo::Geometry<f64> {
    if mp.0.len() == 1 {
        geo::Geometry::Polygon(mp.0.remove(0))
    } else {
        geo::Geometry::MultiPolygon(mp)
    }
}

/// Stage `edits` as a new plan named `name`.
pub async fn stage_plan(
    store: &dyn PlanStore,
    name: &str,
    author: &str,
    edits: &[PlanEdit],
) -> Result<PlanInfo, StoreError> {
    let plan = store.create_plan(name, author).await?;
    store.stage(plan.id, plan.revision, edits).await?;
    Ok(store.plan(plan.id).await?.unwrap_or(plan))
}
