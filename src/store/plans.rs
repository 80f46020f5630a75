//! Plans (proposals) in both stores: `gridmap_plans` and `gridmap_plan_edits` (migrations
//! `sqlite/0003_plans.sql` and `postgres/0004_plans.sql`).
//!
//! A plan holds, per feature it touches, the feature as the plan leaves it (or nothing, for a
//! delete) and the live version it was based on. The live features are not touched until the
//! plan is applied, which is an ordinary [`super::Store::commit`] whose changes expect those base
//! versions. As with credentials, the SQL is the same text for both backends and each method is
//! written once as a macro body over the pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::StoreError;
use super::gpkg::GpkgStore;
use super::postgis::PostgisStore;
use crate::model::{FeatureDraft, FeatureKey, Layer, Properties};

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Open,
    Applied,
    Discarded,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Open => "open",
            PlanStatus::Applied => "applied",
            PlanStatus::Discarded => "discarded",
        }
    }

    fn parse(s: &str) -> Result<PlanStatus, StoreError> {
        match s {
            "open" => Ok(PlanStatus::Open),
            "applied" => Ok(PlanStatus::Applied),
            "discarded" => Ok(PlanStatus::Discarded),
            other => Err(StoreError::Corrupt {
                what: "plan status".into(),
                detail: format!("{other:?}"),
            }),
        }
    }
}

/// A plan as listed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlanInfo {
    pub id: i64,
    pub name: String,
    pub author: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub status: PlanStatus,
    /// Grows with every staged edit.
    pub revision: i64,
    pub closed_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<Utc>>,
    /// The change set an applied plan became.
    pub changeset: Option<i64>,
}

/// One feature as a plan leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEdit {
    pub key: FeatureKey,
    /// The live version the edit was based on; 0 when the plan creates the feature.
    pub base_version: i64,
    /// The feature after the plan; `None` when the plan deletes it.
    pub draft: Option<FeatureDraft>,
}

/// Storage of plans.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// A new open plan.
    async fn create_plan(&self, name: &str, author: &str) -> Result<PlanInfo, StoreError>;
    /// Every plan, newest first.
    async fn plans(&self) -> Result<Vec<PlanInfo>, StoreError>;
    async fn plan(&self, id: i64) -> Result<Option<PlanInfo>, StoreError>;
    /// The plan's edits in layer and code order.
    async fn plan_edits(&self, id: i64) -> Result<Vec<PlanEdit>, StoreError>;
    /// Record `edits` in an open plan whose revision is still `revision`, replacing its earlier
    /// edits of the same features; an edit that deletes a feature the plan created (base 0, no
    /// draft) removes it from the plan. The plan's new revision. [`StoreError::Conflict`] when the
    /// plan is not open or its revision moved.
    async fn stage(&self, id: i64, revision: i64, edits: &[PlanEdit]) -> Result<i64, StoreError>;
    /// Close an open plan as applied (with its change set) or discarded; false when it was not
    /// open.
    async fn close_plan(
        &self,
        id: i64,
        status: PlanStatus,
        by: &str,
        changeset: Option<i64>,
    ) -> Result<bool, StoreError>;
}

/// A draft as stored: name, parent, properties and a GeoJSON geometry.
fn encode(draft: &FeatureDraft) -> String {
    let mut o = Map::new();
    o.insert("name".into(), Value::from(draft.name.clone()));
    o.insert(
        "parent".into(),
        draft.parent.clone().map_or(Value::Null, Value::from),
    );
    o.insert(
        "properties".into(),
        serde_json::to_value(&draft.properties).unwrap_or_default(),
    );
    o.insert(
        "geometry".into(),
        serde_json::to_value(geojson::Geometry::from(&draft.geometry)).unwrap_or_default(),
    );
    Value::Object(o).to_string()
}

fn decode(key: &FeatureKey, text: &str) -> Result<FeatureDraft, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        what: format!("plan edit {key}"),
        detail,
    };
    #[derive(serde::Deserialize)]
    struct Stored {
        name: String,
        parent: Option<String>,
        properties: Properties,
        geometry: geojson::Geometry,
    }
    let s: Stored = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    Ok(FeatureDraft {
        layer: key.layer,
        code: key.code.clone(),
        name: s.name,
        parent: s.parent,
        properties: s.properties,
        geometry: s.geometry.try_into().map_err(|e| corrupt(format!("{e}")))?,
    })
}

type PlanRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    String,
    i64,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<i64>,
);

const PLAN_COLUMNS: &str =
    "id, name, author, created_at, status, revision, closed_by, closed_at, changeset";

fn plan_info(r: PlanRow) -> Result<PlanInfo, StoreError> {
    Ok(PlanInfo {
        id: r.0,
        name: r.1,
        author: r.2,
        created_at: r.3,
        status: PlanStatus::parse(&r.4)?,
        revision: r.5,
        closed_by: r.6,
        closed_at: r.7,
        changeset: r.8,
    })
}

fn edit(row: (String, String, i64, Option<String>)) -> Result<PlanEdit, StoreError> {
    let (layer, code, base_version, feature) = row;
    let layer: Layer = layer.parse().map_err(|e| StoreError::Corrupt {
        what: format!("plan edit {layer}/{code}"),
        detail: format!("{e}"),
    })?;
    let key = FeatureKey { layer, code };
    let draft = feature.as_deref().map(|t| decode(&key, t)).transpose()?;
    Ok(PlanEdit {
        key,
        base_version,
        draft,
    })
}

macro_rules! plan_store {
    ($store:ty) => {
        #[async_trait]
        impl PlanStore for $store {
            async fn create_plan(&self, name: &str, author: &str) -> Result<PlanInfo, StoreError> {
                let row: PlanRow = sqlx::query_as(&format!(
                    "INSERT INTO gridmap_plans (name, author, created_at) VALUES ($1, $2, $3) \
                     RETURNING {PLAN_COLUMNS}"
                ))
                .bind(name)
                .bind(author)
                .bind(Utc::now())
                .fetch_one(&self.pool)
                .await?;
                plan_info(row)
            }

            async fn plans(&self) -> Result<Vec<PlanInfo>, StoreError> {
                let rows: Vec<PlanRow> = sqlx::query_as(&format!(
                    "SELECT {PLAN_COLUMNS} FROM gridmap_plans ORDER BY id DESC"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(plan_info).collect()
            }

            async fn plan(&self, id: i64) -> Result<Option<PlanInfo>, StoreError> {
                let row: Option<PlanRow> = sqlx::query_as(&format!(
                    "SELECT {PLAN_COLUMNS} FROM gridmap_plans WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(plan_info).transpose()
            }

            async fn plan_edits(&self, id: i64) -> Result<Vec<PlanEdit>, StoreError> {
                let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
                    "SELECT layer, code, base_version, feature FROM gridmap_plan_edits \
                     WHERE plan_id = $1 ORDER BY layer, code",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(edit).collect()
            }

            async fn stage(
                &self,
                id: i64,
                revision: i64,
                edits: &[PlanEdit],
            ) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin().await?;
                // Bump first: the row lock (or SQLite's write lock) orders concurrent stagings,
                // and the WHERE refuses a closed plan or a moved revision.
                let next: Option<i64> = sqlx::query_scalar(
                    "UPDATE gridmap_plans SET revision = revision + 1 \
                     WHERE id = $1 AND status = 'open' AND revision = $2 RETURNING revision",
                )
                .bind(id)
                .bind(revision)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(next) = next else {
                    return Err(StoreError::Conflict(format!(
                        "plan {id} is not open, or another edit was staged in it meanwhile"
                    )));
                };
                for e in edits {
                    let layer = e.key.layer.id();
                    if e.draft.is_none() && e.base_version == 0 {
                        sqlx::query(
                            "DELETE FROM gridmap_plan_edits \
                             WHERE plan_id = $1 AND layer = $2 AND code = $3",
                        )
                        .bind(id)
                        .bind(layer)
                        .bind(&e.key.code)
                        .execute(&mut *tx)
                        .await?;
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO gridmap_plan_edits (plan_id, layer, code, base_version, feature) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (plan_id, layer, code) DO UPDATE \
                         SET base_version = excluded.base_version, feature = excluded.feature",
                    )
                    .bind(id)
                    .bind(layer)
                    .bind(&e.key.code)
                    .bind(e.base_version)
                    .bind(e.draft.as_ref().map(encode))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(next)
            }

            async fn close_plan(
                &self,
                id: i64,
                status: PlanStatus,
                by: &str,
                changeset: Option<i64>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE gridmap_plans SET status = $1, closed_by = $2, closed_at = $3, \
                     changeset = $4 WHERE id = $5 AND status = 'open'",
                )
                .bind(status.as_str())
                .bind(by)
                .bind(Utc::now())
                .bind(changeset)
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

plan_store!(GpkgStore);
plan_store!(PostgisStore);
