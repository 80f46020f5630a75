//! A full disk during an import leaves the store as it was (issue 11 item 4, faults). The store's
//! data sits on a small tmpfs, shrunk to leave a few MB free; an import too large for that fails
//! with an error that says the disk is full (not a panic), the export afterwards is byte for byte
//! the one before, the store still opens and serves, and once there is room it takes an import
//! again. On a GeoPackage, and on PostGIS with a cluster of the test's own whose data directory
//! (not its write-ahead log, whose full disk PANICs PostgreSQL by design) is on the tmpfs.
//!
//! Mounting needs root: without it the tests are skipped with a message, unless `CI` is set, where
//! that is a failure.

mod common;

use std::path::Path;
use std::process::Command;

use common::cli::{gridmap, gridmap_ok, write_shops};
use common::cluster::{Cluster, is_root};
use common::server::Server;

/// Features in the import that fills the disk (some 10 MB in either store).
const BIG: usize = 60_000;

/// A tmpfs mounted on a temporary directory, unmounted when dropped (also when a test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (the test is skipped) when we are not root and not in CI.
    fn mount(size_mb: u64) -> Option<Tmpfs> {
        if !is_root() {
            let why = "mounting a tmpfs needs root";
            assert!(
                std::env::var_os("CI").is_none(),
                "{why}, and CI is set: run the tests as root"
            );
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("gridmap-full-")
            .tempdir()
            .unwrap();
        mount(&[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size_mb}m,mode=0755"),
            "tmpfs",
            dir.path().to_str().unwrap(),
        ]);
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Resize to what is in use now plus `free` bytes, so that the next import fills it
    /// whatever the size of what came before.
    fn leave_free(&self, free: u64) {
        let path = std::ffi::CString::new(self.path().to_str().unwrap()).unwrap();
        // SAFETY: a valid path and a zeroed struct for statvfs to fill.
        let used = unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            assert_eq!(libc::statvfs(path.as_ptr(), &mut st), 0);
            (st.f_blocks - st.f_bfree) * st.f_frsize
        };
        let size = format!("remount,size={}", used + free);
        mount(&["-o", &size, self.path().to_str().unwrap()]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let dir = self.path().to_str().unwrap().to_string();
        let done = Command::new("umount").arg(&dir).status();
        if !done.is_ok_and(|s| s.success()) {
            // Still busy (a process that outlived a failed test): detach it now, freed later.
            let _ = Command::new("umount").args(["-l", &dir]).status();
        }
    }
}

fn mount(args: &[&str]) {
    let out = Command::new("mount").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mount {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fill the disk under `store_args` with an import and check that nothing changed; `free` is
/// what to leave free before it, `disk_full` the words the error must contain.
fn full_disk_changes_nothing(disk: &Tmpfs, store_args: &[&str], free: u64, disk_full: &str) {
    let files = tempfile::tempdir().unwrap();
    let path = |name: &str| files.path().join(name).to_str().unwrap().to_string();
    write_shops(Path::new(&path("small.geojson")), 0, 10, "初始");
    write_shops(Path::new(&path("big.geojson")), 100, BIG, "新");
    write_shops(Path::new(&path("later.geojson")), 10, 1, "后来");
    gridmap_ok(store_args, &["import", &path("small.geojson")]);
    let before = gridmap_ok(store_args, &["export"]);
    assert_eq!(before.matches("号商铺").count(), 10);

    disk.leave_free(free);
    let out = gridmap(store_args)
        .args(["import", &path("big.geojson")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the import fitted: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(disk_full),
        "the error does not say the disk is full: {stderr}"
    );
    eprintln!("the refused import said: {}", stderr.trim());

    // The store is as it was, and opens: the CLI exports it, the server serves it.
    let after = gridmap_ok(store_args, &["export"]);
    assert!(after == before, "the export changed after a full disk");
    {
        let server = Server::start_on(store_args, &[]);
        let (status, body) = server.get("/healthz");
        assert_eq!(status, 200, "{body}");
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["features"], 10, "{body}");
    }
    // With room again, it takes an import.
    disk.leave_free(256 << 20);
    gridmap_ok(store_args, &["import", &path("later.geojson")]);
    let now = gridmap_ok(store_args, &["export"]);
    assert_eq!(now.matches("号商铺").count(), 11);
}

#[test]
fn geopackage_on_a_full_disk_keeps_its_store() {
    let Some(disk) = Tmpfs::mount(64) else {
        return;
    };
    let data = disk.path().join("data");
    // SQLite's own words for ENOSPC ("database or disk is full").
    full_disk_changes_nothing(&disk, &["--data", data.to_str().unwrap()], 2 << 20, "full");
}

#[test]
fn postgis_on_a_full_disk_keeps_its_store() {
    let Some(disk) = Tmpfs::mount(256) else {
        return;
    };
    // Dropped before the tmpfs (declared after it), so the cluster stops before the unmount.
    let pg = Cluster::init(Some(disk.path()), true);
    pg.start();
    let url = pg.url();
    full_disk_changes_nothing(
        &disk,
        &["--database-url", &url],
        4 << 20,
        "No space left on device",
    );
    pg.stop("fast");
}
