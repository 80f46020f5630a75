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
        "vary: host, x-forwarded-proto",
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
