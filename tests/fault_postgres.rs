//! PostgreSQL stopped and started under a running `gridmap serve` (issue 11 item 4, faults):
//! reads go on answering from the snapshot, a write is a quick 503 `store_unavailable` with
//! `Retry-After` (never a 500, never a hang), `/readyz` says not ready while `/healthz` stays up,
//! and the process lives on; once PostgreSQL is back, writes go through within 5 s, and a commit
//! by another process reaches the server through LISTEN/NOTIFY, which must have reconnected.
//!
//! Each test runs its own cluster (tests/common/cluster.rs): the machine's shared server must
//! never be stopped. `fast` rolls back and disconnects every session (the server sends a FATAL
//! error first); `immediate` quits like a crash and recovers at the next start.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::cli::gridmap_ok;
use common::cluster::Cluster;
use common::server::{Reply, Server, request};
use serde_json::Value;

/// A shop of the demo and its party grid: a point, so that renaming it meets no topology rule.
const SHOP: &str = "419901001001SP0001";
const GRID: &str = "419901001001001";

/// How long a write may take to be refused while the database is down (the pool gives up
/// acquiring after 5 s).
const REFUSED_WITHIN: Duration = Duration::from_secs(7);
/// How soon after PostgreSQL is back writes must go through, and another process's commit must
/// be served.
const RECOVERED_WITHIN: Duration = Duration::from_secs(5);

#[test]
fn postgres_stopped_fast_and_started_again() {
    outage("fast");
}

#[test]
fn postgres_stopped_immediately_and_started_again() {
    outage("immediate");
}

/// A planner's bearer token, made with the CLI (which also migrates the empty database, so that
/// `serve` then loads the demo into it).
fn planner_token(url: &str) -> String {
    let args = ["token", "create", "--role", "planner", "--name", "fault"];
    let out = gridmap_ok(&["--database-url", url], &args);
    out.lines().last().unwrap().trim().to_string()
}

fn get(server: &Server, path: &str) -> Reply {
    server
        .call("GET", path, &[], None)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The z14 tile holding a point, as `/tiles/z/x/y.mvt`.
fn tile_path(lon: f64, lat: f64) -> String {
    let n = f64::from(1u32 << 14);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let phi = lat.to_radians();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    format!("/tiles/14/{x}/{y}.mvt")
}

/// The advisory lock every PostGIS commit takes (src/store/postgis.rs, "gridmap" in ASCII).
const COMMIT_LOCK: i64 = 0x0067_7269_646d_6170;

/// Rename the shop on the server at `addr` with `If-Match: "version"`.
fn put_shop(addr: &str, auth: &str, feature: &Value, version: i64, name: &str) -> Reply {
    let mut body = feature.clone();
    body["properties"]["name"] = Value::from(name);
    let if_match = format!("\"{version}\"");
    request(
        addr,
        "PUT",
        &format!("/v1/features/shop/{SHOP}"),
        &[
            ("Authorization", auth),
            ("If-Match", &if_match),
            ("Content-Type", "application/geo+json"),
        ],
        Some(&body.to_string()),
        Duration::from_secs(30),
    )
    .expect("PUT answered")
}

/// Wait until `sql` (a count) says `want`.
fn wait_for(pg: &Cluster, sql: &str, want: &str) {
    let until = Instant::now() + Duration::from_secs(20);
    while pg.psql(sql).trim() != want {
        assert!(Instant::now() < until, "{sql} never gave {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_unavailable(r: &Reply, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.text());
    assert_eq!(r.json()["error"]["code"], "store_unavailable", "{what}");
    assert!(r.header("retry-after").is_some(), "{what}: {:?}", r.headers);
}

fn etag_version(r: &Reply) -> i64 {
    r.header("etag").unwrap().trim_matches('"').parse().unwrap()
}

fn outage(mode: &str) {
    let pg = Cluster::init(None, false);
    pg.start();
    let url = pg.url();
    let auth = format!("Bearer {}", planner_token(&url));
    // The poll is off: only the LISTEN follower can bring in another process's commit, so the
    // test sees whether it came back after the outage.
    let mut server = Server::start_on(&["--database-url", &url], &["--poll-seconds", "0"]);

    // Before the outage: what the reads answer (the coverage report is made now and cached).
    let lookup = "/v1/lookup?lon=113.64&lat=34.72";
    let grid = get(&server, lookup).json()["party_grid"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let reads = [
        lookup.to_string(),
        format!("/v1/features/party_grid/{grid}"),
        format!("/v1/features/shop/{SHOP}"),
        tile_path(113.64, 34.72),
        "/v1/reports/coverage".to_string(),
    ];
    let before: Vec<Reply> = reads.iter().map(|p| get(&server, p)).collect();
    for (path, r) in reads.iter().zip(&before) {
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let shop = before[2].json();
    let mut version = etag_version(&before[2]);

    // A write in flight when PostgreSQL stops: a session of ours holds the commit lock, so the
    // server's commit waits for it inside its transaction, and the stop lands there.
    let mut holder = Command::new("psql")
        .args(["-X", "-qAt", &url, "-c"])
        .arg(format!(
            "SELECT pg_advisory_lock({COMMIT_LOCK}); SELECT pg_sleep(120)"
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'";
    wait_for(&pg, &format!("{lock} AND granted"), "1");
    let in_flight = {
        let (addr, auth, shop) = (server.addr.clone(), auth.clone(), shop.clone());
        std::thread::spawn(move || put_shop(&addr, &auth, &shop, version, "停库时在途"))
    };
    wait_for(&pg, &format!("{lock} AND NOT granted"), "1");

    pg.stop(mode);
    assert_unavailable(&in_flight.join().unwrap(), "a write in flight at the stop");
    let _ = holder.kill();
    let _ = holder.wait();

    // Reads answer from the snapshot exactly as before.
    for (path, was) in reads.iter().zip(&before) {
        let r = get(&server, path);
        assert_eq!(
            r.status,
            200,
            "{path} with PostgreSQL stopped: {}",
            r.text()
        );
        assert!(
            r.body == was.body,
            "{path} changed while PostgreSQL was stopped"
        );
    }
    let health = get(&server, "/healthz");
    assert_eq!(health.status, 200, "{}", health.text());
    let ready = get(&server, "/readyz");
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(ready.json()["status"], "not_ready");

    // A write is refused quickly, as "try again", not as a fault of ours.
    let asked = Instant::now();
    let r = put_shop(&server.addr, &auth, &shop, version, "停库时改名");
    let refused_in = asked.elapsed();
    assert_unavailable(&r, "a write while PostgreSQL is stopped");
    assert!(refused_in < REFUSED_WITHIN, "refused after {refused_in:?}");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited while PostgreSQL was stopped"
    );

    pg.start();
    let back = Instant::now();

    // Writes go through again: the same edit, retried as a client told "Retry-After" would.
    let recovered_in = loop {
        let r = put_shop(&server.addr, &auth, &shop, version, "恢复后改名");
        if r.status == 200 {
            version = etag_version(&r);
            break back.elapsed();
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(
            back.elapsed() < RECOVERED_WITHIN,
            "writes still refused {:?} after PostgreSQL started: {}",
            back.elapsed(),
            r.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Neither refused write left anything: this is the shop's first change.
    assert_eq!(version, 2);

    // Another process commits (an import from the CLI); the server hears of it by NOTIFY.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.geojson");
    let code = format!("FAULT-{mode}");
    std::fs::write(
        &file,
        serde_json::json!({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [113.6256686, 34.7338473]},
            "properties": {"layer": "shop", "code": code, "name": "故障测试商铺", "parent": GRID}
        }]})
        .to_string(),
    )
    .unwrap();
    gridmap_ok(
        &["--database-url", &url],
        &["import", file.to_str().unwrap()],
    );
    let committed = Instant::now();
    let (served_in, served_after_start) = loop {
        if get(&server, &format!("/v1/features/shop/{code}")).status == 200 {
            break (committed.elapsed(), back.elapsed());
        }
        if committed.elapsed() > RECOVERED_WITHIN {
            let log = server.log.lock().unwrap().join("\n");
            panic!(
                "another process's commit was not served {:?} after it ({:?} after PostgreSQL \
                 started): the LISTEN follower did not come back\n{log}",
                committed.elapsed(),
                back.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(get(&server, "/readyz").status, 200);
    assert!(server.child.try_wait().unwrap().is_none());
    eprintln!(
        "stop -m {mode}: write refused (503) in {refused_in:.2?}; writes back {recovered_in:.2?} \
         after PostgreSQL started; another process's commit served {served_in:.2?} after it \
         ({served_after_start:.2?} after the start)"
    );
}
