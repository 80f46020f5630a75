//! `GET /` and `GET /assets/{hash}/{file}`: the map page embedded by `build.rs` (see
//! [`crate::web`]).
//!
//! The page itself is `no-cache` (it is small and names the current build's assets); every file
//! under `/assets/{hash}/` is `immutable` for a year, because a different build has a different
//! hash. A request for another build's hash is a 404, never a stale or mismatched file.

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::web;

/// The map page (or, when MapLibre was missing at build time, a page that says so).
pub async fn get_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        web::index_html(),
    )
        .into_response()
}

/// One embedded file of the current build.
pub async fn get_asset(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((hash, name)) = path?;
    if hash != web::ASSET_HASH {
        return Err(ApiError::NotFound(format!(
            "no assets of build {hash:?}; this server serves {}",
            web::asset_prefix()
        )));
    }
    let (bytes, media_type) =
        web::asset(&name).ok_or_else(|| ApiError::NotFound(format!("no asset {name:?}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}
