//! OGC API – Features, Part 1: Core, at `/ogc`: landing page, conformance, one collection per
//! layer, items with `bbox`/`limit`/`offset` paging, and single items — in GeoJSON and HTML; and
//! of Part 3 the queryables of each collection (`code`, `name`, `parent` and the layer's
//! well-known properties, [`crate::rules::well_known`]) as a JSON Schema, each usable as an
//! equality filter on the items (`?parent=410105001001&households=320`).
//!
//! This is how GIS desktop tools (QGIS, ArcGIS, GDAL's OAPIF driver) read the grids. Everything
//! is answered from the current snapshot; paging is by offset in code order, with `numberMatched`
//! and `next`/`prev` links, so clients that page (GDAL, QGIS) read every feature exactly once.
//! Every URL in a document is absolute, built from the request's `Host` (and a trusted proxy's
//! prefix, [`PublicUrl`]).
//!
//! Page sizes: `limit` defaults to 100; a larger value than 10,000 is read as 10,000 rather than
//! refused (Part 1, 1.0.1, `/req/core/fc-limit-response-1`: the maximum is the server's to
//! choose and a request above it is not an error). A GeoJSON page's `next` link asks for the
//! largest page, whatever the page it follows asked for: clients that follow `next` (GDAL 3.6's
//! driver asks for 10 features a page and reads no maximum from the API document; later ones
//! ask for 1,000, or what a `$ref`'d `limit` parameter says) then read a collection of 10,000
//! features in two requests instead of a thousand, while every page still holds no more than
//! the `limit` of its own URL.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use geo::{BoundingRect, Intersects, Rect, coord};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Params, PublicUrl};
use crate::model::{Feature, Layer};
use crate::rules::{MAX_COUNT, PropertyKind, well_known};
use crate::snapshot::Snapshot;

/// Most features in one page: a larger `limit` is read as this.
pub const MAX_LIMIT: usize = 10_000;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 100;

/// The link relation from a collection to its queryables (OGC API – Features Part 3).
pub const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";
const SCHEMA_JSON: &str = "application/schema+json";

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
const HTML: &str = "text/html";

/// The conformance classes implemented.
pub const CONFORMANCE: [&str; 5] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
];

/// The representation asked for: `?f=` first, else the `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
}

/// The query parameter of every OGC page but the items.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParams {
    /// json or html (else the `Accept` header decides).
    #[param(value_type = Option<super::openapi::params::OgcFormat>)]
    f: Option<String>,
}

/// The query parameters of a collection's items that every collection has; the collection's
/// other queryables are parameters too (see [`ItemsQuery`]).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemsParams {
    /// json (GeoJSON) or html (else the `Accept` header decides).
    #[param(value_type = Option<super::openapi::params::OgcFormat>)]
    f: Option<String>,
    /// west,south,east,north in CRS84.
    bbox: Option<String>,
    /// Features per page, default 100; at most 10000 are returned, a larger value is read as
    /// 10000.
    #[param(value_type = Option<i64>, minimum = 1, default = 100)]
    limit: Option<String>,
    /// Features to skip, default 0.
    #[param(value_type = Option<usize>)]
    offset: Option<String>,
    /// Accepted and ignored: features have no time.
    #[allow(dead_code)] // read only to be accepted
    datetime: Option<String>,
    /// Only the feature with this code (queryable).
    code: Option<String>,
    /// Only features with this name (queryable).
    name: Option<String>,
    /// Only features whose parent has this code (queryable): the grids of a community, the
    /// communities of a subdistrict.
    parent: Option<String>,
}

/// The names [`ItemsParams`] reads; any other parameter must be one of the collection's
/// queryables.
const ITEMS_PARAMS: [&str; 8] = [
    "f", "bbox", "limit", "offset", "datetime", "code", "name", "parent",
];

/// A property the items of a collection can be filtered on by equality, and that its
/// queryables document lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queryable {
    pub name: &'static str,
    pub kind: PropertyKind,
}

/// The queryables of `layer`: `code`, `name`, `parent`, then its well-known properties.
pub fn queryables(layer: Layer) -> Vec<Queryable> {
    ["code", "name", "parent"]
        .into_iter()
        .map(|name| Queryable {
            name,
            kind: PropertyKind::Text,
        })
        .chain(
            well_known(layer)
                .iter()
                .map(|&(name, kind)| Queryable { name, kind }),
        )
        .collect()
}

/// The JSON Schema of one queryable's values.
pub fn value_schema(kind: PropertyKind) -> Value {
    match kind {
        PropertyKind::Text => json!({"type": "string"}),
        PropertyKind::Count => json!({"type": "integer", "minimum": 0, "maximum": MAX_COUNT}),
        PropertyKind::Integer => json!({"type": "integer"}),
        PropertyKind::Number => json!({"type": "number"}),
        PropertyKind::Boolean => json!({"type": "boolean"}),
    }
}

/// The queryables of `layer` as a JSON Schema (OGC API – Features Part 3; roles of Part 5).
pub fn queryables_schema(layer: Layer, base: &str) -> Value {
    let mut properties = serde_json::Map::new();
    for q in queryables(layer) {
        let mut schema = value_schema(q.kind);
        let title = match q.name {
            "code" => "编码 code".to_string(),
            "name" => "名称 name".to_string(),
            "parent" => "上级编码 parent".to_string(),
            other => other.to_string(),
        };
        schema["title"] = json!(title);
        match q.name {
            // The code is the feature's id within its collection (items/{featureId}).
            "code" => schema["x-ogc-role"] = json!("id"),
            "parent" => {
                if let Some(p) = layer.parent_layer() {
                    schema["x-ogc-role"] = json!("reference");
                    schema["x-ogc-collectionId"] = json!(p.id());
                }
            }
            _ => {}
        }
        properties.insert(q.name.to_string(), schema);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/ogc/collections/{}/queryables", layer.id()),
        "type": "object",
        "title": format!("{} ({})", layer.name_zh(), layer.id()),
        "description": "Properties the items can be filtered on: ?name=value, equality; several filters must all hold.",
        "properties": properties,
        "additionalProperties": false,
    })
}

/// One equality filter of the items, its value checked against the queryable's type.
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    name: &'static str,
    /// As given, for the paging links (encoded again when written).
    text: String,
    wanted: Wanted,
}

#[derive(Debug, Clone, PartialEq)]
enum Wanted {
    Text,
    /// `None`: a whole number beyond 64 bits, which no stored value equals.
    Integer(Option<i64>),
    Number(f64),
    Boolean(bool),
}

impl Filter {
    fn new(q: Queryable, text: &str) -> Result<Filter, ApiError> {
        let bad = |what: String| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("{}: {what}, got {text:?}", q.name),
            )
        };
        let whole = || {
            let digits = text.strip_prefix('-').unwrap_or(text);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<i64>().ok())
        };
        let wanted = match q.kind {
            PropertyKind::Text => Wanted::Text,
            PropertyKind::Integer => {
                Wanted::Integer(whole().ok_or_else(|| bad("must be a whole number".into()))?)
            }
            PropertyKind::Count => {
                let n = whole()
                    .flatten()
                    .filter(|n| (0..=MAX_COUNT as i64).contains(n))
                    .ok_or_else(|| bad(format!("must be a whole number from 0 to {MAX_COUNT}")))?;
                Wanted::Integer(Some(n))
            }
            // A number too large for f64 is read as infinite and matches nothing; words such
            // as "inf" or "NaN", which Rust would read, are refused.
            PropertyKind::Number => Wanted::Number(
                text.parse::<f64>()
                    .ok()
                    .filter(|_| text.bytes().all(|b| b"0123456789+-.eE".contains(&b)))
                    .ok_or_else(|| bad("must be a number".into()))?,
            ),
            PropertyKind::Boolean => Wanted::Boolean(match text {
                "true" => true,
                "false" => false,
                _ => return Err(bad("must be true or false".into())),
            }),
        };
        Ok(Filter {
            name: q.name,
            text: text.to_string(),
            wanted,
        })
    }

    fn matches(&self, f: &Feature) -> bool {
        let text = match self.name {
            "code" => return f.code == self.text,
            "name" => return f.name == self.text,
            "parent" => return f.parent.as_deref() == Some(self.text.as_str()),
            key => f.properties.get(key),
        };
        match (&self.wanted, text) {
            (Wanted::Text, Some(Value::String(s))) => *s == self.text,
            (Wanted::Integer(Some(n)), Some(Value::Number(v))) => {
                v.as_i64() == Some(*n) || (v.as_i64().is_none() && v.as_f64() == Some(*n as f64))
            }
            (Wanted::Number(n), Some(Value::Number(v))) => v.as_f64() == Some(*n),
            (Wanted::Boolean(b), Some(Value::Bool(v))) => v == b,
            _ => false,
        }
    }
}

/// The items query of a collection: [`ItemsParams`] and equality filters on its queryables. An
/// unknown or repeated parameter is a 400 naming it, as everywhere else.
struct ItemsQuery {
    params: ItemsParams,
    filters: Vec<Filter>,
}

impl ItemsQuery {
    fn parse(layer: Layer, raw: &str) -> Result<ItemsQuery, ApiError> {
        let all = queryables(layer);
        let mut common = form_urlencoded::Serializer::new(String::new());
        let mut filters: Vec<Filter> = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            if ITEMS_PARAMS.contains(&&*key) {
                common.append_pair(&key, &value);
                continue;
            }
            let Some(q) = all.iter().find(|q| q.name == key) else {
                let names: Vec<&str> = all.iter().map(|q| q.name).collect();
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!(
                        "unknown query parameter: {key:?}; the items of {layer} take f, bbox, limit, offset, datetime and its queryables: {}",
                        names.join(", ")
                    ),
                ));
            };
            if filters.iter().any(|f| f.name == q.name) {
                return Err(ApiError::bad_request(
                    "duplicate_parameter",
                    format!("query parameter {key:?} given twice"),
                ));
            }
            filters.push(Filter::new(*q, &value)?);
        }
        let params: ItemsParams = super::extract::parse(&common.finish())?;
        // code, name and parent are read by ItemsParams (so that the document lists them for
        // every collection) and filter like the others; put them first.
        let mut first = Vec::new();
        for (name, value) in [
            ("code", &params.code),
            ("name", &params.name),
            ("parent", &params.parent),
        ] {
            if let (Some(v), Some(q)) = (value, all.iter().find(|q| q.name == name)) {
                first.push(Filter::new(*q, v)?);
            }
        }
        first.extend(filters);
        Ok(ItemsQuery {
            params,
            filters: first,
        })
    }
}

/// `limit`: a whole number from 1 to 2^63 - 1 (the document's int64; 400 otherwise); above
/// [`MAX_LIMIT`] it is read as [`MAX_LIMIT`].
fn parse_limit(text: &str) -> Result<usize, ApiError> {
    let t = text.trim();
    t.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| t.parse::<i64>().ok())
        .flatten()
        .filter(|n| *n >= 1)
        .map(|n| usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT)))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("limit must be a whole number from 1 to 2^63 - 1, got {text:?}"),
            )
        })
}

/// The representation asked for: `?f=` first, else the `Accept` header.
fn format(f: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    match f {
        Some("json" | "geojson") => Ok(Format::Json),
        Some("html") => Ok(Format::Html),
        Some(other) => Err(ApiError::bad_request(
            "invalid_parameter",
            format!("f must be json or html, got {other:?}"),
        )),
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let html = accept.contains(HTML) && !accept.contains("json");
            Ok(if html { Format::Html } else { Format::Json })
        }
    }
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

/// `self` and `alternate` links for a document at `url` (without query) in format `f`.
fn self_links(url: &str, f: Format, json_type: &str) -> Vec<Value> {
    let (me, other) = match f {
        Format::Json => ((json_type, "json"), (HTML, "html")),
        Format::Html => ((HTML, "html"), (json_type, "json")),
    };
    vec![
        link(format!("{url}?f={}", me.1), "self", me.0, "this document"),
        link(
            format!("{url}?f={}", other.1),
            "alternate",
            other.0,
            "this document in another format",
        ),
    ]
}

fn layer_of(id: &str) -> Result<Layer, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no collection {id:?}")))
}

/// The landing page.
#[utoipa::path(get, path = "/ogc", tag = "ogc",
    params(FormatParams),
    responses((status = 200, description = "Landing page with links to the API, conformance and collections")))]
pub async fn get_landing(
    Params(q): Params<FormatParams>,
    url: PublicUrl,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let f = format(q.f.as_deref(), &headers)?;
    let base = url.base();
    let mut links = self_links(&format!("{base}/ogc"), f, JSON);
    links.extend([
        // The OGC part of the API alone, its paths relative to /ogc: GDAL's driver looks up
        // /collections/{id}/items there to learn which filters the server takes.
        link(
            format!("{base}/ogc/api"),
            "service-desc",
            "application/vnd.oai.openapi+json;version=3.1",
            "the API definition",
        ),
        link(
            format!("{base}/openapi.json"),
            "service-doc",
            JSON,
            "the API documentation",
        ),
        link(
            format!("{base}/ogc/conformance"),
            "conformance",
            JSON,
            "conformance classes",
        ),
        link(
            format!("{base}/ogc/collections"),
            "data",
            JSON,
            "feature collections",
        ),
    ]);
    let doc = json!({
        "title": "gridmap 社区网格化治理",
        "description": "Community grids, communities and service points as OGC API Features.",
        "links": links,
    });
    Ok(respond(f, doc, JSON, "gridmap 社区网格"))
}

/// The conformance classes.
#[utoipa::path(get, path = "/ogc/conformance", tag = "ogc",
    params(FormatParams),
    responses((status = 200, description = "Conformance classes")))]
pub async fn get_conformance(
    Params(q): Params<FormatParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let f = format(q.f.as_deref(), &headers)?;
    Ok(respond(
        f,
        json!({"conformsTo": CONFORMANCE}),
        JSON,
        "Conformance",
    ))
}

/// `[west, south, east, north]` of a layer, the world when it is empty.
fn layer_bbox(snapshot: &Snapshot, layer: Layer) -> [f64; 4] {
    snapshot
        .layer(layer)
        .filter_map(|f| f.geometry.bounding_rect())
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
        .unwrap_or([-180.0, -90.0, 180.0, 90.0])
}

fn collection(snapshot: &Snapshot, layer: Layer, base: &str) -> Value {
    let queryables_url = format!("{base}/ogc/collections/{}/queryables", layer.id());
    let url = format!("{base}/ogc/collections/{}", layer.id());
    json!({
        "id": layer.id(),
        "title": layer.name_zh(),
        "description": format!("{} ({}), {} features", layer.name_zh(), layer.id(), snapshot.count(layer)),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [layer_bbox(snapshot, layer)], "crs": CRS84}},
        "links": [
            link(url.clone(), "self", JSON, "this collection"),
            link(format!("{url}?f=html"), "alternate", HTML, "this collection as HTML"),
            link(format!("{url}/items"), "items", GEOJSON, "the features"),
            link(format!("{url}/items?f=html"), "items", HTML, "the features as HTML"),
            link(queryables_url, QUERYABLES_REL, SCHEMA_JSON, "the properties the features can be filtered on"),
        ],
    })
}

/// Every collection: one per layer.
#[utoipa::path(get, path = "/ogc/collections", tag = "ogc",
    params(FormatParams),
    responses((status = 200, description = "One collection per layer")))]
pub async fn get_collections(
    State(state): State<AppState>,
    Params(q): Params<FormatParams>,
    url: PublicUrl,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let f = format(q.f.as_deref(), &headers)?;
    let base = url.base();
    let snapshot = state.snapshot.current();
    let collections: Vec<Value> = Layer::ALL
        .into_iter()
        .map(|l| collection(&snapshot, l, &base))
        .collect();
    let doc = json!({
        "links": self_links(&format!("{base}/ogc/collections"), f, JSON),
        "collections": collections,
    });
    Ok(respond(f, doc, JSON, "图层 Collections"))
}

/// One collection.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "A layer id"),
           FormatParams),
    responses((status = 200, description = "The collection"), (status = 404, description = "No such layer", body = super::error::ErrorResponse)))]
pub async fn get_collection(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Params(q): Params<FormatParams>,
    url: PublicUrl,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let layer = layer_of(&id)?;
    let f = format(q.f.as_deref(), &headers)?;
    let doc = collection(&state.snapshot.current(), layer, &url.base());
    Ok(respond(f, doc, JSON, layer.name_zh()))
}

/// The properties a collection's items can be filtered on (OGC API – Features Part 3).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/queryables", tag = "ogc",
    params(("collectionId" = String, Path, description = "A layer id"),
           FormatParams),
    responses((status = 200, description = "A JSON Schema of the queryables: code, name, parent and the layer's well-known properties; HTML with f=html",
                content((Object = "application/schema+json"), (String = "text/html"))),
              (status = 404, description = "No such layer", body = super::error::ErrorResponse)))]
pub async fn get_queryables(
    path: Result<Path<String>, PathRejection>,
    Params(q): Params<FormatParams>,
    url: PublicUrl,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let layer = layer_of(&id)?;
    let f = format(q.f.as_deref(), &headers)?;
    let doc = queryables_schema(layer, &url.base());
    Ok(respond(f, doc, SCHEMA_JSON, layer.name_zh()))
}

/// Parse `bbox`: four numbers (or six, with heights, which are ignored), west ≤ east, south ≤ north.
fn parse_bbox(text: &str) -> Result<Rect<f64>, ApiError> {
    let bad = |why: String| ApiError::bad_request("invalid_bbox", why);
    let nums = text
        .split(',')
        .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| {
            bad(format!(
                "bbox must be 4 comma-separated numbers, got {text:?}"
            ))
        })?;
    let [w, s, e, n] = match nums[..] {
        [w, s, e, n] => [w, s, e, n],
        [w, s, _, e, n, _] => [w, s, e, n],
        _ => {
            return Err(bad(format!(
                "bbox must have 4 (or 6) numbers, got {}",
                nums.len()
            )));
        }
    };
    if !(-180.0..=180.0).contains(&w) || !(-180.0..=180.0).contains(&e) {
        return Err(bad(format!(
            "bbox longitudes must be -180 to 180, got {text:?}"
        )));
    }
    if !(-90.0..=90.0).contains(&s) || !(-90.0..=90.0).contains(&n) {
        return Err(bad(format!(
            "bbox latitudes must be -90 to 90, got {text:?}"
        )));
    }
    if s > n {
        return Err(bad(format!("bbox south {s} is north of north {n}")));
    }
    if w > e {
        return Err(bad(format!(
            "bbox west {w} is east of east {e} (boxes across the antimeridian are not supported)"
        )));
    }
    Ok(Rect::new(coord!(x: w, y: s), coord!(x: e, y: n)))
}

/// `offset`: a whole number (400 otherwise); one beyond every feature gives an empty page, however
/// many digits it has.
fn parse_offset(text: &str) -> Result<usize, ApiError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("offset must be a whole number from 0, got {text:?}"),
        ));
    }
    Ok(t.parse::<usize>().unwrap_or(usize::MAX))
}

/// One feature as GeoJSON, its `id` the code (unique within the collection).
fn feature_json(f: &Feature) -> Value {
    let mut g = geojson::Feature::from(f);
    g.id = Some(geojson::feature::Id::String(f.code.clone()));
    serde_json::to_value(g).unwrap_or(Value::Null)
}

/// The features of a collection, paged.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items", tag = "ogc",
    params(("collectionId" = String, Path, description = "A layer id"),
           ItemsParams),
    responses((status = 200, description = "A GeoJSON FeatureCollection with numberMatched, numberReturned and paging links; an HTML table with f=html",
                content((Object = "application/geo+json"), (String = "text/html"))),
              (status = 400, description = "Bad bbox, limit, offset or filter value, or a parameter that is not one of the collection's", body = super::error::ErrorResponse),
              (status = 404, description = "No such collection", body = super::error::ErrorResponse)))]
pub async fn get_items(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    url: PublicUrl,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let layer = layer_of(&id)?;
    let ItemsQuery { params: q, filters } = ItemsQuery::parse(layer, raw.as_deref().unwrap_or(""))?;
    let f = format(q.f.as_deref(), &headers)?;
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let limit = q
        .limit
        .as_deref()
        .map(parse_limit)
        .transpose()?
        .unwrap_or(DEFAULT_LIMIT);
    let offset = q
        .offset
        .as_deref()
        .map(parse_offset)
        .transpose()?
        .unwrap_or(0);
    let snapshot = state.snapshot.current();
    let wanted = |f: &&Feature| filters.iter().all(|q| q.matches(f));
    let matched: Vec<&Feature> = match bbox {
        None => snapshot.layer(layer).filter(wanted).collect(),
        Some(r) => {
            let mut v: Vec<&Feature> = snapshot
                .in_box(layer, [r.min().x, r.min().y], [r.max().x, r.max().y])
                .into_iter()
                .filter(|f| f.geometry.intersects(&r))
                .filter(wanted)
                .collect();
            v.sort_by(|a, b| a.code.cmp(&b.code));
            v
        }
    };
    let page: Vec<&Feature> = matched.iter().skip(offset).take(limit).copied().collect();
    let base = url.base();
    let url = format!("{base}/ogc/collections/{}/items", layer.id());
    let page_url = |fmt: &str, limit: usize, off: usize| {
        let mut s = format!("{url}?f={fmt}&limit={limit}&offset={off}");
        if let Some(r) = bbox {
            // Written from the parsed numbers, so nothing of the raw query reaches the link.
            let (min, max) = (r.min(), r.max());
            s.push_str(&format!("&bbox={},{},{},{}", min.x, min.y, max.x, max.y));
        }
        // Filter values were checked against their type and are encoded again here.
        let mut query = form_urlencoded::Serializer::new(String::new());
        for q in &filters {
            query.append_pair(q.name, &q.text);
        }
        let query = query.finish();
        if !query.is_empty() {
            s.push('&');
            s.push_str(&query);
        }
        s
    };
    let (me, other) = match f {
        Format::Json => ((GEOJSON, "json"), (HTML, "html")),
        Format::Html => ((HTML, "html"), (GEOJSON, "json")),
    };
    let mut links = vec![
        link(page_url(me.1, limit, offset), "self", me.0, "this page"),
        link(
            page_url(other.1, limit, offset),
            "alternate",
            other.0,
            "this page in another format",
        ),
        link(
            format!("{base}/ogc/collections/{}", layer.id()),
            "collection",
            JSON,
            "the collection",
        ),
    ];
    if offset + page.len() < matched.len() {
        // The largest page for a client that follows `next` (see the module documentation);
        // a person paging through the HTML keeps the page size they chose.
        let next_limit = match f {
            Format::Json => MAX_LIMIT,
            Format::Html => limit,
        };
        links.push(link(
            page_url(me.1, next_limit, offset + page.len()),
            "next",
            me.0,
            "next page",
        ));
    }
    if offset > 0 {
        links.push(link(
            page_url(me.1, limit, offset.saturating_sub(limit)),
            "prev",
            me.0,
            "previous page",
        ));
    }
    let doc = json!({
        "type": "FeatureCollection",
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
        "features": page.iter().map(|f| feature_json(f)).collect::<Vec<_>>(),
    });
    Ok(respond(f, doc, GEOJSON, layer.name_zh()))
}

/// One feature by its code.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "A layer id"),
           ("featureId" = String, Path, description = "The feature's code"),
           FormatParams),
    responses((status = 200, description = "A GeoJSON Feature; HTML with f=html",
                content((Object = "application/geo+json"), (String = "text/html"))),
              (status = 404, description = "No such collection or feature", body = super::error::ErrorResponse)))]
pub async fn get_item(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    Params(q): Params<FormatParams>,
    url: PublicUrl,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((id, code)) = path?;
    let layer = layer_of(&id)?;
    let f = format(q.f.as_deref(), &headers)?;
    let snapshot = state.snapshot.current();
    let feature = snapshot
        .find(layer, &code)
        .ok_or_else(|| ApiError::NotFound(format!("no feature {code:?} in collection {id:?}")))?;
    let base = url.base();
    let coll = format!("{base}/ogc/collections/{}", layer.id());
    let mut doc = feature_json(feature);
    let mut links = self_links(&format!("{coll}/items/{code}"), f, GEOJSON);
    links.push(link(coll, "collection", JSON, "the collection"));
    doc["links"] = Value::Array(links);
    Ok(respond(f, doc, GEOJSON, &feature.name))
}

/// The document as JSON of `json_type`, or as a plain HTML page.
fn respond(f: Format, doc: Value, json_type: &'static str, title: &str) -> Response {
    match f {
        Format::Json => {
            let mut res = Json(doc).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(json_type),
            );
            res
        }
        Format::Html => Html(html_page(title, &doc)).into_response(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A plain page: the title, the links, the features as a table (code, name, parent) and any
/// other members as indented JSON.
fn html_page(title: &str, doc: &Value) -> String {
    let mut out = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:2px 6px}}\
         table{{border-collapse:collapse}}</style></head><body><h1>{t}</h1>",
        t = escape(title)
    );
    if let Some(links) = doc["links"].as_array() {
        out.push_str("<h2>链接 Links</h2><ul>");
        for l in links {
            let s = |k: &str| escape(l[k].as_str().unwrap_or(""));
            out.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({}, {})</li>",
                s("href"),
                s("title"),
                s("rel"),
                s("type")
            ));
        }
        out.push_str("</ul>");
    }
    if let Some(features) = doc["features"].as_array() {
        out.push_str(&format!(
            "<p>共 {} 个要素，本页 {} 个 ({} matched, {} returned)</p>\
             <table><tr><th>编码 code</th><th>名称 name</th><th>上级 parent</th></tr>",
            doc["numberMatched"],
            doc["numberReturned"],
            doc["numberMatched"],
            doc["numberReturned"]
        ));
        for f in features {
            let p = |k: &str| escape(f["properties"][k].as_str().unwrap_or(""));
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                p("code"),
                p("name"),
                p("parent")
            ));
        }
        out.push_str("</table>");
    } else {
        let mut rest = doc.clone();
        if let Some(o) = rest.as_object_mut() {
            o.remove("links");
        }
        let pretty = serde_json::to_string_pretty(&rest).unwrap_or_default();
        out.push_str(&format!("<pre>{}</pre>", escape(&pretty)));
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_is_checked() {
        assert!(parse_bbox("113.6,34.7,113.7,34.8").is_ok());
        assert!(parse_bbox("113.6,34.7,0,113.7,34.8,10").is_ok());
        for bad in [
            "",
            "1,2,3",
            "a,b,c,d",
            "1,2,3,4,5",
            "200,0,201,1",
            "0,50,1,40",
            "10,0,5,1",
            "NaN,0,1,1",
        ] {
            assert!(parse_bbox(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_above_the_maximum_are_read_as_the_maximum() {
        assert_eq!(parse_limit("10").ok(), Some(10));
        assert_eq!(parse_limit("10000").ok(), Some(MAX_LIMIT));
        assert_eq!(parse_limit("10001").ok(), Some(MAX_LIMIT));
        assert_eq!(parse_limit("9223372036854775807").ok(), Some(MAX_LIMIT));
        // Beyond the document's int64.
        for bad in ["0", "00", "-1", "x", "", "1.5", "+5", "9223372036854775808"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_offset("0").ok(), Some(0));
        assert_eq!(
            parse_offset("99999999999999999999999").ok(),
            Some(usize::MAX)
        );
        assert!(parse_offset("-1").is_err());
    }

    fn err(r: Result<ItemsQuery, ApiError>) -> (String, String) {
        let e = r.err().expect("an error");
        (e.body().code.to_string(), e.to_string())
    }

    #[test]
    fn only_queryables_are_accepted_beside_the_common_parameters() {
        let q = ItemsQuery::parse(
            Layer::PartyGrid,
            "limit=5&parent=410105001001&households=320&grid_worker=%E7%8E%8B",
        )
        .unwrap();
        assert_eq!(q.params.limit.as_deref(), Some("5"));
        let names: Vec<&str> = q.filters.iter().map(|f| f.name).collect();
        assert_eq!(names, ["parent", "households", "grid_worker"]);
        assert_eq!(q.filters[2].text, "王");

        let (code, message) = err(ItemsQuery::parse(Layer::PartyGrid, "colour=red"));
        assert_eq!(code, "unknown_parameter");
        assert!(
            message.contains("\"colour\"") && message.contains("households"),
            "{message}"
        );
        // A queryable of another collection is not one of this one's.
        let (code, _) = err(ItemsQuery::parse(Layer::Shop, "households=1"));
        assert_eq!(code, "unknown_parameter");
        let (code, message) = err(ItemsQuery::parse(Layer::PartyGrid, "households=many"));
        assert_eq!(code, "invalid_parameter");
        assert!(message.starts_with("households:"), "{message}");
        for bad in ["households=-1", "households=10000001", "households=1.5"] {
            assert!(ItemsQuery::parse(Layer::PartyGrid, bad).is_err(), "{bad}");
        }
        let (code, _) = err(ItemsQuery::parse(
            Layer::PartyGrid,
            "households=1&households=2",
        ));
        assert_eq!(code, "duplicate_parameter");
        let (code, _) = err(ItemsQuery::parse(Layer::PartyGrid, "parent=a&parent=b"));
        assert_eq!(code, "duplicate_parameter");
        // Numbers and booleans by their type.
        assert!(ItemsQuery::parse(Layer::PartyCenter, "floor_area_m2=1.25e2").is_ok());
        for bad in [
            "floor_area_m2=inf",
            "floor_area_m2=NaN",
            "floor_area_m2=big",
        ] {
            assert!(ItemsQuery::parse(Layer::PartyCenter, bad).is_err(), "{bad}");
        }
        assert!(ItemsQuery::parse(Layer::Shop, "archived=false").is_ok());
        assert!(ItemsQuery::parse(Layer::Shop, "archived=no").is_err());
        // A whole number beyond 64 bits is well-formed and matches nothing.
        let q = ItemsQuery::parse(Layer::PartyGrid, "buildings=99999999999999999999").unwrap();
        assert_eq!(q.filters[0].wanted, Wanted::Integer(None));
    }

    #[test]
    fn filters_compare_by_type() {
        let f = Feature {
            layer: Layer::PartyCenter,
            code: "c1".into(),
            name: "n".into(),
            parent: Some("p".into()),
            properties: [
                ("floor_area_m2", json!(125)),
                ("phone", json!("0371")),
                ("archived", json!(true)),
            ]
            .into_iter()
            .collect(),
            geometry: geo::Geometry::Point(geo::point!(x: 113.6, y: 34.7)),
            version: 1,
        };
        let q = |name: &'static str, kind: PropertyKind, text: &str| {
            Filter::new(Queryable { name, kind }, text).unwrap()
        };
        assert!(q("code", PropertyKind::Text, "c1").matches(&f));
        assert!(!q("code", PropertyKind::Text, "c2").matches(&f));
        assert!(q("parent", PropertyKind::Text, "p").matches(&f));
        assert!(q("floor_area_m2", PropertyKind::Number, "125.0").matches(&f));
        assert!(q("floor_area_m2", PropertyKind::Number, "1.25e2").matches(&f));
        assert!(!q("floor_area_m2", PropertyKind::Number, "125.5").matches(&f));
        assert!(q("floor_area_m2", PropertyKind::Integer, "125").matches(&f));
        // Text does not equal a number that reads the same, nor a missing property.
        assert!(!q("floor_area_m2", PropertyKind::Text, "125").matches(&f));
        assert!(!q("hours", PropertyKind::Text, "").matches(&f));
        assert!(q("phone", PropertyKind::Text, "0371").matches(&f));
    }

    #[test]
    fn the_queryables_are_a_json_schema() {
        let doc = queryables_schema(Layer::PartyGrid, "https://gis.example/gridmap");
        assert_eq!(
            doc["$id"],
            "https://gis.example/gridmap/ogc/collections/party_grid/queryables"
        );
        assert_eq!(
            doc["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(doc["type"], "object");
        assert_eq!(doc["additionalProperties"], false);
        let p = &doc["properties"];
        assert_eq!(p["code"]["x-ogc-role"], "id");
        assert_eq!(p["parent"]["x-ogc-role"], "reference");
        assert_eq!(p["parent"]["x-ogc-collectionId"], "community");
        assert_eq!(p["households"]["type"], "integer");
        assert_eq!(p["households"]["maximum"], MAX_COUNT);
        assert_eq!(p["grid_worker"]["type"], "string");
        let names: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(names.len(), queryables(Layer::PartyGrid).len());
        // Points have no parent layer: parent is plain text there.
        let shop = queryables_schema(Layer::Shop, "");
        assert!(shop["properties"]["parent"].get("x-ogc-role").is_none());
        assert_eq!(shop["properties"]["archived"]["type"], "boolean");
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        use super::super::extract::parse;
        assert!(parse::<FormatParams>("f=json").is_ok());
        assert!(parse::<FormatParams>("foo=1").is_err());
        assert!(parse::<ItemsParams>("limit=1&limit=2").is_err());
    }

    #[test]
    fn html_is_escaped() {
        let page = html_page(
            "<x>",
            &json!({"links": [{"href": "\"><script>", "title": "t"}]}),
        );
        assert!(!page.contains("<script>") && !page.contains("<x>"));
    }
}
