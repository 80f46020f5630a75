//! GeoJSON (RFC 7946) conversion of features, in both directions.
//!
//! A feature's `layer`, `code`, `name` and `parent` travel as properties beside its other
//! properties; the GeoJSON `id` is `layer/code`. The store's `version` is not exported, so an
//! exported file imports back unchanged.

use geo::Geometry;
use serde_json::{Map, Value};

use crate::model::{Feature, FeatureDraft, Layer};

/// Property keys that carry the feature's own fields rather than free properties.
pub const RESERVED_KEYS: [&str; 4] = ["layer", "code", "name", "parent"];

/// One feature as a GeoJSON Feature.
pub fn to_geojson_feature(
    layer: Layer,
    code: &str,
    name: &str,
    parent: Option<&str>,
    properties: &Map<String, Value>,
    geometry: &Geometry<f64>,
) -> geojson::Feature {
    let mut props = Map::with_capacity(properties.len() + 4);
    props.insert("layer".into(), Value::String(layer.id().into()));
    props.insert("code".into(), Value::String(code.into()));
    props.insert("name".into(), Value::String(name.into()));
    props.insert(
        "parent".into(),
        parent.map_or(Value::Null, |p| Value::String(p.into())),
    );
    for (k, v) in properties {
        props.insert(k.clone(), v.clone());
    }
    geojson::Feature {
        bbox: None,
        geometry: Some(geojson::Geometry::new(geojson::Value::from(geometry))),
        id: Some(geojson::feature::Id::String(format!(
            "{}/{}",
            layer.id(),
            code
        ))),
        properties: Some(props),
        foreign_members: None,
    }
}

impl From<&Feature> for geojson::Feature {
    fn from(f: &Feature) -> Self {
        to_geojson_feature(
            f.layer,
            &f.code,
            &f.name,
            f.parent.as_deref(),
            &f.properties,
            &f.geometry,
        )
    }
}

impl From<&FeatureDraft> for geojson::Feature {
    fn from(f: &FeatureDraft) -> Self {
        to_geojson_feature(
            f.layer,
            &f.code,
            &f.name,
            f.parent.as_deref(),
            &f.properties,
            &f.geometry,
        )
    }
}

/// Write GeoJSON features as one FeatureCollection, a feature per line, without building the
/// whole document in memory.
pub fn write_collection(
    features: impl Iterator<Item = geojson::Feature>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    for (i, f) in features.enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *out, &f)?;
    }
    out.write_all(b"\n]}\n")?;
    out.flush()
}
