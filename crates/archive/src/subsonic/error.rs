//! [`SubsonicError`]: a refusal as the Subsonic API reports it, with its
//! standard code, inside an HTTP 200 answer.

use archive_db::DbError;

use super::answer::{Envelope, Node};
use crate::services::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum SubsonicError {
    /// Code 0: anything else, including a method Archive does not offer.
    #[error("{0}")]
    Generic(String),
    /// Code 10.
    #[error("required parameter is missing: {0}")]
    MissingParameter(&'static str),
    /// Code 40.
    #[error("wrong username or password")]
    WrongCredentials,
    /// Code 41.
    #[error("token authentication needs an app password: make one on your Profile page")]
    TokenNotSupported,
    /// Code 42.
    #[error("{0}")]
    MechanismNotSupported(&'static str),
    /// Code 43.
    #[error("give either u with p or t and s, or apiKey, not both")]
    ConflictingCredentials,
    /// Code 44.
    #[error("invalid API key")]
    InvalidApiKey,
    /// Code 50.
    #[error("{0}")]
    NotAuthorized(String),
    /// Code 70.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A parameter with a value that cannot be used (code 0, naming it).
    #[error("{name}: {message}")]
    BadParameter { name: &'static str, message: String },
    #[error("internal error")]
    Internal,
}

impl SubsonicError {
    pub fn code(&self) -> i64 {
        match self {
            SubsonicError::Generic(_) | SubsonicError::BadParameter { .. } | SubsonicError::Internal => 0,
            SubsonicError::MissingParameter(_) => 10,
            SubsonicError::WrongCredentials => 40,
            SubsonicError::TokenNotSupported => 41,
            SubsonicError::MechanismNotSupported(_) => 42,
            SubsonicError::ConflictingCredentials => 43,
            SubsonicError::InvalidApiKey => 44,
            SubsonicError::NotAuthorized(_) => 50,
            SubsonicError::NotFound(_) => 70,
        }
    }

    pub fn envelope(&self) -> Envelope {
        let error = Node::new().attr("code", self.code()).attr("message", self.to_string());
        Envelope { ok: false, body: Node::new().child("error", error) }
    }
}

impl From<DbError> for SubsonicError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => SubsonicError::NotFound("item"),
            DbError::Invalid { message, .. } => SubsonicError::Generic(message),
            other => {
                tracing::error!(error = %other, "subsonic: database error");
                SubsonicError::Internal
            }
        }
    }
}

impl From<ServiceError> for SubsonicError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Db(e) => e.into(),
            ServiceError::NotFound(what) => SubsonicError::NotFound(what),
            ServiceError::Forbidden(message) => SubsonicError::NotAuthorized(message),
            ServiceError::WrongCredentials => SubsonicError::WrongCredentials,
            ServiceError::Throttled(wait) => {
                SubsonicError::Generic(format!("too many failed attempts; try again in {} s", wait.as_secs()))
            }
            other => SubsonicError::Generic(other.to_string()),
        }
    }
}
