//! What the JSON API and the web pages both do, apart from HTTP: accounts
//! and sessions, playlist permissions, writes to the library on behalf of a
//! user. Functions here take the [`AppState`](crate::state::AppState) and
//! plain values and return [`ServiceError`]; `api::error` and `web` each
//! map it to a response in one place. Nothing here knows of requests,
//! status codes or pages.
//!
//! `settings` (changing settings while the server runs) is a service too,
//! at the top level because start-up reads it before any service runs.

pub mod accounts;
pub mod apps;
pub mod imports;
pub mod library;
pub mod pins;
pub mod playlists;
pub mod sessions;
pub mod sound;
pub mod subsonic_keys;
pub mod sync_admin;
pub mod transcode;

use std::time::Duration;

use archive_db::DbError;

use crate::services::imports::ImportRequestError;
use crate::sync::accounts::ForwardError;
use crate::sync::master::MasterError;

/// Why a service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// A value refused, naming the field at fault when there is one.
    #[error("{message}")]
    Invalid { field: Option<&'static str>, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// On a slave, what only the master does (deleting from the library,
    /// shared settings).
    #[error("{0}")]
    MasterOnly(String),
    #[error("wrong email or password")]
    WrongCredentials,
    /// Too many failed attempts: try again after this long.
    #[error("too many failed attempts; try again in {} s", .0.as_secs())]
    Throttled(Duration),
    /// A slave's account change, which the master makes, did not happen.
    #[error(transparent)]
    Master(#[from] ForwardError),
    #[error(transparent)]
    Import(#[from] ImportRequestError),
    /// Sync cannot run on this node as it is set up (not a slave, no key).
    #[error("{0}")]
    SyncNotConfigured(String),
    /// An operator stopped sync.
    #[error("{0}")]
    SyncStopped(String),
    /// A cycle ran and failed (the master, the network).
    #[error("{0}")]
    SyncFailed(String),
    /// A slave-key route on a node that is not a master.
    #[error("this node is not a sync master (ARCHIVE_ROLE)")]
    NotMaster,
    /// A master whose operator paused (`stopped`: emergency-stopped) sync.
    #[error("sync on the master: {reason}")]
    SyncHeld { stopped: bool, reason: String },
    /// Our own fault; the cause goes to the log, not to the client.
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid { field: Some(field), message: message.into() }
    }
}

impl From<MasterError> for ServiceError {
    fn from(e: MasterError) -> Self {
        match e {
            MasterError::NotMaster => ServiceError::NotMaster,
            MasterError::Held { stopped, reason } => ServiceError::SyncHeld { stopped, reason },
            MasterError::Db(e) => ServiceError::Db(e),
            MasterError::Invalid { field, message } => ServiceError::invalid(field, message),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
