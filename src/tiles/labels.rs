//! Label points: one point per areal feature where its name is drawn, and the text drawn there.
//!
//! MapLibre places a polygon's `symbol` label once per tile the polygon meets (its own anchor in
//! each tile's piece), so a grid spanning four tiles showed its name four times at zoom 16. The
//! tiles therefore carry separate point layers — `community_label`, `party_grid_label`,
//! `commercial_grid_label`, `compound_label` — with one point per feature, written into the one
//! tile that contains it (never into a neighbour's buffer), and the style's symbol layers read
//! those instead of the polygons.
//!
//! **Where.** The pole of inaccessibility (the `polylabel` crate: the centre of the largest circle
//! inside the polygon), which for the L- and U-shaped grids of old compounds lies well inside,
//! where a centroid can fall outside or on a neighbour. It is computed in a local metric frame
//! (metres east and north, conformal at the feature's centre, so the same shape as on the Web
//! Mercator map), with a tolerance of [`TOLERANCE_M`]. A multipolygon is labelled in its largest
//! part; a point (a compound drawn as a point) at itself.
//!
//! **Once per feature version.** polylabel costs tens of microseconds to milliseconds per polygon,
//! far more than clipping it into one tile, so a tile does not compute it: [`LabelMemo`] keeps
//! each point by (layer, code, feature version) — a feature's version grows with every committed
//! change, so an edit recomputes only what it changed, and the past versions an `as_of` view
//! shows are cached as well. The memo lives beside the tile cache.
//!
//! **What text.** A party grid named after its community ("繁荣路社区第6网格" in 繁荣路社区) gets
//! `label` = "繁荣路社区\n第6网格" and `short` = "第6网格": the line breaks between the community
//! and the grid, never inside a word. Commercial grids break before their kind ("天成大厦\n商务楼宇
//! 网格"). The style shows `short` below zoom 16, where the community's own label is close by,
//! and `label` from 16 on, where it is usually off screen.

use std::sync::Arc;

use geo::orient::{Direction, Orient};
use geo::{Area, BoundingRect, Coord, Geometry, InteriorPoint, LineString, Polygon};

use crate::coverage::geom::LocalFrame;
use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;

/// The layers whose features get a label point.
pub const LABELLED: [Layer; 4] = [
    Layer::Community,
    Layer::PartyGrid,
    Layer::CommercialGrid,
    Layer::Compound,
];

/// How far (in metres) polylabel may stop from the true pole. One metre is under a pixel up to
/// zoom 17 at Chinese latitudes (0.98 m/px at z16, 0.49 m/px at z17 at 35°N), and a label is tens
/// of metres wide there, so nobody can see a better point; the search stops early on the
/// smallest compound (20 m across) as on a 2 km community. Ten times finer costs about a third more
/// (see the README's tiles figures) for nothing visible.
pub const TOLERANCE_M: f64 = 1.0;

/// The name of the label-point layer of `layer` in the tiles and the style.
pub fn layer_id(layer: Layer) -> &'static str {
    match layer {
        Layer::Community => "community_label",
        Layer::PartyGrid => "party_grid_label",
        Layer::CommercialGrid => "commercial_grid_label",
        Layer::Compound => "compound_label",
        _ => "label",
    }
}

/// The point (longitude-latitude, WGS84) where `g`'s name is drawn: the pole of inaccessibility of
/// a polygon (of the largest part of a multipolygon), a point itself; `None` for anything else
/// or an empty geometry.
pub fn label_point(g: &Geometry<f64>) -> Option<Coord<f64>> {
    label_point_within(g, TOLERANCE_M)
}

/// [`label_point`] with another tolerance (metres), for measuring what the tolerance costs.
pub fn label_point_within(g: &Geometry<f64>, tolerance_m: f64) -> Option<Coord<f64>> {
    let pole = |p: &Polygon<f64>| pole(p, tolerance_m);
    match g {
        Geometry::Point(p) => Some(p.0),
        Geometry::MultiPoint(mp) => mp.0.first().map(|p| p.0),
        Geometry::Polygon(p) => pole(p),
        Geometry::MultiPolygon(mp) => {
            // Parts of one feature lie at one latitude: their areas in degrees compare as in m².
            let largest =
                mp.0.iter()
                    .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
            pole(largest)
        }
        Geometry::Rect(r) => pole(&r.to_polygon()),
        _ => None,
    }
}

/// polylabel in metres around the polygon's centre, back to longitude-latitude.
fn pole(p: &Polygon<f64>, tolerance_m: f64) -> Option<Coord<f64>> {
    let frame = LocalFrame::around(p);
    let local = |r: &LineString<f64>| LineString(frame.ring(r));
    // Wound one way whatever the input: polylabel's centroid guess and edge blocks follow the
    // vertex order, and the same data drawn the other way round must give the same tiles.
    let poly = Polygon::new(
        local(p.exterior()),
        p.interiors().iter().map(local).collect(),
    )
    .orient(Direction::Default);
    // polylabel answers (0, 0) for a zero-area ring; such a polygon has no inside to label.
    if poly.unsigned_area() <= 0.0 || !poly.unsigned_area().is_finite() {
        return p.interior_point().map(|q| q.0);
    }
    match polylabel::polylabel(&poly, &tolerance_m) {
        Ok(q) => Some(frame.to_lonlat(q.0)),
        Err(_) => p.interior_point().map(|q| q.0),
    }
}

/// The text drawn at a label point: `(label, short)`, where `label` may hold one line break and
/// `short` is its last line (see the module documentation).
pub fn label_text(snapshot: &Snapshot, f: &Feature) -> (String, String) {
    let split = match f.layer {
        Layer::PartyGrid => f
            .parent
            .as_deref()
            .and_then(|c| snapshot.find(Layer::Community, c))
            .and_then(|c| split_after(&f.name, &c.name))
            .or_else(|| split_after(&f.name, "社区")),
        Layer::CommercialGrid => ["商务楼宇网格", "专属网格", "楼宇网格"]
            .into_iter()
            .find_map(|kind| split_before(&f.name, kind)),
        _ => None,
    };
    match split {
        Some((head, tail)) => (format!("{head}\n{tail}"), tail.to_string()),
        None => (f.name.clone(), f.name.clone()),
    }
}

/// `name` cut after its first `prefix` (the prefix itself, if `name` starts with it), when both
/// halves have text.
fn split_after<'a>(name: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let at = if name.starts_with(prefix) {
        prefix.len()
    } else {
        // Only a community word ("…社区") counts as a place to break inside the name.
        if prefix != "社区" {
            return None;
        }
        name.find(prefix)? + prefix.len()
    };
    let (head, tail) = name.split_at(at);
    (!head.is_empty() && !tail.trim().is_empty()).then_some((head, tail.trim()))
}

/// `name` cut before its ending `suffix`, when something comes before it.
fn split_before<'a>(name: &'a str, suffix: &str) -> Option<(&'a str, &'a str)> {
    let head = name.strip_suffix(suffix)?;
    (!head.trim().is_empty()).then(|| (head.trim(), &name[head.len()..]))
}

/// One cached label point, with the bounding box of the geometry it was computed from: a hit is
/// used only when the box matches, so that a store rebuilt under a running server (versions
/// restarting at 1 with other geometry) cannot show a stale point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    bbox: [f64; 4],
    point: Option<Coord<f64>>,
}

type Key = (Layer, Arc<str>, i64);

/// Label points by (layer, code, feature version), computed on first use and shared by every tile.
pub struct LabelMemo {
    cache: quick_cache::sync::Cache<Key, Entry>,
}

impl std::fmt::Debug for LabelMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelMemo")
            .field("points", &self.cache.len())
            .finish()
    }
}

/// Default bound: a city (about 30,000 labelled features) with room for past versions; an entry
/// is under 100 bytes.
pub const DEFAULT_LABELS: usize = 200_000;

impl Default for LabelMemo {
    fn default() -> Self {
        LabelMemo::new(DEFAULT_LABELS)
    }
}

impl LabelMemo {
    pub fn new(capacity: usize) -> LabelMemo {
        LabelMemo {
            cache: quick_cache::sync::Cache::new(capacity.max(16)),
        }
    }

    /// The label point of `f`, from the memo or computed (and kept).
    pub fn point(&self, f: &Feature) -> Option<Coord<f64>> {
        let bbox = f
            .geometry
            .bounding_rect()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])?;
        let key: Key = (f.layer, Arc::from(f.code.as_str()), f.version);
        if let Some(e) = self.cache.get(&key)
            && e.bbox == bbox
        {
            return e.point;
        }
        let point = label_point(&f.geometry);
        self.cache.insert(key, Entry { bbox, point });
        point
    }

    /// How many points are held.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, point, polygon, wkt};

    #[test]
    fn the_pole_of_an_l_lies_inside_where_the_centroid_does_not() {
        // An L whose arms are 100 m × 10 m at 34.7°N (0.0001° ≈ 9.1 m east, 11.1 m north).
        let l: Polygon<f64> = wkt! { POLYGON((113.6 34.7, 113.611 34.7, 113.611 34.7009, 113.6011 34.7009, 113.6011 34.709, 113.6 34.709, 113.6 34.7)) };
        let p = label_point(&l.clone().into()).unwrap();
        assert!(l.contains(&geo::Point(p)), "{p:?}");
        use geo::Centroid;
        assert!(!l.contains(&l.centroid().unwrap()));
    }

    #[test]
    fn a_rectangle_is_labelled_at_its_centre_within_the_tolerance() {
        let r = polygon![(x: 113.60, y: 34.70), (x: 113.61, y: 34.70), (x: 113.61, y: 34.705), (x: 113.60, y: 34.705)];
        let p = label_point(&r.into()).unwrap();
        let frame = LocalFrame::new(Coord {
            x: 113.605,
            y: 34.7025,
        });
        let d = frame.to_local(p);
        // Along the long side any point of the middle line is as good; across it, the middle.
        assert!(d.y.abs() <= TOLERANCE_M, "{d:?}");
    }

    #[test]
    fn degenerate_and_point_geometries() {
        assert_eq!(
            label_point(&point!(x: 113.6, y: 34.7).into()),
            Some(Coord { x: 113.6, y: 34.7 })
        );
        let flat = polygon![(x: 113.6, y: 34.7), (x: 113.61, y: 34.7), (x: 113.62, y: 34.7)];
        // No area: the interior point of what there is, never polylabel's (0, 0).
        let p = label_point(&flat.into());
        assert!(p.is_none_or(|c| (c.x - 113.6).abs() < 0.1), "{p:?}");
        let empty = Geometry::MultiPolygon(geo::MultiPolygon::<f64>(vec![]));
        assert_eq!(label_point(&empty), None);
    }

    #[test]
    fn the_largest_part_of_a_multipolygon_is_labelled() {
        let small = polygon![(x: 113.60, y: 34.70), (x: 113.601, y: 34.70), (x: 113.601, y: 34.701), (x: 113.60, y: 34.701)];
        let big = polygon![(x: 113.62, y: 34.70), (x: 113.63, y: 34.70), (x: 113.63, y: 34.71), (x: 113.62, y: 34.71)];
        let p = label_point(&geo::MultiPolygon(vec![small, big.clone()]).into()).unwrap();
        assert!(big.contains(&geo::Point(p)));
    }

    #[test]
    fn reversed_rings_give_the_same_point() {
        let p: Polygon<f64> = wkt! { POLYGON((113.6 34.7, 113.611 34.7, 113.611 34.7009, 113.6011 34.7009, 113.6011 34.709, 113.6 34.709, 113.6 34.7)) };
        let rev = Polygon::new(
            LineString(p.exterior().0.iter().rev().copied().collect()),
            vec![],
        );
        assert_eq!(label_point(&p.into()), label_point(&rev.into()));
    }

    #[test]
    fn grid_names_break_between_community_and_grid() {
        assert_eq!(
            split_after("繁荣路社区第6网格", "繁荣路社区"),
            Some(("繁荣路社区", "第6网格"))
        );
        assert_eq!(split_after("繁荣路社区", "繁荣路社区"), None);
        assert_eq!(split_after("第6网格", "繁荣路社区"), None);
        // A grid named after another form of its community's name still breaks after 社区.
        assert_eq!(
            split_after("繁荣社区第一网格", "社区"),
            Some(("繁荣社区", "第一网格"))
        );
        assert_eq!(
            split_before("天成大厦商务楼宇网格", "商务楼宇网格"),
            Some(("天成大厦", "商务楼宇网格"))
        );
        assert_eq!(split_before("商务楼宇网格", "商务楼宇网格"), None);
    }

    #[test]
    fn the_memo_keys_by_version_and_checks_the_geometry() {
        let memo = LabelMemo::new(100);
        let mut f = Feature {
            layer: Layer::PartyGrid,
            code: "1".into(),
            name: "a".into(),
            parent: None,
            properties: Default::default(),
            geometry: polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]
                .into(),
            version: 1,
        };
        let a = memo.point(&f).unwrap();
        assert_eq!(memo.len(), 1);
        // Same code and version, other geometry: recomputed, not served from the memo.
        f.geometry =
            polygon![(x: 5., y: 5.), (x: 6., y: 5.), (x: 6., y: 6.), (x: 5., y: 6.)].into();
        let b = memo.point(&f).unwrap();
        assert!(b.x > 5.0 && a.x < 1.0, "{a:?} {b:?}");
    }

    /// Longitude-latitude of a point given in tile `t`'s coordinates (the inverse of the tiles'
    /// Web Mercator projection, written here rather than borrowed from the code under test).
    fn tile_to_lonlat(t: crate::tiles::TileId, x: f64, y: f64) -> Coord<f64> {
        let n = f64::from(1u32 << t.z);
        let ex = f64::from(crate::tiles::EXTENT);
        let (gx, gy) = ((f64::from(t.x) + x / ex) / n, (f64::from(t.y) + y / ex) / n);
        let lat = (std::f64::consts::PI * (1.0 - 2.0 * gy))
            .sinh()
            .atan()
            .to_degrees();
        Coord {
            x: gx * 360.0 - 180.0,
            y: lat,
        }
    }

    #[test]
    fn one_label_point_per_feature_across_the_demo_pyramid() {
        use crate::tiles::{TileId, min_zoom, render, render_with, style::bounds};
        use mvt_reader::feature::Value as V;
        use std::collections::BTreeMap;
        let snap = crate::demo::embedded_snapshot();
        let memo = LabelMemo::default();
        for z in [8u8, 11, 14, 16] {
            // (label layer, code) → how many tiles hold its label point.
            let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
            for t in TileId::covering(bounds(&snap), z) {
                let bytes = render_with(&snap, t, Some(&memo));
                assert_eq!(bytes, render(&snap, t), "the memo changes nothing");
                if bytes.is_empty() {
                    continue;
                }
                let reader = mvt_reader::Reader::new(bytes).unwrap();
                for (i, name) in reader.get_layer_names().unwrap().into_iter().enumerate() {
                    if !name.ends_with("_label") {
                        continue;
                    }
                    for f in reader.get_features(i).unwrap() {
                        let props = f.properties.unwrap();
                        let V::String(code) = props["code"].clone() else {
                            panic!("code {:?}", props["code"]);
                        };
                        // mvt-reader reads every point feature as a multipoint.
                        let p = match f.geometry {
                            geo::Geometry::Point(p) => p,
                            geo::Geometry::MultiPoint(mp) if mp.0.len() == 1 => mp.0[0],
                            other => panic!("{name} {code}: not one point: {other:?}"),
                        };
                        assert!((0.0..4096.0).contains(&p.x()) && (0.0..4096.0).contains(&p.y()));
                        let layer = LABELLED.into_iter().find(|l| layer_id(*l) == name).unwrap();
                        let feature = snap.find(layer, &code).unwrap();
                        // The point (the middle of its tile unit) lies inside its polygon.
                        let c = tile_to_lonlat(t, f64::from(p.x()) + 0.5, f64::from(p.y()) + 0.5);
                        if z >= 14 {
                            assert!(
                                feature.geometry.contains(&geo::Point(c)),
                                "{name} {code} at {c:?}"
                            );
                        }
                        if layer == Layer::PartyGrid {
                            let V::String(label) = props["label"].clone() else {
                                panic!()
                            };
                            assert!(label.contains('\n'), "{label}");
                            assert!(!label.contains("社\n区"), "{label}");
                        }
                        *seen.entry((name.clone(), code)).or_default() += 1;
                    }
                }
            }
            for layer in LABELLED {
                let expected = if z < min_zoom(layer) {
                    0
                } else {
                    snap.count(layer)
                };
                let got: Vec<_> = seen
                    .iter()
                    .filter(|((l, _), _)| l == layer_id(layer))
                    .collect();
                assert_eq!(got.len(), expected, "z{z} {layer}: labelled features");
                for ((l, code), n) in got {
                    assert_eq!(*n, 1, "z{z} {l} {code} labelled {n} times");
                }
            }
        }
        assert!(memo.len() >= snap.count(Layer::Compound), "{memo:?}");
    }
}
