//! `/api/v1/sync/files/…`: audio files between nodes, by slave key (and
//! `fetch`, an admin of a slave asking for a file now). Thin:
//! the master's side is `sync::files`, the messages
//! `archive_db::sync::protocol`; `docs/SYNC.md` ("Files") describes them.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use archive_db::sync::protocol::{FilesBatch, FilesBatchAnswer, UploadAnswer, UploadStatus};

use super::access::SlavePeer;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::sync::fetch::Fetched;
use crate::sync::files::{self, parse_hash};
use crate::sync::master::require_master;

pub async fn batch(
    State(state): State<AppState>,
    peer: SlavePeer,
    ApiJson(request): ApiJson<FilesBatch>,
) -> ApiResult<Json<FilesBatchAnswer>> {
    Ok(Json(files::batch(&state, &peer.key, request).await?))
}

/// The bytes of a file this node holds (single ranges, `If-Range`, a strong ETag).
pub async fn download(
    State(state): State<AppState>,
    _peer: SlavePeer,
    ApiPath(sha256): ApiPath<String>,
    req: Request,
) -> ApiResult<Response> {
    let sha256 = parse_hash("sha256", &sha256)?;
    require_master(&state).await?;
    let held = files::held(&state.db, &sha256).await?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_on_this_node", "this node does not hold that file")
    })?;
    super::stream::serve_file(&held.path, &mime::APPLICATION_OCTET_STREAM, req).await
}

/// One piece of an upload: `Upload-Offset` (where the body starts in the
/// file) and `Upload-Length` (the whole file's size) are required.
pub async fn upload(
    State(state): State<AppState>,
    peer: SlavePeer,
    ApiPath(sha256): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<UploadAnswer>)> {
    let sha256 = parse_hash("sha256", &sha256)?;
    let piece = files::PieceOf {
        offset: number_header(&headers, "Upload-Offset")?,
        length: number_header(&headers, "Upload-Length")?,
        size: piece_size(&headers),
    };
    let (answer, mut body) = files::receive_to_the_end(state, peer.key, sha256, piece, body).await;
    let answer = match answer {
        // The file came whole from elsewhere meanwhile: this piece is not read.
        Ok(answer) if answer.status == UploadStatus::Present => {
            drain(&mut body).await;
            answer
        }
        Ok(answer) => answer,
        Err(error) => {
            drain(&mut body).await;
            return Err(error.into());
        }
    };
    let status = match answer.status {
        UploadStatus::Stored => StatusCode::CREATED,
        UploadStatus::Partial | UploadStatus::Present => StatusCode::OK,
    };
    Ok((status, Json(answer)))
}

/// The piece's size as its framing fixes it: its `Content-Length`, unless
/// the body is chunked (which a `Content-Length` beside it does not bound).
/// `files::receive` also stops a body at the size it counted.
fn piece_size(headers: &HeaderMap) -> Option<u64> {
    if headers.contains_key(TRANSFER_ENCODING) {
        return None;
    }
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The most of a refused piece's body that is read and thrown away: a bit
/// more than a slave's piece (8 MiB).
const DRAINED_AT_MOST: usize = 16 * 1024 * 1024;

/// Reads what is left of a refused or unneeded piece (up to
/// [`DRAINED_AT_MOST`]), so that a slave still sending it gets the answer,
/// not a connection reset that it would take for the master being away.
/// On loopback the answer arrives either way (no test can tell); over a
/// real network, closing with unread data may reset the connection first.
async fn drain(body: &mut Body) {
    use http_body_util::BodyExt;
    let mut drained = 0;
    while drained <= DRAINED_AT_MOST {
        match body.frame().await {
            Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |data| data.len()),
            _ => return,
        }
    }
}

fn number_header(headers: &HeaderMap, name: &'static str) -> ApiResult<u64> {
    let value =
        headers.get(name).ok_or_else(|| ApiError::invalid(Some(name), format!("{name} is required")))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::invalid(Some(name), format!("{name} must be a number of bytes")))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequest {
    song_id: uuid::Uuid,
}

/// A slave fetches a song's file from its master now (admins).
pub async fn fetch(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FetchRequest>,
) -> ApiResult<Json<Fetched>> {
    Ok(Json(crate::services::sync_admin::fetch_song_file(&state, request.song_id).await?))
}
