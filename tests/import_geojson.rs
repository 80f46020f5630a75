//! GeoJSON import: each check refuses the whole file with a message naming the feature and the
//! fault, and leaves the store exactly as it was; a good file is upserted as one change set.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{import, layer_features, options, refused, seed};
use gridmap::model::{Layer, Revision};
use gridmap::store::Store;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The store these tests run against.
async fn test_store() -> Arc<dyn Store> {
    common::gpkg_store().await
}

/// A seeded store and a directory for test files.
async fn setup() -> (Arc<dyn Store>, TempDir) {
    let store = test_store().await;
    seed(store.as_ref()).await;
    (store, tempfile::tempdir().expect("tempdir"))
}

fn write(dir: &TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("in.geojson");
    std::fs::write(&path, text).expect("write test file");
    path
}

fn collection(features: Vec<Value>) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn square(x: f64, y: f64, size: f64) -> Value {
    json!([
        [x, y],
        [x + size, y],
        [x + size, y + size],
        [x, y + size],
        [x, y]
    ])
}

/// A party grid inside the seeded subdistrict's community 110101001001 (created by `community`).
fn grid(code: &str, geometry: Value) -> Value {
    json!({
        "type": "Feature",
        "properties": {"layer": "party_grid", "code": code, "name": format!("网格{code}"), "parent": "110101001001"},
        "geometry": geometry
    })
}

fn polygon(rings: Value) -> Value {
    json!({"type": "Polygon", "coordinates": rings})
}

fn community() -> Value {
    json!({
        "type": "Feature",
        "properties": {"layer": "community", "code": "110101001001", "name": "东华门社区", "parent": "110101001", "households": 1200},
        "geometry": polygon(json!([square(116.38, 39.90, 0.02)]))
    })
}

fn good_grid(code: &str, x: f64) -> Value {
    grid(code, polygon(json!([square(x, 39.90, 0.005)])))
}

async fn refusal(features: Vec<Value>, layer: Option<Layer>) -> String {
    let (store, dir) = setup().await;
    let path = write(&dir, &collection(features));
    refused(store.as_ref(), &path, &options(layer)).await
}

#[tokio::test]
async fn imports_a_good_file_as_one_change_set_and_upserts_by_layer_and_code() {
    let (store, dir) = setup().await;
    let path = write(
        &dir,
        &collection(vec![
            community(),
            good_grid("110101001001001", 116.380),
            good_grid("110101001001002", 116.385),
        ]),
    );
    let summary = import(store.as_ref(), &path, &options(None)).await.unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (3, 0, 0)
    );
    let revisions: Vec<Revision> = store.revisions(None, 1, 100).await.unwrap();
    assert_eq!(revisions.len(), 3);
    assert!(
        revisions
            .iter()
            .all(|r| r.changeset == revisions[0].changeset
                && r.author == "tester"
                && r.message == "test import")
    );

    // The same file again changes nothing; a changed name updates one feature.
    let summary = import(store.as_ref(), &path, &options(None)).await.unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (0, 0, 3)
    );
    let mut renamed = good_grid("110101001001002", 116.385);
    renamed["properties"]["name"] = json!("东华门第二网格");
    let path = write(&dir, &collection(vec![renamed]));
    let summary = import(store.as_ref(), &path, &options(None)).await.unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (0, 1, 0)
    );
    let features = store.load().await.unwrap();
    let grid = features
        .iter()
        .find(|f| f.code == "110101001001002")
        .unwrap();
    assert_eq!((grid.name.as_str(), grid.version), ("东华门第二网格", 2));
    assert_eq!(grid.parent.as_deref(), Some("110101001001"));
}

#[tokio::test]
async fn layer_comes_from_the_option_when_features_have_none() {
    let (store, dir) = setup().await;
    let mut shop = json!({
        "type": "Feature",
        "properties": {"code": "S1", "name": "便利店", "phone": "010-1234", "tags": {"open": [8, 22]}},
        "geometry": {"type": "Point", "coordinates": [116.39, 39.91]}
    });
    let path = write(&dir, &collection(vec![shop.clone()]));
    let summary = import(store.as_ref(), &path, &options(Some(Layer::Shop)))
        .await
        .unwrap();
    assert_eq!(summary.created, 1);
    let shops = layer_features(store.as_ref(), Layer::Shop).await;
    assert_eq!(
        Value::from(shops[0].properties.clone()),
        json!({"phone": "010-1234", "tags": {"open": [8, 22]}})
    );

    shop["properties"]["layer"] = json!("shop");
    let msg = refusal(vec![shop], Some(Layer::Unit)).await;
    assert_eq!(
        msg,
        "feature 0 (shop/S1) is in layer shop, but --layer says unit; nothing was imported"
    );
}

#[tokio::test]
async fn invalid_json_syntax_names_line_and_column() {
    let (store, dir) = setup().await;
    let path = write(
        &dir,
        "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"type\": \"Feature\",, }\n]}",
    );
    let msg = refused(store.as_ref(), &path, &options(None)).await;
    assert_eq!(
        msg,
        "invalid JSON at line 3, column 22: key must be a string"
    );
}

#[tokio::test]
async fn not_a_feature_collection() {
    let (store, dir) = setup().await;
    let path = write(&dir, &community().to_string());
    let msg = refused(store.as_ref(), &path, &options(None)).await;
    assert!(
        msg.starts_with("not a GeoJSON FeatureCollection: its type is \"Feature\""),
        "{msg}"
    );
    let path = write(&dir, "[1, 2]");
    let msg = refused(store.as_ref(), &path, &options(None)).await;
    assert_eq!(
        msg,
        "not a GeoJSON FeatureCollection: the document is an array"
    );
    let path = write(&dir, r#"{"type": "FeatureCollection", "features": {}}"#);
    let msg = refused(store.as_ref(), &path, &options(None)).await;
    assert_eq!(
        msg,
        "the FeatureCollection's \"features\" is an object, not an array"
    );
}

#[tokio::test]
async fn a_member_that_is_not_a_feature() {
    let msg = refusal(
        vec![community(), json!({"type": "Point", "coordinates": [1, 2]})],
        None,
    )
    .await;
    assert_eq!(
        msg,
        "feature 1 is not a GeoJSON Feature: its type is \"Point\"; nothing was imported"
    );
}

#[tokio::test]
async fn legacy_crs_other_than_lonlat_is_refused() {
    let (store, dir) = setup().await;
    let mut doc: Value = serde_json::from_str(&collection(vec![community()])).unwrap();
    doc["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}});
    let path = write(&dir, &doc.to_string());
    let msg = refused(store.as_ref(), &path, &options(None)).await;
    assert!(
        msg.starts_with("the file's coordinate system is urn:ogc:def:crs:EPSG::4547; gridmap imports WGS84/CGCS2000 longitude-latitude only"),
        "{msg}"
    );
    doc["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}});
    let path = write(&dir, &doc.to_string());
    assert!(import(store.as_ref(), &path, &options(None)).await.is_ok());
}

#[tokio::test]
async fn geometry_type_not_allowed_for_the_layer() {
    let line = json!({"type": "LineString", "coordinates": [[116.38, 39.90], [116.39, 39.91]]});
    let msg = refusal(vec![community(), grid("G1", line)], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has a LineString geometry, but layer party_grid takes Polygon or MultiPolygon; nothing was imported"
    );
    let point = json!({"type": "Point", "coordinates": [116.38, 39.90]});
    let msg = refusal(vec![community(), grid("G1", point)], None).await;
    assert!(
        msg.contains("has a Point geometry, but layer party_grid takes Polygon or MultiPolygon")
    );
}

#[tokio::test]
async fn ring_not_closed() {
    let open = polygon(json!([[
        [116.38, 39.90],
        [116.39, 39.90],
        [116.39, 39.91],
        [116.38, 39.91]
    ]]));
    let msg = refusal(vec![community(), grid("G1", open)], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has an invalid geometry: ring 0 (exterior) is not closed: it starts at (116.38, 39.9) but ends at (116.38, 39.91); nothing was imported"
    );
}

#[tokio::test]
async fn ring_with_fewer_than_four_positions() {
    let short = json!({"type": "MultiPolygon", "coordinates": [
        [square(116.380, 39.90, 0.005)],
        [[[116.39, 39.90], [116.395, 39.90], [116.39, 39.90]]]
    ]});
    let msg = refusal(vec![community(), grid("G1", short)], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has an invalid geometry: polygon 1, ring 0 (exterior) has 3 positions; a ring needs at least 4 (3 corners and the first repeated at the end); nothing was imported"
    );
}

#[tokio::test]
async fn self_intersection() {
    let bow_tie = polygon(json!([[
        [116.38, 39.90],
        [116.39, 39.91],
        [116.39, 39.90],
        [116.38, 39.91],
        [116.38, 39.90]
    ]]));
    let msg = refusal(vec![community(), grid("G1", bow_tie)], None).await;
    assert!(
        msg == "feature 1 (party_grid/G1) has an invalid geometry: ring 0 (exterior) crosses or touches itself at (116.385, 39.905): the edge from position 0 to 1 meets the edge from position 2 to 3; nothing was imported",
        "{msg}"
    );
}

#[tokio::test]
async fn other_validity_faults_hole_outside_and_overlapping_parts() {
    let hole_outside = polygon(json!([
        square(116.38, 39.90, 0.005),
        square(116.39, 39.90, 0.001)
    ]));
    let msg = refusal(vec![community(), grid("G1", hole_outside)], None).await;
    assert!(
        msg.ends_with("has an invalid geometry: ring 1 (hole) is not inside the exterior ring; nothing was imported"),
        "{msg}"
    );
    let overlap = json!({"type": "MultiPolygon", "coordinates": [
        [square(116.380, 39.90, 0.005)], [square(116.382, 39.90, 0.005)]
    ]});
    let msg = refusal(vec![community(), grid("G1", overlap)], None).await;
    assert!(
        msg.ends_with("has an invalid geometry: polygons 0 and 1 of the multipolygon overlap; nothing was imported"),
        "{msg}"
    );
}

#[tokio::test]
async fn coordinates_out_of_range() {
    let projected = polygon(json!([square(443000.0, 4418000.0, 100.0)]));
    let msg = refusal(vec![community(), grid("G1", projected)], None).await;
    assert!(
        msg.starts_with("feature 1 (party_grid/G1) has an invalid geometry: ring 0 (exterior), position 0: longitude 443000 is outside -180..180 (are the coordinates projected?"),
        "{msg}"
    );
    let swapped = json!({"type": "Point", "coordinates": [39.9, 116.4]});
    let shop = json!({"type": "Feature", "properties": {"layer": "shop", "code": "S1", "name": "店"}, "geometry": swapped});
    let msg = refusal(vec![shop], None).await;
    assert!(
        msg.starts_with("feature 0 (shop/S1) has an invalid geometry: the point: latitude 116.4 is outside -90..90 (are longitude and latitude swapped?)"),
        "{msg}"
    );
}

#[tokio::test]
async fn empty_geometry() {
    let msg = refusal(vec![community(), grid("G1", polygon(json!([])))], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has an invalid geometry: the geometry is empty; nothing was imported"
    );
}

#[tokio::test]
async fn missing_geometry() {
    let msg = refusal(vec![community(), grid("G1", Value::Null)], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has no geometry; nothing was imported"
    );
}

#[tokio::test]
async fn malformed_positions() {
    let bad = polygon(json!([[
        [116.38, 39.90],
        [116.39],
        [116.39, 39.91],
        [116.38, 39.90]
    ]]));
    let msg = refusal(vec![community(), grid("G1", bad)], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has a malformed geometry: ring 0, position 1: expected [longitude, latitude], found [116.39]; nothing was imported"
    );
}

#[tokio::test]
async fn duplicate_codes_in_one_layer() {
    let msg = refusal(
        vec![
            community(),
            good_grid("G1", 116.380),
            good_grid("G2", 116.385),
            good_grid("G1", 116.390),
        ],
        None,
    )
    .await;
    assert_eq!(
        msg,
        "feature 3 (party_grid/G1) has the same layer and code as feature 1; nothing was imported"
    );
}

#[tokio::test]
async fn unknown_parent() {
    // The community is neither in the file nor in the store.
    let msg = refusal(vec![good_grid("G1", 116.380)], None).await;
    assert_eq!(
        msg,
        "feature 0 (party_grid/G1) has parent 110101001001, which is not a community in this file or in the store; nothing was imported"
    );
    // A parent in the store will do: the seeded subdistrict.
    let (store, dir) = setup().await;
    let path = write(&dir, &collection(vec![community()]));
    assert!(import(store.as_ref(), &path, &options(None)).await.is_ok());
    // …and then the community is in the store for a later grid file.
    let path = write(&dir, &collection(vec![good_grid("G1", 116.380)]));
    assert!(import(store.as_ref(), &path, &options(None)).await.is_ok());
}

#[tokio::test]
async fn missing_or_empty_name_or_code() {
    let mut no_name = good_grid("G1", 116.380);
    no_name["properties"]["name"] = json!("  ");
    let msg = refusal(vec![community(), no_name], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid/G1) has no name; nothing was imported"
    );
    let mut no_code = good_grid("G1", 116.380);
    no_code["properties"]
        .as_object_mut()
        .unwrap()
        .remove("code");
    let msg = refusal(vec![community(), no_code], None).await;
    assert_eq!(
        msg,
        "feature 1 (party_grid, no code) has no code; nothing was imported"
    );
}

#[tokio::test]
async fn unknown_or_missing_layer() {
    let mut f = good_grid("G1", 116.380);
    f["properties"]["layer"] = json!("grid");
    let msg = refusal(vec![f.clone()], None).await;
    assert!(
        msg.starts_with("feature 0 (grid/G1) has an unknown layer \"grid\" (expected one of subdistrict, community, party_grid"),
        "{msg}"
    );
    f["properties"].as_object_mut().unwrap().remove("layer");
    let msg = refusal(vec![f], None).await;
    assert_eq!(
        msg,
        "feature 0 (code G1) has no layer: give it a `layer` property or pass --layer; nothing was imported"
    );
}

#[tokio::test]
async fn wrong_property_types() {
    let mut c = community();
    c["properties"]["households"] = json!(12.5);
    let msg = refusal(vec![c.clone()], None).await;
    assert_eq!(
        msg,
        "feature 0 (community/110101001001) has households 12.5, which is not a whole number from 0 to 10000000; nothing was imported"
    );
    c["properties"]["households"] = json!(1200);
    c["properties"]["residents"] = json!("3400");
    let msg = refusal(vec![c], None).await;
    assert_eq!(
        msg,
        "feature 0 (community/110101001001) has residents text \"3400\", which is not a whole number from 0 to 10000000; nothing was imported"
    );
}

#[tokio::test]
async fn every_bad_feature_is_listed() {
    let msg = refusal(
        vec![
            community(),
            grid("G1", Value::Null),
            good_grid("G2", 116.385),
            grid("G3", polygon(json!([]))),
        ],
        None,
    )
    .await;
    assert_eq!(
        msg,
        "2 features are invalid; nothing was imported:\n  feature 1 (party_grid/G1) has no geometry\n  feature 3 (party_grid/G3) has an invalid geometry: the geometry is empty"
    );
}

#[tokio::test]
async fn field_mapping_renames_properties() {
    let (store, dir) = setup().await;
    let f = json!({
        "type": "Feature",
        "properties": {"SQBM": "110101001001", "SQMC": "东华门社区", "JDBM": "110101001", "HS": 12},
        "geometry": polygon(json!([square(116.38, 39.90, 0.02)]))
    });
    let path = write(&dir, &collection(vec![f]));
    let mut opts = options(Some(Layer::Community));
    opts.fields = ["code=SQBM", "name=SQMC", "parent=JDBM", "households=HS"]
        .iter()
        .map(|m| m.parse().unwrap())
        .collect();
    assert_eq!(
        import(store.as_ref(), &path, &opts).await.unwrap().created,
        1
    );
    let c = layer_features(store.as_ref(), Layer::Community)
        .await
        .remove(0);
    assert_eq!(
        (c.code.as_str(), c.name.as_str()),
        ("110101001001", "东华门社区")
    );
    assert_eq!(Value::from(c.properties), json!({"households": 12}));
}
