//! Shared by the benchmarks that measure beside PostGIS: a fresh database holding the demo.

// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod tile_sql;

use std::sync::Arc;

use gridmap::model::ChangeSet;
use gridmap::snapshot::Snapshot;
use gridmap::store::{self, Store, StoreConfig};

/// The PostgreSQL server to measure against (`DATABASE_URL`, else the local default).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of database `db` on the server of `url`.
pub fn database_in(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{db}")
}

/// Drop and create database `db` on the server of `url`; returns its URL. The name is the
/// bench's own constant (identifiers cannot be bound).
pub async fn fresh_database(url: &str, db: &str) -> String {
    use sqlx::Executor;
    let admin = sqlx::PgPool::connect(url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await
        .expect("drop the bench database");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create the bench database");
    admin.close().await;
    database_in(url, db)
}

/// A fresh database `db` on the server of `url` holding every feature of `snapshot`, loaded
/// through the PostGIS store and ANALYZEd; returns the store with a pool on that database.
pub async fn postgis_with(
    url: &str,
    db: &str,
    snapshot: &Snapshot,
) -> (Arc<dyn Store>, sqlx::PgPool) {
    use sqlx::Executor;
    let db_url = fresh_database(url, db).await;
    let store = store::open(&StoreConfig::Postgis {
        url: db_url.clone(),
    })
    .await
    .expect("open the PostGIS store");
    let drafts = snapshot.features().iter().map(|f| f.clone().into());
    store
        .commit(ChangeSet::upserts("bench", "bench", drafts, None))
        .await
        .expect("load the demo into PostGIS");
    let pool = sqlx::PgPool::connect(&db_url).await.expect("connect");
    pool.execute("ANALYZE features").await.expect("analyze");
    (store, pool)
}
