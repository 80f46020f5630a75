//! A process killed in the middle of an import leaves the store as it was, on both stores.
//!
//! The test imports a small file, then starts a large import and kills the process with SIGKILL
//! at several moments while it parses, validates and writes, and checks after each kill that the
//! export is byte-identical to the one before. The first kill is sent the moment the import's
//! write transaction is seen open from outside (tests/common/txprobe.rs), so at least one kill
//! surely lands inside the transaction rather than before or after it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{ScratchDb, write_shops};
use common::txprobe;

/// How the test sees the import's write transaction open.
enum Probe {
    /// The GeoPackage's `-shm` file.
    Gpkg(PathBuf),
    /// The PostgreSQL server's URL and the database.
    Postgis(String, String),
}

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

/// The export holds the big file exactly: every new feature, none of the initial names left.
fn assert_whole_import(export: &str, delay_ms: u64) {
    let new_features = export.matches("号商铺").count();
    assert_eq!(
        (new_features, export.contains("初始")),
        (BIG, false),
        "a kill after {delay_ms} ms left a partial import"
    );
}

/// Start the big import and SIGKILL it as soon as its write transaction is open; panics when none
/// is seen within a minute. On PostGIS, also asks the server how that transaction ended.
fn kill_inside_the_transaction(store_args: &[String], big: &Path, probe: &Probe) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = match probe {
        Probe::Postgis(url, _) => Some(rt.block_on(sqlx::PgPool::connect(url)).unwrap()),
        Probe::Gpkg(_) => None,
    };
    let mut child = gridmap(store_args)
        .arg("import")
        .arg(big)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let until = started + Duration::from_secs(60);
    let xid = loop {
        let open = match (probe, &pool) {
            // The write lock alone could be the brief one taken when the store is opened: the
            // import's transaction is the one that has spilled megabytes into the `-wal` file
            // (emptied when the store was last opened).
            (Probe::Gpkg(shm), _) => (txprobe::sqlite_writer(shm, child.id())
                && std::fs::metadata(shm.with_extension("gpkg-wal")).map_or(0, |m| m.len())
                    > 1 << 20)
                .then_some(0),
            (Probe::Postgis(_, db), Some(pool)) => rt.block_on(txprobe::open_pg_writer(pool, db)),
            (Probe::Postgis(..), None) => unreachable!(),
        };
        if let Some(xid) = open {
            break xid;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before its transaction was seen open"
        );
        assert!(
            Instant::now() < until,
            "no write transaction seen in a minute"
        );
        std::thread::sleep(Duration::from_micros(200));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    eprintln!(
        "killed the import inside its transaction, {:.2?} after it started",
        started.elapsed()
    );
    if let Some(pool) = &pool {
        let outcome = rt.block_on(txprobe::pg_xact_outcome(pool, xid));
        assert_eq!(
            outcome, "aborted",
            "the import's transaction was not rolled back"
        );
    }
}

fn killed_imports_change_nothing(store_args: Vec<String>, probe: Probe) {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.geojson");
    let big = dir.path().join("big.geojson");
    write_shops(&small, 0, 10, "初始");
    write_shops(&big, 0, BIG, "新");
    let status = gridmap(&store_args)
        .arg("import")
        .arg(&small)
        .status()
        .unwrap();
    assert!(status.success());
    let before = export(&store_args);
    assert!(before.contains("初始3号商铺"));

    // A 60,000-feature commit takes long enough that the kill lands before it ends; the store
    // then shows whether it did.
    kill_inside_the_transaction(&store_args, &big, &probe);
    assert!(
        export(&store_args) == before,
        "a kill inside the import's transaction left a change"
    );

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
    killed_imports_change_nothing(
        vec!["--data".into(), dir.path().display().to_string()],
        Probe::Gpkg(dir.path().join("gridmap.gpkg-shm")),
    );
}

#[test]
fn postgis_survives_a_killed_import() {
    let db = ScratchDb::new("gridmap_kill");
    killed_imports_change_nothing(
        vec!["--database-url".into(), db.url.clone()],
        Probe::Postgis(db.admin_url.clone(), db.name.clone()),
    );
}
