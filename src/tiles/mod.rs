//! Mapbox Vector Tiles (MVT 2.1) made from the snapshot, and the documents that describe them
//! (TileJSON, a MapLibre style).
//!
//! A tile is a pure function of (snapshot, z, x, y): [`render`] selects the features of each layer
//! that meet the tile, turns their geometry into tile space ([`geometry`]), and encodes them with
//! geozero's MVT writer (the protobuf types and command encoding martin's ecosystem uses). Only
//! what geozero does not do is written here: clipping, snapping, ring orientation and dropping
//! degenerate rings — its writer encodes the coordinates it is given as they are.
//! Caching and HTTP live in `api::tiles`; nothing here knows about either.

pub mod cache;
pub mod geometry;
pub mod style;

use geo::{Intersects, Rect, coord};
use geozero::ToMvt;
use geozero::mvt::{Message, TagsBuilder, TileValue, tile};
use serde_json::Value;

use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;
pub use geometry::{MAX_ZOOM, TileError, TileId};
use geometry::{TileProjection, tile_geometry};

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
/// Layers appear in [`Layer::ALL`] order, named by layer id; empty layers are left out.
pub fn render(snapshot: &Snapshot, t: TileId) -> Vec<u8> {
    let proj = TileProjection::new(t, EXTENT, BUFFER);
    let layers: Vec<tile::Layer> = Layer::ALL
        .into_iter()
        .filter_map(|layer| encode_layer(layer, &features_in(snapshot, layer, t), &proj))
        .collect();
    if layers.is_empty() {
        return Vec::new();
    }
    geozero::mvt::Tile { layers }.encode_to_vec()
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
