//! `GET /v1/reports/coverage` through the router (no socket): the demo's faults in every format
//! with its Content-Type, `as_of` replaying the revisions, and a JSON 4xx for every bad request.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::api::{self, AppState};
use gridmap::model::{Change, ChangeSet, FeatureKey, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::store::{self, StoreConfig};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The demo in a GeoPackage store, then one later change set that deletes the overlapping grid
/// 419901001010003; returns the router and a time between the two commits.
async fn app() -> (axum::Router, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&StoreConfig::Gpkg {
        data_dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    let changes = gridmap::demo::embedded()
        .into_iter()
        .map(|draft| Change::Upsert {
            draft,
            expected_version: None,
        })
        .collect();
    let cs = |changes, message: &str| ChangeSet {
        author: "test".into(),
        message: message.into(),
        changes,
    };
    store.commit(cs(changes, "demo")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let delete = Change::Delete {
        key: FeatureKey {
            layer: Layer::PartyGrid,
            code: "419901001010003".into(),
        },
        expected_version: None,
    };
    store.commit(cs(vec![delete], "delete")).await.unwrap();
    let snapshot = Snapshot::load(store.as_ref()).await.unwrap();
    let state = AppState::new(store, snapshot);
    (api::app(state), between, dir)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

fn community<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["communities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()
}

#[tokio::test]
async fn formats_as_of_and_errors() {
    let (app, between, _dir) = app().await;

    // JSON by default: the current data, where the deleted grid left a gap and no overlap.
    let (status, ctype, body) = get(&app, "/v1/reports/coverage").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ctype, "application/json");
    let now: Value = serde_json::from_str(&body).unwrap();
    let c10 = community(&now, "419901001010");
    assert_eq!(c10["overlaps"].as_array().unwrap().len(), 0);
    assert!(c10["gap_area_m2"].as_f64().unwrap() > 1000.0);
    assert_eq!(
        community(&now, "419901001009")["gaps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // As of the moment between the commits: the overlap is there.
    let q = format!(
        "/v1/reports/coverage?as_of={}",
        between.replace(':', "%3A").replace('+', "%2B")
    );
    let (status, _, body) = get(&app, &q).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let then: Value = serde_json::from_str(&body).unwrap();
    let c10 = community(&then, "419901001010");
    let overlap = c10["overlap_area_m2"].as_f64().unwrap();
    assert!((overlap - 27235.19).abs() < 1.0, "{overlap}");
    // Before anything was committed: nothing.
    let (status, _, body) = get(&app, "/v1/reports/coverage?as_of=2000-01-01").await;
    assert_eq!(status, StatusCode::OK);
    let empty: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(empty["communities"].as_array().unwrap().len(), 0);

    // One community, other formats.
    let (status, ctype, body) = get(
        &app,
        "/v1/reports/coverage?community=419901001009&format=geojson",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ctype, "application/geo+json");
    let gj: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(gj["type"], "FeatureCollection");
    assert!(
        gj["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| { f["properties"]["community"] == "419901001009" || f["geometry"].is_null() })
    );
    let (status, ctype, body) = get(&app, "/v1/reports/coverage?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/csv; charset=utf-8");
    // A byte-order mark first, so that Chinese Excel reads it as UTF-8.
    assert!(
        body.starts_with("\u{feff}table,community,"),
        "{}",
        &body[..40]
    );
    let (status, ctype, body) = get(
        &app,
        "/v1/reports/coverage?format=html&sliver_width=1&households_min=100&households_max=1000",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/html; charset=utf-8");
    assert!(body.contains("<svg"));

    // Every bad request is a JSON 4xx naming the parameter.
    for (uri, status, words) in [
        ("/v1/reports/coverage?bogus=1", 400, "bogus"),
        ("/v1/reports/coverage?format=xml", 400, "xml"),
        ("/v1/reports/coverage?format=json&format=csv", 400, "twice"),
        ("/v1/reports/coverage?sliver_width=abc", 400, "sliver_width"),
        ("/v1/reports/coverage?sliver_width=-1", 400, "sliver_width"),
        ("/v1/reports/coverage?sliver_width=NaN", 400, "sliver_width"),
        (
            "/v1/reports/coverage?households_min=-3",
            400,
            "households_min",
        ),
        (
            "/v1/reports/coverage?households_min=600&households_max=500",
            400,
            "households_min",
        ),
        ("/v1/reports/coverage?as_of=yesterday", 400, "as_of"),
        ("/v1/reports/coverage?community=999", 404, "999"),
        ("/v1/reports/coverage?%zz", 400, ""),
    ] {
        let (s, ctype, body) = get(&app, uri).await;
        assert_eq!(s.as_u16(), status, "{uri}: {body}");
        assert!(ctype.starts_with("application/json"), "{uri}: {ctype}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["error"]["message"].as_str().unwrap().contains(words),
            "{uri}: {body}"
        );
    }
}

#[tokio::test]
async fn openapi_lists_the_report() {
    let (app, _, _dir) = app().await;
    let (status, _, body) = get(&app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["paths"]["/v1/reports/coverage"]["get"].is_object());
}
