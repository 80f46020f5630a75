//! `GET /v1/rosters`: the grid rosters ([`crate::roster`]) of a community or of the whole store,
//! as an Excel workbook (a sheet of grids, then one per listed layer) or one table as CSV. They
//! gather names and phone numbers, so they need a signed-in viewer even when reads are open.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::{ApiError, ErrorResponse};
use super::extract::{Params, Viewer};
use crate::io::sheet;
use crate::model::Layer;
use crate::roster::{self, RosterError};

/// The query parameters of a roster.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RosterParams {
    /// Only this community (its code); every community when absent.
    community: Option<String>,
    /// `xlsx` (default): every table in one workbook (or only `table`); `csv`: one table.
    #[param(value_type = Option<RosterFormat>)]
    format: Option<String>,
    /// `party_grid` (the default for csv), `compound`, `unit`, `shop` or `social_org`.
    #[param(value_type = Option<RosterTable>)]
    table: Option<String>,
}

/// The forms of a roster.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "lowercase")]
pub enum RosterFormat {
    Xlsx,
    Csv,
}

/// The tables of a roster.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
pub enum RosterTable {
    PartyGrid,
    Compound,
    Unit,
    Shop,
    SocialOrg,
}

/// The rosters of every party grid: its contacts and figures, and the compounds, units, shops
/// and social organisations in it (features in no grid listed with the grid left empty).
#[utoipa::path(get, path = "/v1/rosters", tag = "grids",
    params(RosterParams),
    responses((status = 200, description = "The workbook, or one table as CSV (UTF-8 with a byte-order mark, or GBK for Accept-Charset: gbk), as a download named in Chinese",
                content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
              (status = 400, description = "An unknown or malformed parameter", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 404, description = "no such community", body = ErrorResponse)))]
pub async fn get_rosters(
    State(state): State<AppState>,
    Viewer(_viewer): Viewer,
    Params(q): Params<RosterParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("xlsx") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("format {other:?} is not one of xlsx, csv"),
            ));
        }
    };
    // The sheet `table` names: 0 is the grids, then roster::LISTED in order.
    let sheet_at = match q.table.as_deref() {
        None => 0,
        Some(t) => {
            let layer: Option<Layer> = t.parse().ok();
            match layer {
                Some(Layer::PartyGrid) => 0,
                Some(l) if roster::LISTED.contains(&l) => {
                    1 + roster::LISTED.iter().position(|&x| x == l).unwrap_or(0)
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_parameter",
                        format!(
                            "table {t:?} is not one of party_grid, compound, unit, shop, social_org"
                        ),
                    ));
                }
            }
        }
    };
    let snapshot = state.snapshot.current();
    let community = q.community.clone();
    let sheets =
        tokio::task::spawn_blocking(move || roster::roster(&snapshot, community.as_deref()))
            .await
            .map_err(|e| ApiError::Internal(format!("roster failed: {e}")))?
            .map_err(|e| match e {
                RosterError::NoCommunity(_) => ApiError::NotFound(e.to_string()),
            })?;
    let scope = q
        .community
        .as_deref()
        .map_or(String::new(), |c| format!("-{c}"));
    if csv {
        let sheet = &sheets[sheet_at];
        let bytes = sheet::csv(sheet, sheet::Charset::Utf8);
        let table = match sheet_at {
            0 => "party_grid",
            i => roster::LISTED[i - 1].id(),
        };
        return Ok(super::download::csv(
            &headers,
            &format!("网格台账{scope}-{}.csv", sheet.name),
            &format!("roster{scope}-{table}.csv"),
            bytes,
        ));
    }
    // The workbook holds every table, or only the one `table` names.
    let sheets = match q.table {
        Some(_) => vec![sheets[sheet_at].clone()],
        None => sheets,
    };
    let bytes = sheet::xlsx(&sheets)
        .map_err(|e| ApiError::Internal(format!("cannot write the workbook: {e}")))?;
    Ok(super::download::xlsx(
        &format!("网格台账{scope}.xlsx"),
        &format!("roster{scope}.xlsx"),
        bytes,
    ))
}
