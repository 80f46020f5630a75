//! What a change set does, decided before anything is written, and the one commit procedure both
//! stores follow.
//!
//! [`commit`] runs a change set through a backend's [`WriteTx`]: read the stored rows of every key
//! the set names (one query per backend, not one per change), [`Plan`] the creates, updates,
//! deletes and unchanged upserts against them (refusing version conflicts, missing deletes and
//! repeated keys), then hand the plan to the backend to write in bulk. Any error drops the
//! transaction, which rolls it back: the store is exactly as before.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};

use super::StoreError;
use super::row::FeatureRow;
use super::wkb::GeomFormat;
use crate::model::{Action, Change, ChangeSet, CommitSummary, Feature, FeatureKey, Layer};

/// One write the plan makes: a feature's state before (`None` for a create) and after (`None` for
/// a delete). Each step becomes one revision.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub action: Action,
    pub key: FeatureKey,
    /// The stored row as it was read.
    pub old: Option<FeatureRow>,
    /// The row to store, already encoded in the backend's geometry format.
    pub new: Option<FeatureRow>,
}

/// The writes of one change set, in the order of its changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub steps: Vec<Step>,
    /// Upserts whose content equalled the stored feature.
    pub unchanged: usize,
}

impl Plan {
    /// Decide what `changes` do to the `stored` rows of their keys (absent keys do not exist).
    ///
    /// Errors, for the first change in order that has one: [`StoreError::DuplicateInChangeSet`],
    /// [`StoreError::VersionConflict`], [`StoreError::NotFound`], or [`StoreError::Corrupt`] for
    /// a stored row that does not decode.
    pub(crate) fn new(
        changes: Vec<Change>,
        stored: Vec<FeatureRow>,
        format: GeomFormat,
    ) -> Result<Plan, StoreError> {
        distinct_keys(&changes)?;
        let mut stored = stored
            .into_iter()
            .map(|row| Ok((row.key()?, row)))
            .collect::<Result<HashMap<_, _>, StoreError>>()?;
        let mut plan = Plan::default();
        for change in changes {
            // Keys are distinct, so each stored row is looked at by one change only.
            let current = stored.remove(&change.key());
            match change {
                Change::Upsert {
                    draft,
                    expected_version,
                } => {
                    let key = draft.key();
                    let current = match current {
                        Some(row) => Some((row.decode(format)?, row)),
                        None => None,
                    };
                    let actual = current.as_ref().map_or(0, |(f, _)| f.version);
                    check_version(&key, expected_version, actual)?;
                    let (action, version, old) = match current {
                        None => (Action::Create, 1, None),
                        Some((f, _)) if same_content(&f, &draft) => {
                            plan.unchanged += 1;
                            continue;
                        }
                        Some((f, row)) => (Action::Update, f.version + 1, Some(row)),
                    };
                    let new = FeatureRow::encode(&draft.into_feature(version), format)?;
                    plan.steps.push(Step {
                        action,
                        key,
                        old,
                        new: Some(new),
                    });
                }
                Change::Delete {
                    key,
                    expected_version,
                } => {
                    let Some(row) = current else {
                        return Err(StoreError::NotFound(key));
                    };
                    check_version(&key, expected_version, row.version)?;
                    plan.steps.push(Step {
                        action: Action::Delete,
                        key,
                        old: Some(row),
                        new: None,
                    });
                }
            }
        }
        Ok(plan)
    }

    /// Creates of keys that existed before go on from the last version they had (a tag from
    /// before the delete must not match the new feature).
    pub(crate) fn after_previous(mut self, previous: &HashMap<FeatureKey, i64>) -> Plan {
        for step in &mut self.steps {
            if step.action == Action::Create
                && let (Some(last), Some(row)) = (previous.get(&step.key), step.new.as_mut())
            {
                row.version = last + 1;
            }
        }
        self
    }

    /// The layers this plan writes to.
    pub(crate) fn layers(&self) -> BTreeSet<Layer> {
        self.steps.iter().map(|s| s.key.layer).collect()
    }

    /// The rows to insert or replace (creates and updates), in change order.
    pub(crate) fn upserts(&self) -> impl Iterator<Item = &FeatureRow> {
        self.steps.iter().filter_map(|s| s.new.as_ref())
    }

    /// The keys to delete, in change order.
    pub(crate) fn deletes(&self) -> impl Iterator<Item = &FeatureKey> {
        self.steps
            .iter()
            .filter(|s| s.action == Action::Delete)
            .map(|s| &s.key)
    }

    fn summary(&self, changeset: i64) -> CommitSummary {
        let count = |a: Action| self.steps.iter().filter(|s| s.action == a).count();
        CommitSummary {
            changeset,
            created: count(Action::Create),
            updated: count(Action::Update),
            unchanged: self.unchanged,
            deleted: count(Action::Delete),
            versions: self
                .steps
                .iter()
                .filter_map(|s| Some((s.key.clone(), s.new.as_ref()?.version)))
                .collect(),
        }
    }
}

/// Refuses a key that appears twice in `changes`.
fn distinct_keys(changes: &[Change]) -> Result<(), StoreError> {
    let mut seen = HashSet::with_capacity(changes.len());
    for key in changes.iter().map(Change::key) {
        if seen.contains(&key) {
            return Err(StoreError::DuplicateInChangeSet(key));
        }
        seen.insert(key);
    }
    Ok(())
}

fn check_version(key: &FeatureKey, expected: Option<i64>, actual: i64) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != actual => Err(StoreError::VersionConflict {
            key: key.clone(),
            expected,
            actual,
        }),
        _ => Ok(()),
    }
}

/// Name, parent, properties and geometry equal (properties as maps: key order does not count;
/// geometry coordinate by coordinate).
fn same_content(stored: &Feature, draft: &crate::model::FeatureDraft) -> bool {
    stored.name == draft.name
        && stored.parent == draft.parent
        && stored.properties == draft.properties
        && stored.geometry == draft.geometry
}

/// Who made a change set, why and when: its change-set row, and what each of its revisions
/// records.
#[derive(Debug, Clone)]
pub(crate) struct ChangeSetInfo {
    pub author: String,
    pub message: String,
    /// UTC, truncated to microseconds (what PostgreSQL keeps), so both stores give back the same.
    pub at: DateTime<Utc>,
}

/// A backend's write transaction. Dropping it without [`WriteTx::commit`] rolls it back.
#[async_trait]
pub(crate) trait WriteTx: Send {
    /// How this backend stores geometry.
    const FORMAT: GeomFormat;

    /// The stored rows of those `keys` that exist.
    async fn fetch(&mut self, keys: &[FeatureKey]) -> Result<Vec<FeatureRow>, StoreError>;

    /// For those `keys` that the revision log knows (features deleted since), the last version
    /// each had: a feature created again goes on from there.
    async fn last_versions(
        &mut self,
        keys: &[FeatureKey],
    ) -> Result<HashMap<FeatureKey, i64>, StoreError>;

    /// Record the change set, then write the plan's rows, deletes and revisions (revision ids in
    /// step order); the change set's id.
    async fn apply(&mut self, plan: &Plan, changeset: &ChangeSetInfo) -> Result<i64, StoreError>;

    async fn commit(self) -> Result<(), StoreError>;
}

/// Commit `changes` in `tx`: the [`super::Store::commit`] of both stores.
///
/// Every change set gets a change-set row, also one whose upserts were all unchanged, so that
/// [`CommitSummary::changeset`] always names a real row (and the log shows who tried what).
pub(crate) async fn commit<T: WriteTx>(
    mut tx: T,
    changes: ChangeSet,
) -> Result<CommitSummary, StoreError> {
    let keys: Vec<FeatureKey> = changes.changes.iter().map(Change::key).collect();
    let stored = tx.fetch(&keys).await?;
    let present: HashSet<(&str, &str)> = stored
        .iter()
        .map(|r| (r.layer.as_str(), r.code.as_str()))
        .collect();
    let absent: Vec<FeatureKey> = changes
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Upsert { .. }))
        .map(Change::key)
        .filter(|k| !present.contains(&(k.layer.id(), k.code.as_str())))
        .collect();
    let previous = if absent.is_empty() {
        HashMap::new()
    } else {
        tx.last_versions(&absent).await?
    };
    let plan = Plan::new(changes.changes, stored, T::FORMAT)?.after_previous(&previous);
    let info = ChangeSetInfo {
        author: changes.author,
        message: changes.message,
        at: Utc::now().trunc_subsecs(6),
    };
    let id = tx.apply(&plan, &info).await?;
    tx.commit().await?;
    Ok(plan.summary(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeatureDraft;
    use geo::point;
    use serde_json::json;

    const FORMAT: GeomFormat = GeomFormat::Wkb;

    fn draft(code: &str, name: &str) -> FeatureDraft {
        FeatureDraft {
            layer: Layer::Shop,
            code: code.into(),
            name: name.into(),
            parent: None,
            properties: json!({"a": 1, "b": {"c": [1, 2]}})
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into(),
            geometry: point!(x: 116.4, y: 39.9).into(),
        }
    }

    fn stored(code: &str, name: &str, version: i64) -> FeatureRow {
        FeatureRow::encode(&draft(code, name).into_feature(version), FORMAT).unwrap()
    }

    fn upsert(d: FeatureDraft, expected_version: Option<i64>) -> Change {
        Change::Upsert {
            draft: d,
            expected_version,
        }
    }

    fn delete(code: &str, expected_version: Option<i64>) -> Change {
        Change::Delete {
            key: draft(code, "").key(),
            expected_version,
        }
    }

    #[test]
    fn empty_change_set_plans_nothing() {
        let plan = Plan::new(vec![], vec![], FORMAT).unwrap();
        assert!(plan.steps.is_empty());
        assert_eq!(
            plan.summary(7),
            CommitSummary {
                changeset: 7,
                ..Default::default()
            }
        );
    }

    #[test]
    fn creates_updates_deletes_and_unchanged() {
        let changes = vec![
            upsert(draft("1", "new"), Some(0)),
            upsert(draft("2", "renamed"), Some(3)),
            upsert(draft("3", "same"), None),
            delete("4", Some(2)),
        ];
        let rows = vec![
            stored("2", "old", 3),
            stored("3", "same", 5),
            stored("4", "x", 2),
        ];
        let plan = Plan::new(changes, rows, FORMAT).unwrap();
        let actions: Vec<_> = plan
            .steps
            .iter()
            .map(|s| (s.action, s.key.code.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                (Action::Create, "1"),
                (Action::Update, "2"),
                (Action::Delete, "4")
            ]
        );
        assert_eq!(plan.steps[0].new.as_ref().map(|r| r.version), Some(1));
        assert_eq!(plan.steps[1].new.as_ref().map(|r| r.version), Some(4));
        assert_eq!(
            plan.steps[1].old.as_ref().map(|r| r.name.as_str()),
            Some("old")
        );
        assert_eq!(
            plan.deletes().map(|k| k.code.as_str()).collect::<Vec<_>>(),
            ["4"]
        );
        assert_eq!(plan.upserts().count(), 2);
        assert_eq!(
            plan.summary(1),
            CommitSummary {
                changeset: 1,
                created: 1,
                updated: 1,
                unchanged: 1,
                deleted: 1,
                versions: vec![(draft("1", "").key(), 1), (draft("2", "").key(), 4)],
            }
        );
    }

    #[test]
    fn property_key_order_does_not_make_a_change() {
        let mut reordered = draft("1", "a");
        reordered.properties = json!({"b": {"c": [1, 2]}, "a": 1})
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into();
        let plan = Plan::new(
            vec![upsert(reordered, None)],
            vec![stored("1", "a", 1)],
            FORMAT,
        )
        .unwrap();
        assert_eq!(plan.unchanged, 1);
        assert!(plan.steps.is_empty());
    }

    /// The (expected, actual) versions of a conflict, `None` for any other outcome.
    fn conflict(changes: Vec<Change>, rows: Vec<FeatureRow>) -> Option<(i64, i64)> {
        match Plan::new(changes, rows, FORMAT) {
            Err(StoreError::VersionConflict {
                expected, actual, ..
            }) => Some((expected, actual)),
            _ => None,
        }
    }

    #[test]
    fn refusals_name_the_feature_and_the_versions() {
        let rows = || vec![stored("1", "a", 2)];
        let err = Plan::new(vec![upsert(draft("1", "a"), Some(0))], rows(), FORMAT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shop/1: expected version 0, but the stored version is 2"
        );
        assert_eq!(
            conflict(vec![upsert(draft("1", "a"), Some(1))], vec![]),
            Some((1, 0))
        );
        assert_eq!(conflict(vec![delete("1", Some(1))], rows()), Some((1, 2)));
        assert_eq!(conflict(vec![delete("1", Some(2))], rows()), None);

        let err = Plan::new(vec![delete("9", Some(1))], vec![], FORMAT).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(k) if k.code == "9"));

        let twice = vec![upsert(draft("1", "a"), None), delete("1", None)];
        let err = Plan::new(twice, vec![], FORMAT).unwrap_err();
        assert!(matches!(err, StoreError::DuplicateInChangeSet(k) if k.code == "1"));
    }

    #[test]
    fn a_corrupt_stored_row_is_refused_by_name() {
        let mut row = stored("1", "a", 1);
        row.geom = vec![1, 2, 3];
        let err = Plan::new(vec![upsert(draft("1", "b"), None)], vec![row], FORMAT).unwrap_err();
        match err {
            StoreError::Corrupt { what, .. } => assert_eq!(what, "feature shop/1"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
