use geo::{Geometry, Rect, coord};

use super::*;
use crate::model::Feature;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Geometry<f64> {
    Rect::new(coord!(x: x0, y: y0), coord!(x: x1, y: y1))
        .to_polygon()
        .into()
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

fn snapshot() -> Snapshot {
    Snapshot::new(
        1,
        vec![
            feature(
                Layer::Community,
                "410105001001",
                Some("410105001"),
                rect(0.0, 0.0, 0.01, 0.01),
            ),
            feature(
                Layer::PartyGrid,
                "410105001001001",
                Some("410105001001"),
                rect(0.0, 0.0, 0.005, 0.01),
            ),
            feature(
                Layer::PartyGrid,
                "410105001001002",
                Some("410105001001"),
                rect(0.005, 0.0, 0.01, 0.01),
            ),
        ],
    )
}

fn draft(code: &str, g: Geometry<f64>) -> FeatureDraft {
    FeatureDraft::from(feature(Layer::PartyGrid, code, Some("410105001001"), g))
}

#[test]
fn codes_follow_the_scheme() {
    assert_eq!(
        crate::rules::code_fault(Layer::PartyGrid, "410105001001001", Some("410105001001")),
        None
    );
    assert!(
        crate::rules::code_fault(Layer::PartyGrid, "41010500100101", Some("410105001001"))
            .unwrap()
            .contains("15 digits")
    );
    assert!(
        crate::rules::code_fault(Layer::PartyGrid, "410105001002001", Some("410105001001"))
            .unwrap()
            .contains("parent")
    );
    assert!(
        crate::rules::code_fault(Layer::PartyGrid, "410105001001000", Some("410105001001"))
            .unwrap()
            .contains("001..900")
    );
    assert_eq!(
        crate::rules::code_fault(
            Layer::CommercialGrid,
            "410105001001901",
            Some("410105001001")
        ),
        None
    );
    assert!(
        crate::rules::code_fault(
            Layer::CommercialGrid,
            "410105001001005",
            Some("410105001001")
        )
        .is_some()
    );
    assert_eq!(
        crate::rules::code_fault(Layer::Shop, "anything", Some("x")),
        None
    );
    let snap = snapshot();
    assert_eq!(
        next_code(&snap, Layer::PartyGrid, "410105001001", &[]).unwrap(),
        "410105001001003"
    );
    assert_eq!(
        next_code(&snap, Layer::CommercialGrid, "410105001001", &[]).unwrap(),
        "410105001001901"
    );
}

#[test]
fn a_grid_inside_its_community_and_off_its_siblings_passes() {
    let snap = snapshot();
    let ok = draft("410105001001001", rect(0.0, 0.0, 0.005, 0.01));
    assert!(
        check(&snap, &ok, &[], EditOptions::default())
            .reasons
            .is_empty()
    );
    // 0.3 m over the sibling and outside is within the 0.5 m tolerance (0.3 m ≈ 2.7e-6°).
    let nearly = draft(
        "410105001001001",
        rect(-0.000_002_7, 0.0, 0.005_002_7, 0.01),
    );
    assert!(
        check(&snap, &nearly, &[], EditOptions::default())
            .reasons
            .is_empty()
    );
}

#[test]
fn every_fault_is_named() {
    let snap = snapshot();
    let bad = draft("410105001001001", rect(-0.001, 0.0, 0.006, 0.01));
    let reasons = check(&snap, &bad, &[], EditOptions::default()).reasons;
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("reaches outside its community 410105001001"));
    assert!(reasons[1].contains("overlaps party grid 410105001001002"));
    let allowed = EditOptions {
        allow_overlap: true,
        ..Default::default()
    };
    assert_eq!(check(&snap, &bad, &[], allowed).reasons.len(), 1);
    // A replaced sibling does not count.
    let merged = draft("410105001001001", rect(0.0, 0.0, 0.01, 0.01));
    assert!(
        check(&snap, &merged, &["410105001001002"], EditOptions::default())
            .reasons
            .is_empty()
    );
    let mut orphan = draft("410105001001003", rect(0.0, 0.0, 0.001, 0.001));
    orphan.parent = Some("410105001009".into());
    let reasons = check(&snap, &orphan, &[], EditOptions::default()).reasons;
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("no community 410105001009")),
        "{reasons:?}"
    );
    let point = draft("410105001001001", geo::Point::new(0.001, 0.001).into());
    assert!(check(&snap, &point, &[], EditOptions::default()).reasons[0].contains("geometry type"));
}

#[test]
fn area_change_is_geodesic_and_signed_by_side() {
    let a = rect(0.0, 0.0, 0.01, 0.01);
    let b = rect(0.005, 0.0, 0.015, 0.01);
    let (gained, lost) = area_change(Some(&a), Some(&b));
    let half = crate::coverage::geom::area_m2(&areal(&rect(0.0, 0.0, 0.005, 0.01)).unwrap());
    assert!(
        (gained - half).abs() < 1.0 && (lost - half).abs() < 1.0,
        "{gained} {lost} {half}"
    );
    let (g, l) = area_change(None, Some(&a));
    assert!(g > 1_000_000.0 && l == 0.0);
    let (g, l) = area_change(Some(&a), None);
    assert!(g == 0.0 && l > 1_000_000.0);
}

#[test]
fn snapping_moves_near_vertices_onto_the_neighbour() {
    let neighbour = areal(&rect(0.005, 0.0, 0.01, 0.01)).unwrap();
    // 0.3 m east of the shared edge at the equator (1° ≈ 111.3 km).
    let drawn = areal(&rect(0.0, 0.0, 0.005 + 0.3 / 111_320.0, 0.01)).unwrap();
    let snapped = topology::snap(&drawn, std::slice::from_ref(&neighbour), 0.5);
    assert_eq!(snapped, areal(&rect(0.0, 0.0, 0.005, 0.01)).unwrap());
    // 2 m away stays where it was.
    let far = areal(&rect(0.0, 0.0, 0.005 + 2.0 / 111_320.0, 0.01)).unwrap();
    assert_eq!(topology::snap(&far, &[neighbour], 0.5), far);
}

/// On the demo: moving one vertex that a grid shares with exactly one sibling (and not with the
/// community's boundary) changes that grid and that sibling only; the other siblings keep their
/// geometry and version.
#[test]
fn adjust_leaves_untouched_siblings_alone() {
    use geo::{Centroid, CoordsIter};
    let features: Vec<Feature> = crate::demo::generate(crate::demo::Scale::Demo)
        .into_iter()
        .map(|d| d.into_feature(1))
        .collect();
    let snapshot = Snapshot::new(1, features);
    let mut tried = 0;
    for grid in snapshot.layer(Layer::PartyGrid) {
        let sibs = topology::siblings(&snapshot, &FeatureDraft::from(grid.clone()));
        if sibs.len() < 3 {
            continue;
        }
        let Some(community) = grid
            .parent
            .as_deref()
            .and_then(|p| snapshot.find(Layer::Community, p))
        else {
            continue;
        };
        let on = |g: &Geometry<f64>, c: geo::Coord<f64>| g.coords_iter().any(|v| v == c);
        let Some((c, b)) = grid.geometry.coords_iter().find_map(|c| {
            let holders: Vec<_> = sibs.iter().filter(|s| on(&s.geometry, c)).collect();
            (holders.len() == 1 && !on(&community.geometry, c)).then(|| (c, holders[0]))
        }) else {
            continue;
        };
        // Move the vertex 5 m towards the sibling's centre.
        let to = b.geometry.centroid().unwrap().0;
        let (dx, dy) = (to.x - c.x, to.y - c.y);
        let len = (dx * dx + dy * dy).sqrt();
        let moved = geo::coord! { x: c.x + dx / len * 5e-5, y: c.y + dy / len * 5e-5 };
        let mut geometry = grid.geometry.clone();
        geo::MapCoordsInPlace::map_coords_in_place(
            &mut geometry,
            |v| if v == c { moved } else { v },
        );
        let mut edited = FeatureDraft::from(grid.clone());
        edited.geometry = geometry;
        let drafts = topology::adjust(&snapshot, grid, edited, 0.5).unwrap();
        let codes: Vec<&str> = drafts.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            [grid.code.as_str(), b.code.as_str()],
            "moving {c:?} of {}",
            grid.code
        );
        tried += 1;
        if tried == 5 {
            return;
        }
    }
    panic!("the demo has only {tried} grids with a vertex shared with one sibling");
}
