//! `GET /v1/grids/{layer}/{code}/summary`: one grid's figures, contacts and what lies inside it,
//! for the map page's side panel. The counting is [`crate::grids`]; this is the HTTP edge.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};

use super::AppState;
use super::error::ApiError;
use crate::grids::{self, GridSummary, SummaryError};
use crate::model::Layer;

impl From<SummaryError> for ApiError {
    fn from(e: SummaryError) -> ApiError {
        match e {
            SummaryError::NotAGridLayer(_) => ApiError::bad_request("invalid_layer", e.to_string()),
            SummaryError::NotFound(..) => ApiError::NotFound(e.to_string()),
        }
    }
}

/// One grid (party or commercial), community or subdistrict with the compounds, shops, units and
/// organisations inside it. A point on an edge shared by two party grids counts in the one a
/// lookup names; commercial grids count every point in their closure (they overlap).
#[utoipa::path(
    get,
    path = "/v1/grids/{layer}/{code}/summary",
    params(
        ("layer" = super::openapi::params::SchemeLayer, Path, description = "party_grid, commercial_grid, community or subdistrict"),
        ("code" = String, Path, description = "The feature's code"),
    ),
    responses(
        (status = 200, description = "The grid's figures, contacts and contents", body = GridSummary),
        (status = 400, description = "An unknown layer, or one without summaries", body = super::error::ErrorResponse),
        (status = 404, description = "No feature with that code", body = super::error::ErrorResponse),
    ),
    tag = "grids"
)]
pub async fn get_grid_summary(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<GridSummary>, ApiError> {
    let Path((layer, code)) = path?;
    let layer: Layer = layer.parse().map_err(|e: crate::model::UnknownLayer| {
        ApiError::bad_request("invalid_layer", e.to_string())
    })?;
    let snapshot = state.snapshot.current();
    // Counting walks the point layers in the grid's box: cheap for one grid, but CPU work all
    // the same, so it runs off the async threads.
    tokio::task::spawn_blocking(move || grids::summary(&snapshot, layer, &code))
        .await
        .map_err(|e| ApiError::Internal(format!("grid summary failed: {e}")))?
        .map(Json)
        .map_err(ApiError::from)
}
