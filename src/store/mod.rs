//! Where features live: the `Store` trait and its two backends.
//!
//! - [`gpkg::GpkgStore`]: a GeoPackage file (SQLite through sqlx), the embedded default. Each feature
//!   layer is an OGC GeoPackage feature table, so QGIS and GDAL open the file directly.
//! - [`postgis::PostgisStore`]: PostGIS through sqlx, the production store.
//!
//! Both keep the current features and an append-only revision log, and commit a whole
//! [`ChangeSet`] in one transaction: a refused or interrupted change set leaves nothing behind.
//! Everything above this trait is one code path for both stores.

pub mod auth;
pub mod gpkg;
mod plan;
pub mod plans;
pub mod postgis;
mod row;
pub mod wkb;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

pub use auth::{AuthStore, TokenInfo, UserRecord};
pub use plans::{PlanEdit, PlanInfo, PlanStatus, PlanStore};

use crate::model::{ChangeSet, CommitSummary, Feature, FeatureKey, Revision};

/// A failure inside a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An optimistic-concurrency check failed: the feature changed since the caller read it.
    #[error("{key}: expected version {expected}, but the stored version is {actual}")]
    VersionConflict {
        key: FeatureKey,
        expected: i64,
        /// 0 when the feature does not exist.
        actual: i64,
    },
    /// A delete named a feature that is not there.
    #[error("{0}: no such feature")]
    NotFound(FeatureKey),
    /// The same (layer, code) appears twice in one change set.
    #[error("{0}: appears more than once in one change set")]
    DuplicateInChangeSet(FeatureKey),
    /// A unique name (token, user) is taken already.
    #[error("{0}")]
    Conflict(String),
    /// A stored row could not be decoded (a corrupt or foreign-written file).
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt { what: String, detail: String },
    /// The file or database could not be opened, created or migrated.
    #[error("cannot open store: {0}")]
    Open(String),
    /// A database error; a server going away is given as the lost connection it is (see the
    /// `From` impl below).
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    /// A PostgreSQL server that shuts down, crashes or restarts ends its sessions with an error
    /// (SQLSTATE 57P01 to 57P05, or class 08 "connection exception") instead of just closing the
    /// socket: the session is gone and its transaction rolled back, exactly as when the socket
    /// closes first. Both are given as a lost connection (`sqlx::Error::Io`), so that callers
    /// answer "cannot be reached now, nothing was written, try again" for either, not an internal
    /// error for one of them. Every other error is kept as it is.
    fn from(e: sqlx::Error) -> StoreError {
        let gone = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08"));
        if gone {
            let lost = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, e.to_string());
            return StoreError::Database(sqlx::Error::Io(lost));
        }
        StoreError::Database(e)
    }
}

/// The persistent store: features and their revisions. Kept small on purpose; shared behaviour
/// lives in the callers (import, snapshot, API), not in each backend.
#[async_trait]
pub trait Store: Send + Sync {
    /// A short name for logs and health checks: `"gpkg"` or `"postgis"`.
    fn kind(&self) -> &'static str;

    /// Every current feature, in layer order then code order.
    async fn load(&self) -> Result<Vec<Feature>, StoreError>;

    /// The store's data version: the id of the latest revision, 0 for an empty store.
    async fn data_version(&self) -> Result<i64, StoreError>;

    /// Commit every change in one transaction, writing a revision for each change that alters a
    /// feature. Either everything is written or nothing is.
    async fn commit(&self, changes: ChangeSet) -> Result<CommitSummary, StoreError>;

    /// The data version at a past moment: the largest revision id committed by then.
    async fn version_at(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64, StoreError>;

    /// Revisions of one feature (or all when `key` is `None`), oldest first, with `id > after`.
    async fn revisions(
        &self,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Revision>, StoreError>;

    /// Where this store keeps tokens, users and sessions; `None` for a store without them (test
    /// doubles), which then refuses every credential.
    fn auth(&self) -> Option<&dyn AuthStore> {
        None
    }

    /// Where this store keeps plans; `None` for a store without them.
    fn plan_store(&self) -> Option<&dyn PlanStore> {
        None
    }
}

/// Where to find the store, from the command line.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// `<dir>/gridmap.gpkg`, created when missing.
    Gpkg { data_dir: std::path::PathBuf },
    /// A PostgreSQL URL; PostGIS must be installed on the server (the migration creates the extension).
    Postgis { url: String },
}

/// The GeoPackage file name inside the data directory.
pub const GPKG_FILE: &str = "gridmap.gpkg";

/// Open (creating and migrating as needed) the configured store.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Gpkg { data_dir } => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| StoreError::Open(format!("{}: {e}", data_dir.display())))?;
            let path = data_dir.join(GPKG_FILE);
            Ok(Arc::new(gpkg::GpkgStore::open(Path::new(&path)).await?))
        }
        StoreConfig::Postgis { url } => Ok(Arc::new(postgis::PostgisStore::connect(url).await?)),
    }
}
