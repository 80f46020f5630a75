//! A process killed in the middle of an import leaves the store as it was, on both stores.
//!
//! The test imports a small file, then starts a large import and kills the process with SIGKILL
//! at several moments while it parses, validates and writes, and checks after each kill that the
//! export is byte-identical to the one before.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIG: usize = 60_000;

fn gridmap(store_args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridmap"));
    c.args(store_args)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1");
    c
}

fn export(store_args: &[String]) -> String {
    let out = gridmap(store_args).arg("export").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_points(path: &Path, n: usize, name: &str) {
    let features: Vec<String> = (0..n)
        .map(|i| {
            let lon = 113.6 + (i % 300) as f64 * 1e-4;
            let lat = 34.7 + (i / 300) as f64 * 1e-4;
            format!(
                r#"{{"type":"Feature","properties":{{"layer":"shop","code":"S{i:06}","name":"{name}{i}号商铺"}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}"#
            )
        })
        .collect();
    std::fs::write(
        path,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ),
    )
    .unwrap();
}

/// The export holds the big file exactly: every new feature, none of the initial names left.
fn assert_whole_import(export: &str, delay_ms: u64) {
    let new_features = export.matches("号商铺").count();
    assert_eq!(
        (new_features, export.contains("初始")),
        (BIG, false),
        "a kill after {delay_ms} ms left a partial import"
    );
}

fn killed_imports_change_nothing(store_args: Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.geojson");
    let big = dir.path().join("big.geojson");
    write_points(&small, 10, "初始");
    write_points(&big, BIG, "新");
    let status = gridmap(&store_args)
        .arg("import")
        .arg(&small)
        .status()
        .unwrap();
    assert!(status.success());
    let before = export(&store_args);
    assert!(before.contains("初始3号商铺"));

    let mut completed = false;
    for delay_ms in [50u64, 200, 500, 900, 1400, 2000, 3000] {
        let mut child = gridmap(&store_args)
            .arg("import")
            .arg(&big)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_some() {
            // The import finished before the kill: later delays would only repeat this.
            completed = true;
            break;
        }
        child.kill().unwrap(); // SIGKILL: no cleanup runs
        child.wait().unwrap();
        // All or nothing: the kill may land after the commit (while the process is still
        // exiting), and then the whole file is in; never a part of it.
        let now = export(&store_args);
        if now != before {
            assert_whole_import(&now, delay_ms);
            completed = true;
            break;
        }
    }
    if !completed {
        // And the same import, left alone, does go through.
        let status = gridmap(&store_args)
            .arg("import")
            .arg(&big)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let after = export(&store_args);
    assert_whole_import(&after, 0);
}

#[test]
fn geopackage_survives_a_killed_import() {
    let dir = tempfile::tempdir().unwrap();
    killed_imports_change_nothing(vec!["--data".into(), dir.path().display().to_string()]);
}

#[test]
fn postgis_survives_a_killed_import() {
    let url = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must name a PostgreSQL server for the PostGIS tests");
    let db = format!("gridmap_kill_{}", std::process::id());
    let psql = |sql: &str| {
        let ok = Command::new("psql")
            .args([url.as_str(), "-qAtc", sql])
            .status()
            .unwrap();
        assert!(ok.success(), "psql {sql}");
    };
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {db}"));
    let (base, _) = url.rsplit_once('/').unwrap();
    killed_imports_change_nothing(vec!["--database-url".into(), format!("{base}/{db}")]);
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}
