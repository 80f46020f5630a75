//! From one feature of a file (its properties and its raw geometry) to a checked [`FeatureDraft`]:
//! the rules every format shares.
//!
//! - `layer`, `code`, `name`, `parent` are text (whole numbers are taken as their digits, since
//!   codes often arrive as numbers from spreadsheets and `.dbf` columns); surrounding spaces are
//!   trimmed; `layer` falls back to `--layer`; `code` and `name` must not be empty; an empty
//!   `parent` means none.
//! - `households` and `residents`, when present and not null, are whole numbers up to 10,000,000 (`12.0`
//!   is kept as `12`).
//! - The geometry must be of a type the layer takes ([`Layer::geometry_kind`]) and pass
//!   [`crate::spatial::validate`]: raw ring checks first, then validity.

use geo::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use serde_json::{Map, Value};

use super::{FeatureError, FeatureFault};
use crate::model::{FeatureDraft, GeometryKind, Layer};
use crate::spatial::validate::{self, GeometryFault, PositionAt, RingAt};

/// A geometry as the file holds it: rings exactly as written, neither closed nor checked.
#[derive(Debug, Clone, PartialEq)]
pub enum RawGeometry {
    Point(Coord<f64>),
    /// Rings: the exterior, then the holes.
    Polygon(Vec<Vec<Coord<f64>>>),
    MultiPolygon(Vec<Vec<Vec<Coord<f64>>>>),
    /// A type gridmap does not keep (LineString, MultiPoint, GeometryCollection, …), by name.
    Other(String),
}

impl RawGeometry {
    /// The GeoJSON type name.
    pub fn type_name(&self) -> &str {
        match self {
            RawGeometry::Point(_) => "Point",
            RawGeometry::Polygon(_) => "Polygon",
            RawGeometry::MultiPolygon(_) => "MultiPolygon",
            RawGeometry::Other(name) => name,
        }
    }

    /// Check that `layer` takes this type, run the raw and the validity checks, and convert.
    pub fn into_checked(self, layer: Layer) -> Result<Geometry<f64>, FeatureFault> {
        let kind = layer.geometry_kind();
        let allowed = matches!(
            (&self, kind),
            (
                RawGeometry::Point(_),
                GeometryKind::Point | GeometryKind::ArealOrPoint
            ) | (
                RawGeometry::Polygon(_) | RawGeometry::MultiPolygon(_),
                GeometryKind::Areal | GeometryKind::ArealOrPoint,
            )
        );
        if !allowed {
            return Err(FeatureFault::GeometryType {
                found: self.type_name().to_string(),
                layer,
                allowed: match kind {
                    GeometryKind::Areal => "Polygon or MultiPolygon",
                    GeometryKind::Point => "Point",
                    GeometryKind::ArealOrPoint => "Polygon, MultiPolygon or Point",
                },
            });
        }
        Ok(self.checked()?)
    }

    fn checked(self) -> Result<Geometry<f64>, GeometryFault> {
        match self {
            RawGeometry::Point(c) => {
                validate::check_position(c, PositionAt::POINT)?;
                Ok(Point(c).into())
            }
            RawGeometry::Polygon(rings) => {
                if rings.is_empty() {
                    return Err(GeometryFault::Empty);
                }
                validate::check_vertex_count(rings.iter().map(Vec::len).sum())?;
                check_raw_rings(&rings, None)?;
                let polygon = polygon(rings);
                validate::check_polygon(&polygon, None)?;
                Ok(polygon.into())
            }
            RawGeometry::MultiPolygon(polygons) => {
                if polygons.is_empty() {
                    return Err(GeometryFault::Empty);
                }
                validate::check_vertex_count(polygons.iter().flatten().map(Vec::len).sum())?;
                for (i, rings) in polygons.iter().enumerate() {
                    if rings.is_empty() {
                        return Err(GeometryFault::EmptyPart(i));
                    }
                    check_raw_rings(rings, Some(i))?;
                }
                let mp = MultiPolygon(polygons.into_iter().map(polygon).collect());
                validate::check_multipolygon(&mp)?;
                Ok(mp.into())
            }
            // into_checked refuses these before coming here.
            RawGeometry::Other(_) => Err(GeometryFault::Empty),
        }
    }
}

fn check_raw_rings(rings: &[Vec<Coord<f64>>], polygon: Option<usize>) -> Result<(), GeometryFault> {
    for (ring, coords) in rings.iter().enumerate() {
        validate::check_raw_ring(coords, RingAt::Ring { polygon, ring })?;
    }
    Ok(())
}

/// A polygon from checked, closed rings.
fn polygon(mut rings: Vec<Vec<Coord<f64>>>) -> Polygon<f64> {
    let holes = rings.split_off(1.min(rings.len()));
    let exterior = rings.pop().unwrap_or_default();
    Polygon::new(
        LineString(exterior),
        holes.into_iter().map(LineString).collect(),
    )
}

/// One feature as read from a file, before any check.
#[derive(Debug)]
pub struct FileFeature {
    /// 0-based position in the file (record number for shapefiles).
    pub index: usize,
    /// Every property, our fields (`layer`, `code`, `name`, `parent`) included.
    pub properties: Map<String, Value>,
    /// `Ok(None)` when the feature has no geometry; `Err` when it could not be read.
    pub geometry: Result<Option<RawGeometry>, FeatureFault>,
}

/// Properties that must be whole numbers ([`crate::rules::count`]).
pub use crate::rules::COUNT_KEYS;

/// Check one feature and build its draft; `default_layer` is `--layer`.
// The error is large, but no larger than the draft itself; boxing it would gain nothing.
#[allow(clippy::result_large_err)]
pub fn to_draft(
    feature: FileFeature,
    default_layer: Option<Layer>,
) -> Result<FeatureDraft, FeatureError> {
    let FileFeature {
        index,
        mut properties,
        geometry,
    } = feature;
    // shift_remove keeps the order of the other properties, so that an export is byte-stable.
    let layer = text(properties.shift_remove("layer"), "layer");
    let code = text(properties.shift_remove("code"), "code");
    let name = text(properties.shift_remove("name"), "name");
    let parent = text(properties.shift_remove("parent"), "parent");
    let fail = |fault: FeatureFault| FeatureError {
        index,
        layer: match &layer {
            Ok(Some(l)) => Some(l.clone()),
            _ => default_layer.map(|l| l.id().to_string()),
        },
        code: code.clone().ok().flatten().filter(|c| !c.is_empty()),
        fault,
        place: None,
    };
    let layer = match layer.clone().map_err(&fail)? {
        Some(text) => {
            let found: Layer = text
                .parse()
                .map_err(|e| fail(FeatureFault::UnknownLayer(e)))?;
            match default_layer {
                Some(expected) if expected != found => {
                    return Err(fail(FeatureFault::LayerMismatch { found, expected }));
                }
                _ => found,
            }
        }
        None => default_layer.ok_or_else(|| fail(FeatureFault::NoLayer))?,
    };
    let code = required(code.clone(), "code").map_err(&fail)?;
    let name = required(name, "name").map_err(&fail)?;
    let parent = parent.map_err(&fail)?;
    for key in COUNT_KEYS {
        if let Some(value) = properties.get_mut(key) {
            count(value, key).map_err(&fail)?;
        }
    }
    // The rules an edit obeys too (lengths, characters); the first fault refuses the feature.
    let faults = crate::rules::field_faults(
        &code,
        &name,
        parent.as_deref(),
        properties.iter().map(|(k, v)| (k.as_str(), v)),
    );
    if let Some(fault) = faults.into_iter().next() {
        return Err(fail(FeatureFault::Rule(fault)));
    }
    let geometry = geometry
        .map_err(&fail)?
        .ok_or_else(|| fail(FeatureFault::NoGeometry))?
        .into_checked(layer)
        .map_err(&fail)?;
    Ok(FeatureDraft {
        layer,
        code,
        name,
        parent,
        properties: properties.into(),
        geometry,
    })
}

/// One of our text fields: trimmed text, whole numbers as digits; absent, null and empty are
/// `None`.
fn text(value: Option<Value>, field: &str) -> Result<Option<String>, FeatureFault> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            Ok(match trimmed.len() {
                0 => None,
                n if n == s.len() => Some(s),
                _ => Some(trimmed.to_string()),
            })
        }
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(other) => Err(FeatureFault::WrongType {
            field: field.to_string(),
            found: describe(&other),
            expected: "text",
        }),
    }
}

fn required(
    value: Result<Option<String>, FeatureFault>,
    field: &str,
) -> Result<String, FeatureFault> {
    value?.ok_or_else(|| FeatureFault::Missing(field.to_string()))
}

/// Checks a count in place ([`crate::rules::count`]); an integral float becomes an integer.
fn count(value: &mut Value, field: &str) -> Result<(), FeatureFault> {
    crate::rules::count(value).map_err(|_| FeatureFault::WrongType {
        field: field.to_string(),
        found: describe(value),
        expected: "a whole number from 0 to 10000000",
    })
}

/// A JSON value for a message: short text quoted, containers by kind.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > 40 => {
            format!("text \"{}…\"", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("text {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(properties: Value, geometry: Option<RawGeometry>) -> FileFeature {
        FileFeature {
            index: 7,
            properties: properties.as_object().cloned().unwrap_or_default(),
            geometry: Ok(geometry),
        }
    }

    fn point() -> Option<RawGeometry> {
        Some(RawGeometry::Point(Coord { x: 116.4, y: 39.9 }))
    }

    #[test]
    fn builds_a_draft_and_keeps_other_properties() {
        let d = to_draft(
            feature(
                json!({"layer": "shop", "code": 1101, "name": " 便利店 ", "households": 3.0, "phone": "123"}),
                point(),
            ),
            None,
        )
        .unwrap();
        assert_eq!(d.layer, Layer::Shop);
        assert_eq!(d.code, "1101");
        assert_eq!(d.name, "便利店");
        assert_eq!(d.parent, None);
        assert_eq!(
            Value::from(d.properties),
            json!({"households": 3, "phone": "123"})
        );
    }

    #[test]
    fn messages_name_the_feature_and_the_fault() {
        let err = |props: Value, geometry, layer| {
            to_draft(feature(props, geometry), layer)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(json!({"code": "a", "name": "n"}), point(), None),
            "feature 7 (code a) has no layer: give it a `layer` property or pass --layer"
        );
        assert_eq!(
            err(json!({"layer": "shop", "name": "n"}), point(), None),
            "feature 7 (shop, no code) has no code"
        );
        assert_eq!(
            err(
                json!({"layer": "shop", "code": "  ", "name": "n"}),
                point(),
                None
            ),
            "feature 7 (shop, no code) has no code"
        );
        assert_eq!(
            err(
                json!({"layer": "shop", "code": "a", "name": ""}),
                point(),
                None
            ),
            "feature 7 (shop/a) has no name"
        );
        assert_eq!(
            err(
                json!({"layer": "shop", "code": "a", "name": "n"}),
                point(),
                Some(Layer::Unit)
            ),
            "feature 7 (shop/a) is in layer shop, but --layer says unit"
        );
        assert!(
            err(
                json!({"layer": "grid", "code": "a", "name": "n"}),
                point(),
                None
            )
            .starts_with("feature 7 (grid/a) has an unknown layer \"grid\"")
        );
        assert_eq!(
            err(
                json!({"code": "a", "name": "n", "households": -3}),
                point(),
                Some(Layer::Shop)
            ),
            "feature 7 (shop/a) has households -3, which is not a whole number from 0 to 10000000"
        );
        assert_eq!(
            err(
                json!({"code": "a", "name": "n", "residents": "12"}),
                point(),
                Some(Layer::Shop)
            ),
            "feature 7 (shop/a) has residents text \"12\", which is not a whole number from 0 to 10000000"
        );
        assert_eq!(
            err(
                json!({"code": ["a"], "name": "n"}),
                point(),
                Some(Layer::Shop)
            ),
            "feature 7 (shop, no code) has code an array, which is not text"
        );
        assert_eq!(
            err(json!({"code": "a", "name": "n"}), None, Some(Layer::Shop)),
            "feature 7 (shop/a) has no geometry"
        );
        assert_eq!(
            err(
                json!({"code": "a", "name": "n"}),
                Some(RawGeometry::Other("LineString".into())),
                Some(Layer::PartyGrid)
            ),
            "feature 7 (party_grid/a) has a LineString geometry, but layer party_grid takes Polygon or MultiPolygon"
        );
        assert_eq!(
            err(
                json!({"code": "a", "name": "n"}),
                point(),
                Some(Layer::Community)
            ),
            "feature 7 (community/a) has a Point geometry, but layer community takes Polygon or MultiPolygon"
        );
    }

    #[test]
    fn compounds_take_points_and_polygons() {
        let square = vec![vec![
            Coord { x: 0., y: 0. },
            Coord { x: 1., y: 0. },
            Coord { x: 1., y: 1. },
            Coord { x: 0., y: 0. },
        ]];
        for g in [point(), Some(RawGeometry::Polygon(square))] {
            let d = to_draft(
                feature(json!({"code": "c", "name": "n"}), g),
                Some(Layer::Compound),
            );
            assert!(d.is_ok(), "{d:?}");
        }
    }

    #[test]
    fn empty_multipolygon_parts_are_named() {
        let f = RawGeometry::MultiPolygon(vec![vec![]]).into_checked(Layer::PartyGrid);
        assert_eq!(f, Err(FeatureFault::Geometry(GeometryFault::EmptyPart(0))));
        let f = RawGeometry::Polygon(vec![]).into_checked(Layer::PartyGrid);
        assert_eq!(f, Err(FeatureFault::Geometry(GeometryFault::Empty)));
    }
}
