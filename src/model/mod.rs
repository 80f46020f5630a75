//! Plain data: layers, features, change sets and revisions. No I/O here.
//!
//! Every other module speaks these types: the stores persist them, the snapshot indexes them,
//! import/export converts them from and to files, the API serialises them.

use std::fmt;
use std::str::FromStr;

use geo::Geometry;
use serde::{Deserialize, Serialize};

mod properties;
pub use properties::Properties;

/// The feature layers gridmap keeps. The set is fixed by the governance model; how many features
/// each holds is data.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// 街道
    Subdistrict,
    /// 社区
    Community,
    /// 党建网格 — partitions its community.
    PartyGrid,
    /// 商圈市场、商务楼宇专属网格 — lies on top of party grids.
    CommercialGrid,
    /// 居民小区 — polygon or point.
    Compound,
    /// 驻区单位
    Unit,
    /// 沿街商铺
    Shop,
    /// 社会组织
    SocialOrg,
    /// 便民驿站
    ServiceStation,
    /// 党群服务中心
    PartyCenter,
    /// 标准地址 — the standard address registry: one point per road number, compound, building,
    /// unit or room, matched by [`crate::address`].
    Address,
}

/// What geometry a layer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryKind {
    /// Polygon or MultiPolygon.
    Areal,
    /// Point.
    Point,
    /// Polygon, MultiPolygon or Point.
    ArealOrPoint,
}

impl Layer {
    /// Every layer, parents before children (the order imports and exports use).
    pub const ALL: [Layer; 11] = [
        Layer::Subdistrict,
        Layer::Community,
        Layer::PartyGrid,
        Layer::CommercialGrid,
        Layer::Compound,
        Layer::Unit,
        Layer::Shop,
        Layer::SocialOrg,
        Layer::ServiceStation,
        Layer::PartyCenter,
        Layer::Address,
    ];

    /// The id used in files, URLs, table names and API fields.
    pub fn id(self) -> &'static str {
        match self {
            Layer::Subdistrict => "subdistrict",
            Layer::Community => "community",
            Layer::PartyGrid => "party_grid",
            Layer::CommercialGrid => "commercial_grid",
            Layer::Compound => "compound",
            Layer::Unit => "unit",
            Layer::Shop => "shop",
            Layer::SocialOrg => "social_org",
            Layer::ServiceStation => "service_station",
            Layer::PartyCenter => "party_center",
            Layer::Address => "address",
        }
    }

    /// The Chinese name shown to users.
    pub fn name_zh(self) -> &'static str {
        match self {
            Layer::Subdistrict => "街道",
            Layer::Community => "社区",
            Layer::PartyGrid => "党建网格",
            Layer::CommercialGrid => "商圈市场、商务楼宇专属网格",
            Layer::Compound => "居民小区",
            Layer::Unit => "驻区单位",
            Layer::Shop => "沿街商铺",
            Layer::SocialOrg => "社会组织",
            Layer::ServiceStation => "便民驿站",
            Layer::PartyCenter => "党群服务中心",
            Layer::Address => "标准地址",
        }
    }

    /// The geometry this layer accepts.
    pub fn geometry_kind(self) -> GeometryKind {
        match self {
            Layer::Subdistrict | Layer::Community | Layer::PartyGrid | Layer::CommercialGrid => {
                GeometryKind::Areal
            }
            Layer::Compound => GeometryKind::ArealOrPoint,
            _ => GeometryKind::Point,
        }
    }

    /// The layer a feature's `parent` code refers to, if the layer has parents.
    ///
    /// Compounds and points are located by geometry, not by a parent code; a `parent` on them is
    /// kept as given but not checked.
    pub fn parent_layer(self) -> Option<Layer> {
        match self {
            Layer::Community => Some(Layer::Subdistrict),
            Layer::PartyGrid | Layer::CommercialGrid => Some(Layer::Community),
            _ => None,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// An unknown layer id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown layer {0:?} (expected one of subdistrict, community, party_grid, commercial_grid, compound, unit, shop, social_org, service_station, party_center, address)"
)]
pub struct UnknownLayer(pub String);

impl FromStr for Layer {
    type Err = UnknownLayer;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layer::ALL
            .into_iter()
            .find(|l| l.id() == s)
            .ok_or_else(|| UnknownLayer(s.to_string()))
    }
}

/// One feature as stored: the current state of a (layer, code).
///
/// Geometry is WGS84/CGCS2000 longitude-latitude (EPSG:4326/4490; the two differ by centimetres).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub layer: Layer,
    /// Unique within the layer; the feature's stable id together with the layer.
    pub code: String,
    pub name: String,
    /// Code of the parent feature (community for grids, subdistrict for communities).
    pub parent: Option<String>,
    /// Everything else: `households`, `residents`, `grid_worker`, `phone`, `address`, …
    pub properties: Properties,
    pub geometry: Geometry<f64>,
    /// Starts at 1 and grows by one with every committed change.
    pub version: i64,
}

impl Feature {
    /// `layer/code`, the key used in messages and maps.
    pub fn key(&self) -> FeatureKey {
        FeatureKey {
            layer: self.layer,
            code: self.code.clone(),
        }
    }
}

/// Identifies a feature: its layer and its code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeatureKey {
    pub layer: Layer,
    pub code: String,
}

impl fmt::Display for FeatureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.layer, self.code)
    }
}

/// The content of a feature a change writes; the store assigns the version.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDraft {
    pub layer: Layer,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub properties: Properties,
    pub geometry: Geometry<f64>,
}

impl FeatureDraft {
    pub fn key(&self) -> FeatureKey {
        FeatureKey {
            layer: self.layer,
            code: self.code.clone(),
        }
    }

    /// The feature this draft becomes at `version`.
    pub fn into_feature(self, version: i64) -> Feature {
        Feature {
            layer: self.layer,
            code: self.code,
            name: self.name,
            parent: self.parent,
            properties: self.properties,
            geometry: self.geometry,
            version,
        }
    }
}

impl From<Feature> for FeatureDraft {
    fn from(f: Feature) -> Self {
        FeatureDraft {
            layer: f.layer,
            code: f.code,
            name: f.name,
            parent: f.parent,
            properties: f.properties,
            geometry: f.geometry,
        }
    }
}

/// One change inside a change set.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create the feature or replace the one with the same (layer, code).
    Upsert {
        draft: FeatureDraft,
        /// When set, the change is refused unless the stored version equals it
        /// (0 means "must not exist yet").
        expected_version: Option<i64>,
    },
    /// Remove a feature.
    Delete {
        key: FeatureKey,
        expected_version: Option<i64>,
    },
}

impl Change {
    /// The draft an upsert writes; `None` for a delete.
    pub fn draft(&self) -> Option<&FeatureDraft> {
        match self {
            Change::Upsert { draft, .. } => Some(draft),
            Change::Delete { .. } => None,
        }
    }

    pub fn key(&self) -> FeatureKey {
        match self {
            Change::Upsert { draft, .. } => draft.key(),
            Change::Delete { key, .. } => key.clone(),
        }
    }
}

/// A set of changes committed together in one transaction, with who made it and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSet {
    pub author: String,
    pub message: String,
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// A change set that upserts every draft, each with the same version check (`Some(0)`: only
    /// new features; `None`: create or replace).
    pub fn upserts(
        author: impl Into<String>,
        message: impl Into<String>,
        drafts: impl IntoIterator<Item = FeatureDraft>,
        expected_version: Option<i64>,
    ) -> ChangeSet {
        ChangeSet {
            author: author.into(),
            message: message.into(),
            changes: drafts
                .into_iter()
                .map(|draft| Change::Upsert {
                    draft,
                    expected_version,
                })
                .collect(),
        }
    }
}

/// What a revision did to its feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "create" => Ok(Action::Create),
            "update" => Ok(Action::Update),
            "delete" => Ok(Action::Delete),
            other => Err(format!("unknown revision action {other:?}")),
        }
    }
}

/// The record of one change to one feature: who, when, why, and the states before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// Grows with every revision in the store; the store's data version is the largest id.
    pub id: i64,
    /// Revisions committed in the same transaction share a change set id.
    pub changeset: i64,
    pub key: FeatureKey,
    pub action: Action,
    pub author: String,
    pub message: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// State before the change (`None` for a create).
    pub old: Option<Feature>,
    /// State after the change (`None` for a delete).
    pub new: Option<Feature>,
}

/// What a committed change set did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitSummary {
    pub changeset: i64,
    pub created: usize,
    pub updated: usize,
    /// Upserts whose content equalled the stored feature: no new version, no revision.
    pub unchanged: usize,
    pub deleted: usize,
    /// The version each created or updated feature has now, in the order of the changes, so
    /// that a writer can answer from its own commit (unchanged upserts keep theirs).
    pub versions: Vec<(FeatureKey, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn layer_ids_round_trip() {
        for l in Layer::ALL {
            assert_eq!(l.id().parse::<Layer>().unwrap(), l);
            assert_eq!(
                serde_json::to_value(l).unwrap(),
                Value::String(l.id().into())
            );
        }
        let err = "grid".parse::<Layer>().unwrap_err();
        assert!(err.to_string().contains("\"grid\""));
    }

    #[test]
    fn parents_point_up_the_hierarchy() {
        assert_eq!(Layer::PartyGrid.parent_layer(), Some(Layer::Community));
        assert_eq!(Layer::Community.parent_layer(), Some(Layer::Subdistrict));
        assert_eq!(Layer::Subdistrict.parent_layer(), None);
        assert_eq!(Layer::Shop.parent_layer(), None);
    }
}
