//! For the tests that run gridmap as a process: the binary on a given store, a file of shops
//! to import, and a database of the test's own on the shared PostgreSQL server.

use std::path::Path;
use std::process::Command;

/// The gridmap binary on the store that `store_args` name (`--data DIR` or `--database-url
/// URL`; never the environment's `DATABASE_URL`).
pub fn gridmap(store_args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridmap"));
    c.args(store_args)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1");
    c
}

/// `gridmap STORE_ARGS ARGS`: its stdout, or a failure showing its stderr.
pub fn gridmap_ok(store_args: &[&str], args: &[&str]) -> String {
    let out = gridmap(store_args).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "gridmap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A FeatureCollection of `n` shops with codes `S{i:06}` for `i` from `first`, named
/// `{name}{i}号商铺`, on a grid of points 1e-4° apart.
pub fn write_shops(path: &Path, first: usize, n: usize, name: &str) {
    let features: Vec<String> = (first..first + n)
        .map(|i| {
            let lon = 113.6 + (i % 300) as f64 * 1e-4;
            let lat = 34.7 + (i / 300) as f64 * 1e-4;
            format!(
                r#"{{"type":"Feature","properties":{{"layer":"shop","code":"S{i:06}","name":"{name}{i}号商铺"}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}"#
            )
        })
        .collect();
    let doc = format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    );
    std::fs::write(path, doc).unwrap();
}

/// A new database on the PostgreSQL server at `DATABASE_URL`, dropped (with its sessions) when
/// this is dropped, also when the test fails.
pub struct ScratchDb {
    /// `DATABASE_URL`, for sessions that watch from outside.
    pub admin_url: String,
    pub name: String,
    /// The new database's URL.
    pub url: String,
}

impl ScratchDb {
    pub fn new(prefix: &str) -> ScratchDb {
        let admin_url = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL must name a PostgreSQL server for the PostGIS tests");
        let name = format!("{prefix}_{}", std::process::id());
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let db = ScratchDb {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        };
        db.psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name));
        assert!(
            db.psql(&format!("CREATE DATABASE {}", db.name)),
            "cannot create database {}",
            db.name
        );
        db
    }

    fn psql(&self, sql: &str) -> bool {
        Command::new("psql")
            .args([self.admin_url.as_str(), "-qAtc", sql])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        self.psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}
