//! GeoJSON (RFC 7946) conversion of features, in both directions.
//!
//! A feature's `layer`, `code`, `name` and `parent` travel as properties beside its other
//! properties; the GeoJSON `id` is `layer/code`. The store's `version` is not exported, so an
//! exported file imports back unchanged.
//!
//! Reading takes a FeatureCollection whole (a UTF-8 byte-order mark is allowed). Positions are read
//! as written, so that open rings are caught before `geo-types` would close them; altitudes are
//! dropped; the feature `id` and `bbox` members are ignored (the key is `layer` and `code`). A
//! legacy `crs` member must name longitude-latitude on WGS84 or CGCS2000 (`CRS84`, `EPSG:4326`,
//! `EPSG:4490`, in any of the usual URN and URL spellings).

use geo::{Coord, Geometry};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::draft::{FileFeature, RawGeometry, describe};
use super::{Checked, FeatureError, FeatureFault, ImportError, ImportOptions};
use crate::model::{Feature, FeatureDraft, Layer, Properties};
use crate::spatial::validate::GeometryFault;

/// Property keys that carry the feature's own fields rather than free properties.
pub const RESERVED_KEYS: [&str; 4] = ["layer", "code", "name", "parent"];

/// One feature as a GeoJSON Feature.
pub fn to_geojson_feature(
    layer: Layer,
    code: &str,
    name: &str,
    parent: Option<&str>,
    properties: &Properties,
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
        props.insert(k.to_string(), v.clone());
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

/// Read a FeatureCollection and check every feature: the drafts that passed and the features that
/// did not. `opts.fields` renames properties (`code=WGBM`: property `WGBM` is the code).
///
/// The document is scanned once for its syntax and structure, keeping each feature as raw text;
/// the features are then parsed and checked in parallel.
pub(crate) fn read(bytes: &[u8], opts: &ImportOptions) -> Result<Checked, ImportError> {
    let features = parse_collection(bytes)?;
    #[allow(clippy::result_large_err)] // as in draft::to_draft
    let parsed: Vec<Result<FileFeature, FeatureError>> = features
        .into_par_iter()
        .enumerate()
        .map(|(index, raw)| {
            let mut f = serde_json::from_str(raw.get())
                .map_err(|e| FeatureFault::NotAFeature(e.to_string()))
                .and_then(|value| file_feature(index, value))
                .map_err(|fault| FeatureError {
                    index,
                    layer: None,
                    code: None,
                    fault,
                    place: None,
                })?;
            for m in &opts.fields {
                if let Some(v) = f.properties.shift_remove(&m.source) {
                    f.properties.insert(m.field.clone(), v);
                }
            }
            Ok(f)
        })
        .collect();
    let mut errors = Vec::new();
    let mut file_features = Vec::with_capacity(parsed.len());
    for f in parsed {
        match f {
            Ok(f) => file_features.push(f),
            Err(e) => errors.push(e),
        }
    }
    let (drafts, more) = super::check_features(file_features, opts);
    errors.extend(more);
    Ok((drafts, errors))
}

/// The members of a FeatureCollection gridmap reads; the features stay raw text.
#[derive(Deserialize)]
struct CollectionIn<'a> {
    #[serde(rename = "type")]
    kind: Option<Value>,
    crs: Option<Value>,
    #[serde(borrow)]
    features: Option<&'a RawValue>,
}

/// The `features` of a FeatureCollection as raw text, after checking the document around them.
fn parse_collection(bytes: &[u8]) -> Result<Vec<&RawValue>, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: CollectionIn = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        // Valid JSON of the wrong shape (an array, a number …): say what it is.
        Err(e) if e.classify() == Category::Data => {
            let what = serde_json::from_slice::<Value>(bytes).map_or_else(
                |_| e.to_string(),
                |v| format!("the document is {}", describe(&v)),
            );
            return Err(ImportError::Document(format!(
                "not a GeoJSON FeatureCollection: {what}"
            )));
        }
        Err(e) => {
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            return Err(ImportError::Json {
                line: e.line(),
                column: e.column(),
                message: message
                    .strip_suffix(&suffix)
                    .unwrap_or(&message)
                    .to_string(),
            });
        }
    };
    match doc.kind.as_ref().and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(ImportError::Document(format!(
                "not a GeoJSON FeatureCollection: its type is {other:?} (gridmap imports a FeatureCollection of features with layer, code and name properties)"
            )));
        }
        None => {
            return Err(ImportError::Document(
                "not a GeoJSON FeatureCollection: the document has no \"type\"".into(),
            ));
        }
    }
    if let Some(crs) = &doc.crs {
        check_crs(crs)?;
    }
    let Some(features) = doc.features else {
        return Err(ImportError::Document(
            "the FeatureCollection has no \"features\" array".into(),
        ));
    };
    serde_json::from_str::<Vec<&RawValue>>(features.get()).map_err(|_| {
        let what = serde_json::from_str::<Value>(features.get())
            .map_or_else(|e| e.to_string(), |v| describe(&v));
        ImportError::Document(format!(
            "the FeatureCollection's \"features\" is {what}, not an array"
        ))
    })
}

/// Accepts a legacy (GeoJSON 2008) `crs` member only when it names WGS84 or CGCS2000
/// longitude-latitude.
fn check_crs(crs: &Value) -> Result<(), ImportError> {
    if crs.is_null() {
        return Ok(());
    }
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let Some(name) = name else {
        return Err(ImportError::Document(format!(
            "the \"crs\" member is not a named coordinate system ({crs}); gridmap imports WGS84/CGCS2000 longitude-latitude only"
        )));
    };
    if is_lonlat_crs(name) {
        Ok(())
    } else {
        Err(ImportError::Document(format!(
            "the file's coordinate system is {name}; gridmap imports WGS84/CGCS2000 longitude-latitude only (CRS84, EPSG:4326, EPSG:4490): reproject it first, e.g. `ogr2ogr -t_srs EPSG:4490 out.geojson in.geojson`"
        )))
    }
}

/// CRS84, EPSG:4326 or EPSG:4490 in the spellings seen in the wild: `EPSG:4326`,
/// `urn:ogc:def:crs:EPSG::4326`, `urn:ogc:def:crs:OGC:1.3:CRS84`,
/// `http://www.opengis.net/def/crs/EPSG/0/4490`, …
fn is_lonlat_crs(name: &str) -> bool {
    let upper = name.trim().to_ascii_uppercase();
    let tokens: Vec<&str> = upper.split([':', '/']).filter(|t| !t.is_empty()).collect();
    match tokens.as_slice() {
        [.., "CRS84"] | [.., "CRS", "84"] => true,
        [.., "EPSG", code] | [.., "EPSG", _, code] => matches!(*code, "4326" | "4490"),
        _ => false,
    }
}

/// Split one member of `features` into properties and raw geometry.
fn file_feature(index: usize, value: Value) -> Result<FileFeature, FeatureFault> {
    let Value::Object(mut f) = value else {
        return Err(FeatureFault::NotAFeature(format!(
            "it is {}",
            describe(&value)
        )));
    };
    match f.get("type").and_then(Value::as_str) {
        Some("Feature") => {}
        Some(other) => {
            return Err(FeatureFault::NotAFeature(format!("its type is {other:?}")));
        }
        None => return Err(FeatureFault::NotAFeature("it has no \"type\"".into())),
    }
    let properties = match f.remove("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(FeatureFault::NotAFeature(format!(
                "its \"properties\" is {}, not an object",
                describe(&other)
            )));
        }
    };
    let geometry = match f.get("geometry") {
        None | Some(Value::Null) => Ok(None),
        Some(g) => raw_geometry(g).map(Some),
    };
    Ok(FileFeature {
        index,
        properties,
        geometry,
    })
}

/// A GeoJSON geometry object as raw positions.
fn raw_geometry(g: &Value) -> Result<RawGeometry, FeatureFault> {
    let malformed = |what: String| FeatureFault::MalformedGeometry(what);
    let kind = g
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("it has no \"type\"".into()))?;
    let coordinates = || {
        g.get("coordinates")
            .ok_or_else(|| malformed(format!("the {kind} has no \"coordinates\"")))
    };
    match kind {
        "Point" => match coordinates()? {
            Value::Array(a) if a.is_empty() => Err(GeometryFault::Empty.into()),
            c => position(c, "the point").map(RawGeometry::Point),
        },
        "Polygon" => rings(coordinates()?, "").map(RawGeometry::Polygon),
        "MultiPolygon" => array(coordinates()?, "the coordinates")?
            .iter()
            .enumerate()
            .map(|(i, p)| rings(p, &format!("polygon {i}, ")))
            .collect::<Result<_, _>>()
            .map(RawGeometry::MultiPolygon),
        "LineString" | "MultiLineString" | "MultiPoint" | "GeometryCollection" => {
            Ok(RawGeometry::Other(kind.to_string()))
        }
        other => Err(malformed(format!("unknown geometry type {other:?}"))),
    }
}

fn rings(value: &Value, prefix: &str) -> Result<Vec<Vec<Coord<f64>>>, FeatureFault> {
    array(value, &format!("{prefix}the rings"))?
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            array(ring, &format!("{prefix}ring {r}"))?
                .iter()
                .enumerate()
                .map(|(p, pos)| position(pos, &format!("{prefix}ring {r}, position {p}")))
                .collect()
        })
        .collect()
}

fn array<'a>(value: &'a Value, what: &str) -> Result<&'a Vec<Value>, FeatureFault> {
    value.as_array().ok_or_else(|| {
        FeatureFault::MalformedGeometry(format!(
            "{what}: expected an array, found {}",
            describe(value)
        ))
    })
}

/// `[longitude, latitude]` or `[longitude, latitude, altitude]` (altitude dropped).
fn position(value: &Value, what: &str) -> Result<Coord<f64>, FeatureFault> {
    let xy = match value.as_array().map(Vec::as_slice) {
        Some([x, y, ..]) => x.as_f64().zip(y.as_f64()),
        _ => None,
    };
    xy.map(|(x, y)| Coord { x, y }).ok_or_else(|| {
        FeatureFault::MalformedGeometry(format!(
            "{what}: expected [longitude, latitude], found {value}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lonlat_crs_names() {
        for ok in [
            "urn:ogc:def:crs:OGC:1.3:CRS84",
            "urn:ogc:def:crs:OGC::CRS84",
            "EPSG:4326",
            "urn:ogc:def:crs:EPSG::4326",
            "urn:ogc:def:crs:EPSG:9.8.1:4490",
            "http://www.opengis.net/def/crs/EPSG/0/4490",
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        ] {
            assert!(is_lonlat_crs(ok), "{ok}");
        }
        for bad in [
            "EPSG:4547",
            "urn:ogc:def:crs:EPSG::3857",
            "EPSG:43260",
            "WGS84",
            "",
        ] {
            assert!(!is_lonlat_crs(bad), "{bad}");
        }
    }

    #[test]
    fn positions_are_read_as_written() {
        let g =
            raw_geometry(&json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}));
        assert_eq!(
            g,
            Ok(RawGeometry::Polygon(vec![vec![
                Coord { x: 0., y: 0. },
                Coord { x: 1., y: 0. },
                Coord { x: 1., y: 1. }
            ]]))
        );
        let g = raw_geometry(&json!({"type": "Point", "coordinates": [116.4, 39.9, 50.0]}));
        assert_eq!(g, Ok(RawGeometry::Point(Coord { x: 116.4, y: 39.9 })));
    }

    #[test]
    fn positions_read_back_bit_for_bit() {
        // Seventeen significant digits, as reprojection leaves them. serde_json's default float
        // parser read this one a unit in the last place off, so an export did not import back
        // unchanged (found by fuzz/geojson).
        let x = 113.632_333_145_213_93;
        assert_eq!(x.to_string(), "113.63233314521393");
        let g = raw_geometry(&json!({"type": "Point", "coordinates": [x, 34.5]}));
        assert_eq!(g, Ok(RawGeometry::Point(Coord { x, y: 34.5 })));
        let text = format!(r#"{{"type": "Point", "coordinates": [{x}, 34.5]}}"#);
        let g = raw_geometry(&serde_json::from_str(&text).unwrap());
        assert_eq!(g, Ok(RawGeometry::Point(Coord { x, y: 34.5 })));
    }

    #[test]
    fn malformed_geometries_say_where() {
        let msg = |g: Value| raw_geometry(&g).unwrap_err().to_string();
        assert_eq!(
            msg(json!({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1], [1, 1], [0, 0]]]]})),
            "has a malformed geometry: polygon 0, ring 0, position 1: expected [longitude, latitude], found [1]"
        );
        assert_eq!(
            msg(json!({"type": "Polygon"})),
            "has a malformed geometry: the Polygon has no \"coordinates\""
        );
        assert_eq!(
            msg(json!({"type": "Circle", "coordinates": []})),
            "has a malformed geometry: unknown geometry type \"Circle\""
        );
        assert_eq!(
            msg(json!({"type": "Point", "coordinates": []})),
            "has an invalid geometry: the geometry is empty"
        );
    }
}
