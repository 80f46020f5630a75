//! Tiles over HTTP: gridmap beside martin 1.14 serving the same tiles from PostGIS, in one run.
//!
//!     cargo install martin --version 1.14.0 --locked --no-default-features --features postgres
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench tiles_http
//!
//! Both servers run on this machine with `wrk` (Debian's package) as the client, so the two cores
//! are shared by server, client and (for martin) PostgreSQL — as they would be on a small
//! subdistrict server. The tile set is every tile z10–z18 over the demo (1,786 tiles); each wrk
//! thread walks it from its own starting point.
//! - **cold**: caches off (`gridmap serve --tile-cache-mb 0`, martin `cache_size_mb: 0`), so every
//!   request renders its tile: once with one connection (tiles one after another), once with 16.
//! - **under load**: caches on and warmed by one pass over the set, then 64 connections.
//!
//! martin serves a PostGIS function with its tile signature, `gridmap_tiles(z, x, y)`, whose body
//! is the same ST_AsMVT statement as the `tiles` bench (`common::tile_sql`) over the same data.
//! Missing martin or wrk is an error naming the command that installs it, never a silent skip.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridmap::tiles::TileId;

const BENCH_DB: &str = "gridmap_bench_martin";
const GRIDMAP_PORT: u16 = 18081;
const MARTIN_PORT: u16 = 18082;
const SECONDS: u32 = 10;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects no run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let martin = find_tool(
        "martin",
        "cargo install martin --version 1.14.0 --locked --no-default-features --features postgres",
    );
    let wrk = find_tool("wrk", "apt-get install wrk");
    let work = tempfile::tempdir().expect("a temporary directory");

    // The tile set and the same data in PostGIS, with martin's function over it.
    let (snapshot, all) = common::tile_sql::demo_tiles(18);
    let url = common::database_url();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let (_store, pool) = rt.block_on(common::postgis_with(&url, BENCH_DB, &snapshot));
    rt.block_on(async {
        sqlx::query(&common::tile_sql::tile_function("gridmap_tiles"))
            .execute(&pool)
            .await
            .expect("create gridmap_tiles()")
    });
    let db_url = common::database_in(&url, BENCH_DB);
    println!(
        "{} tiles z10-z18 over the demo; wrk {SECONDS} s per run\n",
        all.len()
    );

    let ours_paths = paths(&all, "/tiles", ".mvt");
    let theirs_paths = paths(&all, "/gridmap_tiles", "");
    let mut rows = Vec::new();
    for (label, cache_on, threads, connections) in [
        ("cold, 1 connection", false, 1, 1),
        ("cold, 16 connections", false, 2, 16),
        ("cached, 64 connections", true, 2, 64),
    ] {
        let ours = {
            let data = work.path().join(format!("gpkg-{cache_on}"));
            let _server = Server::spawn(
                Command::new(env!("CARGO_BIN_EXE_gridmap"))
                    .arg("--data")
                    .arg(&data)
                    .args(["serve", "--listen", &format!("127.0.0.1:{GRIDMAP_PORT}")])
                    .args(["--tile-cache-mb", if cache_on { "256" } else { "0" }])
                    .env_remove("DATABASE_URL")
                    .env("RUST_LOG", "warn"),
                GRIDMAP_PORT,
                "/healthz",
            );
            if cache_on {
                warm(GRIDMAP_PORT, &ours_paths);
            }
            run_wrk(
                &wrk,
                work.path(),
                GRIDMAP_PORT,
                &ours_paths,
                threads,
                connections,
            )
        };
        let theirs = {
            let config = work.path().join(format!("martin-{cache_on}.yaml"));
            std::fs::write(
                &config,
                format!(
                    "listen_addresses: \"127.0.0.1:{MARTIN_PORT}\"\n\
                     cache_size_mb: {}\n\
                     postgres:\n  connection_string: \"{db_url}\"\n  auto_publish: false\n  \
                     functions:\n    gridmap_tiles:\n      schema: public\n      function: gridmap_tiles\n      \
                     minzoom: 0\n      maxzoom: 22\n",
                    if cache_on { 512 } else { 0 }
                ),
            )
            .expect("write martin's config");
            let _server = Server::spawn(
                Command::new(&martin)
                    .arg("--config")
                    .arg(&config)
                    .env("RUST_LOG", "warn"),
                MARTIN_PORT,
                "/health",
            );
            if cache_on {
                warm(MARTIN_PORT, &theirs_paths);
            }
            run_wrk(
                &wrk,
                work.path(),
                MARTIN_PORT,
                &theirs_paths,
                threads,
                connections,
            )
        };
        rows.push((label, ours, theirs));
    }

    println!("| tiles over HTTP | gridmap tiles/s (p99) | martin 1.14 tiles/s (p99) | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    for (label, ours, theirs) in rows {
        println!(
            "| {label} | {:.0} ({}) | {:.0} ({}) | {:.1}× |",
            ours.rate,
            ours.p99,
            theirs.rate,
            theirs.p99,
            ours.rate / theirs.rate
        );
    }
}

/// A tool on PATH or in cargo's bin directory; a missing one stops the bench with the command
/// that installs it.
fn find_tool(name: &str, install: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|p| p.join("bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is needed for this bench: {install}"))
}

/// Request paths: `prefix/z/x/y` followed by `suffix` (gridmap's tiles end in `.mvt`, martin's
/// in nothing).
fn paths(all: &[TileId], prefix: &str, suffix: &str) -> Vec<String> {
    all.iter()
        .map(|t| format!("{prefix}/{}/{}/{}{suffix}", t.z, t.x, t.y))
        .collect()
}

/// A server process for the length of one measurement, killed when dropped.
struct Server(Child);

impl Server {
    fn spawn(cmd: &mut Command, port: u16, ready_path: &str) -> Server {
        let server = Server(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the server"),
        );
        let start = Instant::now();
        while get(port, ready_path) != Some(200) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the server on port {port} did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Status of a plain HTTP/1.1 GET, or None when nothing answers.
fn get(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    std::str::from_utf8(resp.get(9..12)?).ok()?.parse().ok()
}

/// One pass over the tile set, so that the measured run finds every tile cached.
fn warm(port: u16, paths: &[String]) {
    for p in paths {
        let status = get(port, p);
        assert!(
            matches!(status, Some(200 | 204)),
            "{p} on port {port}: {status:?}"
        );
    }
}

struct WrkResult {
    rate: f64,
    p99: String,
}

fn run_wrk(
    wrk: &Path,
    dir: &Path,
    port: u16,
    paths: &[String],
    threads: u32,
    connections: u32,
) -> WrkResult {
    let script = dir.join(format!("paths-{port}.lua"));
    let list: Vec<String> = paths.iter().map(|p| format!("\"{p}\"")).collect();
    std::fs::write(
        &script,
        format!(
            "local paths = {{{}}}\n\
             local i = 0\n\
             function init(args) i = math.random(#paths) end\n\
             function request()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
            list.join(",")
        ),
    )
    .expect("write the wrk script");
    let out = Command::new(wrk)
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{SECONDS}s"), "--latency", "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx"),
        "some requests on port {port} failed:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {prefix} in wrk's output:\n{text}"))
    };
    WrkResult {
        rate: field("Requests/sec:").parse().expect("a rate"),
        p99: field("99%"),
    }
}
