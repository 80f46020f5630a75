//! The HTTP/1.1 connection loop, in place of `axum::serve`, which sets no timer: with it a client
//! that sends half a request line, or opens a connection and says nothing, held it forever
//! (1,000 of them stayed 60 s), and a graceful shutdown waited for every one of them.
//!
//! Here every connection has a deadline for the next request's head (which also closes idle
//! keep-alive connections), and after the shutdown signal the open connections finish their
//! requests within [`Limits::shutdown_grace`], then the loop returns regardless.

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Connection deadlines.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's head, and how long a kept-alive
    /// connection may stay idle.
    pub header_timeout: Duration,
    /// How long open connections get to finish after the shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Serve `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            // The peer's address for the handlers (sign-in limits per address), as axum's
            // `into_make_service_with_connect_info` would give it.
            let app = tower::ServiceExt::map_request(
                app,
                move |mut r: hyper::Request<hyper::body::Incoming>| {
                    r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                    r
                },
            );
            let service = TowerToHyperService::new(app);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
        // Forget the connections that ended.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = tasks.len();
    if open > 0 {
        tracing::info!(connections = open, "finishing open connections");
    }
    let finished = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            "connections still open after the grace period; closed"
        );
        tasks.abort_all();
    }
    Ok(())
}
