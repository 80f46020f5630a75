//! The lookup API over HTTP (through the router, without a socket): answers, coordinate systems,
//! batches in JSON and CSV, and a JSON 4xx for every kind of bad request.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::api::{self, AppState};
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::spatial::crs::Crs;
use gridmap::store::{self, StoreConfig};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

fn feature(layer: Layer, code: &str, name: &str, g: geo::Geometry<f64>, props: Value) -> Feature {
    Feature {
        layer,
        code: code.into(),
        name: name.into(),
        parent: None,
        properties: props.as_object().cloned().unwrap_or_default().into(),
        geometry: g,
        version: 1,
    }
}

fn address(code: &str, text: &str, lon: f64, lat: f64) -> Feature {
    let point = geo::Point::new(lon, lat).into();
    feature(Layer::Address, code, text, point, json!({}))
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> geo::Geometry<f64> {
    geo::Rect::new(geo::coord!(x: x0, y: y0), geo::coord!(x: x1, y: y1))
        .to_polygon()
        .into()
}

/// A tiny subdistrict near Zhengzhou: one community split into two grids at lon 113.65.
async fn app() -> (axum::Router, tempfile::TempDir) {
    let features = vec![
        feature(
            Layer::Subdistrict,
            "410105001",
            "示例街道",
            rect(113.6, 34.7, 113.7, 34.8),
            json!({}),
        ),
        feature(
            Layer::Community,
            "410105001001",
            "建设路社区",
            rect(113.6, 34.7, 113.7, 34.8),
            json!({"office_address": "建设路1号", "office_phone": "0371-1234567", "party_org": "建设路社区党委"}),
        ),
        feature(
            Layer::PartyGrid,
            "410105001001001",
            "建设路社区第1网格",
            rect(113.6, 34.7, 113.65, 34.8),
            json!({"grid_worker": "张伟", "grid_worker_phone": "13800000001", "households": 420}),
        ),
        feature(
            Layer::PartyGrid,
            "410105001001002",
            "建设路社区第2网格",
            rect(113.65, 34.7, 113.7, 34.8),
            json!({"grid_worker": "李娜", "grid_worker_phone": "13800000002"}),
        ),
        feature(
            Layer::CommercialGrid,
            "410105001001901",
            "建设路商圈专属网格",
            rect(113.64, 34.74, 113.66, 34.76),
            json!({}),
        ),
        address("A1", "建设路1号", 113.62, 34.75),
        address("A2", "建设路1号幸福家园", 113.62, 34.75),
        address("A3", "建设路1号幸福家园3栋", 113.621, 34.751),
        address("A4", "建设路1号幸福家园3栋2单元501室", 113.621, 34.751),
        address("A5", "建设路9号", 113.68, 34.75),
        address("A6", "幸运家园", 113.69, 34.75),
    ];
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&StoreConfig::Gpkg {
        data_dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    let state = AppState::new(store, Snapshot::new(1, features));
    (api::app(state), dir)
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, ctype, body) = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert!(
        ctype.starts_with("application/json"),
        "{uri}: {ctype} {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

async fn post(app: &axum::Router, ctype: &str, accept: &str, body: String) -> (StatusCode, String) {
    let req = Request::post("/v1/lookup")
        .header(header::CONTENT_TYPE, ctype)
        .header(header::ACCEPT, accept)
        .body(Body::from(body))
        .unwrap();
    let (status, _, body) = send(app, req).await;
    (status, body)
}

#[tokio::test]
async fn a_point_gets_its_contact_card() {
    let (app, _dir) = app().await;
    let (status, v) = get(&app, "/v1/lookup?lon=113.62&lat=34.75").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["party_grid"]["code"], "410105001001001");
    assert_eq!(v["party_grid"]["grid_worker"], "张伟");
    assert_eq!(v["party_grid"]["grid_worker_phone"], "13800000001");
    assert_eq!(v["community"]["office_phone"], "0371-1234567");
    assert_eq!(v["community"]["party_org"], "建设路社区党委");
    assert_eq!(v["subdistrict"]["code"], "410105001");
    assert_eq!(v["on_boundary"], false);
    assert_eq!(v["commercial_grids"], json!([]));
    assert!(v["compound"].is_null());
}

#[tokio::test]
async fn a_shared_edge_is_resolved_and_reported() {
    let (app, _dir) = app().await;
    let (_, v) = get(&app, "/v1/lookup?lon=113.65&lat=34.72").await;
    assert_eq!(v["party_grid"]["code"], "410105001001001");
    assert_eq!(v["on_boundary"], true);
    let (_, v) = get(&app, "/v1/lookup?lon=113.655&lat=34.75").await;
    assert_eq!(v["party_grid"]["code"], "410105001001002");
    assert_eq!(v["commercial_grids"][0]["code"], "410105001001901");
}

#[tokio::test]
async fn outside_the_subdistrict_is_a_200_with_nulls() {
    let (app, _dir) = app().await;
    let (status, v) = get(&app, "/v1/lookup?lon=116.4&lat=39.9").await;
    assert_eq!(status, StatusCode::OK);
    for k in ["subdistrict", "community", "party_grid", "compound"] {
        assert!(v[k].is_null(), "{k}: {v}");
    }
}

#[tokio::test]
async fn gcj02_and_bd09_points_are_converted_back() {
    let (app, _dir) = app().await;
    // Just east of the shared edge in WGS84; the raw offset numbers would fall in another grid.
    let wgs = (113.6505, 34.75);
    for crs in [Crs::Gcj02, Crs::Bd09] {
        let (x, y) = crs.from_wgs84(wgs.0, wgs.1);
        assert!(x > 113.655, "the offset must be large enough to matter");
        let (_, v) = get(&app, &format!("/v1/lookup?lon={x}&lat={y}&crs={crs}")).await;
        assert_eq!(v["party_grid"]["code"], "410105001001002", "{crs}: {v}");
        assert!((v["point"]["lon"].as_f64().unwrap() - wgs.0).abs() < 1e-9);
    }
}

#[tokio::test]
async fn every_bad_query_is_a_json_400_naming_the_fault() {
    let (app, _dir) = app().await;
    let cases = [
        ("/v1/lookup?lon=abc&lat=34.7", "invalid_coordinate", "lon"),
        ("/v1/lookup?lon=NaN&lat=34.7", "invalid_coordinate", "lon"),
        ("/v1/lookup?lon=113.6&lat=inf", "invalid_coordinate", "lat"),
        ("/v1/lookup?lon=190&lat=34.7", "invalid_coordinate", "lon"),
        ("/v1/lookup?lon=113.6&lat=-91", "invalid_coordinate", "lat"),
        ("/v1/lookup?lon=113.6", "missing_parameter", "lat"),
        ("/v1/lookup", "missing_parameter", "lon"),
        (
            "/v1/lookup?lon=113.6&lat=34.7&crs=utm",
            "invalid_crs",
            "utm",
        ),
        (
            "/v1/lookup?lon=113.6&lat=34.7&zoom=3",
            "unknown_parameter",
            "zoom",
        ),
        (
            "/v1/lookup?lon=113.6&lon=113.7&lat=34.7",
            "duplicate_parameter",
            "lon",
        ),
        ("/v1/lookup?lon=%FF%FE&lat=1", "invalid_coordinate", "lon"),
    ];
    for (uri, code, word) in cases {
        let (status, v) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"]["code"], code, "{uri}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(word), "{uri}: {message}");
    }
}

#[tokio::test]
async fn a_batch_answers_in_order_with_per_item_errors() {
    let (app, _dir) = app().await;
    let body = json!({"crs": "wgs84", "points": [
        {"id": "a", "lon": 113.62, "lat": 34.75},
        {"id": "b", "lon": "113.6", "lat": 34.75},
        {"id": 3, "lon": 113.68, "lat": 34.75},
        {"id": "d", "lon": 200.0, "lat": 34.75},
        {"id": "e", "lat": 34.75},
        7,
    ]});
    let v = post_json(&app, &body).await;
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 6);
    assert_eq!(r[0]["id"], "a");
    assert_eq!(r[0]["party_grid"]["code"], "410105001001001");
    assert!(r[0]["error"].is_null());
    assert_eq!(r[1]["error"]["code"], "invalid_point");
    assert!(
        r[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("points[1].lon")
    );
    assert_eq!(r[2]["id"], 3);
    assert_eq!(r[2]["party_grid"]["code"], "410105001001002");
    assert_eq!(r[3]["error"]["code"], "invalid_coordinate");
    assert!(
        r[4]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lon is required")
    );
    assert!(
        r[5]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("points[5]")
    );
}

#[tokio::test]
async fn csv_in_and_out() {
    let (app, _dir) = app().await;
    let body = "id,lon,lat\np1,113.62,34.75\np2,oops,34.75\np3,113.68,34.75\n".to_string();
    let (status, text) = post(&app, "text/csv", "text/csv", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][0], "p1");
    assert_eq!(rows[0][5], "410105001001001");
    assert_eq!(rows[0][7], "张伟");
    assert!(rows[1][13].contains("lon"), "{:?}", rows[1]);
    assert_eq!(rows[2][5], "410105001001002");

    // CSV in, JSON out.
    let (status, text) = post(
        &app,
        "text/csv",
        "application/json",
        "id,lon,lat\nx,113.62,34.75\n".into(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["results"][0]["id"], "x");
}

#[tokio::test]
async fn bad_batches_are_refused_whole_with_json_errors() {
    let (app, _dir) = app().await;
    let too_many = json!({"points": vec![json!({"id": "x", "lon": 113.6, "lat": 34.7}); 100_001]});
    let cases = [
        (
            "application/json",
            "{\"points\": [".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "application/json",
            "[1,2]".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "application/json",
            "{\"points\": 3}".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "application/json",
            "{}".to_string(),
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            "application/json",
            "{\"points\": [], \"crs\": \"utm\"}".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_crs",
        ),
        (
            "application/json",
            "{\"points\": [], \"crs\": 4}".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_crs",
        ),
        (
            "application/json",
            "{\"points\": [], \"x\": 4}".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "application/json",
            too_many.to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "text/csv",
            "name,x,y\na,1,2\n".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_csv",
        ),
        (
            "application/xml",
            "<points/>".to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "application/json",
            "x".repeat(api::BODY_LIMIT + 1),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (ctype, body, status, code) in cases {
        let (got, text) = post(&app, ctype, "application/json", body).await;
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!(got, status, "{code}: {text}");
        assert_eq!(v["error"]["code"], code, "{text}");
    }
}

#[tokio::test]
async fn wrong_method_and_unknown_path_are_json() {
    let (app, _dir) = app().await;
    let (status, _, body) = send(
        &app,
        Request::delete("/v1/lookup").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body.contains("method_not_allowed"), "{body}");
    let (status, v) = get(&app, "/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
}

#[tokio::test]
async fn openapi_describes_the_lookup_endpoints() {
    let (app, _dir) = app().await;
    let (status, v) = get(&app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    assert!(v["paths"]["/v1/lookup"]["get"].is_object());
    assert!(v["paths"]["/v1/lookup"]["post"].is_object());
    assert!(v["components"]["schemas"]["LookupAnswer"].is_object());
}

#[tokio::test]
async fn an_address_gets_its_match_and_contact_card() {
    let (app, _dir) = app().await;
    let q = "河南省郑州市幸福家园三号楼二单元五零一室";
    let uri = format!("/v1/lookup?address={}", urlencode(q));
    let (status, v) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["query"], q);
    assert_eq!(v["match"]["code"], "A4");
    assert_eq!(v["match"]["level"], "room");
    assert_eq!(v["match"]["score"], 1.0);
    assert_eq!(v["match"]["point"]["lon"], 113.621);
    assert_eq!(v["party_grid"]["code"], "410105001001001");
    assert_eq!(v["community"]["code"], "410105001001");
    assert_eq!(v["on_boundary"], false);
    // A finer part the registry lacks falls back; crs is ignored for addresses.
    let uri = format!(
        "/v1/lookup?crs=gcj02&address={}",
        urlencode("幸福家园3栋7单元")
    );
    let (_, v) = get(&app, &uri).await;
    assert_eq!(v["match"]["code"], "A3");
    assert_eq!(v["match"]["level"], "building");
    assert!(v["match"]["score"].as_f64().unwrap() < 1.0);
}

#[tokio::test]
async fn an_unknown_address_is_a_200_with_nulls() {
    let (app, _dir) = app().await;
    let uri = format!("/v1/lookup?address={}", urlencode("无名小区1栋"));
    let (status, v) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["match"].is_null());
    assert_eq!(v["candidates"], json!([]));
    assert!(v["party_grid"].is_null() && v["community"].is_null());
}

#[tokio::test]
async fn an_ambiguous_address_lists_candidates() {
    let (app, _dir) = app().await;
    // One character from both 幸福家园 and 幸运家园.
    let uri = format!("/v1/lookup?address={}", urlencode("幸丽家园"));
    let (_, v) = get(&app, &uri).await;
    assert!(!v["match"].is_null(), "{v}");
    assert_eq!(v["candidates"].as_array().map(Vec::len), Some(1), "{v}");
}

#[tokio::test]
async fn bad_address_queries_are_json_400s() {
    let (app, _dir) = app().await;
    let long = "幸".repeat(201);
    let cases = [
        ("/v1/lookup?address=".to_string(), "invalid_address"),
        (
            format!("/v1/lookup?address={}", urlencode("，。 ")),
            "invalid_address",
        ),
        (
            format!("/v1/lookup?address={}", urlencode(&long)),
            "invalid_address",
        ),
        (
            format!(
                "/v1/lookup?address={}&lon=113.6&lat=34.7",
                urlencode("建设路1号")
            ),
            "conflicting_parameters",
        ),
        (
            "/v1/lookup?address=a&address=b".to_string(),
            "duplicate_parameter",
        ),
    ];
    for (uri, code) in cases {
        let (status, v) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"]["code"], code, "{uri}: {v}");
    }
}

#[tokio::test]
async fn batches_take_addresses_in_json_and_csv() {
    let (app, _dir) = app().await;
    let body = json!({"points": [
        {"id": "a", "address": "建设路9号"},
        {"id": "b", "lon": 113.62, "lat": 34.75},
        {"id": "c", "address": "建设路1号", "lon": 113.6},
        {"id": "d", "address": 5},
        {"id": "e", "address": ""},
    ]});
    let v = post_json(&app, &body).await;
    let r = &v["results"];
    assert_eq!(r[0]["match"]["code"], "A5");
    assert_eq!(r[0]["party_grid"]["code"], "410105001001002");
    assert_eq!(r[1]["party_grid"]["code"], "410105001001001");
    assert!(message(&r[2]).contains("not both"));
    assert!(message(&r[3]).contains("must be a string"));
    assert_eq!(r[4]["error"]["code"], "invalid_address");

    let body = "id,address\nx,建设路1号幸福家园3栋2单元501室\ny,无名路1号\n".to_string();
    let (status, text) = post(&app, "text/csv", "text/csv", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let rows = csv_rows(&text);
    assert_eq!(rows[0][5], "410105001001001");
    assert_eq!(rows[0][14], "建设路1号幸福家园3栋2单元501室");
    assert_eq!(rows[0][15], "room");
    assert_eq!(rows[1][5], "");
    assert_eq!(rows[1][14], "");

    let (status, text) = post(&app, "text/csv", "text/csv", "id,name\nx,y\n".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
}

/// POST a JSON batch, expecting a 200; the answer.
async fn post_json(app: &axum::Router, body: &Value) -> Value {
    let (status, text) = post(
        app,
        "application/json",
        "application/json",
        body.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// The error message of one batch result.
fn message(item: &Value) -> &str {
    item["error"]["message"].as_str().unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}

/// Ids (and every other text cell) that a spreadsheet would run as a formula come back as text.
#[tokio::test]
async fn csv_cells_cannot_become_formulas() {
    let (app, _dir) = app().await;
    let body =
        "id,lon,lat\n\"=HYPERLINK(\"\"http://evil\"\")\",113.62,34.75\n@SUM(1),113.68,34.75\n";
    let (status, text) = post(&app, "text/csv", "text/csv", body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let ids: Vec<String> = rows
        .records()
        .map(|r| r.unwrap().get(0).unwrap().to_string())
        .collect();
    assert_eq!(ids, ["'=HYPERLINK(\"http://evil\")", "'@SUM(1)"]);
}
