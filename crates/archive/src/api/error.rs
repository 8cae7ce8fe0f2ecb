//! The one error type of the HTTP layer, and its one mapping to responses:
//! JSON `{"error": {"code", "message"}}` (plus `field` when one field is at
//! fault) with the matching status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use archive_db::DbError;
use archive_db::sync::protocol::{
    BOOTSTRAP_REQUIRED, INSUFFICIENT_STORAGE, PUSH_QUOTA, READ_ONLY_KEY, UPLOAD_QUOTA,
};

use crate::services::ServiceError;
use crate::services::imports::ImportRequestError;
use crate::sync::accounts::ForwardError;
use crate::sync::files::FilesError;
use crate::sync::master::MasterError;
use archive_media::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after_secs: None }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: a field is missing, of the wrong type, unknown or out of range.
    pub fn invalid(field: Option<&str>, message: impl Into<String>) -> Self {
        let mut err = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        err.field = field.map(str::to_owned);
        err
    }

    pub fn too_many(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed attempts; try again in {retry_after_secs} s"),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500. The cause goes to the log, not to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::NotFound => ApiError::not_found("record"),
            DbError::Duplicate(_) => ApiError::conflict("a record with the same unique value already exists"),
            DbError::MissingReference(_) => ApiError::invalid(None, "a referenced record does not exist"),
            DbError::Forbidden(message) => ApiError::forbidden(&message),
            err @ DbError::Unavailable(_) => {
                tracing::warn!(error = %err, "a request met a database that cannot take it");
                let mut e = ApiError::unavailable(err.to_string());
                e.retry_after_secs = Some(30);
                e
            }
            DbError::Invalid { field, message } => ApiError::invalid(field.as_deref(), message),
            other => ApiError::internal(other),
        }
    }
}

/// The services' errors as the API answers them (the web pages have their
/// own mapping, in `web`).
impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        use ServiceError as E;
        match err {
            E::Db(e) => e.into(),
            E::Invalid { field, message } => ApiError::invalid(field, message),
            E::NotFound(what) => ApiError::not_found(what),
            E::Forbidden(message) => ApiError::forbidden(&message),
            E::Conflict(message) => ApiError::conflict(message),
            E::MasterOnly(message) => ApiError::new(StatusCode::CONFLICT, "master_only", message),
            E::WrongCredentials => ApiError::unauthorized("wrong email or password"),
            E::Throttled(wait) => ApiError::too_many(wait.as_secs()),
            E::Master(e) => e.into(),
            E::Import(e) => e.into(),
            E::SyncNotConfigured(message) => {
                ApiError::new(StatusCode::CONFLICT, "sync_not_configured", message)
            }
            E::SyncStopped(message) => ApiError::new(StatusCode::CONFLICT, "sync_stopped", message),
            E::SyncFailed(message) => ApiError::new(StatusCode::BAD_GATEWAY, "sync_failed", message),
            e @ E::NotMaster => ApiError::new(StatusCode::CONFLICT, "not_master", e.to_string()),
            e @ E::SyncHeld { .. } => held(&e),
            E::Internal(cause) => ApiError::internal(cause),
        }
    }
}

/// 503 to a slave while its master's operator holds sync: come back later.
fn held(e: &ServiceError) -> ApiError {
    let stopped = matches!(e, ServiceError::SyncHeld { stopped: true, .. });
    let (code, retry_after) = if stopped { ("sync_stopped", 300) } else { ("sync_paused", 60) };
    let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, e.to_string());
    error.retry_after_secs = Some(retry_after);
    error
}

impl From<MasterError> for ApiError {
    fn from(err: MasterError) -> Self {
        match err {
            e @ MasterError::BootstrapRequired(_) => {
                ApiError::new(StatusCode::GONE, BOOTSTRAP_REQUIRED, e.to_string())
            }
            e @ MasterError::ReadOnlyKey => {
                ApiError::new(StatusCode::FORBIDDEN, READ_ONLY_KEY, e.to_string())
            }
            MasterError::UnknownTable => ApiError::not_found("synced table"),
            MasterError::LowOnSpace(e) => e.into(),
            e @ MasterError::PushQuotaUsed { retry_after_secs, .. } => {
                let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, PUSH_QUOTA, e.to_string());
                error.retry_after_secs = Some(retry_after_secs);
                error
            }
            other => ServiceError::from(other).into(),
        }
    }
}

impl From<FilesError> for ApiError {
    fn from(err: FilesError) -> Self {
        match err {
            FilesError::Master(e) => e.into(),
            FilesError::Db(e) => e.into(),
            FilesError::Invalid { field, message } => ApiError::invalid(Some(field), message),
            e @ FilesError::WrongOffset { .. } => {
                ApiError::new(StatusCode::CONFLICT, "wrong_offset", e.to_string())
            }
            e @ FilesError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
            }
            e @ FilesError::QuotaUsed { retry_after_secs, .. } => {
                let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, UPLOAD_QUOTA, e.to_string());
                error.retry_after_secs = Some(retry_after_secs);
                error
            }
            FilesError::Store(e) => e.into(),
        }
    }
}

/// The content store's errors, for uploads through the API and from slaves.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::TooLarge { limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the upload is larger than the limit of {} MiB (ARCHIVE_MAX_UPLOAD_MB)",
                    limit / (1024 * 1024)
                ),
            ),
            e @ StoreError::NotAudio { .. } => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", e.to_string())
            }
            e @ StoreError::Damaged { .. } => ApiError::invalid(Some("file"), e.to_string()),
            e @ StoreError::HashMismatch => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch", e.to_string())
            }
            e @ StoreError::Busy => ApiError::new(StatusCode::CONFLICT, "upload_busy", e.to_string()),
            e @ StoreError::TooManyParts(_) => {
                let mut error =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_uploads", e.to_string());
                error.retry_after_secs = Some(60);
                error
            }
            e @ StoreError::LowOnSpace { .. } => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                INSUFFICIENT_STORAGE,
                format!("{e} (ARCHIVE_MIN_FREE_GB)"),
            ),
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                ApiError::unavailable("the server's disk is full: the upload cannot be stored")
            }
            StoreError::Io(e) => ApiError::internal(e),
        }
    }
}

impl From<ForwardError> for ApiError {
    fn from(e: ForwardError) -> Self {
        match e {
            ForwardError::Unreachable(_) => {
                let mut error =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "master_unreachable", e.to_string());
                error.retry_after_secs = Some(60);
                error
            }
            ForwardError::WrongPassword => ApiError::invalid(Some("current_password"), e.to_string()),
            ForwardError::Refused { status, field, message, .. } => {
                let mut error =
                    ApiError::new(status, "master_refused", format!("the master refused: {message}"));
                error.field = field;
                error
            }
        }
    }
}

impl From<ImportRequestError> for ApiError {
    fn from(e: ImportRequestError) -> Self {
        match e {
            ImportRequestError::Busy => ApiError::conflict(e.to_string()),
            ImportRequestError::NoRoots | ImportRequestError::OutsideRoots(_) => {
                ApiError::invalid(Some("path"), e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
