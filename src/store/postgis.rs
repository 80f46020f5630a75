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

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{PgExecutor, Postgres, Transaction};

use super::plan::{self, ChangeSetInfo, Plan, WriteTx};
use super::row::{self, FeatureRow, decode_features};
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
    pool: PgPool,
}

impl PostgisStore {
    /// Connect to `url` and migrate the database to the current schema (creating the PostGIS
    /// extension when it is missing).
    pub async fn connect(url: &str) -> Result<PostgisStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
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
        let rows = feature_rows(&self.pool, None).await?;
        decode_features(rows, PgTx::FORMAT)
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        row::data_version(&self.pool).await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<CommitSummary, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(COMMIT_LOCK)
            .execute(&mut *tx)
            .await?;
        plan::commit(PgTx(tx), changes).await
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
        row::revisions(&self.pool, COLUMNS, key, after, limit, PgTx::FORMAT).await
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
            let (layers, codes): (Vec<&str>, Vec<&str>) =
                keys.iter().map(|k| (k.layer.id(), k.code.as_str())).unzip();
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

    async fn insert_changeset(
        &mut self,
        author: &str,
        message: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        row::insert_changeset(&mut *self.0, author, message, at).await
    }

    async fn apply(&mut self, plan: &Plan, changeset: &ChangeSetInfo) -> Result<(), StoreError> {
        let upserts: Vec<&FeatureRow> = plan.upserts().collect();
        for chunk in upserts.chunks(ROWS_PER_STATEMENT) {
            let mut c = FeatureColumns::default();
            chunk.iter().for_each(|r| c.push(r));
            sqlx::query(include_str!("postgis/upsert_features.sql"))
                .bind(c.layer)
                .bind(c.code)
                .bind(c.name)
                .bind(c.parent)
                .bind(c.properties)
                .bind(c.geom)
                .bind(c.version)
                .bind(changeset.at)
                .execute(&mut *self.0)
                .await?;
        }

        let (layers, codes): (Vec<&str>, Vec<&str>) = plan
            .deletes()
            .map(|k| (k.layer.id(), k.code.as_str()))
            .unzip();
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
            let (mut layer, mut code, mut action) = (Vec::new(), Vec::new(), Vec::new());
            let (mut old, mut new) = (StateColumns::default(), StateColumns::default());
            for step in steps {
                layer.push(step.key.layer.id());
                code.push(step.key.code.as_str());
                action.push(step.action.as_str());
                old.push(step.old.as_ref());
                new.push(step.new.as_ref());
            }
            sqlx::query(include_str!("postgis/insert_revisions.sql"))
                .bind(changeset.id)
                .bind(changeset.author.as_str())
                .bind(changeset.message.as_str())
                .bind(changeset.at)
                .bind(layer)
                .bind(code)
                .bind(action)
                .bind(old.version)
                .bind(old.name)
                .bind(old.parent)
                .bind(old.properties)
                .bind(old.geom)
                .bind(new.version)
                .bind(new.name)
                .bind(new.parent)
                .bind(new.properties)
                .bind(new.geom)
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

/// Feature rows as one array per column, for `unnest`.
#[derive(Default)]
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
    fn push(&mut self, r: &'a FeatureRow) {
        self.layer.push(&r.layer);
        self.code.push(&r.code);
        self.name.push(&r.name);
        self.parent.push(r.parent.as_deref());
        self.properties.push(&r.properties);
        self.geom.push(&r.geom);
        self.version.push(r.version);
    }
}

/// One side (old or new) of revision rows as one array per column, NULL where there is no state.
#[derive(Default)]
struct StateColumns<'a> {
    version: Vec<Option<i64>>,
    name: Vec<Option<&'a str>>,
    parent: Vec<Option<&'a str>>,
    properties: Vec<Option<&'a str>>,
    geom: Vec<Option<&'a [u8]>>,
}

impl<'a> StateColumns<'a> {
    fn push(&mut self, state: Option<&'a FeatureRow>) {
        self.version.push(state.map(|s| s.version));
        self.name.push(state.map(|s| s.name.as_str()));
        self.parent.push(state.and_then(|s| s.parent.as_deref()));
        self.properties.push(state.map(|s| s.properties.as_str()));
        self.geom.push(state.map(|s| s.geom.as_slice()));
    }
}
