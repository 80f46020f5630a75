//! The `gridmap import` and `export` commands, run as the built binary against the GeoPackage
//! store in a temporary `--data` directory.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Run `gridmap --data <data> <args…>` with none of our environment variables set.
fn gridmap(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridmap"));
    cmd.arg("--data").arg(data).args(args);
    for var in [
        "DATABASE_URL",
        "GRIDMAP_DATA",
        "GRIDMAP_LAYER",
        "GRIDMAP_AUTHOR",
        "GRIDMAP_MESSAGE",
        "GRIDMAP_FIELDS",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run gridmap")
}

fn exported_features(data: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = gridmap(data, &all, &[]);
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("export is JSON");
    doc["features"].as_array().cloned().unwrap_or_default()
}

#[test]
fn importing_a_bad_file_fails_with_the_fault_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = dir.path().join("bad.geojson");
    std::fs::write(
        &bad,
        r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"layer": "shop", "code": "S1", "name": "便利店"},
             "geometry": {"type": "Point", "coordinates": [116.4, 39.9]}},
            {"type": "Feature", "properties": {"layer": "shop", "code": "S2", "name": "药店"},
             "geometry": {"type": "Point", "coordinates": [216.4, 39.9]}}
        ]}"#,
    )
    .unwrap();
    let out = gridmap(&data, &["import", bad.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bad file was accepted: {stderr}");
    assert!(stderr.contains("cannot import"), "{stderr}");
    assert!(
        stderr.contains("feature 1 (shop/S2) has an invalid geometry: the point: longitude 216.4 is outside -180..180"),
        "{stderr}"
    );
    assert!(exported_features(&data, &[]).is_empty());
}

#[test]
fn import_then_export_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ok = |args: &[&str], env: &[(&str, &str)]| {
        let out = gridmap(&data, args, env);
        assert!(
            out.status.success(),
            "gridmap {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let subdistrict = fixture("subdistrict.geojson");
    let communities = fixture("communities_utf8.shp");
    let grids = fixture("grids_gbk.shp");
    let out = ok(&["import", subdistrict.to_str().unwrap()], &[]);
    assert!(out.contains("1 created"), "{out}");
    ok(
        &[
            "import",
            communities.to_str().unwrap(),
            "--layer",
            "community",
        ],
        &[],
    );
    // The field mapping from the environment, comma-separated.
    ok(
        &["import", grids.to_str().unwrap(), "--layer", "party_grid"],
        &[(
            "GRIDMAP_FIELDS",
            "code=WGBM,name=WGMC,parent=SQBM,households=HS",
        )],
    );
    let grids = exported_features(&data, &["--layer", "party_grid"]);
    assert_eq!(grids.len(), 2);
    assert_eq!(grids[0]["properties"]["name"], "东华门第一网格");
    assert_eq!(grids[0]["properties"]["households"], 300);
    assert_eq!(exported_features(&data, &[]).len(), 5);
}
