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
    // The page is the same for the whole life of the build: made and hashed once.
    static PAGE: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| {
        let html = web::index_html();
        let csp = content_security_policy(&html);
        (html, csp)
    });
    let (html, csp) = &*PAGE;
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, csp.as_str()),
        ],
        html.clone(),
    )
        .into_response()
}

/// The page's policy: scripts, styles, data and workers from this server only (MapLibre's worker
/// from its own file; its canvas images as `data:`/`blob:`), the inline import map and style
/// blocks allowed by their SHA-256, no framing, no `<base>`.
fn content_security_policy(html: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let hashes = |open: &str, close: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find(open) {
            let after = &rest[i..];
            let Some(start) = after.find('>') else { break };
            let body = &after[start + 1..];
            let Some(end) = body.find(close) else { break };
            let digest = sha2::Sha256::digest(&body.as_bytes()[..end]);
            out.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
            rest = &body[end..];
        }
        out
    };
    let scripts: Vec<String> = hashes("<script type=\"importmap\"", "</script>");
    let styles: Vec<String> = hashes("<style", "</style>");
    format!(
        "default-src 'self'; script-src 'self' {}; style-src 'self' 'unsafe-inline' {}; \
         img-src 'self' data: blob:; worker-src 'self' blob:; child-src 'self' blob:; \
         connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'",
        scripts.join(" "),
        styles.join(" ")
    )
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
