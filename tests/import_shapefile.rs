//! Shapefile import: encodings (.cpg, GBK without .cpg), field mapping, .prj reprojection and
//! refusal, missing companions, non-finite coordinates, deleted records. The fixtures in
//! `tests/fixtures/` were made with GDAL's ogr2ogr from small GeoJSON files:
//! `communities_utf8` (EPSG:4490, UTF-8), `grids_gbk` (EPSG:4490, GBK, columns WGBM/WGMC/SQBM/HS/WGY),
//! `shops_gk38` (EPSG:4526, CGCS2000 3° Gauss-Krüger zone 38, from (114.5, 38.04) and (114.48, 38.05)).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{fixture, import, layer_features, options, refused, seed};
use geo::{Geometry, Winding};
use gridmap::io::ImportOptions;
use gridmap::model::Layer;
use gridmap::store::Store;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The store these tests run against.
async fn test_store() -> Arc<dyn Store> {
    common::gpkg_store().await
}

/// A store holding the subdistrict of the fixtures.
async fn seeded_store() -> Arc<dyn Store> {
    let store = test_store().await;
    seed(store.as_ref()).await;
    store
}

/// A store holding the subdistrict and the two communities of the fixtures.
async fn store_with_communities() -> Arc<dyn Store> {
    let store = seeded_store().await;
    let summary = import(
        store.as_ref(),
        &fixture("communities_utf8.shp"),
        &options(Some(Layer::Community)),
    )
    .await
    .unwrap();
    assert_eq!(summary.created, 2);
    store
}

fn grid_options() -> ImportOptions {
    let mut opts = options(Some(Layer::PartyGrid));
    opts.fields = ["code=WGBM", "name=WGMC", "parent=SQBM", "households=hs"]
        .iter()
        .map(|m| m.parse().unwrap())
        .collect();
    opts
}

/// Copies of the fixture `stem`'s files into a temporary directory, leaving out `skip`
/// extensions; returns the directory and the copied `.shp` path.
fn copy_fixture(stem: &str, skip: &[&str]) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let from = fixture(&format!("{stem}.{ext}"));
        if from.exists() && !skip.contains(&ext) {
            std::fs::copy(&from, dir.path().join(format!("{stem}.{ext}"))).unwrap();
        }
    }
    let shp = dir.path().join(format!("{stem}.shp"));
    (dir, shp)
}

#[tokio::test]
async fn utf8_shapefile_with_holes_and_multipolygons() {
    let store = store_with_communities().await;
    let communities = layer_features(store.as_ref(), Layer::Community).await;
    let c1 = &communities[0];
    assert_eq!(
        (c1.code.as_str(), c1.name.as_str(), c1.parent.as_deref()),
        ("110101001001", "东华门社区", Some("110101001"))
    );
    assert_eq!(
        Value::from(c1.properties.clone()),
        json!({"households": 1200, "residents": 3400, "note": "含内环"})
    );
    let Geometry::Polygon(p) = &c1.geometry else {
        panic!("expected a polygon with a hole: {:?}", c1.geometry)
    };
    assert_eq!(p.interiors().len(), 1);
    // RFC 7946 orientation: exterior counter-clockwise, holes clockwise.
    assert!(p.exterior().is_ccw() && p.interiors()[0].is_cw());
    let Geometry::MultiPolygon(mp) = &communities[1].geometry else {
        panic!("expected a multipolygon: {:?}", communities[1].geometry)
    };
    assert_eq!(mp.0.len(), 2);
}

#[tokio::test]
async fn gbk_shapefile_with_field_mapping() {
    let store = store_with_communities().await;
    let summary = import(store.as_ref(), &fixture("grids_gbk.shp"), &grid_options())
        .await
        .unwrap();
    assert_eq!(summary.created, 2);
    let grids = layer_features(store.as_ref(), Layer::PartyGrid).await;
    assert_eq!(grids[0].code, "110101001001001");
    assert_eq!(grids[0].name, "东华门第一网格");
    assert_eq!(grids[0].parent.as_deref(), Some("110101001001"));
    assert_eq!(
        Value::from(grids[0].properties.clone()),
        json!({"households": 300, "WGY": "张三"})
    );
    assert_eq!(grids[1].name, "东华门第二网格");
}

#[tokio::test]
async fn gbk_without_cpg_falls_back_from_utf8() {
    let store = store_with_communities().await;
    let (_dir, shp) = copy_fixture("grids_gbk", &["cpg"]);
    import(store.as_ref(), &shp, &grid_options()).await.unwrap();
    let grids = layer_features(store.as_ref(), Layer::PartyGrid).await;
    assert_eq!(grids[0].name, "东华门第一网格");
    assert_eq!(grids[1].properties["WGY"], json!("李四"));
}

#[tokio::test]
async fn cpg_that_does_not_match_the_text_is_refused() {
    let store = store_with_communities().await;
    let (dir, shp) = copy_fixture("grids_gbk", &[]);
    std::fs::write(dir.path().join("grids_gbk.cpg"), "UTF-8").unwrap();
    let msg = refused(store.as_ref(), &shp, &grid_options()).await;
    assert!(
        msg.ends_with("grids_gbk.cpg: the .cpg says UTF-8, but the text of record 0, column WGMC in the .dbf is not valid UTF-8"),
        "{msg}"
    );
    std::fs::write(dir.path().join("grids_gbk.cpg"), "EBCDIC-klingon").unwrap();
    let msg = refused(store.as_ref(), &shp, &grid_options()).await;
    assert!(
        msg.contains("the .cpg names an encoding gridmap does not know: \"EBCDIC-klingon\""),
        "{msg}"
    );
}

#[tokio::test]
async fn projected_gauss_kruger_is_converted_to_lonlat() {
    let store = test_store().await;
    let summary = import(
        store.as_ref(),
        &fixture("shops_gk38.shp"),
        &options(Some(Layer::Shop)),
    )
    .await
    .unwrap();
    assert_eq!(summary.created, 2);
    let shops = layer_features(store.as_ref(), Layer::Shop).await;
    // ogr2ogr projected these from (114.5, 38.04) and (114.48, 38.05) on EPSG:4490.
    for (shop, (lon, lat)) in shops.iter().zip([(114.5, 38.04), (114.48, 38.05)]) {
        let Geometry::Point(p) = shop.geometry else {
            panic!("expected a point: {:?}", shop.geometry)
        };
        assert!(
            (p.x() - lon).abs() < 1e-8 && (p.y() - lat).abs() < 1e-8,
            "{}: got ({}, {}), expected ({lon}, {lat})",
            shop.code,
            p.x(),
            p.y()
        );
    }
    assert_eq!(shops[0].name, "裕华路便利店");
}

/// Import a copy of the Gauss-Krüger shops fixture into a seeded store, without the `skip`
/// files and with `prj` as its .prj when given, expecting a refusal: the message.
async fn refused_shops(skip: &[&str], prj: Option<&str>) -> String {
    let store = seeded_store().await;
    let (dir, shp) = copy_fixture("shops_gk38", skip);
    if let Some(prj) = prj {
        std::fs::write(dir.path().join("shops_gk38.prj"), prj).unwrap();
    }
    refused(store.as_ref(), &shp, &options(Some(Layer::Shop))).await
}

#[tokio::test]
async fn unknown_datum_is_refused() {
    let xian80 = r#"PROJCS["Xian_1980_3_Degree_GK_CM_114E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    let msg = refused_shops(&[], Some(xian80)).await;
    assert!(
        msg.ends_with("shops_gk38.prj: the .prj's datum D_Xian_1980 has no known shift to WGS84/CGCS2000; reproject the file to CGCS2000 longitude-latitude (EPSG:4490) first, e.g. `ogr2ogr -t_srs EPSG:4490 out.shp in.shp` with the transformation your surveyors use"),
        "{msg}"
    );
    let msg = refused_shops(&[], Some("GEOGCS[nonsense")).await;
    assert!(
        msg.contains("shops_gk38.prj: the .prj is not a coordinate system gridmap can read"),
        "{msg}"
    );
}

#[tokio::test]
async fn projected_coordinates_without_prj_are_refused() {
    let msg = refused_shops(&["prj"], None).await;
    assert!(
        msg.contains("shops_gk38.shp: there is no .prj, so the coordinates were taken as longitude-latitude, but feature 0 (shop/S001) has an invalid geometry: the point: longitude 38543892.50138727 is outside -180..180"),
        "{msg}"
    );
    assert!(msg.ends_with("put the .prj that came with the data beside the .shp"));
}

#[tokio::test]
async fn missing_companion_files() {
    let msg = refused_shops(&["dbf"], None).await;
    assert!(
        msg.contains("shops_gk38.shp: the .dbf (attributes) is missing: a shapefile needs"),
        "{msg}"
    );
    let msg = refused_shops(&["shp"], None).await;
    assert!(
        msg.contains("shops_gk38.shp: No such file or directory"),
        "{msg}"
    );
}

#[tokio::test]
async fn companions_are_found_whatever_the_case_of_their_extension() {
    let store = test_store().await;
    let dir = tempfile::tempdir().unwrap();
    for ext in ["shp", "dbf", "prj", "cpg"] {
        let to = dir
            .path()
            .join(format!("SHOPS.{}", ext.to_ascii_uppercase()));
        std::fs::copy(fixture(&format!("shops_gk38.{ext}")), to).unwrap();
    }
    let summary = import(
        store.as_ref(),
        &dir.path().join("SHOPS.SHP"),
        &options(Some(Layer::Shop)),
    )
    .await
    .unwrap();
    assert_eq!(summary.created, 2);
}

#[tokio::test]
async fn layer_is_required_without_a_layer_column() {
    let store = seeded_store().await;
    let msg = refused(store.as_ref(), &fixture("shops_gk38.shp"), &options(None)).await;
    assert!(
        msg.ends_with("shops_gk38.shp: a shapefile holds one layer; say which with --layer (or map a column with --field layer=COLUMN)"),
        "{msg}"
    );
}

#[tokio::test]
async fn mapping_to_a_missing_column_is_refused() {
    let store = store_with_communities().await;
    let mut opts = grid_options();
    opts.fields[1] = "name=WGNAME".parse().unwrap();
    let msg = refused(store.as_ref(), &fixture("grids_gbk.shp"), &opts).await;
    assert_eq!(
        msg,
        "--field name=WGNAME: the .dbf has no column WGNAME (its columns are WGBM, WGMC, SQBM, HS, WGY)"
    );
}

#[tokio::test]
async fn grids_whose_community_is_unknown_are_refused() {
    let store = seeded_store().await;
    let msg = refused(store.as_ref(), &fixture("grids_gbk.shp"), &grid_options()).await;
    assert!(
        msg.starts_with("2 features are invalid; nothing was imported:\n  feature 0 (party_grid/110101001001001) has parent 110101001001, which is not a community in this file or in the store"),
        "{msg}"
    );
}

/// A point shapefile written with the `shapefile` crate, whose second point is NaN.
fn write_points(dir: &Path, points: &[(f64, f64)]) -> PathBuf {
    use shapefile::dbase::{self, TableWriterBuilder};
    let path = dir.join("points.shp");
    let table = TableWriterBuilder::new()
        .add_character_field("code".try_into().unwrap(), 20)
        .add_character_field("name".try_into().unwrap(), 40);
    let mut writer = shapefile::Writer::from_path(&path, table).unwrap();
    for (i, &(x, y)) in points.iter().enumerate() {
        let mut record = dbase::Record::default();
        record.insert("code".into(), format!("P{i}").into());
        record.insert("name".into(), format!("驿站{i}").into());
        writer
            .write_shape_and_record(&shapefile::Point::new(x, y), &record)
            .unwrap();
    }
    drop(writer);
    path
}

#[tokio::test]
async fn non_finite_coordinates_are_refused() {
    let store = seeded_store().await;
    let dir = tempfile::tempdir().unwrap();
    let shp = write_points(dir.path(), &[(116.4, 39.9), (f64::NAN, 39.9)]);
    let msg = refused(store.as_ref(), &shp, &options(Some(Layer::ServiceStation))).await;
    assert_eq!(
        msg,
        "feature 1 (service_station/P1) has an invalid geometry: the point: coordinate (NaN, 39.9) is not a finite number; nothing was imported"
    );
}

#[tokio::test]
async fn deleted_records_are_skipped_with_their_shapes() {
    let store = store_with_communities().await;
    let (dir, shp) = copy_fixture("grids_gbk", &[]);
    let dbf = dir.path().join("grids_gbk.dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[header_len] = b'*';
    std::fs::write(&dbf, bytes).unwrap();
    let summary = import(store.as_ref(), &shp, &grid_options()).await.unwrap();
    assert_eq!(summary.created, 1);
    let grids = layer_features(store.as_ref(), Layer::PartyGrid).await;
    assert_eq!(grids[0].code, "110101001001002");
    // The second record kept the second shape: its square starts at longitude 116.39.
    let Geometry::Polygon(p) = &grids[0].geometry else {
        panic!("expected a polygon")
    };
    let min_x = p.exterior().0.iter().map(|c| c.x).fold(f64::MAX, f64::min);
    assert_eq!(min_x, 116.39);
}
