//! A PostgreSQL cluster of the test's own, for the fault tests that stop, start or starve their
//! database: the machine's shared server (and its pg_hba) belongs to every other test and must
//! never be stopped. `initdb` runs as the `postgres` OS user when we are root (PostgreSQL refuses
//! to run as root), with trust authentication, on a free port of 127.0.0.1 and a socket in the
//! cluster's own directory. The cluster is stopped (immediately) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Cluster {
    pub port: u16,
    pub data: PathBuf,
    dir: tempfile::TempDir,
}

/// A PostgreSQL program: from `GRIDMAP_PG_BIN`, else Debian's PostgreSQL 15 (which scripts/test
/// provisions, with PostGIS). Missing is a failure, never a skip.
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("GRIDMAP_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: install postgresql-15 and postgresql-15-postgis-3 (scripts/test does) or \
         set GRIDMAP_PG_BIN",
        path.display()
    );
    path
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A PostgreSQL program run as the `postgres` OS user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Hand `path` to the `postgres` OS user (when we are root), so that the cluster can write there.
pub fn give_to_postgres(path: &Path) {
    if !is_root() {
        return;
    }
    // SAFETY: a NUL-terminated name; the record is read at once, before any other getpw call.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(c"postgres".as_ptr());
        assert!(
            !pw.is_null(),
            "there is no `postgres` OS user to run PostgreSQL as"
        );
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

fn run(mut c: Command) -> Output {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A TCP port nobody listens on now (the OS's pick for port 0).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A new cluster, not started: its data directory in `data_parent` when given (a small tmpfs,
    /// say), else in a temporary directory; its write-ahead log in that temporary directory when
    /// `wal_apart` (so that a full data disk fails statements instead of PANICking the server).
    pub fn init(data_parent: Option<&Path>, wal_apart: bool) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("gridmap-pg-")
            .tempdir()
            .unwrap();
        give_to_postgres(dir.path());
        let parent = data_parent.unwrap_or(dir.path());
        give_to_postgres(parent);
        let data = parent.join("data");
        let mut c = as_postgres(&bin("initdb"));
        c.arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
            .args(["--no-locale", "--no-sync"]);
        if wal_apart {
            c.arg(format!("--waldir={}", dir.path().join("pg_wal").display()));
        }
        run(c);
        Cluster {
            port: free_port(),
            data,
            dir,
        }
    }

    /// Start it and wait until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.dir.path().display()
        );
        let mut c = as_postgres(&bin("pg_ctl"));
        c.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        run(c);
    }

    /// Stop it with `mode` (`fast`: roll back and disconnect every session; `immediate`: quit
    /// at once, as a crash, and recover at the next start).
    pub fn stop(&self, mode: &str) {
        let mut c = as_postgres(&bin("pg_ctl"));
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "-t", "60", "stop"]);
        run(c);
    }

    /// The `postgres` database as the `postgres` user.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Run `sql` with psql; its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let mut c = Command::new("psql");
        c.args([
            "-X",
            "-qAt",
            "-v",
            "ON_ERROR_STOP=1",
            &self.url(),
            "-c",
            sql,
        ]);
        String::from_utf8(run(c).stdout).unwrap()
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Stopped already or never started: pg_ctl says so and nothing happens.
        let _ = as_postgres(&bin("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
