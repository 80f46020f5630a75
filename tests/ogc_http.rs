//! The OGC API and the edge around it, in process over the demo: queryables and the filters they
//! allow, page sizes, links behind a proxy's path prefix, and the CORS matrix of
//! `serve --cors-origin`.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use gridmap::api::cors::CorsPolicy;
use gridmap::api::{self, AppState, EditState};
use gridmap::model::Layer;
use gridmap::store::{self, StoreConfig};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn app_with(edit: EditState) -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&StoreConfig::Gpkg {
        data_dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    let mut state = AppState::new(store, common::demo_snapshot());
    state.edit = Arc::new(edit);
    (api::app(state), dir)
}

async fn app() -> (axum::Router, tempfile::TempDir) {
    app_with(EditState::default()).await
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    /// Every value of `name`, joined, in lower case.
    fn all(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A request from `peer` (none: no socket, as in most in-process tests) with `headers`.
async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    peer: Option<&str>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "example.test");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    if let Some(peer) = peer {
        let addr: SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

async fn get(app: &axum::Router, uri: &str) -> Reply {
    call(app, Method::GET, uri, &[], None).await
}

fn demo() -> Vec<gridmap::model::Feature> {
    gridmap::demo::embedded()
        .into_iter()
        .map(|d| d.into_feature(1))
        .collect()
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
        .map(|l| l["href"].as_str().unwrap())
}

#[tokio::test]
async fn items_filter_on_queryables_and_refuse_other_parameters() {
    let (app, _dir) = app().await;
    let features = demo();
    // The party grids of each community: the filter matches what the data says.
    let mut grids_of: BTreeMap<&str, usize> = BTreeMap::new();
    for f in features.iter().filter(|f| f.layer == Layer::PartyGrid) {
        *grids_of.entry(f.parent.as_deref().unwrap()).or_default() += 1;
    }
    for (community, n) in &grids_of {
        let r = get(
            &app,
            &format!("/ogc/collections/party_grid/items?parent={community}&limit=1000"),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let doc = r.json();
        assert_eq!(doc["numberMatched"], *n, "{community}");
        assert_eq!(doc["numberReturned"], *n);
        assert!(
            doc["features"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["properties"]["parent"] == *community)
        );
        // The filter stays in the paging links.
        assert!(
            link(&doc, "self")
                .unwrap()
                .contains(&format!("parent={community}"))
        );
    }

    // An integer property, with another filter: both must hold.
    let grid = features
        .iter()
        .find(|f| f.layer == Layer::PartyGrid)
        .unwrap();
    let households = grid.properties.get("households").unwrap().as_i64().unwrap();
    let expected = features
        .iter()
        .filter(|f| f.layer == Layer::PartyGrid)
        .filter(|f| f.parent == grid.parent)
        .filter(|f| f.properties.get("households").and_then(Value::as_i64) == Some(households))
        .count();
    let r = get(
        &app,
        &format!(
            "/ogc/collections/party_grid/items?households={households}&parent={}",
            grid.parent.as_deref().unwrap()
        ),
    )
    .await;
    assert_eq!(r.json()["numberMatched"], expected);
    assert!(expected >= 1);

    // A number property (m²), written as a decimal.
    let center = features
        .iter()
        .find(|f| f.layer == Layer::PartyCenter)
        .unwrap();
    let area = center
        .properties
        .get("floor_area_m2")
        .unwrap()
        .as_f64()
        .unwrap();
    let r = get(
        &app,
        &format!("/ogc/collections/party_center/items?floor_area_m2={area:.1}"),
    )
    .await;
    let doc = r.json();
    assert!(doc["numberMatched"].as_u64().unwrap() >= 1, "{doc}");
    assert!(
        doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["floor_area_m2"].as_f64() == Some(area))
    );

    // A boolean.
    let archived = features
        .iter()
        .filter(|f| f.layer == Layer::Shop)
        .filter(|f| f.properties.get("archived") == Some(&Value::Bool(true)))
        .count();
    let r = get(&app, "/ogc/collections/shop/items?archived=true&limit=1").await;
    assert_eq!(r.json()["numberMatched"], archived);

    // Unknown names, a queryable of another collection and bad values are 400s naming them.
    for (uri, code, named) in [
        (
            "/ogc/collections/party_grid/items?colour=red",
            "unknown_parameter",
            "colour",
        ),
        (
            "/ogc/collections/shop/items?households=1",
            "unknown_parameter",
            "households",
        ),
        (
            "/ogc/collections/party_grid/items?households=many",
            "invalid_parameter",
            "households",
        ),
        (
            "/ogc/collections/party_center/items?floor_area_m2=big",
            "invalid_parameter",
            "floor_area_m2",
        ),
        (
            "/ogc/collections/party_grid/items?parent=a&parent=b",
            "duplicate_parameter",
            "parent",
        ),
    ] {
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        let e = r.json();
        assert_eq!(e["error"]["code"], code, "{uri}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(named),
            "{uri}: {e}"
        );
    }
}

#[tokio::test]
async fn queryables_are_listed_and_linked() {
    let (app, _dir) = app().await;
    let r = get(&app, "/ogc/collections/address/queryables").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/schema+json"));
    let doc = r.json();
    assert_eq!(
        doc["$id"],
        "http://example.test/ogc/collections/address/queryables"
    );
    for name in ["code", "name", "parent", "road", "building"] {
        assert_eq!(doc["properties"][name]["type"], "string", "{name}");
    }
    let r = get(&app, "/ogc/collections/nowhere/queryables").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let coll = get(&app, "/ogc/collections/address").await.json();
    assert_eq!(
        link(&coll, "http://www.opengis.net/def/rel/ogc/1.0/queryables"),
        Some("http://example.test/ogc/collections/address/queryables")
    );
    let classes = get(&app, "/ogc/conformance").await.json();
    let classes: Vec<&str> = classes["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in [
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    ] {
        assert!(classes.contains(&c), "{c}");
    }

    // The OpenAPI document describes each collection's filters, and the OGC part alone sits at
    // /ogc/api with paths relative to /ogc (where GDAL looks them up).
    let api = get(&app, "/openapi.json").await.json();
    let params = |doc: &Value, path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}"))
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let shop = params(&api, "/ogc/collections/shop/items");
    for name in ["limit", "bbox", "parent", "archived", "category"] {
        assert!(shop.contains(&name.to_string()), "{name} in {shop:?}");
    }
    assert!(!shop.contains(&"collectionId".to_string()));
    assert!(!shop.contains(&"households".to_string()));
    let households = api["paths"]["/ogc/collections/party_grid/items"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "households")
        .unwrap()
        .clone();
    assert_eq!(households["schema"]["type"], "integer");
    assert_eq!(households["schema"]["maximum"], 10_000_000);
    assert!(api["paths"]["/ogc/collections/{collectionId}/queryables"].is_object());
    let ogc = get(&app, "/ogc/api").await.json();
    assert_eq!(ogc["servers"][0]["url"], "http://example.test/ogc");
    assert!(params(&ogc, "/collections/address/items").contains(&"road".to_string()));
    assert!(ogc["paths"]["/v1/lookup"].is_null());
    assert!(ogc["paths"]["/"].is_object());
    let landing = get(&app, "/ogc").await.json();
    assert_eq!(
        link(&landing, "service-desc"),
        Some("http://example.test/ogc/api")
    );
}

#[tokio::test]
async fn pages_default_to_100_and_are_at_most_10000() {
    let (app, _dir) = app().await;
    let addresses = demo().iter().filter(|f| f.layer == Layer::Address).count();
    assert!(addresses > 10_000, "the demo has {addresses} addresses");
    let doc = get(&app, "/ogc/collections/address/items").await.json();
    assert_eq!(doc["numberReturned"], 100);
    assert_eq!(doc["numberMatched"], addresses);
    // Above the maximum is read as the maximum (OGC API Features 1.0.1), not refused.
    let doc = get(&app, "/ogc/collections/address/items?limit=20000")
        .await
        .json();
    assert_eq!(doc["numberReturned"], 10_000);
    assert!(link(&doc, "self").unwrap().contains("limit=10000"));
    for bad in ["limit=0", "limit=-5", "limit=ten", "offset=-1"] {
        let r = get(&app, &format!("/ogc/collections/address/items?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // A GeoJSON page's next link asks for the largest page; the HTML one keeps the reader's.
    let doc = get(&app, "/ogc/collections/address/items?limit=10")
        .await
        .json();
    let next = link(&doc, "next").unwrap();
    assert!(
        next.contains("limit=10000") && next.contains("offset=10"),
        "{next}"
    );
    let rest = get(&app, next.trim_start_matches("http://example.test"))
        .await
        .json();
    assert_eq!(rest["numberReturned"], 10_000);
    let r = get(&app, "/ogc/collections/address/items?limit=10&f=html").await;
    let html = String::from_utf8(r.body).unwrap();
    assert!(
        html.contains("limit=10&amp;offset=10\""),
        "the HTML next link keeps limit=10"
    );
}

#[tokio::test]
async fn links_carry_a_trusted_proxys_prefix() {
    let (app, _dir) = app().await;
    let prefixed = [("x-forwarded-prefix", "/gridmap/")];
    // From a proxy on this host or the private network: every link starts with the prefix.
    for peer in ["127.0.0.1:40000", "10.0.0.2:40000"] {
        let doc = call(
            &app,
            Method::GET,
            "/ogc/collections/party_grid/items?limit=2",
            &prefixed,
            Some(peer),
        )
        .await
        .json();
        for l in doc["links"].as_array().unwrap() {
            let href = l["href"].as_str().unwrap();
            assert!(
                href.starts_with("http://example.test/gridmap/ogc/"),
                "{href}"
            );
        }
        let landing = call(&app, Method::GET, "/ogc", &prefixed, Some(peer))
            .await
            .json();
        assert_eq!(
            link(&landing, "data"),
            Some("http://example.test/gridmap/ogc/collections")
        );
        let q = call(
            &app,
            Method::GET,
            "/ogc/collections/shop/queryables",
            &prefixed,
            Some(peer),
        )
        .await
        .json();
        assert_eq!(
            q["$id"],
            "http://example.test/gridmap/ogc/collections/shop/queryables"
        );
        let tilejson = call(&app, Method::GET, "/tiles.json", &prefixed, Some(peer))
            .await
            .json();
        assert!(
            tilejson["tiles"][0]
                .as_str()
                .unwrap()
                .starts_with("http://example.test/gridmap/tiles/"),
            "{tilejson}"
        );
        let style = call(&app, Method::GET, "/style.json", &prefixed, Some(peer))
            .await
            .json();
        assert!(
            style.to_string().contains("http://example.test/gridmap/"),
            "{style}"
        );
    }
    // From anyone else (or with no socket), or a prefix that is not a plain path: ignored.
    for (peer, prefix) in [
        (Some("203.0.113.9:40000"), "/gridmap"),
        (None, "/gridmap"),
        (Some("127.0.0.1:40000"), "//evil.example"),
        (Some("127.0.0.1:40000"), "/a/../b"),
    ] {
        let landing = call(
            &app,
            Method::GET,
            "/ogc",
            &[("x-forwarded-prefix", prefix)],
            peer,
        )
        .await
        .json();
        assert_eq!(
            link(&landing, "data"),
            Some("http://example.test/ogc/collections"),
            "{peer:?} {prefix}"
        );
    }
    let r = get(&app, "/ogc").await;
    assert!(r.all("vary").contains("x-forwarded-prefix"));
}

const ORIGIN: &str = "https://map.example.gov.cn";
const OTHER: &str = "https://elsewhere.example";

fn preflight<'a>(origin: &'a str, method: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("origin", origin),
        ("access-control-request-method", method),
        (
            "access-control-request-headers",
            "authorization, content-type, if-match",
        ),
    ]
}

async fn cors_app(origins: &[&str], open_reads: bool) -> (axum::Router, tempfile::TempDir) {
    app_with(EditState {
        open_reads,
        cors: CorsPolicy::parse(origins).unwrap(),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn no_cors_origin_no_cors_headers() {
    let (app, _dir) = app().await;
    let r = call(&app, Method::GET, "/ogc", &[("origin", OTHER)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        r.headers
    );
    let r = call(
        &app,
        Method::OPTIONS,
        "/ogc/collections",
        &preflight(OTHER, "GET"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn any_origin_may_read_and_none_may_write() {
    let (app, _dir) = cors_app(&["*"], true).await;
    let r = call(&app, Method::GET, "/ogc", &[("origin", OTHER)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-credentials").is_none());
    for h in ["etag", "location", "x-request-id", "content-disposition"] {
        assert!(r.all("access-control-expose-headers").contains(h), "{h}");
    }
    // A read's preflight is approved.
    let r = call(
        &app,
        Method::OPTIONS,
        "/ogc/collections",
        &preflight(OTHER, "GET"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.all("access-control-allow-methods").contains("get"));
    assert!(r.header("access-control-allow-credentials").is_none());
    // A write's preflight is answered without approval, so the browser sends nothing.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let r = call(
            &app,
            Method::OPTIONS,
            "/v1/features/party_grid/410105001001001",
            &preflight(OTHER, method),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{method}");
        assert!(
            r.headers
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "{method}: {:?}",
            r.headers
        );
    }
    // A write sent anyway (a form needs no preflight) gets no approval to read the answer.
    let r = call(
        &app,
        Method::POST,
        "/v1/features/party_grid",
        &[("origin", OTHER)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.all("vary").contains("origin"));
}

#[tokio::test]
async fn a_named_origin_reads_and_writes_with_credentials() {
    let (app, _dir) = cors_app(&["*", ORIGIN], true).await;
    let r = call(
        &app,
        Method::GET,
        "/tiles.json",
        &[("origin", ORIGIN)],
        None,
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(r.all("vary").contains("origin"));
    let r = call(
        &app,
        Method::OPTIONS,
        "/v1/features/party_grid/410105001001001",
        &preflight(ORIGIN, "PUT"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(r.all("access-control-allow-methods").contains("put"));
    for h in ["if-match", "authorization", "content-type"] {
        assert!(r.all("access-control-allow-headers").contains(h), "{h}");
    }
    // Another origin beside the named one still only reads, without credentials.
    let r = call(&app, Method::GET, "/tiles.json", &[("origin", OTHER)], None).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn preflights_pass_closed_reads() {
    let (app, _dir) = cors_app(&[ORIGIN], false).await;
    // The preflight carries no credentials and is answered, not refused by the read guard.
    let r = call(
        &app,
        Method::OPTIONS,
        "/ogc/collections",
        &preflight(ORIGIN, "GET"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    // The read itself still needs a viewer; its refusal is readable by the page.
    let r = call(
        &app,
        Method::GET,
        "/ogc/collections",
        &[("origin", ORIGIN)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    // Only a named origin is approved.
    let r = call(
        &app,
        Method::OPTIONS,
        "/ogc/collections",
        &preflight(OTHER, "GET"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.header("access-control-allow-origin").is_none());
}
