//! TileJSON 3.0.0 and a MapLibre style (v8) for the tiles, built from the snapshot.
//!
//! Both take the service's base URL (scheme and host, from the request) so that every URL in
//! them is absolute, as MapLibre requires. The style uses nothing outside this service: no
//! basemap, no sprite (commercial grids are dashed outlines over a translucent fill instead of a
//! hatch pattern, which would need a sprite image).
//!
//! **Labels and glyphs.** The style has no `glyphs` URL on purpose. MapLibre GL JS 6 draws every
//! label glyph it has no glyph PBF for in the browser (TinySDF over a canvas, from the local
//! fonts named in `text-font`): CJK ideographs through `localIdeographFontFamily`, and — because
//! there is no `glyphs` URL at all — digits and Latin letters too (grid names such as
//! 体育路社区第1网格 mix both). That is the simplest thing that works offline: no font files, no
//! glyph ranges to generate at build time, no request that can fail. The font stack lists the
//! families a Chinese desktop or phone has; the browser falls back to `sans-serif`.
//!
//! `metadata["gridmap:legend"]` lists each community with its colour, so a page can draw the
//! legend of the party-grid colours without parsing the `match` expression.

use geo::BoundingRect;
use serde_json::{Value, json};

use super::{EXTENT, FIGURES, MAX_ZOOM, min_zoom};
use crate::model::Layer;
use crate::snapshot::Snapshot;

/// The font families named in the style's text layers (CSS family names, drawn locally; see the
/// module documentation): Noto/Source Han on Linux, Microsoft YaHei on Windows, PingFang on
/// Apple systems.
pub const FONT_STACK: [&str; 5] = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "sans-serif",
];

/// Fill colours given to communities in code order, repeating when there are more.
const PALETTE: [&str; 8] = [
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
];

/// The tile URL template under `base`.
pub fn tile_url(base: &str) -> String {
    format!("{base}/tiles/{{z}}/{{x}}/{{y}}.mvt")
}

/// `[west, south, east, north]` of the subdistricts (of everything when there are none), or the
/// whole world for an empty snapshot.
pub fn bounds(snapshot: &Snapshot) -> [f64; 4] {
    let rects = {
        let sub: Vec<_> = snapshot
            .layer(Layer::Subdistrict)
            .filter_map(|f| f.geometry.bounding_rect())
            .collect();
        if sub.is_empty() {
            snapshot
                .features()
                .iter()
                .filter_map(|f| f.geometry.bounding_rect())
                .collect()
        } else {
            sub
        }
    };
    rects
        .into_iter()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
        .unwrap_or([-180.0, -85.051_128_779_806_59, 180.0, 85.051_128_779_806_59])
}

/// Centre of [`bounds`] and the zoom to open the map at.
fn center(b: [f64; 4]) -> [f64; 3] {
    [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, 14.0]
}

/// The fields a layer's features carry, for `vector_layers`.
fn fields(layer: Layer) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("code".into(), json!("String"));
    m.insert("name".into(), json!("String"));
    if layer.parent_layer().is_some() {
        m.insert("parent".into(), json!("String"));
    }
    for k in FIGURES {
        let kind = if matches!(k, "households" | "residents" | "enterprises") {
            "Number"
        } else {
            "String"
        };
        m.insert(k.into(), json!(kind));
    }
    Value::Object(m)
}

/// TileJSON 3.0.0 for the tiles under `base`.
pub fn tilejson(snapshot: &Snapshot, base: &str) -> Value {
    let b = bounds(snapshot);
    let layers: Vec<Value> = Layer::ALL
        .into_iter()
        .map(|l| {
            json!({
                "id": l.id(),
                "description": l.name_zh(),
                "minzoom": min_zoom(l),
                "maxzoom": MAX_ZOOM,
                "fields": fields(l),
            })
        })
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": "gridmap",
        "description": "社区网格化治理 community grids",
        "version": format!("1.0.{}", snapshot.data_version.max(0)),
        "scheme": "xyz",
        "tiles": [tile_url(base)],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": b,
        "center": center(b),
        "vector_layers": layers,
        "extent": EXTENT,
    })
}

/// `match` expression colouring party grids by their community (`parent`).
fn community_colours(snapshot: &Snapshot) -> Value {
    let mut m = vec![json!("match"), json!(["get", "parent"])];
    for (i, c) in snapshot.layer(Layer::Community).enumerate() {
        m.push(json!(c.code));
        m.push(json!(PALETTE[i % PALETTE.len()]));
    }
    if m.len() == 2 {
        // `match` needs at least one label; with no communities every grid gets the fallback.
        return json!("#cccccc");
    }
    m.push(json!("#cccccc"));
    Value::Array(m)
}

fn label(id: &str, layer: Layer, minzoom: u8, size: f64, colour: &str) -> Value {
    json!({
        "id": id,
        "type": "symbol",
        "source": "gridmap",
        "source-layer": layer.id(),
        "minzoom": minzoom,
        "layout": {
            "text-field": ["get", "name"],
            "text-font": FONT_STACK,
            "text-size": size,
            "text-max-width": 8,
            "symbol-placement": "point",
        },
        "paint": {
            "text-color": colour,
            "text-halo-color": "#ffffff",
            "text-halo-width": 1.5,
        }
    })
}

fn circles(layer: Layer, colour: &str) -> Value {
    json!({
        "id": layer.id(),
        "type": "circle",
        "source": "gridmap",
        "source-layer": layer.id(),
        "minzoom": min_zoom(layer),
        "paint": {
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 14, 2.5, 18, 6],
            "circle-color": colour,
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 1,
        }
    })
}

/// A MapLibre style (v8) for the tiles under `base`: communities and party grids coloured by
/// community, commercial grids dashed, points by kind, Chinese labels from `name`.
pub fn style(snapshot: &Snapshot, base: &str) -> Value {
    let b = bounds(snapshot);
    let c = center(b);
    json!({
        "version": 8,
        "name": "gridmap 社区网格",
        "center": [c[0], c[1]],
        "zoom": c[2],
        "metadata": {"gridmap:legend": legend(snapshot)},
        "sources": {
            "gridmap": {
                "type": "vector",
                "tiles": [tile_url(base)],
                "minzoom": 0,
                "maxzoom": MAX_ZOOM,
                "bounds": b,
                "promoteId": "code",
                "attribution": "gridmap",
            }
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
            {"id": "community-fill", "type": "fill", "source": "gridmap", "source-layer": "community",
             "maxzoom": 10, "paint": {"fill-color": community_colours_by_code(snapshot), "fill-opacity": 0.5}},
            {"id": "party_grid-fill", "type": "fill", "source": "gridmap", "source-layer": "party_grid",
             "paint": {"fill-color": community_colours(snapshot), "fill-opacity": 0.55}},
            {"id": "party_grid-line", "type": "line", "source": "gridmap", "source-layer": "party_grid",
             "paint": {"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 16, 2]}},
            {"id": "compound-fill", "type": "fill", "source": "gridmap", "source-layer": "compound",
             "filter": ["==", ["geometry-type"], "Polygon"],
             "paint": {"fill-color": "#d9cbb3", "fill-opacity": 0.5, "fill-outline-color": "#a08c6a"}},
            {"id": "commercial_grid-fill", "type": "fill", "source": "gridmap", "source-layer": "commercial_grid",
             "paint": {"fill-color": "#e31a1c", "fill-opacity": 0.08}},
            {"id": "commercial_grid-line", "type": "line", "source": "gridmap", "source-layer": "commercial_grid",
             "paint": {"line-color": "#e31a1c", "line-width": 1.5, "line-dasharray": [3, 2]}},
            {"id": "community-line", "type": "line", "source": "gridmap", "source-layer": "community",
             "paint": {"line-color": "#555555", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 16, 3]}},
            {"id": "subdistrict-line", "type": "line", "source": "gridmap", "source-layer": "subdistrict",
             "paint": {"line-color": "#222222", "line-width": 3, "line-dasharray": [4, 2]}},
            circles(Layer::Compound, "#a08c6a"),
            circles(Layer::Unit, "#1f78b4"),
            circles(Layer::Shop, "#ff7f00"),
            circles(Layer::SocialOrg, "#6a3d9a"),
            circles(Layer::ServiceStation, "#33a02c"),
            circles(Layer::PartyCenter, "#e31a1c"),
            label("community-label", Layer::Community, 11, 14.0, "#333333"),
            label("party_grid-label", Layer::PartyGrid, 14, 12.0, "#222222"),
            label("commercial_grid-label", Layer::CommercialGrid, 15, 11.0, "#b10026"),
        ]
    })
}

/// Each community's code, name and the colour its party grids are filled with.
fn legend(snapshot: &Snapshot) -> Value {
    snapshot
        .layer(Layer::Community)
        .enumerate()
        .map(|(i, c)| json!({"code": c.code, "name": c.name, "colour": PALETTE[i % PALETTE.len()]}))
        .collect()
}

/// `match` colouring communities themselves with the same palette as their grids.
fn community_colours_by_code(snapshot: &Snapshot) -> Value {
    let mut v = community_colours(snapshot);
    if let Some(arr) = v.as_array_mut() {
        arr[1] = json!(["get", "code"]);
    }
    v
}
