//! OGC API – Features read by GDAL's OAPIF driver (how QGIS users open it) from a real server:
//! every collection listed, and every collection read in full, page after page, each feature
//! exactly once; the address layer in at most two requests per 10,000 features; and a `parent`
//! filter evaluated by the server, GDAL counting what it gets. Also the 4xx answers for bad
//! requests, over the same socket.
//!
//! Without `ogrinfo` on PATH the GDAL part is skipped with a message, unless `CI` is set: there a
//! missing GDAL fails the test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::server::Server;
use gridmap::model::Layer;
use serde_json::Value;

fn gdal_available() -> bool {
    let found = Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "ogrinfo (gdal-bin) is required when CI is set"
        );
        eprintln!("skipping the GDAL checks: ogrinfo is not installed");
    }
    found
}

/// Start a server and check that it serves `/ogc` at all: with a `CARGO_TARGET_DIR` shared
/// between branches, another branch's build can replace the binary between build and test run,
/// and this says so instead of failing obscurely inside GDAL.
fn ogc_server(dir: &std::path::Path) -> Server {
    let server = Server::start(dir);
    let (status, body) = server.get("/ogc");
    assert_eq!(
        status,
        200,
        "{} does not serve /ogc ({body}); was it replaced by another build in a shared target dir?",
        env!("CARGO_BIN_EXE_gridmap")
    );
    server
}

/// How many features the embedded demo has per layer.
fn demo_counts() -> BTreeMap<Layer, usize> {
    let mut m = BTreeMap::new();
    for d in gridmap::demo::embedded() {
        *m.entry(d.layer).or_insert(0) += 1;
    }
    m
}

#[test]
fn gdal_reads_every_collection_in_full() {
    if !gdal_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ogc_server(dir.path());
    let url = format!("OAPIF:http://{}/ogc", server.addr);

    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al", &url])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listing}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for layer in Layer::ALL {
        assert!(
            listing.contains(&format!("Layer name: {}", layer.id())),
            "{layer} missing from\n{listing}"
        );
    }

    for (layer, count) in demo_counts() {
        let file = dir.path().join(format!("{layer}.json"));
        let out = Command::new("ogr2ogr")
            .args(["-f", "GeoJSON"])
            .arg(&file)
            .args([&url, layer.id()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{layer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let features = doc["features"].as_array().unwrap();
        let codes: BTreeSet<&str> = features
            .iter()
            .map(|f| f["properties"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(features.len(), count, "{layer}: feature count");
        assert_eq!(codes.len(), count, "{layer}: a feature read twice");
        assert!(features.iter().all(|f| f["geometry"]["type"].is_string()));
    }
}

#[test]
fn bad_requests_are_json_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let server = ogc_server(dir.path());
    for path in [
        "/ogc/collections/party_grid/items?foo=1",
        "/ogc/collections/party_grid/items?bbox=1,2,3",
        "/ogc/collections/party_grid/items?bbox=10,0,5,1",
        "/ogc/collections/party_grid/items?limit=0",
        "/ogc/collections/party_grid/items?colour=red",
        "/ogc/collections/party_grid/items?households=many",
        "/ogc/collections/party_grid/items?offset=-1",
        "/ogc/collections/party_grid/items?f=xml",
        "/ogc/collections/nowhere/items",
        "/ogc/collections/party_grid/items/000",
        "/ogc?x=1",
        "/ogc/collections/%FF/items",
    ] {
        let (status, body) = server.get(path);
        assert!((400..500).contains(&status), "{path}: {status}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e} {body}"));
        assert!(v["error"]["code"].is_string(), "{path}: {v}");
    }

    let (status, body) = server.get("/ogc/collections/party_grid/items?limit=5&offset=5");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["numberReturned"], 5);
    assert_eq!(v["numberMatched"], demo_counts()[&Layer::PartyGrid]);
    let rels: BTreeSet<&str> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert!(rels.contains("next") && rels.contains("prev") && rels.contains("self"));
    let code = v["features"][0]["id"].as_str().unwrap().to_string();

    let (status, body) = server.get(&format!("/ogc/collections/party_grid/items/{code}"));
    assert_eq!(status, 200);
    let f: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(f["properties"]["code"], code.as_str());

    let (status, body) = server.get("/ogc/collections/party_grid/items?f=html&limit=3");
    assert_eq!(status, 200);
    assert!(body.contains("<table>") && body.contains("网格"), "{body}");

    let (_, body) = server.get("/ogc/conformance");
    let v: Value = serde_json::from_str(&body).unwrap();
    // Core, GeoJSON, HTML and Part 3's queryables as query parameters; not oas30: the document
    // is OpenAPI 3.1.
    let classes = v["conformsTo"].as_array().unwrap();
    assert_eq!(classes.len(), 5, "{classes:?}");
    assert!(
        !classes
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("oas30"))
    );
}

/// How many answered requests for `path` (query aside) the server has logged so far.
fn answered(server: &Server, path: &str) -> usize {
    let needle = format!("path={path}}}");
    server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(&needle) && l.contains("answered"))
        .count()
}

/// The log is read on another thread: wait until it has settled.
fn settled_count(server: &Server, path: &str) -> usize {
    let mut last = answered(server, path);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = answered(server, path);
        if now == last {
            return now;
        }
        last = now;
    }
}

#[test]
fn gdal_reads_the_addresses_in_two_requests_per_10000_features() {
    if !gdal_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ogc_server(dir.path());
    let n = demo_counts()[&Layer::Address];
    let items = "/ogc/collections/address/items";
    let before = settled_count(&server, items);
    let file = dir.path().join("address.json");
    // GDAL's defaults: no page size given, as a QGIS user would not give one.
    let out = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON"])
        .arg(&file)
        .args([&format!("OAPIF:http://{}/ogc", server.addr), "address"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), n);
    let requests = settled_count(&server, items) - before;
    let budget = n.div_ceil(10_000) * 2;
    println!("{n} addresses in {requests} item requests (budget {budget})");
    assert!(
        requests <= budget,
        "GDAL needed {requests} item requests for {n} addresses; at most {budget} allowed"
    );
}

#[test]
fn gdal_counts_what_the_servers_parent_filter_returns() {
    if !gdal_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ogc_server(dir.path());
    // The community with the most party grids, and how many it has.
    let mut grids_of: BTreeMap<String, usize> = BTreeMap::new();
    for d in gridmap::demo::embedded() {
        if d.layer == Layer::PartyGrid {
            *grids_of.entry(d.parent.clone().unwrap()).or_default() += 1;
        }
    }
    let (community, expected) = grids_of.iter().max_by_key(|(_, n)| **n).unwrap();
    let total = demo_counts()[&Layer::PartyGrid];
    assert!(*expected < total);
    let url = format!("OAPIF:http://{}/ogc", server.addr);
    let filter = format!("parent = '{community}'");

    let out = Command::new("ogrinfo")
        .args([
            "-ro",
            "-so",
            "--debug",
            "on",
            &url,
            "party_grid",
            "-where",
            &filter,
        ])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    let debug = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{listing}\n{debug}");
    assert!(
        listing.contains(&format!("Feature Count: {expected}")),
        "expected {expected} grids of {community}:\n{listing}"
    );
    // GDAL left the filter to the server: it learnt from /ogc/api that parent is a parameter.
    assert!(
        debug.contains(&format!("parent={community}")),
        "GDAL did not send the filter to the server:\n{debug}"
    );

    let file = dir.path().join("grids.json");
    let out = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON"])
        .arg(&file)
        .args([&url, "party_grid", "-where", &filter])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), *expected);
    assert!(
        features
            .iter()
            .all(|f| f["properties"]["parent"] == community.as_str())
    );
}
