//! Is a process inside a write transaction right now? Seen from outside, so that a kill test can
//! show that one of its kills landed inside a transaction instead of hoping so.
//!
//! - GeoPackage (SQLite in WAL mode): a writer holds a POSIX write lock on byte 120 of the
//!   `-shm` file (`WAL_WRITE_LOCK`) from `BEGIN IMMEDIATE` until its commit or rollback; the
//!   kernel lists it in `/proc/locks` with the holder's pid.
//! - PostGIS: a session that has written in its open transaction has a transaction id
//!   (`pg_stat_activity.backend_xid`); after the kill, `pg_xact_status` says whether that
//!   transaction committed or was aborted.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Whether `pid` holds SQLite's WAL write lock on the GeoPackage whose `-shm` file is `shm`.
pub fn sqlite_writer(shm: &Path, pid: u32) -> bool {
    let Ok(meta) = std::fs::metadata(shm) else {
        return false;
    };
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    locks.lines().any(|line| {
        // "3: POSIX  ADVISORY  WRITE 1234 fd:00:5678 120 127"; waiters have "->" after the
        // number and hold nothing.
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[1] != "POSIX" || f[3] != "WRITE" {
            return false;
        }
        let inode = f[5].rsplit(':').next().and_then(|i| i.parse::<u64>().ok());
        let start = f[6].parse::<u64>().unwrap_or(u64::MAX);
        // The kernel merges a process's adjacent locks of one kind (the checkpoint lock on
        // byte 121, say), so the range may reach past 120.
        let end = f[7].parse::<u64>().unwrap_or(u64::MAX); // "EOF"
        f[4] == pid.to_string() && inode == Some(meta.ino()) && start <= 120 && 120 <= end
    })
}

/// The 64-bit id of an open transaction in `database` that has written gridmap's tables (a
/// commit: its statements name `features` or `gridmap_…`; not a migration), if there is one.
pub async fn open_pg_writer(pool: &sqlx::PgPool, database: &str) -> Option<i64> {
    // backend_xid is 32 bits; the epoch comes from the current snapshot (a wrap between the two
    // reads is four billion transactions away). A session gets an id at its first write.
    sqlx::query_scalar(
        "SELECT ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint >> 32) << 32) \
                + backend_xid::text::bigint \
         FROM pg_stat_activity \
         WHERE datname = $1 AND backend_xid IS NOT NULL AND pid <> pg_backend_pid() \
           AND (query LIKE '%features%' OR query LIKE '%gridmap\\_%') \
         LIMIT 1",
    )
    .bind(database)
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// `committed`, `aborted` or `in progress`, waiting (up to 20 s) for the server to notice that
/// the client of an open transaction died.
pub async fn pg_xact_outcome(pool: &sqlx::PgPool, xid: i64) -> String {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status: Option<String> = sqlx::query_scalar("SELECT pg_xact_status($1::text::xid8)")
            .bind(xid.to_string())
            .fetch_one(pool)
            .await
            .unwrap();
        let status = status.unwrap_or_else(|| "unknown".into());
        if status != "in progress" || std::time::Instant::now() > until {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
