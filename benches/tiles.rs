//! Every vector tile z10–z18 over the demo subdistrict, cold: gridmap rendering from the snapshot
//! beside PostGIS making the same tiles with ST_AsMVT/ST_AsMVTGeom/ST_TileEnvelope (the way
//! martin and pg_tileserv make them), in one run. Prints tiles/s for both, the ratio, and the
//! total bytes of each.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench tiles
//!
//! Both sides make each tile once, one after another on one thread (gridmap) or one connection
//! (PostGIS), with no cache: gridmap calls `tiles::render` directly, which never touches the tile
//! cache. PostGIS gets the same layers, the same minimum zooms, the same properties, extent 4096
//! and buffer 64; it also includes features that only reach into the buffer, which gridmap leaves
//! out (a tile holds exactly the features that meet it), so part of any size difference is that.
//! PostGIS runs with `plan_cache_mode = force_generic_plan` (see below), its fastest setting here.
//! `TILES_MAX_ZOOM` lowers the deepest zoom for a quick run.

mod common;

use std::hint::black_box;
use std::time::Instant;

use gridmap::tiles;

const BENCH_DB: &str = "gridmap_bench_tiles";

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects no run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let max_zoom: u8 = std::env::var("TILES_MAX_ZOOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(18);
    let (snapshot, all) = common::tile_sql::demo_tiles(max_zoom);
    for z in 10..=max_zoom {
        let n = all.iter().filter(|t| t.z == z).count();
        println!("z{z}: {n} tiles");
    }
    println!(
        "all tiles z10-z{max_zoom} over the demo bounds: {}",
        all.len()
    );

    let start = Instant::now();
    let mut ours_bytes = 0usize;
    for &t in &all {
        ours_bytes += black_box(tiles::render(&snapshot, t)).len();
    }
    let ours = start.elapsed().as_secs_f64();

    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let (_store, pool) = rt.block_on(common::postgis_with(
        &common::database_url(),
        BENCH_DB,
        &snapshot,
    ));
    let sql = common::tile_sql::tile_sql("$1", "$2", "$3");
    let (theirs, theirs_bytes) = rt.block_on(async {
        let mut conn = pool.acquire().await.expect("a connection");
        // PostGIS's best case: with custom plans (the default for the first five executions
        // and whenever they look cheaper) planning this ten-subquery statement costs ~100 ms
        // per tile; one generic plan reused for every tile costs nothing after the first.
        sqlx::query("SET plan_cache_mode = force_generic_plan")
            .execute(&mut *conn)
            .await
            .expect("set plan_cache_mode");
        let start = Instant::now();
        let mut bytes = 0usize;
        for &t in &all {
            let (tile,): (Vec<u8>,) = sqlx::query_as(&sql)
                .bind(i32::from(t.z))
                .bind(t.x as i32)
                .bind(t.y as i32)
                .fetch_one(&mut *conn)
                .await
                .expect("ST_AsMVT");
            bytes += tile.len();
        }
        (start.elapsed().as_secs_f64(), bytes)
    });

    let n = all.len() as f64;
    println!(
        "tiles/cold/gridmap: {:>10.0} tiles/s  ({ours:.3} s, {ours_bytes} bytes)",
        n / ours
    );
    println!(
        "tiles/cold/postgis: {:>10.0} tiles/s  ({theirs:.3} s, {theirs_bytes} bytes)",
        n / theirs
    );
    println!(
        "gridmap/postgis: {:.1}x the rate, {:.2}x the bytes",
        theirs / ours,
        ours_bytes as f64 / theirs_bytes as f64
    );
}
