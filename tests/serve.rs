//! The `gridmap serve` process end to end: first start on an empty store loads the demo, the
//! health check answers, and SIGTERM stops it gracefully.

mod common;

use std::process::Command;

use common::server::Server;

#[test]
fn serve_loads_the_demo_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (status, body) = server.get("/healthz");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "gpkg");
    let features = health["features"].as_u64().unwrap();
    assert!(features > 5_000, "the demo was not loaded: {health}");
    assert!(health["data_version"].as_i64().unwrap() > 0);
    assert!(dir.path().join("gridmap.gpkg").exists());

    let (status, body) = server.get("/no/such/thing");
    assert_eq!(status, 404);
    assert!(body.contains("\"code\":\"not_found\""), "{body}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown should exit 0, got {status}"
    );
}

/// A client that sends half a request, or nothing, is disconnected after the header timeout; the
/// page and every answer carry the security headers; SIGTERM stops the server within its grace
/// period even while connections hang.
#[test]
fn hanging_clients_are_cut_off_and_do_not_hold_shutdown() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), &["--header-timeout-seconds", "1"]);
    let mut half = TcpStream::connect(&server.addr).unwrap();
    half.write_all(b"GET /healthz HT").unwrap();
    half.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    // The server closes it (with or without a 408): the read ends instead of waiting 30 s.
    let read = half.read_to_end(&mut rest);
    assert!(
        read.is_ok(),
        "the half-sent request was not cut off: {read:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );

    let mut page = TcpStream::connect(&server.addr).unwrap();
    write!(
        page,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    page.read_to_string(&mut resp).unwrap();
    let head = resp.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    for h in [
        "content-security-policy: default-src 'self'",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "vary: host, x-forwarded-proto, x-forwarded-prefix",
    ] {
        assert!(head.contains(h), "{h} missing from\n{head}");
    }

    // Twenty connections in the middle of a request when the signal comes.
    let hanging: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&server.addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    drop(hanging);
}

/// JSON logs for a collector: one object per line, no colour codes, each request's lines carry
/// the id its answer returns in `x-request-id`; `/readyz` says the store answers.
#[test]
fn json_logs_carry_request_ids_and_readyz_answers() {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--log-format", "json"]);
    let (status, body) = server.get("/readyz");
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["store_version"], ready["snapshot_version"]);

    let mut s = TcpStream::connect(&server.addr).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let id = resp
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("an x-request-id header")
        .trim()
        .to_string();
    // The request's log line names it (the trace layer logs each response).
    let found = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        server.log.lock().unwrap().iter().any(|l| l.contains(&id))
    });
    let log = server.log.lock().unwrap().clone();
    assert!(found, "no log line with {id}: {log:?}");
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    for series in [
        "gridmap_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1",
        "gridmap_http_request_duration_seconds_bucket{route=\"/readyz\"",
        "gridmap_snapshot_data_version ",
    ] {
        assert!(metrics.contains(series), "{series} missing from\n{metrics}");
    }
    for line in &log {
        assert!(!line.contains('\u{1b}'), "colour codes in {line:?}");
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}
