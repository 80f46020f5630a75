//! PostGIS making gridmap's tiles: the same layers, minimum zooms and properties, extent 4096 and
//! buffer 64, with ST_AsMVT/ST_AsMVTGeom/ST_TileEnvelope — the way martin and pg_tileserv do it.

use gridmap::demo::{self, Scale};
use gridmap::model::Layer;
use gridmap::snapshot::Snapshot;
use gridmap::tiles::{self, FIGURES, TileId, min_zoom};

/// The demo's snapshot and every tile z10–`max_zoom` over its bounds: the set both tile benches
/// measure.
pub fn demo_tiles(max_zoom: u8) -> (Snapshot, Vec<TileId>) {
    let features = demo::generate(Scale::Demo)
        .into_iter()
        .map(|d| d.into_feature(1))
        .collect();
    let snapshot = Snapshot::new(1, features);
    let bounds = tiles::style::bounds(&snapshot);
    let all = (10..=max_zoom)
        .flat_map(|z| TileId::covering(bounds, z))
        .collect();
    (snapshot, all)
}

/// One layer's ST_AsMVT, empty below the layer's minimum zoom; `z, x, y` are SQL expressions
/// (`$1` … for a prepared statement, argument names inside a function).
fn layer_sql(layer: Layer, z: &str, x: &str, y: &str) -> String {
    let figures: Vec<String> = FIGURES
        .iter()
        .map(|k| format!("'{k}', properties->'{k}'"))
        .collect();
    format!(
        "(SELECT COALESCE(ST_AsMVT(q, '{id}', 4096, 'geom'), ''::bytea) FROM ( \
           SELECT code, name, parent, jsonb_strip_nulls(jsonb_build_object({figs})) AS props, \
                  ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope({z}, {x}, {y}), 4096, 64, true) AS geom \
           FROM features \
           WHERE layer = '{id}' AND {z} >= {minz} \
             AND geom && ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => 64.0 / 4096), 4326) \
         ) q WHERE geom IS NOT NULL)",
        id = layer.id(),
        figs = figures.join(", "),
        minz = min_zoom(layer),
    )
}

/// One statement giving the whole tile: every layer's ST_AsMVT, concatenated.
pub fn tile_sql(z: &str, x: &str, y: &str) -> String {
    let parts: Vec<String> = Layer::ALL
        .into_iter()
        .map(|l| layer_sql(l, z, x, y))
        .collect();
    format!("SELECT {}", parts.join(" || "))
}

/// The same as a function with martin's tile-function signature, so martin serves it at
/// `/{name}/{z}/{x}/{y}`.
pub fn tile_function(name: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {name}(z integer, x integer, y integer) RETURNS bytea \
         AS $fn$ {} $fn$ LANGUAGE sql STABLE PARALLEL SAFE",
        tile_sql("z", "x", "y")
    )
}
