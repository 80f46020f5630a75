//! The coverage report against PostGIS as an independent computation: the demo is committed to a
//! fresh PostGIS database (one per test, from `DATABASE_URL`), PostGIS computes each community's
//! gap, overlap and outside areas with ST_Union/ST_Difference/ST_Intersection and `::geography`
//! areas (`tests/sql/coverage_reference.sql`), and our report, made from the same store, must
//! agree within 0.1% (or 0.5 m² where the true figure is zero and PostGIS returns rounding dust).

mod common;

use gridmap::coverage::{self, CoverageOptions};
use gridmap::demo::{self, FaultKind};
use gridmap::snapshot::Snapshot;
use gridmap::store::postgis::PostgisStore;
use sqlx::Row;

const REFERENCE: &str = include_str!("sql/coverage_reference.sql");

fn agree(ours: f64, postgis: f64) -> bool {
    (ours - postgis).abs() <= (0.001 * postgis.abs()).max(0.5)
}

#[sqlx::test(migrations = false)]
async fn demo_report_agrees_with_postgis(pool: sqlx::PgPool) {
    let store = PostgisStore::from_pool(pool.clone()).await.unwrap();
    common::commit_drafts(&store, demo::embedded()).await;
    let snapshot = Snapshot::load(&store).await.unwrap();
    let report = coverage::report(&snapshot, &CoverageOptions::default()).unwrap();
    let rows = sqlx::query(REFERENCE).fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), report.communities.len());
    for row in rows {
        let code: String = row.get("code");
        let c = report.communities.iter().find(|c| c.code == code).unwrap();
        let (area, gap, overlap, outside): (f64, f64, f64, f64) = (
            row.get("area_m2"),
            row.get("gap_m2"),
            row.get("overlap_m2"),
            row.get("outside_m2"),
        );
        eprintln!(
            "{code}: area {:.2}/{area:.2} gap {:.2}/{gap:.2} overlap {:.2}/{overlap:.2} outside {:.2}/{outside:.2} (ours/PostGIS)",
            c.area_m2, c.gap_area_m2, c.overlap_area_m2, c.outside_area_m2
        );
        assert!(
            agree(c.area_m2, area),
            "{code} area {} vs {area}",
            c.area_m2
        );
        assert!(
            agree(c.gap_area_m2, gap),
            "{code} gap {} vs {gap}",
            c.gap_area_m2
        );
        assert!(
            agree(c.overlap_area_m2, overlap),
            "{code} overlap {} vs {overlap}",
            c.overlap_area_m2
        );
        assert!(
            agree(c.outside_area_m2, outside),
            "{code} outside {} vs {outside}",
            c.outside_area_m2
        );
        assert!(c.slivers.is_empty(), "{code}: {:?}", c.slivers);
    }
    // Every planted fault appears with the area PostGIS computes for it.
    for f in demo::planted_faults() {
        let c = report
            .communities
            .iter()
            .find(|c| c.code == f.community)
            .unwrap();
        let ours = match f.kind {
            FaultKind::Gap => c
                .gaps
                .iter()
                .map(|g| g.area_m2)
                .find(|a| agree(*a, f.area_m2)),
            FaultKind::Overlap => c.overlaps.first().map(|o| o.area_m2),
            FaultKind::CrossBoundary => c.outside.first().map(|o| o.area_m2),
            FaultKind::ShopOutside => {
                assert!(report.points_outside.iter().any(|p| p.code == f.code));
                continue;
            }
        };
        let ours = ours.unwrap_or_else(|| panic!("{f:?} not reported"));
        assert!(agree(ours, f.area_m2), "{f:?}: ours {ours}");
    }
}

/// A rectangle given in thousandths of a degree east and north of (113.6°E, 34.7°N).
fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> geo::Polygon<f64> {
    let at = |x: f64, y: f64| geo::coord!(x: 113.6 + x / 1000.0, y: 34.7 + y / 1000.0);
    geo::Rect::new(at(x0, y0), at(x1, y1)).to_polygon()
}

fn area_draft(
    layer: gridmap::model::Layer,
    code: &str,
    parent: &str,
    geometry: geo::Geometry<f64>,
) -> gridmap::model::FeatureDraft {
    gridmap::model::FeatureDraft {
        layer,
        code: code.into(),
        name: code.into(),
        parent: Some(parent.into()),
        properties: Default::default(),
        geometry,
    }
}

/// A generated partition with every kind of planted fault, against PostGIS: a community of two
/// parts (an exclave) with a hole that is another community (an enclave); a grid covering part
/// of the hole and overlapping its neighbour; a grid reaching past the community's edge and
/// leaving a strip gap; two grids in the exclave that share only a vertex (no overlap) and leave
/// two gaps that also meet at that vertex.
#[sqlx::test(migrations = false)]
async fn generated_partition_agrees_with_postgis(pool: sqlx::PgPool) {
    use gridmap::model::Layer::{Community, PartyGrid};
    let store = PostgisStore::from_pool(pool.clone()).await.unwrap();
    let (c1, c2) = ("419901001001", "419901001002");
    let hole = square(0.8, 0.8, 1.2, 1.2);
    let main = geo::Polygon::new(
        square(0., 0., 2., 2.).exterior().clone(),
        vec![hole.exterior().clone()],
    );
    let community = geo::MultiPolygon(vec![main, square(4., 0., 5., 1.)]);
    let grid =
        |n: u32, p: geo::Polygon<f64>| area_draft(PartyGrid, &format!("{c1}{n:03}"), c1, p.into());
    let drafts = vec![
        area_draft(Community, c1, "419901001", community.into()),
        area_draft(Community, c2, "419901001", hole.clone().into()),
        area_draft(PartyGrid, &format!("{c2}001"), c2, hole.into()),
        grid(1, square(0., 0., 1., 2.)),
        grid(2, square(1., 0., 2.1, 0.9)),
        grid(3, square(0.9, 1., 2., 2.)),
        grid(4, square(4., 0., 4.5, 0.5)),
        grid(5, square(4.5, 0.5, 5., 1.)),
    ];
    common::commit_drafts(&store, drafts).await;
    let snapshot = Snapshot::load(&store).await.unwrap();
    let report = coverage::report(&snapshot, &CoverageOptions::default()).unwrap();
    let rows = sqlx::query(REFERENCE).fetch_all(&pool).await.unwrap();
    for row in rows {
        let code: String = row.get("code");
        let c = report.communities.iter().find(|c| c.code == code).unwrap();
        for (ours, column) in [
            (c.area_m2, "area_m2"),
            (c.gap_area_m2, "gap_m2"),
            (c.overlap_area_m2, "overlap_m2"),
            (c.outside_area_m2, "outside_m2"),
        ] {
            let theirs: f64 = row.get(column);
            eprintln!("{code} {column}: ours {ours:.2}, PostGIS {theirs:.2}");
            assert!(agree(ours, theirs), "{code} {column}: {ours} vs {theirs}");
        }
    }
    let c = report.communities.iter().find(|c| c.code == c1).unwrap();
    assert_eq!(
        c.gaps.len(),
        3,
        "{:?}",
        c.gaps.iter().map(|g| g.area_m2).collect::<Vec<_>>()
    );
    assert_eq!(c.overlaps.len(), 1, "grids 4 and 5 share only a vertex");
    let outside: Vec<&str> = c.outside.iter().map(|o| o.grid.as_str()).collect();
    assert_eq!(
        outside,
        ["419901001001001", "419901001001002", "419901001001003"]
    );
    assert!(c.slivers.is_empty());
    let enclave = report.communities.iter().find(|c| c.code == c2).unwrap();
    assert!(enclave.gaps.is_empty() && enclave.outside.is_empty() && enclave.overlaps.is_empty());
}
