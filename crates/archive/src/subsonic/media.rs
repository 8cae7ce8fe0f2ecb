//! `stream`, `download` and `getCoverArt`: the same files, ranges and
//! covers as the JSON API's (`api::stream`, `api::cover`), so a slave plays
//! through from its master here too. Streaming never counts a play (apps
//! `scrobble`). Archive does not transcode: `stream` sends the original
//! whatever `format` and `maxBitRate` ask.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;

use super::Call;
use super::error::SubsonicError;
use crate::api::error::ApiError;

/// `stream` (`attachment` false) and `download`.
pub async fn song_file(
    call: &Call,
    headers: &HeaderMap,
    attachment: bool,
) -> Result<Response, SubsonicError> {
    let id = call.params.id("id")?;
    let mut request =
        Request::builder().method(Method::GET).uri("/").body(Body::empty()).map_err(internal)?;
    *request.headers_mut() = headers.clone();
    crate::api::stream::serve_song(&call.state, id, request, attachment).await.map_err(from_api("song"))
}

/// `getCoverArt`: an album's cover (by the album's id, which songs and
/// albums give as `coverArt`), resized to `size` when asked.
pub async fn cover_art(call: &Call, headers: &HeaderMap) -> Result<Response, SubsonicError> {
    let id = call.params.id("id")?;
    let size = match call.params.get("size") {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(n) => Some(n.clamp(16, 2048)),
            Err(_) => {
                return Err(SubsonicError::BadParameter {
                    name: "size",
                    message: "a number of pixels".into(),
                });
            }
        },
    };
    crate::api::cover::album_cover(&call.state, id, size, headers).await.map_err(from_api("cover art"))
}

/// The JSON API's refusal as Subsonic says it.
fn from_api(what: &'static str) -> impl Fn(ApiError) -> SubsonicError {
    move |e| match e.status {
        StatusCode::NOT_FOUND => SubsonicError::NotFound(what),
        status if status.is_server_error() && e.code == "internal" => SubsonicError::Internal,
        _ => SubsonicError::Generic(e.message),
    }
}

fn internal(e: impl std::fmt::Display) -> SubsonicError {
    tracing::error!(error = %e, "subsonic: cannot build a request");
    SubsonicError::Internal
}
