//! The editing geometry checked against PostGIS on the same data: the area gained and lost
//! (`ST_Area(ST_Difference(..)::geography)`), what an adjusted sibling keeps
//! (`ST_Difference`), a merge (`ST_Union`) and a split's two parts (their union is the grid).

use geo::{Geometry, polygon};
use gridmap::edit::{area_change, topology};
use gridmap::model::{Feature, FeatureDraft, Layer};
use gridmap::snapshot::Snapshot;

fn wkt(g: &Geometry<f64>) -> String {
    geojson::Geometry::new(geojson::Value::from(g)).to_string()
}

async fn st_area(pool: &sqlx::PgPool, sql: &str, a: &Geometry<f64>, b: &Geometry<f64>) -> f64 {
    sqlx::query_scalar(sql)
        .bind(wkt(a))
        .bind(wkt(b))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn feature(layer: Layer, code: &str, parent: Option<&str>, g: Geometry<f64>) -> Feature {
    Feature {
        layer,
        code: code.into(),
        name: code.into(),
        parent: parent.map(str::to_string),
        properties: Default::default(),
        geometry: g,
        version: 1,
    }
}

#[sqlx::test(migrations = false)]
async fn edit_geometry_agrees_with_postgis(pool: sqlx::PgPool) {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS postgis")
        .execute(&pool)
        .await
        .unwrap();
    // A community cut by a slanted boundary into two grids near Zhengzhou.
    let community: Geometry<f64> =
        polygon![(x: 113.60, y: 34.70), (x: 113.70, y: 34.70), (x: 113.70, y: 34.80), (x: 113.60, y: 34.80)].into();
    let g1: Geometry<f64> =
        polygon![(x: 113.60, y: 34.70), (x: 113.64, y: 34.70), (x: 113.66, y: 34.80), (x: 113.60, y: 34.80)].into();
    let g2: Geometry<f64> =
        polygon![(x: 113.64, y: 34.70), (x: 113.70, y: 34.70), (x: 113.70, y: 34.80), (x: 113.66, y: 34.80)].into();
    // The boundary moves: east at the bottom, west at the top.
    let new1: Geometry<f64> =
        polygon![(x: 113.60, y: 34.70), (x: 113.655, y: 34.70), (x: 113.645, y: 34.80), (x: 113.60, y: 34.80)].into();

    let (gained, lost) = area_change(Some(&g1), Some(&new1));
    let pg_gained = st_area(&pool, "SELECT ST_Area(ST_Difference(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))::geography)", &g1, &new1).await;
    let pg_lost = st_area(&pool, "SELECT ST_Area(ST_Difference(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))::geography)", &g1, &new1).await;
    assert!(
        (gained - pg_gained).abs() < 1e-6 * pg_gained.max(1.0) + 0.5,
        "{gained} vs {pg_gained}"
    );
    assert!(
        (lost - pg_lost).abs() < 1e-6 * pg_lost.max(1.0) + 0.5,
        "{lost} vs {pg_lost}"
    );
    assert!(gained > 100_000.0 && lost > 100_000.0);

    let snapshot = Snapshot::new(
        1,
        vec![
            feature(
                Layer::Community,
                "410105001001",
                Some("410105001"),
                community.clone(),
            ),
            feature(
                Layer::PartyGrid,
                "410105001001001",
                Some("410105001001"),
                g1.clone(),
            ),
            feature(
                Layer::PartyGrid,
                "410105001001002",
                Some("410105001001"),
                g2.clone(),
            ),
        ],
    );
    let old = snapshot
        .find(Layer::PartyGrid, "410105001001001")
        .unwrap()
        .clone();
    let mut edited = FeatureDraft::from(old.clone());
    edited.geometry = new1.clone();
    let drafts = topology::adjust(&snapshot, &old, edited, 0.5).unwrap();
    assert_eq!(drafts.len(), 2);
    // The sibling keeps (g2 − new1) ∪ (g1 − new1), which is community − new1: the same
    // shape as PostGIS's ST_Difference. Shapes are compared by the planar area of their
    // symmetric difference (1e-10 square degrees ≈ 1 m²): as a geography, even a zero-width
    // remainder along a slanted edge has area, because the geodesic bows away from the straight
    // longitude-latitude edge both shapes share.
    let symdiff = "SELECT ST_Area(ST_SymDifference(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), \
        ST_Difference(ST_GeomFromText('COMMUNITY', 4326), ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))))";
    let community_wkt = "POLYGON((113.6 34.7,113.7 34.7,113.7 34.8,113.6 34.8,113.6 34.7))";
    let sql = symdiff.replace("COMMUNITY", community_wkt);
    let off = st_area(&pool, &sql, &drafts[1].geometry, &new1).await;
    assert!(
        off < 1e-10,
        "the sibling differs from ST_Difference by {off} square degrees"
    );
    // The two grids cover the community exactly once: their ST_Union is the community and
    // their ST_Intersection has no area.
    let sql = format!(
        "SELECT ST_Area(ST_SymDifference(ST_Union(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), \
         ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)), ST_GeomFromText('{community_wkt}', 4326)))"
    );
    let off = st_area(&pool, &sql, &drafts[0].geometry, &drafts[1].geometry).await;
    assert!(
        off < 1e-10,
        "the union differs from the community by {off} square degrees"
    );
    let overlap = st_area(&pool, "SELECT ST_Area(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))::geography)", &drafts[0].geometry, &drafts[1].geometry).await;
    assert!(overlap < 0.01, "overlap {overlap} m²");

    // Merge = ST_Union.
    let a = feature(
        Layer::PartyGrid,
        "410105001001001",
        Some("410105001001"),
        drafts[0].geometry.clone(),
    );
    let b = feature(
        Layer::PartyGrid,
        "410105001001002",
        Some("410105001001"),
        drafts[1].geometry.clone(),
    );
    let merged = topology::merge(&[&a, &b]).unwrap();
    let sql = format!(
        "SELECT ST_Area(ST_SymDifference(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), \
         ST_GeomFromText('{community_wkt}', 4326))) + 0 * length($2)"
    );
    let off = st_area(&pool, &sql, &merged.geometry, &merged.geometry).await;
    assert!(
        off < 1e-10,
        "the merge differs from ST_Union by {off} square degrees"
    );

    // Split g2 along a slanted line: the parts' areas add up to the grid's (PostGIS), and they
    // do not overlap.
    let line = geo::LineString::from(vec![(113.63, 34.69), (113.72, 34.78)]);
    let grid2 = feature(
        Layer::PartyGrid,
        "410105001001002",
        Some("410105001001"),
        g2.clone(),
    );
    let (p, q) = topology::split(&grid2, &line, "410105001001003".into()).unwrap();
    let whole = st_area(
        &pool,
        "SELECT ST_Area(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)::geography) + 0 * length($2)",
        &g2,
        &g2,
    )
    .await;
    let sql = "SELECT ST_Area(ST_SymDifference(ST_Union(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), \
        ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)), ST_SetSRID(ST_GeomFromGeoJSON($3), 4326)))";
    let off: f64 = sqlx::query_scalar(sql)
        .bind(wkt(&p.geometry))
        .bind(wkt(&q.geometry))
        .bind(wkt(&g2))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        off < 1e-10,
        "the parts' union differs from the grid by {off} square degrees"
    );
    assert!(whole > 1_000_000.0);
    let overlap = st_area(&pool, "SELECT ST_Area(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))::geography)", &p.geometry, &q.geometry).await;
    assert!(overlap < 0.01, "overlap {overlap} m²");
}
