//! Editing over HTTP (through the router, without a socket), on both stores: every refusal
//! (401/403/404/400/412/428/422) is a JSON error and leaves the store exactly as it was; the happy
//! paths create, replace, delete, list history and revert; credentials (tokens, sessions) and
//! closed reads; the credential store's contract; two service states on one PostGIS database.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::api::{self, AppState, EditState};
use gridmap::auth::{self, Role};
use gridmap::model::{ChangeSet, FeatureDraft, Layer, Properties};
use gridmap::snapshot::{Snapshot, SnapshotCell};
use gridmap::store::{Store, StoreError};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::edit::{both_stores, rect, rect_json};

both_stores!(
    refusals_are_json_and_change_nothing,
    create_replace_delete_history_revert,
    sessions_sign_in_and_out,
    closed_reads_need_a_viewer,
    credential_store_contract,
    adjust_split_and_merge_keep_the_partition_clean,
    dry_runs_preview_and_write_nothing,
    plans_stage_preview_apply_and_discard,
    as_of_shows_the_map_as_it_was,
);

const SUBDISTRICT: &str = "410105001";
const COMMUNITY: &str = "410105001001";
const GRID1: &str = "410105001001001";
const GRID2: &str = "410105001001002";

fn draft(layer: Layer, code: &str, parent: Option<&str>, g: geo::Geometry<f64>) -> FeatureDraft {
    FeatureDraft {
        layer,
        code: code.into(),
        name: format!("{layer} {code}"),
        parent: parent.map(str::to_string),
        properties: Properties::new(),
        geometry: g,
    }
}

/// One community near Zhengzhou split into two party grids at lon 113.65, committed to `store`;
/// a planner and a viewer token. Returns the router, the state and the two tokens.
async fn setup(
    store: Arc<dyn Store>,
    open_reads: bool,
) -> (axum::Router, AppState, String, String) {
    store
        .commit(ChangeSet::upserts(
            "test",
            "seed",
            vec![
                draft(
                    Layer::Subdistrict,
                    SUBDISTRICT,
                    None,
                    rect(113.6, 34.7, 113.7, 34.8),
                ),
                draft(
                    Layer::Community,
                    COMMUNITY,
                    Some(SUBDISTRICT),
                    rect(113.6, 34.7, 113.7, 34.8),
                ),
                draft(
                    Layer::PartyGrid,
                    GRID1,
                    Some(COMMUNITY),
                    rect(113.6, 34.7, 113.65, 34.8),
                ),
                draft(
                    Layer::PartyGrid,
                    GRID2,
                    Some(COMMUNITY),
                    rect(113.65, 34.7, 113.7, 34.8),
                ),
            ],
            Some(0),
        ))
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for (name, role) in [("planner-1", Role::Planner), ("viewer-1", Role::Viewer)] {
        let secret = auth::new_secret();
        store
            .auth()
            .unwrap()
            .create_token(name, role, &auth::secret_digest(&secret))
            .await
            .unwrap();
        tokens.push(secret);
    }
    let snapshot = Snapshot::load(store.as_ref()).await.unwrap();
    let state = AppState {
        store,
        snapshot: Arc::new(SnapshotCell::new(snapshot)),
        tiles: Default::default(),
        views: Default::default(),
        edit: Arc::new(EditState {
            open_reads,
            ..Default::default()
        }),
    };
    let viewer = tokens.pop().unwrap();
    let planner = tokens.pop().unwrap();
    (api::app(state.clone()), state, planner, viewer)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn req(
    method: &str,
    uri: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(m) = if_match {
        r = r.header(header::IF_MATCH, m);
    }
    match body {
        Some(b) => r
            .header(header::CONTENT_TYPE, "application/geo+json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => r.body(Body::empty()).unwrap(),
    }
}

fn grid_body(code: &str, name: &str, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": {"code": code, "name": name, "parent": COMMUNITY,
        "households": 420}, "geometry": geometry, "message": "test edit"})
}

/// Everything the store holds that an edit could change.
async fn store_state(store: &dyn Store) -> (Vec<gridmap::model::Feature>, i64) {
    (
        store.load().await.unwrap(),
        store.data_version().await.unwrap(),
    )
}

fn error_code(a: &Answer) -> &str {
    a.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {}", a.body))
}

async fn refusals_are_json_and_change_nothing(store: Arc<dyn Store>) {
    let (app, state, planner, viewer) = setup(store, true).await;
    let before = store_state(state.store.as_ref()).await;
    let grid = format!("/v1/features/party_grid/{GRID1}");
    let ok_body = grid_body(GRID1, "renamed", rect_json(113.6, 34.7, 113.65, 34.8));
    let bow_tie = json!({"type": "Polygon", "coordinates": [[[113.6, 34.7], [113.65, 34.8], [113.65, 34.7], [113.6, 34.8], [113.6, 34.7]]]});
    let new_grid = |code: &str, g: Value| grid_body(code, "new", g);
    let revert = json!({"revision": 1});
    let split =
        json!({"line": {"type": "LineString", "coordinates": [[113.62, 34.69], [113.62, 34.81]]}});
    let merge = json!({"codes": [GRID1, GRID2]});
    // (request, expected status, expected error code)
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        // No credentials: 401 on every edit endpoint.
        (
            req("PUT", &grid, None, Some("\"1\""), Some(ok_body.clone())),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid",
                None,
                None,
                Some(new_grid(
                    "410105001001003",
                    rect_json(113.6, 34.7, 113.61, 34.71),
                )),
            ),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            req("DELETE", &grid, None, Some("\"1\""), None),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            req(
                "POST",
                &format!("{grid}/revert"),
                None,
                Some("\"1\""),
                Some(revert.clone()),
            ),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        // An unknown token is no better.
        (
            req(
                "PUT",
                &grid,
                Some("not-a-token"),
                Some("\"1\""),
                Some(ok_body.clone()),
            ),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        // A viewer: 403.
        (
            req(
                "PUT",
                &grid,
                Some(&viewer),
                Some("\"1\""),
                Some(ok_body.clone()),
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid",
                Some(&viewer),
                None,
                Some(new_grid(
                    "410105001001003",
                    rect_json(113.6, 34.7, 113.61, 34.71),
                )),
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            req("DELETE", &grid, Some(&viewer), Some("\"1\""), None),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            req(
                "POST",
                &format!("{grid}/revert"),
                Some(&viewer),
                Some("\"1\""),
                Some(revert.clone()),
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // Split and merge: 401, 403, 428, 412 and 422 too.
        (
            req(
                "POST",
                &format!("{grid}/split"),
                None,
                Some("\"1\""),
                Some(split.clone()),
            ),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            req(
                "POST",
                &format!("{grid}/split"),
                Some(&viewer),
                Some("\"1\""),
                Some(split.clone()),
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            req(
                "POST",
                &format!("{grid}/split"),
                Some(&planner),
                None,
                Some(split.clone()),
            ),
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
        ),
        (
            req(
                "POST",
                &format!("{grid}/split"),
                Some(&planner),
                Some("\"4\""),
                Some(split.clone()),
            ),
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
        ),
        (
            req(
                "POST",
                &format!("{grid}/split"),
                Some(&planner),
                Some("\"1\""),
                Some(json!({"line": {"type": "Point", "coordinates": [1, 2]}})),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/410105001001099/split",
                Some(&planner),
                Some("\"1\""),
                Some(split.clone()),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/merge",
                None,
                None,
                Some(merge.clone()),
            ),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/merge",
                Some(&viewer),
                None,
                Some(merge.clone()),
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/merge",
                Some(&planner),
                None,
                Some(json!({"codes": [GRID1, GRID2], "versions": [1, 9]})),
            ),
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/merge",
                Some(&planner),
                None,
                Some(json!({"codes": [GRID1, "410105001001099"]})),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/merge",
                Some(&planner),
                None,
                Some(json!({"codes": [GRID1]})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        // A grid merged with itself (issue 11: a 500 live, and staged in a plan it deleted the
        // grid): refused, live and as a dry run, naming the grid.
        (
            req(
                "POST",
                "/v1/features/party_grid/merge",
                Some(&planner),
                None,
                Some(json!({"codes": [GRID1, GRID1]})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid/merge?dry_run=true",
                Some(&planner),
                None,
                Some(json!({"codes": [GRID2, GRID1, GRID2]})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        // Missing and stale versions.
        (
            req("PUT", &grid, Some(&planner), None, Some(ok_body.clone())),
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
        ),
        (
            req("DELETE", &grid, Some(&planner), None, None),
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
        ),
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"7\""),
                Some(ok_body.clone()),
            ),
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
        ),
        (
            req("DELETE", &grid, Some(&planner), Some("\"7\""), None),
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
        ),
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("soon"),
                Some(ok_body.clone()),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_if_match",
        ),
        // RFC 9110 §13.1.1: a well-formed tag that is not the current one fails the precondition
        // (412), whatever it holds; and the precondition is judged before the body, so a stale
        // client with a body that breaks a rule hears 412, not 422 (issue 11 item 6).
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"stale-0\""),
                Some(ok_body.clone()),
            ),
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
        ),
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"7\""),
                Some(grid_body(GRID1, "bow tie", bow_tie.clone())),
            ),
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
        ),
        // Unknown layer and code.
        (
            req(
                "PUT",
                &format!("/v1/features/party_grid/{}", "410105001001099"),
                Some(&planner),
                Some("\"1\""),
                Some(grid_body(
                    "410105001001099",
                    "x",
                    rect_json(113.6, 34.7, 113.61, 34.71),
                )),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            req(
                "DELETE",
                "/v1/features/party_grid/410105001001099",
                Some(&planner),
                Some("\"1\""),
                None,
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            req(
                "DELETE",
                "/v1/features/grid/1",
                Some(&planner),
                Some("\"1\""),
                None,
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            req(
                "POST",
                &format!("{grid}/revert"),
                Some(&planner),
                Some("\"1\""),
                Some(json!({"revision": 999})),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        // Unreadable bodies.
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"1\""),
                Some(json!([1, 2])),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_feature",
        ),
        // A body naming another code is well-formed but contradicts the path: a rule (422).
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"1\""),
                Some(grid_body(GRID2, "x", rect_json(113.6, 34.7, 113.65, 34.8))),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid",
                Some(&planner),
                None,
                Some(
                    json!({"type": "Feature", "properties": {"code": "410105001001003", "name": "x"}}),
                ),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_feature",
        ),
        (
            req(
                "PUT",
                &format!("{grid}?nieghbours=adjust"),
                Some(&planner),
                Some("\"1\""),
                Some(ok_body.clone()),
            ),
            StatusCode::BAD_REQUEST,
            "unknown_parameter",
        ),
        // Rules: invalid geometry, outside the community, overlap with the sibling, bad code.
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"1\""),
                Some(grid_body(GRID1, "x", bow_tie)),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"1\""),
                Some(grid_body(GRID1, "x", rect_json(113.59, 34.7, 113.65, 34.8))),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        (
            req(
                "PUT",
                &grid,
                Some(&planner),
                Some("\"1\""),
                Some(grid_body(GRID1, "x", rect_json(113.6, 34.7, 113.66, 34.8))),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        (
            req(
                "POST",
                "/v1/features/party_grid",
                Some(&planner),
                None,
                Some(new_grid(
                    "41010500100100X",
                    rect_json(113.6, 34.7, 113.61, 34.71),
                )),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_edit",
        ),
        // A code that exists.
        (
            req(
                "POST",
                "/v1/features/party_grid",
                Some(&planner),
                None,
                Some(new_grid(GRID2, rect_json(113.65, 34.7, 113.7, 34.8))),
            ),
            StatusCode::CONFLICT,
            "conflict",
        ),
    ];
    for (i, (request, status, code)) in cases.into_iter().enumerate() {
        let what = format!("case {i}: {} {}", request.method(), request.uri());
        let a = send(&app, request).await;
        assert_eq!(a.status, status, "{what}: {}", a.body);
        assert_eq!(error_code(&a), code, "{what}: {}", a.body);
        assert!(!a.body["error"]["message"].as_str().unwrap().is_empty());
        if status == StatusCode::UNAUTHORIZED {
            let challenge = a
                .headers
                .get(header::WWW_AUTHENTICATE)
                .expect("WWW-Authenticate");
            assert!(challenge.to_str().unwrap().starts_with("Bearer"), "{what}");
        }
        assert_eq!(
            store_state(state.store.as_ref()).await,
            before,
            "{what} changed the store"
        );
    }

    // A 422 lists every reason, naming the feature and the fault.
    let a = send(
        &app,
        req(
            "PUT",
            &grid,
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "x", rect_json(113.59, 34.7, 113.66, 34.8))),
        ),
    )
    .await;
    let reasons = a.body["error"]["details"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 2, "{}", a.body);
    assert!(
        reasons[0]
            .as_str()
            .unwrap()
            .contains("reaches outside its community 410105001001")
    );
    assert!(
        reasons[1]
            .as_str()
            .unwrap()
            .contains(&format!("overlaps party grid {GRID2}"))
    );
    // ?allow_overlap=true accepts the overlap but not the part outside.
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?allow_overlap=true"),
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "x", rect_json(113.59, 34.7, 113.66, 34.8))),
        ),
    )
    .await;
    assert_eq!(
        a.body["error"]["details"]["reasons"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store_state(state.store.as_ref()).await, before);
}

async fn create_replace_delete_history_revert(store: Arc<dyn Store>) {
    let (app, state, planner, _) = setup(store, true).await;
    let grid = format!("/v1/features/party_grid/{GRID1}");

    let a = send(&app, req("GET", &grid, None, None, None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::ETAG], "\"1\"");
    assert_eq!(a.body["type"], "Feature");
    assert_eq!(a.body["properties"]["code"], GRID1);

    // Move the shared boundary west by 0.01°: grid 1 gives land up (a gap is allowed; the
    // coverage report shows it).
    let a = send(
        &app,
        req(
            "PUT",
            &grid,
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(
                GRID1,
                "第1网格",
                rect_json(113.6, 34.7, 113.64, 34.8),
            )),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.headers[header::ETAG], "\"2\"");
    assert_eq!(a.body["properties"]["name"], "第1网格");
    assert_eq!(a.body["properties"]["households"], 420);
    // The snapshot is published at once: a lookup in the strip given up finds no grid.
    let look = send(
        &app,
        req("GET", "/v1/lookup?lon=113.645&lat=34.75", None, None, None),
    )
    .await;
    assert_eq!(look.status, StatusCode::OK, "{}", look.body);
    assert!(look.body.to_string().contains(COMMUNITY), "{}", look.body);
    assert!(!look.body.to_string().contains(GRID1), "{}", look.body);
    assert_eq!(
        state.snapshot.current().data_version,
        state.store.data_version().await.unwrap()
    );

    // Grid 2 takes the strip; the message comes from the header this time.
    let mut r = req(
        "PUT",
        &format!("/v1/features/party_grid/{GRID2}"),
        Some(&planner),
        Some("\"1\""),
        Some(
            json!({"type": "Feature", "properties": {"name": "第2网格", "parent": COMMUNITY},
            "geometry": rect_json(113.64, 34.7, 113.7, 34.8)}),
        ),
    );
    r.headers_mut().insert(
        "x-change-message",
        "grid 2 takes the strip".parse().unwrap(),
    );
    let a = send(&app, r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let look = send(
        &app,
        req("GET", "/v1/lookup?lon=113.645&lat=34.75", None, None, None),
    )
    .await;
    assert!(look.body.to_string().contains(GRID2), "{}", look.body);

    // History: who, why, and the area lost (0.01° × 0.1° at 34.75°N ≈ 10.2 km²).
    let a = send(
        &app,
        req("GET", &format!("{grid}/history"), None, None, None),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let h = a.body.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["action"], "create");
    assert_eq!(h[1]["action"], "update");
    assert_eq!(h[1]["author"], "planner-1");
    assert_eq!(h[1]["message"], "test edit");
    assert_eq!(h[1]["version"], 2);
    let lost = h[1]["area_lost_m2"].as_f64().unwrap();
    assert!((lost - 10_160_000.0).abs() < 100_000.0, "lost {lost}");
    assert!(h[1]["area_gained_m2"].as_f64().unwrap() < 1.0);
    let h2 = send(
        &app,
        req(
            "GET",
            &format!("/v1/features/party_grid/{GRID2}/history"),
            None,
            None,
            None,
        ),
    )
    .await;
    assert_eq!(h2.body[1]["message"], "grid 2 takes the strip");
    let gained = h2.body[1]["area_gained_m2"].as_f64().unwrap();
    assert!((gained - lost).abs() < 1.0, "gained {gained} lost {lost}");

    // Reverting grid 1 to its first state now overlaps grid 2: refused.
    let first = h[0]["id"].as_i64().unwrap();
    let a = send(
        &app,
        req(
            "POST",
            &format!("{grid}/revert"),
            Some(&planner),
            Some("\"2\""),
            Some(json!({"revision": first})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    // Revert grid 2 first, then grid 1: each a new revision.
    let h2_first = h2.body[0]["id"].as_i64().unwrap();
    let a = send(
        &app,
        req(
            "POST",
            &format!("/v1/features/party_grid/{GRID2}/revert"),
            Some(&planner),
            Some("\"2\""),
            Some(json!({"revision": h2_first})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.headers[header::ETAG], "\"3\"");
    let a = send(
        &app,
        req(
            "POST",
            &format!("{grid}/revert"),
            Some(&planner),
            Some("\"2\""),
            Some(json!({"revision": first})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.headers[header::ETAG], "\"3\"");
    let now = state.store.load().await.unwrap();
    let g1 = now.iter().find(|f| f.code == GRID1).unwrap();
    assert_eq!(g1.geometry, rect(113.6, 34.7, 113.65, 34.8));
    assert_eq!(
        state.store.revisions(None, 0, 100).await.unwrap().len(),
        4 + 4,
        "reverts add revisions, never rewrite"
    );

    // Create a commercial grid (it may lie over party grids), then delete it.
    let body = json!({"type": "Feature", "properties": {"code": "410105001001901", "name": "商圈",
        "parent": COMMUNITY}, "geometry": rect_json(113.64, 34.74, 113.66, 34.76)});
    let a = send(
        &app,
        req(
            "POST",
            "/v1/features/commercial_grid",
            Some(&planner),
            None,
            Some(body),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        a.headers[header::LOCATION],
        "/v1/features/commercial_grid/410105001001901"
    );
    assert_eq!(a.headers[header::ETAG], "\"1\"");
    let url = "/v1/features/commercial_grid/410105001001901";
    let a = send(
        &app,
        req("DELETE", url, Some(&planner), Some("\"1\""), None),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&app, req("GET", url, None, None, None)).await.status,
        StatusCode::NOT_FOUND
    );
    // The deleted feature's history remains, and it can be brought back.
    let h = send(
        &app,
        req("GET", &format!("{url}/history"), None, None, None),
    )
    .await;
    assert_eq!(h.body.as_array().unwrap().len(), 2);
    let created = h.body[0]["id"].as_i64().unwrap();
    let a = send(
        &app,
        req(
            "POST",
            &format!("{url}/revert"),
            Some(&planner),
            Some("\"0\""),
            Some(json!({"revision": created})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        send(&app, req("GET", url, None, None, None)).await.status,
        StatusCode::OK
    );
}

async fn sessions_sign_in_and_out(store: Arc<dyn Store>) {
    let hash = auth::hash_password("correct horse").unwrap();
    store
        .auth()
        .unwrap()
        .create_user("wang", Role::Planner, &hash)
        .await
        .unwrap();
    let (app, state, _, _) = setup(store, true).await;
    let sign_in = |password: &str| {
        Request::post("/v1/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"name": "wang", "password": password}).to_string(),
            ))
            .unwrap()
    };
    let a = send(&app, sign_in("wrong horse")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.headers.get(header::SET_COOKIE).is_none());
    let a = send(&app, sign_in("correct horse")).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();

    let edit = |pair: &str, version: &str| {
        let mut r = req(
            "PUT",
            &format!("/v1/features/party_grid/{GRID1}"),
            None,
            Some(version),
            Some(grid_body(
                GRID1,
                "by session",
                rect_json(113.6, 34.7, 113.65, 34.8),
            )),
        );
        r.headers_mut()
            .insert(header::COOKIE, pair.parse().unwrap());
        r
    };
    let a = send(&app, edit(&pair, "\"1\"")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let revs = state.store.revisions(None, 0, 100).await.unwrap();
    assert_eq!(revs.last().unwrap().author, "wang");
    let who = |pair: Option<&str>| {
        let mut r = Request::get("/v1/session").body(Body::empty()).unwrap();
        if let Some(p) = pair {
            r.headers_mut().insert(header::COOKIE, p.parse().unwrap());
        }
        r
    };
    let a = send(&app, who(Some(&pair))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body, json!({"name": "wang", "role": "planner"}));
    assert_eq!(send(&app, who(None)).await.status, StatusCode::UNAUTHORIZED);

    let mut out = Request::delete("/v1/session").body(Body::empty()).unwrap();
    out.headers_mut()
        .insert(header::COOKIE, pair.parse().unwrap());
    assert_eq!(send(&app, out).await.status, StatusCode::NO_CONTENT);
    let a = send(&app, edit(&pair, "\"2\"")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(
        send(&app, who(Some(&pair))).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn closed_reads_need_a_viewer(store: Arc<dyn Store>) {
    let (app, _, planner, viewer) = setup(store.clone(), false).await;
    for uri in [
        "/v1/lookup?lon=113.62&lat=34.75",
        &format!("/v1/features/party_grid/{GRID1}"),
        "/v1/reports/coverage",
        "/ogc/collections",
    ] {
        let a = send(&app, req("GET", uri, None, None, None)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}");
        for t in [&viewer, &planner] {
            let a = send(&app, req("GET", uri, Some(t), None, None)).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
        }
    }
    assert_eq!(
        send(&app, req("GET", "/healthz", None, None, None))
            .await
            .status,
        StatusCode::OK
    );
    // A revoked token is refused.
    assert!(
        store
            .auth()
            .unwrap()
            .revoke_token("viewer-1")
            .await
            .unwrap()
    );
    let a = send(
        &app,
        req(
            "GET",
            "/v1/lookup?lon=113.62&lat=34.75",
            Some(&viewer),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

async fn credential_store_contract(store: Arc<dyn Store>) {
    let auth = store.auth().unwrap();
    let a = auth
        .create_token("a", Role::Admin, &auth::secret_digest("sa"))
        .await
        .unwrap();
    let b = auth
        .create_token("b", Role::Viewer, &auth::secret_digest("sb"))
        .await
        .unwrap();
    assert!(b > a);
    assert!(matches!(
        auth.create_token("a", Role::Viewer, &auth::secret_digest("sc")).await,
        Err(StoreError::Conflict(m)) if m.contains("\"a\"")
    ));
    let p = auth
        .token_principal(&auth::secret_digest("sa"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.name.as_str(), p.role), ("a", Role::Admin));
    assert!(
        auth.token_principal(&auth::secret_digest("nope"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(auth.revoke_token(&a.to_string()).await.unwrap());
    assert!(!auth.revoke_token("a").await.unwrap(), "already revoked");
    assert!(
        auth.token_principal(&auth::secret_digest("sa"))
            .await
            .unwrap()
            .is_none()
    );
    let list = auth.tokens().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].revoked_at.is_some() && list[1].revoked_at.is_none());
    assert_eq!(list[1].role, Role::Viewer);

    let u = auth
        .create_user("li", Role::Planner, "$argon2id$x")
        .await
        .unwrap();
    assert!(matches!(
        auth.create_user("li", Role::Admin, "h").await,
        Err(StoreError::Conflict(_))
    ));
    let rec = auth.user("li").await.unwrap().unwrap();
    assert_eq!(
        (rec.id, rec.role, rec.password_hash.as_str()),
        (u, Role::Planner, "$argon2id$x")
    );
    assert!(auth.user("zhao").await.unwrap().is_none());
    let now = chrono::Utc::now();
    auth.create_session("d1", u, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    auth.create_session("d2", u, now - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        auth.session_principal("d1", now)
            .await
            .unwrap()
            .unwrap()
            .name,
        "li"
    );
    assert!(
        auth.session_principal("d2", now).await.unwrap().is_none(),
        "expired"
    );
    auth.delete_session("d1").await.unwrap();
    assert!(auth.session_principal("d1", now).await.unwrap().is_none());
}

/// Two service states (as two processes would have) on one PostGIS database: an edit through one
/// reaches the other's lookups through NOTIFY alone (its poll is off).
#[sqlx::test(migrations = false)]
async fn an_edit_reaches_another_process_through_notify(pool: sqlx::PgPool) {
    let store_a: Arc<dyn Store> = Arc::new(
        gridmap::store::postgis::PostgisStore::from_pool(pool.clone())
            .await
            .unwrap(),
    );
    let (app_a, _, planner, _) = setup(store_a, true).await;
    let store_b: Arc<dyn Store> = Arc::new(
        gridmap::store::postgis::PostgisStore::from_pool(pool.clone())
            .await
            .unwrap(),
    );
    let snapshot_b = Snapshot::load(store_b.as_ref()).await.unwrap();
    let state_b = AppState {
        store: store_b,
        snapshot: Arc::new(SnapshotCell::new(snapshot_b)),
        tiles: Default::default(),
        views: Default::default(),
        edit: Default::default(),
    };
    let app_b = api::app(state_b.clone());
    let listener = api::sync::spawn_listener(state_b.clone(), pool.clone());
    let seen_version = state_b.snapshot.current().data_version;
    let lookup = "/v1/lookup?lon=113.645&lat=34.75";
    assert!(
        send(&app_b, req("GET", lookup, None, None, None))
            .await
            .body
            .to_string()
            .contains(GRID1)
    );
    // Whether B's LISTEN is in place before A commits or not, B sees the edit: the listener
    // refreshes once right after LISTEN, and on every notification after that.

    let a = send(
        &app_a,
        req(
            "PUT",
            &format!("/v1/features/party_grid/{GRID1}"),
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "x", rect_json(113.6, 34.7, 113.64, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Wait for B's snapshot to move (bounded, so a lost notification fails instead of hanging).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while state_b.snapshot.current().data_version == seen_version {
        assert!(
            tokio::time::Instant::now() < deadline,
            "process B never saw the edit"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let look = send(&app_b, req("GET", lookup, None, None, None)).await;
    assert!(!look.body.to_string().contains(GRID1), "{}", look.body);
    listener.abort();
}

/// The coverage report's gap and overlap counts and areas for the community.
async fn coverage(app: &axum::Router) -> (u64, u64, f64, f64) {
    let a = send(app, req("GET", "/v1/reports/coverage", None, None, None)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let s = &a.body["summary"];
    (
        s["gaps"].as_u64().unwrap(),
        s["overlaps"].as_u64().unwrap(),
        s["gap_area_m2"].as_f64().unwrap(),
        s["overlap_area_m2"].as_f64().unwrap(),
    )
}

fn clean(c: (u64, u64, f64, f64)) -> bool {
    c.0 == 0 && c.1 == 0 && c.2 == 0.0 && c.3 == 0.0
}

async fn adjust_split_and_merge_keep_the_partition_clean(store: Arc<dyn Store>) {
    let (app, state, planner, viewer) = setup(store, true).await;
    assert!(clean(coverage(&app).await));
    let grid = format!("/v1/features/party_grid/{GRID1}");
    let adjust = format!("{grid}?neighbours=adjust");
    let grid2 = |state: &AppState| {
        state
            .snapshot
            .current()
            .find(Layer::PartyGrid, GRID2)
            .unwrap()
            .clone()
    };

    // Grid 1 grows east to 113.66: grid 2 loses that strip, in the same change set.
    let a = send(
        &app,
        req(
            "PUT",
            &adjust,
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.66, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let g2 = grid2(&state);
    assert_eq!(g2.version, 2);
    assert!(near(
        geo::BoundingRect::bounding_rect(&g2.geometry)
            .unwrap()
            .min()
            .x,
        113.66
    ));
    assert!(clean(coverage(&app).await), "{:?}", coverage(&app).await);
    let revs = state.store.revisions(None, 0, 100).await.unwrap();
    let last = &revs[revs.len() - 2..];
    assert_eq!(last[0].changeset, last[1].changeset, "one transaction");

    // A boundary drawn 0.3 m east of the shared one snaps back onto it (0.3 m ≈ 3.3e-6°).
    let a = send(
        &app,
        req(
            "PUT",
            &adjust,
            Some(&planner),
            Some("\"2\""),
            Some(grid_body(
                GRID1,
                "g1",
                rect_json(113.6, 34.7, 113.660_003_3, 34.8),
            )),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let g1 = state
        .snapshot
        .current()
        .find(Layer::PartyGrid, GRID1)
        .unwrap()
        .clone();
    assert!(near(
        geo::BoundingRect::bounding_rect(&g1.geometry)
            .unwrap()
            .max()
            .x,
        113.66
    ));
    assert!(clean(coverage(&app).await));

    // Grid 1 gives land up: it goes to grid 2, its only neighbour there; no gap appears.
    let v = a.headers[header::ETAG].to_str().unwrap().to_string();
    let a = send(
        &app,
        req(
            "PUT",
            &adjust,
            Some(&planner),
            Some(&v),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.64, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(near(
        geo::BoundingRect::bounding_rect(&grid2(&state).geometry)
            .unwrap()
            .min()
            .x,
        113.64
    ));
    assert!(clean(coverage(&app).await), "{:?}", coverage(&app).await);

    // A stale version of the edited grid refuses the whole adjust.
    let before = store_state(state.store.as_ref()).await;
    let a = send(
        &app,
        req(
            "PUT",
            &adjust,
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.65, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED, "{}", a.body);
    assert_eq!(store_state(state.store.as_ref()).await, before);

    // Split grid 1 along lon 113.62 (drawn northward): the west part is a new grid, 003.
    let v = send(&app, req("GET", &grid, None, None, None))
        .await
        .headers[header::ETAG]
        .to_str()
        .unwrap()
        .to_string();
    let line = json!({"line": {"type": "LineString", "coordinates": [[113.62, 34.69], [113.62, 34.81]]}, "message": "split"});
    let a = send(
        &app,
        req(
            "POST",
            &format!("{grid}/split"),
            Some(&viewer),
            Some(&v),
            Some(line.clone()),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(&app, req("POST", &format!("{grid}/split"), Some(&planner), Some(&v),
        Some(json!({"line": {"type": "LineString", "coordinates": [[113.5, 34.69], [113.5, 34.81]]}})))).await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a line missing the grid: {}",
        a.body
    );
    let a = send(
        &app,
        req(
            "POST",
            &format!("{grid}/split"),
            Some(&planner),
            Some(&v),
            Some(line),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let new_code = "410105001001003";
    assert_eq!(
        a.headers[header::LOCATION],
        format!("/v1/features/party_grid/{new_code}")
    );
    let snap = state.snapshot.current();
    let b1 =
        geo::BoundingRect::bounding_rect(&snap.find(Layer::PartyGrid, GRID1).unwrap().geometry)
            .unwrap();
    let b3 =
        geo::BoundingRect::bounding_rect(&snap.find(Layer::PartyGrid, new_code).unwrap().geometry)
            .unwrap();
    assert!(
        (b1.min().x - 113.62).abs() < 1e-9 && (b3.max().x - 113.62).abs() < 1e-9,
        "{b1:?} {b3:?}"
    );
    assert!(clean(coverage(&app).await), "{:?}", coverage(&app).await);

    // Merge them back: one grid, the other deleted, still clean.
    let a = send(
        &app,
        req(
            "POST",
            "/v1/features/party_grid/merge",
            Some(&planner),
            None,
            Some(json!({"codes": [GRID1, new_code], "versions": [1, 1]})),
        ),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::PRECONDITION_FAILED,
        "stale: {}",
        a.body
    );
    let a = send(
        &app,
        req(
            "POST",
            "/v1/features/party_grid/merge",
            Some(&planner),
            None,
            Some(json!({"codes": [GRID1], "message": "merge"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = send(
        &app,
        req(
            "POST",
            "/v1/features/party_grid/merge",
            Some(&planner),
            None,
            Some(json!({"codes": [GRID1, new_code], "message": "merge"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let snap = state.snapshot.current();
    assert!(snap.find(Layer::PartyGrid, new_code).is_none());
    let merged = &snap.find(Layer::PartyGrid, GRID1).unwrap().geometry;
    let area = gridmap::coverage::geom::area_m2(&gridmap::coverage::geom::areal(merged).unwrap());
    let expected = gridmap::coverage::geom::area_m2(
        &gridmap::coverage::geom::areal(&rect(113.6, 34.7, 113.64, 34.8)).unwrap(),
    );
    assert!((area - expected).abs() < 1.0, "{area} vs {expected}");
    assert!(clean(coverage(&app).await), "{:?}", coverage(&app).await);
}

/// Equal within 1e-9° (0.1 mm): boolean operations round on their own grid.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn openapi_describes_every_editing_endpoint() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = gridmap::store::gpkg::GpkgStore::open(&dir.path().join("g.gpkg"))
        .await
        .unwrap();
    let (app, _, _, _) = setup(Arc::new(store), true).await;
    let a = send(&app, req("GET", "/openapi.json", None, None, None)).await;
    let paths = &a.body["paths"];
    for (path, methods) in [
        ("/v1/features/{layer}", &["post"][..]),
        ("/v1/features/{layer}/{code}", &["get", "put", "delete"][..]),
        ("/v1/features/{layer}/{code}/history", &["get"][..]),
        ("/v1/features/{layer}/{code}/revert", &["post"][..]),
        ("/v1/features/party_grid/{code}/split", &["post"][..]),
        ("/v1/features/party_grid/merge", &["post"][..]),
        ("/v1/session", &["post", "delete", "get"][..]),
        ("/v1/plans", &["post", "get"][..]),
        ("/v1/plans/{id}", &["get", "delete"][..]),
        ("/v1/plans/{id}/preview", &["get"][..]),
        ("/v1/plans/{id}/apply", &["post"][..]),
        ("/v1/lookup", &["get"][..]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path} is not documented");
        }
    }
    assert!(a.body["components"]["securitySchemes"]["bearer"].is_object());
}

/// The geodesic area of a lon/lat rectangle, computed by geo directly (not through gridmap).
fn rect_area(x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    use geo::GeodesicArea;
    match rect(x0, y0, x1, y1) {
        geo::Geometry::Polygon(p) => p.geodesic_area_unsigned(),
        _ => unreachable!(),
    }
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-3 * b.abs().max(1.0)
}

async fn dry_runs_preview_and_write_nothing(store: Arc<dyn Store>) {
    let (app, state, planner, viewer) = setup(store, true).await;
    let before = store_state(state.store.as_ref()).await;
    let grid = format!("/v1/features/party_grid/{GRID1}");
    let body = grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.66, 34.8));

    // Credentials, versions and rules are checked as for the real edit.
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?dry_run=true&neighbours=adjust"),
            Some(&viewer),
            Some("\"1\""),
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?dry_run=true&neighbours=adjust"),
            Some(&planner),
            Some("\"7\""),
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED, "{}", a.body);
    // `If-Match: *` (any current version) and a list holding the current one both match.
    for tag in ["*", "\"9\", W/\"1\""] {
        let a = send(
            &app,
            req(
                "PUT",
                &format!("{grid}?dry_run=true&neighbours=adjust"),
                Some(&planner),
                Some(tag),
                Some(body.clone()),
            ),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "If-Match: {tag}: {}", a.body);
    }
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?dry_run=true"),
            Some(&planner),
            Some("\"1\""),
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an overlap without adjust: {}",
        a.body
    );
    assert!(
        a.body["error"]["details"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains(GRID2),
        "{}",
        a.body
    );
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?dry_run=maybe"),
            Some(&planner),
            Some("\"1\""),
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);

    // Moving the shared boundary east: grid 1 gains the strip grid 2 loses; no gap either side.
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?dry_run=true&neighbours=adjust"),
            Some(&planner),
            Some("\"1\""),
            Some(body),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["dry_run"], true);
    let strip = rect_area(113.65, 34.7, 113.66, 34.8);
    let changes = a.body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{}", a.body);
    let change = |code: &str| changes.iter().find(|c| c["code"] == code).unwrap();
    assert_eq!(change(GRID1)["action"], "update");
    assert!(
        close_to(change(GRID1)["area_gained_m2"].as_f64().unwrap(), strip),
        "{} vs {strip}",
        change(GRID1)
    );
    assert!(
        close_to(change(GRID2)["area_lost_m2"].as_f64().unwrap(), strip),
        "{}",
        change(GRID2)
    );
    assert_eq!(change(GRID2)["area_gained_m2"].as_f64().unwrap(), 0.0);
    assert_eq!(a.body["coverage"]["communities"], json!([COMMUNITY]));
    for side in ["before", "after"] {
        assert_eq!(a.body["coverage"][side]["gaps"], 0, "{side}: {}", a.body);
        assert_eq!(
            a.body["coverage"][side]["overlaps"], 0,
            "{side}: {}",
            a.body
        );
    }
    assert_eq!(
        store_state(state.store.as_ref()).await,
        before,
        "a dry run writes nothing"
    );

    // Deleting grid 2 would leave its whole area a gap.
    let a = send(
        &app,
        req(
            "DELETE",
            &format!("/v1/features/party_grid/{GRID2}?dry_run=true"),
            Some(&planner),
            Some("\"1\""),
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["changes"][0]["action"], "delete");
    assert!(a.body["changes"][0]["feature"].is_null());
    let after = &a.body["coverage"]["after"];
    assert_eq!(after["gaps"], 1, "{}", a.body);
    let half = rect_area(113.65, 34.7, 113.7, 34.8);
    assert!(
        close_to(after["gap_area_m2"].as_f64().unwrap(), half),
        "{after} vs {half}"
    );
    let g2 = a.body["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == GRID2)
        .unwrap()
        .clone();
    assert!(
        g2["households_after"].is_null() && !g2["households_before"].is_null(),
        "{g2}"
    );

    // Split and merge preview too.
    let line =
        json!({"line": {"type": "LineString", "coordinates": [[113.62, 34.69], [113.62, 34.81]]}});
    let a = send(
        &app,
        req(
            "POST",
            &format!("{grid}/split?dry_run=true"),
            Some(&planner),
            Some("\"1\""),
            Some(line),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let actions: Vec<&str> = a.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create"], "{}", a.body);
    assert_eq!(a.body["coverage"]["after"]["party_grids"], 3, "{}", a.body);
    assert_eq!(a.body["coverage"]["after"]["overlaps"], 0, "{}", a.body);
    let a = send(
        &app,
        req(
            "POST",
            "/v1/features/party_grid/merge?dry_run=true",
            Some(&planner),
            None,
            Some(json!({"codes": [GRID1, GRID2]})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["coverage"]["after"]["party_grids"], 1, "{}", a.body);
    assert_eq!(
        store_state(state.store.as_ref()).await,
        before,
        "no dry run wrote anything"
    );
}

async fn plans_stage_preview_apply_and_discard(store: Arc<dyn Store>) {
    let (app, state, planner, viewer) = setup(store, true).await;
    let live0 = store_state(state.store.as_ref()).await;

    for (method, uri) in [
        ("POST", "/v1/plans"),
        ("GET", "/v1/plans"),
        ("GET", "/v1/plans/1"),
        ("GET", "/v1/plans/1/preview"),
        ("POST", "/v1/plans/1/apply"),
        ("DELETE", "/v1/plans/1"),
    ] {
        let a = send(
            &app,
            req(method, uri, None, None, Some(json!({"name": "x"}))),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri}: {}",
            a.body
        );
        let a = send(
            &app,
            req(method, uri, Some(&viewer), None, Some(json!({"name": "x"}))),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            a.body
        );
    }
    assert_eq!(store_state(state.store.as_ref()).await, live0);
    let a = send(
        &app,
        req("GET", "/v1/plans/abc", Some(&planner), None, None),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let a = send(
        &app,
        req("GET", "/v1/plans/77/preview", Some(&planner), None, None),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let a = send(
        &app,
        req(
            "POST",
            "/v1/plans",
            Some(&planner),
            None,
            Some(json!({"name": " "})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let a = send(
        &app,
        req(
            "POST",
            "/v1/plans",
            Some(&planner),
            None,
            Some(json!({"name": "调整一、二网格"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["plan"]["id"].as_i64().unwrap();
    assert_eq!(a.body["plan"]["status"], "open");
    assert_eq!(a.body["plan"]["author"], "planner-1");

    // Stage a shared-boundary move, then move it again: the plan keeps one edit per feature,
    // based on the live version it first saw.
    let grid = format!("/v1/features/party_grid/{GRID1}");
    let staged = format!("{grid}?plan={id}&neighbours=adjust");
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?plan=999&neighbours=adjust"),
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.66, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let a = send(
        &app,
        req(
            "PUT",
            &staged,
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.66, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["edits"].as_array().unwrap().len(), 2, "{}", a.body);
    assert_eq!(
        store_state(state.store.as_ref()).await,
        live0,
        "staging leaves the live map alone"
    );
    let live = send(&app, req("GET", &grid, None, None, None)).await;
    assert_eq!(live.headers[header::ETAG], "\"1\"");
    let planned = send(
        &app,
        req(
            "GET",
            &format!("{grid}?plan={id}"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(planned.status, StatusCode::OK, "{}", planned.body);
    assert_eq!(planned.headers[header::ETAG], "\"2\"");
    let a = send(
        &app,
        req(
            "PUT",
            &staged,
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.67, 34.8))),
        ),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::PRECONDITION_FAILED,
        "the plan's version is 2 now: {}",
        a.body
    );
    let a = send(
        &app,
        req(
            "PUT",
            &staged,
            Some(&planner),
            Some("\"2\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.67, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let edits = a.body["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 2, "{}", a.body);
    assert!(
        edits
            .iter()
            .all(|e| e["base_version"] == 1 && e["live_version"] == 1),
        "{}",
        a.body
    );

    // The preview: the strip moves, nothing conflicts, the partition stays clean.
    let a = send(
        &app,
        req(
            "GET",
            &format!("/v1/plans/{id}/preview"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["conflicts"], json!([]));
    let strip = rect_area(113.65, 34.7, 113.67, 34.8);
    let gained = a.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == GRID1)
        .unwrap()["area_gained_m2"]
        .as_f64()
        .unwrap();
    assert!(close_to(gained, strip), "{gained} vs {strip}");
    assert_eq!(a.body["coverage"]["after"]["gaps"], 0, "{}", a.body);
    assert_eq!(a.body["coverage"]["after"]["overlaps"], 0, "{}", a.body);
    assert!(
        a.body["grids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["code"] == GRID2),
        "{}",
        a.body
    );

    // Apply: one change set, the live map moves, the plan is closed.
    let a = send(
        &app,
        req(
            "POST",
            &format!("/v1/plans/{id}/apply"),
            Some(&viewer),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        &app,
        req(
            "POST",
            &format!("/v1/plans/{id}/apply"),
            Some(&planner),
            None,
            Some(json!({"message": "按计划调整"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["plan"]["status"], "applied");
    let snap = state.snapshot.current();
    let x = |code: &str, max: bool| {
        let b =
            geo::BoundingRect::bounding_rect(&snap.find(Layer::PartyGrid, code).unwrap().geometry)
                .unwrap();
        if max { b.max().x } else { b.min().x }
    };
    assert!(near(x(GRID1, true), 113.67) && near(x(GRID2, false), 113.67));
    assert!(clean(coverage(&app).await), "{:?}", coverage(&app).await);
    let revs = state.store.revisions(None, live0.1, 100).await.unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[0].changeset, revs[1].changeset, "one transaction");
    assert_eq!(revs[0].message, "按计划调整");
    assert_eq!(a.body["plan"]["changeset"], revs[0].changeset);
    let a = send(
        &app,
        req(
            "POST",
            &format!("/v1/plans/{id}/apply"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::CONFLICT,
        "applied once only: {}",
        a.body
    );

    // A plan whose features change live underneath is refused, with the reasons, and writes
    // nothing; it can be discarded.
    let a = send(
        &app,
        req(
            "POST",
            "/v1/plans",
            Some(&planner),
            None,
            Some(json!({"name": "second"})),
        ),
    )
    .await;
    let id2 = a.body["plan"]["id"].as_i64().unwrap();
    let v1 = send(&app, req("GET", &grid, None, None, None))
        .await
        .headers[header::ETAG]
        .to_str()
        .unwrap()
        .to_string();
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?plan={id2}&neighbours=adjust"),
            Some(&planner),
            Some(&v1),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.68, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v2 = send(
        &app,
        req(
            "GET",
            &format!("/v1/features/party_grid/{GRID2}"),
            None,
            None,
            None,
        ),
    )
    .await;
    let mut renamed = v2.body.clone();
    renamed["properties"]["name"] = json!("二网格（改名）");
    let a = send(
        &app,
        req(
            "PUT",
            &format!("/v1/features/party_grid/{GRID2}"),
            Some(&planner),
            Some(v2.headers[header::ETAG].to_str().unwrap()),
            Some(renamed),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = send(
        &app,
        req(
            "GET",
            &format!("/v1/plans/{id2}/preview"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(
        a.body["conflicts"].as_array().unwrap().len(),
        1,
        "{}",
        a.body
    );
    let live1 = store_state(state.store.as_ref()).await;
    let a = send(
        &app,
        req(
            "POST",
            &format!("/v1/plans/{id2}/apply"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_eq!(error_code(&a), "stale_plan");
    let reasons = a.body["error"]["details"]["reasons"].as_array().unwrap();
    assert!(
        reasons.len() == 1 && reasons[0].as_str().unwrap().contains(GRID2),
        "{}",
        a.body
    );
    assert_eq!(
        store_state(state.store.as_ref()).await,
        live1,
        "a refused apply writes nothing"
    );
    let a = send(
        &app,
        req(
            "DELETE",
            &format!("/v1/plans/{id2}"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["plan"]["status"], "discarded");
    let a = send(
        &app,
        req(
            "DELETE",
            &format!("/v1/plans/{id2}"),
            Some(&planner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    let a = send(
        &app,
        req(
            "PUT",
            &format!("{grid}?plan={id2}"),
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.68, 34.8))),
        ),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::CONFLICT,
        "a closed plan takes no edits: {}",
        a.body
    );
    let a = send(&app, req("GET", "/v1/plans", Some(&planner), None, None)).await;
    let statuses: Vec<&str> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["discarded", "applied"]);
    assert_eq!(store_state(state.store.as_ref()).await, live1);
}

/// The tile of zoom `z` holding (lon, lat) (Web Mercator, rows from the north).
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

async fn tile_bytes(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let resp = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn as_of_shows_the_map_as_it_was(store: Arc<dyn Store>) {
    let (app, _state, planner, _) = setup(store, true).await;
    let (x, y) = tile_of(113.655, 34.75, 14);
    let tile = format!("/tiles/14/{x}/{y}.mvt");
    let (status, before_tile) = tile_bytes(&app, &tile).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!before_tile.is_empty());
    let point = "/v1/lookup?lon=113.655&lat=34.75";
    let a = send(&app, req("GET", point, None, None, None)).await;
    assert_eq!(a.body["party_grid"]["code"], GRID2, "{}", a.body);

    // A moment after the seed and before the edit (commit times are kept to the microsecond).
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let a = send(
        &app,
        req(
            "PUT",
            &format!("/v1/features/party_grid/{GRID1}?neighbours=adjust"),
            Some(&planner),
            Some("\"1\""),
            Some(grid_body(GRID1, "g1", rect_json(113.6, 34.7, 113.66, 34.8))),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = send(&app, req("GET", point, None, None, None)).await;
    assert_eq!(a.body["party_grid"]["code"], GRID1, "live: {}", a.body);
    let (_, live_tile) = tile_bytes(&app, &tile).await;
    assert_ne!(live_tile, before_tile, "the edit changed the tile");

    let enc = between.replace(':', "%3A").replace('+', "%2B");
    let a = send(
        &app,
        req("GET", &format!("{point}&as_of={enc}"), None, None, None),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["party_grid"]["code"], GRID2,
        "as of before the edit: {}",
        a.body
    );
    let (status, then_tile) = tile_bytes(&app, &format!("{tile}?as_of={enc}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        then_tile, before_tile,
        "the past tile is the tile as it was"
    );
    let batch = Request::builder()
        .method("POST")
        .uri(format!("/v1/lookup?as_of={enc}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"points": [{"id": "p", "lon": 113.655, "lat": 34.75}]}).to_string(),
        ))
        .unwrap();
    let a = send(&app, batch).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["results"][0]["party_grid"]["code"], GRID2,
        "{}",
        a.body
    );
    // Before anything was committed there was no map; a bad date is a 400 naming as_of.
    let a = send(
        &app,
        req(
            "GET",
            &format!("{point}&as_of=2000-01-01"),
            None,
            None,
            None,
        ),
    )
    .await;
    assert!(
        a.body["party_grid"].is_null() && a.body["community"].is_null(),
        "{}",
        a.body
    );
    for uri in [
        format!("{point}&as_of=yesterday"),
        format!("{tile}?as_of=yesterday"),
    ] {
        let a = send(&app, req("GET", &uri, None, None, None)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.body);
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("as_of")
        );
    }
    let (status, _) = tile_bytes(&app, &format!("{tile}?v=1")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown tile parameters are refused"
    );
}
