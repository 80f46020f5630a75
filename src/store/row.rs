//! Rows as both stores read and write them, and their conversion to and from the model.
//!
//! Both backends select the same column names (properties as JSON text, geometry as bytes in the
//! store's [`GeomFormat`]), so one decoder serves both and a corrupt row fails the same way in
//! each: [`StoreError::Corrupt`] naming the feature or revision.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::StoreError;
use super::plan::ChangeSetInfo;
use super::wkb::GeomFormat;
use crate::model::{Action, Feature, FeatureKey, Layer, Properties, Revision};

/// A current feature as stored: `layer, code, name, parent, properties, geom, version`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FeatureRow {
    pub layer: String,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    /// A JSON object.
    pub properties: String,
    pub geom: Vec<u8>,
    pub version: i64,
}

impl FeatureRow {
    /// The row that stores `feature`.
    pub(crate) fn encode(feature: &Feature, format: GeomFormat) -> Result<FeatureRow, StoreError> {
        let unwritable = |detail: String| StoreError::Corrupt {
            what: format!("feature {}", feature.key()),
            detail,
        };
        Ok(FeatureRow {
            layer: feature.layer.id().to_string(),
            code: feature.code.clone(),
            name: feature.name.clone(),
            parent: feature.parent.clone(),
            properties: serde_json::to_string(&feature.properties)
                .map_err(|e| unwritable(format!("properties: {e}")))?,
            geom: format
                .encode(&feature.geometry)
                .map_err(|e| unwritable(format!("geometry: {e}")))?,
            version: feature.version,
        })
    }

    /// The feature in this row.
    pub(crate) fn decode(&self, format: GeomFormat) -> Result<Feature, StoreError> {
        let what = || format!("feature {}/{}", self.layer, self.code);
        decode_state(&self.layer, &self.code, self.state(), format, what)
    }

    pub(crate) fn key(&self) -> Result<FeatureKey, StoreError> {
        Ok(FeatureKey {
            layer: parse_layer(&self.layer, || {
                format!("feature {}/{}", self.layer, self.code)
            })?,
            code: self.code.clone(),
        })
    }

    fn state(&self) -> State<'_> {
        State {
            version: self.version,
            name: &self.name,
            parent: self.parent.as_deref(),
            properties: &self.properties,
            geom: &self.geom,
        }
    }
}

/// How many rows [`decode_stream`] decodes at a time (in parallel).
const DECODE_CHUNK: usize = 8192;

/// Decode rows as the database streams them, a chunk at a time on every core, appending to
/// `out`. The raw rows of a large store are never all held beside the features they become,
/// which halves the peak memory of a city-scale load. While one chunk is decoded (on the blocking
/// pool, with rayon) the next is read, so reading and decoding overlap. Callers sort `out` at the
/// end ([`sort_features`]).
pub(crate) async fn decode_stream<S>(
    mut rows: S,
    format: GeomFormat,
    out: &mut Vec<Feature>,
) -> Result<(), StoreError>
where
    S: futures_util::Stream<Item = Result<FeatureRow, sqlx::Error>> + Unpin,
{
    use futures_util::TryStreamExt;
    type Decoding = tokio::task::JoinHandle<Vec<Result<Feature, StoreError>>>;
    // Results are taken in chunk order and row order, so that when several rows are bad the one
    // reported is always the first in table order, never whichever thread lost a race.
    async fn take(pending: Option<Decoding>, out: &mut Vec<Feature>) -> Result<(), StoreError> {
        let Some(pending) = pending else {
            return Ok(());
        };
        let decoded = pending.await.map_err(|e| StoreError::Corrupt {
            what: "feature rows".into(),
            detail: format!("decoding failed: {e}"),
        })?;
        out.reserve(decoded.len());
        for feature in decoded {
            out.push(feature?);
        }
        Ok(())
    }
    let mut pending: Option<Decoding> = None;
    let mut chunk = Vec::with_capacity(DECODE_CHUNK);
    loop {
        let row = rows.try_next().await?;
        let end = row.is_none();
        chunk.extend(row);
        if chunk.len() == DECODE_CHUNK || (end && !chunk.is_empty()) {
            let rows = std::mem::replace(&mut chunk, Vec::with_capacity(DECODE_CHUNK));
            let next = tokio::task::spawn_blocking(move || {
                use rayon::prelude::*;
                rows.par_iter().map(|r| r.decode(format)).collect()
            });
            take(pending.replace(next), out).await?;
        }
        if end {
            return take(pending, out).await;
        }
    }
}

/// Sort features in the order [`super::Store::load`] promises.
pub(crate) fn sort_features(features: &mut [Feature]) {
    use rayon::prelude::*;
    features.par_sort_unstable_by(|a, b| (a.layer, &a.code).cmp(&(b.layer, &b.code)));
}

/// One revision as stored: who, when, why, and the states before and after (all `old_*` or all
/// `new_*` columns NULL where there is no such state).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RevisionRow {
    pub id: i64,
    pub changeset: i64,
    pub layer: String,
    pub code: String,
    pub action: String,
    pub author: String,
    pub message: String,
    pub at: DateTime<Utc>,
    pub old_version: Option<i64>,
    pub old_name: Option<String>,
    pub old_parent: Option<String>,
    pub old_properties: Option<String>,
    pub old_geom: Option<Vec<u8>>,
    pub new_version: Option<i64>,
    pub new_name: Option<String>,
    pub new_parent: Option<String>,
    pub new_properties: Option<String>,
    pub new_geom: Option<Vec<u8>>,
}

impl RevisionRow {
    pub(crate) fn decode(&self, format: GeomFormat) -> Result<Revision, StoreError> {
        let what = || format!("revision {} ({}/{})", self.id, self.layer, self.code);
        let layer = parse_layer(&self.layer, what)?;
        let action = self
            .action
            .parse::<Action>()
            .map_err(|detail| StoreError::Corrupt {
                what: what(),
                detail,
            })?;
        let state = |side: &str,
                     version: Option<i64>,
                     name: &Option<String>,
                     parent: &Option<String>,
                     properties: &Option<String>,
                     geom: &Option<Vec<u8>>|
         -> Result<Option<Feature>, StoreError> {
            match (version, name, properties, geom) {
                (None, None, None, None) => Ok(None),
                (Some(version), Some(name), Some(properties), Some(geom)) => {
                    let state = State {
                        version,
                        name,
                        parent: parent.as_deref(),
                        properties,
                        geom,
                    };
                    decode_state(&self.layer, &self.code, state, format, what).map(Some)
                }
                _ => Err(StoreError::Corrupt {
                    what: what(),
                    detail: format!("the {side} state is incomplete"),
                }),
            }
        };
        let old = state(
            "old",
            self.old_version,
            &self.old_name,
            &self.old_parent,
            &self.old_properties,
            &self.old_geom,
        )?;
        let new = state(
            "new",
            self.new_version,
            &self.new_name,
            &self.new_parent,
            &self.new_properties,
            &self.new_geom,
        )?;
        Ok(Revision {
            id: self.id,
            changeset: self.changeset,
            key: FeatureKey {
                layer,
                code: self.code.clone(),
            },
            action,
            author: self.author.clone(),
            message: self.message.clone(),
            at: self.at,
            old,
            new,
        })
    }
}

/// The stored columns of one state of a feature.
struct State<'a> {
    version: i64,
    name: &'a str,
    parent: Option<&'a str>,
    properties: &'a str,
    geom: &'a [u8],
}

fn decode_state(
    layer: &str,
    code: &str,
    state: State<'_>,
    format: GeomFormat,
    what: impl Fn() -> String,
) -> Result<Feature, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        what: what(),
        detail,
    };
    let properties = serde_json::from_str::<Properties>(state.properties)
        .map_err(|e| corrupt(format!("properties are not a JSON object: {e}")))?;
    let geometry = format
        .decode(state.geom)
        .map_err(|e| corrupt(format!("geometry: {e}")))?;
    Ok(Feature {
        layer: parse_layer(layer, &what)?,
        code: code.to_string(),
        name: state.name.to_string(),
        parent: state.parent.map(str::to_string),
        properties,
        geometry,
        version: state.version,
    })
}

fn parse_layer(layer: &str, what: impl Fn() -> String) -> Result<Layer, StoreError> {
    layer
        .parse()
        .map_err(|e: crate::model::UnknownLayer| StoreError::Corrupt {
            what: what(),
            detail: e.to_string(),
        })
}

/// Queries whose SQL is the same in both stores (SQLite reads `$N` placeholders too), generic
/// over the database so that each backend runs them on its pool or inside its transaction.
pub(crate) struct Queries<DB>(PhantomData<DB>);

impl<DB> Queries<DB>
where
    DB: Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    /// The store's data version: the largest revision id, 0 when there is none.
    pub(crate) async fn data_version<'e>(
        executor: impl Executor<'e, Database = DB>,
    ) -> Result<i64, StoreError> {
        let version = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM gridmap_revisions")
            .fetch_one(executor)
            .await?;
        Ok(version)
    }

    /// The data version at `at`: the largest revision id of the change sets committed by then
    /// (0 before the first). Change sets are few (one per import or edit), so their times are
    /// compared here rather than in SQL, where SQLite would compare timestamps as text.
    pub(crate) async fn version_at(
        pool: &sqlx::Pool<DB>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'r> (i64, DateTime<Utc>): FromRow<'r, DB::Row>,
        for<'r> (i64, DateTime<Utc>): Send + Unpin,
    {
        let sets: Vec<(i64, DateTime<Utc>)> =
            sqlx::query_as("SELECT id, at FROM gridmap_changesets ORDER BY id")
                .fetch_all(pool)
                .await?;
        let Some(last) = sets
            .iter()
            .filter(|(_, t)| *t <= at)
            .map(|(id, _)| *id)
            .max()
        else {
            return Ok(0);
        };
        let version = sqlx::query_scalar(
            "SELECT COALESCE(MAX(id), 0) FROM gridmap_revisions WHERE changeset <= $1",
        )
        .bind(last)
        .fetch_one(pool)
        .await?;
        Ok(version)
    }

    /// Record a change set; its id.
    pub(crate) async fn insert_changeset<'e>(
        executor: impl Executor<'e, Database = DB>,
        changeset: &ChangeSetInfo,
    ) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO gridmap_changesets (author, message, at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(changeset.author.clone())
        .bind(changeset.message.clone())
        .bind(changeset.at)
        .fetch_one(executor)
        .await?;
        Ok(id)
    }

    /// Revisions of `key` (or all), `id > after`, oldest first, at most `limit`.
    ///
    /// `columns` is the backend's select list in [`RevisionRow`] order: the stores differ only
    /// in how they read JSON and geometry columns.
    pub(crate) async fn revisions<'e>(
        executor: impl Executor<'e, Database = DB>,
        columns: &str,
        key: Option<&FeatureKey>,
        after: i64,
        limit: i64,
        format: GeomFormat,
    ) -> Result<Vec<Revision>, StoreError> {
        let filter = if key.is_some() {
            "AND layer = $3 AND code = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {columns} FROM gridmap_revisions WHERE id > $1 {filter} ORDER BY id LIMIT $2"
        );
        let mut query = sqlx::query_as::<DB, RevisionRow>(&sql)
            .bind(after)
            .bind(limit.max(0));
        if let Some(key) = key {
            query = query
                .bind(key.layer.id().to_string())
                .bind(key.code.clone());
        }
        let rows = query.fetch_all(executor).await?;
        rows.iter().map(|r| r.decode(format)).collect()
    }
}
