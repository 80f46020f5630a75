//! Faults in the data itself, listed by the coverage report: invalid geometries, codes used by
//! more than one area layer, codes off the 12/15-digit scheme, and grids filed under a community
//! other than the one they mostly lie in.

use std::collections::{BTreeMap, HashMap};

use geo::{BoundingRect, Intersects};
use rayon::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::geom::area_m2;
use super::{Areal, CoverageOptions};
use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;
use crate::spatial::validate::check_geometry;

/// Faults in the data itself.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DataFaults {
    pub invalid_geometries: Vec<FeatureFault>,
    /// Codes used by features of more than one area layer.
    pub duplicate_codes: Vec<DuplicateCode>,
    pub bad_codes: Vec<FeatureFault>,
    /// Grids whose `parent` is not the community they mostly lie in.
    pub wrong_parents: Vec<WrongParent>,
}

impl DataFaults {
    pub(crate) fn count(&self) -> usize {
        self.invalid_geometries.len()
            + self.duplicate_codes.len()
            + self.bad_codes.len()
            + self.wrong_parents.len()
    }
}

/// A fault of one feature, with a message naming it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeatureFault {
    #[schema(value_type = String)]
    pub layer: Layer,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateCode {
    pub code: String,
    #[schema(value_type = Vec<String>)]
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WrongParent {
    #[schema(value_type = String)]
    pub layer: Layer,
    pub code: String,
    pub parent: Option<String>,
    /// The community holding the largest share of the grid, if any.
    pub lies_in: Option<String>,
    /// That share of the grid's area (0–1).
    pub share: f64,
}

/// Invalid geometries, duplicate codes, codes off the scheme and grids under the wrong parent.
pub(crate) fn data_faults(
    snapshot: &Snapshot,
    communities: &[Areal<'_>],
    grids: [&[Areal<'_>]; 2],
    shares: &HashMap<(Layer, String), f64>,
    options: &CoverageOptions,
) -> DataFaults {
    let in_scope = |f: &Feature| {
        options
            .community
            .as_deref()
            .is_none_or(|c| f.code.starts_with(c))
    };
    let mut faults = DataFaults {
        invalid_geometries: snapshot
            .features()
            .par_iter()
            .filter(|f| in_scope(f))
            .filter_map(|f| {
                check_geometry(&f.geometry).err().map(|e| FeatureFault {
                    layer: f.layer,
                    code: f.code.clone(),
                    message: format!("{}: {e}", f.key()),
                })
            })
            .collect(),
        ..DataFaults::default()
    };
    const AREA_LAYERS: [Layer; 4] = [
        Layer::Subdistrict,
        Layer::Community,
        Layer::PartyGrid,
        Layer::CommercialGrid,
    ];
    let mut layers_of: BTreeMap<&str, Vec<Layer>> = BTreeMap::new();
    for l in AREA_LAYERS {
        for f in snapshot.layer(l).filter(|f| in_scope(f)) {
            layers_of.entry(&f.code).or_default().push(l);
            if let Some(message) = crate::rules::code_fault(l, &f.code, f.parent.as_deref()) {
                faults.bad_codes.push(FeatureFault {
                    layer: l,
                    code: f.code.clone(),
                    message: format!("{}: {message}", f.key()),
                });
            }
        }
    }
    faults.duplicate_codes = layers_of
        .into_iter()
        .filter(|(_, l)| l.len() > 1)
        .map(|(code, layers)| DuplicateCode {
            code: code.to_string(),
            layers,
        })
        .collect();
    faults.wrong_parents = grids[0]
        .par_iter()
        .chain(grids[1].par_iter())
        .filter(|g| in_scope(g.feature))
        .filter(|g| {
            // Most grids were measured against their parent already: no more than half outside.
            shares
                .get(&(g.feature.layer, g.feature.code.clone()))
                .is_none_or(|&s| s > 0.5)
        })
        .filter_map(|g| wrong_parent(g, communities))
        .collect();
    faults
}

/// A grid whose parent does not hold the largest share of its area.
fn wrong_parent(g: &Areal<'_>, communities: &[Areal<'_>]) -> Option<WrongParent> {
    let area = area_m2(&g.geometry);
    if area <= 0.0 {
        return None;
    }
    let bbox = g.geometry.bounding_rect()?;
    let share_in = |c: &Areal<'_>| {
        let cb = c.geometry.bounding_rect()?;
        if !cb.intersects(&bbox) {
            return None;
        }
        let a = area_m2(&geo::BooleanOps::intersection(&g.geometry, &c.geometry));
        (a > 0.0).then_some((c.feature.code.clone(), a / area))
    };
    let parent = g.feature.parent.as_deref();
    // Most grids lie wholly in their parent: one intersection settles it.
    if let Some(p) = communities
        .iter()
        .find(|c| Some(c.feature.code.as_str()) == parent)
        && share_in(p).is_some_and(|(_, s)| s > 0.5)
    {
        return None;
    }
    let best = communities
        .iter()
        .filter_map(share_in)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if best
        .as_ref()
        .is_some_and(|(c, _)| Some(c.as_str()) == parent)
    {
        return None;
    }
    Some(WrongParent {
        layer: g.feature.layer,
        code: g.feature.code.clone(),
        parent: g.feature.parent.clone(),
        share: best.as_ref().map_or(0.0, |b| b.1),
        lies_in: best.map(|b| b.0),
    })
}
