//! `GET /v1/reports/coverage`: the coverage-gap report (see [`crate::coverage`]) in JSON,
//! GeoJSON, CSV or HTML, for the current data or `as_of` a past date.
//!
//! The report is heavy (boolean operations over every community), so it runs on the blocking
//! pool, never on the async threads.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::Params;
use crate::coverage::asof::parse_as_of;
use crate::coverage::render::{Format, UnknownFormat, render};
use crate::coverage::{self, CoverageError, CoverageOptions, CoverageReport};
use crate::memo::Memo;
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};
use crate::views::{self, AsOfError, ViewCache};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Options(#[from] CoverageError),
    #[error(transparent)]
    AsOf(#[from] AsOfError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the report failed: {0}")]
    Failed(String),
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        match e {
            ReportError::Options(e @ CoverageError::UnknownCommunity(_)) => {
                ApiError::NotFound(e.to_string())
            }
            ReportError::Options(e) => ApiError::bad_request("invalid_parameter", e.to_string()),
            ReportError::AsOf(e) => ApiError::from(e),
            ReportError::Store(e) => ApiError::Store(e),
            ReportError::Failed(m) => ApiError::Internal(m),
        }
    }
}

/// The last few reports by data version and options, made one at a time ([`Memo`]): twenty
/// requests for the same report make it once, and requests for different ones never make more
/// than one at a time (each takes every core of the report pool).
pub type ReportCache = Memo<String, CoverageReport>;

/// Reports kept (a city's is tens of megabytes with its geometries).
const REPORTS_KEPT: usize = 4;

impl Default for ReportCache {
    fn default() -> Self {
        Memo::new(REPORTS_KEPT, |_| 1)
    }
}

/// Make the report over `current`, or over the features as they stood at `as_of` (a date or an
/// RFC 3339 timestamp) replayed from the store's revisions; the work runs on the report pool.
/// With a cache, a report already made for the same data and options is answered from it.
pub async fn make_report(
    store: &dyn Store,
    current: Arc<Snapshot>,
    views: &ViewCache,
    reports: Option<&ReportCache>,
    mut options: CoverageOptions,
    as_of: Option<&str>,
) -> Result<Arc<CoverageReport>, ReportError> {
    options.check()?;
    let snapshot = match as_of {
        None => current,
        Some(text) => {
            let at = parse_as_of(text).map_err(AsOfError::from)?;
            options.as_of = Some(at.to_rfc3339());
            views::as_of(store, current, views, text).await?
        }
    };
    let make = |snapshot: Arc<Snapshot>, options: CoverageOptions| async move {
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let report = coverage::pool().install(|| coverage::report(&snapshot, &options));
            metrics::histogram!("gridmap_report_seconds").record(started.elapsed().as_secs_f64());
            report
        })
        .await
        .map_err(|e| ReportError::Failed(e.to_string()))?
        .map(Arc::new)
        .map_err(ReportError::from)
    };
    let Some(cache) = reports else {
        return make(snapshot, options).await;
    };
    let key = format!(
        "{}|{}",
        snapshot.data_version,
        serde_json::to_string(&options).unwrap_or_default()
    );
    cache.get_or_build(key, make(snapshot, options)).await
}

/// The number `text` of parameter `field`, if given.
fn number<T: std::str::FromStr>(field: &str, text: Option<String>) -> Result<Option<T>, ApiError> {
    let Some(text) = text else {
        return Ok(None);
    };
    text.trim().parse().map(Some).map_err(|_| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("{field} must be a number, got {text:?}"),
        )
    })
}

/// A households figure, 0 to 2^31 - 1 as documented (an int32 of at least 0).
fn households(field: &str, text: Option<String>) -> Result<Option<u64>, ApiError> {
    let Some(n) = number::<i32>(field, text)? else {
        return Ok(None);
    };
    u64::try_from(n).map(Some).map_err(|_| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("{field} must be 0 or more, got {n}"),
        )
    })
}

/// The query parameters of the coverage report (numbers read as text and checked by the handler).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageParams {
    /// json (default), geojson, csv or html.
    #[param(value_type = Option<super::openapi::params::ReportFormat>)]
    format: Option<String>,
    /// Only this community (12-digit code).
    #[param(pattern = "^[0-9]{12}$")]
    community: Option<String>,
    /// The data as it stood at this date (YYYY-MM-DD, end of day UTC) or RFC 3339 time.
    #[param(value_type = Option<super::openapi::params::AsOf>)]
    as_of: Option<String>,
    /// Gaps and overlaps narrower than this many metres are slivers (default 0.5).
    #[param(value_type = Option<f64>)]
    sliver_width: Option<String>,
    /// Fewer households per party grid is `under` (default 300).
    #[param(value_type = Option<u32>)]
    households_min: Option<String>,
    /// More households per party grid is `over` (default 500).
    #[param(value_type = Option<u32>)]
    households_max: Option<String>,
}

/// `GET /v1/reports/coverage`
#[utoipa::path(
    get,
    path = "/v1/reports/coverage",
    params(CoverageParams),
    responses(
        (status = 200, description = "The report; GeoJSON, CSV (UTF-8 with a byte-order mark, or GBK for `Accept-Charset: gbk`), HTML or an Excel workbook when `format` asks; CSV and Excel as a download named in Chinese", content((CoverageReport = "application/json"), ("application/geo+json"), ("text/csv"), ("text/html"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For csv and xlsx: attachment; filename*=UTF-8''网格覆盖报告….xlsx"))),
        (status = 400, description = "An unknown, repeated or malformed parameter", body = super::error::ErrorResponse),
        (status = 404, description = "No such community", body = super::error::ErrorResponse),
    )
)]
pub async fn get_coverage_report(
    State(state): State<AppState>,
    Params(q): Params<CoverageParams>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let format = match &q.format {
        None => Format::default(),
        Some(v) => v.parse().map_err(|e: UnknownFormat| {
            ApiError::bad_request("invalid_parameter", e.to_string())
        })?,
    };
    let defaults = CoverageOptions::default();
    let options = CoverageOptions {
        community: q.community,
        sliver_width_m: number::<f64>("sliver_width", q.sliver_width)?
            .unwrap_or(defaults.sliver_width_m),
        households_min: households("households_min", q.households_min)?
            .unwrap_or(defaults.households_min),
        households_max: households("households_max", q.households_max)?
            .unwrap_or(defaults.households_max),
        ..defaults
    };
    let as_of = q.as_of;
    // The saved file says what it holds: 网格覆盖报告-<community>-<as_of>.xlsx.
    let stem: String = [options.community.as_deref(), as_of.as_deref()]
        .into_iter()
        .flatten()
        .map(|part| format!("-{}", part.replace(':', "")))
        .collect();
    let report = make_report(
        state.store.as_ref(),
        state.snapshot.current(),
        &state.views,
        Some(&state.edit.reports),
        options,
        as_of.as_deref(),
    )
    .await?;
    let body = tokio::task::spawn_blocking(move || render(&report, format))
        .await
        .map_err(|e| ApiError::Internal(format!("rendering the coverage report: {e}")))?
        .map_err(|e| ApiError::Internal(format!("rendering the coverage report: {e}")))?;
    let (name, fallback) = (
        format!("网格覆盖报告{stem}.{}", format.extension()),
        format!("coverage-report{stem}.{}", format.extension()),
    );
    Ok(match format {
        Format::Csv => super::download::csv(&headers, &name, &fallback, body),
        Format::Xlsx => super::download::xlsx(&name, &fallback, body),
        _ => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
    })
}
