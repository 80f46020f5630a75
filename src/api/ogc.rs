//! OGC API – Features, Part 1: Core, at `/ogc`: landing page, conformance, one collection per
//! layer, items with `bbox`/`limit`/`offset` paging, and single items — in GeoJSON and HTML.
//!
//! This is how GIS desktop tools (QGIS, ArcGIS, GDAL's OAPIF driver) read the grids. Everything
//! is answered from the current snapshot; paging is by offset in code order, with `numberMatched`
//! and `next`/`prev` links, so clients that page (GDAL, QGIS) read every feature exactly once.
//! Every URL in a document is absolute, built from the request's `Host`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use geo::{BoundingRect, Intersects, Rect, coord};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Params;
use super::tiles::base_url;
use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;

/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 10_000;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 10;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
const HTML: &str = "text/html";

/// The conformance classes implemented.
pub const CONFORMANCE: [&str; 3] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
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

/// The query parameters of a collection's items.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemsParams {
    /// json (GeoJSON) or html (else the `Accept` header decides).
    #[param(value_type = Option<super::openapi::params::OgcFormat>)]
    f: Option<String>,
    /// west,south,east,north in CRS84.
    bbox: Option<String>,
    /// 1 to 10000, default 10.
    #[param(value_type = Option<usize>, minimum = 1, maximum = 10000)]
    limit: Option<String>,
    /// Features to skip, default 0.
    #[param(value_type = Option<usize>)]
    offset: Option<String>,
    /// Accepted and ignored: features have no time.
    #[allow(dead_code)] // read only to be accepted
    datetime: Option<String>,
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
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let f = format(q.f.as_deref(), &headers)?;
    let base = base_url(&headers);
    let mut links = self_links(&format!("{base}/ogc"), f, JSON);
    links.extend([
        link(
            format!("{base}/openapi.json"),
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
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let f = format(q.f.as_deref(), &headers)?;
    let base = base_url(&headers);
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
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let layer = layer_of(&id)?;
    let f = format(q.f.as_deref(), &headers)?;
    let doc = collection(&state.snapshot.current(), layer, &base_url(&headers));
    Ok(respond(f, doc, JSON, layer.name_zh()))
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

fn parse_count(name: &str, text: &str, min: usize, max: usize) -> Result<usize, ApiError> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("{name} must be a whole number from {min} to {max}, got {text:?}"),
            )
        })
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
    responses((status = 200, description = "A GeoJSON FeatureCollection with numberMatched, numberReturned and paging links", content_type = "application/geo+json"),
              (status = 400, description = "Bad bbox, limit, offset or an unknown parameter", body = super::error::ErrorResponse),
              (status = 404, description = "No such collection", body = super::error::ErrorResponse)))]
pub async fn get_items(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Params(q): Params<ItemsParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let layer = layer_of(&id)?;
    let f = format(q.f.as_deref(), &headers)?;
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let limit = q
        .limit
        .as_deref()
        .map(|v| parse_count("limit", v, 1, MAX_LIMIT))
        .transpose()?
        .unwrap_or(DEFAULT_LIMIT);
    let offset = q
        .offset
        .as_deref()
        .map(|v| parse_count("offset", v, 0, usize::MAX))
        .transpose()?
        .unwrap_or(0);
    let snapshot = state.snapshot.current();
    let matched: Vec<&Feature> = match bbox {
        None => snapshot.layer(layer).collect(),
        Some(r) => {
            let mut v: Vec<&Feature> = snapshot
                .in_box(layer, [r.min().x, r.min().y], [r.max().x, r.max().y])
                .into_iter()
                .filter(|f| f.geometry.intersects(&r))
                .collect();
            v.sort_by(|a, b| a.code.cmp(&b.code));
            v
        }
    };
    let page: Vec<&Feature> = matched.iter().skip(offset).take(limit).copied().collect();
    let base = base_url(&headers);
    let url = format!("{base}/ogc/collections/{}/items", layer.id());
    let page_url = |fmt: &str, off: usize| {
        let mut s = format!("{url}?f={fmt}&limit={limit}&offset={off}");
        if let Some(r) = bbox {
            // Written from the parsed numbers, so nothing of the raw query reaches the link.
            let (min, max) = (r.min(), r.max());
            s.push_str(&format!("&bbox={},{},{},{}", min.x, min.y, max.x, max.y));
        }
        s
    };
    let (me, other) = match f {
        Format::Json => ((GEOJSON, "json"), (HTML, "html")),
        Format::Html => ((HTML, "html"), (GEOJSON, "json")),
    };
    let mut links = vec![
        link(page_url(me.1, offset), "self", me.0, "this page"),
        link(
            page_url(other.1, offset),
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
        links.push(link(
            page_url(me.1, offset + page.len()),
            "next",
            me.0,
            "next page",
        ));
    }
    if offset > 0 {
        links.push(link(
            page_url(me.1, offset.saturating_sub(limit)),
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
    responses((status = 200, description = "A GeoJSON Feature", content_type = "application/geo+json"),
              (status = 404, description = "No such collection or feature", body = super::error::ErrorResponse)))]
pub async fn get_item(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    Params(q): Params<FormatParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((id, code)) = path?;
    let layer = layer_of(&id)?;
    let f = format(q.f.as_deref(), &headers)?;
    let snapshot = state.snapshot.current();
    let feature = snapshot
        .find(layer, &code)
        .ok_or_else(|| ApiError::NotFound(format!("no feature {code:?} in collection {id:?}")))?;
    let base = base_url(&headers);
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
    fn counts_are_checked() {
        assert_eq!(parse_count("limit", "10", 1, MAX_LIMIT).ok(), Some(10));
        for bad in ["0", "10001", "-1", "x", ""] {
            assert!(parse_count("limit", bad, 1, MAX_LIMIT).is_err(), "{bad}");
        }
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
