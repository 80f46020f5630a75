//! The edit workflow, apart from HTTP: every write goes precondition → [`check`] → [`preview`] |
//! stage in a plan | [`commit`] → publish. The handlers in `api::features` and `api::plans` only
//! read the request, judge `If-Match` against the view (first, so a stale client hears 412 whatever
//! its body says), build the change set and call these steps.
//!
//! - The checks and the preview are CPU work over whole communities: they run on the blocking
//!   pool, never on an async worker (a 100,000-vertex grid takes a while, and other requests must
//!   not wait behind it).
//! - A commit's answer comes from the commit itself ([`Committed::features`]): the snapshot is
//!   published afterwards, and when publishing fails the edit is still saved and must be answered
//!   as saved (the poll publishes it later), never as an error that makes the client retry into
//!   a 412.

use std::sync::Arc;

use super::{EditOptions, preview};
use crate::model::{Change, ChangeSet, Feature, FeatureKey};
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};

/// Why an edit was not made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The change set is well-formed but breaks rules; every reason is listed.
    #[error("the edit breaks {} rule(s); nothing was written", .0.len())]
    Refused(Vec<String>),
    /// The store refused or failed (a stale version, a taken code, a lost connection).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A check or preview could not finish (it panicked or was cancelled).
    #[error("{0}")]
    Failed(String),
}

/// Check `drafts` against `view` off the async runtime ([`super::check`] each, with `replacing`
/// the codes the same edit replaces or removes). Answers the drafts back with the warnings (old
/// faults the edit keeps without making them worse), or every reason when any breaks a rule.
pub async fn check(
    view: Arc<Snapshot>,
    drafts: Vec<crate::model::FeatureDraft>,
    replacing: Vec<String>,
    opts: EditOptions,
) -> Result<(Vec<crate::model::FeatureDraft>, Vec<String>), EditError> {
    blocking("checking the edit", move || {
        let replacing: Vec<&str> = replacing.iter().map(String::as_str).collect();
        let mut reasons = Vec::new();
        let mut warnings = Vec::new();
        for d in &drafts {
            let v = super::check(&view, d, &replacing, opts);
            reasons.extend(v.reasons);
            warnings.extend(v.warnings);
        }
        if reasons.is_empty() {
            Ok((drafts, warnings))
        } else {
            Err(EditError::Refused(reasons))
        }
    })
    .await?
}

/// What `changes` would do to `view` (coverage and household balance before and after); writes
/// nothing.
pub async fn preview(
    view: Arc<Snapshot>,
    changes: Vec<Change>,
) -> Result<preview::Preview, EditError> {
    blocking("previewing the edit", move || {
        preview::preview(&view, &changes)
    })
    .await
}

/// A saved change set and the features it left, as saved.
#[derive(Debug)]
pub struct Committed {
    pub changeset: i64,
    /// Every upserted feature with its version after the commit, in the order of the changes.
    pub features: Vec<Feature>,
}

impl Committed {
    /// The saved feature `key`, `None` when the change set deleted it.
    pub fn feature(&self, key: &FeatureKey) -> Option<&Feature> {
        self.features
            .iter()
            .find(|f| f.layer == key.layer && f.code == key.code)
    }
}

/// Commit `changes` in one transaction (the store checks every expected version inside it).
/// `view` gives the version of an upsert the store found unchanged (it keeps its version).
pub async fn commit(
    store: &dyn Store,
    view: &Snapshot,
    author: String,
    message: String,
    changes: Vec<Change>,
) -> Result<Committed, EditError> {
    let drafts: Vec<_> = changes.iter().filter_map(Change::draft).cloned().collect();
    let summary = store
        .commit(ChangeSet {
            author,
            message,
            changes,
        })
        .await?;
    let features = drafts
        .into_iter()
        .map(|d| {
            let key = d.key();
            let version = summary
                .versions
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .or_else(|| view.get(&key).map(|f| f.version))
                .unwrap_or(1);
            d.into_feature(version)
        })
        .collect();
    Ok(Committed {
        changeset: summary.changeset,
        features,
    })
}

/// Run `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, EditError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EditError::Failed(format!("{what}: {e}")))
}
