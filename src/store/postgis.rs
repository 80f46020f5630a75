//! The PostGIS store: the production backend.
//!
//! One `features` table holds every layer (`layer`, `code` unique together; `properties` jsonb;
//! `geom geometry(Geometry, 4326)` with a GiST index), beside `gridmap_changesets` and
//! `gridmap_revisions`. The schema is `migrations/postgres/`, applied when the store is made.
//! Geometry crosses the wire as WKB bytes bound as parameters (`ST_GeomFromWKB`,
//! `ST_AsBinary`); bulk writes bind one array per column and unpack them with `unnest`.
//!
//! Writers take one transaction-scoped advisory lock, so commits (from any process) run one at a
//! time: the versions a change set checks cannot change under it, and revision ids grow in commit
//! order, which makes the largest id a data version that other processes can poll.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions};
use sqlx::query::Query;
use sqlx::{PgExecutor, Postgres, Transaction};

use super::plan::{self, ChangeSetInfo, Plan, WriteTx};
use super::row::{FeatureRow, Queries, decode_stream, sort_features};
use super::wkb::GeomFormat;
use super::{Store, StoreError};
use crate::model::{ChangeSet, CommitSummary, Feature, FeatureKey, Revision};

/// The advisory lock key every commit holds ("gridmap" in ASCII).
const COMMIT_LOCK: i64 = 0x0067_7269_646d_6170;

/// Rows per bulk statement, to keep each message to PostgreSQL a sensible size.
const ROWS_PER_STATEMENT: usize = 10_000;

const SELECT_FEATURES: &str = "SELECT layer, code, name, parent, properties::text AS properties, \
     ST_AsBinary(geom) AS geom, version FROM features";

/// A PostgreSQL database with PostGIS, through a connection pool.
pub struct PostgisStore {
    pub(super) pool: PgPool,
}

impl PostgisStore {
    /// Connect to `url` and migrate the database to the current schema (creating the PostGIS
    /// extension when it is missing).
    pub async fn connect(url: &str) -> Result<PostgisStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            // A database that went away fails a request in seconds (answered 503), not after
            // sqlx's default half minute.
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open(format!("cannot connect to PostgreSQL: {e}")))?;
        PostgisStore::from_pool(pool).await
    }

    /// Use an existing pool (tests get one per database), migrating as [`PostgisStore::connect`].
    pub async fn from_pool(pool: PgPool) -> Result<PostgisStore, StoreError> {
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PostgisStore { pool })
    }
}

#[async_trait]
impl Store for PostgisStore {
    fn kind(&self) -> &'static str {
        "postgis"
    }

    async fn load(&self) -> Result<Vec<Feature>, StoreError> {
        let mut features = Vec::new();
        let rows = sqlx::query_as::<_, FeatureRow>(SELECT_FEATURES).fetch(&self.pool);
        decode_stream(rows, PgTx::FORMAT, &mut features).await?;
        sort_features(&mut features);
        Ok(features)
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        Queries::<Postgres>::data_version(&self.pool).await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<CommitSummary, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(COMMIT_LOCK)
            .execute(&mut *tx)
            .await?;
        let summary = plan::commit(PgTx(tx), changes).await?;
        if summary.created + summary.updated + summary.deleted > 0 {
            // Tell other service processes (`serve` LISTENs on this channel) to reload. After the
            // commit, so a listener that reloads at once sees it; a lost notification is caught
            // by their periodic data-version poll.
            // The change is committed: a failed NOTIFY is logged, not reported as a failed commit.
            if let Err(e) = sqlx::query(
                "SELECT pg_notify('gridmap_changes', \
                 (SELECT COALESCE(MAX(id), 0) FROM gridmap_revisions)::text)",
            )
            .execute(&self.pool)
            .await
            {
                tracing::warn!(error = %e, "NOTIFY gridmap_changes failed");
            }
        }
        Ok(summary)
    }

    async fn version_at(&self, at: chrono::DateTime<chrono::Utc>) -> Result<i64, StoreError> {
        Queries::<Postgres>::version_at(&self.pool, at).await
    }

    async fn revisions(
        &self,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Revision>, StoreError> {
        const COLUMNS: &str = "id, changeset, layer, code, action, author, message, at, \
            old_version, old_name, old_parent, old_properties::text AS old_properties, \
            ST_AsBinary(old_geom) AS old_geom, \
            new_version, new_name, new_parent, new_properties::text AS new_properties, \
            ST_AsBinary(new_geom) AS new_geom";
        Queries::<Postgres>::revisions(&self.pool, COLUMNS, key, after, limit, PgTx::FORMAT).await
    }

    fn auth(&self) -> Option<&dyn super::AuthStore> {
        Some(self)
    }

    fn plan_store(&self) -> Option<&dyn super::PlanStore> {
        Some(self)
    }
}

/// Every feature, or those with the given keys.
async fn feature_rows<'e>(
    executor: impl PgExecutor<'e>,
    keys: Option<&[FeatureKey]>,
) -> Result<Vec<FeatureRow>, StoreError> {
    let rows = match keys {
        None => sqlx::query_as(SELECT_FEATURES).fetch_all(executor).await?,
        Some(keys) => {
            let (layers, codes) = key_columns(keys.iter());
            let sql = format!(
                "{SELECT_FEATURES} WHERE (layer, code) IN \
                 (SELECT * FROM unnest($1::text[], $2::text[]))"
            );
            sqlx::query_as(&sql)
                .bind(layers)
                .bind(codes)
                .fetch_all(executor)
                .await?
        }
    };
    Ok(rows)
}

/// A commit in progress: a transaction holding the commit lock.
struct PgTx(Transaction<'static, Postgres>);

#[async_trait]
impl WriteTx for PgTx {
    const FORMAT: GeomFormat = GeomFormat::Wkb;

    async fn fetch(&mut self, keys: &[FeatureKey]) -> Result<Vec<FeatureRow>, StoreError> {
        feature_rows(&mut *self.0, Some(keys)).await
    }

    async fn last_versions(
        &mut self,
        keys: &[FeatureKey],
    ) -> Result<HashMap<FeatureKey, i64>, StoreError> {
        let (layers, codes) = key_columns(keys.iter());
        // The last revision of each key (the index on layer, code, id finds it).
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT k.layer, k.code, v.version \
             FROM unnest($1::text[], $2::text[]) AS k(layer, code) \
             CROSS JOIN LATERAL (SELECT COALESCE(r.new_version, r.old_version) AS version \
               FROM gridmap_revisions r WHERE r.layer = k.layer AND r.code = k.code \
               ORDER BY r.id DESC LIMIT 1) v",
        )
        .bind(layers)
        .bind(codes)
        .fetch_all(&mut *self.0)
        .await?;
        rows.into_iter()
            .map(|(layer, code, v)| {
                let layer =
                    layer
                        .parse()
                        .map_err(|e: crate::model::UnknownLayer| StoreError::Corrupt {
                            what: format!("revision of {layer}/{code}"),
                            detail: e.to_string(),
                        })?;
                Ok((FeatureKey { layer, code }, v))
            })
            .collect()
    }

    async fn apply(&mut self, plan: &Plan, changeset: &ChangeSetInfo) -> Result<i64, StoreError> {
        let id = Queries::<Postgres>::insert_changeset(&mut *self.0, changeset).await?;
        let upserts: Vec<&FeatureRow> = plan.upserts().collect();
        for chunk in upserts.chunks(ROWS_PER_STATEMENT) {
            let query = sqlx::query(include_str!("postgis/upsert_features.sql"));
            FeatureColumns::new(chunk)
                .bind(query)
                .bind(changeset.at)
                .execute(&mut *self.0)
                .await?;
        }

        let (layers, codes) = key_columns(plan.deletes());
        if !codes.is_empty() {
            sqlx::query(
                "DELETE FROM features WHERE (layer, code) IN \
                 (SELECT * FROM unnest($1::text[], $2::text[]))",
            )
            .bind(layers)
            .bind(codes)
            .execute(&mut *self.0)
            .await?;
        }

        for steps in plan.steps.chunks(ROWS_PER_STATEMENT) {
            let (layers, codes) = key_columns(steps.iter().map(|s| &s.key));
            let actions: Vec<&str> = steps.iter().map(|s| s.action.as_str()).collect();
            let query = sqlx::query(include_str!("postgis/insert_revisions.sql"))
                .bind(id)
                .bind(changeset.author.as_str())
                .bind(changeset.message.as_str())
                .bind(changeset.at)
                .bind(layers)
                .bind(codes)
                .bind(actions);
            let query = StateColumns::new(steps.iter().map(|s| s.old.as_ref())).bind(query);
            let query = StateColumns::new(steps.iter().map(|s| s.new.as_ref())).bind(query);
            query.execute(&mut *self.0).await?;
        }
        Ok(id)
    }

    async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

/// Keys as two arrays, layers and codes, for `unnest`.
fn key_columns<'a>(
    keys: impl Iterator<Item = &'a FeatureKey>,
) -> (Vec<&'static str>, Vec<&'a str>) {
    keys.map(|k| (k.layer.id(), k.code.as_str())).unzip()
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// Feature rows as one array per column, bound as `$1`..`$7` of `upsert_features.sql`.
struct FeatureColumns<'a> {
    layer: Vec<&'a str>,
    code: Vec<&'a str>,
    name: Vec<&'a str>,
    parent: Vec<Option<&'a str>>,
    properties: Vec<&'a str>,
    geom: Vec<&'a [u8]>,
    version: Vec<i64>,
}

impl<'a> FeatureColumns<'a> {
    fn new(rows: &[&'a FeatureRow]) -> FeatureColumns<'a> {
        FeatureColumns {
            layer: rows.iter().map(|r| r.layer.as_str()).collect(),
            code: rows.iter().map(|r| r.code.as_str()).collect(),
            name: rows.iter().map(|r| r.name.as_str()).collect(),
            parent: rows.iter().map(|r| r.parent.as_deref()).collect(),
            properties: rows.iter().map(|r| r.properties.as_str()).collect(),
            geom: rows.iter().map(|r| r.geom.as_slice()).collect(),
            version: rows.iter().map(|r| r.version).collect(),
        }
    }

    fn bind<'q>(self, query: PgQuery<'q>) -> PgQuery<'q>
    where
        'a: 'q,
    {
        query
            .bind(self.layer)
            .bind(self.code)
            .bind(self.name)
            .bind(self.parent)
            .bind(self.properties)
            .bind(self.geom)
            .bind(self.version)
    }
}

/// One side (old or new) of revision rows as one array per column, NULL where there is no
/// state; bound as the next five parameters.
struct StateColumns<'a> {
    version: Vec<Option<i64>>,
    name: Vec<Option<&'a str>>,
    parent: Vec<Option<&'a str>>,
    properties: Vec<Option<&'a str>>,
    geom: Vec<Option<&'a [u8]>>,
}

impl<'a> StateColumns<'a> {
    fn new(states: impl Iterator<Item = Option<&'a FeatureRow>> + Clone) -> StateColumns<'a> {
        StateColumns {
            version: states.clone().map(|s| s.map(|s| s.version)).collect(),
            name: states.clone().map(|s| s.map(|s| s.name.as_str())).collect(),
            parent: states
                .clone()
                .map(|s| s.and_then(|s| s.parent.as_deref()))
                .collect(),
            properties: states
                .clone()
                .map(|s| s.map(|s| s.properties.as_str()))
                .collect(),
            geom: states.map(|s| s.map(|s| s.geom.as_slice())).collect(),
        }
    }

    fn bind<'q>(self, query: PgQuery<'q>) -> PgQuery<'q>
    where
        'a: 'q,
    {
        query
            .bind(self.version)
            .bind(self.name)
            .bind(self.parent)
            .bind(self.properties)
            .bind(self.geom)
    }
}
