//! Mapbox Vector Tiles (MVT 2.1) made from the snapshot, and the documents that describe them
//! (TileJSON, a MapLibre style).
//!
//! A tile is a pure function of (snapshot, z, x, y): [`render`] selects the features of each layer
//! that meet the tile, turns their geometry into tile space ([`geometry`]), and encodes them with
//! geozero's MVT writer (the protobuf types and command encoding martin's ecosystem uses). Only
//! what geozero does not do is written here: clipping, snapping, ring orientation and dropping
//! degenerate rings — its writer encodes the coordinates it is given as they are.
//! Besides one layer per feature layer, each tile carries label points ([`labels`]): one point per
//! community, grid and compound, in the one tile that contains it.
//! Caching and HTTP live in `api::tiles`; nothing here knows about either.

pub mod cache;
pub mod colours;
pub mod geometry;
pub mod labels;
pub mod style;

use geo::{Coord, Intersects, Rect, coord};
use geozero::ToMvt;
use geozero::mvt::{Message, TagsBuilder, TileValue, tile};
use serde_json::Value;

use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;
pub use geometry::{MAX_ZOOM, TileError, TileId};
use geometry::{TileGeometry, TileProjection, tile_geometry};
use labels::LabelMemo;

/// Tile coordinate space: each tile spans `0..EXTENT` on both axes.
pub const EXTENT: u32 = 4096;
/// Clip buffer around the tile, in tile units (as ST_AsMVTGeom's default).
pub const BUFFER: u32 = 64;

/// Properties copied into tiles when a feature has them (besides `code`, `name`, `parent`).
pub const FIGURES: [&str; 6] = [
    "households",
    "residents",
    "grid_worker",
    "kind",
    "enterprises",
    "address",
];

/// The lowest zoom at which a layer appears in tiles. Points below this would be thousands of
/// dots on a few pixels; grids below zoom 10 are smaller than a pixel row of labels.
pub fn min_zoom(layer: Layer) -> u8 {
    match layer {
        Layer::Subdistrict | Layer::Community => 0,
        Layer::PartyGrid | Layer::CommercialGrid => 10,
        Layer::Compound => 13,
        Layer::Shop => 16,
        // Standard addresses are house-number detail: only when single buildings show.
        Layer::Address => 17,
        Layer::Unit | Layer::SocialOrg | Layer::ServiceStation | Layer::PartyCenter => 14,
    }
}

/// The features of `layer` that meet tile `t` (its closed bounds, in longitude-latitude): exactly
/// the ones the tile holds, unless snapping reduced a feature to nothing.
pub fn features_in(snapshot: &Snapshot, layer: Layer, t: TileId) -> Vec<&Feature> {
    if t.z < min_zoom(layer) {
        return Vec::new();
    }
    let (min, max) = t.lonlat_bounds();
    let rect = Rect::new(coord!(x: min[0], y: min[1]), coord!(x: max[0], y: max[1]));
    snapshot
        .in_box(layer, min, max)
        .into_iter()
        .filter(|f| f.geometry.intersects(&rect))
        .collect()
}

/// The tile `t` as uncompressed MVT bytes; empty (zero bytes, a valid tile) when nothing meets it.
/// Layers appear in [`Layer::ALL`] order, named by layer id, then the label-point layers in
/// [`labels::LABELLED`] order; empty layers are left out. Label points are computed for this
/// tile alone; [`render_with`] takes them from a memo shared between tiles.
pub fn render(snapshot: &Snapshot, t: TileId) -> Vec<u8> {
    render_with(snapshot, t, None)
}

/// [`render`], with label points from (and into) `memo` when one is given.
pub fn render_with(snapshot: &Snapshot, t: TileId, memo: Option<&LabelMemo>) -> Vec<u8> {
    let proj = TileProjection::new(t, EXTENT, BUFFER);
    let mut layers: Vec<tile::Layer> = Vec::new();
    let mut labelled: Vec<(Layer, Vec<&Feature>)> = Vec::new();
    for layer in Layer::ALL {
        let features = features_in(snapshot, layer, t);
        if let Some(l) = encode_layer(layer, &features, &proj) {
            layers.push(l);
        }
        if labels::LABELLED.contains(&layer) {
            labelled.push((layer, features));
        }
    }
    for (layer, features) in labelled {
        if let Some(l) = encode_labels(snapshot, layer, &features, t, &proj, memo) {
            layers.push(l);
        }
    }
    if layers.is_empty() {
        return Vec::new();
    }
    geozero::mvt::Tile { layers }.encode_to_vec()
}

/// The label points of `features` (those that meet tile `t`) that lie in `t` itself, as the
/// layer [`labels::layer_id`]. A point belongs to exactly one tile per zoom
/// ([`TileId::containing`]), so no label is ever duplicated into a neighbour's buffer.
fn encode_labels(
    snapshot: &Snapshot,
    layer: Layer,
    features: &[&Feature],
    t: TileId,
    proj: &TileProjection,
    memo: Option<&LabelMemo>,
) -> Option<tile::Layer> {
    let mut tags = TagsBuilder::new();
    let mut out = Vec::new();
    for f in features {
        let point = match memo {
            Some(m) => m.point(f),
            None => labels::label_point(&f.geometry),
        };
        let Some(c) = point.filter(|c| TileId::containing(*c, t.z) == Some(t)) else {
            continue;
        };
        let Ok(mut feature) = TileGeometry::Points(vec![label_anchor(proj, c)])
            .to_geo()
            .to_mvt_unscaled()
        else {
            continue;
        };
        let (label, short) = labels::label_text(snapshot, f);
        let mut put = |k: &str, v: TileValue| {
            let (ki, vi) = tags.insert_ref(k, v);
            feature.tags.extend([ki, vi]);
        };
        put("code", TileValue::Str(f.code.clone()));
        put("name", TileValue::Str(f.name.clone()));
        if let Some(p) = &f.parent {
            put("parent", TileValue::Str(p.clone()));
        }
        put("label", TileValue::Str(label));
        put("short", TileValue::Str(short));
        out.push(feature);
    }
    if out.is_empty() {
        return None;
    }
    let (keys, values) = tags.into_tags();
    Some(tile::Layer {
        version: 2,
        name: labels::layer_id(layer).to_string(),
        features: out,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    })
}

/// A label point's tile coordinates: rounded down and kept inside `0..EXTENT`, because MapLibre
/// drops a point symbol whose anchor lies outside its tile (it expects the neighbour to draw it),
/// and rounding to nearest could put a point of this tile on the neighbour's first column.
fn label_anchor(proj: &TileProjection, c: Coord<f64>) -> [i32; 2] {
    let p = proj.project(c);
    let max = f64::from(EXTENT - 1);
    [
        p.x.floor().clamp(0.0, max) as i32,
        p.y.floor().clamp(0.0, max) as i32,
    ]
}

fn encode_layer(layer: Layer, features: &[&Feature], proj: &TileProjection) -> Option<tile::Layer> {
    let mut tags = TagsBuilder::new();
    let mut out = Vec::with_capacity(features.len());
    for f in features {
        let Some(g) = tile_geometry(&f.geometry, proj) else {
            continue;
        };
        // The geometry is already integer tile coordinates with closed, oriented rings; the
        // unscaled writer encodes it as is. It fails only on rings of under three points, which
        // `tile_geometry` never makes; such a feature would be skipped rather than fail the tile.
        let Ok(mut feature) = g.to_geo().to_mvt_unscaled() else {
            continue;
        };
        let mut put = |k: &str, v: TileValue| {
            let (ki, vi) = tags.insert_ref(k, v);
            feature.tags.extend([ki, vi]);
        };
        put("code", TileValue::Str(f.code.clone()));
        put("name", TileValue::Str(f.name.clone()));
        if let Some(p) = &f.parent {
            put("parent", TileValue::Str(p.clone()));
        }
        for k in FIGURES {
            if let Some(v) = f.properties.get(k).and_then(tile_value) {
                put(k, v);
            }
        }
        out.push(feature);
    }
    if out.is_empty() {
        return None;
    }
    let (keys, values) = tags.into_tags();
    Some(tile::Layer {
        version: 2,
        name: layer.id().to_string(),
        features: out,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    })
}

fn tile_value(v: &Value) -> Option<TileValue> {
    match v {
        Value::String(s) => Some(TileValue::Str(s.clone())),
        Value::Bool(b) => Some(TileValue::Bool(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(|i| u64::try_from(i).map_or(TileValue::Sint(i), TileValue::Uint))
            .or_else(|| n.as_f64().map(TileValue::Double)),
        _ => None,
    }
}
