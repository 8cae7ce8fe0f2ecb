//! The slave's HTTP client for its master: rustls, the configured connect
//! and read timeouts, gzip, the slave key as a bearer token. Every failure
//! becomes a [`SyncError`] that says whether to retry.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use archive_db::PushChange;
use archive_db::sync::protocol::BootstrapPage;

use super::error::SyncError;
use crate::config::SyncConfig;
use archive_db::sync::protocol::{
    ApplyRequest, ApplyResponse, BootstrapStart, ChangesResponse, FileObject, FilesBatch, FilesBatchAnswer,
    FilesOperation, INSUFFICIENT_STORAGE, PUSH_QUOTA, Ping, READ_ONLY_KEY, UPLOAD_QUOTA, UploadAnswer,
};

#[derive(Clone)]
pub struct MasterClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// An HTTP client for the master at `MASTER_ARCHIVE_URL`, and that URL:
/// rustls trusting `MASTER_CA_CERT` if set, HTTPS only unless
/// `SYNC_ALLOW_INSECURE`, the sync connect and read timeouts, gzip.
pub fn http_client(config: &SyncConfig) -> Result<(reqwest::Client, String), SyncError> {
    client_with_read_timeout(config, config.read_timeout)
}

/// The margin over a long-poll's wait before its read times out: the
/// master answers when the wait ends, plus the time to read the page.
pub const LONG_POLL_MARGIN: Duration = Duration::from_secs(10);

fn client_with_read_timeout(
    config: &SyncConfig,
    read_timeout: Duration,
) -> Result<(reqwest::Client, String), SyncError> {
    super::install_crypto_provider();
    let base = config.master_url.clone().ok_or(SyncError::NotConfigured("MASTER_ARCHIVE_URL is not set"))?;
    if base.starts_with("http://") && !config.allow_insecure {
        return Err(SyncError::NotConfigured(
            "MASTER_ARCHIVE_URL is http:// but SYNC_ALLOW_INSECURE is not set",
        ));
    }
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .read_timeout(read_timeout)
        .gzip(true)
        .https_only(!config.allow_insecure)
        .user_agent(concat!("archive/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &config.master_ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| SyncError::Tls(format!("cannot read MASTER_CA_CERT {}: {e}", path.display())))?;
        let ca = reqwest::Certificate::from_pem(&pem).map_err(|e| {
            SyncError::Tls(format!("MASTER_CA_CERT {} is not a PEM certificate: {e}", path.display()))
        })?;
        builder = builder.tls_certs_only([ca]);
    }
    let http = builder.build().map_err(|e| SyncError::Tls(e.to_string()))?;
    Ok((http, base))
}

impl MasterClient {
    pub fn new(config: &SyncConfig, key: String) -> Result<MasterClient, SyncError> {
        let (http, base) = http_client(config)?;
        Ok(MasterClient { http, base, key })
    }

    /// A client for long-polls that wait up to `wait`: its read timeout is
    /// the wait plus [`LONG_POLL_MARGIN`], so a held request is not taken
    /// for a dead master.
    pub fn for_long_polls(
        config: &SyncConfig,
        key: String,
        wait: Duration,
    ) -> Result<MasterClient, SyncError> {
        let read_timeout = config.read_timeout.max(wait + LONG_POLL_MARGIN);
        let (http, base) = client_with_read_timeout(config, read_timeout)?;
        Ok(MasterClient { http, base, key })
    }

    pub async fn ping(&self) -> Result<Ping, SyncError> {
        self.call(Method::GET, "/api/v1/sync/ping", &[], None::<&()>).await
    }

    /// A page of changes after `cursor`; `files_here` tells the master how
    /// many songs' files this slave holds (sent with a cycle's first page).
    pub async fn changes(
        &self,
        cursor: &str,
        limit: i64,
        files_here: Option<i64>,
    ) -> Result<ChangesResponse, SyncError> {
        let limit = limit.to_string();
        let files_here = files_here.map(|n| n.to_string());
        let mut query = vec![("cursor", cursor), ("limit", limit.as_str())];
        if let Some(n) = &files_here {
            query.push(("files_here", n));
        }
        self.call(Method::GET, "/api/v1/sync/changes", &query, None::<&()>).await
    }

    /// The changes after `cursor`; with none, the master holds the request
    /// up to `wait` and answers as soon as there are (a long-poll).
    pub async fn changes_waiting(
        &self,
        cursor: &str,
        limit: i64,
        wait: Duration,
    ) -> Result<ChangesResponse, SyncError> {
        let limit = limit.to_string();
        let wait = wait.as_secs().to_string();
        let query = [("cursor", cursor), ("limit", limit.as_str()), ("wait", wait.as_str())];
        self.call(Method::GET, "/api/v1/sync/changes", &query, None::<&()>).await
    }

    pub async fn apply(&self, changes: &[PushChange]) -> Result<ApplyResponse, SyncError> {
        let body = ApplyRequest { changes: changes.to_vec() };
        self.call(Method::POST, "/api/v1/sync/apply", &[], Some(&body)).await
    }

    pub async fn bootstrap_start(&self) -> Result<BootstrapStart, SyncError> {
        self.call(Method::POST, "/api/v1/sync/bootstrap", &[], None::<&()>).await
    }

    pub async fn bootstrap_page(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<BootstrapPage, SyncError> {
        let limit = limit.to_string();
        let after = after.map(|a| a.to_string());
        let mut query = vec![("limit", limit.as_str())];
        if let Some(after) = &after {
            query.push(("after", after));
        }
        self.call(Method::GET, &format!("/api/v1/sync/bootstrap/{table}"), &query, None::<&()>).await
    }

    /// Which of `objects` the master holds (download) or needs (upload).
    pub async fn files_batch(
        &self,
        operation: FilesOperation,
        objects: Vec<FileObject>,
    ) -> Result<FilesBatchAnswer, SyncError> {
        let body = FilesBatch { operation, objects };
        self.call(Method::POST, "/api/v1/sync/files/batch", &[], Some(&body)).await
    }

    /// Sends `piece`, the bytes of the file `sha256` (of `length` bytes in
    /// all) from `offset` on.
    pub async fn upload_piece(
        &self,
        sha256: &str,
        offset: u64,
        length: u64,
        piece: Vec<u8>,
    ) -> Result<UploadAnswer, SyncError> {
        let path = format!("/api/v1/sync/files/{sha256}");
        let request = self
            .http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("Upload-Offset", offset)
            .header("Upload-Length", length)
            .body(piece);
        self.answer(&path, request).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, SyncError> {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish());
        }
        let mut request = self.http.request(method, url).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.answer(path, request).await
    }

    /// The bytes of the file `sha256` from byte `from` on (a range when
    /// `from` is past the start): the response, its body still to read.
    pub async fn file(&self, sha256: &str, from: u64) -> Result<reqwest::Response, SyncError> {
        let path = format!("/api/v1/sync/files/{sha256}");
        let mut request = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.key);
        if from > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        self.send(&path, request).await
    }

    /// The file `sha256` as a player asked for it: with its `Range` and
    /// `If-Range`, answered as the master answers them (200 or 206).
    pub async fn file_as_asked(
        &self,
        sha256: &str,
        range: Option<&reqwest::header::HeaderValue>,
        if_range: Option<&reqwest::header::HeaderValue>,
    ) -> Result<reqwest::Response, SyncError> {
        let path = format!("/api/v1/sync/files/{sha256}");
        let mut request = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        if let Some(if_range) = if_range {
            request = request.header(reqwest::header::IF_RANGE, if_range);
        }
        self.send(&path, request).await
    }

    /// Sends `request` and reads its JSON answer, or says what went wrong.
    async fn answer<T: DeserializeOwned>(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, SyncError> {
        let response = self.send(path, request).await?;
        response.json::<T>().await.map_err(|e| match e.is_timeout() {
            true => SyncError::Timeout,
            false => {
                SyncError::Protocol(format!("{path}: the master's answer is not what the protocol says: {e}"))
            }
        })
    }

    /// Sends `request`: its response if it succeeded, or what went wrong.
    async fn send(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SyncError> {
        tracing::debug!(target: "sync", path, "request to the master");
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let error = response.json::<serde_json::Value>().await.unwrap_or_default();
        let message = error["error"]["message"].as_str().map_or_else(|| status.to_string(), str::to_owned);
        Err(match status {
            StatusCode::FORBIDDEN if error["error"]["code"] == READ_ONLY_KEY => SyncError::ReadOnlyKey,
            StatusCode::TOO_MANY_REQUESTS
                if error["error"]["code"] == UPLOAD_QUOTA || error["error"]["code"] == PUSH_QUOTA =>
            {
                SyncError::NotTakenNow(message)
            }
            StatusCode::INSUFFICIENT_STORAGE if error["error"]["code"] == INSUFFICIENT_STORAGE => {
                SyncError::NotTakenNow(message)
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SyncError::Unauthorized(message),
            StatusCode::GONE => SyncError::BootstrapRequired,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE if retry_after.is_some() => {
                SyncError::RetryAfter(retry_after.expect("checked"))
            }
            _ => SyncError::Status { status: status.as_u16(), message: format!("{path}: {message}") },
        })
    }
}

/// Whether `cause` is rustls's own error, directly or inside I/O errors
/// (a failed handshake comes up through hyper as an I/O error holding an
/// I/O error holding rustls's).
fn is_rustls_error(cause: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(cause);
    while let Some(error) = current {
        if error.is::<rustls::Error>() {
            return true;
        }
        current = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
    }
    false
}

pub(crate) fn transport_error(e: reqwest::Error) -> SyncError {
    if e.is_timeout() {
        SyncError::Timeout
    } else {
        // The chain says what failed: DNS, connect, TLS. A TLS failure is
        // told apart by its type: rustls's error somewhere in the chain.
        let mut text = e.to_string();
        let mut tls = false;
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            tls |= is_rustls_error(cause);
            source = cause.source();
        }
        match tls {
            true => SyncError::Certificate(text),
            false => SyncError::Unreachable(text),
        }
    }
}
