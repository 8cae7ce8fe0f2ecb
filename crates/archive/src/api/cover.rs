//! `GET /api/v1/albums/{id}/cover`: the album's cover image, from a picture
//! beside its files on this node or embedded in them, with an ETag (a hash of
//! the image) so that browsers revalidate cheaply.

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
    params.finish(&[])?;
    state.db.album(id).await?.ok_or_else(|| ApiError::not_found("album"))?;
    let paths: Vec<std::path::PathBuf> =
        state.db.album_file_paths(id, FILES_LOOKED_AT).await?.into_iter().map(Into::into).collect();
    let image = tokio::task::spawn_blocking(move || archive_media::find_cover(&paths))
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
