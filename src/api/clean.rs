//! `POST /v1/clean`: the coverage cleaner ([`crate::edit::clean`]) over the live party grids,
//! its result staged as a new plan, so a planner previews (`GET /v1/plans/{id}/preview`) and
//! applies it like every plan, with history. `dry_run` answers what would change and stages
//! nothing. Nothing live changes either way.
//!
//! Body (every field optional): `{"community": "…", "fill_gaps": false, "sliver_width_m": 0.5,
//! "dry_run": false, "name": "…"}`. Needs a planner. Cleaning the city set is seconds of CPU, so
//! one clean runs at a time (a second is answered 409 at once) on the blocking pool.

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorResponse};
use super::extract::Planner;
use super::plans::{PlanBody, plan_body, plan_name, plans};
use crate::edit::clean::{CommunityClean, plan_clean, stage_plan};
use crate::model::Layer;

/// Body of `POST /v1/clean`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CleanRequest {
    /// Only this community (default: every one).
    #[schema(pattern = "^[0-9]{12}$")]
    pub community: Option<String>,
    /// Also give real gaps to the neighbour with the longest border.
    pub fill_gaps: bool,
    /// Gaps and overlaps narrower than this (m) are slivers; default 0.5.
    #[schema(minimum = 0, maximum = 10)]
    pub sliver_width_m: Option<f64>,
    /// Answer what would change; stage no plan.
    pub dry_run: bool,
    /// The plan's name (default "clean COMMUNITY" or "clean every community").
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
}

/// What the cleaner did (and the plan it staged, unless a dry run or nothing changed).
#[derive(Debug, Serialize, ToSchema)]
pub struct CleanAnswer {
    /// Party grids the plan changes.
    pub changed: usize,
    pub communities: Vec<CommunityClean>,
    /// The staged plan with its edits; absent for a dry run or when nothing would change.
    pub plan: Option<PlanBody>,
}

/// One clean at a time: it keeps every core busy for seconds on the city set.
static CLEANING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(1));

/// Clean the party grids' coverage and stage the result as a plan (needs a planner).
#[utoipa::path(post, path = "/v1/clean", tag = "plans",
    request_body = CleanRequest,
    responses((status = 201, description = "the plan staged, with what changes", body = CleanAnswer),
              (status = 200, description = "dry run, or nothing to change: what would change", body = CleanAnswer),
              (status = 400, description = "bad body", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such community", body = ErrorResponse),
              (status = 409, description = "another clean is running", body = ErrorResponse)))]
pub async fn post_clean(
    State(state): State<AppState>,
    Planner(who): Planner,
    body: Result<Json<CleanRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("expected {{\"community\", \"fill_gaps\", \"sliver_width_m\", \"dry_run\", \"name\"}}: {e}"),
        )
    })?;
    let sliver_width = body.sliver_width_m.unwrap_or(0.5);
    if !(sliver_width.is_finite() && (0.0..=10.0).contains(&sliver_width)) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("sliver_width_m: {sliver_width} must be a number of metres from 0 to 10"),
        ));
    }
    let snapshot = state.snapshot.current();
    if let Some(c) = &body.community
        && snapshot.find(Layer::Community, c).is_none()
    {
        return Err(ApiError::NotFound(format!(
            "community {c:?}: no such community"
        )));
    }
    let name = match (&body.name, &body.community) {
        (Some(n), _) => plan_name(n)?.to_string(),
        (None, Some(c)) => format!("clean {c}"),
        (None, None) => "clean every community".to_string(),
    };
    let _permit = CLEANING.try_acquire().map_err(|_| {
        ApiError::Conflict("a clean is running already; try again when it has finished".into())
    })?;
    let community = body.community.clone();
    let fill_gaps = body.fill_gaps;
    let (edits, communities) = tokio::task::spawn_blocking(move || {
        plan_clean(&snapshot, community.as_deref(), sliver_width, fill_gaps)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("cleaning: {e}")))?;
    let changed = edits.len();
    if body.dry_run || edits.is_empty() {
        let answer = CleanAnswer {
            changed,
            communities,
            plan: None,
        };
        return Ok(Json(answer).into_response());
    }
    let plan = stage_plan(plans(&state)?, &name, &who.name, &edits).await?;
    let answer = CleanAnswer {
        changed,
        communities,
        plan: Some(plan_body(&state, plan).await?),
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
