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
