//! Export after import is lossless: the exported file imports into a fresh store as the same
//! features, and into the same store as no change at all.

mod common;

use std::sync::Arc;

use common::{import, options};
use gridmap::io;
use gridmap::model::FeatureDraft;
use gridmap::store::Store;
use serde_json::json;

/// The store these tests run against.
async fn test_store() -> Arc<dyn Store> {
    common::gpkg_store().await
}

fn source() -> String {
    json!({"type": "FeatureCollection", "features": [
        {"type": "Feature",
         "properties": {"layer": "subdistrict", "code": "110101001", "name": "东华门街道",
                        "parent": null, "area_note": "含故宫", "contacts": {"office": "010-6512 3456", "staff": ["王芳", "李强"]}},
         "geometry": {"type": "Polygon", "coordinates": [[[116.38, 39.9], [116.42, 39.9], [116.42, 39.94], [116.38, 39.94], [116.38, 39.9]]]}},
        {"type": "Feature",
         "properties": {"layer": "community", "code": "110101001001", "name": "东华门社区", "parent": "110101001",
                        "households": 1200, "residents": 3400, "density": 0.37, "active": true, "notes": null},
         "geometry": {"type": "Polygon", "coordinates": [
             [[116.38, 39.9], [116.4, 39.9], [116.4, 39.92], [116.38, 39.92], [116.38, 39.9]],
             [[116.385, 39.905], [116.385, 39.91], [116.39, 39.91], [116.39, 39.905], [116.385, 39.905]],
             [[116.392, 39.912], [116.392, 39.915], [116.395, 39.915], [116.395, 39.912], [116.392, 39.912]]
         ]}},
        {"type": "Feature",
         "properties": {"layer": "party_grid", "code": "110101001001001", "name": "东华门第一网格",
                        "parent": "110101001001", "grid_worker": {"name": "张三", "phone": "13800000000"}},
         "geometry": {"type": "MultiPolygon", "coordinates": [
             [[[116.38, 39.9], [116.385, 39.9], [116.385, 39.905], [116.38, 39.905], [116.38, 39.9]]],
             [[[116.39, 39.915], [116.3951234567891, 39.915], [116.395, 39.92], [116.39, 39.92], [116.39, 39.915]]]
         ]}},
        {"type": "Feature",
         "properties": {"layer": "compound", "code": "C001", "name": "南池子小区", "buildings": [1, 2, 3]},
         "geometry": {"type": "Point", "coordinates": [116.3987654321, 39.9123456789]}},
        {"type": "Feature",
         "properties": {"layer": "shop", "code": "S001", "name": "王府井便利店（24小时）"},
         "geometry": {"type": "Point", "coordinates": [116.41, 39.915]}}
    ]})
    .to_string()
}

fn export(features: &[gridmap::model::Feature]) -> Vec<u8> {
    let mut out = Vec::new();
    io::write_geojson(features.iter(), &mut out).unwrap();
    out
}

#[tokio::test]
async fn export_after_import_is_lossless() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.geojson");
    std::fs::write(&original, source()).unwrap();

    let first = test_store().await;
    let summary = import(first.as_ref(), &original, &options(None))
        .await
        .unwrap();
    assert_eq!(summary.created, 5);
    let exported = export(&first.load().await.unwrap());

    // The export reads back as exactly the drafts of the original.
    let from_source = io::read_geojson(source().as_bytes(), None).unwrap();
    let mut from_export = io::read_geojson(&exported, None).unwrap();
    from_export.sort_by_key(FeatureDraft::key);
    let mut expected = from_source.clone();
    expected.sort_by_key(FeatureDraft::key);
    assert_eq!(from_export, expected);

    // Into a fresh store: identical features.
    let exported_path = dir.path().join("exported.geojson");
    std::fs::write(&exported_path, &exported).unwrap();
    let second = test_store().await;
    let summary = import(second.as_ref(), &exported_path, &options(None))
        .await
        .unwrap();
    assert_eq!(summary.created, 5);
    assert_eq!(second.load().await.unwrap(), first.load().await.unwrap());
    assert_eq!(export(&second.load().await.unwrap()), exported);

    // Into the same store: nothing changes.
    let version = first.data_version().await.unwrap();
    let summary = import(first.as_ref(), &exported_path, &options(None))
        .await
        .unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (0, 0, 5)
    );
    assert_eq!(first.data_version().await.unwrap(), version);
}
