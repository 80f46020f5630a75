//! Shared by the tests: a GeoPackage store in a temporary directory, helpers to run an
//! import and check that a refused one changed nothing.

#![allow(dead_code)]

pub mod chrome;
pub mod cli;
pub mod cluster;
pub mod edit;
pub mod server;
pub mod txprobe;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use gridmap::io::{self, ImportError, ImportOptions};
use gridmap::model::{ChangeSet, CommitSummary, Feature, FeatureKey, Layer, Revision};
use gridmap::snapshot::Snapshot;
use gridmap::store::gpkg::GpkgStore;
use gridmap::store::{Store, StoreError};

/// A GeoPackage store in its own temporary directory, removed when the store is dropped.
pub struct TempStore {
    store: GpkgStore,
    _dir: tempfile::TempDir,
}

/// A new, empty GeoPackage store.
pub async fn gpkg_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = GpkgStore::open(&dir.path().join("gridmap.gpkg"))
        .await
        .expect("open the GeoPackage store");
    Arc::new(TempStore { store, _dir: dir })
}

#[async_trait]
impl Store for TempStore {
    fn kind(&self) -> &'static str {
        self.store.kind()
    }
    async fn load(&self) -> Result<Vec<Feature>, StoreError> {
        self.store.load().await
    }
    async fn data_version(&self) -> Result<i64, StoreError> {
        self.store.data_version().await
    }
    async fn commit(&self, cs: ChangeSet) -> Result<CommitSummary, StoreError> {
        self.store.commit(cs).await
    }
    async fn version_at(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64, StoreError> {
        self.store.version_at(at).await
    }
    async fn revisions(
        &self,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Revision>, StoreError> {
        self.store.revisions(key, after, limit).await
    }
    fn auth(&self) -> Option<&dyn gridmap::store::AuthStore> {
        self.store.auth()
    }
    fn plan_store(&self) -> Option<&dyn gridmap::store::PlanStore> {
        self.store.plan_store()
    }
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Options with a layer, an author and a message.
pub fn options(layer: Option<Layer>) -> ImportOptions {
    ImportOptions {
        layer,
        author: "tester".into(),
        message: "test import".into(),
        ..ImportOptions::default()
    }
}

/// Import `path` with a fresh snapshot of `store`.
pub async fn import(
    store: &dyn Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<CommitSummary, ImportError> {
    let snapshot = Snapshot::load(store).await.expect("snapshot");
    io::import_file(store, &snapshot, path, opts).await
}

/// Import `path`, expecting a refusal; checks that the store is exactly as before and returns
/// the message.
pub async fn refused(store: &dyn Store, path: &Path, opts: &ImportOptions) -> String {
    let before = (store.load().await.ok(), store.data_version().await.ok());
    let result = import(store, path, opts).await;
    let after = (store.load().await.ok(), store.data_version().await.ok());
    assert_eq!(before, after, "a refused import changed the store");
    match result {
        Err(e) => e.to_string(),
        Ok(summary) => panic!("{} was imported: {summary:?}", path.display()),
    }
}

/// The current features of one layer, in code order.
pub async fn layer_features(store: &dyn Store, layer: Layer) -> Vec<Feature> {
    let all = store.load().await.expect("load");
    all.into_iter().filter(|f| f.layer == layer).collect()
}

/// Seed `store` with the subdistrict fixture, so that refusals have something to leave intact.
pub async fn seed(store: &dyn Store) {
    let summary = import(store, &fixture("subdistrict.geojson"), &options(None))
        .await
        .expect("seed import");
    assert_eq!(summary.created, 1);
}

/// The embedded demo subdistrict as a snapshot at data version 1.
pub fn demo_snapshot() -> gridmap::snapshot::Snapshot {
    let features: Vec<gridmap::model::Feature> = gridmap::demo::embedded()
        .into_iter()
        .map(|d| d.into_feature(1))
        .collect();
    gridmap::snapshot::Snapshot::new(1, features)
}

/// Commit `drafts` as one change set of creates, as they are (no import, so no normalising).
pub async fn commit_drafts(store: &dyn Store, drafts: Vec<gridmap::model::FeatureDraft>) {
    let changes = drafts
        .into_iter()
        .map(|draft| gridmap::model::Change::Upsert {
            draft,
            expected_version: Some(0),
        })
        .collect();
    store
        .commit(ChangeSet {
            author: "test".into(),
            message: "test data".into(),
            changes,
        })
        .await
        .expect("commit");
}
