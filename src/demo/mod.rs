//! The demo subdistrict: a synthetic 街道 generated deterministically and committed under
//! `maps/demo/`; `gridmap serve` loads it into an empty store.

use std::path::Path;

use crate::model::FeatureDraft;

/// How big a data set to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// One subdistrict, faithful to the work reports.
    Demo,
    /// A city: at least 100 subdistricts, 5,000 grids, 200,000 points (for benchmarks).
    City,
}

/// Generate the data set at `scale`.
pub fn generate(_scale: Scale) -> Vec<FeatureDraft> {
    Vec::new()
}

/// Write the generated data set as GeoJSON files into `dir`.
pub fn write(_scale: Scale, _dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The committed demo, embedded in the binary.
pub fn embedded() -> Vec<FeatureDraft> {
    Vec::new()
}
