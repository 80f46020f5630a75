//! Tests of the demo subdistrict as a whole: figures, geometry, codes, faults, determinism and
//! the committed files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use geo::{
    BooleanOps, Contains, GeodesicArea, Geometry, Intersects, MultiPolygon, Polygon, Validation,
    Winding,
};

use std::fmt::Write as _;

use super::build::{Subdistrict, anchor, north_edge, order_key};
use super::*;

fn demo() -> &'static Subdistrict {
    static DEMO: OnceLock<Subdistrict> = OnceLock::new();
    DEMO.get_or_init(|| build::build(&demo_spec()))
}

fn layer(l: Layer) -> impl Iterator<Item = &'static FeatureDraft> {
    demo().features.iter().filter(move |f| f.layer == l)
}

fn by_code(code: &str) -> &'static FeatureDraft {
    demo()
        .features
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no feature {code}"))
}

fn multi(g: &Geometry<f64>) -> MultiPolygon<f64> {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        other => panic!("not areal: {other:?}"),
    }
}

fn area(g: &Geometry<f64>) -> f64 {
    g.geodesic_area_unsigned()
}

fn overlap_m2(a: &Geometry<f64>, b: &Geometry<f64>) -> f64 {
    Geometry::MultiPolygon(multi(a).intersection(&multi(b))).geodesic_area_unsigned()
}

/// The communities a planted grid fault touches; the others must be clean partitions.
fn faulted_communities() -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for f in &demo().faults {
        set.insert(f.community.clone());
        if f.kind == FaultKind::CrossBoundary {
            set.insert(f.other.clone());
        }
    }
    set
}

fn faulted_grids() -> BTreeSet<String> {
    demo()
        .faults
        .iter()
        .filter(|f| f.kind != FaultKind::ShopOutside)
        .map(|f| f.code.clone())
        .collect()
}

/// Thousands with commas: 29268 → "29,268".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn number(f: &FeatureDraft, key: &str) -> u64 {
    f.properties[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: {key}", f.code))
}

/// The figures, community and fault tables of `maps/README.md`, generated from the data so that
/// the README cannot drift from it (a test compares them).
fn summary(sub: &Subdistrict) -> String {
    let of = |layer: Layer| sub.features.iter().filter(move |f| f.layer == layer);
    let count = |layer: Layer| of(layer).count() as u64;
    let flagged = |layer: Layer| {
        of(layer)
            .filter(|f| f.properties.get("archived").and_then(|v| v.as_bool()) == Some(true))
            .count() as u64
    };
    let area: f64 = of(Layer::Subdistrict)
        .map(|f| f.geometry.geodesic_area_unsigned())
        .sum();
    let households: Vec<u64> = of(Layer::PartyGrid)
        .map(|f| number(f, "households"))
        .collect();
    let outside: Vec<String> = of(Layer::PartyGrid)
        .filter(|f| !(300..=500).contains(&number(f, "households")))
        .map(|f| format!("{} ({})", f.code, number(f, "households")))
        .collect();
    let mut s = String::new();
    let rows: [(&str, String); 14] = [
        ("area (geodesic)", format!("{:.3} km²", area / 1e6)),
        ("communities (社区)", thousands(count(Layer::Community))),
        ("party grids (党建网格)", thousands(count(Layer::PartyGrid))),
        (
            "commercial grids (专属网格)",
            thousands(count(Layer::CommercialGrid)),
        ),
        (
            "residential compounds (居民小区)",
            thousands(count(Layer::Compound)),
        ),
        ("stationed units (驻区单位)", thousands(count(Layer::Unit))),
        (
            "street shops (沿街商铺)",
            format!(
                "{} ({} `archived`)",
                thousands(count(Layer::Shop)),
                thousands(flagged(Layer::Shop))
            ),
        ),
        (
            "social organisations (社会组织)",
            format!(
                "{} ({} `archived`; 10 volunteer teams, {} `members`)",
                thousands(count(Layer::SocialOrg)),
                thousands(flagged(Layer::SocialOrg)),
                of(Layer::SocialOrg)
                    .filter_map(|f| f.properties.get("members")?.as_u64())
                    .sum::<u64>()
            ),
        ),
        (
            "service stations (便民驿站)",
            thousands(count(Layer::ServiceStation)),
        ),
        (
            "party-and-public service centres (党群服务中心)",
            thousands(count(Layer::PartyCenter)),
        ),
        (
            "households (居民户, sum over party grids)",
            thousands(households.iter().sum()),
        ),
        (
            "residents (居民, sum over party grids)",
            thousands(of(Layer::PartyGrid).map(|f| number(f, "residents")).sum()),
        ),
        (
            "households per party grid",
            format!(
                "{}–{}, mean {:.0}",
                households.iter().min().unwrap_or(&0),
                households.iter().max().unwrap_or(&0),
                households.iter().sum::<u64>() as f64 / households.len().max(1) as f64
            ),
        ),
        ("party grids outside 300–500 households", outside.join(", ")),
    ];
    let _ = writeln!(s, "| what | figure |\n| --- | --- |");
    for (what, figure) in rows {
        let _ = writeln!(s, "| {what} | {figure} |");
    }
    let _ = writeln!(
        s,
        "\n| code | community | party grids | commercial grids | households | residents | area km² |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for c in of(Layer::Community) {
        let in_c = |layer: Layer| {
            of(layer)
                .filter(|f| f.parent.as_deref() == Some(&c.code))
                .count()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.3} |",
            c.code,
            c.name,
            in_c(Layer::PartyGrid),
            in_c(Layer::CommercialGrid),
            thousands(number(c, "households")),
            thousands(number(c, "residents")),
            c.geometry.geodesic_area_unsigned() / 1e6
        );
    }
    let _ = writeln!(
        s,
        "\n| fault | feature | community | with | where | at (lon, lat) | area m² |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for f in &sub.faults {
        let kind = match f.kind {
            FaultKind::Gap => "gap",
            FaultKind::Overlap => "overlap",
            FaultKind::CrossBoundary => "grid crosses its community boundary",
            FaultKind::ShopOutside => "shop in no party grid",
        };
        let area = if f.kind == FaultKind::ShopOutside {
            "—".to_string()
        } else {
            format!("{:.0}", f.area_m2)
        };
        let _ = writeln!(
            s,
            "| {kind} | {} | {} | {} | {} | {:.5}, {:.5} | {area} |",
            f.code,
            f.community,
            f.other,
            f.place,
            anchor(&f.region).x,
            anchor(&f.region).y
        );
    }
    s
}
#[test]
fn every_layer_has_the_reported_count() {
    let count = |l: Layer| layer(l).count();
    assert_eq!(count(Layer::Subdistrict), 1);
    assert_eq!(count(Layer::Community), COMMUNITIES);
    assert_eq!(count(Layer::PartyGrid), PARTY_GRIDS);
    assert_eq!(count(Layer::CommercialGrid), COMMERCIAL_GRIDS);
    assert_eq!(count(Layer::Compound), COMPOUNDS);
    assert_eq!(count(Layer::Unit), UNITS);
    assert_eq!(count(Layer::Shop), SHOPS);
    assert_eq!(count(Layer::SocialOrg), SOCIAL_ORGS);
    assert_eq!(count(Layer::PartyCenter), COMMUNITIES + 1);
    let stations = count(Layer::ServiceStation);
    assert!((COMMUNITIES..=3 * COMMUNITIES).contains(&stations));
    let archived = |l: Layer| {
        layer(l)
            .filter(|f| f.properties["archived"].as_bool() == Some(true))
            .count()
    };
    assert_eq!(archived(Layer::Shop), SHOPS_ARCHIVED);
    assert_eq!(archived(Layer::SocialOrg), ORGS_ARCHIVED);
    let members: u64 = layer(Layer::SocialOrg)
        .filter_map(|f| f.properties.get("members"))
        .map(|m| m.as_u64().unwrap())
        .sum();
    assert_eq!(members, VOLUNTEERS);
}

#[test]
fn households_and_residents_add_up() {
    let sum = |l: Layer, key: &str| layer(l).map(|f| number(f, key)).sum::<u64>();
    assert_eq!(sum(Layer::PartyGrid, "households"), HOUSEHOLDS);
    assert_eq!(sum(Layer::PartyGrid, "residents"), RESIDENTS);
    assert_eq!(sum(Layer::Community, "households"), HOUSEHOLDS);
    assert_eq!(sum(Layer::Community, "residents"), RESIDENTS);
    assert_eq!(sum(Layer::Subdistrict, "households"), HOUSEHOLDS);
    let h: Vec<u64> = layer(Layer::PartyGrid)
        .map(|f| number(f, "households"))
        .collect();
    let inside = h.iter().filter(|x| (300..=500).contains(*x)).count();
    assert!(inside >= 60, "{h:?}");
    assert!(h.iter().filter(|x| **x < 300).count() >= 2);
    assert!(h.iter().filter(|x| **x > 500).count() >= 2);
    // Compounds hold most, never all, of their grid's households.
    for g in layer(Layer::PartyGrid) {
        let held: u64 = layer(Layer::Compound)
            .filter(|c| {
                c.parent.as_deref() == Some(&g.code)
                    || demo()
                        .faults
                        .iter()
                        .any(|f| f.other == c.code && f.code == g.code)
            })
            .map(|c| number(c, "households"))
            .sum();
        assert!(held > 0 && held < number(g, "households"), "{}", g.code);
    }
    for f in layer(Layer::PartyGrid) {
        let ratio = number(f, "residents") as f64 / number(f, "households") as f64;
        assert!((3.4..4.2).contains(&ratio), "{} {ratio}", f.code);
    }
}

#[test]
fn the_area_is_thirteen_and_a_half_square_kilometres() {
    let a = area(&layer(Layer::Subdistrict).next().unwrap().geometry);
    assert!((a - AREA_M2).abs() < 0.02 * AREA_M2, "{a}");
    // The scaling is exact up to rounding the coordinates.
    assert!((a - AREA_M2).abs() < 1e-4 * AREA_M2, "{a}");
}

#[test]
fn it_lies_in_central_china() {
    for f in &demo().features {
        let c = anchor(&f.geometry);
        assert!(
            (113.5..113.8).contains(&c.x) && (34.6..34.85).contains(&c.y),
            "{}",
            f.code
        );
    }
}

#[test]
fn every_polygon_is_valid_closed_and_oriented() {
    let mut polygons = 0;
    for f in &demo().features {
        let ps: Vec<Polygon<f64>> = match &f.geometry {
            Geometry::Point(_) => continue,
            g => multi(g).0,
        };
        assert!(
            f.geometry.is_valid(),
            "{}: {:?}",
            f.code,
            f.geometry.validation_errors()
        );
        for p in ps {
            polygons += 1;
            assert!(
                p.exterior().is_closed() && p.exterior().is_ccw(),
                "{}",
                f.code
            );
            for h in p.interiors() {
                assert!(h.is_closed() && h.is_cw(), "{} hole", f.code);
            }
        }
    }
    assert_eq!(
        polygons,
        1 + COMMUNITIES + PARTY_GRIDS + COMMERCIAL_GRIDS + COMPOUNDS
    );
}

/// `parts` cover `whole` exactly: their areas add up and no two overlap.
fn assert_tiles(whole: &FeatureDraft, parts: &[&FeatureDraft]) {
    let sum: f64 = parts.iter().map(|p| area(&p.geometry)).sum();
    let total = area(&whole.geometry);
    assert!(
        (sum - total).abs() < 1e-4 * total,
        "{}: {sum} of {total}",
        whole.code
    );
    for (k, a) in parts.iter().enumerate() {
        for b in &parts[k + 1..] {
            let o = overlap_m2(&a.geometry, &b.geometry);
            assert!(o < 0.01, "{} and {} overlap by {o} m²", a.code, b.code);
        }
    }
}

#[test]
fn communities_tile_the_subdistrict() {
    let communities: Vec<&FeatureDraft> = layer(Layer::Community).collect();
    assert_tiles(layer(Layer::Subdistrict).next().unwrap(), &communities);
    for c in communities {
        let parts = multi(&c.geometry).0;
        assert!(
            parts.len() == 1 && parts[0].interiors().is_empty(),
            "{}",
            c.code
        );
    }
}

#[test]
fn party_grids_tile_each_clean_community() {
    let faulted = faulted_communities();
    assert_eq!(faulted.len(), 5);
    let clean: Vec<&FeatureDraft> = layer(Layer::Community)
        .filter(|c| !faulted.contains(&c.code))
        .collect();
    assert_eq!(clean.len(), COMMUNITIES - 5);
    for c in clean {
        let grids: Vec<&FeatureDraft> = layer(Layer::PartyGrid)
            .filter(|g| g.parent.as_deref() == Some(&c.code))
            .collect();
        assert_tiles(c, &grids);
    }
}

#[test]
fn neighbours_share_identical_vertices() {
    let vertices = |code: &str| -> BTreeSet<(u64, u64)> {
        multi(&by_code(code).geometry)
            .0
            .iter()
            .flat_map(|p| p.exterior().0.clone())
            .map(|c| (c.x.to_bits(), c.y.to_bits()))
            .collect()
    };
    let communities: Vec<&FeatureDraft> = layer(Layer::Community).collect();
    let mut shared = 0;
    for (k, a) in communities.iter().enumerate() {
        for b in &communities[k + 1..] {
            if multi(&a.geometry).intersects(&multi(&b.geometry)) {
                // Communities meet along streets or, a few, at one crossing.
                let common = vertices(&a.code).intersection(&vertices(&b.code)).count();
                assert!(common >= 1, "{} {}", a.code, b.code);
                if common >= 2 {
                    shared += 1;
                }
            }
        }
    }
    assert!(shared >= COMMUNITIES);
}

#[test]
fn the_planted_faults_are_where_the_readme_says() {
    let faults = &demo().faults;
    let kinds: Vec<FaultKind> = faults.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FaultKind::Gap,
            FaultKind::Gap,
            FaultKind::Overlap,
            FaultKind::CrossBoundary,
            FaultKind::ShopOutside
        ]
    );
    let grids: Vec<&FeatureDraft> = layer(Layer::PartyGrid).collect();
    for f in faults {
        let community = &by_code(&f.community).geometry;
        let grid = &by_code(&f.code).geometry;
        match f.kind {
            FaultKind::Gap => {
                assert!(f.area_m2 > 1000.0, "{}", f.code);
                assert!((overlap_m2(&f.region, community) - f.area_m2).abs() < 0.01 * f.area_m2);
                for g in &grids {
                    assert!(
                        overlap_m2(&f.region, &g.geometry) < 0.01,
                        "{} {}",
                        f.code,
                        g.code
                    );
                }
            }
            FaultKind::Overlap => {
                let other = &by_code(&f.other).geometry;
                assert_eq!(by_code(&f.other).parent, by_code(&f.code).parent);
                let o = overlap_m2(grid, other);
                assert!(
                    (o - f.area_m2).abs() < 0.01 * f.area_m2,
                    "{o} {}",
                    f.area_m2
                );
            }
            FaultKind::CrossBoundary => {
                let outside = area(grid) - overlap_m2(grid, community);
                assert!((outside - f.area_m2).abs() < 0.01 * f.area_m2, "{outside}");
                let into = overlap_m2(grid, &by_code(&f.other).geometry);
                assert!((into - f.area_m2).abs() < 0.01 * f.area_m2, "{into}");
            }
            FaultKind::ShopOutside => {
                let Geometry::Point(p) = f.region else {
                    panic!()
                };
                assert!(grids.iter().all(|g| !g.geometry.intersects(&p)));
                assert!(community.contains(&p));
                assert_eq!(
                    by_code(&f.code).parent.as_deref(),
                    Some(f.community.as_str())
                );
            }
        }
    }
    // Exactly one shop lies in no party grid.
    let outside = layer(Layer::Shop)
        .filter(|s| grids.iter().all(|g| !g.geometry.intersects(&s.geometry)))
        .count();
    assert_eq!(outside, 1);
}

#[test]
fn features_lie_in_their_parents() {
    let faulted = faulted_grids();
    for f in &demo().features {
        let Some(parent) = &f.parent else {
            assert_eq!(f.layer, Layer::Subdistrict);
            continue;
        };
        let p = by_code(parent);
        match f.layer {
            Layer::Subdistrict => panic!("a subdistrict with a parent"),
            Layer::Community => assert_eq!(p.layer, Layer::Subdistrict),
            Layer::PartyGrid | Layer::CommercialGrid => {
                assert_eq!(p.layer, Layer::Community, "{}", f.code);
                if !faulted.contains(&f.code) {
                    assert!(p.geometry.contains(&f.geometry), "{}", f.code);
                }
            }
            _ => {
                assert!(
                    matches!(
                        p.layer,
                        Layer::PartyGrid | Layer::Community | Layer::Subdistrict
                    ),
                    "{}",
                    f.code
                );
                assert!(p.geometry.contains(&f.geometry), "{} in {}", f.code, p.code);
            }
        }
    }
}

#[test]
fn codes_follow_the_scheme() {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let sub = layer(Layer::Subdistrict).next().unwrap();
    assert_eq!(sub.code, "419901001");
    let mut seen = BTreeSet::new();
    for f in &demo().features {
        assert!(
            seen.insert((f.layer, f.code.clone())),
            "duplicate {}",
            f.code
        );
        let parent = f.parent.as_deref().unwrap_or("");
        match f.layer {
            Layer::Subdistrict => assert!(f.code.len() == 9 && digits(&f.code)),
            Layer::Community => {
                assert!(f.code.len() == 12 && digits(&f.code) && f.code.starts_with(parent));
                assert!(f.name.ends_with("社区"));
            }
            Layer::PartyGrid | Layer::CommercialGrid => {
                assert!(f.code.len() == 15 && digits(&f.code) && f.code.starts_with(parent));
                let seq: u32 = f.code[12..].parse().unwrap();
                if f.layer == Layer::PartyGrid {
                    assert!(seq < 900);
                    let community = &by_code(parent).name;
                    assert_eq!(f.name, format!("{community}第{seq}网格"));
                } else {
                    assert!(seq >= 901);
                    assert!(f.name.ends_with("专属网格") || f.name.ends_with("商务楼宇网格"));
                }
            }
            _ => {
                assert_eq!(f.code.len(), 18, "{}", f.code);
                assert!(digits(&f.code[..12]) && digits(&f.code[14..]));
                assert_eq!(&f.code[12..14], build::layer_tag(f.layer));
                assert!(f.code.starts_with(&parent[..9]));
            }
        }
    }
}

/// Sequence numbers count from 1 (or 901) without holes, in numbering order.
#[test]
fn numbering_runs_north_to_south_then_west_to_east() {
    let faulted = faulted_grids();
    let check = |container: &FeatureDraft, members: Vec<&FeatureDraft>, skip: &BTreeSet<String>| {
        let north = north_edge(&container.geometry);
        let mut by_code = members.clone();
        by_code.sort_by(|a, b| a.code.cmp(&b.code));
        let keys: Vec<(i64, f64)> = by_code
            .iter()
            .filter(|f| !skip.contains(&f.code))
            .map(|f| order_key(north, anchor(&f.geometry)))
            .collect();
        for w in keys.windows(2) {
            assert!(
                w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 <= w[1].1),
                "{}: {w:?}",
                container.code
            );
        }
    };
    let sub = layer(Layer::Subdistrict).next().unwrap();
    check(sub, layer(Layer::Community).collect(), &BTreeSet::new());
    let none = BTreeSet::new();
    for c in layer(Layer::Community) {
        let children = |l: Layer| -> Vec<&FeatureDraft> {
            demo()
                .features
                .iter()
                .filter(|f| f.layer == l && f.code.starts_with(&c.code))
                .collect()
        };
        // Sequence numbers start at `first` and have no holes.
        let sequence = |items: &[&FeatureDraft], at: usize, first: u32| {
            let seqs: Vec<u32> = items
                .iter()
                .map(|f| f.code[at..].parse().unwrap())
                .collect();
            assert_eq!(
                seqs,
                (first..first + items.len() as u32).collect::<Vec<_>>()
            );
        };
        let grids = children(Layer::PartyGrid);
        sequence(&grids, 12, 1);
        check(c, grids, &faulted);
        let commercial = children(Layer::CommercialGrid);
        sequence(&commercial, 12, 901);
        check(c, commercial, &none);
        for l in [
            Layer::Compound,
            Layer::Unit,
            Layer::Shop,
            Layer::SocialOrg,
            Layer::ServiceStation,
        ] {
            let items = children(l);
            sequence(&items, 14, 1);
            check(c, items, &none);
        }
    }
}

#[test]
fn properties_are_complete_and_chinese() {
    let has = |f: &FeatureDraft, keys: &[&str]| {
        for k in keys {
            assert!(f.properties.contains_key(k), "{} lacks {k}", f.code);
        }
    };
    for f in &demo().features {
        match f.layer {
            Layer::Subdistrict => assert_eq!(f.name, "锦河街道"),
            Layer::Community => has(
                f,
                &[
                    "office_address",
                    "office_phone",
                    "party_org",
                    "households",
                    "residents",
                    "services",
                ],
            ),
            Layer::PartyGrid => has(
                f,
                &[
                    "households",
                    "residents",
                    "grid_worker",
                    "grid_worker_phone",
                    "grid_leader",
                    "buildings",
                ],
            ),
            Layer::CommercialGrid => {
                has(f, &["kind", "grid_worker", "grid_worker_phone", "address"])
            }
            Layer::Compound => {
                has(
                    f,
                    &["households", "buildings", "property_company", "address"],
                );
                assert!(
                    [
                        "小区",
                        "花园",
                        "家园",
                        "苑",
                        "新村",
                        "公寓",
                        "嘉园",
                        "名居",
                        "家属院"
                    ]
                    .iter()
                    .any(|s| f.name.ends_with(s))
                );
            }
            Layer::Unit | Layer::Shop | Layer::SocialOrg => {
                has(f, &["category", "address", "phone"])
            }
            Layer::ServiceStation => assert!(f.name.ends_with("便民驿站")),
            Layer::PartyCenter => assert!(f.name.ends_with("党群服务中心")),
            Layer::Address => assert!(
                f.name.ends_with(['号', '栋', '元', '室']) || f.properties.contains_key("compound")
            ),
        }
        assert!(
            !f.name.ends_with(|c: char| c.is_ascii_digit()),
            "{}",
            f.name
        );
        if let Some(a) = f.properties.get("address").and_then(|a| a.as_str()) {
            assert!(
                a.ends_with('号') && ["路", "街", "巷"].iter().any(|s| a.contains(s)),
                "{a}"
            );
        }
    }
    // Addresses are unique: one house number, one feature.
    let addresses: Vec<&str> = demo()
        .features
        .iter()
        .filter(|f| !matches!(f.layer, Layer::Subdistrict | Layer::Community))
        .filter_map(|f| f.properties.get("address").and_then(|a| a.as_str()))
        .collect();
    let distinct: BTreeSet<&&str> = addresses.iter().collect();
    assert_eq!(distinct.len(), addresses.len());
    let commercial: BTreeMap<&str, usize> =
        layer(Layer::CommercialGrid).fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f.properties["kind"].as_str().unwrap()).or_default() += 1;
            m
        });
    assert_eq!(commercial.len(), 2);
}

#[test]
fn generating_twice_gives_the_same_features() {
    let again = build::build(&demo_spec());
    assert!(again.features == demo().features);
    let addresses = super::addresses::generate(&demo().features);
    assert_eq!(
        generate(Scale::Demo).len(),
        demo().features.len() + addresses.len()
    );
}

#[test]
fn the_readme_shows_the_generated_figures() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("maps/README.md"))
            .unwrap_or_default();
    let tables = summary(demo());
    assert!(
        readme.contains(&tables),
        "maps/README.md does not contain the generated tables:\n{tables}"
    );
}

/// The embedded demo reads back as the generated features (once the GeoJSON reader exists).
#[test]
fn the_embedded_demo_is_the_generated_demo() {
    let embedded = embedded();
    let generated = generate(Scale::Demo);
    assert_eq!(embedded.len(), generated.len());
    for (a, b) in embedded.iter().zip(&generated) {
        assert_eq!(a, b);
    }
}

/// The city's layout, and two of its subdistricts in full (fast in every profile).
#[test]
fn city_subdistricts_are_distinct_and_apart() {
    let specs = city_specs();
    assert!(specs.len() >= 100);
    let codes: BTreeSet<String> = specs
        .iter()
        .map(|s| format!("{}{:03}", s.county, s.number))
        .collect();
    assert_eq!(codes.len(), specs.len());
    let seeds: BTreeSet<u64> = specs.iter().map(|s| s.seed).collect();
    assert_eq!(seeds.len(), specs.len());
    let (a, b) = (build::build(&specs[0]), build::build(&specs[1]));
    for sub in [&a, &b] {
        let count = |l: Layer| sub.features.iter().filter(|f| f.layer == l).count();
        assert_eq!(count(Layer::PartyGrid), PARTY_GRIDS);
        assert!(specs.len() * PARTY_GRIDS >= 5_000);
        let points = sub
            .features
            .iter()
            .filter(|f| matches!(f.geometry, Geometry::Point(_)))
            .count();
        assert!(specs.len() * points >= 200_000);
        assert_eq!(sub.faults.len(), 5);
    }
    let outline = |s: &Subdistrict| s.features[0].geometry.clone();
    assert!(!outline(&a).intersects(&outline(&b)));
}

/// The whole city (about 40 s without optimisation; worth it, since the benchmarks rely on it).
#[test]
fn the_city_is_big_enough() {
    let city = generate(Scale::City);
    let count = |l: Layer| city.iter().filter(|f| f.layer == l).count();
    assert!(count(Layer::Subdistrict) >= 100);
    assert!(count(Layer::PartyGrid) >= 5_000);
    let points = city
        .iter()
        .filter(|f| matches!(f.geometry, Geometry::Point(_)))
        .count();
    assert!(points >= 200_000, "{points}");
    let codes: BTreeSet<(Layer, &str)> = city.iter().map(|f| (f.layer, f.code.as_str())).collect();
    assert_eq!(codes.len(), city.len());
    // Subdistricts do not overlap one another.
    let subs: Vec<&FeatureDraft> = city
        .iter()
        .filter(|f| f.layer == Layer::Subdistrict)
        .collect();
    for w in subs.windows(2) {
        assert!(
            !w[0].geometry.intersects(&w[1].geometry),
            "{} {}",
            w[0].code,
            w[1].code
        );
    }
}
