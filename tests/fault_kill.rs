//! `kill -9` under concurrent edit load loses no acknowledged edit (issue 11 item 4, faults), on
//! both stores.
//!
//! Four clients each rename their own shop of the demo over and over (`PUT` with `If-Match`, a
//! unique change message per edit) while the test watches the server from outside for an open
//! write transaction (tests/common/txprobe.rs) and sends SIGKILL the moment it sees one. After a
//! restart, every acknowledged edit (a 200 received) is in the history at the version it was
//! given, each shop's row agrees with its last revision (an interrupted commit left no half), and
//! an edit that was in flight is there whole or not at all.
//!
//! Honest about the kill: a round counts only when it is shown that the kill landed inside a
//! transaction that was then rolled back. On PostGIS, the transaction id seen just before the
//! kill is `aborted` afterwards. On a GeoPackage, the test reads the last committed revision id,
//! then sees the WAL write lock held, then kills; if the restarted store's last revision id is
//! still the one read, the lock's holder (an edit, which always writes a revision) never
//! committed. Rounds repeat (the store carrying on) until one counts, at most `MAX_ROUNDS`.
//! Edits committed but not yet acknowledged (the answer waits for the new snapshot) are common
//! at the kill; they must be there whole, and only the edit in flight may be.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::cli::{ScratchDb, gridmap_ok};
use common::server::{Server, request};
use common::txprobe;
use serde_json::Value;

const WORKERS: usize = 4;
const MAX_ROUNDS: usize = 8;
/// Acknowledged edits (all clients) to wait for in a round before watching for a transaction,
/// and the longest wait for them.
const ACKS_FIRST: usize = 8;
const ACKS_WITHIN: Duration = Duration::from_secs(20);

/// The store under test: a GeoPackage (its `-shm` file), or a database on the PostgreSQL
/// server at `url`.
enum Target {
    Gpkg(PathBuf),
    Postgis { url: String, database: String },
}

/// How the test sees an open write transaction in the server: for a GeoPackage, also a
/// connection to the file (that only reads).
enum Probe {
    Gpkg {
        shm: PathBuf,
        file: sqlx::SqlitePool,
    },
    Postgis {
        pool: sqlx::PgPool,
        database: String,
    },
}

/// What the test saw just before a kill.
#[derive(Clone, Copy)]
enum Seen {
    /// The WAL write lock held, after the last committed revision id was read.
    Gpkg { last_revision: i64 },
    /// The id of a transaction that had written.
    Postgis { xid: i64 },
}

/// The GeoPackage's last committed revision id (its data version).
async fn last_revision(file: &sqlx::SqlitePool) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM gridmap_revisions")
        .fetch_one(file)
        .await
        .unwrap()
}

/// One client's edits in one round.
#[derive(Default)]
struct Edits {
    /// The shop's version when the round began.
    start: i64,
    /// Acknowledged: (message, version given).
    acked: Vec<(String, i64)>,
    /// The edit sent when the server died (it may or may not have committed).
    in_flight: Option<String>,
    /// An answer other than 200 before the kill.
    failure: Option<String>,
}

fn shop(w: usize) -> String {
    format!("419901001001SP{:04}", w + 1)
}

/// Rename `code` again and again until the server stops answering; counts acknowledgements in
/// `acks`.
fn edit_until_killed(
    addr: String,
    auth: String,
    (code, round, w): (String, usize, usize),
    acks: Arc<AtomicUsize>,
) -> Edits {
    let get = request(
        &addr,
        "GET",
        &format!("/v1/features/shop/{code}"),
        &[],
        None,
        Duration::from_secs(30),
    )
    .unwrap();
    let mut feature = get.json();
    let mut version: i64 = get
        .header("etag")
        .unwrap()
        .trim_matches('"')
        .parse()
        .unwrap();
    let mut edits = Edits {
        start: version,
        ..Edits::default()
    };
    for n in 0.. {
        let message = format!("kill-r{round}-w{w}-n{n}");
        feature["properties"]["name"] = Value::from(message.as_str());
        let if_match = format!("\"{version}\"");
        let answer = request(
            &addr,
            "PUT",
            &format!("/v1/features/shop/{code}?message={message}"),
            &[
                ("Authorization", &auth),
                ("If-Match", &if_match),
                ("Content-Type", "application/geo+json"),
            ],
            Some(&feature.to_string()),
            Duration::from_secs(60),
        );
        match answer {
            Ok(r) if r.status == 200 => {
                version = r.header("etag").unwrap().trim_matches('"').parse().unwrap();
                edits.acked.push((message, version));
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Ok(r) => {
                edits.failure = Some(format!("{}: {}", r.status, r.text()));
                break;
            }
            Err(_) => {
                edits.in_flight = Some(message);
                break;
            }
        }
    }
    edits
}

/// Watch for an open write transaction and SIGKILL the server the moment one is seen. Kills it
/// anyway after 10 s without one (the round then does not count).
fn kill_inside_a_transaction(
    server: &mut Server,
    probe: &Probe,
    rt: &tokio::runtime::Runtime,
) -> Option<Seen> {
    let pid = server.child.id();
    let until = Instant::now() + Duration::from_secs(10);
    let mut seen = None;
    while Instant::now() < until {
        seen = match probe {
            Probe::Gpkg { shm, file } => {
                // In this order: a commit by the lock's holder would come after the read.
                let last_revision = rt.block_on(last_revision(file));
                txprobe::sqlite_writer(shm, pid).then_some(Seen::Gpkg { last_revision })
            }
            Probe::Postgis { pool, database } => rt
                .block_on(txprobe::open_pg_writer(pool, database))
                .map(|xid| Seen::Postgis { xid }),
        };
        if seen.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    server.child.wait().unwrap();
    seen
}

/// Check what a killed round left, on the restarted server, against every acknowledgement so
/// far (`acked`: per client, all rounds).
fn check(server: &Server, acked: &[Vec<(String, i64)>], round: &[Edits]) {
    for (w, edits) in round.iter().enumerate() {
        let code = shop(w);
        let history = server
            .call(
                "GET",
                &format!("/v1/features/shop/{code}/history"),
                &[],
                None,
            )
            .unwrap()
            .json();
        let history: Vec<(String, i64)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let message = h["message"].as_str().unwrap().to_string();
                (message, h["version"].as_i64().unwrap())
            })
            .collect();
        for (message, version) in &acked[w] {
            assert!(
                history.contains(&(message.clone(), *version)),
                "{code}: the acknowledged edit {message} (version {version}) is lost: {history:?}"
            );
        }
        let feature = server
            .call("GET", &format!("/v1/features/shop/{code}"), &[], None)
            .unwrap();
        let version: i64 = feature
            .header("etag")
            .unwrap()
            .trim_matches('"')
            .parse()
            .unwrap();
        let name = feature.json()["properties"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let (last_message, last_version) = history.last().unwrap().clone();
        assert_eq!(
            version, last_version,
            "{code}: the row and its last revision disagree"
        );
        if last_message.starts_with("kill-") {
            assert_eq!(
                name, last_message,
                "{code}: the row and its last revision disagree"
            );
        }
        let last_acked = edits.acked.last().map_or(edits.start, |a| a.1);
        if version != last_acked {
            assert_eq!(
                (version, Some(&last_message)),
                (last_acked + 1, edits.in_flight.as_ref()),
                "{code}: more than the in-flight edit after the last acknowledged one"
            );
        }
    }
}

fn kill_under_load(store_args: &[&str], target: Target) {
    // The CLI makes the store (the GeoPackage file the probe opens) and a planner's token.
    let token = gridmap_ok(
        store_args,
        &["token", "create", "--role", "planner", "--name", "fault"],
    );
    let auth = format!("Bearer {}", token.lines().last().unwrap().trim());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let probe = match target {
        Target::Gpkg(shm) => Probe::Gpkg {
            file: rt
                .block_on(sqlx::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new().filename(shm.with_extension("gpkg")),
                ))
                .unwrap(),
            shm,
        },
        Target::Postgis { url, database } => Probe::Postgis {
            pool: rt.block_on(sqlx::PgPool::connect(&url)).unwrap(),
            database,
        },
    };
    let mut acked: Vec<Vec<(String, i64)>> = vec![Vec::new(); WORKERS];
    let mut server = Server::start_on(store_args, &["--poll-seconds", "0"]);
    for round in 1..=MAX_ROUNDS {
        let acks = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (addr, auth, acks) = (server.addr.clone(), auth.clone(), acks.clone());
                std::thread::spawn(move || edit_until_killed(addr, auth, (shop(w), round, w), acks))
            })
            .collect();
        // Let edits be acknowledged before watching for a transaction (the server's startup
        // transactions are long over by then, so the one seen is an edit's).
        let until = Instant::now() + ACKS_WITHIN;
        while acks.load(Ordering::SeqCst) < ACKS_FIRST && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        let seen = kill_inside_a_transaction(&mut server, &probe, &rt);
        let edits: Vec<Edits> = workers.into_iter().map(|t| t.join().unwrap()).collect();
        for (w, e) in edits.iter().enumerate() {
            assert!(e.failure.is_none(), "client {w}: {:?}", e.failure);
            acked[w].extend(e.acked.iter().cloned());
        }
        let done: usize = edits.iter().map(|e| e.acked.len()).sum();
        server = Server::start_on(store_args, &["--poll-seconds", "0"]);
        check(&server, &acked, &edits);
        let counted = match (&probe, seen) {
            (_, None) => false,
            (Probe::Postgis { pool, .. }, Some(Seen::Postgis { xid })) => {
                rt.block_on(txprobe::pg_xact_outcome(pool, xid)) == "aborted"
            }
            (Probe::Gpkg { file, .. }, Some(Seen::Gpkg { last_revision: r })) => {
                rt.block_on(last_revision(file)) == r
            }
            _ => unreachable!(),
        };
        eprintln!(
            "round {round}: {done} edits acknowledged; a transaction was open at the kill: {}; \
             the kill landed inside it: {counted}",
            seen.is_some()
        );
        if counted {
            return;
        }
    }
    panic!("no kill in {MAX_ROUNDS} rounds landed inside a transaction");
}

#[test]
fn geopackage_loses_no_acknowledged_edit() {
    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("gridmap.gpkg-shm");
    kill_under_load(&["--data", dir.path().to_str().unwrap()], Target::Gpkg(shm));
}

#[test]
fn postgis_loses_no_acknowledged_edit() {
    let db = ScratchDb::new("gridmap_fault_kill");
    kill_under_load(
        &["--database-url", &db.url],
        Target::Postgis {
            url: db.admin_url.clone(),
            database: db.name.clone(),
        },
    );
}
