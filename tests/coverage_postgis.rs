//! The coverage report against PostGIS as an independent computation: the demo is committed to a
//! fresh PostGIS database (one per test, from `DATABASE_URL`), PostGIS computes each community's
//! gap, overlap and outside areas with ST_Union/ST_Difference/ST_Intersection and `::geography`
//! areas (`tests/sql/coverage_reference.sql`), and our report, made from the same store, must
//! agree within 0.1% (or 0.5 m² where the true figure is zero and PostGIS returns rounding dust).

use gridmap::coverage::{self, CoverageOptions};
use gridmap::demo::{self, FaultKind};
use gridmap::model::{Change, ChangeSet};
use gridmap::snapshot::Snapshot;
use gridmap::store::Store;
use gridmap::store::postgis::PostgisStore;
use sqlx::Row;

const REFERENCE: &str = include_str!("sql/coverage_reference.sql");

fn agree(ours: f64, postgis: f64) -> bool {
    (ours - postgis).abs() <= (0.001 * postgis.abs()).max(0.5)
}

#[sqlx::test(migrations = false)]
async fn demo_report_agrees_with_postgis(pool: sqlx::PgPool) {
    let store = PostgisStore::from_pool(pool.clone()).await.unwrap();
    let changes = demo::embedded()
        .into_iter()
        .map(|draft| Change::Upsert {
            draft,
            expected_version: Some(0),
        })
        .collect();
    store
        .commit(ChangeSet {
            author: "test".into(),
            message: "demo".into(),
            changes,
        })
        .await
        .unwrap();
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
