//! Edits that must not fool a client (issue 11): a committed write is answered as committed even
//! when publishing it fails; versions never restart, so a tag from before a delete cannot
//! overwrite the feature created in its place. On both stores.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::api::{self, AppState, EditState};
use gridmap::auth::{self, Role};
use gridmap::model::{
    ChangeSet, CommitSummary, Feature, FeatureDraft, FeatureKey, Layer, Properties, Revision,
};
use gridmap::store::{AuthStore, PlanStore, Store, StoreError};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::edit::{both_stores, rect, rect_json};

both_stores!(
    a_saved_edit_is_answered_as_saved,
    versions_continue_after_a_delete,
    sign_ins_are_throttled_per_name,
    a_disabled_account_loses_its_sessions,
    expired_sessions_are_deleted,
    closed_reads_guard_head_and_open_the_page,
    past_moments_are_built_once,
    edits_obey_the_import_rules,
    concurrent_reports_are_made_once_and_edits_go_on,
    writes_while_the_database_is_down_are_503,
);

const COMMUNITY: &str = "410105001001";
const GRID1: &str = "410105001001001";
const GRID2: &str = "410105001001002";

fn draft(layer: Layer, code: &str, parent: Option<&str>, g: geo::Geometry<f64>) -> FeatureDraft {
    FeatureDraft {
        layer,
        code: code.into(),
        name: code.into(),
        parent: parent.map(Into::into),
        properties: Properties::default(),
        geometry: g,
    }
}

/// A store whose reads fail while `broken` (a database that went away right after a commit).
struct Flaky {
    inner: Arc<dyn Store>,
    broken: AtomicBool,
    /// Break reads as soon as the next commit is written.
    break_after_commit: AtomicBool,
    /// Refuse commits as a database that cannot be reached does.
    down: AtomicBool,
}

#[async_trait]
impl Store for Flaky {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn load(&self) -> Result<Vec<Feature>, StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StoreError::Open("the database went away".into()));
        }
        self.inner.load().await
    }
    async fn data_version(&self) -> Result<i64, StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StoreError::Open("the database went away".into()));
        }
        self.inner.data_version().await
    }
    async fn commit(&self, changes: ChangeSet) -> Result<CommitSummary, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
        }
        let done = self.inner.commit(changes).await;
        if done.is_ok() && self.break_after_commit.load(Ordering::SeqCst) {
            self.broken.store(true, Ordering::SeqCst);
        }
        done
    }
    async fn version_at(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64, StoreError> {
        self.inner.version_at(at).await
    }
    async fn revisions(
        &self,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Revision>, StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StoreError::Open("the database went away".into()));
        }
        self.inner.revisions(key, after, limit).await
    }
    fn auth(&self) -> Option<&dyn AuthStore> {
        self.inner.auth()
    }
    fn plan_store(&self) -> Option<&dyn PlanStore> {
        self.inner.plan_store()
    }
}

/// A community of two grids, and a planner's token.
async fn setup(store: Arc<dyn Store>) -> (axum::Router, AppState, String) {
    store
        .commit(ChangeSet::upserts(
            "test",
            "seed",
            vec![
                draft(
                    Layer::Community,
                    COMMUNITY,
                    None,
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
    common::edit::with_planner(store).await
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(m) = if_match {
        r = r.header(header::IF_MATCH, m);
    }
    let req = match body {
        Some(b) => r
            .header(header::CONTENT_TYPE, "application/geo+json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => r.body(Body::empty()).unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let etag = resp
        .headers()
        .get(header::ETAG)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, etag, body)
}

fn grid(code: &str, name: &str, geometry: Value) -> Value {
    json!({"type": "Feature", "id": code,
           "properties": {"code": code, "name": name, "parent": COMMUNITY}, "geometry": geometry})
}

/// The store accepts the edit and then cannot be read: the client hears that its edit was saved
/// (not a 500 that makes it retry into a 412), and the map catches up once the store is back.
async fn a_saved_edit_is_answered_as_saved(store: Arc<dyn Store>) {
    let flaky = Arc::new(Flaky {
        inner: store,
        broken: AtomicBool::new(false),
        break_after_commit: AtomicBool::new(false),
        down: AtomicBool::new(false),
    });
    let (app, state, token) = setup(flaky.clone()).await;
    let uri = format!("/v1/features/party_grid/{GRID2}");
    flaky.break_after_commit.store(true, Ordering::SeqCst);
    let (status, _, body) = send(
        &app,
        "PUT",
        &uri,
        &token,
        Some("\"1\""),
        Some(grid(GRID2, "新名字", rect_json(113.65, 34.7, 113.7, 34.8))),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    // Saved: the store has it.
    flaky.broken.store(false, Ordering::SeqCst);
    flaky.break_after_commit.store(false, Ordering::SeqCst);
    let stored = flaky.inner.load().await.unwrap();
    let g = stored.iter().find(|f| f.code == GRID2).unwrap();
    assert_eq!((g.name.as_str(), g.version), ("新名字", 2));
    // And published once the store answers again.
    gridmap::api::sync::refresh(&state).await.unwrap();
    let (status, etag, _) = send(&app, "GET", &uri, &token, None, None).await;
    assert_eq!((status, etag.as_deref()), (StatusCode::OK, Some("\"2\"")));
}

/// Delete a grid and create one with the same code: the new one does not start again at
/// version 1, so an `If-Match: "1"` kept from before the delete is a 412, not an overwrite.
async fn versions_continue_after_a_delete(store: Arc<dyn Store>) {
    let (app, _state, token) = setup(store.clone()).await;
    let uri = format!("/v1/features/party_grid/{GRID2}");
    let (status, _, body) = send(&app, "DELETE", &uri, &token, Some("\"1\""), None).await;
    assert!(status.is_success(), "{status}: {body}");
    let shape = rect_json(113.65, 34.7, 113.7, 34.8);
    let (status, etag, body) = send(
        &app,
        "POST",
        "/v1/features/party_grid",
        &token,
        None,
        Some(grid(GRID2, "重建", shape.clone())),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(etag.as_deref(), Some("\"2\""), "{body}");
    let (status, _, body) = send(
        &app,
        "PUT",
        &uri,
        &token,
        Some("\"1\""),
        Some(grid(GRID2, "旧客户端", shape)),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let stored = store.load().await.unwrap();
    let g = stored.iter().find(|f| f.code == GRID2).unwrap();
    assert_eq!((g.name.as_str(), g.version), ("重建", 2));
}

fn sign_in(name: &str, password: &str) -> Request<Body> {
    Request::post("/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"name": name, "password": password}).to_string(),
        ))
        .unwrap()
}

async fn status_of(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap) {
    let resp = app.clone().oneshot(req).await.unwrap();
    (resp.status(), resp.headers().clone())
}

/// Five wrong passwords for a name lock it for a while (429 with Retry-After), even for the
/// right password; an unknown name is answered and counted like a known one; other names are
/// not affected.
async fn sign_ins_are_throttled_per_name(store: Arc<dyn Store>) {
    let hash = auth::hash_password("correct horse").unwrap();
    let auth_store = store.auth().unwrap();
    auth_store
        .create_user("wang", Role::Planner, &hash)
        .await
        .unwrap();
    auth_store
        .create_user("li", Role::Planner, &hash)
        .await
        .unwrap();
    let (app, _state, _) = setup(store).await;
    for name in ["wang", "nobody"] {
        for _ in 0..gridmap::auth::throttle::MAX_FAILURES {
            let (status, _) = status_of(&app, sign_in(name, "wrong horse")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        }
        let (status, headers) = status_of(&app, sign_in(name, "correct horse")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{name}");
        let wait: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    }
    let (status, _) = status_of(&app, sign_in("li", "correct horse")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// Disabling an account ends its sessions at once and refuses its sign-ins; enabling it again
/// lets it sign in.
async fn a_disabled_account_loses_its_sessions(store: Arc<dyn Store>) {
    let hash = auth::hash_password("correct horse").unwrap();
    store
        .auth()
        .unwrap()
        .create_user("wang", Role::Planner, &hash)
        .await
        .unwrap();
    let (app, _state, _) = setup(store.clone()).await;
    let mut behind_https = sign_in("wang", "correct horse");
    behind_https
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let (status, headers) = status_of(&app, behind_https).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    let (status, headers) = status_of(&app, sign_in("wang", "correct horse")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        !headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let me = || {
        Request::get("/v1/session")
            .header(header::COOKIE, cookie.clone())
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(status_of(&app, me()).await.0, StatusCode::OK);
    assert!(
        store
            .auth()
            .unwrap()
            .set_user_disabled("wang", true)
            .await
            .unwrap()
    );
    assert_eq!(status_of(&app, me()).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = status_of(&app, sign_in("wang", "correct horse")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        !store
            .auth()
            .unwrap()
            .set_user_disabled("nobody", true)
            .await
            .unwrap()
    );
    assert!(
        store
            .auth()
            .unwrap()
            .set_user_disabled("wang", false)
            .await
            .unwrap()
    );
    let (status, _) = status_of(&app, sign_in("wang", "correct horse")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// Sessions past their expiry are deleted, the live ones kept.
async fn expired_sessions_are_deleted(store: Arc<dyn Store>) {
    let auth_store = store.auth().unwrap();
    let id = auth_store
        .create_user(
            "wang",
            Role::Planner,
            &auth::hash_password("correct horse").unwrap(),
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    auth_store
        .create_session("old", id, now - chrono::Duration::hours(1))
        .await
        .unwrap();
    auth_store
        .create_session("new", id, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(auth_store.delete_expired_sessions(now).await.unwrap(), 1);
    assert!(
        auth_store
            .session_principal("new", now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        auth_store
            .session_principal("old", now - chrono::Duration::hours(2))
            .await
            .unwrap()
            .is_none()
    );
}

/// With closed reads, a HEAD tells an anonymous caller nothing (401, no ETag), while the page and
/// its files load, so a browser reaches the sign-in form.
async fn closed_reads_guard_head_and_open_the_page(store: Arc<dyn Store>) {
    let (_, mut state, _) = setup(store).await;
    state.edit = Arc::new(EditState {
        open_reads: false,
        ..Default::default()
    });
    let app = api::app(state);
    let head = |uri: &str| {
        Request::builder()
            .method("HEAD")
            .uri(uri)
            .body(Body::empty())
            .unwrap()
    };
    for uri in [
        format!("/v1/features/party_grid/{GRID2}"),
        "/v1/features/party_grid/nope".to_string(),
    ] {
        let (status, headers) = status_of(&app, head(&uri)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(headers.get(header::ETAG).is_none(), "{uri}");
    }
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    assert_eq!(status_of(&app, get("/")).await.0, StatusCode::OK);
    assert_eq!(
        status_of(&app, get("/style.json")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// A caller cycling through four past moments gets each built once: the second round is
/// answered from the view cache.
async fn past_moments_are_built_once(store: Arc<dyn Store>) {
    let (app, state, _) = setup(store.clone()).await;
    let mut moments = Vec::new();
    for i in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        store
            .commit(ChangeSet::upserts(
                "test",
                "rename",
                vec![FeatureDraft {
                    name: format!("第{i}版"),
                    ..draft(
                        Layer::PartyGrid,
                        GRID2,
                        Some(COMMUNITY),
                        rect(113.65, 34.7, 113.7, 34.8),
                    )
                }],
                None,
            ))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        moments.push(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    // The live snapshot is the last moment's: make it current so that only three are past.
    gridmap::api::sync::refresh(&state).await.unwrap();
    for round in 0..2 {
        for (i, at) in moments.iter().enumerate() {
            let uri = format!(
                "/v1/lookup?lon=113.68&lat=34.75&as_of={}",
                at.replace('+', "%2B")
            );
            let resp = app
                .clone()
                .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "round {round}, {uri}");
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["party_grid"]["name"], format!("第{i}版"), "{uri}");
        }
    }
    assert_eq!(state.views.stats(), (3, 3));
}

/// An edit is checked as strictly as an import: counts, lengths, characters; each refusal is a
/// 422 naming the field, and the store is left as it was (a NUL was a 500 on PostGIS).
async fn edits_obey_the_import_rules(store: Arc<dyn Store>) {
    let (app, _state, token) = setup(store.clone()).await;
    let before = store.load().await.unwrap();
    let shape = rect_json(113.65, 34.7, 113.7, 34.8);
    let with = |props: Value| {
        let mut body = grid(GRID2, "第2网格", shape.clone());
        for (k, v) in props.as_object().unwrap() {
            body["properties"][k] = v.clone();
        }
        body
    };
    let uri = format!("/v1/features/party_grid/{GRID2}");
    for (props, field) in [
        (json!({"households": "many"}), "households"),
        (json!({"households": -5}), "households"),
        (json!({"households": 1e300}), "households"),
        (json!({"name": "名".repeat(100_000)}), "name"),
        (json!({"name": "a\u{0}b"}), "name"),
        (json!({"note": "x".repeat(5000)}), "note"),
    ] {
        let (status, _, body) = send(
            &app,
            "PUT",
            &uri,
            &token,
            Some("\"1\""),
            Some(with(props.clone())),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{props}: {body}");
        let reasons = body["error"]["details"]["reasons"].to_string();
        assert!(reasons.contains(field), "{props}: {reasons}");
    }
    for code in ["41010500100100 3", "410105001/001003"] {
        let mut body = grid(code, "新网格", shape.clone());
        body["id"] = json!(code);
        let (status, _, body) = send(
            &app,
            "POST",
            "/v1/features/party_grid",
            &token,
            None,
            Some(body),
        )
        .await;
        assert!(status.is_client_error(), "{code:?}: {status} {body}");
    }
    assert_eq!(store.load().await.unwrap(), before);
}

/// Twenty requests for one report at once make it once; an edit made meanwhile is answered, and
/// the next report is made afresh for the new data.
async fn concurrent_reports_are_made_once_and_edits_go_on(store: Arc<dyn Store>) {
    let (app, state, token) = setup(store).await;
    let report = |app: axum::Router| async move {
        let resp = app
            .oneshot(
                Request::get("/v1/reports/coverage")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        resp.status()
    };
    let mut running = Vec::new();
    for _ in 0..20 {
        running.push(tokio::spawn(report(app.clone())));
    }
    let uri = format!("/v1/features/party_grid/{GRID2}");
    let (status, _, body) = send(
        &app,
        "PUT",
        &uri,
        &token,
        Some("\"1\""),
        Some(grid(
            GRID2,
            "报告期间改名",
            rect_json(113.65, 34.7, 113.7, 34.8),
        )),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    for r in running {
        assert_eq!(r.await.unwrap(), StatusCode::OK);
    }
    let before = state.edit.reports.stats().1;
    // At most one report per data version the requests saw (the edit may land between them).
    assert!((1..=2).contains(&before), "{before}");
    assert_eq!(report(app.clone()).await, StatusCode::OK);
    assert_eq!(report(app.clone()).await, StatusCode::OK);
    assert!(state.edit.reports.stats().1 <= before + 1);
}

/// The database cannot be reached: reads go on from the snapshot, a write is a 503 with
/// `Retry-After` (not a 500), and once it is back the same write goes through.
async fn writes_while_the_database_is_down_are_503(store: Arc<dyn Store>) {
    let flaky = Arc::new(Flaky {
        inner: store,
        broken: AtomicBool::new(false),
        break_after_commit: AtomicBool::new(false),
        down: AtomicBool::new(false),
    });
    let (app, _state, token) = setup(flaky.clone()).await;
    flaky.down.store(true, Ordering::SeqCst);
    let uri = format!("/v1/features/party_grid/{GRID2}");
    let (status, _, body) = send(&app, "GET", &uri, &token, None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let put = || {
        Some(grid(
            GRID2,
            "停机时改名",
            rect_json(113.65, 34.7, 113.7, 34.8),
        ))
    };
    let req = Request::put(&uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::IF_MATCH, "\"1\"")
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(Body::from(put().unwrap().to_string()))
        .unwrap();
    let (status, headers) = status_of(&app, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key(header::RETRY_AFTER));
    flaky.down.store(false, Ordering::SeqCst);
    let (status, _, body) = send(&app, "PUT", &uri, &token, Some("\"1\""), put()).await;
    assert!(status.is_success(), "{status}: {body}");
}
