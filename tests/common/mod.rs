//! Shared by the import tests: an in-memory [`Store`] that keeps the trait's promises (a change
//! set is checked whole before anything is applied; versions and revisions as the real stores
//! keep them), and helpers to run an import and check that a refused one changed nothing.
//!
//! Each test file builds its store in one `test_store()` function, so that switching the tests to
//! the GeoPackage store is a one-line change per file.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use gridmap::io::{self, ImportError, ImportOptions};
use gridmap::model::{
    Action, Change, ChangeSet, CommitSummary, Feature, FeatureDraft, FeatureKey, Layer, Revision,
};
use gridmap::snapshot::Snapshot;
use gridmap::store::{Store, StoreError};

#[derive(Default)]
pub struct MemStore {
    // A std Mutex: nothing is awaited while it is held.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    features: BTreeMap<FeatureKey, Feature>,
    revisions: Vec<Revision>,
    changesets: i64,
}

impl MemStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn load(&self) -> Result<Vec<Feature>, StoreError> {
        Ok(self.state().features.values().cloned().collect())
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self.state().revisions.last().map_or(0, |r| r.id))
    }

    async fn commit(&self, cs: ChangeSet) -> Result<CommitSummary, StoreError> {
        let mut st = self.state();
        // Check everything first: a refused change set leaves nothing behind.
        let mut seen = HashSet::new();
        for change in &cs.changes {
            let key = change.key();
            if !seen.insert(key.clone()) {
                return Err(StoreError::DuplicateInChangeSet(key));
            }
            let actual = st.features.get(&key).map_or(0, |f| f.version);
            let expected = match change {
                Change::Upsert {
                    expected_version, ..
                } => *expected_version,
                Change::Delete {
                    expected_version, ..
                } => {
                    if actual == 0 {
                        return Err(StoreError::NotFound(key));
                    }
                    *expected_version
                }
            };
            if let Some(expected) = expected
                && expected != actual
            {
                return Err(StoreError::VersionConflict {
                    key,
                    expected,
                    actual,
                });
            }
        }
        st.changesets += 1;
        let mut summary = CommitSummary {
            changeset: st.changesets,
            ..CommitSummary::default()
        };
        for change in cs.changes {
            let key = change.key();
            let old = st.features.get(&key).cloned();
            let (action, new) = match change {
                Change::Upsert { draft, .. } => {
                    if old.clone().map(FeatureDraft::from).as_ref() == Some(&draft) {
                        summary.unchanged += 1;
                        continue;
                    }
                    let version = old.as_ref().map_or(1, |o| o.version + 1);
                    let feature = draft.into_feature(version);
                    st.features.insert(key.clone(), feature.clone());
                    match old {
                        Some(_) => {
                            summary.updated += 1;
                            (Action::Update, Some(feature))
                        }
                        None => {
                            summary.created += 1;
                            (Action::Create, Some(feature))
                        }
                    }
                }
                Change::Delete { .. } => {
                    st.features.remove(&key);
                    summary.deleted += 1;
                    (Action::Delete, None)
                }
            };
            let id = st.revisions.len() as i64 + 1;
            st.revisions.push(Revision {
                id,
                changeset: summary.changeset,
                key,
                action,
                author: cs.author.clone(),
                message: cs.message.clone(),
                at: chrono::Utc::now(),
                old,
                new,
            });
        }
        Ok(summary)
    }

    async fn revisions(
        &self,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Revision>, StoreError> {
        Ok(self
            .state()
            .revisions
            .iter()
            .filter(|r| r.id > after && key.is_none_or(|k| *k == r.key))
            .take(usize::try_from(limit).unwrap_or(0))
            .cloned()
            .collect())
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
