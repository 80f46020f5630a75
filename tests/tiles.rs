//! Vector tiles of the demo subdistrict read back by independent decoders: `mvt-reader` (its own
//! protobuf and geometry code) for content, and a command parser written here from the MVT 2.1
//! spec over the raw protobuf for the rules a lenient decoder would let through. Plus the HTTP
//! edge: gzip, ETag/304, errors, TileJSON and the style.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use geo::{Intersects, Rect, coord};
use geozero::mvt::{Message, Tile, tile};
use gridmap::api::{self, AppState};
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::{Snapshot, SnapshotCell};
use gridmap::store::{self, StoreConfig};
use gridmap::tiles::{self, TileId, min_zoom};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn zigzag(v: u32) -> i64 {
    i64::from((v >> 1) as i32 ^ -((v & 1) as i32))
}

/// Parse one polygon or point feature's commands by the spec, asserting its rules; returns the
/// rings (open) or points.
fn parse_commands(g: &[u32], polygon: bool, what: &str) -> Vec<Vec<[i64; 2]>> {
    let (mut i, mut cur) = (0, [0i64, 0]);
    let mut parts: Vec<Vec<[i64; 2]>> = Vec::new();
    while i < g.len() {
        let (id, count) = (g[i] & 7, g[i] >> 3);
        i += 1;
        match id {
            1 => {
                assert!(count >= 1, "{what}: MoveTo with count 0");
                if polygon {
                    assert_eq!(count, 1, "{what}: polygon MoveTo count must be 1");
                }
                for _ in 0..count {
                    cur = [cur[0] + zigzag(g[i]), cur[1] + zigzag(g[i + 1])];
                    i += 2;
                    parts.push(vec![cur]);
                }
            }
            2 => {
                assert!(polygon && count >= 1, "{what}: bad LineTo");
                let ring = parts.last_mut().expect("LineTo before MoveTo");
                for _ in 0..count {
                    let d = [zigzag(g[i]), zigzag(g[i + 1])];
                    assert_ne!(d, [0, 0], "{what}: zero-length LineTo");
                    cur = [cur[0] + d[0], cur[1] + d[1]];
                    ring.push(cur);
                    i += 2;
                }
            }
            7 => {
                assert!(polygon && count == 1, "{what}: bad ClosePath");
                let ring = parts.last().expect("ClosePath before MoveTo");
                assert!(ring.len() >= 3, "{what}: ring of {} points", ring.len());
                assert_ne!(ring.first(), ring.last(), "{what}: closing point repeated");
            }
            _ => panic!("{what}: unknown command {id}"),
        }
    }
    parts
}

fn area2(r: &[[i64; 2]]) -> i64 {
    (0..r.len())
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % r.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// The spec's rules on one raw layer.
fn check_raw_layer(layer: &tile::Layer, t: TileId) {
    let what = format!("{}/{}/{} {}", t.z, t.x, t.y, layer.name);
    assert_eq!(layer.version, 2);
    assert_eq!(layer.extent, Some(4096));
    assert!(!layer.features.is_empty(), "{what}: empty layer");
    for f in &layer.features {
        assert_eq!(f.tags.len() % 2, 0, "{what}: odd tags");
        let keys: Vec<u32> = f.tags.chunks(2).map(|kv| kv[0]).collect();
        assert_eq!(
            keys.iter().collect::<BTreeSet<_>>().len(),
            keys.len(),
            "{what}: key twice"
        );
        for kv in f.tags.chunks(2) {
            assert!((kv[0] as usize) < layer.keys.len() && (kv[1] as usize) < layer.values.len());
        }
        let polygon = f.r#type == Some(tile::GeomType::Polygon as i32);
        assert!(
            polygon || f.r#type == Some(tile::GeomType::Point as i32),
            "{what}"
        );
        let parts = parse_commands(&f.geometry, polygon, &what);
        if polygon {
            // The first ring is an exterior: positive area in y-down tile space.
            assert!(area2(&parts[0]) > 0, "{what}: first ring not an exterior");
            for r in &parts {
                assert_ne!(area2(r), 0, "{what}: zero-area ring");
            }
        }
    }
}

#[test]
fn every_tile_holds_exactly_the_features_that_meet_it() {
    let snap = common::demo_snapshot();
    let b = tiles::style::bounds(&snap);
    let mut checked = 0;
    for z in 8..=17u8 {
        for t in TileId::covering(b, z) {
            let bytes = tiles::render(&snap, t);
            let raw = Tile::decode(&bytes[..]).unwrap();
            for l in &raw.layers {
                check_raw_layer(l, t);
            }
            let reader = mvt_reader::Reader::new(bytes).unwrap();
            let names = reader.get_layer_names().unwrap();
            let (min, max) = t.lonlat_bounds();
            let rect = Rect::new(coord!(x: min[0], y: min[1]), coord!(x: max[0], y: max[1]));
            for layer in Layer::ALL {
                // The test's own selection: every feature of the layer against the tile bounds.
                let expected: BTreeSet<&str> = if z < min_zoom(layer) {
                    BTreeSet::new()
                } else {
                    snap.layer(layer)
                        .filter(|f| f.geometry.intersects(&rect))
                        .map(|f| f.code.as_str())
                        .collect()
                };
                let got: BTreeSet<String> = match names.iter().position(|n| n == layer.id()) {
                    None => BTreeSet::new(),
                    Some(i) => reader
                        .get_features(i)
                        .unwrap()
                        .into_iter()
                        .map(|f| match f.properties.unwrap()["code"].clone() {
                            mvt_reader::feature::Value::String(s) => s,
                            other => panic!("code {other:?}"),
                        })
                        .collect(),
                };
                let got: BTreeSet<&str> = got.iter().map(String::as_str).collect();
                assert_eq!(got, expected, "tile {}/{}/{} layer {layer}", t.z, t.x, t.y);
                checked += expected.len();
            }
        }
    }
    assert!(
        checked > 10_000,
        "only {checked} feature placements checked"
    );
}

#[test]
fn grid_properties_reach_the_tile() {
    let snap = common::demo_snapshot();
    let grid = snap.layer(Layer::PartyGrid).next().unwrap();
    let r = geo::BoundingRect::bounding_rect(&grid.geometry).unwrap();
    let t = TileId::covering([r.min().x, r.min().y, r.min().x, r.min().y], 16)[0];
    let reader = mvt_reader::Reader::new(tiles::render(&snap, t)).unwrap();
    let names = reader.get_layer_names().unwrap();
    let i = names.iter().position(|n| n == "party_grid").unwrap();
    let f = reader
        .get_features(i)
        .unwrap()
        .into_iter()
        .find(|f| {
            f.properties.as_ref().unwrap()["code"]
                == mvt_reader::feature::Value::String(grid.code.clone())
        })
        .unwrap();
    let p = f.properties.unwrap();
    use mvt_reader::feature::Value as V;
    assert_eq!(p["name"], V::String(grid.name.clone()));
    assert_eq!(p["parent"], V::String(grid.parent.clone().unwrap()));
    assert!(matches!(
        p["households"],
        V::UInt(_) | V::Int(_) | V::SInt(_)
    ));
    assert!(matches!(p["grid_worker"], V::String(_)));
}

#[test]
fn an_empty_snapshot_gives_empty_tiles() {
    let snap = Snapshot::default();
    assert!(tiles::render(&snap, TileId::new(0, 0, 0).unwrap()).is_empty());
}

async fn app() -> (axum::Router, tempfile::TempDir) {
    let (app, _, dir) = app_with_cell().await;
    (app, dir)
}

async fn app_with_cell() -> (axum::Router, Arc<SnapshotCell>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&StoreConfig::Gpkg {
        data_dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    let cell = Arc::new(SnapshotCell::new(common::demo_snapshot()));
    let state = AppState {
        tiles: Default::default(),
        views: Default::default(),
        edit: Default::default(),
        store,
        snapshot: cell.clone(),
    };
    (api::app(state), cell, dir)
}

async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut req = Request::get(uri).header(header::HOST, "example.test:8080");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(res: axum::response::Response) -> Vec<u8> {
    res.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn tiles_over_http_gzip_etag_and_errors() {
    let (app, _dir) = app().await;
    let snap = common::demo_snapshot();
    let b = tiles::style::bounds(&snap);
    let t = TileId::covering(
        [
            (b[0] + b[2]) / 2.0,
            (b[1] + b[3]) / 2.0,
            (b[0] + b[2]) / 2.0,
            (b[1] + b[3]) / 2.0,
        ],
        14,
    )[0];
    let uri = format!("/tiles/{}/{}/{}.mvt", t.z, t.x, t.y);

    let res = get(&app, &uri, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/vnd.mapbox-vector-tile"
    );
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    let etag = res.headers()[header::ETAG].to_str().unwrap().to_string();
    let plain = body(res).await;
    assert_eq!(plain, tiles::render(&snap, t));
    assert!(!plain.is_empty());

    let res = get(&app, &uri, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    let gz = body(res).await;
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain);

    let res = get(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(body(res).await.is_empty());

    // Far from the demo: a valid, empty tile.
    let res = get(&app, "/tiles/14/0/0.mvt", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body(res).await.is_empty());

    for bad in [
        "/tiles/23/0/0.mvt",
        "/tiles/2/4/0.mvt",
        "/tiles/2/0/4.mvt",
        "/tiles/a/0/0.mvt",
        "/tiles/1/0/0.png",
        "/tiles/1/0",
        "/tiles/-1/0/0.mvt",
        "/tiles/1/0/99999999999999999999.mvt",
        "/tiles/%FF/0/0.mvt",
    ] {
        let res = get(&app, bad, &[]).await;
        assert!(res.status().is_client_error(), "{bad}: {}", res.status());
        let v: Value = serde_json::from_slice(&body(res).await).unwrap();
        assert!(v["error"]["code"].is_string(), "{bad}: {v}");
    }
}

fn snap_communities() -> usize {
    common::demo_snapshot().count(Layer::Community)
}

/// Every string in a JSON document that looks like a URL.
fn urls(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("://") => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| urls(v, out)),
        Value::Object(o) => o.values().for_each(|v| urls(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn tilejson_and_style_point_only_at_this_service() {
    let (app, _dir) = app().await;
    let tj: Value =
        serde_json::from_slice(&body(get(&app, "/tiles.json", &[]).await).await).unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(
        tj["tiles"][0],
        "http://example.test:8080/tiles/{z}/{x}/{y}.mvt"
    );
    let layers = tj["vector_layers"].as_array().unwrap();
    // One vector layer per feature layer, and one of label points per labelled layer.
    assert_eq!(
        layers.len(),
        Layer::ALL.len() + tiles::labels::LABELLED.len()
    );
    assert!(layers.iter().any(|l| l["id"] == "party_grid_label"));
    let shop = layers.iter().find(|l| l["id"] == "shop").unwrap();
    assert_eq!(shop["minzoom"], 16);
    let b = tj["bounds"].as_array().unwrap();
    assert!(
        b[0].as_f64().unwrap() > 113.0 && b[2].as_f64().unwrap() < 114.0,
        "{b:?}"
    );
    let c = tj["center"].as_array().unwrap();
    assert!(c[0].as_f64() > b[0].as_f64() && c[0].as_f64() < b[2].as_f64());

    let style: Value =
        serde_json::from_slice(&body(get(&app, "/style.json", &[]).await).await).unwrap();
    assert_eq!(style["version"], 8);
    assert!(style.get("sprite").is_none());
    // No glyphs URL: MapLibre draws every label glyph from the browser's local fonts.
    assert!(style.get("glyphs").is_none());
    let legend = style["metadata"]["gridmap:legend"].as_array().unwrap();
    assert_eq!(legend.len(), snap_communities());
    let mut found = Vec::new();
    urls(&style, &mut found);
    assert!(!found.is_empty());
    for u in found {
        assert!(
            u.starts_with("http://example.test:8080/"),
            "external resource {u}"
        );
    }
    let layers = style["layers"].as_array().unwrap();
    let ids: BTreeSet<&str> = layers.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), layers.len(), "layer ids unique");
    let fill = layers
        .iter()
        .find(|l| l["id"] == "party_grid-fill")
        .unwrap();
    assert_eq!(fill["paint"]["fill-color"][0], "match");
    let label = layers
        .iter()
        .find(|l| l["id"] == "party_grid-label")
        .unwrap();
    // Grid labels come from the label points, one line per part of the name.
    assert_eq!(label["source-layer"], "party_grid_label");
    assert_eq!(
        label["layout"]["text-field"],
        serde_json::json!(["step", ["zoom"], ["get", "short"], 16, ["get", "label"]])
    );
    // The longest name of a labelled layer (addresses, with the longest names, are not labelled).
    let snap = common::demo_snapshot();
    let longest = tiles::labels::LABELLED
        .iter()
        .flat_map(|l| snap.layer(*l))
        .map(|f| f.name.chars().count())
        .max()
        .unwrap();
    for l in layers.iter().filter(|l| l["type"] == "symbol") {
        // Wider than the longest name: MapLibre never has to break a line inside a word.
        let width = l["layout"]["text-max-width"].as_u64().unwrap();
        assert!(width as usize > longest, "{l}");
        assert!(
            l["source-layer"].as_str().unwrap().ends_with("_label"),
            "{l}"
        );
    }
    // Every circle layer draws points only, never an areal layer's vertices.
    for l in layers.iter().filter(|l| l["type"] == "circle") {
        assert_eq!(
            l["filter"],
            serde_json::json!(["==", ["geometry-type"], "Point"]),
            "{l}"
        );
    }
    for l in layers {
        if let Some(src) = l["source-layer"].as_str() {
            assert!(
                Layer::ALL.iter().any(|x| x.id() == src)
                    || tiles::labels::LABELLED
                        .iter()
                        .any(|x| tiles::labels::layer_id(*x) == src),
                "{src}"
            );
        }
    }
    // Red is the page's colour for coverage gaps, and nothing in the style uses it.
    let text = style.to_string().to_lowercase();
    for red in ["#e31a1c", "#fb8072", "#ff0000"] {
        assert!(!text.contains(red), "{red} in the style");
    }
}

#[tokio::test]
async fn a_new_data_version_changes_etag_and_content() {
    let (app, cell, _dir) = app_with_cell().await;
    let snap = common::demo_snapshot();
    let grid = snap.layer(Layer::PartyGrid).next().unwrap().clone();
    let r = geo::BoundingRect::bounding_rect(&grid.geometry).unwrap();
    let t = TileId::covering([r.min().x, r.min().y, r.min().x, r.min().y], 15)[0];
    let uri = format!("/tiles/{}/{}/{}.mvt", t.z, t.x, t.y);
    let res = get(&app, &uri, &[]).await;
    let etag = res.headers()[header::ETAG].to_str().unwrap().to_string();
    let before = body(res).await;

    // An edit: the same data without that grid, published as version 2.
    let features: Vec<Feature> = snap
        .features()
        .iter()
        .filter(|f| f.key() != grid.key())
        .cloned()
        .collect();
    cell.publish(Snapshot::new(2, features));
    let res = get(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(res.status(), StatusCode::OK, "the old ETag must not match");
    assert_ne!(res.headers()[header::ETAG].to_str().unwrap(), etag);
    let after = body(res).await;
    assert_ne!(before, after, "the cache served the old tile");
    let reader = mvt_reader::Reader::new(after).unwrap();
    let names = reader.get_layer_names().unwrap();
    let i = names.iter().position(|n| n == "party_grid").unwrap();
    assert!(reader.get_features(i).unwrap().iter().all(|f| {
        f.properties.as_ref().unwrap()["code"]
            != mvt_reader::feature::Value::String(grid.code.clone())
    }));
}

/// What label points cost: polylabel over every labelled feature of the city-scale set (and the
/// demo), at three tolerances, and the community colouring. Run by hand, it prints:
/// `cargo test --test tiles label_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn label_cost() {
    use gridmap::demo::{self, Scale};
    use std::time::Instant;
    for (name, scale) in [("demo", Scale::Demo), ("city", Scale::City)] {
        let t0 = Instant::now();
        let features = demo::generate(scale)
            .into_iter()
            .map(|d| d.into_feature(1))
            .collect();
        let snap = Snapshot::new(1, features);
        eprintln!("{name}: generated in {:.1?}", t0.elapsed());
        let labelled: Vec<&Feature> = tiles::labels::LABELLED
            .iter()
            .flat_map(|l| snap.layer(*l))
            .collect();
        let vertices: usize = labelled
            .iter()
            .map(|f| geo::CoordsIter::coords_count(&f.geometry))
            .sum();
        for tol in [0.1, 1.0, 10.0] {
            let t0 = Instant::now();
            let n = labelled
                .iter()
                .filter(|f| tiles::labels::label_point_within(&f.geometry, tol).is_some())
                .count();
            let dt = t0.elapsed();
            eprintln!(
                "{name}: {n} label points ({vertices} vertices) at {tol} m in {dt:.1?}, {:.1} µs each",
                dt.as_secs_f64() * 1e6 / n as f64
            );
        }
        for layer in tiles::labels::LABELLED {
            let fs: Vec<&Feature> = snap.layer(layer).collect();
            let t0 = Instant::now();
            for f in &fs {
                tiles::labels::label_point(&f.geometry);
            }
            eprintln!(
                "{name}: {layer}: {} features, {:.1?}",
                fs.len(),
                t0.elapsed()
            );
        }
        let t0 = Instant::now();
        let coloured = tiles::colours::community_colours(&snap);
        let used: BTreeSet<&str> = coloured.iter().map(|c| c.1).collect();
        eprintln!(
            "{name}: {} communities coloured with {} colours in {:.1?}",
            coloured.len(),
            used.len(),
            t0.elapsed()
        );
        let t0 = Instant::now();
        let style = tiles::style::style(&snap, "http://x");
        eprintln!(
            "{name}: style.json in {:.1?} ({} bytes)",
            t0.elapsed(),
            style.to_string().len()
        );
    }
}
