//! Data in and out: GeoJSON, ESRI Shapefile, KML/KMZ and address-CSV ([`csv`]) import (all or
//! nothing), GeoJSON export.
//!
//! Import reads the whole file into [`FileFeature`](draft::FileFeature)s (format by format:
//! [`geojson`], [`shp`], [`kml`]), checks each one into a [`FeatureDraft`] ([`draft`], with the geometry
//! checks of [`crate::spatial::validate`]), then checks the file as a whole: no (layer, code)
//! twice, every `parent` known in the file or the store. Only when every feature passes is the
//! file committed, as one change set of upserts; one bad feature refuses the file, the error lists
//! the bad features (0-based index, layer and code when known, and the fault) and the store stays
//! exactly as it was.

pub mod attributes;
pub mod csv;
pub mod draft;
pub mod geojson;
pub mod kml;
pub mod prj;
pub mod sheet;
pub mod shp;
pub mod table;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::model::{Change, ChangeSet, CommitSummary, Feature, FeatureDraft, Layer, UnknownLayer};
use crate::snapshot::Snapshot;
use crate::spatial::normalise::{Normalised, normalise};
use crate::spatial::validate::GeometryFault;
use crate::store::{Store, StoreError};
use draft::FileFeature;
pub use kml::FolderLayer;

/// Why a file was refused. Nothing was written in every case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file (or a companion file) cannot be read, or is not what its name says.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// The GeoJSON is not valid JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid JSON, but not a GeoJSON FeatureCollection gridmap can take.
    #[error("{0}")]
    Document(String),
    /// The command-line options do not fit the file.
    #[error("{0}")]
    Options(String),
    /// One or more features are bad; `errors` holds the first [`MAX_LISTED`] of `total`.
    #[error("{}", list_features(.errors, *.total))]
    Features {
        errors: Vec<FeatureError>,
        total: usize,
    },
    /// One or more rows of an address CSV are bad; `errors` holds the first [`MAX_LISTED`].
    #[error("{}", csv::RowList(.errors, *.total))]
    Rows {
        errors: Vec<csv::RowError>,
        total: usize,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many bad features an [`ImportError::Features`] lists.
pub const MAX_LISTED: usize = 20;

impl ImportError {
    /// The error for these bad features (in any order), or `None` when there are none.
    fn features(mut errors: Vec<FeatureError>) -> Option<ImportError> {
        if errors.is_empty() {
            return None;
        }
        errors.sort_by_key(|e| e.index);
        let total = errors.len();
        errors.truncate(MAX_LISTED);
        Some(ImportError::Features { errors, total })
    }
}

fn list_features(errors: &[FeatureError], total: usize) -> String {
    match errors {
        [one] if total == 1 => format!("{one}; nothing was imported"),
        _ => {
            let mut s = format!("{total} features are invalid; nothing was imported:");
            for e in errors {
                s.push_str("\n  ");
                s.push_str(&e.to_string());
            }
            if total > errors.len() {
                s.push_str(&format!("\n  … and {} more", total - errors.len()));
            }
            s
        }
    }
}

/// One bad feature: where it is in the file, what it is (when known), and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "feature {index}{}{} {fault}",
    FeatureLabel(.layer.as_deref(), .code.as_deref()),
    Place(.place.as_deref())
)]
pub struct FeatureError {
    /// 0-based position in the file (the record number in a shapefile, the placemark in KML).
    pub index: usize,
    /// The layer as the file or `--layer` gives it, when known.
    pub layer: Option<String>,
    pub code: Option<String>,
    pub fault: FeatureFault,
    /// Where a KML placemark is, for people: `placemark "第一网格" in 街道 > 社区`.
    pub place: Option<String>,
}

struct Place<'a>(Option<&'a str>);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(place) => write!(f, ", {place},"),
            None => Ok(()),
        }
    }
}

struct FeatureLabel<'a>(Option<&'a str>, Option<&'a str>);

impl fmt::Display for FeatureLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(layer), Some(code)) => write!(f, " ({layer}/{code})"),
            (Some(layer), None) => write!(f, " ({layer}, no code)"),
            (None, Some(code)) => write!(f, " (code {code})"),
            (None, None) => Ok(()),
        }
    }
}

/// What is wrong with one feature. Each message reads after "feature 3 (party_grid/…)".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureFault {
    #[error("is not a GeoJSON Feature: {0}")]
    NotAFeature(String),
    #[error("has no layer: give it a `layer` property or pass --layer")]
    NoLayer,
    /// A KML placemark that no `--folder-layer` rule, `layer` field or `--layer` places.
    #[error(
        "has no layer: no --folder-layer FOLDER=LAYER rule names a folder it is in, it has no ExtendedData field `layer`, and no --layer was given"
    )]
    NoFolderLayer,
    #[error("has an {0}")]
    UnknownLayer(UnknownLayer),
    #[error("is in layer {found}, but --layer says {expected}")]
    LayerMismatch { found: Layer, expected: Layer },
    #[error("has no {0}")]
    Missing(String),
    #[error("has {field} {found}, which is not {expected}")]
    WrongType {
        field: String,
        found: String,
        expected: &'static str,
    },
    #[error("has no geometry")]
    NoGeometry,
    /// A field breaks one of [`crate::rules`] (length, characters); the message names it.
    #[error("has {0}")]
    Rule(String),
    #[error("has a malformed geometry: {0}")]
    MalformedGeometry(String),
    #[error("has a {found} geometry, but layer {layer} takes {allowed}")]
    GeometryType {
        found: String,
        layer: Layer,
        allowed: &'static str,
    },
    #[error("has an invalid geometry: {0}")]
    Geometry(#[from] GeometryFault),
    #[error(
        "has a hole (part {part}, a counter-clockwise ring) that lies inside none of its outer rings"
    )]
    OrphanHole { part: usize },
    #[error("has coordinates that cannot be converted: {0}")]
    Reproject(#[from] prj::PrjError),
    #[error("has the same layer and code as feature {first}")]
    DuplicateCode { first: usize },
    #[error("has parent {parent}, which is not a {layer} in this file or in the store")]
    UnknownParent { parent: String, layer: Layer },
    /// Only with `--strict`: a geometry that import would otherwise have normalised.
    #[error(
        "is not stored as is under --strict: {} ring(s) wound against RFC 7946 (exterior rings \
         counter-clockwise, holes clockwise) and {} repeated consecutive vertices",
        .0.rings_reoriented, .0.repeated_vertices_dropped
    )]
    NotNormalised(Normalised),
}

/// How to import a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Layer for features that do not name one (required for shapefiles without a layer column).
    pub layer: Option<Layer>,
    pub author: String,
    pub message: String,
    /// Show a progress bar (only when stderr is a terminal and the file is large).
    pub progress: bool,
    /// Which property or column holds each of our fields (`code=WGBM`); see [`FieldMapping`].
    pub fields: Vec<FieldMapping>,
    /// Refuse geometries that would be normalised (rewound or cleared of repeated vertices)
    /// instead of normalising them.
    pub strict: bool,
    /// KML only: which folder's placemarks go to which layer (`党建网格=party_grid`).
    pub folder_layers: Vec<FolderLayer>,
}

/// What an import wrote, and what it changed in the geometries on the way in.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub commit: CommitSummary,
    /// Rings rewound to RFC 7946 and repeated vertices dropped (none under `--strict`), and the
    /// parts and holes the file holds.
    pub geometry: Normalised,
}

/// `FIELD=SOURCE`: our field (`code`, `name`, `parent`, `layer`, or any property such as
/// `households`) is read from the file's property or `.dbf` column `SOURCE`.
///
/// Shapefile columns match case-insensitively; GeoJSON properties exactly. Without a mapping a
/// shapefile's columns are guessed ([`shp::DEFAULT_COLUMNS`]) and GeoJSON uses our names as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapping {
    pub field: String,
    pub source: String,
}

impl FromStr for FieldMapping {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((field, source)) if !field.trim().is_empty() && !source.trim().is_empty() => {
                Ok(FieldMapping {
                    field: field.trim().to_string(),
                    source: source.trim().to_string(),
                })
            }
            _ => Err(format!(
                "{s:?} is not FIELD=COLUMN (for example code=WGBM or name=WGMC)"
            )),
        }
    }
}

impl fmt::Display for FieldMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.field, self.source)
    }
}

/// Refuses a mapping that names the same field twice.
fn check_mappings(fields: &[FieldMapping]) -> Result<(), ImportError> {
    let mut seen = HashSet::new();
    for m in fields {
        if !seen.insert(m.field.as_str()) {
            return Err(ImportError::Options(format!(
                "--field {} is given more than once",
                m.field
            )));
        }
    }
    Ok(())
}

/// Parse a GeoJSON FeatureCollection into drafts, checking every feature and that no (layer, code)
/// appears twice, but not the parents (which need the store).
pub fn read_geojson(bytes: &[u8], layer: Option<Layer>) -> Result<Vec<FeatureDraft>, ImportError> {
    let opts = ImportOptions {
        layer,
        ..ImportOptions::default()
    };
    let (drafts, errors) = geojson::read(bytes, &opts)?;
    finish_reading(drafts, errors)
}

/// Read a shapefile (`path` is the `.shp`) into drafts, with the same checks as [`read_geojson`].
pub fn read_shapefile(path: &Path, opts: &ImportOptions) -> Result<Vec<FeatureDraft>, ImportError> {
    let (drafts, errors) = shp::read(path, opts)?;
    finish_reading(drafts, errors)
}

/// Read KML text into drafts, with the same checks as [`read_geojson`].
pub fn read_kml(bytes: &[u8], opts: &ImportOptions) -> Result<Vec<FeatureDraft>, ImportError> {
    let (drafts, errors) = kml::read(bytes, opts)?;
    finish_reading(drafts, errors)
}

/// Read a KMZ (a zip holding the KML) into drafts, with the same checks as [`read_geojson`].
pub fn read_kmz(bytes: &[u8], opts: &ImportOptions) -> Result<Vec<FeatureDraft>, ImportError> {
    let (drafts, errors) = kml::read_kmz(bytes, opts)?;
    finish_reading(drafts, errors)
}

/// [`read_shapefile`] over files already in memory (the fuzz target's entry point): the same
/// checks, with messages naming the paths in `files`.
pub fn read_shapefile_files(
    files: shp::Files<'_>,
    opts: &ImportOptions,
) -> Result<Vec<FeatureDraft>, ImportError> {
    let (drafts, errors) = shp::read_files(files, opts)?;
    finish_reading(drafts, errors)
}

fn finish_reading(
    drafts: Vec<(usize, FeatureDraft)>,
    errors: Vec<FeatureError>,
) -> Result<Vec<FeatureDraft>, ImportError> {
    match ImportError::features(errors) {
        Some(e) => Err(e),
        None => Ok(drafts.into_iter().map(|(_, d)| d).collect()),
    }
}

/// Drafts that passed, each with its index in the file, and the features that did not.
type Checked = (Vec<(usize, FeatureDraft)>, Vec<FeatureError>);

/// Check every feature (in parallel), then look for duplicate (layer, code) among those that
/// passed.
fn check_features(features: Vec<FileFeature>, opts: &ImportOptions) -> Checked {
    let bar = progress_bar(features.len(), opts.progress, "checking");
    let results: Vec<(usize, Result<FeatureDraft, FeatureError>)> = features
        .into_par_iter()
        .map(|f| {
            bar.inc(1);
            (f.index, draft::to_draft(f, opts.layer))
        })
        .collect();
    bar.finish_and_clear();
    let mut drafts = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for (index, r) in results {
        match r {
            Ok(d) => drafts.push((index, d)),
            Err(e) => errors.push(e),
        }
    }
    errors.extend(duplicates(&drafts));
    (drafts, errors)
}

/// Every feature whose (layer, code) an earlier feature already has.
fn duplicates(drafts: &[(usize, FeatureDraft)]) -> Vec<FeatureError> {
    let mut first: HashMap<(Layer, &str), usize> = HashMap::with_capacity(drafts.len());
    let mut errors = Vec::new();
    for (index, d) in drafts {
        if let Some(&first) = first.get(&(d.layer, d.code.as_str())) {
            errors.push(draft_error(
                *index,
                d,
                FeatureFault::DuplicateCode { first },
            ));
        } else {
            first.insert((d.layer, &d.code), *index);
        }
    }
    errors
}

/// Every feature whose `parent` is neither in the file nor in the snapshot, for layers that have
/// a parent layer.
fn unknown_parents(drafts: &[(usize, FeatureDraft)], snapshot: &Snapshot) -> Vec<FeatureError> {
    let in_file: HashSet<(Layer, &str)> = drafts
        .iter()
        .map(|(_, d)| (d.layer, d.code.as_str()))
        .collect();
    drafts
        .iter()
        .filter_map(|(index, d)| {
            let (layer, parent) = (d.layer.parent_layer()?, d.parent.as_deref()?);
            let known =
                in_file.contains(&(layer, parent)) || snapshot.find(layer, parent).is_some();
            (!known).then(|| {
                let fault = FeatureFault::UnknownParent {
                    parent: parent.to_string(),
                    layer,
                };
                draft_error(*index, d, fault)
            })
        })
        .collect()
}

fn draft_error(index: usize, d: &FeatureDraft, fault: FeatureFault) -> FeatureError {
    FeatureError {
        index,
        layer: Some(d.layer.id().to_string()),
        code: Some(d.code.clone()),
        fault,
        place: None,
    }
}

/// The formats [`import_file`] reads, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    GeoJson,
    Shapefile,
    Kml,
    /// A zip holding a KML.
    Kmz,
    /// The standard address registry, as CSV or `.xlsx`.
    Csv,
}

fn format_of(path: &Path) -> Result<Format, ImportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("geojson" | "json") => Ok(Format::GeoJson),
        Some("shp") => Ok(Format::Shapefile),
        Some("kml") => Ok(Format::Kml),
        Some("kmz") => Ok(Format::Kmz),
        Some("csv" | "xlsx") => Ok(Format::Csv),
        Some("dbf" | "shx" | "prj" | "cpg") => Err(ImportError::File {
            path: path.to_path_buf(),
            message: "this is a shapefile companion file: import the .shp beside it".into(),
        }),
        _ => Err(ImportError::File {
            path: path.to_path_buf(),
            message: "unknown file type: expected .geojson, .json, .shp, .kml, .kmz, .csv or .xlsx"
                .into(),
        }),
    }
}

/// Read and check a file, without the store: drafts, and the features that failed.
fn read_file(path: &Path, opts: &ImportOptions) -> Result<Checked, ImportError> {
    check_mappings(&opts.fields)?;
    let format = format_of(path)?;
    if !opts.folder_layers.is_empty() && !matches!(format, Format::Kml | Format::Kmz) {
        return Err(ImportError::Options(
            "--folder-layer applies to .kml and .kmz files only".into(),
        ));
    }
    match format {
        Format::GeoJson => geojson::read(&read_bytes(path)?, opts),
        Format::Shapefile => shp::read(path, opts),
        Format::Kml => kml::read(&read_bytes(path)?, opts),
        Format::Kmz => kml::read_kmz(&read_bytes(path)?, opts),
        Format::Csv => Ok((csv::read(&read_bytes(path)?)?, Vec::new())),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|e| ImportError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Import a file (GeoJSON, Shapefile, KML or KMZ, by extension) into `store` in one transaction: every
/// feature is checked first (against `snapshot` for parents), then all are upserted by
/// (layer, code) as one change set. Any bad feature refuses the whole file.
pub async fn import_file(
    store: &dyn Store,
    snapshot: &Snapshot,
    path: &Path,
    opts: &ImportOptions,
) -> Result<CommitSummary, ImportError> {
    Ok(import(store, snapshot, path, opts).await?.commit)
}

/// [`import_file`], also saying what normalising changed in the geometries.
pub async fn import(
    store: &dyn Store,
    snapshot: &Snapshot,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let (drafts, mut errors, geometry) = {
        let (owned, opts) = (path.to_path_buf(), opts.clone());
        tokio::task::spawn_blocking(move || {
            let (mut drafts, mut errors) = read_file(&owned, &opts)?;
            let tally = normalise_drafts(&mut drafts, opts.strict, &mut errors);
            Ok::<_, ImportError>((drafts, errors, tally))
        })
        .await
        .map_err(|e| ImportError::File {
            path: path.to_path_buf(),
            message: format!("reading failed: {e}"),
        })??
    };
    errors.extend(unknown_parents(&drafts, snapshot));
    if let Some(e) = ImportError::features(errors) {
        return Err(e);
    }
    if drafts.is_empty() {
        return Ok(ImportReport::default());
    }
    let bar = progress_bar(drafts.len(), opts.progress, "committing");
    let changes = drafts
        .into_iter()
        .map(|(_, draft)| Change::Upsert {
            draft,
            expected_version: None,
        })
        .collect();
    let summary = store
        .commit(ChangeSet {
            author: opts.author.clone(),
            message: opts.message.clone(),
            changes,
        })
        .await;
    bar.finish_and_clear();
    Ok(ImportReport {
        commit: summary?,
        geometry,
    })
}

/// Normalise every draft's geometry (RFC 7946 winding, no repeated vertices) and add up what
/// changed; under `strict` a draft that would change is an error instead, and is left as read.
fn normalise_drafts(
    drafts: &mut [(usize, FeatureDraft)],
    strict: bool,
    errors: &mut Vec<FeatureError>,
) -> Normalised {
    let results: Vec<Normalised> = drafts
        .par_iter_mut()
        .map(|(_, d)| {
            if strict {
                let mut copy = d.geometry.clone();
                normalise(&mut copy)
            } else {
                normalise(&mut d.geometry)
            }
        })
        .collect();
    let mut total = Normalised::default();
    for ((index, d), n) in drafts.iter().zip(&results) {
        if strict && n.changed() {
            errors.push(draft_error(*index, d, FeatureFault::NotNormalised(*n)));
        }
        total.add(n);
    }
    if strict {
        total.rings_reoriented = 0;
        total.repeated_vertices_dropped = 0;
    }
    total
}

/// Files with fewer features than this get no progress bar.
const PROGRESS_FROM: usize = 5_000;

/// A progress bar on stderr when asked for, stderr is a terminal and the work is large; a hidden
/// one (which costs nothing to update) otherwise.
fn progress_bar(len: usize, wanted: bool, what: &'static str) -> ProgressBar {
    if !wanted || len < PROGRESS_FROM || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} features") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Write features as one GeoJSON FeatureCollection.
pub fn write_geojson<'a>(
    features: impl Iterator<Item = &'a Feature>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    geojson::write_collection(features.map(::geojson::Feature::from), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_mappings_parse() {
        assert_eq!(
            "code=WGBM".parse::<FieldMapping>(),
            Ok(FieldMapping {
                field: "code".into(),
                source: "WGBM".into()
            })
        );
        assert_eq!(
            " name = 网格名称 "
                .parse::<FieldMapping>()
                .map(|m| m.to_string()),
            Ok("name=网格名称".into())
        );
        for bad in ["code", "=WGBM", "code=", ""] {
            assert!(bad.parse::<FieldMapping>().is_err(), "{bad}");
        }
    }

    #[test]
    fn many_bad_features_are_listed_up_to_a_limit() {
        let errors = (0..25)
            .rev()
            .map(|index| FeatureError {
                index,
                layer: None,
                code: None,
                fault: FeatureFault::NoGeometry,
                place: None,
            })
            .collect();
        let msg = ImportError::features(errors).unwrap().to_string();
        assert!(msg.starts_with(
            "25 features are invalid; nothing was imported:\n  feature 0 has no geometry\n  feature 1 "
        ));
        assert!(msg.ends_with("feature 19 has no geometry\n  … and 5 more"));
    }

    #[test]
    fn file_types_by_extension() {
        assert_eq!(format_of(Path::new("a.GeoJSON")).unwrap(), Format::GeoJson);
        assert_eq!(format_of(Path::new("a.SHP")).unwrap(), Format::Shapefile);
        assert!(
            format_of(Path::new("a.dbf"))
                .unwrap_err()
                .to_string()
                .contains("import the .shp")
        );
        assert_eq!(format_of(Path::new("a.CSV")).unwrap(), Format::Csv);
        assert_eq!(format_of(Path::new("a.kml")).unwrap(), Format::Kml);
        assert_eq!(format_of(Path::new("网格.KMZ")).unwrap(), Format::Kmz);
        assert!(
            format_of(Path::new("a.txt"))
                .unwrap_err()
                .to_string()
                .contains(".shp, .kml, .kmz, .csv or .xlsx")
        );
        assert!(format_of(Path::new("a.txt")).is_err());
    }
}
