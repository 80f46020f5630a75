//! Point lookups over the demo subdistrict: gridmap's snapshot beside PostGIS answering the same
//! question, in one run.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench lookup
//!
//! - `lookup/locate/{demo,city}`: the locate step alone, one point through
//!   `lookup::locate_indices` (subdistrict, community, party grid, commercial grids, compound, the
//!   boundary rule, as feature indices; no allocation), on the demo and on the city-scale set.
//! - `lookup/answer/{demo,city}`: locate plus the contact cards the API serialises
//!   (`lookup::answer_point`).
//! - `lookup/one/gridmap`: one point through `lookup::locate` (the features, as the library's
//!   callers get them).
//! - `lookup/one/postgis`: the same question as one SQL round trip through a pool, the way a
//!   service without a snapshot would ask it (ST_Intersects over the GiST index).
//! - `lookup/batch10k/*`: 10,000 points; gridmap in one thread, PostGIS as one query over arrays.

use std::hint::black_box;

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};

use gridmap::demo::{self, Scale};
use gridmap::model::Layer;
use gridmap::snapshot::Snapshot;
use gridmap::spatial::crs::Crs;

const BENCH_DB: &str = "gridmap_bench_lookup";

const ONE_SQL: &str = "SELECT layer, code FROM features \
    WHERE layer IN ('community', 'party_grid', 'commercial_grid', 'compound') \
      AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) \
    ORDER BY layer, code";

const BATCH_SQL: &str = "SELECT p.i, f.layer, f.code \
    FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i) \
    JOIN features f ON f.layer IN ('community', 'party_grid', 'commercial_grid', 'compound') \
     AND ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))";

/// Random points over the box of the subdistricts.
fn points(snapshot: &Snapshot, n: usize) -> Vec<(f64, f64)> {
    let r = snapshot
        .layer(Layer::Subdistrict)
        .filter_map(|f| geo::BoundingRect::bounding_rect(&f.geometry))
        .reduce(|a, b| {
            geo::Rect::new(
                geo::coord!(x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y)),
                geo::coord!(x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y)),
            )
        })
        .expect("a bounded subdistrict");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|_| {
            (
                rng.gen_range(r.min().x..r.max().x),
                rng.gen_range(r.min().y..r.max().y),
            )
        })
        .collect()
}

/// Per-core in-process lookups on the demo and on the city-scale set.
fn in_process(c: &mut Criterion) {
    for (name, scale) in [("demo", Scale::Demo), ("city", Scale::City)] {
        let features = demo::generate(scale)
            .into_iter()
            .map(|d| d.into_feature(1))
            .collect();
        let snapshot = Snapshot::new(1, features);
        let cells = snapshot.cells();
        let (tests, entries) = cells.test_entries();
        eprintln!(
            "{name}: cell index {:?} cells of {:.1} m, {entries} entries ({:.0}% need a test), {:.1} MB",
            cells.shape(),
            cells.cell_size() * 111_000.0,
            100.0 * tests as f64 / entries.max(1) as f64,
            cells.heap_bytes() as f64 / 1e6
        );
        let pts = points(&snapshot, 1 << 16);
        let mut g = c.benchmark_group("lookup/locate");
        g.throughput(Throughput::Elements(1));
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & (pts.len() - 1);
                let (x, y) = pts[i];
                black_box(gridmap::lookup::locate_indices(
                    &snapshot,
                    geo::coord!(x: x, y: y),
                ))
            })
        });
        g.finish();
        let mut g = c.benchmark_group("lookup/answer");
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & (pts.len() - 1);
                let (x, y) = pts[i];
                black_box(gridmap::lookup::answer_point(&snapshot, Crs::Wgs84, x, y).ok())
            })
        });
        g.finish();
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let url = common::database_url();
    let drafts = demo::generate(Scale::Demo);
    let features = drafts.into_iter().map(|d| d.into_feature(1)).collect();
    let snapshot = Snapshot::new(1, features);
    let (_store, pool) = rt.block_on(common::postgis_with(&url, BENCH_DB, &snapshot));
    let pts = points(&snapshot, 10_000);

    let mut g = c.benchmark_group("lookup/one");
    let mut i = 0;
    g.bench_function("gridmap", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let (x, y) = pts[i];
            black_box(gridmap::lookup::locate(&snapshot, geo::coord!(x: x, y: y)).party_grid);
        })
    });
    g.bench_function("postgis", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % pts.len();
            let (x, y) = pts[i];
            let pool = pool.clone();
            async move {
                let rows: Vec<(String, String)> = sqlx::query_as(ONE_SQL)
                    .bind(x)
                    .bind(y)
                    .fetch_all(&pool)
                    .await
                    .expect("query");
                black_box(rows)
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("lookup/batch10k");
    g.throughput(Throughput::Elements(pts.len() as u64));
    g.sample_size(10);
    g.bench_function("gridmap", |b| {
        b.iter(|| {
            for &(x, y) in &pts {
                black_box(gridmap::lookup::locate(&snapshot, geo::coord!(x: x, y: y)).party_grid);
            }
        })
    });
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    g.bench_function("postgis", |b| {
        b.to_async(&rt).iter(|| {
            let pool = pool.clone();
            let (xs, ys) = (xs.clone(), ys.clone());
            async move {
                let rows: Vec<(i64, String, String)> = sqlx::query_as(BATCH_SQL)
                    .bind(xs)
                    .bind(ys)
                    .fetch_all(&pool)
                    .await
                    .expect("query");
                black_box(rows)
            }
        })
    });
    g.finish();
}

criterion_group!(benches, in_process, bench);
criterion_main!(benches);
