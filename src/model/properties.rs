//! A feature's properties, kept compactly.
//!
//! A city snapshot holds about a million property entries (a shop alone has four). As a
//! `serde_json::Map` (an `IndexMap` with `preserve_order`) each entry cost over 200 bytes: a hash
//! table slot, a bucket with a cached hash, an owned key and the table's growth slack. Here a
//! feature's properties are one exact-size boxed slice of (key, value) pairs in their original
//! order, with keys interned (every shop shares one `"category"`): 48 bytes an entry plus the value's
//! own text. Lookups are a linear scan, which for the handful of properties a feature carries is
//! as fast as hashing. No crate offers this small-map-with-interned-keys for `serde_json::Value`,
//! hence the hand-written type; it keeps `serde_json::Map`'s reading API (`get`, `iter`, `len`).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Property names seen so far, shared by every feature that uses them. Bounded so that input with
/// endless distinct names cannot grow it without limit: past the bound, names are simply not
/// shared (they are still correct, only larger).
static KEYS: LazyLock<Mutex<HashSet<Arc<str>>>> = LazyLock::new(Default::default);
const MAX_INTERNED: usize = 4096;

fn intern(key: &str) -> Arc<str> {
    let mut keys = KEYS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(shared) = keys.get(key) {
        return shared.clone();
    }
    let new: Arc<str> = Arc::from(key);
    if keys.len() < MAX_INTERNED {
        keys.insert(new.clone());
    }
    new
}

/// A JSON object's members in their original order; equality ignores the order, as for JSON
/// objects.
#[derive(Clone, Default)]
pub struct Properties(Box<[(Arc<str>, Value)]>);

impl Properties {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// Set `key` to `value`, replacing a present value in place or appending a new member.
    /// Rebuilds the slice: fine for the few edits a feature sees, not for bulk building (collect
    /// an iterator instead).
    pub fn insert(&mut self, key: impl AsRef<str>, value: Value) -> Option<Value> {
        let key = key.as_ref();
        if let Some((_, slot)) = self.0.iter_mut().find(|(k, _)| &**k == key) {
            return Some(std::mem::replace(slot, value));
        }
        let mut members = std::mem::take(&mut self.0).into_vec();
        members.push((intern(key), value));
        self.0 = members.into_boxed_slice();
        None
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| &**k == key)?;
        let mut members = std::mem::take(&mut self.0).into_vec();
        let (_, value) = members.remove(at);
        self.0 = members.into_boxed_slice();
        Some(value)
    }

    /// The members as a `serde_json::Map`, for code that builds JSON documents.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        // Keys are unique (insert and collect keep them so), so equal lengths and every member
        // found equal in the other means equal objects.
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Properties {
    type Output = Value;
    /// `null` for a missing member, as indexing a `serde_json::Value` gives — never a panic.
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for Properties {
    /// Later members with the same name replace earlier ones, as in a JSON object.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut members: Vec<(Arc<str>, Value)> = Vec::new();
        for (key, value) in iter {
            let key = key.as_ref();
            match members.iter_mut().find(|(k, _)| &**k == key) {
                Some((_, slot)) => *slot = value,
                None => members.push((intern(key), value)),
            }
        }
        Properties(members.into_boxed_slice())
    }
}

impl From<Map<String, Value>> for Properties {
    fn from(map: Map<String, Value>) -> Self {
        map.into_iter().collect()
    }
}

impl From<Properties> for Map<String, Value> {
    fn from(properties: Properties) -> Self {
        properties
            .0
            .into_vec()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

impl From<Properties> for Value {
    fn from(properties: Properties) -> Self {
        Value::Object(properties.into())
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, Value)>,
        fn(&'a (Arc<str>, Value)) -> (&'a str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Properties {
    /// Straight from the JSON text into the compact form, with no intermediate map.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Properties;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Properties, A::Error> {
                let mut members: Vec<(std::borrow::Cow<'de, str>, Value)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(0));
                while let Some((k, v)) = access.next_entry()? {
                    members.push((k, v));
                }
                Ok(members.into_iter().collect())
            }
        }
        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Properties {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn keeps_order_and_reads_like_a_map() {
        let p = props(json!({"b": 1, "a": "二", "c": null}));
        assert_eq!(p.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(p.get("a"), Some(&json!("二")));
        assert_eq!(p.get("z"), None);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"b":1,"a":"二","c":null}"#
        );
    }

    #[test]
    fn equality_ignores_order_but_not_values() {
        assert_eq!(
            props(json!({"a": 1, "b": 2})),
            props(json!({"b": 2, "a": 1}))
        );
        assert_ne!(
            props(json!({"a": 1, "b": 2})),
            props(json!({"a": 1, "b": 3}))
        );
        assert_ne!(props(json!({"a": 1})), props(json!({"a": 1, "b": 2})));
    }

    #[test]
    fn duplicate_names_keep_the_last_value() {
        let p: Properties = serde_json::from_str(r#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p.get("a"), Some(&json!(2)));
    }

    #[test]
    fn insert_replaces_or_appends_and_remove_takes_out() {
        let mut p = props(json!({"a": 1}));
        assert_eq!(p.insert("a", json!(5)), Some(json!(1)));
        assert_eq!(p.insert("b", json!(6)), None);
        assert_eq!(p.remove("a"), Some(json!(5)));
        assert_eq!(p, props(json!({"b": 6})));
    }

    #[test]
    fn keys_are_shared_between_features() {
        let a = props(json!({"category": 1}));
        let b = props(json!({"category": 2}));
        assert!(Arc::ptr_eq(&a.0[0].0, &b.0[0].0));
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(serde_json::from_str::<Properties>("[1, 2]").is_err());
        assert!(serde_json::from_str::<Properties>("3").is_err());
    }
}
