//! `GET /v1/lookup` and `POST /v1/lookup`: which community and grid a point or a standard address
//! lies in, answered as a digital contact card (便民联系服务卡), one query or up to [`MAX_BATCH`] at
//! a time, in JSON or CSV. The answers are built by [`crate::lookup`]; this is the HTTP edge.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody, query_pairs};
use crate::lookup::{self, Answer, CsvError, LookupError, Query};
use crate::snapshot::Snapshot;
use crate::spatial::crs::Crs;
use crate::views;

/// Most points one batch request may carry.
pub const MAX_BATCH: usize = 100_000;

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> ApiError {
        ApiError::bad_request(e.code(), e.to_string())
    }
}

fn answer(snapshot: &Snapshot, crs: Crs, q: Query) -> Result<Answer, ApiError> {
    Ok(lookup::answer(snapshot, crs, q)?)
}

/// Parse a number given as text, naming the field when it is not one.
fn parse_number(field: &str, text: &str) -> Result<f64, ApiError> {
    Ok(lookup::parse_number(field, text)?)
}

fn parse_crs(text: &str) -> Result<Crs, ApiError> {
    text.parse().map_err(|e: crate::spatial::crs::UnknownCrs| {
        ApiError::bad_request("invalid_crs", e.to_string())
    })
}

/// `GET /v1/lookup?lon=…&lat=…[&crs=…]` or `GET /v1/lookup?address=…`
///
/// An address that matches nothing is a 200 with `"match": null` and null places: "not in the
/// registry" is an answer, not a fault of the request (as a point outside the subdistrict is).
#[utoipa::path(
    get,
    path = "/v1/lookup",
    params(
        ("lon" = Option<f64>, Query, description = "Longitude in `crs` (with lat; not with address)"),
        ("lat" = Option<f64>, Query, description = "Latitude in `crs` (with lon; not with address)"),
        ("crs" = Option<String>, Query, description = "wgs84 (default), cgcs2000, gcj02 or bd09; ignored with address"),
        ("as_of" = Option<String>, Query, description = "answer from the map as it stood then: a date (YYYY-MM-DD, end of day UTC) or an RFC 3339 time"),
        ("address" = Option<String>, Query, description = "A standard address text (标准地址), at most 200 characters, instead of lon/lat"),
    ),
    responses(
        (status = 200, description = "Where the point lies (nulls outside the subdistrict), or the matched address, its candidates and where it lies (`match` null when nothing matches)", body = Answer),
        (status = 400, description = "A missing, malformed, conflicting or out-of-range parameter", body = ErrorBody),
    )
)]
pub async fn lookup_point(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Answer>, ApiError> {
    let pairs = query_pairs(query)?;
    let mut lon = None;
    let mut lat = None;
    let mut address = None;
    let mut crs = Crs::default();
    let mut as_of = None;
    let twice = |k: &str| {
        ApiError::bad_request(
            "duplicate_parameter",
            format!("query parameter {k:?} given twice"),
        )
    };
    for (k, v) in &pairs {
        let slot = match k.as_str() {
            "lon" => &mut lon,
            "lat" => &mut lat,
            "crs" => {
                crs = parse_crs(v)?;
                continue;
            }
            "address" => {
                if address.replace(v.clone()).is_some() {
                    return Err(twice(k));
                }
                continue;
            }
            "as_of" => {
                if as_of.replace(v.clone()).is_some() {
                    return Err(twice(k));
                }
                continue;
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!(
                        "unknown query parameter {other:?} (expected lon, lat, crs, address, as_of)"
                    ),
                ));
            }
        };
        if slot.is_some() {
            return Err(twice(k));
        }
        *slot = Some(parse_number(k, v)?);
    }
    let q = match address {
        Some(_) if lon.is_some() || lat.is_some() => {
            return Err(ApiError::bad_request(
                "conflicting_parameters",
                "give either address or lon and lat, not both",
            ));
        }
        Some(text) => Query::Address(text),
        None => {
            let missing =
                |name| ApiError::bad_request("missing_parameter", format!("{name} is required"));
            let lon = lon.ok_or_else(|| missing("lon (or address)"))?;
            let lat = lat.ok_or_else(|| missing("lat"))?;
            Query::Point(lon, lat)
        }
    };
    let snapshot = snapshot_as_of(&state, as_of.as_deref()).await?;
    Ok(axum::Json(answer(&snapshot, crs, q)?))
}

/// The live snapshot, or the one `as_of` a past moment ([`crate::views`]).
async fn snapshot_as_of(state: &AppState, as_of: Option<&str>) -> Result<Arc<Snapshot>, ApiError> {
    let live = state.snapshot.current();
    match as_of {
        None => Ok(live),
        Some(text) => Ok(views::as_of(state.store.as_ref(), live, &state.views, text).await?),
    }
}

/// One answer of a batch, in input order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    /// The caller's id, as given.
    #[schema(value_type = Object)]
    pub id: Value,
    #[serde(flatten)]
    pub answer: Option<Answer>,
    /// Why this item has no answer; `null` when it has one.
    pub error: Option<ErrorBody>,
}

/// `POST /v1/lookup` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchItem>,
}

/// One parsed input item: its id and either the query or why it is bad.
type Item = (Value, Result<Query, ApiError>);

/// `POST /v1/lookup` — a batch: JSON `{"crs", "points": [{"id", "lon", "lat"} or {"id",
/// "address"}]}` or CSV with the columns `id,lon,lat` or `id,address` (and an optional `crs` query
/// parameter). Answers JSON, or CSV when the request's `Accept` asks for `text/csv`.
#[utoipa::path(
    post,
    path = "/v1/lookup",
    params(("crs" = Option<String>, Query, description = "For CSV bodies: wgs84 (default), cgcs2000, gcj02 or bd09"),
           ("as_of" = Option<String>, Query, description = "answer from the map as it stood then (YYYY-MM-DD or RFC 3339)")),
    request_body(content = Object, description = "`{\"crs\": \"gcj02\", \"points\": [{\"id\": \"a\", \"lon\": 113.6, \"lat\": 34.7}, {\"id\": \"b\", \"address\": \"体育路19号\"}]}`, or text/csv with columns id,lon,lat or id,address"),
    responses(
        (status = 200, description = "One result per input point, in order", body = BatchAnswer),
        (status = 400, description = "A malformed body", body = ErrorBody),
        (status = 413, description = "More than 100,000 points, or a body over the size limit", body = ErrorBody),
    )
)]
pub async fn lookup_batch(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query)?;
    let body = body.map_err(ApiError::from_body_rejection)?;
    let mut query_crs = None;
    let mut as_of = None;
    for (k, v) in &pairs {
        match k.as_str() {
            "crs" => query_crs = Some(parse_crs(v)?),
            "as_of" => as_of = Some(v.clone()),
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown query parameter {other:?} (expected crs, as_of)"),
                ));
            }
        }
    }
    let content_type = header_text(&headers, header::CONTENT_TYPE);
    let (crs, items) = if content_type.starts_with("text/csv") {
        (query_crs.unwrap_or_default(), parse_csv(&body)?)
    } else if content_type.is_empty() || content_type.starts_with("application/json") {
        let (crs, items) = parse_json(&body)?;
        (query_crs.or(crs).unwrap_or_default(), items)
    } else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "content type {content_type:?} is not accepted (use application/json or text/csv)"
        )));
    };
    let snapshot = snapshot_as_of(&state, as_of.as_deref()).await?;
    let csv = header_text(&headers, header::ACCEPT).contains("text/csv");
    // A large batch is CPU work: keep it off the async threads, and spread it over the cores
    // (rayon keeps the input order).
    tokio::task::spawn_blocking(move || {
        let results: Vec<BatchItem> = items
            .into_par_iter()
            .map(|(id, point)| {
                let result = point.and_then(|q| answer(&snapshot, crs, q));
                match result {
                    Ok(a) => BatchItem {
                        id,
                        answer: Some(a),
                        error: None,
                    },
                    Err(e) => BatchItem {
                        id,
                        answer: None,
                        error: Some(e.body()),
                    },
                }
            })
            .collect();
        if csv {
            Ok(csv_response(&results))
        } else {
            json_response(&results)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("lookup task failed: {e}")))?
}

/// The batch as JSON: exactly the bytes `serde_json` writes for a [`BatchAnswer`], but made in
/// chunks on every core and joined (a 100,000-point answer is tens of megabytes of cards).
fn json_response(results: &[BatchItem]) -> Result<Response, ApiError> {
    const CHUNK: usize = 2048;
    let chunks = results
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len() * 512);
            for (i, item) in chunk.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, item)?;
            }
            Ok(out)
        })
        .collect::<Result<Vec<Vec<u8>>, serde_json::Error>>()
        .map_err(|e| ApiError::Internal(format!("cannot write the answer: {e}")))?;
    let mut body = Vec::with_capacity(chunks.iter().map(|c| c.len() + 1).sum::<usize>() + 16);
    body.extend_from_slice(b"{\"results\":[");
    for (i, c) in chunks.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(c);
    }
    body.extend_from_slice(b"]}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn too_many(n: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "{n} points in one request; at most {MAX_BATCH} are accepted"
    ))
}

/// Parse a JSON batch. A malformed document is refused whole; a malformed item gets its own error.
fn parse_json(body: &[u8]) -> Result<(Option<Crs>, Vec<Item>), ApiError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    let Value::Object(mut doc) = doc else {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the body must be a JSON object with \"points\"",
        ));
    };
    if let Some(k) = doc.keys().find(|k| !matches!(k.as_str(), "crs" | "points")) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("unknown field {k:?} (expected crs, points)"),
        ));
    }
    let crs = match doc.remove("crs") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_crs(&s)?),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_crs",
                format!("crs must be a string, got {other}"),
            ));
        }
    };
    let points = match doc.remove("points") {
        Some(Value::Array(points)) => points,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "\"points\" must be an array",
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "\"points\" is required",
            ));
        }
    };
    if points.len() > MAX_BATCH {
        return Err(too_many(points.len()));
    }
    let items = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| json_item(i, p))
        .collect();
    Ok((crs, items))
}

fn json_item(index: usize, item: Value) -> Item {
    let bad = |m: String| Err(ApiError::bad_request("invalid_point", m));
    let Value::Object(obj) = item else {
        return (
            Value::Null,
            bad(format!("points[{index}] must be an object")),
        );
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "id" | "lon" | "lat" | "address"))
    {
        return (id, bad(format!("points[{index}]: unknown field {k:?}")));
    }
    match obj.get("address") {
        None => {}
        Some(_) if obj.contains_key("lon") || obj.contains_key("lat") => {
            return (
                id,
                bad(format!(
                    "points[{index}]: give either address or lon and lat, not both"
                )),
            );
        }
        Some(Value::String(text)) => return (id, Ok(Query::Address(text.clone()))),
        Some(other) => {
            return (
                id,
                bad(format!(
                    "points[{index}].address must be a string, got {other}"
                )),
            );
        }
    }
    let coord = |name: &str| match obj.get(name) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| {
            ApiError::bad_request(
                "invalid_point",
                format!("points[{index}].{name} is not a number"),
            )
        }),
        Some(other) => Err(ApiError::bad_request(
            "invalid_point",
            format!("points[{index}].{name} must be a number, got {other}"),
        )),
        None => Err(ApiError::bad_request(
            "invalid_point",
            format!("points[{index}].{name} is required"),
        )),
    };
    let point = coord("lon").and_then(|lon| coord("lat").map(|lat| Query::Point(lon, lat)));
    (id, point)
}

/// Parse a CSV batch ([`lookup::read_csv`]); a bad row gets its own error.
fn parse_csv(body: &[u8]) -> Result<Vec<Item>, ApiError> {
    let rows = lookup::read_csv(body, MAX_BATCH).map_err(|e| match e {
        CsvError::TooMany(n) => too_many(n),
        CsvError::Header(_) => ApiError::bad_request("invalid_csv", e.to_string()),
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, q)| (Value::String(id), q.map_err(ApiError::from)))
        .collect())
}

/// The batch as CSV: one row per input point, in order ([`lookup::csv_row`]).
fn csv_response(results: &[BatchItem]) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail; a failure would only drop a row.
    let _ = w.write_record(lookup::CSV_HEADER);
    for item in results {
        let id = match &item.id {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let result = match (&item.answer, &item.error) {
            (Some(a), _) => Ok(a),
            (None, e) => Err(e.as_ref().map_or("", |e| e.message.as_str())),
        };
        let _ = w.write_record(lookup::csv_row(id, result));
    }
    let bytes = w.into_inner().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// The chunked, parallel JSON writer gives the bytes serde_json gives for the whole answer.
    #[tokio::test]
    async fn chunked_json_is_plain_serde_json() {
        let features = crate::demo::generate(crate::demo::Scale::Demo)
            .into_iter()
            .map(|d| d.into_feature(1))
            .collect();
        let snapshot = Snapshot::new(1, features);
        let items = || {
            (0..5000)
                .map(|i| {
                    let (lon, lat) = (113.60 + i as f64 * 1e-5, 34.70 + i as f64 * 7e-6);
                    let result = if i % 97 == 0 {
                        Err(ApiError::from(LookupError::Lat(99.0)))
                    } else {
                        answer(&snapshot, Crs::Wgs84, Query::Point(lon, lat))
                    };
                    BatchItem {
                        id: Value::from(i),
                        error: result.as_ref().err().map(ApiError::body),
                        answer: result.ok(),
                    }
                })
                .collect::<Vec<_>>()
        };
        let expected = serde_json::to_vec(&BatchAnswer { results: items() }).unwrap();
        let response = json_response(&items()).unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.as_ref(), expected.as_slice());
    }
}
