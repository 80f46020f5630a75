//! The GeoPackage store: one SQLite file that is a real OGC GeoPackage 1.3.
//!
//! Each layer is a GeoPackage feature table named by [`Layer::id`] (`fid`, `geom`, `code`,
//! `name`, `parent`, `properties` as JSON text, `version`, `updated_at`), registered in
//! `gpkg_contents` with its Chinese name and kept extent, so GDAL and QGIS open the file directly
//! and see the ten layers. Change sets and revisions live beside them in `gridmap_*` tables that
//! GeoPackage readers do not list. The fixed schema (GeoPackage core tables, gridmap tables) is
//! `migrations/sqlite/`, applied at open; the feature tables are made at open from [`Layer::ALL`]
//! (see [`create_layer_tables`]), so the list of layers has one source.
//!
//! The file runs in WAL mode: readers (GDAL, QGIS, our own loads) never wait for a writer, and a
//! killed process leaves the main file as it was at the last commit (an unfinished transaction
//! only ever reached the `-wal` file, which SQLite discards when it next opens the file).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo::{Rect, coord};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteExecutor, Transaction};

use super::plan::{self, ChangeSetInfo, Plan, WriteTx};
use super::row::{FeatureRow, Queries, decode_stream, sort_features};
use super::wkb::{GeomFormat, SRID, gpkg_bounds};
use super::{Store, StoreError};
use crate::model::{ChangeSet, CommitSummary, Feature, FeatureKey, GeometryKind, Layer, Revision};

/// How long a writer waits for another one (GDAL editing the file, say) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows per multi-row `INSERT` (SQLite allows 32766 bound values per statement; a revision row
/// binds 17).
const ROWS_PER_INSERT: usize = 500;

/// A GeoPackage file opened through a small SQLite connection pool.
pub struct GpkgStore {
    pub(super) pool: SqlitePool,
}

impl GpkgStore {
    /// Open the GeoPackage at `path`, creating it when missing and migrating it to the current
    /// schema.
    pub async fn open(path: &Path) -> Result<GpkgStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk when `commit` returns, also after a power cut.
            .synchronous(SqliteSynchronous::Full)
            // A large commit grows the write-ahead log to its size; give the space back once
            // the log has been checkpointed into the file.
            .pragma("journal_size_limit", (8 * 1024 * 1024).to_string())
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        create_layer_tables(&pool).await?;
        // GeoPackage readers (GDAL among them) identify the file by the application_id in its
        // first page, read from the main file, not through SQLite: move the migrated header out
        // of the write-ahead log.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await?;
        Ok(GpkgStore { pool })
    }
}

#[async_trait]
impl Store for GpkgStore {
    fn kind(&self) -> &'static str {
        "gpkg"
    }

    async fn load(&self) -> Result<Vec<Feature>, StoreError> {
        // One read transaction, so the ten tables are read at the same commit.
        let mut tx = self.pool.begin().await?;
        let mut features = Vec::new();
        for layer in Layer::ALL {
            let sql = select_features(layer, false);
            let rows = sqlx::query_as::<_, FeatureRow>(&sql)
                .bind(layer.id())
                .fetch(&mut *tx);
            decode_stream(rows, GpkgTx::FORMAT, &mut features).await?;
        }
        tx.rollback().await?;
        sort_features(&mut features);
        Ok(features)
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        Queries::<Sqlite>::data_version(&self.pool).await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<CommitSummary, StoreError> {
        // IMMEDIATE takes the write lock before the first read: a deferred transaction that read
        // and then found another writer had committed meanwhile could only fail.
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        plan::commit(GpkgTx(tx), changes).await
    }

    async fn version_at(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64, StoreError> {
        Queries::<Sqlite>::version_at(&self.pool, at).await
    }

    async fn revisions(
        &self,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Revision>, StoreError> {
        const COLUMNS: &str = "id, changeset, layer, code, action, author, message, at, \
            old_version, old_name, old_parent, old_properties, old_geom, \
            new_version, new_name, new_parent, new_properties, new_geom";
        Queries::<Sqlite>::revisions(&self.pool, COLUMNS, key, after, limit, GpkgTx::FORMAT).await
    }

    fn auth(&self) -> Option<&dyn super::AuthStore> {
        Some(self)
    }

    fn plan_store(&self) -> Option<&dyn super::PlanStore> {
        Some(self)
    }
}

/// The query for one layer's rows (`?1` = the layer id; `?2` = a JSON array of codes when
/// `filtered`).
fn select_features(layer: Layer, filtered: bool) -> String {
    let filter = if filtered {
        "WHERE code IN (SELECT value FROM json_each(?2))"
    } else {
        ""
    };
    format!(
        "SELECT ?1 AS layer, code, name, parent, properties, geom, version \
         FROM \"{}\" {filter}",
        layer.id()
    )
}

/// The rows of one layer's table (of the given codes only, when `codes` is a JSON array of them),
/// in table order: callers sort (an `ORDER BY code` walks the code index and reads the table in
/// random order, which made loading a large layer several times slower).
///
/// Table names come from [`Layer::id`], a fixed set of identifiers; every value is bound.
async fn feature_rows<'e>(
    executor: impl SqliteExecutor<'e>,
    layer: Layer,
    codes: Option<String>,
) -> Result<Vec<FeatureRow>, StoreError> {
    let sql = select_features(layer, codes.is_some());
    let mut query = sqlx::query_as::<_, FeatureRow>(&sql).bind(layer.id());
    if let Some(codes) = codes {
        query = query.bind(codes);
    }
    Ok(query.fetch_all(executor).await?)
}

/// A commit in progress: a `BEGIN IMMEDIATE` transaction.
struct GpkgTx(Transaction<'static, Sqlite>);

#[async_trait]
impl WriteTx for GpkgTx {
    const FORMAT: GeomFormat = GeomFormat::Geopackage;

    async fn fetch(&mut self, keys: &[FeatureKey]) -> Result<Vec<FeatureRow>, StoreError> {
        let mut rows = Vec::new();
        for layer in Layer::ALL {
            if let Some(codes) = codes_in(layer, keys.iter())? {
                rows.extend(feature_rows(&mut *self.0, layer, Some(codes)).await?);
            }
        }
        Ok(rows)
    }

    async fn last_versions(
        &mut self,
        keys: &[FeatureKey],
    ) -> Result<HashMap<FeatureKey, i64>, StoreError> {
        let mut out = HashMap::new();
        for layer in Layer::ALL {
            let Some(codes) = codes_in(layer, keys.iter())? else {
                continue;
            };
            // The last revision of each key (the index on layer, code, id finds it).
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT code, v FROM (SELECT k.value AS code, \
                   (SELECT COALESCE(r.new_version, r.old_version) FROM gridmap_revisions r \
                    WHERE r.layer = ?1 AND r.code = k.value ORDER BY r.id DESC LIMIT 1) AS v \
                 FROM json_each(?2) k) WHERE v IS NOT NULL",
            )
            .bind(layer.id())
            .bind(codes)
            .fetch_all(&mut *self.0)
            .await?;
            out.extend(
                rows.into_iter()
                    .map(|(code, v)| (FeatureKey { layer, code }, v)),
            );
        }
        Ok(out)
    }

    async fn apply(&mut self, plan: &Plan, changeset: &ChangeSetInfo) -> Result<i64, StoreError> {
        let id = Queries::<Sqlite>::insert_changeset(&mut *self.0, changeset).await?;
        let at = changeset.at;
        for layer in plan.layers() {
            let rows: Vec<&FeatureRow> = plan.upserts().filter(|r| r.layer == layer.id()).collect();
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                upsert_rows(&mut self.0, layer, chunk, at).await?;
            }
            if let Some(deleted) = codes_in(layer, plan.deletes())? {
                let sql = format!(
                    "DELETE FROM \"{}\" WHERE code IN (SELECT value FROM json_each(?))",
                    layer.id()
                );
                sqlx::query(&sql)
                    .bind(deleted)
                    .execute(&mut *self.0)
                    .await?;
            }
            update_contents(&mut self.0, layer, changeset.at).await?;
        }
        for steps in plan.steps.chunks(ROWS_PER_INSERT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO gridmap_revisions (changeset, layer, code, action, author, message, \
                 at, old_version, old_name, old_parent, old_properties, old_geom, \
                 new_version, new_name, new_parent, new_properties, new_geom) ",
            );
            query.push_values(steps, |mut row, step| {
                row.push_bind(id)
                    .push_bind(step.key.layer.id())
                    .push_bind(step.key.code.as_str())
                    .push_bind(step.action.as_str())
                    .push_bind(changeset.author.as_str())
                    .push_bind(changeset.message.as_str())
                    .push_bind(at);
                for state in [&step.old, &step.new] {
                    let state = state.as_ref();
                    row.push_bind(state.map(|s| s.version))
                        .push_bind(state.map(|s| s.name.as_str()))
                        .push_bind(state.and_then(|s| s.parent.as_deref()))
                        .push_bind(state.map(|s| s.properties.as_str()))
                        .push_bind(state.map(|s| s.geom.as_slice()));
                }
            });
            query.build().execute(&mut *self.0).await?;
        }
        Ok(id)
    }

    async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

/// Insert or replace `rows` of one layer's table in one statement.
async fn upsert_rows(
    tx: &mut Transaction<'static, Sqlite>,
    layer: Layer,
    rows: &[&FeatureRow],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "INSERT INTO \"{}\" (code, name, parent, properties, geom, version, updated_at) ",
        layer.id()
    ));
    query.push_values(rows, |mut row, r| {
        row.push_bind(r.code.as_str())
            .push_bind(r.name.as_str())
            .push_bind(r.parent.as_deref())
            .push_bind(r.properties.as_str())
            .push_bind(r.geom.as_slice())
            .push_bind(r.version)
            .push_bind(at);
    });
    query.push(
        " ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent, \
         properties = excluded.properties, geom = excluded.geom, version = excluded.version, \
         updated_at = excluded.updated_at",
    );
    query.build().execute(&mut **tx).await?;
    Ok(())
}

/// Bring a layer's `gpkg_contents` row up to date: its extent (from the envelope in each geometry
/// header, so polygons are not decoded; NULL when the layer is empty) and `last_change`.
async fn update_contents(
    tx: &mut Transaction<'static, Sqlite>,
    layer: Layer,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sql = format!("SELECT code, geom FROM \"{}\"", layer.id());
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(&sql).fetch_all(&mut **tx).await?;
    let mut extent: Option<Rect<f64>> = None;
    for (code, geom) in &rows {
        let bounds = gpkg_bounds(geom).map_err(|e| StoreError::Corrupt {
            what: format!("feature {layer}/{code}"),
            detail: format!("geometry: {e}"),
        })?;
        if let Some(b) = bounds {
            extent = Some(match extent {
                None => b,
                Some(e) => Rect::new(
                    coord! { x: e.min().x.min(b.min().x), y: e.min().y.min(b.min().y) },
                    coord! { x: e.max().x.max(b.max().x), y: e.max().y.max(b.max().y) },
                ),
            });
        }
    }
    sqlx::query(
        "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, last_change = ? \
         WHERE table_name = ?",
    )
    .bind(extent.map(|e| e.min().x))
    .bind(extent.map(|e| e.min().y))
    .bind(extent.map(|e| e.max().x))
    .bind(extent.map(|e| e.max().y))
    // The GeoPackage's own timestamp format, milliseconds and 'Z'.
    .bind(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    .bind(layer.id())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The codes of `keys` in `layer` as one JSON array (bound once, unpacked by SQLite's
/// `json_each`); `None` when there are none.
fn codes_in<'a>(
    layer: Layer,
    keys: impl Iterator<Item = &'a FeatureKey>,
) -> Result<Option<String>, StoreError> {
    let codes: Vec<&str> = keys
        .filter(|k| k.layer == layer)
        .map(|k| k.code.as_str())
        .collect();
    if codes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&codes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            what: format!("codes of layer {layer}"),
            detail: e.to_string(),
        })
}

/// Make the feature table of every layer in [`Layer::ALL`] that the file lacks, and register it
/// in `gpkg_contents` (identifier: the layer's Chinese name) and `gpkg_geometry_columns`
/// (`GEOMETRY` for areal layers and compounds, which hold polygons, multipolygons and, for
/// compounds, points; `POINT` for point layers). Does nothing to a file that has them all.
///
/// No spatial index (the GeoPackage `gpkg_rtree_index` extension): its triggers call `ST_MinX()`
/// and friends, SQL functions only GDAL and SpatiaLite register, so every other writer of the
/// file (this store included) would fail. gridmap's in-memory snapshot is the spatial index.
async fn create_layer_tables(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for layer in Layer::ALL {
        let geometry_type = match layer.geometry_kind() {
            GeometryKind::Point => "POINT",
            GeometryKind::Areal | GeometryKind::ArealOrPoint => "GEOMETRY",
        };
        // The geometry column is declared with its geometry type name, as the spec asks; its
        // values are GeoPackage geometry blobs.
        let table = format!(
            "CREATE TABLE IF NOT EXISTS \"{}\" (
                fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
                geom {geometry_type} NOT NULL,
                code TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                parent TEXT,
                properties TEXT NOT NULL,
                version INTEGER NOT NULL,
                updated_at TEXT
            )",
            layer.id()
        );
        sqlx::query(&table).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT OR IGNORE INTO gpkg_contents \
             (table_name, data_type, identifier, description, srs_id) \
             VALUES ($1, 'features', $2, $3, $4)",
        )
        .bind(layer.id())
        .bind(layer.name_zh())
        .bind(format!(
            "gridmap layer {} ({})",
            layer.id(),
            layer.name_zh()
        ))
        .bind(SRID)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO gpkg_geometry_columns \
             (table_name, column_name, geometry_type_name, srs_id, z, m) \
             VALUES ($1, 'geom', $2, $3, 0, 0)",
        )
        .bind(layer.id())
        .bind(geometry_type)
        .bind(SRID)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
