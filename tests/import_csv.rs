//! Address-CSV import: a good file lands in the `address` layer as one change set; every bad
//! row refuses the whole file with a message naming its line, and the store stays as it was.

mod common;

use common::{import, layer_features, options, refused, seed};
use gridmap::model::Layer;
use gridmap::snapshot::Snapshot;
use tempfile::TempDir;

async fn setup() -> (std::sync::Arc<dyn gridmap::store::Store>, TempDir) {
    let store = common::gpkg_store().await;
    seed(store.as_ref()).await;
    (store, tempfile::tempdir().expect("tempdir"))
}

fn write(dir: &TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("addresses.csv");
    std::fs::write(&path, text).expect("write test file");
    path
}

#[tokio::test]
async fn a_good_file_is_imported_and_matched() {
    let (store, dir) = setup().await;
    let path = write(
        &dir,
        "address,lon,lat,crs,compound,building,code\n\
         体育路19号碧水嘉园3栋2单元501室,116.4,39.9,,,,R1\n\
         体育路19号碧水嘉园,116.4,39.9,gcj02,碧水嘉园,,\n\
         \"人民街8号\",116.41,39.91,bd09,,,\n",
    );
    let summary = import(store.as_ref(), &path, &options(None))
        .await
        .expect("import");
    assert_eq!(summary.created, 3);
    let features = layer_features(store.as_ref(), Layer::Address).await;
    assert_eq!(features.len(), 3);
    let snapshot = Snapshot::load(store.as_ref()).await.expect("snapshot");
    let m = snapshot.find_address("碧水嘉园三号楼二单元五零一室");
    let hit = m.best.expect("a match");
    assert_eq!(snapshot.features()[hit.feature].code, "R1");
    // Importing the same file again changes nothing.
    let again = import(store.as_ref(), &path, &options(None))
        .await
        .expect("import");
    assert_eq!(again.unchanged, 3);
}

#[tokio::test]
async fn every_bad_row_is_named_and_nothing_is_written() {
    let (store, dir) = setup().await;
    let cases = [
        (
            "address,lon,lat\n好号,x1,39\n",
            "line 2 has lon \"x1\", which is not a number",
        ),
        (
            "address,lon,lat\n好号,116,91\n",
            "line 2 has lat 91, which is out of range",
        ),
        (
            "address,lon,lat,crs\n好号,116,39,mars\n",
            "line 2 has an unknown crs \"mars\"",
        ),
        (
            "address,lon,lat\n好号,116,39\n  ,116,39\n",
            "line 3 has no address",
        ),
        (
            "address,lon,lat,code\n1号,116,39,A\n2号,116,39,A\n",
            "line 3 has code \"A\", which line 2 already has",
        ),
        ("name,lon,lat\n1号,116,39\n", "no address column"),
    ];
    for (text, expected) in cases {
        let path = write(&dir, text);
        let message = refused(store.as_ref(), &path, &options(None)).await;
        assert!(message.contains(expected), "{message}");
    }
    let path = write(&dir, "address,lon,lat\n1号,a,39\n2号,116,99\n");
    let message = refused(store.as_ref(), &path, &options(None)).await;
    assert!(
        message.starts_with("2 rows are invalid; nothing was imported:"),
        "{message}"
    );
}
