//! The `gridmap lookup` command, run as the built binary against a GeoPackage store in a
//! temporary `--data` directory: a point, an address, and a CSV batch.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn gridmap(data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridmap"));
    cmd.arg("--data").arg(data).args(args);
    for var in ["DATABASE_URL", "GRIDMAP_DATA", "GRIDMAP_CRS"] {
        cmd.env_remove(var);
    }
    cmd.output().expect("run gridmap")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "gridmap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn points_addresses_and_csv_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/subdistrict.geojson");
    ok(&gridmap(
        &data,
        &["import", fixture.to_str().unwrap_or_default()],
    ));
    let csv = dir.path().join("addresses.csv");
    std::fs::write(
        &csv,
        "address,lon,lat,code\n建设路1号幸福家园3栋,116.4,39.9,B3\n建设路1号,116.41,39.91,N1\n",
    )
    .expect("write");
    ok(&gridmap(
        &data,
        &["import", csv.to_str().unwrap_or_default()],
    ));

    let v: Value =
        serde_json::from_str(&ok(&gridmap(&data, &["lookup", "116.4", "39.9"]))).expect("JSON");
    assert_eq!(v["point"]["lon"], 116.4);
    let v: Value = serde_json::from_str(&ok(&gridmap(
        &data,
        &["lookup", "--address", "幸福家园三号楼"],
    )))
    .expect("JSON");
    assert_eq!(v["match"]["code"], "B3", "{v}");
    assert_eq!(v["match"]["level"], "building");

    let queries = dir.path().join("queries.csv");
    std::fs::write(&queries, "id,address\na,建设路1号\nb,\n").expect("write");
    let out = ok(&gridmap(
        &data,
        &["lookup", "--csv", queries.to_str().unwrap_or_default()],
    ));
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[0].starts_with("id,lon,lat,community_code"));
    assert!(rows[1].starts_with("a,116.41,39.91,") && rows[1].ends_with(",road_number,1"));
    assert!(rows[2].contains("line 3: no address"), "{out}");

    let bad = gridmap(&data, &["lookup", "--address", ""]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("address is empty"));
}
