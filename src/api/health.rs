//! `GET /healthz`: is the service up, which store, which data version.

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
