//! Plans (proposals): a named set of edits that leaves the live map alone until it is applied.
//!
//! - `POST /v1/plans` `{"name"}` opens one; `GET /v1/plans` lists them; `GET /v1/plans/{id}`
//!   shows one with its edits.
//! - Edits are staged with the ordinary feature endpoints plus `?plan=ID` (`PUT`, `POST`,
//!   `DELETE`, split, merge, revert, also `neighbours=adjust` and `dry_run`): they are validated
//!   against the plan's view of the map (the live features with the plan's edits applied) and
//!   recorded in the plan with the live version each was based on.
//! - `GET /v1/plans/{id}/preview`: the plan's coverage and household balance beside the live
//!   ones ([`crate::edit::preview`]), and the edits whose features changed live since staging.
//! - `POST /v1/plans/{id}/apply`: one commit of all its edits, each expecting the version it was
//!   based on, after validating the plan's view again; refused (409 with the reasons) when the
//!   live data changed underneath, 422 when the result breaks a rule; nothing written then.
//! - `DELETE /v1/plans/{id}` discards it. Applied and discarded plans are kept, closed.
//!
//! Every plan endpoint needs a planner.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorResponse};
use super::extract::{Params, Planner};
use crate::auth::Principal;
use crate::edit::{preview, service};
use crate::model::{Change, Feature};
use crate::snapshot::Snapshot;
use crate::store::{PlanEdit, PlanInfo, PlanStatus, PlanStore};
use crate::views::ViewKey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/plans", post(post_plan).get(get_plans))
        .route("/v1/plans/{id}", get(get_plan).delete(delete_plan))
        .route("/v1/plans/{id}/preview", get(get_preview))
        .route("/v1/plans/{id}/apply", post(post_apply))
        .route("/v1/clean", post(super::clean::post_clean))
}

pub(super) fn plans(state: &AppState) -> Result<&dyn PlanStore, ApiError> {
    state
        .store
        .plan_store()
        .ok_or_else(|| ApiError::NotFound("this store keeps no plans".into()))
}

fn id_of(
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<i64, ApiError> {
    let Path(id) = path?;
    id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("plan id: expected a number, found {id:?}"),
        )
    })
}

/// The plan, which must exist (404).
async fn plan_of(state: &AppState, id: i64) -> Result<PlanInfo, ApiError> {
    plans(state)?
        .plan(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {id}: no such plan")))
}

/// The plan, which must exist (404) and be open (409).
async fn open_plan(state: &AppState, id: i64) -> Result<PlanInfo, ApiError> {
    let plan = plan_of(state, id).await?;
    if plan.status != PlanStatus::Open {
        return Err(ApiError::Conflict(format!(
            "plan {id} is {}; only an open plan can be viewed, changed or applied",
            plan.status.as_str()
        )));
    }
    Ok(plan)
}

/// The plan's edits as changes, each expecting the live version it was based on.
fn changes_of(edits: Vec<PlanEdit>) -> Vec<Change> {
    edits
        .into_iter()
        .map(|e| match e.draft {
            Some(draft) => Change::Upsert {
                draft,
                expected_version: Some(e.base_version),
            },
            None => Change::Delete {
                key: e.key,
                expected_version: Some(e.base_version),
            },
        })
        .collect()
}

/// The map as plan `id` would leave it (cached by plan revision and live version).
pub async fn view(state: &AppState, id: i64) -> Result<Arc<Snapshot>, ApiError> {
    let plan = open_plan(state, id).await?;
    let live = state.snapshot.current();
    let key = ViewKey::Plan {
        id,
        revision: plan.revision,
        live: live.data_version,
    };
    state
        .views
        .get_or_build(key, async {
            let changes = changes_of(plans(state)?.plan_edits(id).await?);
            tokio::task::spawn_blocking(move || {
                Arc::new(Snapshot::new(
                    live.data_version,
                    preview::apply(live.features(), &changes),
                ))
            })
            .await
            .map_err(|e| ApiError::Internal(format!("building plan {id}'s view: {e}")))
        })
        .await
}

/// One staged edit as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditEntry {
    /// create, update or delete, relative to the live map.
    pub action: String,
    pub layer: String,
    pub code: String,
    /// The live version the edit was based on (0 for a create).
    pub base_version: i64,
    /// The live version now (0 when absent); differs from `base_version` when the feature
    /// changed underneath the plan.
    pub live_version: i64,
    /// The feature as the plan leaves it (GeoJSON), `null` for a delete.
    #[schema(value_type = Option<Object>)]
    pub feature: Option<Value>,
}

/// A plan with its edits.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanBody {
    pub plan: PlanInfo,
    pub edits: Vec<EditEntry>,
}

pub async fn plan_body(state: &AppState, plan: PlanInfo) -> Result<PlanBody, ApiError> {
    let live = state.snapshot.current();
    let edits = plans(state)?
        .plan_edits(plan.id)
        .await?
        .into_iter()
        .map(|e| {
            let live_version = live.get(&e.key).map_or(0, |f| f.version);
            EditEntry {
                action: match (&e.draft, e.base_version) {
                    (None, _) => "delete",
                    (Some(_), 0) => "create",
                    _ => "update",
                }
                .into(),
                layer: e.key.layer.id().into(),
                code: e.key.code.clone(),
                base_version: e.base_version,
                live_version,
                feature: e.draft.map(|d| {
                    let f: Feature = d.into_feature(e.base_version + 1);
                    serde_json::to_value(geojson::Feature::from(&f)).unwrap_or_default()
                }),
            }
        })
        .collect();
    Ok(PlanBody { plan, edits })
}

/// Stage `changes` (made against the plan's view) in plan `id`: each keeps the live version its
/// feature had when the plan first touched it. The plan with its edits.
pub async fn stage(
    state: &AppState,
    _who: &Principal,
    id: i64,
    changes: Vec<Change>,
) -> Result<PlanBody, ApiError> {
    let plan = open_plan(state, id).await?;
    let store = plans(state)?;
    let based: HashMap<_, _> = store
        .plan_edits(id)
        .await?
        .into_iter()
        .map(|e| (e.key, e.base_version))
        .collect();
    let live = state.snapshot.current();
    let edits: Vec<PlanEdit> = changes
        .into_iter()
        .map(|c| {
            let key = c.key();
            let base_version = based
                .get(&key)
                .copied()
                .unwrap_or_else(|| live.get(&key).map_or(0, |f| f.version));
            PlanEdit {
                key,
                base_version,
                draft: match c {
                    Change::Upsert { draft, .. } => Some(draft),
                    Change::Delete { .. } => None,
                },
            }
        })
        .collect();
    store.stage(id, plan.revision, &edits).await?;
    let plan = open_plan(state, id).await?;
    plan_body(state, plan).await
}

/// Edits whose feature changed live since the plan was based on it.
fn stale_edits(live: &Snapshot, changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| {
            let (key, base) = match c {
                Change::Upsert {
                    draft,
                    expected_version,
                } => (draft.key(), expected_version.unwrap_or(0)),
                Change::Delete {
                    key,
                    expected_version,
                } => (key.clone(), expected_version.unwrap_or(0)),
            };
            let now = live.get(&key).map_or(0, |f| f.version);
            (now != base).then(|| match (base, now) {
                (0, _) => format!("{key}: the plan creates it, but it exists now (version {now})"),
                (_, 0) => format!("{key}: deleted since the plan was based on version {base}"),
                _ => format!(
                    "{key}: changed since the plan was based on version {base}; it is version {now} now"
                ),
            })
        })
        .collect()
}

/// Body of `POST /v1/plans`.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct NewPlan {
    /// 1 to 200 characters, not all spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
}

/// Open a new plan (needs a planner).
#[utoipa::path(post, path = "/v1/plans", tag = "plans",
    request_body = NewPlan,
    responses((status = 201, description = "the new plan", body = PlanBody),
              (status = 400, description = "bad body", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse)))]
pub async fn post_plan(
    State(state): State<AppState>,
    Planner(who): Planner,
    body: Result<Json<NewPlan>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request("invalid_body", format!("expected {{\"name\": text}}: {e}"))
    })?;
    let name = plan_name(&body.name)?;
    let plan = plans(&state)?.create_plan(name, &who.name).await?;
    Ok((StatusCode::CREATED, Json(plan_body(&state, plan).await?)).into_response())
}

/// A plan's name, trimmed: 1 to 200 characters.
pub(super) fn plan_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "invalid_body",
            "name: give the plan a name of 1 to 200 characters",
        ));
    }
    Ok(name)
}

/// Every plan, newest first.
#[utoipa::path(get, path = "/v1/plans", tag = "plans",
    responses((status = 200, description = "the plans", body = [PlanInfo]),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse)))]
pub async fn get_plans(
    State(state): State<AppState>,
    _: Planner,
) -> Result<Json<Vec<PlanInfo>>, ApiError> {
    Ok(Json(plans(&state)?.plans().await?))
}

/// One plan with its edits.
#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    responses((status = 200, description = "the plan and its edits", body = PlanBody),
              (status = 404, description = "no such plan", body = ErrorResponse)))]
pub async fn get_plan(
    State(state): State<AppState>,
    _: Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanBody>, ApiError> {
    let id = id_of(path)?;
    let plan = plan_of(&state, id).await?;
    Ok(Json(plan_body(&state, plan).await?))
}

/// The plan's preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanPreview {
    pub plan: PlanInfo,
    /// Edits whose features changed live since the plan was based on them; applying refuses
    /// while any is listed.
    pub conflicts: Vec<String>,
    #[serde(flatten)]
    pub preview: preview::Preview,
}

/// The plan's coverage and household balance beside the live ones.
#[utoipa::path(get, path = "/v1/plans/{id}/preview", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    responses((status = 200, description = "live and planned coverage of the touched communities", body = PlanPreview),
              (status = 404, description = "no such plan", body = ErrorResponse),
              (status = 409, description = "the plan is closed", body = ErrorResponse)))]
pub async fn get_preview(
    State(state): State<AppState>,
    _: Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanPreview>, ApiError> {
    let id = id_of(path)?;
    let plan = open_plan(&state, id).await?;
    let changes = changes_of(plans(&state)?.plan_edits(id).await?);
    let live = state.snapshot.current();
    let (conflicts, preview) = tokio::task::spawn_blocking(move || {
        (
            stale_edits(&live, &changes),
            preview::preview(&live, &changes),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("previewing plan {id}: {e}")))?;
    Ok(Json(PlanPreview {
        plan,
        conflicts,
        preview,
    }))
}

/// Body of `apply` (optional).
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
pub struct ApplyPlan {
    pub message: Option<String>,
}

/// The query parameters of applying a plan.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApplyParams {
    /// Accept overlaps with sibling party grids.
    allow_overlap: Option<bool>,
}

/// Apply the plan in one transaction.
#[utoipa::path(post, path = "/v1/plans/{id}/apply", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id"), ApplyParams),
    request_body(content = Option<ApplyPlan>, description = "optional: the change message"),
    responses((status = 200, description = "applied; the closed plan", body = PlanBody),
              (status = 404, description = "no such plan", body = ErrorResponse),
              (status = 409, description = "the plan is closed, or its features changed underneath (details.reasons)", body = ErrorResponse),
              (status = 422, description = "the planned map breaks a rule (details.reasons)", body = ErrorResponse)))]
pub async fn post_apply(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    Params(q): Params<ApplyParams>,
    body: Bytes,
) -> Result<Json<PlanBody>, ApiError> {
    let id = id_of(path)?;
    let body: ApplyPlan = if body.iter().all(u8::is_ascii_whitespace) {
        ApplyPlan::default()
    } else {
        // `null` is no body, as the document's optional body allows.
        serde_json::from_slice::<Option<ApplyPlan>>(&body)
            .map(Option::unwrap_or_default)
            .map_err(|e| {
                ApiError::bad_request(
                    "invalid_body",
                    format!("expected {{\"message\": text}}: {e}"),
                )
            })?
    };
    let plan = open_plan(&state, id).await?;
    let changes = changes_of(plans(&state)?.plan_edits(id).await?);
    if changes.is_empty() {
        return Err(ApiError::Unprocessable {
            message: format!("plan {id} has no edits; nothing was written"),
            reasons: vec![format!("plan {id}: no edits staged")],
        });
    }
    let conflicts = stale_edits(&state.snapshot.current(), &changes);
    if !conflicts.is_empty() {
        return Err(ApiError::Stale {
            message: format!(
                "plan {id}: {} of its features changed underneath it; nothing was written",
                conflicts.len()
            ),
            reasons: conflicts,
        });
    }
    // The planned map must keep every rule, as each edit did when staged: check it again over
    // the view, which now sits on the current live data.
    let view = view(&state, id).await?;
    let opts = super::features::options(&state, q.allow_overlap.unwrap_or(false));
    let drafts: Vec<_> = changes.iter().filter_map(Change::draft).cloned().collect();
    service::check(view.clone(), drafts, vec![], opts)
        .await
        .map_err(|e| match e {
            service::EditError::Refused(reasons) => ApiError::Unprocessable {
                message: format!(
                    "plan {id} breaks {} rule(s); nothing was written",
                    reasons.len()
                ),
                reasons,
            },
            e => e.into(),
        })?;
    let message = body
        .message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| format!("apply plan {id}: {}", plan.name));
    let committed = service::commit(
        state.store.as_ref(),
        &view,
        who.name.clone(),
        message,
        changes,
    )
    .await
    .map_err(|e| match e {
        service::EditError::Store(e @ crate::store::StoreError::VersionConflict { .. }) => {
            ApiError::Stale {
                message: format!("plan {id}: a feature changed underneath it; nothing was written"),
                reasons: vec![e.to_string()],
            }
        }
        e => e.into(),
    })?;
    // The commit and the closing are two statements: were the process to stop between them, the
    // plan would stay open, and applying it again would be refused as stale (its base versions
    // are gone), so nothing is ever applied twice.
    plans(&state)?
        .close_plan(
            id,
            PlanStatus::Applied,
            &who.name,
            Some(committed.changeset),
        )
        .await?;
    super::sync::publish_after_commit(&state).await;
    let plan = plan_of(&state, id).await?;
    Ok(Json(plan_body(&state, plan).await?))
}

/// Discard an open plan (it is kept, closed).
#[utoipa::path(delete, path = "/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    responses((status = 200, description = "discarded; the closed plan", body = PlanBody),
              (status = 404, description = "no such plan", body = ErrorResponse),
              (status = 409, description = "the plan is closed already", body = ErrorResponse)))]
pub async fn delete_plan(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PlanBody>, ApiError> {
    let id = id_of(path)?;
    open_plan(&state, id).await?;
    if !plans(&state)?
        .close_plan(id, PlanStatus::Discarded, &who.name, None)
        .await?
    {
        return Err(ApiError::Conflict(format!("plan {id} is closed already")));
    }
    let plan = plan_of(&state, id).await?;
    Ok(Json(plan_body(&state, plan).await?))
}

/// The OpenAPI description of the plan endpoints, merged into `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        post_plan,
        get_plans,
        get_plan,
        get_preview,
        post_apply,
        delete_plan,
        super::clean::post_clean
    ),
    components(schemas(
        NewPlan,
        ApplyPlan,
        super::clean::CleanRequest,
        super::clean::CleanAnswer,
        crate::edit::clean::CommunityClean,
        crate::coverage::clean::PartChange,
        PlanBody,
        EditEntry,
        PlanInfo,
        PlanStatus,
        PlanPreview,
        preview::Preview,
        preview::PreviewChange,
        preview::CoverageEffect,
        preview::GridEffect
    ))
)]
pub struct PlansDoc;
