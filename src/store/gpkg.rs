//! The GeoPackage store.

use std::path::Path;

use async_trait::async_trait;

use super::{Store, StoreError};
use crate::model::{ChangeSet, CommitSummary, Feature, FeatureKey, Revision};

pub struct GpkgStore {}

impl GpkgStore {
    pub async fn open(_path: &Path) -> Result<GpkgStore, StoreError> {
        Ok(GpkgStore {})
    }
}

#[async_trait]
impl Store for GpkgStore {
    fn kind(&self) -> &'static str {
        "gpkg"
    }
    async fn load(&self) -> Result<Vec<Feature>, StoreError> {
        Ok(Vec::new())
    }
    async fn data_version(&self) -> Result<i64, StoreError> {
        Ok(0)
    }
    async fn commit(&self, _changes: ChangeSet) -> Result<CommitSummary, StoreError> {
        Err(StoreError::Open("not built yet".into()))
    }
    async fn revisions(
        &self,
        _key: Option<&FeatureKey>,
        _after: i64,
        _limit: i64,
    ) -> Result<Vec<Revision>, StoreError> {
        Ok(Vec::new())
    }
}
