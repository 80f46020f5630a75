//! The HTTP edge: the router and its handlers, one module per resource.
//!
//! Handlers turn a request into a typed query, call a pure function over the current snapshot and
//! turn the answer into a response. Every failure becomes an [`error::ApiError`].

pub mod attributes;
pub mod auth;
pub mod clean;
pub mod cors;
pub mod download;
pub mod error;
pub mod extract;
pub mod features;
pub mod grids;
pub mod health;
pub mod lookup;
pub mod metrics;
pub mod ogc;
pub mod openapi;
pub mod page;
pub mod plans;
pub mod reports;
pub mod rosters;
pub mod schemas;
pub mod serve;
pub mod sync;
pub mod tiles;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::snapshot::{Snapshot, SnapshotCell};
use crate::store::Store;
use crate::tiles::cache::TileCache;
use crate::views::ViewCache;

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub snapshot: Arc<SnapshotCell>,
    /// Encoded tiles by data version; see [`crate::tiles::cache`].
    pub tiles: Arc<TileCache>,
    /// Editing and access settings; see [`EditState`].
    pub edit: Arc<EditState>,
    /// Past and planned snapshots; see [`crate::views`].
    pub views: Arc<ViewCache>,
}

impl AppState {
    /// The state over `store` and its `snapshot`, with the default tile cache and edit settings.
    pub fn new(store: Arc<dyn Store>, snapshot: Snapshot) -> AppState {
        AppState {
            store,
            snapshot: Arc::new(SnapshotCell::new(snapshot)),
            tiles: Default::default(),
            edit: Default::default(),
            views: Default::default(),
        }
    }
}

/// Settings of editing and access, and the lock that serialises snapshot refreshes.
#[derive(Debug)]
pub struct EditState {
    /// Reads (map, tiles, lookups, reports) need no credentials; when false they need a viewer.
    pub open_reads: bool,
    /// Tolerance in metres for "inside the community" and "no overlap with siblings".
    pub tolerance_m: f64,
    /// Held while the snapshot is reloaded, so refreshes run one at a time.
    pub refresh: tokio::sync::Mutex<()>,
    /// Failed sign-ins per name, and the argon2 verifications running.
    pub sign_in: crate::auth::throttle::SignInGuard,
    /// The last coverage reports, made one at a time.
    pub reports: reports::ReportCache,
    /// Which origins may call from a browser (none by default); see [`cors`].
    pub cors: cors::CorsPolicy,
}

impl Default for EditState {
    fn default() -> Self {
        EditState {
            open_reads: true,
            tolerance_m: 0.5,
            refresh: tokio::sync::Mutex::new(()),
            sign_in: Default::default(),
            reports: Default::default(),
            cors: Default::default(),
        }
    }
}

/// Request ids: a random prefix per process and a counter, so ids are unique across the
/// processes behind one load balancer without a UUID per request.
#[derive(Clone)]
struct RequestIds {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        let secret = crate::auth::new_secret();
        RequestIds {
            prefix: secret[..8].into(),
            next: Default::default(),
        }
    }
}

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    axum::response::IntoResponse::into_response(error::ApiError::Internal(format!(
        "handler panicked: {what}"
    )))
}

/// The whole service as a router, so tests call it without a socket.
pub fn app(state: AppState) -> Router {
    metrics::init();
    let routes = Router::new()
        .route("/", get(page::get_page))
        .route("/assets/{hash}/{file}", get(page::get_asset))
        .route("/healthz", get(health::get_health))
        .route("/readyz", get(health::get_ready))
        .route("/metrics", get(metrics::get_metrics))
        .route(
            "/v1/grids/{layer}/{code}/summary",
            get(grids::get_grid_summary),
        )
        .route(
            "/v1/lookup",
            get(lookup::lookup_point).post(lookup::lookup_batch),
        )
        .route("/v1/reports/coverage", get(reports::get_coverage_report))
        .route("/v1/rosters", get(rosters::get_rosters))
        .route("/openapi.json", get(openapi::get_openapi))
        .route("/tiles/{z}/{x}/{y}", get(tiles::get_tile))
        .route("/tiles.json", get(tiles::get_tilejson))
        .route("/ogc", get(ogc::get_landing))
        .route("/ogc/", get(ogc::get_landing))
        .route("/ogc/conformance", get(ogc::get_conformance))
        .route("/ogc/collections", get(ogc::get_collections))
        .route("/ogc/collections/{id}", get(ogc::get_collection))
        .route("/ogc/api", get(openapi::get_ogc_api))
        .route("/ogc/collections/{id}/queryables", get(ogc::get_queryables))
        .route("/ogc/collections/{id}/items", get(ogc::get_items))
        .route(
            "/ogc/collections/{id}/items/{feature_id}",
            get(ogc::get_item),
        )
        .route("/style.json", get(tiles::get_style))
        .merge(features::router())
        .merge(plans::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::read_guard,
        ))
        .route_layer(axum::middleware::from_fn(metrics::record))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A request may take a minute at most (the city's coverage report takes about one
        // second); what runs on the blocking pool or rayon for it is dropped with it.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ));
    // Outside the read guard, so that a preflight (which never carries credentials) is answered
    // when reads are closed; inside the headers below, so that its answer carries them too.
    let routes = if state.edit.cors.enabled() {
        routes.layer(axum::middleware::from_fn_with_state(
            Arc::new(cors::CorsLayers::new(&state.edit.cors)),
            cors::cors,
        ))
    } else {
        routes
    };
    routes
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Links in tiles.json, style.json and the OGC documents are made from these headers
        // (the prefix only when a proxy of ours sent it), so a shared cache must key on them.
        .layer(SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("Host, X-Forwarded-Proto, X-Forwarded-Prefix"),
        ))
        // A panic in a handler is a JSON 500 and a log line, never a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        // Every request gets an id (or keeps the one a proxy gave it) that its log lines carry
        // and its answer returns in `x-request-id`.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(target: "gridmap::access", "request", id, method = %req.method(), path = %req.uri().path())
            })
            // One access-log line per answer, status and latency, under the request's span
            // (our own target, so `RUST_LOG=gridmap=info` keeps it).
            .on_response(
                |res: &axum::response::Response, latency: std::time::Duration, _: &tracing::Span| {
                    tracing::info!(
                        target: "gridmap::access",
                        status = res.status().as_u16(),
                        ms = latency.as_secs_f64() * 1e3,
                        "answered"
                    );
                },
            ),
        )
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            RequestIds::default(),
        ))
        .with_state(state)
}
