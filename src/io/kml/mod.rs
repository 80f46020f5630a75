//! KML and KMZ import, as Google Earth and 奥维互动地图 (Ovital Map) export them.
//!
//! - **Placemarks** are the features, numbered from 0 in document order (every `<Placemark>`,
//!   wherever it is). `<name>` is our `name`; ExtendedData fields (`<Data name><value>` and
//!   `<SchemaData><SimpleData name>`, both) are the properties, among them `code`, `parent` and
//!   `layer`; `--field code=编号` maps a differently named field, as for GeoJSON. There is no
//!   code without a field: a placemark without one is refused, never given an invented code.
//!   Values are text, except where the file's `<Schema>` types a field (`int`, `double`, `bool`
//!   …) and for `households`/`residents`, which are read as whole numbers and checked as in
//!   every import. Empty values are left out.
//! - **Layers**: the nearest enclosing `<Folder>` or `<Document>` (by `<name>`) that a
//!   `--folder-layer FOLDER=LAYER` rule names; else the ExtendedData field `layer`; else
//!   `--layer`; else the placemark is refused, naming it and its folder path.
//! - **Geometry**: coordinates are `lon,lat[,alt]` in WGS84 (KML has no other coordinate
//!   system, so nothing is reprojected; altitudes are dropped). `<Point>`; `<Polygon>` with its
//!   `outerBoundaryIs` and `innerBoundaryIs` (holes); `<MultiGeometry>` of polygons is a
//!   MultiPolygon, of one point a Point. Rings are read as written: either orientation (import
//!   rewinds them), and an unclosed ring is refused as in GeoJSON. Line strings, tracks, models
//!   and mixed MultiGeometries are refused by the layer check, naming what they hold.
//! - **Ignored**: styles (`<Style>`, `<StyleMap>`, `<styleUrl>`), `<description>` (HTML or not),
//!   `<Snippet>`, `<LookAt>`, `<TimeStamp>`, `gx:` extensions, overlays and network links
//!   (never fetched). Text may be CDATA.
//! - **KMZ** is a zip holding `doc.kml`, or else its first `.kml` entry ([`kmz`]).
//! - **Bounds**: see [`parse`] (UTF-8 only, no DTD, [`MAX_DEPTH`]) and [`MAX_KML_BYTES`].
//!
//! Why quick-xml rather than georust's `kml` crate (0.15, evaluated from its source): it builds
//! the whole tree recursively with no depth limit (a deeply nested file overflows the stack),
//! reads a placemark's ExtendedData only as generic child elements, stops at the first bad
//! coordinate with one error for the whole file (no placemark named), and its KMZ reader
//! copies an entry of whatever size the zip declares. Its own parser is quick-xml, so reading
//! quick-xml events directly costs no extra dependency and keeps names, both ExtendedData
//! forms and folder paths exactly as written.

mod kmz;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::draft::{COUNT_KEYS, FileFeature};
use super::geojson::RESERVED_KEYS;
use super::{Checked, FeatureFault, ImportError, ImportOptions};
use crate::model::Layer;
pub use kmz::MAX_KML_BYTES;
pub use parse::MAX_DEPTH;
use parse::{Data, Document};

/// `FOLDER=LAYER`: placemarks in the folder (or document) named `FOLDER`, at any depth below it,
/// go to `LAYER` unless a nearer folder has a rule of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderLayer {
    pub folder: String,
    pub layer: Layer,
}

impl FromStr for FolderLayer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The last `=`: layer ids have none, folder names might.
        match s.rsplit_once('=') {
            Some((folder, layer)) if !folder.trim().is_empty() => Ok(FolderLayer {
                folder: folder.trim().to_string(),
                layer: layer.trim().parse().map_err(|e| format!("{s:?}: {e}"))?,
            }),
            _ => Err(format!(
                "{s:?} is not FOLDER=LAYER (for example 党建网格=party_grid)"
            )),
        }
    }
}

impl fmt::Display for FolderLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.folder, self.layer.id())
    }
}

/// Refuses two rules for one folder.
fn check_rules(rules: &[FolderLayer]) -> Result<HashMap<&str, Layer>, ImportError> {
    let mut by_folder = HashMap::new();
    for r in rules {
        if by_folder.insert(r.folder.as_str(), r.layer).is_some() {
            return Err(ImportError::Options(format!(
                "--folder-layer {} is given more than once",
                r.folder
            )));
        }
    }
    Ok(by_folder)
}

/// Read a KMZ: its `.kml` ([`kmz::doc_kml`]), then as [`read`].
pub(crate) fn read_kmz(bytes: &[u8], opts: &ImportOptions) -> Result<Checked, ImportError> {
    read(&kmz::doc_kml(bytes, MAX_KML_BYTES)?, opts)
}

/// Read KML text and check every placemark.
pub(crate) fn read(bytes: &[u8], opts: &ImportOptions) -> Result<Checked, ImportError> {
    let rules = check_rules(&opts.folder_layers)?;
    let doc = parse::parse(bytes)?;
    let (features, places, mut errors) = file_features(doc, &rules, opts);
    // The layer is settled here (folder, field, --layer in that order), so the shared check must
    // not hold it against --layer.
    let check_opts = ImportOptions {
        layer: None,
        ..opts.clone()
    };
    let (drafts, more) = super::check_features(features, &check_opts);
    errors.extend(more);
    let code_source = opts
        .fields
        .iter()
        .find(|m| m.field == "code")
        .map(|m| m.source.as_str());
    for e in &mut errors {
        e.place = places.get(e.index).cloned();
        if e.fault == FeatureFault::Missing("code".into()) {
            e.fault = FeatureFault::Missing(match code_source {
                Some(source) => format!(
                    "code: it has no ExtendedData field {source:?} (from --field code={source})"
                ),
                None => "code: it has no ExtendedData field \"code\" (name the field that holds it with --field code=FIELD)".into(),
            });
        }
    }
    Ok((drafts, errors))
}

/// Every placemark as a [`FileFeature`] with its layer decided, each one's description for
/// messages (name and folder path), and the placemarks refused for want of a layer.
fn file_features(
    doc: Document,
    rules: &HashMap<&str, Layer>,
    opts: &ImportOptions,
) -> (Vec<FileFeature>, Vec<String>, Vec<super::FeatureError>) {
    let name_mapped = opts.fields.iter().any(|m| m.field == "name");
    let mut features = Vec::with_capacity(doc.placemarks.len());
    let mut places = Vec::with_capacity(doc.placemarks.len());
    let mut errors = Vec::new();
    for (index, pm) in doc.placemarks.into_iter().enumerate() {
        // The enclosing containers, innermost first.
        let mut chain = Vec::new();
        let mut at = pm.container;
        while let Some(c) = at.and_then(|i| doc.containers.get(i)) {
            chain.push(c.name.as_deref());
            at = c.parent;
        }
        let path: Vec<&str> = chain.iter().rev().flatten().copied().collect();
        let place = describe(pm.name.as_deref(), &path);
        let mut properties = properties(pm.data, &doc.schemas, opts);
        if !name_mapped && let Some(name) = pm.name {
            properties.insert("name".into(), Value::String(name));
        }
        let by_folder = chain.iter().flatten().find_map(|n| rules.get(n).copied());
        let has_field = properties
            .get("layer")
            .and_then(Value::as_str)
            .is_some_and(|l| !l.trim().is_empty());
        match by_folder.or(if has_field { None } else { opts.layer }) {
            Some(layer) => {
                properties.insert("layer".into(), Value::String(layer.id().into()));
            }
            None if has_field => {}
            None => {
                // `read` adds the place to every error.
                errors.push(super::FeatureError {
                    index,
                    layer: None,
                    code: properties
                        .get("code")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    fault: FeatureFault::NoFolderLayer,
                    place: None,
                });
                places.push(place);
                continue;
            }
        }
        places.push(place);
        features.push(FileFeature {
            index,
            properties,
            geometry: pm.geometry,
        });
    }
    (features, places, errors)
}

/// `placemark "第一网格" in 街道 > 社区 > 党建网格`.
fn describe(name: Option<&str>, path: &[&str]) -> String {
    let mut s = match name {
        Some(n) => format!("placemark {n:?}"),
        None => "an unnamed placemark".to_string(),
    };
    if !path.is_empty() {
        s.push_str(" in ");
        s.push_str(&path.join(" > "));
    }
    s
}

/// ExtendedData as properties: renamed by `--field`, typed by the schema (our own fields stay
/// text), counts as numbers, empty values left out. A field given twice keeps its last value.
fn properties(
    data: Vec<Data>,
    schemas: &HashMap<String, HashMap<String, String>>,
    opts: &ImportOptions,
) -> Map<String, Value> {
    let mut texts: Map<String, Value> = Map::new();
    let mut kinds: HashMap<String, String> = HashMap::new();
    for d in data {
        let kind = d
            .schema
            .as_ref()
            .and_then(|s| schemas.get(s))
            .and_then(|fields| fields.get(&d.name));
        if let Some(kind) = kind {
            kinds.insert(d.name.clone(), kind.clone());
        }
        texts.insert(d.name, Value::String(d.value));
    }
    for m in &opts.fields {
        if let Some(v) = texts.shift_remove(&m.source) {
            texts.insert(m.field.clone(), v);
            if let Some(kind) = kinds.remove(&m.source) {
                kinds.insert(m.field.clone(), kind);
            }
        }
    }
    texts
        .into_iter()
        .filter_map(|(key, value)| {
            let text = value.as_str()?.trim();
            if text.is_empty() {
                return None;
            }
            let value = if RESERVED_KEYS.contains(&key.as_str()) {
                Value::String(text.to_string())
            } else {
                typed(text, kinds.get(&key).map(String::as_str), &key)
            };
            Some((key, value))
        })
        .collect()
}

/// A field's text as the schema types it; counts as numbers when they are; else text.
fn typed(text: &str, kind: Option<&str>, key: &str) -> Value {
    let number = || {
        text.parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(super::shp::number))
    };
    let value = match kind {
        Some("int" | "uint" | "short" | "ushort" | "float" | "double") => number(),
        Some("bool") => match text {
            "1" | "true" => Some(Value::Bool(true)),
            "0" | "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ if COUNT_KEYS.contains(&key) => number(),
        _ => None,
    };
    value.unwrap_or_else(|| Value::String(text.to_string()))
}
