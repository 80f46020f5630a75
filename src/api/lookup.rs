//! `GET /v1/lookup` and `POST /v1/lookup`: which community and grid a point or a standard address
//! lies in, answered as a digital contact card (便民联系服务卡), one query or up to [`MAX_BATCH`] at
//! a time, in JSON or CSV. The answers are built by [`crate::lookup`]; this is the HTTP edge.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::Params;
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

/// Count lookups by kind, once per request (a batch's hundred thousand points are one registry
/// update each kind, not one per point).
fn count_lookups<'q>(queries: impl Iterator<Item = &'q Query>) {
    let (mut points, mut addresses) = (0, 0);
    for q in queries {
        match q {
            Query::Point(..) => points += 1,
            Query::Address(_) => addresses += 1,
        }
    }
    if points > 0 {
        metrics::counter!("gridmap_lookups_total", "kind" => "point").increment(points);
    }
    if addresses > 0 {
        metrics::counter!("gridmap_lookups_total", "kind" => "address").increment(addresses);
    }
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

/// The query parameters of one lookup (numbers and names are read as text and checked by the
/// handler, so that a fault is named in our words).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointParams {
    /// Longitude in `crs` (with lat; not with address).
    #[param(value_type = Option<f64>)]
    lon: Option<String>,
    /// Latitude in `crs` (with lon; not with address).
    #[param(value_type = Option<f64>)]
    lat: Option<String>,
    /// wgs84 (default), cgcs2000, gcj02 or bd09; ignored with address.
    #[param(value_type = Option<super::openapi::params::CrsName>)]
    crs: Option<String>,
    /// Answer from the map as it stood then: a date (YYYY-MM-DD, end of day UTC) or an RFC 3339
    /// time.
    #[param(value_type = Option<super::openapi::params::AsOf>)]
    as_of: Option<String>,
    /// A standard address text (标准地址), at most 200 characters, instead of lon/lat.
    address: Option<String>,
}

/// The query parameters of a batch.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BatchParams {
    /// For CSV bodies: wgs84 (default), cgcs2000, gcj02 or bd09.
    #[param(value_type = Option<super::openapi::params::CrsName>)]
    crs: Option<String>,
    /// Answer from the map as it stood then (YYYY-MM-DD or RFC 3339).
    #[param(value_type = Option<super::openapi::params::AsOf>)]
    as_of: Option<String>,
}

/// `GET /v1/lookup?lon=…&lat=…[&crs=…]` or `GET /v1/lookup?address=…`
///
/// An address that matches nothing is a 200 with `"match": null` and null places: "not in the
/// registry" is an answer, not a fault of the request (as a point outside the subdistrict is).
#[utoipa::path(
    get,
    path = "/v1/lookup",
    params(PointParams),
    responses(
        (status = 200, description = "Where the point lies (nulls outside the subdistrict), or the matched address, its candidates and where it lies (`match` null when nothing matches)", body = Answer),
        (status = 400, description = "A missing, malformed, conflicting or out-of-range parameter", body = super::error::ErrorResponse),
    )
)]
pub async fn lookup_point(
    State(state): State<AppState>,
    Params(PointParams {
        lon,
        lat,
        crs,
        as_of,
        address,
    }): Params<PointParams>,
) -> Result<axum::Json<Answer>, ApiError> {
    let lon = lon.map(|v| parse_number("lon", &v)).transpose()?;
    let lat = lat.map(|v| parse_number("lat", &v)).transpose()?;
    let crs = crs.map_or(Ok(Crs::default()), |v| parse_crs(&v))?;
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
    count_lookups(std::iter::once(&q));
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
#[derive(Debug, Serialize)]
pub struct BatchItem {
    /// The caller's id, as given.
    pub id: Value,
    #[serde(flatten)]
    pub answer: Option<Answer>,
    /// Why this item has no answer; `null` when it has one.
    pub error: Option<ErrorBody>,
}

/// Written by hand: a derived schema would require the answer's members also on an item that
/// has none (its `error` says why), and would type the caller's id, which may be any JSON value.
impl utoipa::PartialSchema for BatchItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::schemas::from_json(serde_json::json!({
            "type": "object",
            "required": ["id", "error"],
            "description": "the caller's id; with error null, the members of GET /v1/lookup's answer",
            "properties": {
                "id": super::schemas::any_value(),
                "error": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/ErrorBody"}]},
            },
        }))
    }
}

impl ToSchema for BatchItem {}

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
    params(BatchParams),
    request_body(content = super::schemas::BatchRequest, description = "`{\"crs\": \"gcj02\", \"points\": [{\"id\": \"a\", \"lon\": 113.6, \"lat\": 34.7}, {\"id\": \"b\", \"address\": \"体育路19号\"}]}`, or text/csv with columns id,lon,lat or id,address"),
    responses(
        (status = 200, description = "One result per input point, in order: JSON, or CSV (UTF-8 with a byte-order mark, or GBK for Accept-Charset: gbk) or an Excel workbook when Accept asks", content((BatchAnswer = "application/json"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "A malformed body", body = super::error::ErrorResponse),
        (status = 413, description = "More than 100,000 points, or a body over the size limit", body = super::error::ErrorResponse),
    )
)]
pub async fn lookup_batch(
    State(state): State<AppState>,
    Params(BatchParams { crs, as_of }): Params<BatchParams>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(ApiError::from_body_rejection)?;
    let query_crs = crs.map(|v| parse_crs(&v)).transpose()?;
    let content_type = header_text(&headers, header::CONTENT_TYPE);
    // A table (CSV in UTF-8 or GBK, or an Excel workbook) or JSON.
    let csv_body = if content_type.starts_with("text/csv")
        || content_type.starts_with(crate::io::sheet::XLSX_TYPE)
    {
        true
    } else if content_type.is_empty() || content_type.starts_with("application/json") {
        false
    } else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "content type {content_type:?} is not accepted (use application/json, text/csv or {})",
            crate::io::sheet::XLSX_TYPE
        )));
    };
    // Parsing tens of megabytes is CPU work too: off the async threads.
    let (crs, items) = tokio::task::spawn_blocking(move || {
        if csv_body {
            Ok((query_crs.unwrap_or_default(), parse_csv(&body)?))
        } else {
            let (crs, items) = parse_json(&body)?;
            Ok::<_, ApiError>((query_crs.or(crs).unwrap_or_default(), items))
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("lookup task failed: {e}")))??;
    let snapshot = snapshot_as_of(&state, as_of.as_deref()).await?;
    let accept = header_text(&headers, header::ACCEPT);
    let table = if accept.contains(crate::io::sheet::XLSX_TYPE) {
        Some(Table::Xlsx)
    } else if accept.contains("text/csv") {
        Some(Table::Csv)
    } else {
        None
    };
    // A large batch is CPU work: keep it off the async threads, and spread it over the cores
    // (rayon keeps the input order).
    tokio::task::spawn_blocking(move || {
        count_lookups(items.iter().filter_map(|(_, q)| q.as_ref().ok()));
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
        match table {
            Some(Table::Csv) => Ok(csv_response(&headers, &results)),
            Some(Table::Xlsx) => xlsx_response(&results),
            None => json_response(&results),
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

/// Largest JSON text of one point item (bytes): an id, two numbers or an address fit many
/// times over; larger items are refused on their own instead of being parsed.
const MAX_ITEM_BYTES: usize = 4096;

/// Parse a JSON batch. A malformed document is refused whole; a malformed item gets its own error.
///
/// The points are read as slices of the body and counted before any is parsed (a document model
/// of two million empty objects takes gigabytes), so memory stays within a small multiple of the
/// accepted items whatever the body holds; each item is then parsed on its own, within
/// [`MAX_ITEM_BYTES`].
fn parse_json(body: &[u8]) -> Result<(Option<Crs>, Vec<Item>), ApiError> {
    let refusal = std::cell::RefCell::new(None);
    let raw = {
        let mut de = serde_json::Deserializer::from_slice(body);
        let raw = serde::Deserializer::deserialize_any(&mut de, BatchVisitor(&refusal))
            .and_then(|raw| de.end().map(|()| raw));
        raw.map_err(|e| {
            refusal.take().unwrap_or_else(|| {
                if e.is_data() {
                    ApiError::bad_request(
                        "invalid_body",
                        format!("the body must be a JSON object with \"points\": {e}"),
                    )
                } else {
                    ApiError::bad_request(
                        "invalid_json",
                        format!("the body is not valid JSON: {e}"),
                    )
                }
            })
        })?
    };
    let crs = match raw.crs.map(|c| c.get()) {
        None | Some("null") => None,
        Some(text) if text.starts_with('"') => {
            let s: String = serde_json::from_str(text).map_err(|e| {
                ApiError::bad_request("invalid_crs", format!("crs is not a valid string: {e}"))
            })?;
            Some(parse_crs(&s)?)
        }
        Some(text) => {
            return Err(ApiError::bad_request(
                "invalid_crs",
                format!("crs must be a string, got {}", clip(text)),
            ));
        }
    };
    let Some(points) = raw.points else {
        return Err(ApiError::bad_request(
            "missing_field",
            "\"points\" is required",
        ));
    };
    let items = points
        .into_par_iter()
        .enumerate()
        .map(|(i, p)| {
            if p.get().len() > MAX_ITEM_BYTES {
                let message = format!("points[{i}] is over {MAX_ITEM_BYTES} bytes of JSON");
                return (
                    Value::Null,
                    Err(ApiError::bad_request("invalid_point", message)),
                );
            }
            match serde_json::from_str(p.get()) {
                Ok(v) => json_item(i, v),
                Err(e) => (
                    Value::Null,
                    Err(ApiError::bad_request(
                        "invalid_point",
                        format!("points[{i}]: {e}"),
                    )),
                ),
            }
        })
        .collect();
    Ok((crs, items))
}

/// At most the first 80 characters of `text`, for an error message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The top of a batch document, its values still unparsed text.
struct RawBatch<'a> {
    crs: Option<&'a serde_json::value::RawValue>,
    points: Option<Vec<&'a serde_json::value::RawValue>>,
}

/// Reads the top object; a refusal with its own status is left in the cell (serde's errors carry
/// only text).
struct BatchVisitor<'c>(&'c std::cell::RefCell<Option<ApiError>>);

impl<'de> serde::de::Visitor<'de> for BatchVisitor<'_> {
    type Value = RawBatch<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object with \"points\"")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<RawBatch<'de>, A::Error> {
        let refuse = |e: ApiError| {
            let message = e.to_string();
            *self.0.borrow_mut() = Some(e);
            <A::Error as serde::de::Error>::custom(message)
        };
        let mut out = RawBatch {
            crs: None,
            points: None,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "crs" => out.crs = Some(map.next_value()?),
                "points" => out.points = Some(map.next_value_seed(PointsSeed(self.0))?),
                other => {
                    return Err(refuse(ApiError::bad_request(
                        "invalid_body",
                        format!("unknown field {:?} (expected crs, points)", clip(other)),
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// The points array, as slices of the body, refused past [`MAX_BATCH`] items.
struct PointsSeed<'c>(&'c std::cell::RefCell<Option<ApiError>>);

impl<'de> serde::de::DeserializeSeed<'de> for PointsSeed<'_> {
    type Value = Vec<&'de serde_json::value::RawValue>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PointsSeed<'_> {
    type Value = Vec<&'de serde_json::value::RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of points")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut points = Vec::new();
        while let Some(p) = seq.next_element()? {
            if points.len() == MAX_BATCH {
                let e = ApiError::PayloadTooLarge(format!(
                    "more than {MAX_BATCH} points in one request; at most {MAX_BATCH} are accepted"
                ));
                let message = e.to_string();
                *self.0.borrow_mut() = Some(e);
                return Err(<A::Error as serde::de::Error>::custom(message));
            }
            points.push(p);
        }
        Ok(points)
    }
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

/// The tables a batch can be answered as.
enum Table {
    Csv,
    Xlsx,
}

/// An item's id as text, and its answer or error message.
fn row_of(item: &BatchItem) -> (String, Result<&Answer, &str>) {
    let id = match &item.id {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let result = match (&item.answer, &item.error) {
        (Some(a), _) => Ok(a),
        (None, e) => Err(e.as_ref().map_or("", |e| e.message.as_str())),
    };
    (id, result)
}

/// The batch as CSV: one row per input point, in order ([`lookup::csv_row`]), in the character
/// set the request asks for (UTF-8 with a byte-order mark by default), as a download.
fn csv_response(headers: &HeaderMap, results: &[BatchItem]) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail; a failure would only drop a row.
    let _ = w.write_record(lookup::CSV_HEADER);
    for item in results {
        let (id, result) = row_of(item);
        let _ = w.write_record(lookup::csv_row(id, result));
    }
    let bytes = w.into_inner().unwrap_or_default();
    super::download::csv(headers, "网格查询结果.csv", "lookup.csv", bytes)
}

/// The batch as an Excel workbook: the CSV's columns under Chinese headers, codes as text.
fn xlsx_response(results: &[BatchItem]) -> Result<Response, ApiError> {
    use crate::io::sheet::{Cell, Column, Sheet};
    let columns = lookup::CSV_HEADER
        .iter()
        .zip(lookup::CSV_TITLES)
        .map(|(&key, title)| Column { key, title })
        .collect();
    let rows = results
        .iter()
        .map(|item| {
            let (id, result) = row_of(item);
            lookup::csv_cells(id, result)
                .into_iter()
                .enumerate()
                .map(|(i, text)| match text {
                    t if t.is_empty() => Cell::Empty,
                    t if lookup::CSV_CODE_COLUMNS.contains(&i) => Cell::Code(t),
                    t => Cell::Text(t),
                })
                .collect()
        })
        .collect();
    let sheet = Sheet {
        name: "查询结果".into(),
        columns,
        rows,
    };
    let bytes = crate::io::sheet::xlsx(&[sheet])
        .map_err(|e| ApiError::Internal(format!("cannot write the workbook: {e}")))?;
    Ok(super::download::xlsx(
        "网格查询结果.xlsx",
        "lookup.xlsx",
        bytes,
    ))
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
