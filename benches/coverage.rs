//! The whole coverage report beside PostGIS computing the same gaps, overlaps and outside parts,
//! in one run, for the demo subdistrict and for the city-scale set, each drawn clean (shared
//! vertices) and messy (`demo generate --messy`: every polygon digitised on its own).
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench coverage
//!
//! gridmap: `coverage::report` over a snapshot — per community the union, gaps, overlaps,
//! outside parts, widths and neighbours, the subdistrict tiling, every point placed in a grid,
//! grid balance and data faults (rayon over the cores).
//! PostGIS: `tests/sql/coverage_reference.sql` — per community ST_Union of its grids,
//! ST_Difference for the gap, pairwise ST_Intersection for overlaps, ST_Difference for outside
//! parts, `::geography` areas — one query. Only the area layers are loaded into PostGIS (the
//! query reads no points), which favours PostGIS. Prints the median times and the ratio.

use std::time::{Duration, Instant};

mod common;

use gridmap::coverage::{self, CoverageOptions};
use gridmap::demo::{self, Scale};
use gridmap::model::{ChangeSet, Feature, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::store::{self, StoreConfig};

const BENCH_DB: &str = "gridmap_bench_coverage";
const REFERENCE: &str = include_str!("../tests/sql/coverage_reference.sql");

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

/// A fresh database holding the area layers of `features`.
async fn postgis(url: &str, features: &[Feature]) -> anyhow::Result<sqlx::PgPool> {
    use sqlx::Executor;
    let db_url = common::fresh_database(url, BENCH_DB).await;
    let store = store::open(&StoreConfig::Postgis {
        url: db_url.clone(),
    })
    .await?;
    let areal = features.iter().filter(|f| {
        matches!(
            f.layer,
            Layer::Subdistrict | Layer::Community | Layer::PartyGrid | Layer::CommercialGrid
        )
    });
    let drafts = areal.map(|f| f.clone().into());
    store
        .commit(ChangeSet::upserts("bench", "bench", drafts, None))
        .await?;
    let pool = sqlx::PgPool::connect(&db_url).await?;
    pool.execute("ANALYZE features").await?;
    Ok(pool)
}

fn run(
    rt: &tokio::runtime::Runtime,
    url: &str,
    scale: Scale,
    messy: bool,
    runs: usize,
) -> anyhow::Result<()> {
    let drafts = if messy {
        demo::generate_messy(scale, 1).0
    } else {
        demo::generate(scale)
    };
    let features: Vec<Feature> = drafts.into_iter().map(|d| d.into_feature(1)).collect();
    let snapshot = Snapshot::new(1, features);
    let options = CoverageOptions::default();
    let report = coverage::report(&snapshot, &options)?;
    let ours = time(runs, || coverage::report(&snapshot, &options));
    let pool = rt.block_on(postgis(url, snapshot.features()))?;
    let theirs = time(runs.min(3), || {
        rt.block_on(sqlx::query(REFERENCE).fetch_all(&pool))
            .map(|rows| rows.len())
    });
    println!(
        "coverage/{scale:?}{}: {} communities, {} party grids, {} features — gridmap {:.1} ms (whole report), PostGIS {:.1} ms (gaps/overlaps/outside only); PostGIS/gridmap = {:.1}×",
        if messy { "/messy" } else { "" },
        report.communities.len(),
        report.summary.party_grids,
        snapshot.features().len(),
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    rt.block_on(pool.close());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not and wants no work done.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rt = tokio::runtime::Runtime::new()?;
    // `GRIDMAP_BENCH_ONLY=demo/messy` (or demo, city, city/messy) runs one of the four.
    let only = std::env::var("GRIDMAP_BENCH_ONLY").unwrap_or_default();
    for (scale, messy, runs) in [
        (Scale::Demo, false, 11),
        (Scale::Demo, true, 11),
        (Scale::City, false, 3),
        (Scale::City, true, 3),
    ] {
        let name = format!("{scale:?}{}", if messy { "/messy" } else { "" }).to_lowercase();
        // `GRIDMAP_BENCH_RUNS=N` times gridmap's report N times (for a profiler).
        let runs = std::env::var("GRIDMAP_BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(runs);
        if only.is_empty() || name == only {
            run(&rt, &url, scale, messy, runs)?;
        }
    }
    Ok(())
}
