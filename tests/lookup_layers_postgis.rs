//! The whole lookup answer checked against PostGIS, on the demo and on the messy demo
//! (`demo::generate_messy`, whose neighbours overlap and leave gaps along every shared edge): the
//! subdistrict, community, party grid with `on_boundary`, every commercial grid (商圈市场、商务楼宇
//! 专属网格), the compound (居民小区) and the `overlap` list that gridmap gives for a point must be
//! the ones PostGIS's `ST_Contains` (interior) and `ST_Covers` (closure) sets give by the
//! documented rule (README "Lookups", `src/lookup.rs`):
//!
//! - subdistrict, community, party grid, compound: a feature holding the point in its interior,
//!   else one holding it on its boundary; among equals the smallest code.
//! - `on_boundary`: the chosen party grid holds the point only on its boundary (no party grid
//!   holds it inside); outside every party grid, the same for the chosen community.
//! - commercial grids: every one whose closure holds the point, in code order.
//! - `overlap`: every party grid holding the point in its interior, in code order, when there
//!   are two or more; empty otherwise.
//!
//! Only polygonal features take part (`ST_Dimension(geom) = 2`): a compound may be drawn as a
//! point, which has no area to hold a point and is never a lookup answer (the snapshot's lookup
//! index holds polygons only); the demo's compounds are all polygons.
//!
//! The points: random points over the subdistrict's box (and a little beyond), every vertex of
//! every party grid, commercial grid, compound and community (shared corners, T-junctions,
//! vertices of one messy polygon inside its neighbour), and beside the middle of every edge of
//! those layers, 1e-7° (about a centimetre) to either side — inside the 5–40 cm slivers where
//! messy neighbours overlap or leave a gap, and clear of the edge by far more than the rounding of
//! PostGIS's non-robust side test. Each answer is checked through `lookup::locate` (indices
//! resolved to features) and `lookup::answer_point` (the contact cards the API serves).
//!
//! No two generated commercial grids overlap or touch, so each data set gets eight more laid over
//! four of them (one holding a grid whole, one crossing it), as real 商圈 and 商务楼宇 grids do:
//! otherwise "every commercial grid" would never list more than one.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --test lookup_layers_postgis

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use geo::{BoundingRect, CoordsIter, Geometry, LineString, Scale as _, Translate};
use gridmap::demo::{self, Scale};
use gridmap::lookup::{self, Located, Place};
use gridmap::model::{ChangeSet, FeatureDraft, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::spatial::crs::Crs;
use gridmap::store::Store;
use gridmap::store::postgis::PostgisStore;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;

/// The layers a lookup answers.
const LOCATED: [Layer; 5] = [
    Layer::Subdistrict,
    Layer::Community,
    Layer::PartyGrid,
    Layer::CommercialGrid,
    Layer::Compound,
];

/// Where a point lies, by codes: what gridmap answers and what the rule makes of PostGIS's sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Answer {
    subdistrict: Option<String>,
    community: Option<String>,
    party_grid: Option<String>,
    commercial_grids: Vec<String>,
    compound: Option<String>,
    on_boundary: bool,
    overlap: Vec<String>,
}

impl From<&Located<'_>> for Answer {
    fn from(l: &Located<'_>) -> Answer {
        let one = |f: Option<&gridmap::model::Feature>| f.map(|f| f.code.clone());
        let many = |v: &[&gridmap::model::Feature]| v.iter().map(|f| f.code.clone()).collect();
        Answer {
            subdistrict: one(l.subdistrict),
            community: one(l.community),
            party_grid: one(l.party_grid),
            commercial_grids: many(&l.commercial_grids),
            compound: one(l.compound),
            on_boundary: l.on_boundary,
            overlap: many(&l.overlap),
        }
    }
}

impl From<&Place> for Answer {
    fn from(p: &Place) -> Answer {
        let one = |c: &Option<lookup::Card>| c.as_ref().map(|c| c.code.to_string());
        let many = |v: &[lookup::Card]| v.iter().map(|c| c.code.to_string()).collect();
        Answer {
            subdistrict: one(&p.subdistrict),
            community: one(&p.community),
            party_grid: one(&p.party_grid),
            commercial_grids: many(&p.commercial_grids),
            compound: one(&p.compound),
            on_boundary: p.on_boundary,
            overlap: many(&p.overlap),
        }
    }
}

/// One layer's PostGIS sets at one point: codes holding it in the interior, and in the closure.
#[derive(Debug, Clone, Default)]
struct Sets {
    interior: BTreeSet<String>,
    closure: BTreeSet<String>,
}

impl Sets {
    /// The boundary rule's pick: the smallest interior code, else the smallest closure code.
    fn pick(&self) -> Option<String> {
        self.interior
            .first()
            .or_else(|| self.closure.first())
            .cloned()
    }
}

/// For each point, each located layer's sets, as PostGIS computes them.
async fn postgis_sets(pool: &PgPool, points: &[(f64, f64)]) -> Vec<BTreeMap<Layer, Sets>> {
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let layers: Vec<&str> = LOCATED.iter().map(|l| l.id()).collect();
    let rows: Vec<(i64, String, String, bool)> = sqlx::query_as(
        "SELECT p.i, f.layer, f.code, ST_Contains(f.geom, p.g) \
         FROM (SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g \
               FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i)) p \
         JOIN features f ON f.layer = ANY($3) AND ST_Dimension(f.geom) = 2 \
                        AND ST_Covers(f.geom, p.g)",
    )
    .bind(&xs)
    .bind(&ys)
    .bind(&layers)
    .fetch_all(pool)
    .await
    .expect("the PostGIS reference query");
    let mut out = vec![BTreeMap::<Layer, Sets>::new(); points.len()];
    for (i, layer, code, interior) in rows {
        let layer: Layer = layer.parse().expect("a layer id");
        let sets = out[(i - 1) as usize].entry(layer).or_default();
        if interior {
            sets.interior.insert(code.clone());
        }
        sets.closure.insert(code);
    }
    out
}

/// What the documented rule makes of PostGIS's sets at one point.
fn expected(sets: &BTreeMap<Layer, Sets>) -> Answer {
    let empty = Sets::default();
    let of = |l: Layer| sets.get(&l).unwrap_or(&empty);
    let party = of(Layer::PartyGrid);
    let community = of(Layer::Community);
    let on_boundary = if !party.closure.is_empty() {
        party.interior.is_empty()
    } else if !community.closure.is_empty() {
        community.interior.is_empty()
    } else {
        false
    };
    Answer {
        subdistrict: of(Layer::Subdistrict).pick(),
        community: community.pick(),
        party_grid: party.pick(),
        commercial_grids: of(Layer::CommercialGrid).closure.iter().cloned().collect(),
        compound: of(Layer::Compound).pick(),
        on_boundary,
        overlap: if party.interior.len() >= 2 {
            party.interior.iter().cloned().collect()
        } else {
            Vec::new()
        },
    }
}

fn rings(g: &Geometry<f64>) -> Vec<&LineString<f64>> {
    let polys: Vec<&geo::Polygon<f64>> = match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(mp) => mp.iter().collect(),
        _ => Vec::new(),
    };
    polys
        .into_iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .collect()
}

/// The test points and how many of each kind: random, vertices, beside edges.
fn points(snapshot: &Snapshot, seed: u64) -> (Vec<(f64, f64)>, [usize; 3]) {
    let sub = snapshot
        .layer(Layer::Subdistrict)
        .next()
        .expect("a subdistrict");
    let b = sub.geometry.bounding_rect().expect("bounded");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut points: Vec<(f64, f64)> = (0..3000)
        .map(|_| {
            (
                rng.gen_range(b.min().x - 0.002..b.max().x + 0.002),
                rng.gen_range(b.min().y - 0.002..b.max().y + 0.002),
            )
        })
        .collect();
    let layers = [
        Layer::PartyGrid,
        Layer::CommercialGrid,
        Layer::Compound,
        Layer::Community,
    ];
    let vertices: BTreeSet<(u64, u64)> = layers
        .iter()
        .flat_map(|&l| snapshot.layer(l))
        .flat_map(|f| f.geometry.coords_iter())
        .map(|c| (c.x.to_bits(), c.y.to_bits()))
        .collect();
    points.extend(
        vertices
            .iter()
            .map(|&(x, y)| (f64::from_bits(x), f64::from_bits(y))),
    );
    let mut beside = BTreeSet::new();
    const OFFSET: f64 = 1e-7;
    for f in layers.iter().flat_map(|&l| snapshot.layer(l)) {
        for ring in rings(&f.geometry) {
            for w in ring.0.windows(2) {
                let (a, c) = (w[0], w[1]);
                let (dx, dy) = (c.x - a.x, c.y - a.y);
                let len = dx.hypot(dy);
                if len < 10.0 * OFFSET {
                    continue;
                }
                let (mx, my) = ((a.x + c.x) / 2.0, (a.y + c.y) / 2.0);
                let (nx, ny) = (-dy / len * OFFSET, dx / len * OFFSET);
                for s in [-1.0, 1.0] {
                    let p = (mx + s * nx, my + s * ny);
                    beside.insert((p.0.to_bits(), p.1.to_bits()));
                }
            }
        }
    }
    points.extend(
        beside
            .iter()
            .map(|&(x, y)| (f64::from_bits(x), f64::from_bits(y))),
    );
    (points, [3000, vertices.len(), beside.len()])
}

/// `drafts` with commercial grids laid over others, as real 商圈 and 商务楼宇 grids may be (the
/// generated data has none that overlap): for the first four, a grid 1.6 times its size around
/// the same centre (holding it whole) and one shifted east by 40% of its width (crossing it).
fn with_overlapping_commercial_grids(mut drafts: Vec<FeatureDraft>) -> Vec<FeatureDraft> {
    let originals: Vec<FeatureDraft> = drafts
        .iter()
        .filter(|d| d.layer == Layer::CommercialGrid)
        .take(4)
        .cloned()
        .collect();
    assert_eq!(originals.len(), 4, "the data has commercial grids");
    for (n, d) in originals.into_iter().enumerate() {
        let r = d.geometry.bounding_rect().expect("bounded");
        let centre = r.center();
        let community = &d.code[..12];
        let mut larger = d.clone();
        larger.code = format!("{community}98{n}");
        larger.name = format!("测试外围商圈网格{n}");
        larger.geometry = d.geometry.scale_around_point(1.6, 1.6, centre);
        let mut shifted = d.clone();
        shifted.code = format!("{community}97{n}");
        shifted.name = format!("测试错位商务楼宇网格{n}");
        shifted.geometry = d.geometry.translate(0.4 * r.width(), 0.0);
        drafts.extend([larger, shifted]);
    }
    drafts
}

async fn load(pool: &PgPool, drafts: Vec<FeatureDraft>) -> Snapshot {
    let store = PostgisStore::from_pool(pool.clone())
        .await
        .expect("migrate the test database");
    store
        .commit(ChangeSet::upserts("test", "lookups", drafts, None))
        .await
        .expect("load the data into PostGIS");
    Snapshot::load(&store).await.expect("snapshot")
}

/// How often each interesting case came up.
#[derive(Debug, Default)]
struct Seen {
    points: usize,
    in_commercial: usize,
    in_two_commercial: usize,
    commercial_on_edge: usize,
    in_compound: usize,
    compound_on_edge: usize,
    on_boundary: usize,
    overlap: usize,
    outside: usize,
}

async fn lookups_agree(pool: PgPool, drafts: Vec<FeatureDraft>, label: &str) -> Seen {
    let started = Instant::now();
    let snapshot = load(&pool, drafts).await;
    let (points, kinds) = points(&snapshot, 42);
    let sets = postgis_sets(&pool, &points).await;
    let mut seen = Seen::default();
    let mut failures = Vec::new();
    for (i, (&(x, y), s)) in points.iter().zip(&sets).enumerate() {
        let want = expected(s);
        let located = lookup::locate(&snapshot, geo::coord!(x: x, y: y));
        let got = Answer::from(&located);
        let served = lookup::answer_point(&snapshot, Crs::Wgs84, x, y).expect("a valid point");
        assert_eq!(
            Answer::from(&served.place),
            got,
            "{label}: the contact cards differ from the located features at ({x}, {y})"
        );
        if got != want {
            failures.push(format!(
                "{label} point {i} ({x:?}, {y:?}):\n  gridmap: {got:?}\n  PostGIS: {want:?}\n  \
                 sets: {s:?}"
            ));
        }
        seen.points += 1;
        let commercial = s.get(&Layer::CommercialGrid);
        if let Some(c) = commercial {
            seen.in_commercial += 1;
            seen.in_two_commercial += usize::from(c.closure.len() >= 2);
            seen.commercial_on_edge += usize::from(c.closure.len() > c.interior.len());
        }
        if let Some(c) = s.get(&Layer::Compound) {
            seen.in_compound += 1;
            seen.compound_on_edge += usize::from(c.interior.is_empty());
        }
        seen.on_boundary += usize::from(want.on_boundary);
        seen.overlap += usize::from(!want.overlap.is_empty());
        seen.outside += usize::from(want.subdistrict.is_none());
    }
    eprintln!(
        "{label}: {} points ({} random, {} vertices, {} beside edges) in {:.1} s; {seen:?}",
        points.len(),
        kinds[0],
        kinds[1],
        kinds[2],
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} points disagree with PostGIS; the first ones:\n{}",
        failures.len(),
        points.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    seen
}

#[sqlx::test(migrations = false)]
async fn demo_lookups_agree_with_postgis(pool: PgPool) {
    let drafts = with_overlapping_commercial_grids(demo::generate(Scale::Demo));
    let seen = lookups_agree(pool, drafts, "demo").await;
    assert!(seen.in_two_commercial > 100, "{seen:?}");
    assert!(seen.commercial_on_edge > 100, "{seen:?}");
    assert!(seen.compound_on_edge > 1000, "{seen:?}");
    assert!(seen.on_boundary > 100, "{seen:?}");
    // The planted overlap between two party grids.
    assert!(seen.overlap > 0, "{seen:?}");
    assert!(seen.outside > 0, "{seen:?}");
}

#[sqlx::test(migrations = false)]
async fn messy_demo_lookups_agree_with_postgis(pool: PgPool) {
    let (drafts, _, report) = demo::generate_messy(Scale::Demo, 1);
    assert!(!report.enclaves.is_empty());
    let seen = lookups_agree(
        pool,
        with_overlapping_commercial_grids(drafts),
        "messy demo",
    )
    .await;
    assert!(seen.in_two_commercial > 100, "{seen:?}");
    // Neighbours redrawn apart overlap along every shared edge: many points lie in two grids.
    assert!(seen.overlap > 500, "{seen:?}");
    assert!(seen.commercial_on_edge > 100, "{seen:?}");
    assert!(seen.on_boundary > 100, "{seen:?}");
}
