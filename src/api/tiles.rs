//! `GET /tiles/{z}/{x}/{y}.mvt`, `GET /tiles.json` and `GET /style.json`: vector tiles of the
//! current snapshot and the documents a MapLibre page needs to draw them.
//!
//! Tiles are cached per (data version, z, x, y) and carry an `ETag` of the data version, so a
//! client revalidates with one cheap 304 until an edit changes the data. Rendering runs on the
//! blocking pool; it is CPU work that would otherwise stall the async threads.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::{Params, PublicUrl};
use crate::tiles::cache::EncodedTile;
use crate::tiles::{self, TileId, style};

/// Media type of a Mapbox Vector Tile.
pub const MVT_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// Parse `{z}`, `{x}`, `{y}.mvt` into a checked tile address.
fn parse_tile(z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
    let bad = |what: &str, v: &str| {
        ApiError::bad_request(
            "invalid_tile",
            format!("{what} must be a whole number, got {v:?}"),
        )
    };
    let y = y.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::NotFound(format!(
            "tiles are served as /tiles/{{z}}/{{x}}/{{y}}.mvt, not {y:?}"
        ))
    })?;
    let num = |what: &str, v: &str| -> Result<u32, ApiError> {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(what, v));
        }
        v.parse().map_err(|_| bad(what, v))
    };
    TileId::new(num("z", z)?, num("x", x)?, num("y", y)?)
        .map_err(|e| ApiError::bad_request("invalid_tile", e.to_string()))
}

/// True when `If-None-Match` names `etag` (or is `*`); weak and strong forms compare equal.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// True when the client accepts gzip (and did not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The query parameters of a tile.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TileParams {
    /// The map as it stood then (YYYY-MM-DD, end of day UTC, or RFC 3339).
    #[param(value_type = Option<super::openapi::params::AsOf>)]
    as_of: Option<String>,
    /// The map as this plan would leave it (needs a planner; not cached).
    plan: Option<i64>,
}

/// One vector tile of the current data.
#[utoipa::path(
    get,
    path = "/tiles/{z}/{x}/{y}.mvt",
    params(
        ("z" = u32, Path, description = "Zoom, 0 to 22"),
        ("x" = u32, Path, description = "Column, 0 to 2^z - 1"),
        ("y" = u32, Path, description = "Row from the north, 0 to 2^z - 1"),
        TileParams,
    ),
    responses(
        (status = 200, description = "MVT 2.1; empty body when nothing meets the tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        (status = 400, description = "Zoom, column or row out of range or not a number", body = super::error::ErrorResponse),
        (status = 404, description = "Not a tile path", body = super::error::ErrorResponse),
    ),
    tag = "tiles"
)]
pub async fn get_tile(
    State(state): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    Params(TileParams { as_of, plan }): Params<TileParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((z, x, y)) = path?;
    let t = parse_tile(&z, &x, &y)?;
    if let Some(id) = plan {
        // A plan's tiles share the live data version, so they are neither cached nor tagged; a
        // staged feature may keep its live version with another geometry, so its label points
        // are computed afresh rather than taken from the shared memo.
        if as_of.is_some() {
            return Err(ApiError::bad_request(
                "conflicting_parameters",
                "give either as_of or plan, not both",
            ));
        }
        super::auth::require(&state, &headers, crate::auth::Role::Planner).await?;
        let snapshot = super::plans::view(&state, id).await?;
        let raw = tokio::task::spawn_blocking(move || tiles::render(&snapshot, t))
            .await
            .map_err(|e| ApiError::Internal(format!("tile {z}/{x}/{y} failed: {e}")))?;
        return Response::builder()
            .header(header::CONTENT_TYPE, MVT_TYPE)
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::from(raw))
            .map_err(|e| ApiError::Internal(format!("cannot build the tile response: {e}")));
    }
    // A past data version's tiles are what that version's live tiles were: the same cache key
    // and ETag serve both.
    let live = state.snapshot.current();
    let snapshot = match as_of {
        None => live,
        Some(text) => crate::views::as_of(state.store.as_ref(), live, &state.views, &text).await?,
    };
    let gzip = accepts_gzip(&headers);
    // One ETag per data version and encoding: the bytes differ between the two encodings.
    let etag = format!(
        "\"{}{}\"",
        snapshot.data_version,
        if gzip { "-gz" } else { "" }
    );
    let etag_value = HeaderValue::from_str(&etag)
        .map_err(|e| ApiError::Internal(format!("cannot form an ETag: {e}")))?;
    let vary = HeaderValue::from_static("Accept-Encoding");
    if matches_etag(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::VARY, vary)],
        )
            .into_response());
    }
    let tile = match state.tiles.get(snapshot.data_version, t) {
        Some(tile) => {
            metrics::counter!("gridmap_tile_cache_total", "result" => "hit").increment(1);
            tile
        }
        None => {
            metrics::counter!("gridmap_tile_cache_total", "result" => "miss").increment(1);
            let cache = state.tiles.clone();
            tokio::task::spawn_blocking(move || {
                let tile = Arc::new(EncodedTile::new(
                    snapshot.data_version,
                    tiles::render_with(&snapshot, t, Some(&cache.labels)),
                ));
                cache.insert(t, tile.clone());
                tile
            })
            .await
            .map_err(|e| ApiError::Internal(format!("tile {z}/{x}/{y} failed: {e}")))?
        }
    };
    let mut res = Response::builder()
        .header(header::CONTENT_TYPE, MVT_TYPE)
        .header(header::ETAG, etag_value)
        .header(header::VARY, vary)
        .header(header::CACHE_CONTROL, "no-cache");
    let body = if gzip && !tile.raw.is_empty() && !tile.gzip.is_empty() {
        res = res.header(header::CONTENT_ENCODING, "gzip");
        tile.gzip.clone()
    } else {
        tile.raw.clone()
    };
    res.body(Body::from(body))
        .map_err(|e| ApiError::Internal(format!("cannot build the tile response: {e}")))
}

/// `scheme://host` of this request, for absolute URLs in documents: the `Host` header (checked
/// to be a plain host[:port]) and `X-Forwarded-Proto` when a proxy set it. Handlers take
/// [`PublicUrl`], which adds a trusted proxy's path prefix.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// TileJSON 3.0.0 describing the tiles.
#[utoipa::path(
    get,
    path = "/tiles.json",
    responses((status = 200, description = "TileJSON 3.0.0 with vector_layers", content_type = "application/json")),
    tag = "tiles"
)]
pub async fn get_tilejson(State(state): State<AppState>, url: PublicUrl) -> Json<Value> {
    Json(style::tilejson(&state.snapshot.current(), &url.base()))
}

/// A MapLibre style (v8) that draws the tiles with no external resources.
#[utoipa::path(
    get,
    path = "/style.json",
    responses((status = 200, description = "MapLibre style v8", content_type = "application/json")),
    tag = "tiles"
)]
pub async fn get_style(
    State(state): State<AppState>,
    url: PublicUrl,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot.current();
    let base = url.base();
    // Colouring a city's communities is CPU work (once per change of the communities).
    let style = tokio::task::spawn_blocking(move || {
        style::style_with(&snapshot, &base, Some(&state.tiles.colours))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("style failed: {e}")))?;
    Ok(Json(style))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_are_checked() {
        assert!(parse_tile("3", "1", "2.mvt").is_ok());
        for (z, x, y) in [
            ("23", "0", "0.mvt"),
            ("1", "2", "0.mvt"),
            ("a", "0", "0.mvt"),
            ("-1", "0", "0.mvt"),
            ("1", "+1", "0.mvt"),
            ("1", "0", ".mvt"),
            ("99999999999", "0", "0.mvt"),
        ] {
            assert!(matches!(
                parse_tile(z, x, y),
                Err(ApiError::BadRequest { .. })
            ));
        }
        assert!(matches!(
            parse_tile("1", "0", "0.png"),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn gzip_and_etag_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, "br, gzip;q=0.8".parse().unwrap());
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, "gzip;q=0".parse().unwrap());
        assert!(!accepts_gzip(&h));
        h.insert(header::IF_NONE_MATCH, "W/\"7\", \"8\"".parse().unwrap());
        assert!(matches_etag(&h, "\"7\""));
        assert!(!matches_etag(&h, "\"9\""));
    }
}
