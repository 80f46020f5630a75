//! Data in and out: GeoJSON and ESRI Shapefile import (all or nothing), GeoJSON export.
//!
//! Reading a file yields [`FeatureDraft`]s; every draft is checked before anything is written; the
//! whole file is then committed as one change set, so one bad feature refuses the file and the
//! store stays exactly as it was.

pub mod geojson;
pub mod prj;

use std::path::{Path, PathBuf};

use crate::model::{CommitSummary, Feature, FeatureDraft, Layer};
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};

/// Why a file was refused. Messages name the feature (index, layer, code) and the fault.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("feature {index} ({layer}/{code}): {fault}")]
    Feature {
        index: usize,
        layer: String,
        code: String,
        fault: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How to import a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Layer for features that do not name one (required for shapefiles).
    pub layer: Option<Layer>,
    pub author: String,
    pub message: String,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
}

/// Parse a GeoJSON FeatureCollection into drafts, without checking them against the store.
pub fn read_geojson(
    _bytes: &[u8],
    _layer: Option<Layer>,
) -> Result<Vec<FeatureDraft>, ImportError> {
    Ok(Vec::new())
}

/// Import a file (GeoJSON or Shapefile, by extension) into `store` in one transaction.
pub async fn import_file(
    _store: &dyn Store,
    _snapshot: &Snapshot,
    path: &Path,
    _opts: &ImportOptions,
) -> Result<CommitSummary, ImportError> {
    Err(ImportError::File {
        path: path.to_path_buf(),
        message: "import is not built yet".into(),
    })
}

/// Write features as one GeoJSON FeatureCollection.
pub fn write_geojson<'a>(
    features: impl Iterator<Item = &'a Feature>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    geojson::write_collection(features.map(::geojson::Feature::from), out)
}
