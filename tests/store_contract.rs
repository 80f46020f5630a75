//! The contract every store keeps, one suite run against both: the GeoPackage store in a
//! temporary directory, and the PostGIS store in a fresh database per test (`#[sqlx::test]`
//! makes one from `DATABASE_URL`, and fails without it: these tests never skip).
//!
//! Each contract test is an `async fn(Arc<dyn Store>)`; [`contract!`] instantiates it once per
//! store. GeoPackage-only tests (reopening the file, GDAL reading it) follow at the end.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use geo::{Geometry, MultiPolygon, point, polygon};
use gridmap::model::{
    Action, Change, ChangeSet, CommitSummary, Feature, FeatureDraft, FeatureKey, Layer, Properties,
};
use gridmap::store::gpkg::GpkgStore;
use gridmap::store::{GPKG_FILE, Store, StoreError};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Instantiate each contract test for both stores.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod gpkg {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::TempDir::new().unwrap();
                    super::$name(super::open_gpkg(&dir).await).await;
                }
            )*
        }
        mod postgis {
            $(
                #[sqlx::test(migrations = false)]
                async fn $name(pool: sqlx::PgPool) {
                    let store = gridmap::store::postgis::PostgisStore::from_pool(pool)
                        .await
                        .unwrap();
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}

contract!(
    empty_store_has_nothing,
    created_features_round_trip_exactly,
    load_orders_by_layer_then_code,
    update_bumps_version_and_records_both_states,
    identical_upsert_is_unchanged,
    delete_removes_and_records_the_last_state,
    matching_expected_versions_are_accepted,
    stale_version_is_refused_and_nothing_changes,
    must_not_exist_is_refused_and_nothing_changes,
    delete_of_missing_feature_is_not_found,
    failing_last_change_rolls_back_the_whole_set,
    duplicate_key_in_one_change_set_is_refused,
    revisions_filter_by_key_after_and_limit,
    data_version_grows_with_every_write,
    same_code_in_two_layers_is_two_features,
    address_features_are_stored,
    concurrent_commits_are_serialised,
);

async fn open_gpkg(dir: &TempDir) -> Arc<dyn Store> {
    Arc::new(GpkgStore::open(&dir.path().join(GPKG_FILE)).await.unwrap())
}

/// A plain SQLite connection to the GeoPackage in `dir`, as another program would open it.
async fn raw_sqlite(dir: &TempDir) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}", dir.path().join(GPKG_FILE).display());
    sqlx::SqlitePool::connect(&url).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Data

fn props(value: Value) -> Properties {
    match value {
        Value::Object(map) => map.into(),
        other => panic!("not an object: {other}"),
    }
}

fn draft(layer: Layer, code: &str, name: &str, geometry: Geometry<f64>) -> FeatureDraft {
    FeatureDraft {
        layer,
        code: code.into(),
        name: name.into(),
        parent: None,
        properties: Properties::new(),
        geometry,
    }
}

fn shop(code: &str, name: &str) -> FeatureDraft {
    draft(
        Layer::Shop,
        code,
        name,
        point!(x: 116.403_874_123_456_7, y: 39.914_889_987_654_3).into(),
    )
}

/// A party grid with a hole (a compound it does not govern), in a community.
fn party_grid() -> FeatureDraft {
    let mut d = draft(
        Layer::PartyGrid,
        "110105001001001",
        "第一党建网格",
        polygon!(
            exterior: [
                (x: 116.45, y: 39.92), (x: 116.46, y: 39.92), (x: 116.46, y: 39.93),
                (x: 116.45, y: 39.93), (x: 116.45, y: 39.92),
            ],
            interiors: [[
                (x: 116.452, y: 39.922), (x: 116.454, y: 39.922), (x: 116.454, y: 39.924),
                (x: 116.452, y: 39.922),
            ]],
        )
        .into(),
    );
    d.parent = Some("110105001001".into());
    d.properties = props(json!({
        "grid_worker": "张三",
        "phone": "010-12345678",
        "households": 1234,
        "residents": 3456,
        "area_ratio": 0.1,
    }));
    d
}

/// A community made of two separate parts.
fn community() -> FeatureDraft {
    let part = |x0: f64| {
        polygon![
            (x: x0, y: 39.9), (x: x0 + 0.01, y: 39.9), (x: x0 + 0.01, y: 39.91), (x: x0, y: 39.9),
        ]
    };
    let mut d = draft(
        Layer::Community,
        "110105001001",
        "朝阳门社区",
        MultiPolygon::new(vec![part(116.43), part(116.47)]).into(),
    );
    d.parent = Some("110105001".into());
    d
}

/// Nested JSON with every kind of value, including awkward numbers and text.
fn nested_properties() -> Properties {
    props(json!({
        "address": "北京市朝阳区朝阳门外大街 1 号",
        "owner": {"name": "李四", "phones": ["13800000000", "010-8888"], "verified": true},
        "floors": [1, 2, {"basement": -1}],
        "rent": 12_345.675,
        "tiny": 1.0e-7,
        "whole_float": 3.0,
        "big": 9_007_199_254_740_993_u64,
        "negative": -42,
        "none": null,
        "quote": "\"引号\" and \\ backslash\n",
        "": "empty key",
    }))
}

fn round_trip_drafts() -> Vec<FeatureDraft> {
    let mut with_json = shop("S-001", "老北京炸酱面（朝阳门店）");
    with_json.properties = nested_properties();
    let compound_point = draft(
        Layer::Compound,
        "C-2",
        "朝阳门小区",
        point!(x: 116.43, y: 39.92).into(),
    );
    let compound_area = draft(
        Layer::Compound,
        "C-1",
        "南小街小区",
        polygon![(x: 116.42, y: 39.91), (x: 116.43, y: 39.91), (x: 116.42, y: 39.92)].into(),
    );
    vec![
        with_json,
        party_grid(),
        community(),
        compound_point,
        compound_area,
    ]
}

fn upsert(draft: FeatureDraft) -> Change {
    Change::Upsert {
        draft,
        expected_version: None,
    }
}

fn upsert_at(draft: FeatureDraft, expected: i64) -> Change {
    Change::Upsert {
        draft,
        expected_version: Some(expected),
    }
}

fn delete(key: FeatureKey, expected_version: Option<i64>) -> Change {
    Change::Delete {
        key,
        expected_version,
    }
}

fn change_set(changes: Vec<Change>) -> ChangeSet {
    ChangeSet {
        author: "王网格员".into(),
        message: "测试 change".into(),
        changes,
    }
}

async fn commit(store: &Arc<dyn Store>, changes: Vec<Change>) -> CommitSummary {
    store.commit(change_set(changes)).await.unwrap()
}

/// Drafts as a store must return them at `version`: in layer order, then code order.
fn expected(drafts: &[FeatureDraft], version: i64) -> Vec<Feature> {
    let mut features: Vec<Feature> = drafts
        .iter()
        .map(|d| d.clone().into_feature(version))
        .collect();
    features.sort_by(|a, b| (a.layer, &a.code).cmp(&(b.layer, &b.code)));
    features
}

/// Everything observable about a store, to compare before and after a refused change set.
async fn observe(store: &Arc<dyn Store>) -> (Vec<Feature>, i64, usize) {
    let features = store.load().await.unwrap();
    let version = store.data_version().await.unwrap();
    let revisions = store.revisions(None, 0, 1_000_000).await.unwrap().len();
    (features, version, revisions)
}

/// The key and the expected and actual versions of a version conflict; `None` for other errors.
fn conflict(err: &StoreError) -> Option<(FeatureKey, i64, i64)> {
    match err {
        StoreError::VersionConflict {
            key,
            expected,
            actual,
        } => Some((key.clone(), *expected, *actual)),
        _ => None,
    }
}

/// Commit `changes`, expect it refused, and expect the store exactly as before.
async fn refused(store: &Arc<dyn Store>, changes: Vec<Change>) -> StoreError {
    let before = observe(store).await;
    let err = store.commit(change_set(changes)).await.unwrap_err();
    assert_eq!(
        observe(store).await,
        before,
        "a refused change set wrote something: {err}"
    );
    err
}

// ---------------------------------------------------------------------------------------------
// The contract

async fn empty_store_has_nothing(store: Arc<dyn Store>) {
    assert!(store.load().await.unwrap().is_empty());
    assert_eq!(store.data_version().await.unwrap(), 0);
    assert!(store.revisions(None, 0, 10).await.unwrap().is_empty());
    let summary = commit(&store, vec![]).await;
    assert_eq!(
        (summary.created, summary.updated, summary.deleted),
        (0, 0, 0)
    );
    assert_eq!(store.data_version().await.unwrap(), 0);
}

async fn created_features_round_trip_exactly(store: Arc<dyn Store>) {
    let drafts = round_trip_drafts();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let summary = commit(&store, drafts.iter().cloned().map(upsert).collect()).await;
    assert_eq!(summary.created, drafts.len());
    assert_eq!(
        (summary.updated, summary.unchanged, summary.deleted),
        (0, 0, 0)
    );

    let loaded = store.load().await.unwrap();
    assert_eq!(loaded, expected(&drafts, 1));

    let revisions = store.revisions(None, 0, 100).await.unwrap();
    assert_eq!(revisions.len(), drafts.len());
    assert_eq!(
        store.data_version().await.unwrap(),
        revisions[revisions.len() - 1].id
    );
    for (rev, d) in revisions.iter().zip(&drafts) {
        assert_eq!(rev.action, Action::Create);
        assert_eq!(rev.changeset, summary.changeset);
        assert_eq!(rev.key, d.key());
        assert_eq!(rev.author, "王网格员");
        assert_eq!(rev.message, "测试 change");
        assert!(rev.at > before && rev.at < chrono::Utc::now() + chrono::Duration::seconds(5));
        assert_eq!(rev.old, None);
        assert_eq!(rev.new, Some(d.clone().into_feature(1)));
    }
    // Revision ids follow the order of the changes.
    assert!(revisions.windows(2).all(|w| w[0].id < w[1].id));
}

async fn load_orders_by_layer_then_code(store: Arc<dyn Store>) {
    let drafts = [
        shop("b", "乙"),
        shop("B", "大写"),
        shop("a10", "甲10"),
        shop("a9", "甲9"),
        community(),
        party_grid(),
    ];
    commit(&store, drafts.iter().cloned().map(upsert).collect()).await;
    let keys: Vec<String> = store
        .load()
        .await
        .unwrap()
        .iter()
        .map(|f| f.key().to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "community/110105001001",
            "party_grid/110105001001001",
            "shop/B",
            "shop/a10",
            "shop/a9",
            "shop/b",
        ]
    );
}

async fn update_bumps_version_and_records_both_states(store: Arc<dyn Store>) {
    let original = party_grid();
    commit(&store, vec![upsert(original.clone())]).await;

    let mut changed = original.clone();
    changed.name = "第一党建网格（调整后）".into();
    changed.properties.insert("households", json!(1300));
    changed.geometry = polygon![
        (x: 116.45, y: 39.92), (x: 116.47, y: 39.92), (x: 116.47, y: 39.93), (x: 116.45, y: 39.92),
    ]
    .into();
    let summary = commit(&store, vec![upsert(changed.clone())]).await;
    assert_eq!((summary.created, summary.updated), (0, 1));
    assert_eq!(
        store.load().await.unwrap(),
        vec![changed.clone().into_feature(2)]
    );

    let revisions = store.revisions(Some(&original.key()), 0, 10).await.unwrap();
    assert_eq!(revisions.len(), 2);
    let update = &revisions[1];
    assert_eq!(update.action, Action::Update);
    assert_eq!(update.changeset, summary.changeset);
    assert_eq!(update.old, Some(original.into_feature(1)));
    assert_eq!(update.new, Some(changed.clone().into_feature(2)));

    // Only the parent changes: still an update.
    changed.parent = None;
    let summary = commit(&store, vec![upsert(changed.clone())]).await;
    assert_eq!(summary.updated, 1);
    assert_eq!(store.load().await.unwrap()[0].version, 3);
}

async fn identical_upsert_is_unchanged(store: Arc<dyn Store>) {
    let drafts = round_trip_drafts();
    commit(&store, drafts.iter().cloned().map(upsert).collect()).await;
    let before = observe(&store).await;

    // The same content, with the property keys in another order.
    let mut again = drafts.clone();
    let reversed: Properties = again[0]
        .properties
        .iter()
        .rev()
        .map(|(k, v)| (k, v.clone()))
        .collect();
    again[0].properties = reversed;
    let summary = commit(&store, again.into_iter().map(upsert).collect()).await;
    assert_eq!(summary.unchanged, drafts.len());
    assert_eq!(
        (summary.created, summary.updated, summary.deleted),
        (0, 0, 0)
    );
    assert_eq!(observe(&store).await, before);
}

async fn delete_removes_and_records_the_last_state(store: Arc<dyn Store>) {
    let (a, b) = (shop("S-1", "一号店"), shop("S-2", "二号店"));
    commit(&store, vec![upsert(a.clone()), upsert(b.clone())]).await;
    let summary = commit(&store, vec![delete(a.key(), None)]).await;
    assert_eq!(summary.deleted, 1);
    assert_eq!(store.load().await.unwrap(), vec![b.into_feature(1)]);

    let revisions = store.revisions(Some(&a.key()), 0, 10).await.unwrap();
    let last = &revisions[revisions.len() - 1];
    assert_eq!(last.action, Action::Delete);
    assert_eq!(last.old, Some(a.clone().into_feature(1)));
    assert_eq!(last.new, None);
    assert_eq!(store.data_version().await.unwrap(), last.id);

    // Created again after a delete: it does not exist (expected version 0), and its versions go
    // on from the last it had, so a tag from before the delete cannot match it.
    let summary = commit(&store, vec![upsert_at(a.clone(), 0)]).await;
    assert_eq!(summary.created, 1);
    assert_eq!(store.load().await.unwrap()[0], a.into_feature(2));
}

async fn matching_expected_versions_are_accepted(store: Arc<dyn Store>) {
    let mut a = shop("S-1", "一号店");
    commit(&store, vec![upsert_at(a.clone(), 0)]).await;
    a.name = "一号店（新）".into();
    commit(&store, vec![upsert_at(a.clone(), 1)]).await;
    // An unchanged upsert checks its version too.
    let summary = commit(&store, vec![upsert_at(a.clone(), 2)]).await;
    assert_eq!(summary.unchanged, 1);
    let summary = commit(&store, vec![delete(a.key(), Some(2))]).await;
    assert_eq!(summary.deleted, 1);
    assert!(store.load().await.unwrap().is_empty());
}

async fn stale_version_is_refused_and_nothing_changes(store: Arc<dyn Store>) {
    let mut a = shop("S-1", "一号店");
    commit(&store, vec![upsert(a.clone())]).await;
    a.name = "改名".into();
    commit(&store, vec![upsert(a.clone())]).await;

    a.name = "再改名".into();
    let err = refused(&store, vec![upsert_at(a.clone(), 1)]).await;
    assert_eq!(conflict(&err), Some((a.key(), 1, 2)), "{err:?}");
    let err = refused(&store, vec![delete(a.key(), Some(1))]).await;
    assert_eq!(conflict(&err), Some((a.key(), 1, 2)), "{err:?}");
    // Expecting a version of a feature that is not there.
    let missing = shop("S-9", "无");
    let err = refused(&store, vec![upsert_at(missing.clone(), 4)]).await;
    assert_eq!(conflict(&err), Some((missing.key(), 4, 0)), "{err:?}");
}

async fn must_not_exist_is_refused_and_nothing_changes(store: Arc<dyn Store>) {
    let a = shop("S-1", "一号店");
    commit(&store, vec![upsert(a.clone())]).await;
    let mut again = a.clone();
    again.name = "抢注".into();
    let err = refused(&store, vec![upsert_at(again, 0)]).await;
    assert_eq!(conflict(&err), Some((a.key(), 0, 1)), "{err:?}");
}

async fn delete_of_missing_feature_is_not_found(store: Arc<dyn Store>) {
    commit(&store, vec![upsert(shop("S-1", "一号店"))]).await;
    let missing = shop("S-404", "").key();
    let err = refused(&store, vec![delete(missing.clone(), None)]).await;
    assert!(
        matches!(&err, StoreError::NotFound(k) if *k == missing),
        "{err:?}"
    );
    let err = refused(&store, vec![delete(missing.clone(), Some(1))]).await;
    assert!(
        matches!(&err, StoreError::NotFound(k) if *k == missing),
        "{err:?}"
    );
}

async fn failing_last_change_rolls_back_the_whole_set(store: Arc<dyn Store>) {
    let (a, b, c) = (shop("S-1", "一"), shop("S-2", "二"), shop("S-3", "三"));
    commit(
        &store,
        vec![upsert(a.clone()), upsert(b.clone()), upsert(c.clone())],
    )
    .await;

    let mut a2 = a.clone();
    a2.name = "一（改）".into();
    let mut c2 = c.clone();
    c2.name = "三（改）".into();
    let mut changes = vec![
        upsert(round_trip_drafts().remove(1)),
        upsert(a2),
        delete(b.key(), Some(1)),
    ];
    changes.extend(round_trip_drafts().into_iter().skip(2).map(upsert));
    // Last: c is at version 1, not 5.
    changes.push(upsert_at(c2.clone(), 5));
    let err = refused(&store, changes.clone()).await;
    assert_eq!(conflict(&err), Some((c.key(), 5, 1)), "{err:?}");

    // The same set whose last change is a missing delete.
    let last = changes.len() - 1;
    changes[last] = delete(shop("S-404", "").key(), None);
    let err = refused(&store, changes).await;
    assert!(matches!(err, StoreError::NotFound(_)));
}

async fn duplicate_key_in_one_change_set_is_refused(store: Arc<dyn Store>) {
    let a = shop("S-1", "一号店");
    let err = refused(
        &store,
        vec![
            upsert(a.clone()),
            upsert(shop("S-2", "二")),
            upsert(a.clone()),
        ],
    )
    .await;
    assert!(matches!(&err, StoreError::DuplicateInChangeSet(k) if *k == a.key()));

    commit(&store, vec![upsert(a.clone())]).await;
    let err = refused(&store, vec![upsert(a.clone()), delete(a.key(), None)]).await;
    assert!(matches!(&err, StoreError::DuplicateInChangeSet(k) if *k == a.key()));
}

async fn revisions_filter_by_key_after_and_limit(store: Arc<dyn Store>) {
    let mut a = shop("S-1", "一");
    let b = shop("S-2", "二");
    commit(&store, vec![upsert(a.clone()), upsert(b.clone())]).await;
    for name in ["一a", "一b", "一c"] {
        a.name = name.into();
        commit(&store, vec![upsert(a.clone())]).await;
    }
    commit(&store, vec![delete(b.key(), None)]).await;

    let all = store.revisions(None, 0, 100).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));

    let of_a = store.revisions(Some(&a.key()), 0, 100).await.unwrap();
    let versions: Vec<_> = of_a
        .iter()
        .map(|r| r.new.as_ref().map(|f| f.version))
        .collect();
    assert_eq!(versions, [Some(1), Some(2), Some(3), Some(4)]);
    assert!(of_a.iter().all(|r| r.key == a.key()));
    let of_b = store.revisions(Some(&b.key()), 0, 100).await.unwrap();
    let actions: Vec<_> = of_b.iter().map(|r| r.action).collect();
    assert_eq!(actions, [Action::Create, Action::Delete]);

    let after = store
        .revisions(Some(&a.key()), of_a[1].id, 100)
        .await
        .unwrap();
    assert_eq!(after, of_a[2..].to_vec());
    let limited = store
        .revisions(Some(&a.key()), of_a[0].id, 2)
        .await
        .unwrap();
    assert_eq!(limited, of_a[1..3].to_vec());
    assert_eq!(
        store.revisions(None, all[3].id, 1).await.unwrap(),
        vec![all[4].clone()]
    );
    assert!(
        store
            .revisions(None, all[5].id, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.revisions(None, 0, 0).await.unwrap().is_empty());
    let nobody = FeatureKey {
        layer: Layer::Unit,
        code: "S-1".into(),
    };
    assert!(
        store
            .revisions(Some(&nobody), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn data_version_grows_with_every_write(store: Arc<dyn Store>) {
    let mut a = shop("S-1", "一");
    let mut seen = vec![store.data_version().await.unwrap()];
    commit(&store, vec![upsert(a.clone())]).await;
    seen.push(store.data_version().await.unwrap());
    a.name = "二".into();
    commit(&store, vec![upsert(a.clone())]).await;
    seen.push(store.data_version().await.unwrap());
    commit(&store, vec![upsert(a.clone())]).await; // unchanged: no revision
    assert_eq!(store.data_version().await.unwrap(), seen[seen.len() - 1]);
    commit(&store, vec![delete(a.key(), None)]).await;
    seen.push(store.data_version().await.unwrap());
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

async fn same_code_in_two_layers_is_two_features(store: Arc<dyn Store>) {
    let in_shops = shop("X-1", "商铺");
    let mut in_units = shop("X-1", "单位");
    in_units.layer = Layer::Unit;
    commit(
        &store,
        vec![upsert(in_shops.clone()), upsert(in_units.clone())],
    )
    .await;
    commit(&store, vec![delete(in_shops.key(), Some(1))]).await;
    assert_eq!(store.load().await.unwrap(), vec![in_units.into_feature(1)]);
}

async fn address_features_are_stored(store: Arc<dyn Store>) {
    let mut a = shop("AD0001", "体育路19号碧水嘉园3栋");
    a.layer = Layer::Address;
    a.properties = props(json!({"compound": "碧水嘉园", "building": "3"}));
    commit(&store, vec![upsert(a.clone())]).await;
    assert_eq!(store.load().await.unwrap(), vec![a.into_feature(1)]);
}

async fn concurrent_commits_are_serialised(store: Arc<dyn Store>) {
    let a = shop("S-1", "一");
    commit(&store, vec![upsert(a.clone())]).await;
    // Eight writers all read version 1 and try to move it on: exactly one may.
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        let mut mine = a.clone();
        mine.name = format!("写者{i}");
        tokio::spawn(async move { store.commit(change_set(vec![upsert_at(mine, 1)])).await })
    });
    let mut won = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            Ok(summary) => {
                assert_eq!(summary.updated, 1);
                won += 1;
            }
            Err(err) => assert_eq!(conflict(&err), Some((a.key(), 1, 2)), "{err:?}"),
        }
    }
    assert_eq!(won, 1);
    let revisions = store.revisions(Some(&a.key()), 0, 100).await.unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(store.load().await.unwrap()[0].version, 2);
}

// ---------------------------------------------------------------------------------------------
// GeoPackage only

#[tokio::test]
async fn gpkg_reopened_file_shows_the_same_data() {
    let dir = TempDir::new().unwrap();
    let drafts = round_trip_drafts();
    let before = {
        let store = open_gpkg(&dir).await;
        commit(&store, drafts.iter().cloned().map(upsert).collect()).await;
        observe(&store).await
    };
    let store = open_gpkg(&dir).await;
    assert_eq!(observe(&store).await, before);
    assert_eq!(before.0, expected(&drafts, 1));
}

#[tokio::test]
async fn gpkg_file_is_a_geopackage_with_current_extents() {
    let dir = TempDir::new().unwrap();
    let store = open_gpkg(&dir).await;
    commit(
        &store,
        round_trip_drafts().into_iter().map(upsert).collect(),
    )
    .await;

    let pool = raw_sqlite(&dir).await;
    let application_id: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(application_id, 0x4750_4B47);
    let user_version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(user_version, 10300);

    let identifiers: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name, identifier FROM gpkg_contents \
         WHERE data_type = 'features' AND srs_id = 4326",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<(String, String)> = Layer::ALL
        .iter()
        .map(|l| (l.id().to_string(), l.name_zh().to_string()))
        .collect();
    assert_eq!(identifiers, expected);

    type Extent = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);
    let extent = async |table: &str| -> Extent {
        sqlx::query_as("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?")
            .bind(table.to_string())
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let polygon_grid = (Some(116.45), Some(39.92), Some(116.46), Some(39.93));
    assert_eq!(extent("party_grid").await, polygon_grid);
    let both_compounds = (Some(116.42), Some(39.91), Some(116.43), Some(39.92));
    assert_eq!(extent("compound").await, both_compounds);
    assert_eq!(extent("unit").await, (None, None, None, None));

    // Deleting shrinks the extent; emptying the layer clears it.
    let area_compound = FeatureKey {
        layer: Layer::Compound,
        code: "C-1".into(),
    };
    commit(&store, vec![delete(area_compound, None)]).await;
    commit(&store, vec![delete(party_grid().key(), None)]).await;
    let point_compound = (Some(116.43), Some(39.92), Some(116.43), Some(39.92));
    assert_eq!(extent("compound").await, point_compound);
    assert_eq!(extent("party_grid").await, (None, None, None, None));
}

/// Run `ogrinfo [options] <file> [layers]`; `None` (after saying so) when GDAL is not installed,
/// unless `CI` is set, where a missing GDAL fails the test. GDAL must not complain on stderr.
fn ogrinfo(options: &[&str], file: &Path, layers: &[&str]) -> Option<String> {
    let output = match Command::new("ogrinfo")
        .args(options)
        .arg(file)
        .args(layers)
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!("note: ogrinfo (GDAL) is not installed; skipping the GDAL check");
            return None;
        }
        Err(e) => panic!("cannot run ogrinfo: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "ogrinfo {options:?} {layers:?} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.trim().is_empty(),
        "ogrinfo {options:?} {layers:?} complained:\n{stderr}"
    );
    Some(stdout)
}

#[tokio::test]
async fn gpkg_file_opens_in_gdal_with_one_layer_per_feature_layer() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join(GPKG_FILE);
    let store = open_gpkg(&dir).await;
    commit(
        &store,
        round_trip_drafts().into_iter().map(upsert).collect(),
    )
    .await;

    // While the store is open (GDAL reads through the write-ahead log).
    let Some(summary) = ogrinfo(&["-ro", "-so"], &file, &[]) else {
        return;
    };
    let layers: Vec<&str> = summary
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| n.parse::<usize>().is_ok())
        .map(|(_, rest)| rest.split(' ').next().unwrap_or(rest))
        .collect();
    let ids: Vec<&str> = Layer::ALL.iter().map(|l| l.id()).collect();
    assert_eq!(layers, ids, "ogrinfo listed:\n{summary}");

    let grid = ogrinfo(&["-ro", "-q"], &file, &["party_grid"]).unwrap_or_default();
    assert!(grid.contains("name (String) = 第一党建网格"), "{grid}");
    assert!(grid.contains("code (String) = 110105001001001"), "{grid}");
    assert!(grid.contains("version (Integer64) = 1"), "{grid}");
    assert!(
        grid.contains(
            "POLYGON ((116.45 39.92,116.46 39.92,116.46 39.93,116.45 39.93,116.45 39.92),\
             (116.452 39.922,116.454 39.922,116.454 39.924,116.452 39.922))"
        ),
        "{grid}"
    );
    let shops = ogrinfo(&["-ro", "-so"], &file, &["shop"]).unwrap_or_default();
    assert!(shops.contains("Geometry: Point"), "{shops}");
    assert!(shops.contains("IDENTIFIER=沿街商铺"), "{shops}");
    assert!(shops.contains("Feature Count: 1"), "{shops}");

    // And after the store is closed.
    drop(store);
    let summary = ogrinfo(&["-ro", "-so"], &file, &[]).unwrap_or_default();
    assert!(summary.contains("10: party_center (Point)"), "{summary}");
}

#[tokio::test]
async fn gpkg_corrupt_row_is_reported_by_name() {
    let dir = TempDir::new().unwrap();
    let store = open_gpkg(&dir).await;
    commit(
        &store,
        vec![upsert(shop("S-1", "一")), upsert(shop("S-2", "二"))],
    )
    .await;

    // Another program writes a bad geometry and a bad property document.
    let pool = raw_sqlite(&dir).await;
    sqlx::query("UPDATE shop SET geom = x'4750000100' WHERE code = 'S-2'")
        .execute(&pool)
        .await
        .unwrap();
    match store.load().await.unwrap_err() {
        StoreError::Corrupt { what, .. } => assert_eq!(what, "feature shop/S-2"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // A change to the bad feature is refused the same way, and writes nothing.
    let err = store
        .commit(change_set(vec![upsert(shop("S-2", "改"))]))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { what, .. } if what == "feature shop/S-2"));

    sqlx::query("UPDATE shop SET properties = '[1, 2]' WHERE code = 'S-1'")
        .execute(&pool)
        .await
        .unwrap();
    match store.revisions(None, 0, 10).await {
        Ok(revisions) => assert_eq!(revisions.len(), 2),
        Err(e) => panic!("revisions keep their own copies: {e}"),
    }
    match store.load().await.unwrap_err() {
        StoreError::Corrupt { what, detail } => {
            assert_eq!(what, "feature shop/S-1");
            assert!(detail.contains("properties"), "{detail}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
