//! Rules every edit must keep, as pure geometry over the current snapshot (no HTTP, no SQL).
//!
//! [`check`] lists every fault of a feature draft, so that a refusal names them all at once:
//!
//! - the geometry suits the layer and is valid ([`crate::spatial::validate`]);
//! - the code follows the scheme (DB11/T 2157: a community is its subdistrict's 9 digits + 3, a
//!   party grid its community's 12 digits + 3 from `001`, a commercial grid + 3 from `901`), and
//!   the parent named exists;
//! - a grid lies inside its parent community, within a tolerance: what reaches outside must be no
//!   wider than `tolerance_m` (width as the coverage report measures it: twice the largest
//!   inscribed circle);
//! - a party grid overlaps none of its sibling party grids by more than the tolerance, unless
//!   overlaps are allowed.
//!
//! [`area_change`] measures what an edit gained and lost, in geodesic m².

pub mod clean;
pub mod preview;
pub mod service;
pub mod topology;

use geo::{BooleanOps, Geometry, MultiPolygon};

use crate::coverage::geom::{area_m2, areal, width_m};
use crate::model::{FeatureDraft, GeometryKind, Layer};
use crate::snapshot::Snapshot;
use crate::spatial::validate::check_geometry;

/// Tunables of the checks.
#[derive(Debug, Clone, Copy)]
pub struct EditOptions {
    /// Slivers outside the parent or over a sibling up to this width (metres) are tolerated.
    pub tolerance_m: f64,
    /// Accept overlaps with sibling party grids.
    pub allow_overlap: bool,
}

impl Default for EditOptions {
    fn default() -> Self {
        EditOptions {
            tolerance_m: 0.5,
            allow_overlap: false,
        }
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The rules the edit breaks, as messages naming the feature and the fault: when any, it may
    /// not be written.
    pub reasons: Vec<String>,
    /// Faults the feature already had and the edit keeps without making them worse (an overlap
    /// or a part outside its community no larger than before): they never block an edit, and the
    /// answer lists them.
    pub warnings: Vec<String>,
}

/// An overlap or outside part of `after` m² is no worse than one of `before` m² (up to the
/// rounding noise of the boolean operations).
fn not_worse(after: f64, before: f64) -> bool {
    after <= before + (0.001 * before).max(0.5)
}

/// Every rule `draft` breaks, and the old faults it keeps ([`Verdict`]). An edit is judged by what
/// it changes: the feature as the snapshot holds it (same layer and code) is the "before".
/// `replacing` lists the codes (of the draft's layer) that the same edit replaces or removes, so
/// that they are not counted as siblings.
pub fn check(
    snapshot: &Snapshot,
    draft: &FeatureDraft,
    replacing: &[&str],
    opts: EditOptions,
) -> Verdict {
    let reasons = check_reasons(snapshot, draft, replacing, opts);
    let mut verdict = Verdict::default();
    for r in reasons {
        match r {
            Finding::Breaks(m) => verdict.reasons.push(m),
            Finding::Keeps(m) => verdict.warnings.push(m),
        }
    }
    verdict
}

enum Finding {
    Breaks(String),
    Keeps(String),
}

fn check_reasons(
    snapshot: &Snapshot,
    draft: &FeatureDraft,
    replacing: &[&str],
    opts: EditOptions,
) -> Vec<Finding> {
    let key = draft.key();
    let mut reasons = Vec::new();
    let before = snapshot
        .find(draft.layer, &draft.code)
        .and_then(|f| areal(&f.geometry));
    let kind_ok = matches!(
        (draft.layer.geometry_kind(), &draft.geometry),
        (GeometryKind::Point, Geometry::Point(_))
            | (
                GeometryKind::Areal,
                Geometry::Polygon(_) | Geometry::MultiPolygon(_)
            )
            | (
                GeometryKind::ArealOrPoint,
                Geometry::Polygon(_) | Geometry::MultiPolygon(_) | Geometry::Point(_)
            )
    );
    if !kind_ok {
        reasons.push(Finding::Breaks(format!(
            "{key}: geometry: layer {} does not take this geometry type",
            draft.layer
        )));
        return reasons;
    }
    if let Err(fault) = check_geometry(&draft.geometry) {
        reasons.push(Finding::Breaks(format!("{key}: geometry: {fault}")));
        return reasons;
    }
    // The same field rules as an import (lengths, characters, counts).
    for fault in crate::rules::field_faults(
        &draft.code,
        &draft.name,
        draft.parent.as_deref(),
        draft.properties.iter(),
    ) {
        reasons.push(Finding::Breaks(format!("{key}: {fault}")));
    }
    let Some(parent_layer) = draft.layer.parent_layer() else {
        return reasons;
    };
    let parent = match draft.parent.as_deref() {
        None => {
            reasons.push(Finding::Breaks(format!(
                "{key}: parent: a {} needs the code of its {parent_layer}",
                draft.layer
            )));
            return reasons;
        }
        Some(p) => p,
    };
    if let Some(fault) = crate::rules::code_fault(draft.layer, &draft.code, Some(parent)) {
        reasons.push(Finding::Breaks(format!("{key}: {fault}")));
    }
    let Some(parent_feature) = snapshot.find(parent_layer, parent) else {
        reasons.push(Finding::Breaks(format!(
            "{key}: parent: no {parent_layer} {parent}"
        )));
        return reasons;
    };
    let (Some(shape), Some(parent_shape)) =
        (areal(&draft.geometry), areal(&parent_feature.geometry))
    else {
        return reasons;
    };
    // Each fault is judged against the same fault of the feature as it was: one the edit does
    // not make worse is a warning, a new or larger one a reason to refuse.
    let judge = |message: String, after: f64, before: Option<f64>| match before {
        Some(b) if b > 0.0 && not_worse(after, b) => Finding::Keeps(format!(
            "{message}; it did so before ({b:.1} m²) and the edit does not make it worse"
        )),
        _ => Finding::Breaks(message),
    };
    let outside = shape.difference(&parent_shape);
    if let Some(w) = widest(&outside).filter(|w| *w > opts.tolerance_m) {
        let area = area_m2(&outside);
        let was = before
            .as_ref()
            .map(|b| area_m2(&b.difference(&parent_shape)));
        reasons.push(judge(
            format!(
                "{key}: geometry: reaches outside its {parent_layer} {parent} by {area:.1} m² (up to {w:.2} m wide; the tolerance is {} m)",
                opts.tolerance_m
            ),
            area,
            was,
        ));
    }
    if draft.layer == Layer::PartyGrid && !opts.allow_overlap {
        for sibling in siblings(snapshot, draft.layer, parent, &shape) {
            if sibling.code == draft.code || replacing.contains(&sibling.code.as_str()) {
                continue;
            }
            let Some(other) = areal(&sibling.geometry) else {
                continue;
            };
            let common = shape.intersection(&other);
            if let Some(w) = widest(&common).filter(|w| *w > opts.tolerance_m) {
                let area = area_m2(&common);
                let was = before.as_ref().map(|b| area_m2(&b.intersection(&other)));
                reasons.push(judge(
                    format!(
                        "{key}: geometry: overlaps party grid {} by {area:.1} m² (up to {w:.2} m wide); \
                         move the shared boundary with ?neighbours=adjust or allow it with ?allow_overlap=true",
                        sibling.code,
                    ),
                    area,
                    was,
                ));
            }
        }
    }
    reasons
}

/// The party grids (or other children) of `parent` in `layer` whose boxes meet `shape`.
fn siblings<'s>(
    snapshot: &'s Snapshot,
    layer: Layer,
    parent: &str,
    shape: &MultiPolygon<f64>,
) -> Vec<&'s crate::model::Feature> {
    use geo::BoundingRect;
    let Some(b) = shape.bounding_rect() else {
        return Vec::new();
    };
    snapshot
        .in_box(layer, [b.min().x, b.min().y], [b.max().x, b.max().y])
        .into_iter()
        .filter(|f| f.parent.as_deref() == Some(parent))
        .collect()
}

/// The width of the widest polygon of `mp`, `None` when it is empty.
fn widest(mp: &MultiPolygon<f64>) -> Option<f64> {
    mp.0.iter().map(width_m).reduce(f64::max)
}

/// The next free code under `parent` in `layer` (the scheme's sequence: one more than the
/// highest taken, party grids from `001`, commercial grids from `901`).
pub fn next_code(
    snapshot: &Snapshot,
    layer: Layer,
    parent: &str,
    taken: &[String],
) -> Option<String> {
    let first = if layer == Layer::CommercialGrid {
        901
    } else {
        1
    };
    let last = if layer == Layer::CommercialGrid {
        999
    } else {
        900
    };
    let highest = snapshot
        .layer(layer)
        .map(|f| f.code.as_str())
        .chain(taken.iter().map(String::as_str))
        .filter(|c| c.len() == parent.len() + 3 && c.starts_with(parent))
        .filter_map(|c| c[parent.len()..].parse::<u32>().ok())
        .filter(|n| (first..=last).contains(n))
        .max();
    let n = highest.map_or(first, |h| h + 1);
    (n <= last).then(|| format!("{parent}{n:03}"))
}

/// The area (geodesic m²) a feature gained and lost going from `old` to `new` (either may be
/// absent: a create gains all, a delete loses all). Points gain and lose nothing.
pub fn area_change(old: Option<&Geometry<f64>>, new: Option<&Geometry<f64>>) -> (f64, f64) {
    let empty = MultiPolygon::<f64>(vec![]);
    let old = old.and_then(areal).unwrap_or_else(|| empty.clone());
    let new = new.and_then(areal).unwrap_or(empty);
    let gained = if old.0.is_empty() {
        area_m2(&new)
    } else {
        area_m2(&new.difference(&old))
    };
    let lost = if new.0.is_empty() {
        area_m2(&old)
    } else {
        area_m2(&old.difference(&new))
    };
    (gained, lost)
}

#[cfg(test)]
mod tests;
