//! The coverage report on boundaries digitised the way people draw them (`demo::generate_messy`:
//! every polygon drawn on its own, shared edges 0.05–0.4 m apart, either winding, repeated
//! vertices, a multi-part grid and community, an enclave), against PostGIS (GEOS) as the oracle:
//! every piece of every gap, overlap and outside part is computed by `tests/sql/coverage_pieces.sql`
//! with its geodesic area and GEOS's maximum inscribed circle, the same sliver rule is applied, and
//! every figure of every community must agree within 1% or 10 m² (the goal). The planted
//! faults must be found, and nothing else wider than the sliver width.
//!
//! The store is written directly (no import), so it holds the rings as drawn, clockwise ones
//! included: the report must be orientation-free on its own. A second test imports the same data
//! through a GeoJSON file (which normalises it) and checks that the report is the same.

mod common;

use std::collections::BTreeMap;

use geo::{Geodesic, Length};
use gridmap::coverage::{self, CoverageOptions, CoverageReport};
use gridmap::demo::{self, FaultKind, Scale};
use gridmap::snapshot::Snapshot;
use gridmap::store::postgis::PostgisStore;
use sqlx::Row;

const PIECES: &str = include_str!("sql/coverage_pieces.sql");
const BORDERS: &str = include_str!("sql/shared_borders.sql");
const SLIVER_M: f64 = 0.5;

fn agree(ours: f64, postgis: f64) -> bool {
    (ours - postgis).abs() <= (0.01 * postgis.abs()).max(10.0)
}

/// Per (community, kind): wide area, sliver area, and the set of wide groups (the pair of grids
/// for an overlap, the grid for an outside part, nothing for a gap) with their areas.
#[derive(Debug, Default)]
struct Figures {
    wide_m2: f64,
    sliver_m2: f64,
    groups: BTreeMap<String, f64>,
}

type Table = BTreeMap<(String, &'static str), Figures>;

fn kind_name(k: &str) -> &'static str {
    match k {
        "gap" => "gap",
        "overlap" => "overlap",
        _ => "outside",
    }
}

async fn postgis_figures(pool: &sqlx::PgPool) -> Table {
    let rows = sqlx::query(PIECES)
        .bind(113.64f64)
        .bind(34.72f64)
        .fetch_all(pool)
        .await
        .unwrap();
    let mut t = Table::new();
    for row in rows {
        let (community, kind, grids): (String, String, String) =
            (row.get("community"), row.get("kind"), row.get("grids"));
        let (area, width): (f64, f64) = (row.get("area_m2"), row.get("width_m"));
        if area < coverage::partition::NOISE_M2 {
            continue;
        }
        let f = t.entry((community, kind_name(&kind))).or_default();
        if width < SLIVER_M {
            f.sliver_m2 += area;
        } else {
            f.wide_m2 += area;
            *f.groups.entry(grids.replace(' ', "+")).or_default() += area;
        }
    }
    t
}

fn our_figures(report: &CoverageReport) -> Table {
    let mut t = Table::new();
    for c in &report.communities {
        let [mut gap, mut overlap, mut outside] = [(); 3].map(|_| Figures::default());
        for g in &c.gaps {
            gap.wide_m2 += g.area_m2;
            *gap.groups.entry(String::new()).or_default() += g.area_m2;
        }
        for o in &c.overlaps {
            overlap.wide_m2 += o.area_m2;
            *overlap.groups.entry(o.grids.join("+")).or_default() += o.area_m2;
        }
        for o in &c.outside {
            outside.wide_m2 += o.area_m2;
            *outside.groups.entry(o.grid.clone()).or_default() += o.area_m2;
        }
        for s in &c.slivers {
            gap.sliver_m2 += s.gap_area_m2;
            overlap.sliver_m2 += s.overlap_area_m2;
            outside.sliver_m2 += s.outside_area_m2;
        }
        for (k, f) in [("gap", gap), ("overlap", overlap), ("outside", outside)] {
            if f.wide_m2 > 0.0 || f.sliver_m2 > 0.0 {
                t.insert((c.code.clone(), k), f);
            }
        }
    }
    t
}

fn compare(ours: &Table, theirs: &Table) {
    let keys: std::collections::BTreeSet<_> = ours.keys().chain(theirs.keys()).collect();
    let empty = Figures::default();
    let mut failures = Vec::new();
    for key in keys {
        let (o, p) = (
            ours.get(key).unwrap_or(&empty),
            theirs.get(key).unwrap_or(&empty),
        );
        let line = format!(
            "{} {}: wide {:.2}/{:.2} m², slivers {:.2}/{:.2} m², groups {:?}/{:?} (ours/PostGIS)",
            key.0, key.1, o.wide_m2, p.wide_m2, o.sliver_m2, p.sliver_m2, o.groups, p.groups
        );
        eprintln!("{line}");
        let groups_agree = o.groups.len() == p.groups.len()
            && o.groups
                .iter()
                .all(|(k, a)| p.groups.get(k).is_some_and(|b| agree(*a, *b)));
        if !agree(o.wide_m2, p.wide_m2) || !agree(o.sliver_m2, p.sliver_m2) || !groups_agree {
            failures.push(line);
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}

/// The planted faults are found, with their designed area up to what the noise can move (every
/// point of the region's boundary by at most 0.2 m, so the area by 0.2 m × its perimeter), and
/// no other fault wider than the sliver width is reported.
fn planted_found(report: &CoverageReport, faults: &[demo::PlantedFault]) {
    let mut expected = 0;
    for f in faults {
        let band = match &f.region {
            geo::Geometry::Polygon(p) => Geodesic.length(p.exterior()) * demo::messy::NOISE_MAX_M,
            _ => 0.0,
        };
        let c = report.communities.iter().find(|c| c.code == f.community);
        let c = c.unwrap_or_else(|| panic!("{f:?}: no community"));
        let found: Vec<f64> = match f.kind {
            FaultKind::Gap => c.gaps.iter().map(|g| g.area_m2).collect(),
            FaultKind::Overlap => c.overlaps.iter().map(|o| o.area_m2).collect(),
            FaultKind::CrossBoundary => c
                .outside
                .iter()
                .filter(|o| o.grid == f.code)
                .map(|o| o.area_m2)
                .collect(),
            FaultKind::ShopOutside => continue,
        };
        expected += 1;
        assert!(
            found.iter().any(|a| (a - f.area_m2).abs() <= band + 1.0),
            "{:?} {} of {:.1} m² (± {band:.1}) not found: {found:?}",
            f.kind,
            f.code,
            f.area_m2
        );
    }
    let reported: usize = report
        .communities
        .iter()
        .map(|c| c.gaps.len() + c.overlaps.len() + c.outside.len())
        .sum();
    assert_eq!(reported, expected, "faults other than the planted ones");
}

async fn messy_store(pool: &sqlx::PgPool, seed: u64) -> (PostgisStore, Vec<demo::PlantedFault>) {
    let store = PostgisStore::from_pool(pool.clone()).await.unwrap();
    let (features, faults, report) = demo::generate_messy(Scale::Demo, seed);
    assert!(report.clockwise_rings > 0 && report.enclaves.len() == 1);
    common::commit_drafts(&store, features).await;
    (store, faults)
}

/// Slivers come grouped by the edge they lie along, and each group is a real shared edge: for two
/// grids, PostGIS finds that much of their borders within the sliver width of each other; for a
/// grid and the boundary, that much of the grid's border along its community's. A sliver given
/// the wrong sides would make its group longer than the border PostGIS finds. Every sliver edge's
/// widest piece is narrower than the sliver width, and its width is right to 2 cm by GEOS's
/// buffer (GEOS's inscribed circle takes a thousandth of the piece's length as its tolerance,
/// 30 cm on a 300 m sliver, too coarse to judge a width with).
async fn sliver_edges_agree_with_postgis(pool: &sqlx::PgPool, report: &CoverageReport) {
    let rows = sqlx::query(BORDERS)
        .bind(113.64f64)
        .bind(34.72f64)
        .bind(SLIVER_M)
        .fetch_all(pool)
        .await
        .unwrap();
    let mut shared: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for row in rows {
        let (a, b): (String, String) = (row.get("a"), row.get("b"));
        let key = if b.is_empty() || a < b {
            (a, b)
        } else {
            (b, a)
        };
        shared.entry(key).or_default().push(row.get("length_m"));
    }
    let mut edges = 0;
    for c in &report.communities {
        assert!(
            c.slivers.len() < 60,
            "{}: {} sliver edges",
            c.code,
            c.slivers.len()
        );
        for s in &c.slivers {
            assert!(s.max_width_m < SLIVER_M && s.pieces > 0, "{s:?}");
            let key = match (s.grids.as_slice(), s.boundary) {
                ([a, b], false) => (a.clone(), b.clone()),
                ([a], true) => (a.clone(), String::new()),
                _ => continue,
            };
            let copies = shared.get(&key).unwrap_or_else(|| {
                panic!("{}: {key:?} share no border in PostGIS ({s:?})", c.code)
            });
            let border = copies.iter().sum::<f64>() / copies.len() as f64;
            // A piece's length is half its outline, which the jitter of both copies and the
            // pieces that turn a corner at a junction make up to a fifth longer than the border
            // itself (seen: 284.6 m along 238.7 m); a piece given the wrong sides would add a
            // whole other edge.
            assert!(
                s.length_m <= border * 1.3 + 10.0,
                "{}: {key:?} disagree along {:.1} m, PostGIS finds {border:.1} m of shared border",
                c.code,
                s.length_m
            );
            edges += 1;
        }
    }
    assert!(edges > 50, "{edges} sliver edges checked");
    // Each edge's width (to 2 cm, a circle that surely fits), by GEOS's buffer: eroded by half of
    // it and 1.1 cm nothing is left, so no piece is more than 2 cm wider; eroded by half of it
    // less 5 mm something is.
    let mut loose = Vec::new();
    for c in &report.communities {
        for s in &c.slivers {
            let geometry = geo::Geometry::from(s.geometry.clone());
            let json = serde_json::to_string(&geojson::Geometry::from(&geometry)).unwrap();
            let (over, under): (bool, bool) = sqlx::query_as(ERODED)
                .bind(113.64f64)
                .bind(34.72f64)
                .bind(json)
                .bind(s.max_width_m / 2.0 + 0.011)
                .bind((s.max_width_m / 2.0 - 0.005).max(0.0))
                .fetch_one(pool)
                .await
                .unwrap();
            assert!(
                over,
                "{}: a piece wider than {:.3} m in {s:?}",
                c.code, s.max_width_m
            );
            if !under {
                loose.push(format!("{} {:?} {:.3}", c.code, s.grids, s.max_width_m));
            }
        }
    }
    assert!(loose.is_empty(), "widths too large: {loose:?}");
}

/// Whether the geometry (GeoJSON, WGS84) eroded by $4 metres is empty, and whether eroded by $5
/// it is, in the same transverse Mercator frame as the other queries.
const ERODED: &str = "WITH g AS (SELECT ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($3), 4326), \
    format('+proj=tmerc +lon_0=%s +lat_0=%s +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs', \
    $1::float8, $2::float8)) AS geom) \
    SELECT ST_IsEmpty(ST_Buffer(geom, -$4::float8)) AS over, NOT ST_IsEmpty(ST_Buffer(geom, -$5::float8)) AS under FROM g";

#[sqlx::test(migrations = false)]
async fn messy_demo_report_agrees_with_postgis(pool: sqlx::PgPool) {
    let (store, faults) = messy_store(&pool, 1).await;
    let snapshot = Snapshot::load(&store).await.unwrap();
    let report = coverage::report(&snapshot, &CoverageOptions::default()).unwrap();
    compare(&our_figures(&report), &postgis_figures(&pool).await);
    planted_found(&report, &faults);
    sliver_edges_agree_with_postgis(&pool, &report).await;
}

#[sqlx::test(migrations = false)]
async fn messy_demo_of_another_seed_agrees_with_postgis(pool: sqlx::PgPool) {
    let (store, faults) = messy_store(&pool, 20_261_207).await;
    let snapshot = Snapshot::load(&store).await.unwrap();
    let report = coverage::report(&snapshot, &CoverageOptions::default()).unwrap();
    compare(&our_figures(&report), &postgis_figures(&pool).await);
    planted_found(&report, &faults);
    sliver_edges_agree_with_postgis(&pool, &report).await;
}

/// Import normalises what people draw and says so: every clockwise shell and counter-clockwise
/// hole is rewound and every repeated vertex dropped (counted in the summary), `--strict` refuses
/// the same file naming the feature, and the report on the imported store equals the report on
/// the rings as drawn.
#[tokio::test]
async fn import_normalises_messy_files_and_strict_refuses_them() {
    let (features, _, messy) = demo::generate_messy(Scale::Demo, 1);
    let dir = tempfile::tempdir().unwrap();
    demo::write_features(&features, dir.path()).unwrap();
    let raw = Snapshot::new(
        1,
        features
            .iter()
            .cloned()
            .map(|d| d.into_feature(1))
            .collect(),
    );
    let raw_report = coverage::report(&raw, &CoverageOptions::default()).unwrap();

    // --strict: the first area layer refuses, naming a feature and the fault; nothing written.
    let store = common::gpkg_store().await;
    let mut strict = common::options(None);
    strict.strict = true;
    let file = dir
        .path()
        .join(demo::file_name(gridmap::model::Layer::Subdistrict));
    let message = common::refused(store.as_ref(), &file, &strict).await;
    assert!(
        message.contains("(subdistrict/") && message.contains("--strict"),
        "{message}"
    );

    let mut total = gridmap::spatial::normalise::Normalised::default();
    for layer in gridmap::model::Layer::ALL {
        let file = dir.path().join(demo::file_name(layer));
        let snapshot = Snapshot::load(store.as_ref()).await.unwrap();
        let r = gridmap::io::import(store.as_ref(), &snapshot, &file, &common::options(None))
            .await
            .unwrap();
        total.add(&r.geometry);
    }
    eprintln!("{total:?} {messy:?}");
    assert_eq!(total.repeated_vertices_dropped, messy.repeated_vertices);
    assert!(total.rings_reoriented > 50, "{total:?}");
    assert!(
        total.multipart_features >= 2 && total.holes >= 2,
        "{total:?}"
    );
    let imported = Snapshot::load(store.as_ref()).await.unwrap();
    for f in imported.features() {
        if let Some(mp) = gridmap::coverage::geom::areal(&f.geometry) {
            let g = match &f.geometry {
                geo::Geometry::MultiPolygon(mp) => mp.clone(),
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p.clone()]),
                _ => continue,
            };
            assert!(gridmap::spatial::normalise::is_oriented(&g), "{}", f.code);
            assert_eq!(g, mp);
        }
    }
    let report = coverage::report(&imported, &CoverageOptions::default()).unwrap();
    let (a, b) = (our_figures(&report), our_figures(&raw_report));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, x) in &a {
        let y = &b[k];
        assert!(
            (x.wide_m2 - y.wide_m2).abs() < 0.01 && (x.sliver_m2 - y.sliver_m2).abs() < 0.01,
            "{k:?}: {x:?} vs {y:?}"
        );
    }
}

/// Per party grid, its geodesic area by PostGIS.
async fn grid_areas(pool: &sqlx::PgPool) -> BTreeMap<String, f64> {
    sqlx::query_as::<_, (String, f64)>(
        "SELECT code, ST_Area(geom::geography, true) FROM features WHERE layer = 'party_grid'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// The cleaner's result (every community, gaps filled) judged by PostGIS alone: every grid valid
/// (GEOS), per community the union of its grids equals the community within 0.01 m² (symmetric
/// difference), no two grids share more than 0.01 m², and each grid's area before and after, as
/// PostGIS measures it, is what the cleaner says it moved.
#[sqlx::test(migrations = false)]
async fn cleaned_messy_demo_is_a_partition_by_postgis(pool: sqlx::PgPool) {
    let (store, _) = messy_store(&pool, 1).await;
    let snapshot = Snapshot::load(&store).await.unwrap();
    let before = grid_areas(&pool).await;
    let (edits, communities) = gridmap::edit::clean::plan_clean(&snapshot, None, SLIVER_M, true);
    assert!(edits.len() > 20, "{} grids changed", edits.len());
    let drafts = edits.into_iter().filter_map(|e| e.draft);
    use gridmap::store::Store;
    store
        .commit(gridmap::model::ChangeSet::upserts(
            "test", "clean", drafts, None,
        ))
        .await
        .unwrap();
    let after = grid_areas(&pool).await;
    // The grids' edges are straight in longitude and latitude (as GeoJSON and PostGIS's
    // geometry draw them), so the partition is checked in that plane, GEOS on EPSG:4326, each
    // area turned into m² by the community's own ratio of geodesic to planar area. (Projected,
    // a community edge split where a grid crosses it bends by millimetres; on the sphere PostGIS
    // fails, "area < 0", on the hairline pieces.)
    let (invalid, worst_symdiff, worst_overlap): (i64, f64, f64) = sqlx::query_as(
        "WITH g AS (SELECT code, parent, geom FROM features WHERE layer = 'party_grid'), \
              c AS (SELECT code, geom, ST_Area(geom::geography) / ST_Area(geom) AS scale \
                    FROM features WHERE layer = 'community') \
         SELECT (SELECT count(*) FROM g WHERE NOT ST_IsValid(geom)), \
                (SELECT coalesce(max(ST_Area(ST_SymDifference(c.geom, u.geom)) * c.scale), 0) \
                   FROM c JOIN (SELECT parent, ST_Union(geom) AS geom FROM g GROUP BY parent) u \
                   ON u.parent = c.code), \
                (SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom)) * c.scale), 0) \
                   FROM g a JOIN g b ON a.parent = b.parent AND a.code < b.code \
                   AND ST_Intersects(a.geom, b.geom) JOIN c ON c.code = a.parent)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(invalid, 0, "grids GEOS finds invalid");
    assert!(
        worst_symdiff < 0.01,
        "union ≠ community by {worst_symdiff} m²"
    );
    assert!(worst_overlap < 0.01, "two grids share {worst_overlap} m²");
    let mut moved = 0;
    for g in communities.iter().flat_map(|c| &c.changes) {
        let (b, a) = (before[&g.code], after[&g.code]);
        let tolerance = 0.01 + 1e-6 * b;
        assert!(
            (g.area_before_m2 - b).abs() < tolerance,
            "{g:?}: PostGIS {b} before"
        );
        assert!(
            (g.area_after_m2 - a).abs() < tolerance,
            "{g:?}: PostGIS {a} after"
        );
        let balance = g.area_before_m2 - g.outside_m2 - g.lost_m2 + g.gained_m2;
        assert!(
            (balance - a).abs() < tolerance,
            "{g:?}: {a} after by PostGIS"
        );
        moved += usize::from((a - b).abs() > 0.01);
    }
    assert!(moved > 20, "{moved} grids moved");
}
