//! The one error type at the HTTP edge. Its body is always
//! `{"error": {"code", "message", "details"}}`; a 500 never shows internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::store::StoreError;
use crate::views::AsOfError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; `code` names the kind of fault, the message the field.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 413: too many items or too large a body.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 405
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 415
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 401: no credentials, or unknown/revoked/expired ones; answered with
    /// `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller's role is too low.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the request clashes with existing data (a taken code or name).
    #[error("{0}")]
    Conflict(String),
    /// 409 with reasons: a plan whose features changed underneath it; `details.reasons` names
    /// each.
    #[error("{message}")]
    Stale {
        message: String,
        reasons: Vec<String>,
    },
    /// 428: a write without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 422: the edit is well-formed but breaks a rule; `details.reasons` lists every fault.
    #[error("{message}")]
    Unprocessable {
        message: String,
        reasons: Vec<String>,
    },
    /// 429: too many attempts; try again after `retry_after_s` seconds (`Retry-After`).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    /// 500 for a failure of ours that is not the store's; the message is logged, not shown.
    #[error("{0}")]
    Internal(String),
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

    /// A request body that could not be read: too large (413) or broken off (400).
    pub fn from_body_rejection(r: axum::extract::rejection::BytesRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "the request body is larger than the limit of {} bytes",
                super::BODY_LIMIT
            ))
        } else {
            ApiError::bad_request("invalid_body", format!("cannot read the request body: {r}"))
        }
    }

    /// The JSON error object, also used for one failed item inside a batch answer.
    pub fn body(&self) -> ErrorBody {
        let (_, code, message, details) = self.parts();
        ErrorBody {
            code: code.into(),
            message,
            details,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        match self {
            ApiError::PayloadTooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                m.clone(),
                Value::Null,
            ),
            ApiError::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                m.clone(),
                Value::Null,
            ),
            ApiError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m.clone(),
                Value::Null,
            ),
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".into(),
                    Value::Null,
                )
            }
            ApiError::Unauthorized(m) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                m.clone(),
                Value::Null,
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone(), Value::Null),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone(), Value::Null),
            ApiError::Store(StoreError::Conflict(m)) => {
                (StatusCode::CONFLICT, "conflict", m.clone(), Value::Null)
            }
            ApiError::Stale { message, reasons } => (
                StatusCode::CONFLICT,
                "stale_plan",
                message.clone(),
                serde_json::json!({ "reasons": reasons }),
            ),
            ApiError::PreconditionRequired(m) => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition_required",
                m.clone(),
                Value::Null,
            ),
            ApiError::Unprocessable { message, reasons } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_edit",
                message.clone(),
                serde_json::json!({ "reasons": reasons }),
            ),
            ApiError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, code, message.clone(), Value::Null)
            }
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone(), Value::Null),
            ApiError::TooManyRequests { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                message.clone(),
                Value::Null,
            ),
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
            ApiError::Store(StoreError::Database(e)) if unreachable(e) => {
                tracing::warn!(error = %e, "store unreachable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the database cannot be reached; nothing was written, try again shortly".into(),
                    Value::Null,
                )
            }
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

/// A database error that means "not reachable now" (the write did not happen, a retry may
/// succeed), as opposed to a fault of the data or of ours.
fn unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// The `error` member of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable kind: `invalid_coordinate`, `missing_parameter`, …
    pub code: String,
    /// What is wrong, naming the field or feature.
    pub message: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    #[schema(value_type = Object)]
    pub details: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // parts() logs internal failures: called once per answer, so each is logged once.
        let (status, code, message, details) = self.parts();
        metrics::counter!("gridmap_rejected_total", "code" => code).increment(1);
        let body = ErrorBody {
            code: code.into(),
            message,
            details,
        };
        let mut response = (status, Json(ErrorResponse { error: body })).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE && code == "store_unavailable" {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(5u64),
            );
        }
        if let ApiError::TooManyRequests { retry_after_s, .. } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_s),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"gridmap\""),
            );
        }
        response
    }
}

/// A path segment that could not be read (bad percent-encoding, not UTF-8) is a 400 in our
/// format, not axum's plain-text one.
impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> ApiError {
        ApiError::bad_request("invalid_path", format!("cannot read the path: {r}"))
    }
}

impl From<crate::edit::service::EditError> for ApiError {
    fn from(e: crate::edit::service::EditError) -> ApiError {
        use crate::edit::service::EditError;
        match e {
            EditError::Refused(reasons) => ApiError::Unprocessable {
                message: format!(
                    "the edit breaks {} rule(s); nothing was written",
                    reasons.len()
                ),
                reasons,
            },
            EditError::Store(e) => ApiError::Store(e),
            EditError::Failed(m) => ApiError::Internal(m),
        }
    }
}

/// The router's fallback: an unknown path is a JSON 404, not axum's empty one.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

/// A known path with the wrong method is a JSON 405.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

impl From<AsOfError> for ApiError {
    fn from(e: AsOfError) -> ApiError {
        match e {
            AsOfError::BadDate(e) => ApiError::bad_request("invalid_parameter", e.to_string()),
            AsOfError::Store(e) => ApiError::Store(e),
            AsOfError::Failed(m) => ApiError::Internal(m),
        }
    }
}
