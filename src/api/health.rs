//! `GET /healthz`: is the service up, which store, which data version (from memory only).
//! `GET /readyz`: can it serve what is current: the store answers, and how far the snapshot is
//! behind it.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub store: &'static str,
    pub data_version: i64,
    pub features: usize,
}

/// `GET /healthz`. Answers from the snapshot only, so a slow database never makes the health check hang.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub async fn get_health(State(state): State<AppState>) -> Json<Health> {
    let snap = state.snapshot.current();
    Json(Health {
        status: "ok",
        store: state.store.kind(),
        data_version: snap.data_version,
        features: snap.features().len(),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready`, or `not_ready` with a reason.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The store's data version (absent when it did not answer) and the served snapshot's.
    pub store_version: Option<i64>,
    pub snapshot_version: i64,
}

/// `GET /readyz`: 200 when the store answers within two seconds, 503 (with the reason) when it
/// does not. A snapshot behind the store is still ready (reads answer from it; the poll or
/// NOTIFY catches up); the versions say by how much.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, body = Ready, description = "the store answers"),
    (status = 503, body = Ready, description = "the store does not answer")))]
pub async fn get_ready(State(state): State<AppState>) -> (axum::http::StatusCode, Json<Ready>) {
    let snapshot_version = state.snapshot.current().data_version;
    let asked = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        state.store.data_version(),
    )
    .await;
    match asked {
        Ok(Ok(v)) => (
            axum::http::StatusCode::OK,
            Json(Ready {
                status: "ready",
                reason: None,
                store_version: Some(v),
                snapshot_version,
            }),
        ),
        Ok(Err(e)) => not_ready(format!("the store failed: {e}"), snapshot_version),
        Err(_) => not_ready(
            "the store did not answer within 2 s".into(),
            snapshot_version,
        ),
    }
}

fn not_ready(reason: String, snapshot_version: i64) -> (axum::http::StatusCode, Json<Ready>) {
    tracing::warn!(%reason, "not ready");
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        Json(Ready {
            status: "not_ready",
            reason: Some(reason),
            store_version: None,
            snapshot_version,
        }),
    )
}
