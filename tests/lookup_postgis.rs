//! Point lookups checked against PostGIS on the same data: for random points, every vertex of every
//! party grid (shared corners) and points given in GCJ-02 and BD-09, the grid and community that
//! gridmap picks must be the one PostGIS's `ST_Contains`/`ST_Covers` sets and the documented
//! boundary rule give.

use std::collections::{BTreeMap, BTreeSet};

use geo::{BoundingRect, CoordsIter};
use gridmap::demo::{self, Scale};
use gridmap::lookup;
use gridmap::model::{ChangeSet, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::spatial::crs::Crs;
use gridmap::store::Store;
use gridmap::store::postgis::PostgisStore;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;

/// For each point (by index), the codes of `layer` whose interior holds it and those whose closure
/// does, as PostGIS computes them.
async fn postgis_sets(
    pool: &PgPool,
    layer: Layer,
    points: &[(f64, f64)],
) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let rows: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT p.i, f.code, ST_Contains(f.geom, p.g) \
         FROM (SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g \
               FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i)) p \
         JOIN features f ON f.layer = $3 AND ST_Covers(f.geom, p.g)",
    )
    .bind(&xs)
    .bind(&ys)
    .bind(layer.id())
    .fetch_all(pool)
    .await
    .expect("the PostGIS reference query");
    let mut sets = vec![(BTreeSet::new(), BTreeSet::new()); points.len()];
    for (i, code, interior) in rows {
        let slot = &mut sets[(i - 1) as usize];
        if interior {
            slot.0.insert(code.clone());
        }
        slot.1.insert(code);
    }
    sets
}

/// What the boundary rule says gridmap must answer, given PostGIS's two sets.
fn expected(sets: &(BTreeSet<String>, BTreeSet<String>)) -> (Option<String>, bool) {
    match (sets.0.first(), sets.1.first()) {
        (Some(inside), _) => (Some(inside.clone()), false),
        (None, Some(edge)) => (Some(edge.clone()), true),
        (None, None) => (None, false),
    }
}

#[sqlx::test(migrations = false)]
async fn lookups_agree_with_postgis(pool: PgPool) {
    let store = PostgisStore::from_pool(pool.clone())
        .await
        .expect("migrate the test database");
    store
        .commit(ChangeSet::upserts(
            "test",
            "demo",
            demo::generate(Scale::Demo),
            None,
        ))
        .await
        .expect("load the demo");
    let snapshot = Snapshot::load(&store).await.expect("snapshot");

    // Random points over the subdistrict's box (some outside it), and every vertex of every party
    // grid: corners shared by two to four grids, where the boundary rule decides.
    let sub = snapshot
        .layer(Layer::Subdistrict)
        .next()
        .expect("a subdistrict");
    let b = sub.geometry.bounding_rect().expect("bounded");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut points: Vec<(f64, f64)> = (0..3000)
        .map(|_| {
            (
                rng.gen_range(b.min().x - 0.002..b.max().x + 0.002),
                rng.gen_range(b.min().y - 0.002..b.max().y + 0.002),
            )
        })
        .collect();
    let random = points.len();
    let vertices: BTreeSet<(u64, u64)> = snapshot
        .layer(Layer::PartyGrid)
        .flat_map(|g| g.geometry.coords_iter())
        .map(|c| (c.x.to_bits(), c.y.to_bits()))
        .collect();
    points.extend(
        vertices
            .iter()
            .map(|&(x, y)| (f64::from_bits(x), f64::from_bits(y))),
    );

    let mut boundary_cases = 0;
    for layer in [Layer::PartyGrid, Layer::Community] {
        let sets = postgis_sets(&pool, layer, &points).await;
        for (i, (&(x, y), s)) in points.iter().zip(&sets).enumerate() {
            let found = lookup::locate(&snapshot, geo::coord!(x: x, y: y));
            let (picked, on_boundary) = match layer {
                Layer::PartyGrid => (found.party_grid, found.on_boundary),
                _ => (found.community, false),
            };
            let (want, want_boundary) = expected(s);
            assert_eq!(
                picked.map(|f| f.code.clone()),
                want,
                "{layer} at point {i} ({x}, {y}); PostGIS: {s:?}"
            );
            if layer == Layer::PartyGrid {
                assert_eq!(on_boundary, want_boundary, "point {i} ({x}, {y}): {s:?}");
                if s.0.len() > 1 {
                    let overlap: BTreeSet<String> =
                        found.overlap.iter().map(|f| f.code.clone()).collect();
                    assert_eq!(overlap, s.0, "overlap at point {i}");
                }
                if want_boundary {
                    boundary_cases += 1;
                }
            }
        }
    }
    assert!(
        boundary_cases > 100,
        "the vertices should give many boundary cases, got {boundary_cases}"
    );

    // The same random points given in GCJ-02 and BD-09 land in the same grids (points within a
    // centimetre of an edge are left out: the inverse transform is exact only to 1e-10°).
    let sets = postgis_sets(&pool, Layer::PartyGrid, &points[..random]).await;
    let mut per_crs: BTreeMap<&str, usize> = BTreeMap::new();
    for crs in [Crs::Gcj02, Crs::Bd09, Crs::Cgcs2000] {
        for (&(x, y), s) in points[..random].iter().zip(&sets) {
            if s.1.len() != s.0.len() {
                continue; // on an edge
            }
            let (cx, cy) = crs.from_wgs84(x, y);
            let (wx, wy) = crs.to_wgs84(cx, cy);
            assert!(
                (wx - x).abs() < 1e-9 && (wy - y).abs() < 1e-9,
                "{crs} round trip"
            );
            let found = lookup::locate(&snapshot, geo::coord!(x: wx, y: wy));
            assert_eq!(
                found.party_grid.map(|f| f.code.clone()),
                expected(s).0,
                "{crs} ({cx}, {cy})"
            );
            *per_crs.entry(crs.id()).or_default() += 1;
        }
    }
    assert!(per_crs.values().all(|&n| n > 2000), "{per_crs:?}");
}
