//! No request may take unbounded memory or CPU (issue 11): the work a request causes is bounded
//! by what the service accepts, not by what a client sends. Memory is measured by a counting
//! allocator around the request (this test binary's own), not by timing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::api::{self, AppState};
use gridmap::snapshot::Snapshot;
use gridmap::store::{self, StoreConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Bytes allocated now, and the most since the last reset.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The counters are the process's: tests that measure run one at a time.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn empty_app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&StoreConfig::Gpkg {
        data_dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    (
        api::app(AppState::new(store, Snapshot::new(1, Vec::new()))),
        dir,
    )
}

/// A batch of two million empty objects (6 MB) is refused as too many points, and answering it
/// takes less memory than the body itself: the points are counted before any is parsed (a JSON
/// document model of it took over ten times the body).
#[tokio::test]
async fn a_huge_batch_is_counted_before_it_is_parsed() {
    let _one = MEASURING.lock().await;
    let (app, _dir) = empty_app().await;
    let n = 2_000_000;
    let mut body = String::with_capacity(n * 3 + 16);
    body.push_str("{\"points\":[");
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str("{}");
    }
    body.push_str("]}");
    let len = body.len();
    let req = Request::post("/v1/lookup")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let text = resp.into_body().collect().await.unwrap().to_bytes();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text:?}");
    assert!(
        String::from_utf8_lossy(&text).contains("100000"),
        "names the limit: {text:?}"
    );
    assert!(
        peak < len,
        "answering took {peak} bytes for a {len}-byte body"
    );
}

/// One point item may not be a document of its own: an id of a million numbers is refused for
/// that item (named), the rest are answered.
#[tokio::test]
async fn an_oversized_item_is_refused_on_its_own() {
    let _one = MEASURING.lock().await;
    let (app, _dir) = empty_app().await;
    let big: Vec<String> = (0..1_000_000).map(|_| "0".to_string()).collect();
    let body = format!(
        "{{\"points\":[{{\"id\":\"a\",\"lon\":113.6,\"lat\":34.7}},{{\"id\":[{}],\"lon\":113.6,\"lat\":34.7}}]}}",
        big.join(",")
    );
    let req = Request::post("/v1/lookup")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0]["error"].is_null(), "{}", results[0]);
    let message = results[1]["error"]["message"].as_str().unwrap();
    assert!(message.contains("points[1]"), "{message}");
}

/// An anonymous write is refused before its body is read: a 60 MB PUT without credentials is a
/// 401, and answering it takes a fraction of the body's size.
#[tokio::test]
async fn an_anonymous_write_is_refused_before_its_body_is_read() {
    let _one = MEASURING.lock().await;
    let (app, _dir) = empty_app().await;
    let body = vec![b' '; 60 << 20];
    let len = body.len();
    // A body that is produced as it is read: nothing of it exists until the server reads it.
    let stream = futures_util::stream::iter(
        body.chunks(1 << 20)
            .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    drop(body);
    let req = Request::put("/v1/features/party_grid/410105001001001")
        .header(header::CONTENT_TYPE, "application/geo+json")
        .header(header::IF_MATCH, "\"1\"")
        .body(Body::from_stream(stream))
        .unwrap();
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let resp = app.oneshot(req).await.unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(peak < len / 4, "answering took {peak} bytes");
}
