//! `GET /api/v1/albums/{id}/cover`: the album's cover image, from a picture
//! beside its files on this node or embedded in them, with an ETag (a hash of
//! the image) so that browsers revalidate cheaply. With `?size=N` it is a
//! JPEG thumbnail at most N pixels wide and high (served at the next of
//! `THUMBNAIL_SIZES` up), made once and kept under the data directory.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, Params};
use crate::state::AppState;

/// The album's files to look beside and in.
const FILES_LOOKED_AT: i64 = 20;

pub async fn cover(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    params.finish(&["size"])?;
    let size = match params.int("size")? {
        None => None,
        Some(n) if (16..=2048).contains(&n) => Some(n as u32),
        Some(_) => return Err(ApiError::invalid(Some("size"), "size must be from 16 to 2048 pixels")),
    };
    album_cover(&state, id, size, &headers).await
}

/// The cover of album `id`, at most `size` pixels (16 to 2048) when given,
/// answering `If-None-Match` (the Subsonic API's `getCoverArt` too).
pub(crate) async fn album_cover(
    state: &AppState,
    id: Uuid,
    size: Option<u32>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let size = size.map(archive_media::Thumbnails::size_for);
    state.db.album(id).await?.ok_or_else(|| ApiError::not_found("album"))?;
    let paths: Vec<std::path::PathBuf> =
        state.db.album_file_paths(id, FILES_LOOKED_AT).await?.into_iter().map(Into::into).collect();
    let thumbnails = state.thumbnails.clone();
    let image = tokio::task::spawn_blocking(move || {
        let cover = archive_media::find_cover(&paths)?;
        let Some(size) = size else { return Some(cover) };
        match thumbnails.get(&cover, size) {
            Ok(thumbnail) => Some(thumbnail),
            // A cover no decoder reads is still shown as it is.
            Err(e) => {
                tracing::warn!(album = %id, error = %e, "cover thumbnail not made; serving the cover itself");
                Some(cover)
            }
        }
    })
    .await
    .map_err(ApiError::internal)?
    .ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_cover", "this album has no cover on this node")
    })?;
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&image.data))[..32]);
    let etag = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let cache = HeaderValue::from_static("private, max-age=86400");
    let matches = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag), (CACHE_CONTROL, cache)]).into_response());
    }
    let headers =
        [(CONTENT_TYPE, HeaderValue::from_static(image.mime_type)), (ETAG, etag), (CACHE_CONTROL, cache)];
    Ok((headers, image.data).into_response())
}
