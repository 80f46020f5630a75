//! What a set of changes would do, computed on copies and written nowhere: the features after
//! them, and the coverage and household balance of the communities they touch, before and after.
//! A dry run of an edit and the preview of a plan both answer with a [`Preview`].
//!
//! **Scope.** Coverage is computed over the touched communities only: those the changed features
//! belong to before and after (a grid's parent, a community itself, the community a point or
//! compound lies in), their party and commercial grids, and the point layers inside their
//! bounding box. A full report would cost as much as the whole subdistrict (seconds on a city);
//! an edit cannot change the coverage of a community it does not touch.

use std::collections::{BTreeSet, HashMap};

use geo::{BoundingRect, InteriorPoint, Rect};
use serde::Serialize;
use utoipa::ToSchema;

use crate::coverage::{self, Balance, CoverageOptions, Summary};
use crate::model::{Action, Change, Feature, FeatureKey, GeometryKind, Layer};
use crate::snapshot::Snapshot;

/// Point-like layers counted by the coverage report.
const COUNTED: [Layer; 4] = [Layer::Compound, Layer::Shop, Layer::Unit, Layer::SocialOrg];

/// One change as it would land.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewChange {
    /// create, update or delete.
    pub action: String,
    pub layer: String,
    pub code: String,
    pub name: String,
    /// The GeoJSON Feature after the change (`null` for a delete).
    #[schema(value_type = Option<Object>)]
    pub feature: Option<serde_json::Value>,
    /// Geodesic m² covered after and not before.
    pub area_gained_m2: f64,
    /// Geodesic m² covered before and not after.
    pub area_lost_m2: f64,
}

/// The coverage of the touched communities before and after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageEffect {
    /// Codes of the touched communities.
    pub communities: Vec<String>,
    pub before: Summary,
    pub after: Summary,
}

/// One party grid whose contents or balance the changes alter (or that they change).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GridEffect {
    pub code: String,
    pub name: String,
    /// `null` where the grid does not exist on that side.
    pub households_before: Option<u64>,
    pub households_after: Option<u64>,
    pub balance_before: Option<Balance>,
    pub balance_after: Option<Balance>,
}

/// What the changes would do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub changes: Vec<PreviewChange>,
    pub coverage: CoverageEffect,
    pub grids: Vec<GridEffect>,
}

/// The features after `changes`, each changed one at its stored version + 1 (1 when new); in no
/// particular order ([`Snapshot::new`] sorts).
pub fn apply(features: &[Feature], changes: &[Change]) -> Vec<Feature> {
    let mut changed: HashMap<FeatureKey, Option<&Change>> =
        changes.iter().map(|c| (c.key(), Some(c))).collect();
    let mut out: Vec<Feature> = Vec::with_capacity(features.len() + changes.len());
    for f in features {
        match changed.get_mut(&f.key()) {
            None => out.push(f.clone()),
            Some(slot) => {
                if let Some(Change::Upsert { draft, .. }) = slot.take() {
                    out.push(draft.clone().into_feature(f.version + 1));
                }
            }
        }
    }
    // What remains names keys the features did not hold: creates (and deletes of nothing).
    for c in changes {
        if let Some(Some(Change::Upsert { draft, .. })) = changed.get(&c.key()) {
            out.push(draft.clone().into_feature(1));
        }
    }
    out
}

/// The community a feature belongs to, in `snapshot`'s terms: a grid's parent, a community
/// itself, the community holding a point (or a compound's interior point).
fn community_of(snapshot: &Snapshot, f: &Feature) -> Option<String> {
    match f.layer {
        Layer::Community => Some(f.code.clone()),
        Layer::PartyGrid | Layer::CommercialGrid => f.parent.clone(),
        Layer::Subdistrict => None,
        _ => {
            let p = f.geometry.interior_point()?;
            crate::lookup::locate(snapshot, p.0)
                .community
                .map(|c| c.code.clone())
        }
    }
}

fn grow(acc: &mut Option<Rect<f64>>, r: Option<Rect<f64>>) {
    let Some(r) = r else { return };
    *acc = Some(match acc.take() {
        None => r,
        Some(a) => Rect::new(
            geo::coord! { x: a.min().x.min(r.min().x), y: a.min().y.min(r.min().y) },
            geo::coord! { x: a.max().x.max(r.max().x), y: a.max().y.max(r.max().y) },
        ),
    });
}

/// The features of `all` that belong to the scope: the communities in `communities`, their
/// grids, and the counted point layers inside `region`.
fn scope<'f>(
    all: impl Iterator<Item = &'f Feature>,
    communities: &BTreeSet<String>,
    region: Rect<f64>,
) -> Vec<Feature> {
    all.filter(|f| match f.layer {
        Layer::Community => communities.contains(&f.code),
        Layer::PartyGrid | Layer::CommercialGrid => {
            f.parent.as_ref().is_some_and(|p| communities.contains(p))
        }
        l if COUNTED.contains(&l) => f.geometry.bounding_rect().is_some_and(|b| {
            b.min().x <= region.max().x
                && b.max().x >= region.min().x
                && b.min().y <= region.max().y
                && b.max().y >= region.min().y
        }),
        _ => false,
    })
    .cloned()
    .collect()
}

/// Preview `changes` against `live`. Pure and possibly slow (two small coverage reports): run it
/// on the blocking pool.
pub fn preview(live: &Snapshot, changes: &[Change]) -> Preview {
    let after_changed = apply(
        &changes
            .iter()
            .filter_map(|c| live.get(&c.key()).cloned())
            .collect::<Vec<_>>(),
        changes,
    );
    let after_by_key: HashMap<FeatureKey, &Feature> =
        after_changed.iter().map(|f| (f.key(), f)).collect();

    let mut communities = BTreeSet::new();
    let mut out = Vec::new();
    for c in changes {
        let key = c.key();
        let before = live.get(&key);
        let after = after_by_key.get(&key).copied();
        for f in before.iter().copied().chain(after) {
            communities.extend(community_of(live, f));
        }
        let (gained, lost) =
            super::area_change(before.map(|f| &f.geometry), after.map(|f| &f.geometry));
        let action = match (before, after) {
            (None, _) => Action::Create,
            (_, None) => Action::Delete,
            _ => Action::Update,
        };
        out.push(PreviewChange {
            action: action.as_str().into(),
            layer: key.layer.id().into(),
            code: key.code.clone(),
            name: after.or(before).map(|f| f.name.clone()).unwrap_or_default(),
            feature: after
                .map(|f| serde_json::to_value(geojson::Feature::from(f)).unwrap_or_default()),
            area_gained_m2: gained,
            area_lost_m2: lost,
        });
    }

    let mut region = None;
    for code in &communities {
        grow(
            &mut region,
            live.find(Layer::Community, code)
                .and_then(|f| f.geometry.bounding_rect()),
        );
        if let Some(f) = after_by_key.get(&FeatureKey {
            layer: Layer::Community,
            code: code.clone(),
        }) {
            grow(&mut region, f.geometry.bounding_rect());
        }
    }
    for f in &after_changed {
        if matches!(f.layer.geometry_kind(), GeometryKind::Areal) {
            grow(&mut region, f.geometry.bounding_rect());
        }
    }
    let region = region.unwrap_or_else(|| Rect::new((0.0, 0.0), (0.0, 0.0)));

    let mut before = Vec::new();
    for layer in [Layer::Community, Layer::PartyGrid, Layer::CommercialGrid] {
        before.extend(scope(live.layer(layer), &communities, region));
    }
    let min = [region.min().x, region.min().y];
    let max = [region.max().x, region.max().y];
    for layer in COUNTED {
        before.extend(scope(
            live.in_box(layer, min, max).into_iter(),
            &communities,
            region,
        ));
    }
    // `apply` keeps the selection's features and adds the changes' creates; `scope` then keeps
    // what belongs to the touched communities.
    let after = scope(apply(&before, changes).iter(), &communities, region);

    let options = CoverageOptions::default();
    let report =
        |features: Vec<Feature>| coverage::report(&Snapshot::new(0, features), &options).ok();
    let (before_report, after_report) = (report(before), report(after));
    let summary = |r: &Option<coverage::CoverageReport>| {
        r.as_ref().map(|r| r.summary.clone()).unwrap_or_default()
    };

    let balances =
        |r: &Option<coverage::CoverageReport>| -> HashMap<String, (String, u64, Balance)> {
            r.iter()
                .flat_map(|r| &r.grids)
                .map(|g| (g.code.clone(), (g.name.clone(), g.households, g.balance)))
                .collect()
        };
    let (b, a) = (balances(&before_report), balances(&after_report));
    let mut codes: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    codes.retain(|code| {
        let changed = changes
            .iter()
            .any(|c| c.key().layer == Layer::PartyGrid && &&c.key().code == code);
        changed || b.get(*code).map(|x| (x.1, x.2)) != a.get(*code).map(|x| (x.1, x.2))
    });
    let grids = codes
        .into_iter()
        .map(|code| {
            let (bb, aa) = (b.get(code), a.get(code));
            GridEffect {
                code: code.clone(),
                name: aa.or(bb).map(|x| x.0.clone()).unwrap_or_default(),
                households_before: bb.map(|x| x.1),
                households_after: aa.map(|x| x.1),
                balance_before: bb.map(|x| x.2),
                balance_after: aa.map(|x| x.2),
            }
        })
        .collect();

    Preview {
        changes: out,
        coverage: CoverageEffect {
            communities: communities.into_iter().collect(),
            before: summary(&before_report),
            after: summary(&after_report),
        },
        grids,
    }
}
