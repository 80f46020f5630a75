//! Orientation is nobody's business but the store's: the messy demo (rings wound at random, as
//! people draw them) and the same data with every ring of every feature reversed must give the
//! same coverage figures, the same lookups, both the fast and the exact way, and byte-identical
//! tiles. Proptest draws the messy demo's seed, the lookup points and the tiles; the store is not
//! involved (import would normalise the winding away), so every path has to be orientation-free
//! on its own.

use geo::{Geometry, LineString, MultiPolygon, Polygon};
use gridmap::coverage::{self, CoverageOptions};
use gridmap::demo::{self, Scale};
use gridmap::lookup;
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::Snapshot;
use gridmap::tiles::{self, geometry::TileId};
use proptest::prelude::*;

fn reversed(g: &Geometry<f64>) -> Geometry<f64> {
    let ring = |r: &LineString<f64>| LineString(r.0.iter().rev().cloned().collect());
    let poly = |p: &Polygon<f64>| {
        Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
    };
    match g {
        Geometry::Polygon(p) => Geometry::Polygon(poly(p)),
        Geometry::MultiPolygon(mp) => {
            Geometry::MultiPolygon(MultiPolygon(mp.0.iter().map(poly).collect()))
        }
        other => other.clone(),
    }
}

fn snapshots(seed: u64) -> (Snapshot, Snapshot) {
    let (drafts, _, _) = demo::generate_messy(Scale::Demo, seed);
    let features: Vec<Feature> = drafts.into_iter().map(|d| d.into_feature(1)).collect();
    let flipped: Vec<Feature> = features
        .iter()
        .map(|f| Feature {
            geometry: reversed(&f.geometry),
            ..f.clone()
        })
        .collect();
    (Snapshot::new(1, features), Snapshot::new(1, flipped))
}

fn codes(l: &lookup::Located<'_>) -> Vec<Option<String>> {
    let code = |f: Option<&Feature>| f.map(|f| f.code.clone());
    let mut out = vec![
        code(l.subdistrict),
        code(l.community),
        code(l.party_grid),
        code(l.compound),
        Some(l.on_boundary.to_string()),
    ];
    out.extend(l.commercial_grids.iter().map(|f| Some(f.code.clone())));
    out.extend(l.overlap.iter().map(|f| Some(f.code.clone())));
    out
}

/// Per layer and feature code, the feature's rings as tile coordinates.
type Decoded = Vec<(String, String, Vec<Vec<(i64, i64)>>)>;

/// A tile read by a second decoder (mvt-reader): per layer and feature code, its rings, each
/// started at its smallest vertex (where a ring starts is the encoder's choice, not the data's).
fn decoded(bytes: Vec<u8>) -> Decoded {
    if bytes.is_empty() {
        return Vec::new();
    }
    let reader = mvt_reader::Reader::new(bytes).unwrap();
    let mut out = Vec::new();
    for (i, name) in reader.get_layer_names().unwrap().into_iter().enumerate() {
        for f in reader.get_features(i).unwrap() {
            let code = match f.properties.as_ref().and_then(|p| p.get("code")) {
                Some(mvt_reader::feature::Value::String(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            let mut rings = Vec::new();
            let mut ring = |r: &geo::LineString<f32>| {
                let mut pts: Vec<(i64, i64)> =
                    r.0.iter().map(|c| (c.x as i64, c.y as i64)).collect();
                if pts.len() > 1 && pts.first() == pts.last() {
                    pts.pop();
                }
                let start = (0..pts.len()).min_by_key(|&k| pts[k]).unwrap_or(0);
                pts.rotate_left(start);
                rings.push(pts);
            };
            match &f.geometry {
                geo::Geometry::Polygon(p) => {
                    ring(p.exterior());
                    p.interiors().iter().for_each(&mut ring);
                }
                geo::Geometry::MultiPolygon(mp) => {
                    for p in &mp.0 {
                        ring(p.exterior());
                        p.interiors().iter().for_each(&mut ring);
                    }
                }
                other => rings.push(vec![(format!("{other:?}").len() as i64, 0)]),
            }
            out.push((name.clone(), code, rings));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    #[test]
    fn either_winding_gives_the_same_answers(
        seed in 0u64..1_000_000,
        points in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0), 300),
        zooms in prop::collection::vec(12u8..=17, 3),
    ) {
        let (a, b) = snapshots(seed);
        let options = CoverageOptions::default();
        let (ra, rb) = (coverage::report(&a, &options).unwrap(), coverage::report(&b, &options).unwrap());
        for (x, y) in ra.communities.iter().zip(&rb.communities) {
            let figures = |c: &coverage::CommunityCoverage| {
                [c.covered_area_m2, c.gap_area_m2, c.overlap_area_m2, c.outside_area_m2]
            };
            for (p, q) in figures(x).iter().zip(figures(y)) {
                prop_assert!((p - q).abs() <= 1e-6 * p.abs().max(1.0), "{}: {p} vs {q}", x.code);
            }
            prop_assert_eq!(x.slivers.len(), y.slivers.len(), "{}", x.code);
            prop_assert_eq!(x.gaps.len(), y.gaps.len(), "{}", x.code);
        }
        let sub = a.layer(Layer::Subdistrict).next().unwrap();
        let bbox = geo::BoundingRect::bounding_rect(&sub.geometry).unwrap();
        for (u, v) in points {
            let p = geo::Coord {
                x: bbox.min().x + u * bbox.width(),
                y: bbox.min().y + v * bbox.height(),
            };
            let fast = (codes(&lookup::locate(&a, p)), codes(&lookup::locate(&b, p)));
            prop_assert_eq!(&fast.0, &fast.1, "fast lookup at {:?}", p);
            let exact = codes(&lookup::locate_exact(&b, p));
            prop_assert_eq!(&fast.0, &exact, "exact lookup at {:?}", p);
        }
        let b4 = [bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y];
        for z in zooms {
            let all = TileId::covering(b4, z);
            for t in all.iter().step_by((all.len() / 8).max(1)) {
                let (x, y) = (decoded(tiles::render(&a, *t)), decoded(tiles::render(&b, *t)));
                prop_assert_eq!(x, y, "tile {:?}", t);
            }
        }
    }
}
