//! `POST /v1/attributes/{layer}`: a grid office's monthly table (households, residents, grid
//! worker and phone … keyed by code, as CSV or `.xlsx`) applied to the features it names, in one
//! change set, or previewed with `dry_run=true`. The reading and the rules are
//! [`crate::io::attributes`]; this is the HTTP edge.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorResponse};
use super::extract::{Params, Planner};
use crate::edit::service;
use crate::io::attributes::{self, AttributeError, Update};
use crate::model::Layer;

/// The query parameters of an attribute table.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttributeParams {
    /// Say what the table would change; write nothing.
    dry_run: Option<bool>,
    /// The change message (default: "attributes from a table").
    message: Option<String>,
}

/// What a table changed (or, in a dry run, would change).
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeAnswer {
    pub dry_run: bool,
    /// The features changed, with each field before and after.
    pub updates: Vec<Update>,
    /// Rows that matched a feature and changed nothing.
    pub unchanged: usize,
    /// Headers of columns that were not read.
    pub ignored_columns: Vec<String>,
    /// The change set written (none in a dry run or when nothing changed).
    pub changeset: Option<i64>,
}

impl From<AttributeError> for ApiError {
    fn from(e: AttributeError) -> Self {
        let reasons = match &e {
            AttributeError::Rows { errors, .. } => errors.clone(),
            other => vec![other.to_string()],
        };
        ApiError::Unprocessable {
            message: match &e {
                AttributeError::Rows { total, .. } => {
                    format!("{total} row(s) are invalid; nothing was changed")
                }
                other => other.to_string(),
            },
            reasons,
        }
    }
}

/// Apply an attribute table (needs a planner). The body is the file: CSV (UTF-8, with or
/// without a byte-order mark, or GBK) or an Excel workbook (its first sheet). All or nothing.
#[utoipa::path(post, path = "/v1/attributes/{layer}", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "The layer whose features the table names, e.g. party_grid"),
           AttributeParams),
    request_body(content = String, description = "The table: columns 编码 (code) and any of 名称, 户数, 人口, 网格员, 网格员电话 (or 联系电话), 网格长, 网格长电话, 党组织, 办公地址, 办公电话, 地址, 电话 (English keys also read). An empty cell leaves the field as it is.",
        content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "What changed (or would change)", body = AttributeAnswer),
              (status = 400, description = "An unknown or malformed parameter", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such layer", body = ErrorResponse),
              (status = 412, description = "a feature was edited while the table was read: read it again", body = ErrorResponse),
              (status = 413, description = "more than 100,000 rows, or a body over the size limit", body = ErrorResponse),
              (status = 422, description = "the table is refused: every bad row named", body = ErrorResponse)))]
pub async fn post_attributes(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    Params(q): Params<AttributeParams>,
    _headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(layer) = path?;
    let layer: Layer = layer
        .parse()
        .map_err(|e: crate::model::UnknownLayer| ApiError::NotFound(e.to_string()))?;
    let body = body.map_err(ApiError::from_body_rejection)?;
    let view = state.snapshot.current();
    let reading = view.clone();
    // Unzipping a workbook and reading 100,000 rows is CPU work: off the async threads.
    let plan = tokio::task::spawn_blocking(move || attributes::plan(&body, layer, &reading))
        .await
        .map_err(|e| ApiError::Internal(format!("reading the table: {e}")))?
        .map_err(|e| match e {
            AttributeError::Table(crate::io::table::TableError::TooMany(n)) => {
                ApiError::PayloadTooLarge(format!("more than {} rows", n - 1))
            }
            e => e.into(),
        })?;
    let dry_run = q.dry_run.unwrap_or(false);
    let changeset = if dry_run || plan.changes.is_empty() {
        None
    } else {
        let message = q
            .message
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| format!("attributes of {} from a table", layer.id()));
        let committed = service::commit(
            state.store.as_ref(),
            &view,
            who.name.clone(),
            message,
            plan.changes,
        )
        .await?;
        super::sync::publish_after_commit(&state).await;
        Some(committed.changeset)
    };
    Ok(Json(AttributeAnswer {
        dry_run,
        updates: plan.updates,
        unchanged: plan.unchanged,
        ignored_columns: plan.ignored_columns,
        changeset,
    })
    .into_response())
}
