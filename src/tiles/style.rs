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
//! **Labels** come from the tiles' label-point layers ([`super::labels`]), one point per feature,
//! so each name is drawn once; `text-max-width` is wider than any name, so MapLibre never wraps
//! a line itself — the only line break is the one the label text carries.
//!
//! **Colours mean one thing each.** Communities (and their party grids) take the pastel
//! [`colours::PALETTE`], assigned so that touching communities differ ([`colours`]); red is left
//! to the page's coverage gaps and orange to overlaps, so commercial grids are purple and 党群服务中心
//! gold. `metadata["gridmap:legend"]` lists each community with its colour and
//! `metadata["gridmap:symbols"]` every other symbol with its colour, so the page's legend is drawn
//! from the style it shows instead of a copy of it.

use geo::BoundingRect;
use serde_json::{Value, json};

use super::labels::{self, LABELLED};
use super::{EXTENT, FIGURES, MAX_ZOOM, colours, min_zoom};
use crate::model::{Feature, Layer};
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

/// Commercial grids: a purple dashed outline over a purple hatch (red and orange are faults').
pub const COMMERCIAL: &str = "#6a3d9a";
/// Compounds: a light brown fill with a darker outline; compounds known only as a point are drawn
/// as a dot in the same colours.
pub const COMPOUND_FILL: &str = "#d9cbb3";
pub const COMPOUND_LINE: &str = "#a08c6a";

/// The point layers and their colours, as drawn and as the legend names them. 党群服务中心 is
/// gold (the party's colour besides red, which is the gaps') and a little larger.
pub const POINTS: [(Layer, &str); 5] = [
    (Layer::Unit, "#1f78b4"),
    (Layer::Shop, "#8c510a"),
    (Layer::SocialOrg, "#e7298a"),
    (Layer::ServiceStation, "#33a02c"),
    (Layer::PartyCenter, "#f0b400"),
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
    let mut layers: Vec<Value> = Layer::ALL
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
    layers.extend(LABELLED.into_iter().map(|l| {
        json!({
            "id": labels::layer_id(l),
            "description": format!("{}名称标注点 label points", l.name_zh()),
            "minzoom": min_zoom(l),
            "maxzoom": MAX_ZOOM,
            "fields": {
                "code": "String",
                "name": "String",
                "parent": "String",
                "label": "String: the name with a line break between community and grid",
                "short": "String: the last line of label",
            },
        })
    }));
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

/// `match` expression giving each community's colour to the features whose `key` (`parent` for
/// grids, `code` for communities) names it.
fn colour_match(coloured: &[(&Feature, &'static str)], key: &str) -> Value {
    if coloured.is_empty() {
        // `match` needs at least one label; with no communities everything gets the fallback.
        return json!("#cccccc");
    }
    let mut m = vec![json!("match"), json!(["get", key])];
    for (c, colour) in coloured {
        m.push(json!(c.code));
        m.push(json!(colour));
    }
    m.push(json!("#cccccc"));
    Value::Array(m)
}

/// Wide enough (in ems) for the longest name on one line: MapLibre breaks a line longer than
/// `text-max-width` anywhere between two ideographs ("繁荣路社 / 区第6网格"), so it must never
/// have to; a character is at most one em.
fn max_width(snapshot: &Snapshot) -> usize {
    LABELLED
        .into_iter()
        .flat_map(|l| snapshot.layer(l))
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(10)
        + 2
}

fn label(
    id: &str,
    layer: Layer,
    minzoom: u8,
    size: f64,
    colour: &str,
    text: Value,
    width: usize,
) -> Value {
    json!({
        "id": id,
        "type": "symbol",
        "source": "gridmap",
        "source-layer": labels::layer_id(layer),
        "minzoom": minzoom,
        "layout": {
            "text-field": text,
            "text-font": FONT_STACK,
            "text-size": size,
            "text-max-width": width,
            "text-line-height": 1.15,
            "text-padding": 4,
            "symbol-placement": "point",
        },
        "paint": {
            "text-color": colour,
            "text-halo-color": "#ffffff",
            "text-halo-width": 1.5,
        }
    })
}

fn circles(id: &str, layer: Layer, colour: &str) -> Value {
    let big = if layer == Layer::PartyCenter {
        1.5
    } else {
        0.0
    };
    json!({
        "id": id,
        "type": "circle",
        "source": "gridmap",
        "source-layer": layer.id(),
        "minzoom": min_zoom(layer),
        // Areal layers (compounds) hold polygons too: only their points are dots, never the
        // polygons' vertices.
        "filter": ["==", ["geometry-type"], "Point"],
        "paint": {
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 14, 2.5 + big, 18, 6.0 + big],
            "circle-color": colour,
            "circle-stroke-color": if layer == Layer::Compound { COMPOUND_LINE } else { "#ffffff" },
            "circle-stroke-width": 1,
        }
    })
}

/// A MapLibre style (v8) for the tiles under `base`: communities and party grids coloured by
/// community, commercial grids dashed, points by kind, Chinese labels from `name`.
pub fn style(snapshot: &Snapshot, base: &str) -> Value {
    style_with(snapshot, base, None)
}

/// [`style`], with the community colours from (and into) `memo` when one is given: colouring a
/// city's thousand communities tests every pair of neighbours, too much for every request.
pub fn style_with(snapshot: &Snapshot, base: &str, memo: Option<&colours::ColourMemo>) -> Value {
    let b = bounds(snapshot);
    let c = center(b);
    let assigned = match memo {
        Some(m) => m.get(snapshot),
        None => std::sync::Arc::new(colours::assign(snapshot)),
    };
    let coloured: Vec<(&Feature, &'static str)> = snapshot
        .layer(Layer::Community)
        .zip(assigned.iter())
        .map(|(f, k)| (f, *k))
        .collect();
    let width = max_width(snapshot);
    let mut layers = vec![
        json!({"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}}),
        json!({"id": "community-fill", "type": "fill", "source": "gridmap", "source-layer": "community",
         "maxzoom": 10, "paint": {"fill-color": colour_match(&coloured, "code"), "fill-opacity": 0.5}}),
        json!({"id": "party_grid-fill", "type": "fill", "source": "gridmap", "source-layer": "party_grid",
         "paint": {"fill-color": colour_match(&coloured, "parent"), "fill-opacity": 0.55}}),
        json!({"id": "party_grid-line", "type": "line", "source": "gridmap", "source-layer": "party_grid",
         "paint": {"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 16, 2]}}),
        json!({"id": "compound-fill", "type": "fill", "source": "gridmap", "source-layer": "compound",
         "filter": ["==", ["geometry-type"], "Polygon"],
         "paint": {"fill-color": COMPOUND_FILL, "fill-opacity": 0.5, "fill-outline-color": COMPOUND_LINE}}),
        json!({"id": "commercial_grid-fill", "type": "fill", "source": "gridmap", "source-layer": "commercial_grid",
         "paint": {"fill-color": COMMERCIAL, "fill-opacity": 0.08}}),
        json!({"id": "commercial_grid-line", "type": "line", "source": "gridmap", "source-layer": "commercial_grid",
         "paint": {"line-color": COMMERCIAL, "line-width": 1.5, "line-dasharray": [3, 2]}}),
        json!({"id": "community-line", "type": "line", "source": "gridmap", "source-layer": "community",
         "paint": {"line-color": "#555555", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 16, 3]}}),
        json!({"id": "subdistrict-line", "type": "line", "source": "gridmap", "source-layer": "subdistrict",
         "paint": {"line-color": "#222222", "line-width": 3, "line-dasharray": [4, 2]}}),
        circles("compound-point", Layer::Compound, COMPOUND_FILL),
    ];
    layers.extend(POINTS.map(|(l, colour)| circles(l.id(), l, colour)));
    // Grids show their own line (第6网格) while their community's label is near; from zoom 16,
    // where one grid fills the screen, the community line is added above it.
    let grid_text = json!(["step", ["zoom"], ["get", "short"], 16, ["get", "label"]]);
    // MapLibre places the symbols of later layers first: communities win a collision over grids,
    // grids over commercial grids, and compounds give way to everything.
    layers.extend([
        label(
            "compound-label",
            Layer::Compound,
            16,
            10.0,
            "#6b5a3c",
            json!(["get", "label"]),
            width,
        ),
        label(
            "commercial_grid-label",
            Layer::CommercialGrid,
            15,
            11.0,
            COMMERCIAL,
            json!(["get", "label"]),
            width,
        ),
        label(
            "party_grid-label",
            Layer::PartyGrid,
            14,
            12.0,
            "#222222",
            grid_text,
            width,
        ),
        label(
            "community-label",
            Layer::Community,
            11,
            14.0,
            "#333333",
            json!(["get", "label"]),
            width,
        ),
    ]);
    json!({
        "version": 8,
        "name": "gridmap 社区网格",
        "center": [c[0], c[1]],
        "zoom": c[2],
        "metadata": {
            "gridmap:legend": legend(&coloured),
            "gridmap:symbols": symbols(snapshot),
        },
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
        "layers": layers,
    })
}

/// Each community's code, name and the colour its party grids are filled with.
fn legend(coloured: &[(&Feature, &'static str)]) -> Value {
    coloured
        .iter()
        .map(|(c, colour)| json!({"code": c.code, "name": c.name, "colour": colour}))
        .collect()
}

/// Every other symbol of the map, in legend order: `id` names the layer (the page names it in
/// the reader's language), `shape` says how it is drawn. The compound dot is listed only when some
/// compound is a point: a legend row for a symbol the map never draws is one more thing to read.
fn symbols(snapshot: &Snapshot) -> Value {
    let mut v = vec![
        json!({"id": "commercial_grid", "shape": "hatch", "colour": COMMERCIAL}),
        json!({"id": "compound", "shape": "fill", "colour": COMPOUND_FILL, "outline": COMPOUND_LINE}),
    ];
    if snapshot.layer(Layer::Compound).any(|f| {
        matches!(
            f.geometry,
            geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_)
        )
    }) {
        v.push(json!({"id": "compound_point", "shape": "circle", "colour": COMPOUND_FILL, "outline": COMPOUND_LINE}));
    }
    v.extend(
        POINTS
            .iter()
            .map(|(l, colour)| json!({"id": l.id(), "shape": "circle", "colour": colour})),
    );
    Value::Array(v)
}
