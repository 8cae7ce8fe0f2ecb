//! [`SyncError`]: why a slave's sync cycle failed, and so what the worker
//! does next. Every part of the slave's side (the client, the keys, the
//! engine) answers with it; it depends on none of them.

use std::time::Duration;

use archive_db::DbError;

use super::keys::KeyStoreError;

/// Why a cycle failed, and so what the worker does next.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("sync is not configured: {0}")]
    NotConfigured(&'static str),
    #[error("sync is stopped: {0}")]
    Stopped(String),
    #[error("no slave key is set on this node (archive sync set-key)")]
    NoKey,
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    #[error("the master refused the slave key: {0}")]
    Unauthorized(String),
    /// The key pulls and never pushes: local changes stay on this node.
    #[error("the slave key is read-only: this node's own changes are not pushed")]
    ReadOnlyKey,
    #[error("the master cannot continue from this node's cursor; a bootstrap is needed")]
    BootstrapRequired,
    #[error("the master is not reachable: {0}")]
    Unreachable(String),
    /// This node's own TLS set-up (the CA file it should trust) is wrong.
    #[error("TLS: {0}")]
    Tls(String),
    /// The master answered, but its certificate is not trusted (or the
    /// handshake failed).
    #[error("the master's certificate is not accepted: {0}")]
    Certificate(String),
    #[error("the master did not answer in time")]
    Timeout,
    #[error("the master asks to retry after {} s", .0.as_secs())]
    RetryAfter(Duration),
    /// The master takes no more from this node for now: its daily upload
    /// quota for the key is used, or its disk is nearly full. The push
    /// waits; the pull goes on.
    #[error("the master takes no more from this node now: {0}")]
    NotTakenNow(String),
    #[error("the master answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("local database: {0}")]
    Db(#[from] DbError),
}
