//! The features as they stood at a past moment, rebuilt from the revision log.
//!
//! Every revision carries the whole feature after the change (`new`, `None` for a delete), so
//! replaying the revisions committed up to the moment, oldest first, yields the state then.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{Feature, FeatureKey, Revision};

/// A date or timestamp that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "as_of {0:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp (2024-05-01T12:00:00Z)"
)]
pub struct BadAsOf(pub String);

/// Parse `as_of`: a date means the end of that day (UTC), a timestamp itself.
pub fn parse_as_of(text: &str) -> Result<DateTime<Utc>, BadAsOf> {
    let t = text.trim();
    if let Ok(ts) = DateTime::parse_from_rfc3339(t) {
        return Ok(ts.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| BadAsOf(text.into()))?;
    day.succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc() - chrono::Duration::nanoseconds(1))
        .ok_or_else(|| BadAsOf(text.into()))
}

/// The features as they stood at `at` (inclusive), from revisions in any order; in layer then
/// code order, like a store's `load`.
pub fn replay(revisions: &[Revision], at: DateTime<Utc>) -> Vec<Feature> {
    let mut ordered: Vec<&Revision> = revisions.iter().filter(|r| r.at <= at).collect();
    ordered.sort_by_key(|r| r.id);
    let mut state: BTreeMap<FeatureKey, Feature> = BTreeMap::new();
    for r in ordered {
        match &r.new {
            Some(f) => {
                state.insert(r.key.clone(), f.clone());
            }
            None => {
                state.remove(&r.key);
            }
        }
    }
    state.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Layer};
    use chrono::TimeZone;

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

    fn rev(id: i64, day: u32, old: Option<Feature>, new: Option<Feature>) -> Revision {
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
            at: Utc.with_ymd_and_hms(2024, 5, day, 12, 0, 0).unwrap(),
            old,
            new,
        }
    }

    #[test]
    fn replays_creates_updates_and_deletes() {
        let revs = vec![
            rev(3, 3, Some(feature("a", 1)), Some(feature("a", 2))),
            rev(1, 1, None, Some(feature("a", 1))),
            rev(2, 2, None, Some(feature("b", 1))),
            rev(4, 4, Some(feature("b", 1)), None),
        ];
        let at = |d: &str| parse_as_of(d).unwrap();
        assert!(replay(&revs, at("2024-04-30")).is_empty());
        let day1 = replay(&revs, at("2024-05-01"));
        assert_eq!(day1.len(), 1);
        assert_eq!(day1[0].version, 1);
        let day3 = replay(&revs, at("2024-05-03"));
        assert_eq!(day3.len(), 2);
        assert_eq!(day3[0].version, 2);
        let day4 = replay(&revs, at("2024-05-04T00:00:00Z"));
        assert_eq!(day4.len(), 2, "the delete is at noon");
        assert_eq!(replay(&revs, at("2024-05-04")).len(), 1);
    }

    #[test]
    fn bad_dates_are_refused_with_the_text() {
        for t in ["yesterday", "2024-13-01", "", "2024-05-01T25:00"] {
            let e = parse_as_of(t).unwrap_err();
            assert!(e.to_string().contains("as_of"), "{e}");
        }
    }
}
