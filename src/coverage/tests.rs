//! Unit tests on generated partitions with faults of known size, and on the demo's planted faults.

use super::*;
use crate::demo::{self, FaultKind};
use crate::model::FeatureDraft;
use geo::{Coord, LineString, Polygon};
use geom::LocalFrame;

fn snapshot_of(drafts: Vec<FeatureDraft>) -> Snapshot {
    Snapshot::new(1, drafts.into_iter().map(|d| d.into_feature(1)).collect())
}

fn demo_report() -> CoverageReport {
    let snap = snapshot_of(demo::embedded());
    report(&snap, &CoverageOptions::default()).unwrap()
}

#[test]
fn demo_planted_faults_are_found() {
    let t = std::time::Instant::now();
    let r = demo_report();
    eprintln!("demo report in {:?}", t.elapsed());
    let faults = demo::planted_faults();
    for f in &faults {
        eprintln!("{:?} {} {} {}", f.kind, f.code, f.community, f.area_m2);
    }
    for c in &r.communities {
        eprintln!(
            "{} gap {:.1} ({}) overlap {:.1} ({}) outside {:.1} ({}) slivers {} noise {} covered {:.1} area {:.1}",
            c.code,
            c.gap_area_m2,
            c.gaps.len(),
            c.overlap_area_m2,
            c.overlaps.len(),
            c.outside_area_m2,
            c.outside.len(),
            c.slivers.len(),
            c.noise_pieces,
            c.covered_area_m2,
            c.area_m2
        );
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 0.001 * b.max(1.0);
    for f in &faults {
        let c = r
            .communities
            .iter()
            .find(|c| c.code == f.community)
            .unwrap();
        match f.kind {
            FaultKind::Gap => assert!(
                c.gaps.iter().any(|g| close(g.area_m2, f.area_m2)),
                "{f:?} not in {:?}",
                c.gaps.iter().map(|g| g.area_m2).collect::<Vec<_>>()
            ),
            FaultKind::Overlap => assert!(c.overlaps.iter().any(|o| close(o.area_m2, f.area_m2)
                && o.grids.contains(&f.code)
                && o.grids.contains(&f.other))),
            FaultKind::CrossBoundary => assert!(
                c.outside
                    .iter()
                    .any(|o| o.grid == f.code && close(o.area_m2, f.area_m2))
            ),
            FaultKind::ShopOutside => assert!(r.points_outside.iter().any(|p| p.code == f.code)),
        }
    }
    // The communities a fault is in or reaches into.
    let faulty: Vec<&str> = faults
        .iter()
        .flat_map(|f| match f.kind {
            FaultKind::CrossBoundary => vec![f.community.as_str(), f.other.as_str()],
            _ => vec![f.community.as_str()],
        })
        .collect();
    let clean: Vec<_> = r
        .communities
        .iter()
        .filter(|c| !faulty.contains(&c.code.as_str()))
        .collect();
    assert_eq!(clean.len(), 5);
    for c in clean {
        assert!(
            c.gaps.is_empty() && c.overlaps.is_empty() && c.outside.is_empty(),
            "{}",
            c.code
        );
        assert_eq!(c.gap_area_m2.to_bits(), 0.0f64.to_bits());
    }
    // The community reached into reports no overlap: the grid is listed under its own community.
    let reached = r
        .communities
        .iter()
        .find(|c| c.code == "419901001001")
        .unwrap();
    assert!(reached.overlaps.is_empty() && reached.gaps.is_empty());
    assert!(
        r.subdistricts
            .iter()
            .all(|s| s.gaps.is_empty() && s.overlaps.is_empty())
    );
    for c in &r.communities {
        assert!((c.covered_area_m2 + c.gap_area_m2 - c.area_m2).abs() <= 1e-4 * c.area_m2);
    }
}

/// A polygon from metre coordinates around (113.6°E, 34.7°N).
fn poly_m(exterior: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon<f64> {
    let f = LocalFrame::new(Coord { x: 113.6, y: 34.7 });
    let ring = |pts: &[(f64, f64)]| {
        let mut v: Vec<Coord<f64>> = pts
            .iter()
            .map(|&(x, y)| f.to_lonlat(Coord { x, y }))
            .collect();
        v.push(v[0]);
        LineString(v)
    };
    Polygon::new(ring(exterior), holes.iter().map(|h| ring(h)).collect())
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    poly_m(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], &[])
}

fn draft(layer: Layer, code: &str, parent: &str, g: geo::Geometry<f64>) -> FeatureDraft {
    FeatureDraft {
        layer,
        code: code.into(),
        name: code.into(),
        parent: (!parent.is_empty()).then(|| parent.into()),
        properties: Default::default(),
        geometry: g,
    }
}

const C1: &str = "419901001001";
const C2: &str = "419901001002";

fn grid(n: u32, parent: &str, p: Polygon<f64>) -> FeatureDraft {
    draft(
        Layer::PartyGrid,
        &format!("{parent}{n:03}"),
        parent,
        p.into(),
    )
}

fn community(code: &str, g: impl Into<geo::Geometry<f64>>) -> FeatureDraft {
    draft(Layer::Community, code, "419901001", g.into())
}

fn run(drafts: Vec<FeatureDraft>) -> CoverageReport {
    report(&snapshot_of(drafts), &CoverageOptions::default()).unwrap()
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.001 * b.abs().max(1.0)
}

#[test]
fn gap_overlap_and_outside_of_known_size() {
    // Community 200 × 100 m. Grid 1: 0..100 (reaches 10 m below the community: outside 1000 m²);
    // grid 2: 90..180 (overlap 10 × 100 = 1000 m²); gap 180..200 (2000 m²).
    let r = run(vec![
        community(C1, rect(0., 0., 200., 100.)),
        grid(1, C1, rect(0., -10., 100., 100.)),
        grid(2, C1, rect(90., 0., 180., 100.)),
    ]);
    let c = &r.communities[0];
    assert!(near(c.area_m2, 20_000.0), "{}", c.area_m2);
    assert_eq!(c.gaps.len(), 1);
    assert!(near(c.gap_area_m2, 2_000.0), "{}", c.gap_area_m2);
    assert!(near(c.gaps[0].width_m, 20.0), "{}", c.gaps[0].width_m);
    assert_eq!(c.gaps[0].neighbours[0].grid, format!("{C1}002"));
    assert!(near(c.gaps[0].neighbours[0].shared_border_m, 100.0));
    assert!(near(c.overlap_area_m2, 1_000.0), "{}", c.overlap_area_m2);
    assert_eq!(
        c.overlaps[0].grids,
        [format!("{C1}001"), format!("{C1}002")]
    );
    assert!(near(c.outside_area_m2, 1_000.0));
    assert_eq!(c.outside[0].grid, format!("{C1}001"));
    assert!(near(c.covered_area_m2 + c.gap_area_m2, c.area_m2));
}

#[test]
fn grids_sharing_only_a_vertex_or_an_edge_do_not_overlap() {
    let r = run(vec![
        community(C1, rect(0., 0., 200., 200.)),
        grid(1, C1, rect(0., 0., 100., 100.)),
        grid(2, C1, rect(100., 100., 200., 200.)),
        grid(3, C1, rect(100., 0., 200., 100.)),
        grid(4, C1, rect(0., 100., 100., 200.)),
    ]);
    let c = &r.communities[0];
    assert!(c.overlaps.is_empty() && c.gaps.is_empty() && c.outside.is_empty());
    assert!(c.slivers.is_empty(), "{:?}", c.slivers);
    assert_eq!(c.overlap_area_m2.to_bits(), 0.0f64.to_bits());
}

#[test]
fn holes_enclaves_and_multipart_communities() {
    // C1 is two squares (a multi-part community, one part an exclave) with a 20 × 20 m hole in
    // the first; the hole is C2 (an enclave). Grid 1 covers the first part but not the hole; the
    // exclave has no grid (a gap of 50 × 50 m).
    let hole = [(40., 40.), (60., 40.), (60., 60.), (40., 60.)];
    let part1 = poly_m(&[(0., 0.), (100., 0.), (100., 100.), (0., 100.)], &[&hole]);
    let exclave = rect(300., 0., 350., 50.);
    let r = run(vec![
        community(C1, geo::MultiPolygon(vec![part1.clone(), exclave])),
        community(C2, poly_m(&hole, &[])),
        grid(1, C1, part1),
        grid(1, C2, poly_m(&hole, &[])),
    ]);
    let c1 = r.communities.iter().find(|c| c.code == C1).unwrap();
    assert!(
        near(c1.area_m2, 10_000.0 - 400.0 + 2_500.0),
        "{}",
        c1.area_m2
    );
    assert_eq!(c1.gaps.len(), 1);
    assert!(near(c1.gap_area_m2, 2_500.0));
    assert!(c1.overlaps.is_empty() && c1.outside.is_empty());
    let c2 = r.communities.iter().find(|c| c.code == C2).unwrap();
    assert!(c2.gaps.is_empty() && c2.outside.is_empty());
    assert!(near(c2.area_m2, 400.0));
}

#[test]
fn a_grid_filling_a_hole_is_outside() {
    // Grid 1 ignores C1's hole: the hole's 400 m² lie outside C1.
    let hole = [(40., 40.), (60., 40.), (60., 60.), (40., 60.)];
    let r = run(vec![
        community(
            C1,
            poly_m(&[(0., 0.), (100., 0.), (100., 100.), (0., 100.)], &[&hole]),
        ),
        grid(1, C1, rect(0., 0., 100., 100.)),
    ]);
    let c = &r.communities[0];
    assert!(near(c.outside_area_m2, 400.0), "{}", c.outside_area_m2);
    assert!(c.gaps.is_empty());
}

#[test]
fn slivers_are_kept_apart() {
    // A 0.2 m strip between two grids, and a 0.3 m overlap: both slivers.
    let r = run(vec![
        community(C1, rect(0., 0., 200., 100.)),
        grid(1, C1, rect(0., 0., 99.9, 100.)),
        grid(2, C1, rect(100.1, 0., 200., 50.)),
        grid(3, C1, rect(100.1, 49.7, 200., 100.)),
    ]);
    let c = &r.communities[0];
    assert!(c.gaps.is_empty() && c.overlaps.is_empty(), "{c:?}");
    assert_eq!(c.slivers.len(), 2, "{:?}", c.slivers);
    assert_eq!(c.gap_area_m2.to_bits(), 0.0f64.to_bits());
    // The strip lies along grid 1 and, on the other side, grids 2 and 3 (half each): the
    // longest two borders name it, and it is credited with the shorter of the two.
    let gap = c.slivers.iter().find(|s| s.gap_area_m2 > 0.0).unwrap();
    assert!(
        near(gap.gap_area_m2, 20.0) && near(gap.max_width_m, 0.2),
        "{gap:?}"
    );
    assert!(
        gap.grids.len() == 2 && gap.grids[0] == format!("{C1}001"),
        "{gap:?}"
    );
    assert!((gap.length_m - 50.0).abs() < 1.0, "{gap:?}");
    let overlap = c.slivers.iter().find(|s| s.overlap_area_m2 > 0.0).unwrap();
    assert!(
        near(overlap.max_width_m, 0.3) && !overlap.boundary,
        "{overlap:?}"
    );
    // Raised threshold off: a 0.1 m threshold lists them as faults.
    let opts = CoverageOptions {
        sliver_width_m: 0.1,
        ..CoverageOptions::default()
    };
    let snap = snapshot_of(vec![
        community(C1, rect(0., 0., 200., 100.)),
        grid(1, C1, rect(0., 0., 99.9, 100.)),
        grid(2, C1, rect(100.1, 0., 200., 100.)),
    ]);
    let r = report(&snap, &opts).unwrap();
    assert_eq!(r.communities[0].gaps.len(), 1);
}

#[test]
fn data_faults_are_listed() {
    let r = run(vec![
        draft(
            Layer::Subdistrict,
            "419901001",
            "",
            rect(0., 0., 400., 100.).into(),
        ),
        community(C1, rect(0., 0., 200., 100.)),
        community(C2, rect(190., 0., 400., 100.)),
        // Mostly in C2 but says C1; code off the scheme.
        draft(
            Layer::PartyGrid,
            "41990100100105",
            C1,
            rect(200., 0., 400., 100.).into(),
        ),
        grid(1, C1, rect(0., 0., 200., 100.)),
        // Same code as a community.
        draft(
            Layer::CommercialGrid,
            C2,
            C2,
            rect(250., 0., 260., 10.).into(),
        ),
    ]);
    let f = &r.faults;
    assert!(
        f.bad_codes.iter().any(|b| b.code == "41990100100105"),
        "{f:?}"
    );
    assert!(f.duplicate_codes.iter().any(|d| d.code == C2));
    let w = f
        .wrong_parents
        .iter()
        .find(|w| w.code == "41990100100105")
        .unwrap();
    assert_eq!(w.lies_in.as_deref(), Some(C2));
    let s = &r.subdistricts[0];
    assert!(near(s.overlap_area_m2, 1_000.0), "{}", s.overlap_area_m2);
}

#[test]
fn options_are_checked() {
    let snap = snapshot_of(vec![community(C1, rect(0., 0., 10., 10.))]);
    let bad = CoverageOptions {
        sliver_width_m: f64::NAN,
        ..CoverageOptions::default()
    };
    assert!(matches!(
        report(&snap, &bad),
        Err(CoverageError::BadSliverWidth(_))
    ));
    let bad = CoverageOptions {
        households_min: 600,
        ..CoverageOptions::default()
    };
    assert!(report(&snap, &bad).is_err());
    let bad = CoverageOptions {
        community: Some("x".into()),
        ..CoverageOptions::default()
    };
    assert_eq!(
        report(&snap, &bad).unwrap_err(),
        CoverageError::UnknownCommunity("x".into())
    );
    // An empty snapshot makes an empty report.
    let r = report(&Snapshot::default(), &CoverageOptions::default()).unwrap();
    assert!(r.communities.is_empty());
}

#[test]
fn demo_grid_balance_and_points() {
    let r = demo_report();
    assert_eq!(r.summary.households, demo::HOUSEHOLDS);
    assert_eq!(r.summary.residents, demo::RESIDENTS);
    assert_eq!(r.summary.shops, demo::SHOPS);
    assert_eq!(r.summary.compounds, demo::COMPOUNDS);
    let flagged: Vec<&str> = r
        .grids
        .iter()
        .filter(|g| g.balance != Balance::Ok)
        .map(|g| g.code.as_str())
        .collect();
    assert_eq!(
        flagged,
        [
            "419901001001001",
            "419901001003006",
            "419901001005007",
            "419901001006003"
        ]
    );
    let codes: Vec<&str> = r.points_outside.iter().map(|p| p.code.as_str()).collect();
    assert!(codes.contains(&"419901001009XQ0002"), "{codes:?}");
    assert!(codes.contains(&"419901001004SP0212"), "{codes:?}");
    assert!(r.faults.invalid_geometries.is_empty());
    assert!(r.faults.bad_codes.is_empty() && r.faults.duplicate_codes.is_empty());
    assert!(
        r.faults.wrong_parents.is_empty(),
        "{:?}",
        r.faults.wrong_parents
    );
}
