//! JSON Schemas of request bodies that derived schemas cannot state: GeoJSON features and
//! geometries, the batch lookup's points (either a position or an address). Written out by hand
//! (utoipa derives a schema from a Rust type, and these bodies are read as JSON values first so
//! that every fault can be named), so that a client, or a fuzzer, that honours the document sends
//! only bodies the service can read; what it then refuses breaks a rule (422), not the format.

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// A doc-only type whose schema is the JSON `schema()` gives.
macro_rules! json_schema {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                from_json($schema)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

pub(super) fn from_json(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).expect("a valid JSON Schema")
}

/// Any JSON value (utoipa reads a schema without `type` as no schema at all, so every type is named).
pub(super) fn any_value() -> Value {
    json!({"type": ["string", "number", "integer", "boolean", "object", "array", "null"]})
}

fn position() -> Value {
    json!({"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3,
           "description": "longitude, latitude (WGS 84)"})
}

fn ring() -> Value {
    json!({"type": "array", "items": position(), "minItems": 4,
           "description": "a closed ring: the last position repeats the first"})
}

fn geometry(kind: &str, coordinates: Value) -> Value {
    json!({"type": "object", "required": ["type", "coordinates"],
           "properties": {"type": {"type": "string", "enum": [kind]}, "coordinates": coordinates}})
}

fn line_string() -> Value {
    geometry(
        "LineString",
        json!({"type": "array", "items": position(), "minItems": 2}),
    )
}

/// A GeoJSON geometry of the kinds our layers hold.
fn any_geometry() -> Value {
    json!({"oneOf": [
        geometry("Point", position()),
        geometry("Polygon", json!({"type": "array", "items": ring(), "minItems": 1})),
        geometry("MultiPolygon", json!({"type": "array", "minItems": 1,
            "items": {"type": "array", "items": ring(), "minItems": 1}})),
    ]})
}

/// A feature body; `code_required` for a create (a replace takes the code from the path).
fn feature(code_required: bool) -> Value {
    let required: Vec<&str> = if code_required {
        vec!["code", "name"]
    } else {
        vec!["name"]
    };
    json!({
        "type": "object",
        "required": ["type", "properties", "geometry"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "properties": {
                "type": "object",
                "required": required,
                "description": "code, name, parent (a grid's community, a community's subdistrict) and free members such as households",
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "parent": {"type": ["string", "null"]},
                },
            },
            "geometry": any_geometry(),
            "message": {"type": ["string", "null"], "description": "the change message"},
        },
    })
}

json_schema!(
    /// `POST /v1/features/{layer}`: a GeoJSON Feature with its code and name.
    NewFeature,
    feature(true)
);

json_schema!(
    /// `PUT /v1/features/{layer}/{code}`: a GeoJSON Feature; its code, when given, is the path's.
    FeatureUpdate,
    feature(false)
);

json_schema!(
    /// `POST /v1/features/party_grid/{code}/split`.
    SplitRequest,
    json!({
        "type": "object",
        "required": ["line"],
        "properties": {
            "line": line_string(),
            "message": {"type": ["string", "null"]},
        },
    })
);

json_schema!(
    /// `POST /v1/features/party_grid/merge`.
    MergeRequest,
    json!({
        "type": "object",
        "required": ["codes"],
        "properties": {
            "codes": {"type": "array", "items": {"type": "string"}, "minItems": 2,
                      "description": "party grid codes of one community; the first keeps its code, name and properties"},
            "versions": {"type": "array", "items": {"type": "integer"},
                         "description": "the version of each grid, in the same order (their ETags); without it, the versions the service holds now"},
            "message": {"type": ["string", "null"]},
        },
    })
);

json_schema!(
    /// `POST /v1/lookup` as JSON: up to 100,000 points, each a position or an address.
    BatchRequest,
    json!({
        "type": "object",
        "required": ["points"],
        "additionalProperties": false,
        "properties": {
            "crs": {"oneOf": [{"type": "null"}, {"type": "string", "enum": ["wgs84", "cgcs2000", "gcj02", "bd09"]}]},
            "points": {
                "type": "array",
                "maxItems": 100000,
                // Each item is judged on its own: a bad one gets its error in the answer, the
                // others their places, so the document lets any value through.
                "items": any_value(),
                "description": "each {\"id\", \"lon\", \"lat\"} or {\"id\", \"address\"}; an item that is neither is answered with its error",
            },
        },
    })
);

/// An integer as JSON Schema counts them: `3` and `3.0` alike (serde's `i64` refuses the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integer(pub i64);

impl<'de> serde::Deserialize<'de> for Integer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        n.as_i64()
            .or_else(|| {
                // Exactly representable integers only (below 2^53).
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .map(Integer)
            .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, found {n}")))
    }
}

/// `#[serde(deserialize_with = "integer")]` for an `i64` field of a JSON body.
pub fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    <Integer as serde::Deserialize>::deserialize(d).map(|i| i.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn every_schema_is_valid() {
        for s in [
            NewFeature::schema(),
            FeatureUpdate::schema(),
            SplitRequest::schema(),
            MergeRequest::schema(),
            BatchRequest::schema(),
            super::super::lookup::BatchItem::schema(),
        ] {
            assert!(serde_json::to_value(s).unwrap().is_object());
        }
    }

    #[test]
    fn integers_may_be_written_as_floats() {
        let read = |t: &str| serde_json::from_str::<Integer>(t).ok();
        assert_eq!(read("3"), Some(Integer(3)));
        assert_eq!(read("3.0"), Some(Integer(3)));
        assert_eq!(read("-12.0"), Some(Integer(-12)));
        assert_eq!(read("3.5"), None);
        assert_eq!(read("1e300"), None);
        assert_eq!(read("\"3\""), None);
    }
}
