//! Keeping the snapshot in step with the store: after our own commits, when another process
//! commits (PostgreSQL `LISTEN gridmap_changes`), and on a periodic data-version poll (the safety
//! net, and the only signal between processes sharing a GeoPackage file).
//!
//! The new snapshot is the old one's features with the revisions committed since replayed onto
//! them ([`crate::views::catch_up`]), which is right whoever committed (this process, another
//! one, an import) because the revision log is append-only and ordered; when too many revisions
//! piled up, the whole store is read again instead. Either way every index is rebuilt: the
//! README's store benchmark measures both on the city set.

use std::time::Duration;

use super::AppState;
use super::error::ApiError;
use crate::snapshot::Snapshot;

/// The PostgreSQL channel commits are announced on; the payload is the new data version.
pub const CHANNEL: &str = "gridmap_changes";

/// Reload and publish the snapshot when the store's data version differs from the published one.
/// One refresh runs at a time; a refresh never publishes an older snapshot over a newer one.
pub async fn refresh(state: &AppState) -> Result<(), ApiError> {
    let _one_at_a_time = state.edit.refresh.lock().await;
    let stored = state.store.data_version().await?;
    if stored == state.snapshot.current().data_version {
        return Ok(());
    }
    let current = state.snapshot.current();
    let snapshot = match crate::views::catch_up(state.store.as_ref(), current).await? {
        Some(s) => s,
        None => Snapshot::load(state.store.as_ref()).await?,
    };
    if snapshot.data_version >= state.snapshot.current().data_version {
        tracing::info!(data_version = snapshot.data_version, "snapshot published");
        super::metrics::snapshot_published(snapshot.data_version);
        state.snapshot.publish(snapshot);
        // Handing the build's scratch memory back is housekeeping: never on an async worker, never
        // under the refresh lock, never waiting for a report to give back rayon's threads.
        drop(_one_at_a_time);
        tokio::task::spawn_blocking(crate::snapshot::release_free_memory);
    }
    Ok(())
}

/// After a commit: publish it, and when that fails say so in the log and let the poll publish
/// it later. The write is saved either way, so the client must hear that it was (an error would
/// make it retry into a 412).
pub async fn publish_after_commit(state: &AppState) {
    if let Err(e) = refresh(state).await {
        tracing::warn!(error = %e, "saved, but the snapshot could not be refreshed; the poll will retry");
    }
}

/// Poll the data version every `every` and refresh when it moved; runs until the runtime stops.
pub fn spawn_poll(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = refresh(&state).await {
                tracing::warn!(error = %e, "data-version poll failed");
            }
        }
    })
}

/// Delete expired sessions every `every` (sign-ins also delete them as they go).
pub fn spawn_session_sweep(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Some(auth) = state.store.auth() else {
                return;
            };
            match auth.delete_expired_sessions(chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "cannot delete expired sessions"),
            }
        }
    })
}

/// Listen for other processes' commits on a PostgreSQL database and refresh on each; reconnects
/// after a lost connection (the poll covers what was missed meanwhile).
pub fn spawn_listener(state: AppState, pool: sqlx::PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        // Whatever happened before LISTEN took effect.
                        let _ = refresh(&state).await;
                        loop {
                            match listener.recv().await {
                                Ok(n) => {
                                    let newer = n.payload().parse::<i64>().map_or(true, |v| {
                                        v > state.snapshot.current().data_version
                                    });
                                    if newer && let Err(e) = refresh(&state).await {
                                        tracing::warn!(error = %e, "refresh after NOTIFY failed");
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "LISTEN connection lost");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot connect to LISTEN"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
