//! How `archive serve` takes connections, over HTTP and HTTPS alike.
//!
//! A public master meets clients that mean harm: ones that open connections
//! and send nothing, send headers or a body a byte at a time, or open more
//! connections than the process has file descriptors. Each costs a bounded
//! amount here and never starves the others:
//!
//! - at most `ARCHIVE_MAX_CONNECTIONS` connections are served at once; more
//!   wait in the kernel's listen queue until one closes, and those already
//!   served go on as before;
//! - a request's headers must arrive within `ARCHIVE_HEADER_TIMEOUT`, which
//!   also closes a kept-alive connection that stays idle that long;
//! - a request body may not pause longer than `ARCHIVE_BODY_TIMEOUT`;
//! - a request may take `ARCHIVE_REQUEST_TIMEOUT`, except those that are
//!   long by nature (streams and downloads to a slow listener, uploads,
//!   sync's own bounded requests).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::api::error::ApiError;
use crate::config::TransportLimits;

/// How long a stopping server waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Routes whose requests may last longer than the request time limit.
/// Streams and downloads serve slow listeners, uploads carry large bodies
/// (their pauses are limited instead), and sync's requests have their own
/// time limits (`SYNC_OPERATION_TIMEOUT`, the connection test's timeouts).
const LONG_ROUTES: &[(Method, &str)] = &[
    (Method::GET, "/api/v1/songs/{id}/stream"),
    (Method::GET, "/api/v1/songs/{id}/download"),
    (Method::POST, "/api/v1/songs"),
    // A slave's upload piece (up to 8 MiB on a slow link), and a slave
    // fetching a whole file from its master when an admin asks.
    (Method::PATCH, "/api/v1/sync/files/{sha256}"),
    (Method::POST, "/api/v1/sync/files/fetch"),
    (Method::POST, "/api/v1/sync/now"),
    // A slave's long-poll, held up to 25 s (`wait`).
    (Method::GET, "/api/v1/sync/changes"),
    (Method::POST, "/sync/now"),
    (Method::POST, "/settings/sync/test"),
];

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (for at most 30 s).
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: TransportLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = app.layer(axum::middleware::from_fn_with_state(limits.request_timeout, request_deadline));
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // A free place first, then a connection: at the cap, new clients
        // wait in the listen queue rather than take a descriptor here.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = tower::ServiceBuilder::new()
            .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
            .service(app.clone())
            .map_request(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            "requests still running {} s after shutdown began; stopping anyway",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    Ok(())
}

/// Answers 503 when a request takes longer than the limit (see [`LONG_ROUTES`]).
///
/// A plain function that builds its future, so that a held long-poll
/// carries nothing of the request but the request itself.
fn request_deadline(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> impl Future<Output = Response> {
    let method = match *request.method() {
        Method::HEAD => Method::GET,
        ref other => other.clone(),
    };
    let long = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| LONG_ROUTES.iter().any(|(m, path)| *m == method && *path == p.as_str()));
    let response = next.run(request);
    async move {
        if long {
            return response.await;
        }
        match tokio::time::timeout(limit, response).await {
            Ok(response) => response,
            Err(_) => {
                let mut error = ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    format!("the request took longer than {} s (ARCHIVE_REQUEST_TIMEOUT)", limit.as_secs()),
                );
                error.retry_after_secs = Some(5);
                error.into_response()
            }
        }
    }
}

/// The number of files this process may have open (its soft limit), if
/// the system says.
pub fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The connection cap in force: the setting, kept far enough below the
/// open-file limit that the database, the audio files and the listening
/// socket always have descriptors left, and (with `tls`) so have the
/// connections the TLS listener holds before the server takes them.
pub fn connection_cap(setting: usize, tls: bool) -> usize {
    let spare = 128 + if tls { crate::tls::PENDING_CONNECTIONS } else { 0 };
    match open_file_limit() {
        Some(files) if setting + spare > files => {
            let cap = files.saturating_sub(spare).max(8);
            tracing::warn!(
                setting,
                open_file_limit = files,
                cap,
                "ARCHIVE_MAX_CONNECTIONS is near the open-file limit (ulimit -n); serving at most {cap} connections"
            );
            cap
        }
        _ => setting,
    }
}
