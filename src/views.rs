//! Snapshots other than the live one: the map as it stood at a past moment (`as_of`) and the map
//! as a plan would leave it. Each is built on demand from the store and kept in a small cache by
//! what determines it, so a planner paging through tiles of one plan, or a caller asking many
//! lookups `as_of` one date, builds it once.
//!
//! - **As of.** A moment maps to a data version: the largest revision id committed by then
//!   ([`crate::store::Store::version_at`]). The features at that version are the revision log
//!   replayed up to it ([`replay_to`]); at the live version the live snapshot is the answer.
//! - **Plan.** The live features with the plan's edits applied ([`crate::edit::preview::apply`]),
//!   keyed by the plan, its revision and the live data version, so either moving rebuilds it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::coverage::asof::{BadAsOf, parse_as_of};
use crate::memo::Memo;
use crate::model::{Feature, FeatureKey, Revision};
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};

/// What a cached view is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewKey {
    /// The data at a past version.
    AsOf { version: i64 },
    /// A plan at one of its revisions over one live version.
    Plan { id: i64, revision: i64, live: i64 },
}

/// Views by key, up to a budget of features (each may be a whole snapshot), built one at a time
/// ([`Memo`]): callers cycling through past moments build each once and never several at once
/// (each build is a replay and a full index).
pub type ViewCache = Memo<ViewKey, Snapshot>;

/// Features the view cache holds by default: four views of a city-sized store (261,000
/// features), dozens of a subdistrict's, at a few hundred bytes of index per feature.
pub const VIEW_BUDGET_FEATURES: usize = 1_000_000;

/// A view cache of `budget_features` features.
pub fn view_cache(budget_features: usize) -> ViewCache {
    Memo::new(budget_features, |s: &Snapshot| s.features().len())
}

impl Default for ViewCache {
    fn default() -> Self {
        view_cache(VIEW_BUDGET_FEATURES)
    }
}

/// Why an `as_of` view could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AsOfError {
    #[error(transparent)]
    BadDate(#[from] BadAsOf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("building the past snapshot failed: {0}")]
    Failed(String),
}

/// The features at data `version`: every revision up to it replayed, oldest first; in layer then
/// code order, like a store's `load`.
pub fn replay_to(revisions: &[Revision], version: i64) -> Vec<Feature> {
    let upto: Vec<&Revision> = revisions.iter().filter(|r| r.id <= version).collect();
    replay_onto(&[], upto)
}

/// `base` with `revisions` (those after it, in any order) replayed onto it: each feature they
/// touch takes the state of the last one; in layer then code order.
pub fn replay_onto<'r>(
    base: &[Feature],
    revisions: impl IntoIterator<Item = &'r Revision>,
) -> Vec<Feature> {
    let mut ordered: Vec<&Revision> = revisions.into_iter().collect();
    ordered.sort_by_key(|r| r.id);
    let mut last: BTreeMap<FeatureKey, Option<&Feature>> = BTreeMap::new();
    for r in ordered {
        last.insert(r.key.clone(), r.new.as_ref());
    }
    let mut out: Vec<Feature> = base
        .iter()
        .filter(|f| !last.contains_key(&f.key()))
        .cloned()
        .collect();
    out.extend(last.into_values().flatten().cloned());
    out.sort_unstable_by(|a, b| (a.layer, &a.code).cmp(&(b.layer, &b.code)));
    out
}

/// Most revisions [`catch_up`] replays; beyond them (an import, say) reading the whole store is
/// as quick and simpler.
pub const CATCH_UP_LIMIT: i64 = 10_000;

/// The snapshot at the store's current data version, made from `current` and the revisions
/// committed since it instead of reading every feature again; `None` when there are more than
/// [`CATCH_UP_LIMIT`] of them. Right whoever committed: the revision log is append-only and
/// carries each feature's whole new state, and commits take their ids in commit order (SQLite's
/// write lock, PostgreSQL's advisory commit lock), so the revisions after `current`'s version
/// are exactly what changed since. It saves the store read and decode, not the index build.
pub async fn catch_up(
    store: &dyn Store,
    current: Arc<Snapshot>,
) -> Result<Option<Snapshot>, StoreError> {
    let revisions = store
        .revisions(None, current.data_version, CATCH_UP_LIMIT + 1)
        .await?;
    if revisions.len() as i64 > CATCH_UP_LIMIT {
        return Ok(None);
    }
    let Some(version) = revisions.iter().map(|r| r.id).max() else {
        return Ok(None);
    };
    tokio::task::spawn_blocking(move || {
        Some(Snapshot::new(
            version,
            replay_onto(current.features(), &revisions),
        ))
    })
    .await
    .map_err(|e| StoreError::Open(format!("snapshot build failed: {e}")))
}

/// The snapshot as of `text` (a date, meaning the end of that day UTC, or an RFC 3339 time).
pub async fn as_of(
    store: &dyn Store,
    live: Arc<Snapshot>,
    cache: &ViewCache,
    text: &str,
) -> Result<Arc<Snapshot>, AsOfError> {
    let at = parse_as_of(text)?;
    let version = store.version_at(at).await?;
    if version == live.data_version {
        return Ok(live);
    }
    cache
        .get_or_build(ViewKey::AsOf { version }, async {
            let revisions = store.revisions(None, 0, version).await?;
            tokio::task::spawn_blocking(move || {
                Arc::new(Snapshot::new(version, replay_to(&revisions, version)))
            })
            .await
            .map_err(|e| AsOfError::Failed(e.to_string()))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{Action, Layer};
    use chrono::{TimeZone, Utc};

    fn feature(code: &str, version: i64) -> Feature {
        Feature {
            layer: Layer::Shop,
            code: code.into(),
            name: format!("{code} v{version}"),
            parent: None,
            properties: Default::default(),
            geometry: geo::point!(x: 113.6, y: 34.7).into(),
            version,
        }
    }

    fn rev(id: i64, old: Option<Feature>, new: Option<Feature>) -> Revision {
        let key = new.as_ref().or(old.as_ref()).map(|f| f.key()).unwrap();
        Revision {
            id,
            changeset: id,
            key,
            action: match (&old, &new) {
                (None, _) => Action::Create,
                (_, None) => Action::Delete,
                _ => Action::Update,
            },
            author: "t".into(),
            message: "t".into(),
            at: Utc.with_ymd_and_hms(2024, 5, id as u32, 12, 0, 0).unwrap(),
            old,
            new,
        }
    }

    #[test]
    fn replays_creates_updates_and_deletes_up_to_a_version() {
        let revs = vec![
            rev(3, Some(feature("a", 1)), Some(feature("a", 2))),
            rev(1, None, Some(feature("a", 1))),
            rev(2, None, Some(feature("b", 1))),
            rev(4, Some(feature("b", 1)), None),
        ];
        assert!(replay_to(&revs, 0).is_empty());
        let v1 = replay_to(&revs, 1);
        assert_eq!(v1.len(), 1);
        assert_eq!(v1[0].version, 1);
        let v3 = replay_to(&revs, 3);
        assert_eq!(v3.len(), 2);
        assert_eq!(v3[0].version, 2);
        assert_eq!(replay_to(&revs, 4).len(), 1);
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used() {
        // Empty snapshots weigh one feature each: a budget of two keeps two.
        let c = view_cache(2);
        let s = Arc::new(Snapshot::new(1, Vec::new()));
        for v in 1..=3 {
            c.put(ViewKey::AsOf { version: v }, s.clone());
            if v == 2 {
                assert!(c.get(&ViewKey::AsOf { version: 1 }).is_some());
            }
        }
        // 2 was least recently used when 3 arrived (1 was read after 2 was put).
        assert!(c.get(&ViewKey::AsOf { version: 2 }).is_none());
        assert!(c.get(&ViewKey::AsOf { version: 1 }).is_some());
        assert!(c.get(&ViewKey::AsOf { version: 3 }).is_some());
    }
}
