//! Import throughput and snapshot load, GeoPackage beside PostGIS in one run.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench store
//!
//! Not criterion: each measurement is seconds long and the memory figure needs a fresh process, so
//! this is a bench command that repeats each step and prints a table. It
//! 1. generates the city-scale set in memory and writes 100,000 of its features as one GeoJSON file;
//! 2. imports that file (parse, validate, one transaction) into a new GeoPackage and a new PostGIS
//!    database, three times each, and takes the median;
//! 3. commits the whole city set into each store, then loads the snapshot in a child process that
//!    reports the load time and its resident memory (VmRSS after load, VmHWM peak);
//! 4. in that child, commits one edit and makes the next snapshot both ways: reading the whole
//!    store again, and replaying the new revision onto the old snapshot (`views::catch_up`, what
//!    `serve` does after a commit).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use gridmap::demo::{self, Scale};
use gridmap::io::{self, ImportOptions};
use gridmap::model::{ChangeSet, FeatureDraft, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::store::{self, Store, StoreConfig};

/// The same allocator as the `gridmap` binary, so the memory figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const IMPORT_FEATURES: usize = 100_000;
const ROUNDS: usize = 3;
const BENCH_DB: &str = "gridmap_bench";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new()?;
    // Child mode: load one store's snapshot and report time and memory.
    if let Some(i) = args.iter().position(|a| a == "--load-snapshot") {
        let target = args.get(i + 1).cloned().unwrap_or_default();
        return rt.block_on(load_child(&target));
    }
    if args.iter().any(|a| a == "--list") {
        return Ok(()); // `cargo bench -- --list` and `cargo test --benches` probe with this.
    }
    rt.block_on(run(&args[0]))
}

async fn run(exe: &str) -> anyhow::Result<()> {
    let pg_url = common::database_url();
    let t = Instant::now();
    let city = demo::generate(Scale::City);
    println!(
        "city-scale set: {} features, generated in {:.2} s",
        city.len(),
        t.elapsed().as_secs_f64()
    );

    let work = tempfile::tempdir()?;
    let file = work.path().join("import.geojson");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        io::geojson::write_collection(
            city.iter()
                .take(IMPORT_FEATURES)
                .map(geojson::Feature::from),
            &mut out,
        )?;
    }
    let bytes = std::fs::metadata(&file)?.len();
    let n = IMPORT_FEATURES.min(city.len());
    println!("import file: {n} features, {:.1} MB\n", bytes as f64 / 1e6);

    println!("| step | GeoPackage | PostGIS |");
    println!("| --- | --- | --- |");
    let mut gpkg_times = Vec::new();
    let mut pg_times = Vec::new();
    for round in 0..ROUNDS {
        let dir = work.path().join(format!("gpkg{round}"));
        let store = store::open(&StoreConfig::Gpkg { data_dir: dir }).await?;
        gpkg_times.push(import(store.as_ref(), &file).await?);
        let store = fresh_postgis(&pg_url).await?;
        pg_times.push(import(store.as_ref(), &file).await?);
    }
    let (g, p) = (median(gpkg_times), median(pg_times));
    println!(
        "| import {n} features (median of {ROUNDS}) | {:.2} s ({:.0} features/s) | {:.2} s ({:.0} features/s) |",
        g.as_secs_f64(),
        n as f64 / g.as_secs_f64(),
        p.as_secs_f64(),
        n as f64 / p.as_secs_f64()
    );

    // The whole city in each store, committed directly (the import path was measured above).
    let city_dir = work.path().join("city");
    let gpkg = store::open(&StoreConfig::Gpkg {
        data_dir: city_dir.clone(),
    })
    .await?;
    let pg = fresh_postgis(&pg_url).await?;
    let count = city.len();
    let g = commit_all(gpkg.as_ref(), city.clone()).await?;
    let p = commit_all(pg.as_ref(), city).await?;
    println!(
        "| commit the city set ({count} features) | {:.2} s | {:.2} s |",
        g.as_secs_f64(),
        p.as_secs_f64()
    );
    drop((gpkg, pg));

    let g = child_load(exe, &city_dir.display().to_string())?;
    let p = child_load(exe, &common::database_in(&pg_url, BENCH_DB))?;
    println!("| load the city snapshot | {} | {} |", g.0, p.0);
    println!("| resident memory after load (peak) | {} | {} |", g.1, p.1);
    println!(
        "| new snapshot after one edit: store read again vs revisions replayed | {} | {} |",
        g.2, p.2
    );
    Ok(())
}

async fn import(store: &dyn Store, file: &Path) -> anyhow::Result<Duration> {
    let snapshot = Snapshot::load(store).await?;
    let opts = ImportOptions {
        author: "bench".into(),
        message: "bench".into(),
        ..Default::default()
    };
    let t = Instant::now();
    io::import_file(store, &snapshot, file, &opts).await?;
    Ok(t.elapsed())
}

async fn commit_all(
    store: &dyn Store,
    drafts: Vec<gridmap::model::FeatureDraft>,
) -> anyhow::Result<Duration> {
    let changes = ChangeSet::upserts("bench", "bench", drafts, None);
    let t = Instant::now();
    store.commit(changes).await?;
    Ok(t.elapsed())
}

/// Drop and recreate the bench database, and open the PostGIS store on it.
async fn fresh_postgis(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = common::fresh_database(url, BENCH_DB).await;
    Ok(store::open(&StoreConfig::Postgis { url }).await?)
}

/// Run this binary again to load one store in a fresh process; returns (time, memory) texts.
fn child_load(exe: &str, target: &str) -> anyhow::Result<(String, String, String)> {
    let out = Command::new(exe)
        .args(["--load-snapshot", target])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "snapshot child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    let mut parts = text.trim().splitn(3, '\t');
    let mut next = || parts.next().unwrap_or_default().to_string();
    Ok((next(), next(), next()))
}

async fn load_child(target: &str) -> anyhow::Result<()> {
    let config = if target.starts_with("postgres") {
        StoreConfig::Postgis { url: target.into() }
    } else {
        StoreConfig::Gpkg {
            data_dir: target.into(),
        }
    };
    let store = store::open(&config).await?;
    let before = rss_kib("VmRSS");
    let t = Instant::now();
    let snapshot = Snapshot::load(store.as_ref()).await?;
    // As `gridmap serve` does after its load (see release_free_memory in main.rs).
    gridmap::snapshot::release_free_memory();
    let elapsed = t.elapsed();
    if std::env::var_os("GRIDMAP_BENCH_DETAIL").is_some() {
        let t = Instant::now();
        let features = store.load().await?;
        let read = t.elapsed();
        let t = Instant::now();
        let again = Snapshot::new(0, features);
        eprintln!(
            "store.load {:.2} s, Snapshot::new {:.2} s ({} features)",
            read.as_secs_f64(),
            t.elapsed().as_secs_f64(),
            again.features().len()
        );
    }
    let after = rss_kib("VmRSS");
    let peak = rss_kib("VmHWM");
    // After one edit (a party grid renamed), the two ways to the new snapshot: read the whole
    // store again, or replay the new revision onto the old snapshot (what `serve` does).
    let grid = snapshot
        .layer(Layer::PartyGrid)
        .next()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no party grid"))?;
    let version = grid.version;
    let mut draft = FeatureDraft::from(grid);
    draft.name.push_str("（改）");
    store
        .commit(ChangeSet::upserts(
            "bench",
            "rename",
            vec![draft],
            Some(version),
        ))
        .await?;
    let current = std::sync::Arc::new(snapshot);
    let t = Instant::now();
    let reloaded = Snapshot::load(store.as_ref()).await?;
    let reload = t.elapsed();
    drop(reloaded);
    let t = Instant::now();
    let patched = gridmap::views::catch_up(store.as_ref(), current.clone())
        .await?
        .ok_or_else(|| anyhow::anyhow!("catch_up declined one revision"))?;
    let patch = t.elapsed();
    assert_eq!(patched.features().len(), current.features().len());
    let snapshot = current;
    println!(
        "{:.2} s ({} features)\t{:.0} MB ({:.0} MB; {:.0} MB before load)\t{:.2} s reload, {:.2} s catch-up",
        elapsed.as_secs_f64(),
        snapshot.features().len(),
        after as f64 / 1024.0,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        reload.as_secs_f64(),
        patch.as_secs_f64()
    );
    Ok(())
}

/// A field of /proc/self/status in KiB (0 where /proc is missing).
fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
