//! The rules every feature obeys wherever it comes from: a file import ([`crate::io::draft`]), an
//! edit ([`crate::edit`]), and the coverage report's data faults over what a store already holds
//! ([`crate::coverage::faults`]). One place, so that an edit is never checked less strictly than
//! an import, and the code scheme is one scheme.
//!
//! - **Codes** are 1–64 characters of ASCII letters, digits, `-`, `_` and `.`: they appear in
//!   URLs, file names and spreadsheets, where `/`, spaces or control characters break things.
//!   Communities and grids follow DB11/T 2157 ([`code_fault`]).
//! - **Names** are 1–200 characters, other text properties at most 4,000, none with control
//!   characters (a NUL is refused by PostgreSQL and truncates C strings).
//! - **Counts** (`households`, `residents`) are whole numbers from 0 to 10,000,000.

use serde_json::{Number, Value};

use crate::model::Layer;

pub const MAX_CODE_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 4000;
/// More households than any city district has: beyond it a count is a typing error.
pub const MAX_COUNT: u64 = 10_000_000;

/// Properties that are counts.
pub const COUNT_KEYS: [&str; 2] = ["households", "residents"];

/// The value type of a well-known property (see [`well_known`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    /// Text, such as a name, an address or a phone number.
    Text,
    /// A count of [`COUNT_KEYS`]: a whole number from 0 to [`MAX_COUNT`], as imports and edits
    /// enforce.
    Count,
    /// A whole number the rules do not bound (buildings, members, …).
    Integer,
    /// Any number (an area in m²).
    Number,
    /// true or false.
    Boolean,
}

/// The properties a layer's features carry by convention (the demo and the imports of the
/// subdistricts' files), beside `code`, `name` and `parent`, with their types: what the OGC
/// queryables list and what items can be filtered on. Other free properties are kept and served
/// but not described.
pub fn well_known(layer: Layer) -> &'static [(&'static str, PropertyKind)] {
    use PropertyKind::*;
    match layer {
        Layer::Subdistrict => &[
            ("households", Count),
            ("residents", Count),
            ("communities", Integer),
            ("office_address", Text),
            ("office_phone", Text),
            ("party_org", Text),
        ],
        Layer::Community => &[
            ("households", Count),
            ("residents", Count),
            ("party_grids", Integer),
            ("office_address", Text),
            ("office_phone", Text),
            ("party_org", Text),
            ("services", Text),
        ],
        Layer::PartyGrid => &[
            ("households", Count),
            ("residents", Count),
            ("buildings", Integer),
            ("grid_worker", Text),
            ("grid_worker_phone", Text),
            ("grid_leader", Text),
        ],
        Layer::CommercialGrid => &[
            ("kind", Text),
            ("address", Text),
            ("enterprises", Integer),
            ("buildings", Integer),
            ("grid_worker", Text),
            ("grid_worker_phone", Text),
        ],
        Layer::Compound => &[
            ("households", Count),
            ("buildings", Integer),
            ("property_company", Text),
            ("address", Text),
        ],
        Layer::Unit => &[("category", Text), ("address", Text), ("phone", Text)],
        Layer::Shop => &[
            ("category", Text),
            ("address", Text),
            ("phone", Text),
            ("archived", Boolean),
        ],
        Layer::SocialOrg => &[
            ("category", Text),
            ("address", Text),
            ("phone", Text),
            ("archived", Boolean),
            ("members", Integer),
        ],
        Layer::ServiceStation => &[
            ("address", Text),
            ("phone", Text),
            ("services", Text),
            ("hours", Text),
        ],
        Layer::PartyCenter => &[
            ("address", Text),
            ("phone", Text),
            ("hours", Text),
            ("floor_area_m2", Number),
        ],
        Layer::Address => &[
            ("compound", Text),
            ("road", Text),
            ("number", Text),
            ("building", Text),
            ("unit", Text),
            ("room", Text),
        ],
    }
}

/// What is wrong with a code's characters or length.
pub fn code_text_fault(code: &str) -> Option<String> {
    let n = code.chars().count();
    if n == 0 {
        return Some("code: must not be empty".into());
    }
    if n > MAX_CODE_CHARS {
        return Some(format!(
            "code: {n} characters; at most {MAX_CODE_CHARS} are accepted"
        ));
    }
    if let Some(c) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "code {:?}: {c:?} is not allowed (letters, digits, '-', '_' and '.' only)",
            clip(code)
        ));
    }
    None
}

/// What is wrong with a text field (`name`, `parent`, a text property): too long, or holding a
/// control character.
pub fn text_fault(field: &str, text: &str, max_chars: usize) -> Option<String> {
    let n = text.chars().count();
    if n > max_chars {
        return Some(format!(
            "{field}: {n} characters; at most {max_chars} are accepted"
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Some(format!(
            "{field} {:?}: holds the control character {c:?}",
            clip(text)
        ));
    }
    None
}

/// Checks a count in place: a whole number from 0 to [`MAX_COUNT`], or null; an integral float
/// becomes an integer (`12.0` from a spreadsheet is 12). The error names what was found.
pub fn count(value: &mut Value) -> Result<(), String> {
    let whole = match &*value {
        Value::Null => return Ok(()),
        Value::Number(n) => n.as_u64().map(|v| v as f64).or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=MAX_COUNT as f64).contains(f))
        }),
        _ => None,
    };
    match whole {
        Some(f) if f <= MAX_COUNT as f64 => {
            // Exact: f is a whole number within u64 and below 2^53.
            *value = Value::Number(Number::from(f as u64));
            Ok(())
        }
        _ => Err(format!(
            "{}, which is not a whole number from 0 to {MAX_COUNT}",
            describe(value)
        )),
    }
}

/// Every fault of a feature's own fields and properties (not its geometry or its parent's
/// existence), each naming the field.
pub fn field_faults<'a>(
    code: &str,
    name: &str,
    parent: Option<&str>,
    properties: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(code_text_fault(code));
    if name.trim().is_empty() {
        out.push("name: must not be empty".into());
    }
    out.extend(text_fault("name", name, MAX_NAME_CHARS));
    if let Some(p) = parent {
        out.extend(code_text_fault(p).map(|f| format!("parent {}", f.trim_start_matches("code"))));
    }
    for (key, value) in properties {
        out.extend(text_fault("property name", key, MAX_NAME_CHARS));
        if COUNT_KEYS.contains(&key) {
            if let Err(e) = count(&mut value.clone()) {
                out.push(format!("{key}: {e}"));
            }
        } else if let Value::String(s) = value {
            out.extend(text_fault(key, s, MAX_TEXT_CHARS));
        }
    }
    out
}

/// What is wrong with `code` for a feature of `layer` under `parent`, by DB11/T 2157: a
/// community is its subdistrict's 9 digits and 3 more; a party grid its community's 12 and
/// `001`–`900`; a commercial grid its community's 12 and `901`–`999`. Other layers have no
/// scheme.
pub fn code_fault(layer: Layer, code: &str, parent: Option<&str>) -> Option<String> {
    let (digits, range) = match layer {
        Layer::Community => (12, None),
        Layer::PartyGrid => (15, Some((1, 900))),
        Layer::CommercialGrid => (15, Some((901, 999))),
        _ => return None,
    };
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("code {:?} is not {digits} digits", clip(code)));
    }
    let Some(parent) = parent else {
        // A community's subdistrict is optional; a grid needs its community.
        return (layer != Layer::Community).then(|| format!("{layer} {code:?} has no parent"));
    };
    if !code.starts_with(parent) || parent.len() != digits - 3 {
        return Some(format!(
            "code {code:?} must be its parent's code {:?} followed by 3 digits",
            clip(parent)
        ));
    }
    if let Some((first, last)) = range {
        let n: u32 = code[digits - 3..].parse().unwrap_or(0);
        if n < first || n > last {
            return Some(format!(
                "code {code:?}: the last 3 digits of a {layer} are {first:03}..{last:03}"
            ));
        }
    }
    None
}

/// At most the first 40 characters, for a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A JSON value for a message: short text quoted, containers by kind.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("text {:?}", clip(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_are_whole_numbers_in_range() {
        for ok in [
            json!(0),
            json!(12),
            json!(12.0),
            json!(null),
            json!(MAX_COUNT),
        ] {
            assert!(count(&mut ok.clone()).is_ok(), "{ok}");
        }
        let mut v = json!(12.0);
        count(&mut v).unwrap();
        assert_eq!(v, json!(12));
        for bad in [
            json!("many"),
            json!(-5),
            json!(1e300),
            json!(2.5),
            json!(MAX_COUNT + 1),
        ] {
            let e = count(&mut bad.clone()).unwrap_err();
            assert!(e.contains("whole number"), "{bad}: {e}");
        }
    }

    #[test]
    fn codes_names_and_text_are_bounded_and_clean() {
        assert!(code_text_fault("410105001001001").is_none());
        assert!(code_text_fault("419901001006XQ0008").is_none());
        for bad in ["", "a/b", "a b", "a\u{0}", "网格", &"x".repeat(65)] {
            assert!(code_text_fault(bad).is_some(), "{bad:?}");
        }
        assert!(text_fault("name", "建设路社区第1网格", MAX_NAME_CHARS).is_none());
        assert!(
            text_fault("name", "a\u{0}b", MAX_NAME_CHARS)
                .unwrap()
                .contains("control")
        );
        assert!(text_fault("name", &"名".repeat(201), MAX_NAME_CHARS).is_some());
        let props = [("households", json!(-5)), ("note", json!("ok"))];
        let faults = field_faults(
            "410105001001001",
            "x",
            Some("410105001001"),
            props.iter().map(|(k, v)| (*k, v)),
        );
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].starts_with("households: -5"), "{faults:?}");
    }

    #[test]
    fn well_known_counts_are_the_count_keys() {
        for layer in Layer::ALL {
            let props = well_known(layer);
            for (key, kind) in props {
                assert_eq!(
                    *kind == PropertyKind::Count,
                    COUNT_KEYS.contains(key),
                    "{key}"
                );
                assert!(!["code", "name", "parent", "layer"].contains(key), "{key}");
            }
            let mut keys: Vec<_> = props.iter().map(|p| p.0).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), props.len(), "{layer}: a key twice");
        }
    }

    #[test]
    fn the_code_scheme() {
        let c = |l, code: &str, p: Option<&str>| code_fault(l, code, p);
        assert!(c(Layer::PartyGrid, "410105001001001", Some("410105001001")).is_none());
        assert!(
            c(
                Layer::CommercialGrid,
                "410105001001901",
                Some("410105001001")
            )
            .is_none()
        );
        assert!(c(Layer::PartyGrid, "410105001001901", Some("410105001001")).is_some());
        assert!(c(Layer::PartyGrid, "410105001002001", Some("410105001001")).is_some());
        assert!(c(Layer::Community, "410105001001", Some("410105001")).is_none());
        assert!(c(Layer::Community, "41010500100", Some("410105001")).is_some());
        assert!(c(Layer::PartyGrid, "410105001001001", None).is_some());
        assert!(c(Layer::Community, "410105001001", None).is_none());
        assert!(c(Layer::Shop, "anything", None).is_none());
    }
}
