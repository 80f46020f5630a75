//! `GET /v1/lookup` and `POST /v1/lookup`: which community and grid a point lies in, answered as
//! a digital contact card (便民联系服务卡), one point or up to [`MAX_BATCH`] at a time, in JSON or CSV.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use geo::coord;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody, query_pairs};
use crate::lookup::{self, Located};
use crate::model::Feature;
use crate::snapshot::Snapshot;
use crate::spatial::crs::Crs;

/// Most points one batch request may carry.
pub const MAX_BATCH: usize = 100_000;

/// Properties copied onto the contact card when a feature has them.
const CARD_KEYS: [&str; 9] = [
    "grid_worker",
    "grid_worker_phone",
    "grid_leader",
    "grid_leader_phone",
    "office_address",
    "office_phone",
    "party_org",
    "address",
    "phone",
];

/// A feature on the contact card: its code and name and the contact details the data has.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Card {
    pub code: String,
    pub name: String,
    /// Grid worker, phones, office address, party organisation… — only the keys the data has.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub contact: Map<String, Value>,
}

impl From<&Feature> for Card {
    fn from(f: &Feature) -> Card {
        let contact = CARD_KEYS
            .iter()
            .filter_map(|&k| f.properties.get(k).map(|v| (k.to_string(), v.clone())))
            .collect();
        Card {
            code: f.code.clone(),
            name: f.name.clone(),
            contact,
        }
    }
}

/// A WGS84 longitude-latitude.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// Where one point lies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupAnswer {
    /// The point in WGS84, after converting from the request's `crs`.
    pub point: LonLat,
    pub subdistrict: Option<Card>,
    pub community: Option<Card>,
    /// The party grid responsible for the point (by the boundary rule when it is on a shared edge).
    pub party_grid: Option<Card>,
    /// Every commercial grid that contains the point.
    pub commercial_grids: Vec<Card>,
    pub compound: Option<Card>,
    /// The point lies on the boundary of the chosen grid (or community); it was given to the
    /// grid with the smallest code.
    pub on_boundary: bool,
    /// Every party grid that contains the point, when more than one does (a data fault).
    pub overlap: Vec<Card>,
}

impl LookupAnswer {
    fn new(point: LonLat, l: Located<'_>) -> LookupAnswer {
        let card = |f: Option<&Feature>| f.map(Card::from);
        LookupAnswer {
            point,
            subdistrict: card(l.subdistrict),
            community: card(l.community),
            party_grid: card(l.party_grid),
            commercial_grids: l.commercial_grids.into_iter().map(Card::from).collect(),
            compound: card(l.compound),
            on_boundary: l.on_boundary,
            overlap: l.overlap.into_iter().map(Card::from).collect(),
        }
    }
}

/// Convert and check one input point, then locate it.
fn answer(snapshot: &Snapshot, crs: Crs, lon: f64, lat: f64) -> Result<LookupAnswer, ApiError> {
    check_range(lon, lat)?;
    let (x, y) = crs.to_wgs84(lon, lat);
    let located = lookup::locate(snapshot, coord!(x: x, y: y));
    Ok(LookupAnswer::new(LonLat { lon: x, lat: y }, located))
}

fn check_range(lon: f64, lat: f64) -> Result<(), ApiError> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::bad_request(
            "invalid_coordinate",
            format!("lon {lon} is out of range (-180 to 180)"),
        ));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_request(
            "invalid_coordinate",
            format!("lat {lat} is out of range (-90 to 90)"),
        ));
    }
    Ok(())
}

/// Parse a number given as text, naming the field when it is not one.
fn parse_number(field: &str, text: &str) -> Result<f64, ApiError> {
    let v: f64 = text.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_coordinate",
            format!("{field} must be a number, got {text:?}"),
        )
    })?;
    if !v.is_finite() {
        return Err(ApiError::bad_request(
            "invalid_coordinate",
            format!("{field} must be a finite number, got {text:?}"),
        ));
    }
    Ok(v)
}

fn parse_crs(text: &str) -> Result<Crs, ApiError> {
    text.parse().map_err(|e: crate::spatial::crs::UnknownCrs| {
        ApiError::bad_request("invalid_crs", e.to_string())
    })
}

/// `GET /v1/lookup?lon=…&lat=…[&crs=…]`
#[utoipa::path(
    get,
    path = "/v1/lookup",
    params(
        ("lon" = f64, Query, description = "Longitude in `crs`"),
        ("lat" = f64, Query, description = "Latitude in `crs`"),
        ("crs" = Option<String>, Query, description = "wgs84 (default), cgcs2000, gcj02 or bd09"),
    ),
    responses(
        (status = 200, description = "Where the point lies; nulls outside the subdistrict", body = LookupAnswer),
        (status = 400, description = "A missing, malformed or out-of-range parameter", body = ErrorBody),
    )
)]
pub async fn lookup_point(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<LookupAnswer>, ApiError> {
    let pairs = query_pairs(query)?;
    let mut lon = None;
    let mut lat = None;
    let mut crs = Crs::default();
    for (k, v) in &pairs {
        let slot = match k.as_str() {
            "lon" => &mut lon,
            "lat" => &mut lat,
            "crs" => {
                crs = parse_crs(v)?;
                continue;
            }
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown query parameter {other:?} (expected lon, lat, crs)"),
                ));
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(
                "duplicate_parameter",
                format!("query parameter {k:?} given twice"),
            ));
        }
        *slot = Some(parse_number(k, v)?);
    }
    let missing = |name| ApiError::bad_request("missing_parameter", format!("{name} is required"));
    let lon = lon.ok_or_else(|| missing("lon"))?;
    let lat = lat.ok_or_else(|| missing("lat"))?;
    let snapshot = state.snapshot.current();
    Ok(axum::Json(answer(&snapshot, crs, lon, lat)?))
}

/// One answer of a batch, in input order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    /// The caller's id, as given.
    #[schema(value_type = Object)]
    pub id: Value,
    #[serde(flatten)]
    pub answer: Option<LookupAnswer>,
    /// Why this item has no answer; `null` when it has one.
    pub error: Option<ErrorBody>,
}

/// `POST /v1/lookup` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchItem>,
}

/// One parsed input item: its id and either the point or why it is bad.
type Item = (Value, Result<(f64, f64), ApiError>);

/// `POST /v1/lookup` — a batch: JSON `{"crs", "points": [{"id", "lon", "lat"}]}` or CSV with the
/// columns `id,lon,lat` (and an optional `crs` query parameter). Answers JSON, or CSV when the
/// request's `Accept` asks for `text/csv`.
#[utoipa::path(
    post,
    path = "/v1/lookup",
    params(("crs" = Option<String>, Query, description = "For CSV bodies: wgs84 (default), cgcs2000, gcj02 or bd09")),
    request_body(content = Object, description = "`{\"crs\": \"gcj02\", \"points\": [{\"id\": \"a\", \"lon\": 113.6, \"lat\": 34.7}]}`, or text/csv with columns id,lon,lat"),
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
    for (k, v) in &pairs {
        match k.as_str() {
            "crs" => query_crs = Some(parse_crs(v)?),
            other => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown query parameter {other:?} (expected crs)"),
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
    let snapshot = state.snapshot.current();
    // A large batch is CPU work: keep it off the async threads.
    let results = tokio::task::spawn_blocking(move || {
        items
            .into_iter()
            .map(|(id, point)| {
                let result = point.and_then(|(lon, lat)| answer(&snapshot, crs, lon, lat));
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
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::Internal(format!("lookup task failed: {e}")))?;
    if header_text(&headers, header::ACCEPT).contains("text/csv") {
        Ok(csv_response(&results))
    } else {
        Ok(axum::Json(BatchAnswer { results }).into_response())
    }
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
        .find(|k| !matches!(k.as_str(), "id" | "lon" | "lat"))
    {
        return (id, bad(format!("points[{index}]: unknown field {k:?}")));
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
    let point = coord("lon").and_then(|lon| coord("lat").map(|lat| (lon, lat)));
    (id, point)
}

/// Parse a CSV batch with a header row naming `id`, `lon` and `lat` (in any order).
fn parse_csv(body: &[u8]) -> Result<Vec<Item>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::bad_request("invalid_csv", format!("CSV header: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(id), Some(lon), Some(lat)) = (column("id"), column("lon"), column("lat")) else {
        return Err(ApiError::bad_request(
            "invalid_csv",
            format!(
                "the CSV header must name the columns id, lon and lat; found {:?}",
                headers.iter().collect::<Vec<_>>()
            ),
        ));
    };
    let mut items = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if items.len() == MAX_BATCH {
            return Err(too_many(MAX_BATCH + 1));
        }
        let line = i + 2;
        let item = match record {
            Err(e) => (
                Value::Null,
                Err(ApiError::bad_request(
                    "invalid_csv",
                    format!("line {line}: {e}"),
                )),
            ),
            Ok(r) => {
                let field = |c: usize, name: &str| {
                    r.get(c).ok_or_else(|| {
                        ApiError::bad_request("invalid_point", format!("line {line}: no {name}"))
                    })
                };
                let id = Value::String(r.get(id).unwrap_or("").to_string());
                let point = field(lon, "lon")
                    .and_then(|t| parse_number(&format!("line {line}: lon"), t))
                    .and_then(|x| {
                        field(lat, "lat")
                            .and_then(|t| parse_number(&format!("line {line}: lat"), t))
                            .map(|y| (x, y))
                    });
                (id, point)
            }
        };
        items.push(item);
    }
    Ok(items)
}

/// The batch as CSV: one row per input point, in order.
fn csv_response(results: &[BatchItem]) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "lon",
        "lat",
        "community_code",
        "community_name",
        "party_grid_code",
        "party_grid_name",
        "grid_worker",
        "grid_worker_phone",
        "commercial_grid_codes",
        "compound_code",
        "compound_name",
        "on_boundary",
        "error",
    ];
    // Writing into a Vec cannot fail; a failure would only drop a row.
    let _ = w.write_record(header);
    for item in results {
        let id = match &item.id {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let row = match (&item.answer, &item.error) {
            (Some(a), _) => {
                let code = |c: &Option<Card>| c.as_ref().map_or(String::new(), |c| c.code.clone());
                let name = |c: &Option<Card>| c.as_ref().map_or(String::new(), |c| c.name.clone());
                let contact = |k: &str| {
                    a.party_grid
                        .as_ref()
                        .and_then(|c| c.contact.get(k))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                vec![
                    id,
                    a.point.lon.to_string(),
                    a.point.lat.to_string(),
                    code(&a.community),
                    name(&a.community),
                    code(&a.party_grid),
                    name(&a.party_grid),
                    contact("grid_worker"),
                    contact("grid_worker_phone"),
                    a.commercial_grids
                        .iter()
                        .map(|c| c.code.as_str())
                        .collect::<Vec<_>>()
                        .join(";"),
                    code(&a.compound),
                    name(&a.compound),
                    a.on_boundary.to_string(),
                    String::new(),
                ]
            }
            (None, e) => {
                let mut row = vec![String::new(); header.len()];
                row[0] = id;
                row[header.len() - 1] = e.as_ref().map_or(String::new(), |e| e.message.clone());
                row
            }
        };
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response()
}
