//! The one error type at the HTTP edge. Its body is always
//! `{"error": {"code", "message", "details"}}`; a 500 never shows internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; `code` names the kind of fault, the message the field.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// Anything the store reports. Conflicts become 409/412; the rest a 500 without details.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        match self {
            ApiError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, code, message.clone(), Value::Null)
            }
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone(), Value::Null),
            ApiError::Store(StoreError::VersionConflict { .. }) => (
                StatusCode::PRECONDITION_FAILED,
                "version_conflict",
                self.to_string(),
                Value::Null,
            ),
            ApiError::Store(StoreError::NotFound(_)) => (
                StatusCode::NOT_FOUND,
                "not_found",
                self.to_string(),
                Value::Null,
            ),
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".into(),
                    Value::Null,
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, details) = self.parts();
        let body = json!({ "error": { "code": code, "message": message, "details": details } });
        (status, Json(body)).into_response()
    }
}

/// The router's fallback: an unknown path is a JSON 404, not axum's empty one.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}
