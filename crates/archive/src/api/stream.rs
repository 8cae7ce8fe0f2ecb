//! Streaming and downloading a song's audio file from this node.
//!
//! tower-http's `ServeFile` does the HTTP work: single byte ranges (206,
//! `Content-Range`, `Accept-Ranges`, 416 for an unsatisfiable range), a
//! strong `ETag` and `Last-Modified` with their preconditions, and streaming
//! from disk without reading the file into memory. We add `If-Range` (a range
//! is honoured only while the file is unchanged), the real `Content-Type`,
//! and `Content-Disposition` for downloads.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_RANGE, LAST_MODIFIED, RANGE,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use uuid::Uuid;

use archive_db::{Song, TransferReason};

use super::error::{ApiError, ApiResult};
use super::extract::ApiPath;
use crate::config::{FilesPolicy, NodeRole};
use crate::state::AppState;
use crate::sync::error::SyncError;
use crate::sync::{fetch, transfers};

pub async fn stream(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> ApiResult<Response> {
    serve_song(&state, id, req, false).await
}

pub async fn download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> ApiResult<Response> {
    serve_song(&state, id, req, true).await
}

/// Song `id`'s audio for `req` (its range, `If-Range`…), as a download
/// when `attachment`; on a slave, through from the master when the file is
/// there (the Subsonic API's `stream` and `download` too).
pub(crate) async fn serve_song(
    state: &AppState,
    id: Uuid,
    req: Request,
    attachment: bool,
) -> ApiResult<Response> {
    let song = state.db.song(id).await?.ok_or_else(|| ApiError::not_found("song"))?;
    let not_here = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_on_this_node",
            "this song's file is not available on this node",
        )
    };
    let mime = song_mime(&song)?;
    let path = match song_file(state, &song).await? {
        Some(path) => path,
        None => {
            let asked = (req.headers().get(RANGE).cloned(), req.headers().get(IF_RANGE).cloned());
            let through = stream_from_master(state, &song, &mime, asked).await?.ok_or_else(not_here)?;
            return Ok(through);
        }
    };
    let mut response = serve_file(&path, &mime, req).await?;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if attachment {
        headers.insert(CONTENT_DISPOSITION, disposition(&song, &path));
    }
    Ok(response)
}

fn song_mime(song: &Song) -> ApiResult<mime::Mime> {
    song.format
        .as_deref()
        .and_then(archive_media::AudioFormat::from_name)
        .map_or("application/octet-stream", |f| f.mime_type())
        .parse()
        .map_err(ApiError::internal)
}

/// A song's file played here: where it is, and (a file from the content
/// store, such as one fetched from the master) its last play noted for the
/// quota's eviction order.
pub(crate) async fn song_file(state: &AppState, song: &Song) -> ApiResult<Option<PathBuf>> {
    let Some((path, from_store)) = located_file(state, song).await? else { return Ok(None) };
    // Only a slave's fetched files are evicted by last play; elsewhere a
    // play writes nothing.
    let slave = state.config().role == NodeRole::Slave;
    if let (true, true, Some(hash)) = (slave, from_store, &song.content_hash) {
        let mut tx = state.db.begin().await?;
        tx.content_file_played(hash).await?;
        tx.commit().await?;
    }
    Ok(Some(path))
}

/// Where this node holds a song's file: its present location, or else its
/// bytes by content hash (then `true`: a file another node sent, or one
/// fetched from the master).
pub(crate) async fn located_file(state: &AppState, song: &Song) -> ApiResult<Option<(PathBuf, bool)>> {
    let location =
        state.db.file_location(song.id).await?.filter(|l| l.status == archive_db::FileStatus::Present);
    if let Some(location) = location {
        let path = PathBuf::from(&location.path);
        if path.is_file() {
            return Ok(Some((path, false)));
        }
    }
    let Some(hash) = &song.content_hash else { return Ok(None) };
    Ok(crate::sync::files::held(&state.db, hash).await?.map(|held| (held.path, true)))
}

/// On a slave that keeps what is played (`SYNC_FILES` on-play or mirror),
/// a song whose file is on the master plays through from the master: the
/// player's own request (its range, so seeking works) is passed on and the
/// answer streamed back as it comes, while the file is queued to be fetched
/// whole, checked and kept, so that the next play is local. `None` when
/// this node does not fetch files or the master does not hold the file.
async fn stream_from_master(
    state: &AppState,
    song: &Song,
    mime: &mime::Mime,
    (range, if_range): (Option<HeaderValue>, Option<HeaderValue>),
) -> ApiResult<Option<Response>> {
    let config = state.config();
    let Some(hash) = song.content_hash.as_deref() else { return Ok(None) };
    if config.role != NodeRole::Slave || config.sync.files == FilesPolicy::Off {
        return Ok(None);
    }
    let size = song.file_size.unwrap_or(0).max(0) as u64;
    transfers::queue(state, hash, size, TransferReason::Play).await?;
    if transfers::master_known_unreachable(&state.db).await? {
        return Err(master_unreachable());
    }
    let client = match fetch::client(&state.db, &config, &state.sync_signals).await {
        Ok(client) => client,
        Err(SyncError::Stopped(hold)) => {
            let message = format!("this song's file is on the master, and sync is held: {hold}");
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "sync_stopped", message));
        }
        Err(error) => {
            tracing::info!(target: "sync", song = %song.id, %error, "cannot play a song from the master");
            return Ok(None);
        }
    };
    let upstream = match client.file_as_asked(hash, range.as_ref(), if_range.as_ref()).await {
        Ok(upstream) => upstream,
        Err(SyncError::Status { status: 416, .. }) => {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "bad_range",
                "the range is outside the file",
            ));
        }
        Err(SyncError::Status { status: 404, .. }) => return Ok(None),
        Err(error @ (SyncError::Unreachable(_) | SyncError::Timeout)) => {
            tracing::info!(target: "sync", song = %song.id, %error, "the master cannot be reached to play a song");
            return Err(master_unreachable());
        }
        Err(error) => {
            tracing::info!(target: "sync", song = %song.id, %error, "cannot play a song from the master");
            return Ok(None);
        }
    };
    let mut response = Response::builder().status(upstream.status());
    for name in [CONTENT_LENGTH, CONTENT_RANGE, ACCEPT_RANGES, ETAG] {
        if let Some(value) = upstream.headers().get(&name) {
            response = response.header(name, value);
        }
    }
    let body = Body::from_stream(upstream.bytes_stream());
    let response = response.header(CONTENT_TYPE, mime.as_ref()).body(body).map_err(ApiError::internal)?;
    Ok(Some(response))
}

fn master_unreachable() -> ApiError {
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "master_unreachable",
        "this song's file is on the master, which cannot be reached now",
    );
    error.retry_after_secs = Some(60);
    error
}

/// Serves the file at `path` for `req`: the whole file, or the range asked
/// for (while the `If-Range` validator, if any, still matches).
pub(super) async fn serve_file(path: &Path, mime: &mime::Mime, mut req: Request) -> ApiResult<Response> {
    if req.headers().contains_key(RANGE) && req.headers().contains_key(IF_RANGE) {
        let validators = validators(path, mime).await?;
        if !if_range_matches(req.headers().get(IF_RANGE), &validators) {
            req.headers_mut().remove(RANGE);
        }
    }
    let response = ServeFile::new_with_mime(path, mime).oneshot(req).await.map_err(ApiError::internal)?;
    Ok(response.map(Body::new).into_response())
}

/// The ETag and Last-Modified that `ServeFile` gives the file now.
async fn validators(path: &Path, mime: &mime::Mime) -> ApiResult<(Option<HeaderValue>, Option<HeaderValue>)> {
    let head =
        Request::builder().method(Method::HEAD).uri("/").body(Body::empty()).map_err(ApiError::internal)?;
    let response = ServeFile::new_with_mime(path, mime).oneshot(head).await.map_err(ApiError::internal)?;
    Ok((response.headers().get(ETAG).cloned(), response.headers().get(LAST_MODIFIED).cloned()))
}

/// RFC 9110 §13.1.5: a strong ETag that matches exactly, or the exact Last-Modified date.
fn if_range_matches(
    if_range: Option<&HeaderValue>,
    (etag, last_modified): &(Option<HeaderValue>, Option<HeaderValue>),
) -> bool {
    let Some(value) = if_range.and_then(|v| v.to_str().ok()).map(str::trim) else { return false };
    if value.starts_with("W/") {
        return false;
    }
    if value.starts_with('"') {
        return etag.as_ref().is_some_and(|e| e.as_bytes() == value.as_bytes());
    }
    last_modified.as_ref().is_some_and(|m| m.as_bytes() == value.as_bytes())
}

/// `attachment; filename="Title.ext"` (ASCII fallback) and the UTF-8 name.
fn disposition(song: &Song, path: &Path) -> HeaderValue {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("bin");
    let name = format!("{}.{extension}", song.title);
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
