//! `GET /metrics`: Prometheus text format, through the `metrics` facade and its Prometheus
//! exporter (no HTTP server of its own: this handler renders it).
//!
//! - `gridmap_http_requests_total{route, method, status}` and
//!   `gridmap_http_request_duration_seconds{route}` (a histogram), by the matched route template
//!   (`/v1/features/{layer}/{code}`), so that codes never become label values;
//! - `gridmap_rejected_total{code}`: every error answer by its `error.code`;
//! - `gridmap_snapshot_data_version` and `gridmap_snapshot_published_seconds` (Unix time; the
//!   age is `time() - …`);
//! - `gridmap_tile_cache_total{result="hit"|"miss"}`, `gridmap_lookups_total{kind}`,
//!   `gridmap_report_seconds` (a histogram of coverage reports made).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process's recorder, installed on first use (tests build many routers in one process).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ];
            PrometheusBuilder::new()
                .set_buckets(&buckets)
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "no metrics recorder"))
                .ok()
        })
        .as_ref()
}

/// Make sure the recorder is installed before anything records.
pub fn init() {
    let _ = handle();
}

/// `GET /metrics`
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn get_metrics() -> Response {
    let text = handle().map(|h| h.render()).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Middleware: count and time every request by its route template.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("gridmap_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("gridmap_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A snapshot was published.
pub fn snapshot_published(data_version: i64) {
    metrics::gauge!("gridmap_snapshot_data_version").set(data_version as f64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!("gridmap_snapshot_published_seconds").set(now);
}
