//! `as_of` parameters: a date or a moment in the past. The map as it stood then is rebuilt from
//! the revision log by [`crate::views`].

use chrono::{DateTime, NaiveDate, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_dates_are_refused_with_the_text() {
        for t in ["yesterday", "2024-13-01", "", "2024-05-01T25:00"] {
            let e = parse_as_of(t).unwrap_err();
            assert!(e.to_string().contains("as_of"), "{e}");
        }
    }
}
