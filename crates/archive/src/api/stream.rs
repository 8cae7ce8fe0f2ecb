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
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use uuid::Uuid;

use archive_db::Song;
use archive_media::StoreError;

use super::error::{ApiError, ApiResult};
use super::extract::ApiPath;
use crate::config::{FilesPolicy, NodeRole};
use crate::state::AppState;
use crate::sync::fetch::FetchError;

pub async fn stream(state: State<AppState>, id: ApiPath<Uuid>, req: Request) -> ApiResult<Response> {
    serve(state, id, req, false).await
}

pub async fn download(state: State<AppState>, id: ApiPath<Uuid>, req: Request) -> ApiResult<Response> {
    serve(state, id, req, true).await
}

async fn serve(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
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
    let path = match song_file(&state, &song).await? {
        Some(path) => path,
        None => play_from_master(&state, &song).await?.ok_or_else(not_here)?,
    };
    let mime: mime::Mime = song
        .format
        .as_deref()
        .and_then(archive_media::AudioFormat::from_name)
        .map_or("application/octet-stream", |f| f.mime_type())
        .parse()
        .map_err(ApiError::internal)?;
    let mut response = serve_file(&path, &mime, req).await?;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if attachment {
        headers.insert(CONTENT_DISPOSITION, disposition(&song, &path));
    }
    Ok(response)
}

/// Where this node holds a song's file: its present location, or else its
/// bytes by content hash (a file another node sent).
async fn song_file(state: &AppState, song: &Song) -> ApiResult<Option<PathBuf>> {
    let location =
        state.db.file_location(song.id).await?.filter(|l| l.status == archive_db::FileStatus::Present);
    if let Some(location) = location {
        let path = PathBuf::from(&location.path);
        if path.is_file() {
            return Ok(Some(path));
        }
    }
    let Some(hash) = &song.content_hash else { return Ok(None) };
    Ok(crate::sync::files::held(&state.db, hash).await?.map(|held| held.path))
}

/// On a slave that keeps what is played (`SYNC_FILES` on-play or mirror),
/// a song whose file is on the master is fetched now, whole and checked,
/// and played from here; the next play is local. If the master cannot give
/// it, the song is not available here, as without the policy.
async fn play_from_master(state: &AppState, song: &Song) -> ApiResult<Option<PathBuf>> {
    let config = state.config();
    if config.role != NodeRole::Slave || config.sync.files == FilesPolicy::Off || song.content_hash.is_none()
    {
        return Ok(None);
    }
    match crate::sync::fetch::fetch_song_file(state, song.id).await {
        Ok(_) => song_file(state, song).await,
        Err(FetchError::Store(StoreError::Busy)) => {
            let mut busy = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "being_fetched",
                "this song's file is on its way here",
            );
            busy.retry_after_secs = Some(1);
            Err(busy)
        }
        Err(error) => {
            tracing::info!(target: "sync", song = %song.id, %error, "could not fetch a played song's file from the master");
            Ok(None)
        }
    }
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
