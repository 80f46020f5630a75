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

/// How long one attempt to reach the database for LISTEN may take, and the pause between
/// attempts: together they bound how soon after a database outage the follower is back (a
/// second or two), where sqlx's own reconnect waits out a backoff of up to a fifth of the pool's
/// acquire timeout.
const LISTEN_CONNECT: Duration = Duration::from_secs(2);
const LISTEN_RETRY: Duration = Duration::from_millis(500);

/// Listen for other processes' commits on a PostgreSQL database and refresh on each. After every
/// (re)connection the snapshot is refreshed once, for whatever was committed while nobody
/// listened: announcements made during an outage are lost, and with the poll turned off nothing
/// else would bring those commits in.
pub fn spawn_listener(state: AppState, pool: sqlx::PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (mut listened, mut warned) = (false, false);
        loop {
            let attempt = tokio::time::timeout(LISTEN_CONNECT, async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                // A lost connection ends `try_recv` with `None` instead of being re-established
                // inside it, which `recv` does without a word (and without the refresh below).
                listener.eager_reconnect(false);
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            })
            .await;
            let failure = match attempt {
                Ok(Ok(mut listener)) => {
                    if listened {
                        tracing::info!("listening for {CHANNEL} again");
                    }
                    (listened, warned) = (true, false);
                    follow(&state, &mut listener).await;
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no answer within {LISTEN_CONNECT:?}")),
            };
            if let Some(error) = failure {
                // Once per outage at warn level, not at every attempt.
                if warned {
                    tracing::debug!(%error, "cannot LISTEN; retrying");
                } else {
                    tracing::warn!(%error, "cannot LISTEN; retrying");
                    warned = true;
                }
            }
            tokio::time::sleep(LISTEN_RETRY).await;
        }
    })
}

/// Refresh once (whatever was committed before LISTEN took effect), then on every announcement
/// newer than the snapshot, until the connection is lost or a refresh fails (the caller then
/// connects again and refreshes again).
async fn follow(state: &AppState, listener: &mut sqlx::postgres::PgListener) {
    if let Err(e) = refresh(state).await {
        tracing::warn!(error = %e, "refresh after LISTEN failed");
        return;
    }
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                let newer = n
                    .payload()
                    .parse::<i64>()
                    .map_or(true, |v| v > state.snapshot.current().data_version);
                if newer && let Err(e) = refresh(state).await {
                    tracing::warn!(error = %e, "refresh after NOTIFY failed");
                    return;
                }
            }
            Ok(None) => {
                tracing::warn!("LISTEN connection lost");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection lost");
                return;
            }
        }
    }
}
