//! The map page's HTTP side, in process: `/` and its versioned assets with their cache headers,
//! and the grid summary the side panel shows, including every bad request as a JSON 4xx.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::api::{self, AppState};
use gridmap::model::Layer;
use gridmap::store::{self, StoreConfig};
use gridmap::web;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&StoreConfig::Gpkg {
        data_dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    let state = AppState::new(store, common::demo_snapshot());
    (api::app(state), dir)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::get(uri)
        .header(header::HOST, "example.test")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_cache_headers() {
    let (app, _dir) = app().await;
    let (status, headers, body) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("lang=\"zh-CN\""), "{html}");
    let Some(_) = web::MAPLIBRE_VERSION else {
        assert!(html.contains("npm ci --prefix web"), "{html}");
        return;
    };
    // Every asset the page names is served, immutable, with a JavaScript or CSS type.
    let prefix = web::asset_prefix();
    let named: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with(&prefix))
        .collect();
    assert!(named.len() >= 4, "{named:?}");
    for path in named {
        let (status, headers, body) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.is_empty(), "{path}");
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{path}"
        );
        let ty = headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            ty.starts_with("text/javascript") || ty.starts_with("text/css"),
            "{path}: {ty}"
        );
    }
    // The worker MapLibre loads from beside its main module.
    let (status, _, _) = get(&app, &format!("{prefix}/maplibre-gl-worker.mjs")).await;
    assert_eq!(status, StatusCode::OK);
    // Another build's hash, an unknown file, a path outside: JSON 404s.
    for bad in [
        "/assets/0000000000000000/app.js".to_string(),
        format!("{prefix}/nothing.js"),
        format!("{prefix}/..%2FCargo.toml"),
    ] {
        let (status, _, body) = get(&app, &bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "not_found", "{bad}");
    }
}

#[tokio::test]
async fn a_grid_summary_has_figures_contacts_and_contents() {
    let (app, _dir) = app().await;
    let snap = common::demo_snapshot();
    let grid = snap.layer(Layer::PartyGrid).next().unwrap();
    let (status, _, body) = get(&app, &format!("/v1/grids/party_grid/{}/summary", grid.code)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], grid.code.as_str());
    assert_eq!(v["name"], grid.name.as_str());
    assert_eq!(v["layer"], "party_grid");
    let community = snap
        .find(Layer::Community, grid.parent.as_deref().unwrap())
        .unwrap();
    assert_eq!(v["parent"]["name"], community.name.as_str());
    assert_eq!(v["households"], grid.properties["households"]);
    assert_eq!(v["grid_worker"], grid.properties["grid_worker"]);
    // The counts are the pure function's (tested against the coverage report in src/grids.rs).
    let expected = gridmap::grids::summary(&snap, Layer::PartyGrid, &grid.code).unwrap();
    assert_eq!(
        v["contents"],
        serde_json::to_value(expected.contents).unwrap()
    );

    for (uri, status, code) in [
        (
            "/v1/grids/nope/1/summary",
            StatusCode::BAD_REQUEST,
            "invalid_layer",
        ),
        (
            "/v1/grids/shop/1/summary",
            StatusCode::BAD_REQUEST,
            "invalid_layer",
        ),
        (
            "/v1/grids/party_grid/000/summary",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/grids/party_grid/%FF/summary",
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
    ] {
        let (got, _, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], code, "{uri}: {v}");
    }

    let (_, _, body) = get(&app, "/openapi.json").await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["paths"]["/v1/grids/{layer}/{code}/summary"]["get"].is_object());
    assert!(doc["components"]["schemas"]["GridSummary"].is_object());
}
