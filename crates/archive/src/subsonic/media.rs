//! `stream`, `download` and `getCoverArt`: the same files, ranges and
//! covers as the JSON API's (`api::stream`, `api::cover`), so a slave plays
//! through from its master here too. Streaming never counts a play (apps
//! `scrobble`).
//!
//! `stream` transcodes when an app asks for a lower `maxBitRate` or another
//! `format` than the file's (`services::transcode`), from `timeOffset`
//! seconds in. A transcode has no length known ahead, so it answers whole,
//! without ranges. The original is sent instead when `format=raw`, when
//! transcoding is off or ffmpeg is missing, and when the file is not on
//! this node yet (a slave streams it through from the master). Beyond
//! `ARCHIVE_TRANSCODE_LIMIT` at once, or beyond the caller's share (half),
//! the answer is 429 with `Retry-After`, as Navidrome does. `download` always sends the original.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT_RANGES, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Call;
use super::error::SubsonicError;
use crate::api::error::ApiError;
use crate::services::transcode::{self, Plan, TranscodeError, Transcoded};

/// `stream`: a transcode when the app asks for one and this node can make
/// it, else the file as `download` sends it but inline.
pub async fn stream(call: &Call, headers: &HeaderMap) -> Result<Response, SubsonicError> {
    let id = call.params.id("id")?;
    let song = call.state.db.song(id).await?.ok_or(SubsonicError::NotFound("song"))?;
    let max_kbps = match call.params.int("maxBitRate")? {
        Some(n) => Some(u32::try_from(n).map_err(|_| bad("maxBitRate", "kbit/s, 0 for no limit"))?),
        None => None,
    };
    let plan = transcode::plan(call.params.get("format"), max_kbps, song.format.as_deref(), song.bitrate);
    let limit = call.state.config().transcode_limit;
    if let (Plan::Transcode { codec, kbps }, true) = (plan, limit > 0) {
        let offset = match call.params.int("timeOffset")? {
            Some(n) => u32::try_from(n).map_err(|_| bad("timeOffset", "seconds from the start"))?,
            None => 0,
        };
        let path = crate::api::stream::song_file(&call.state, &song).await.map_err(from_api("song"))?;
        if let Some(path) = path {
            match call.state.transcoder.start(limit, call.user.id, &path, codec, kbps, offset).await {
                Ok(transcoded) => return Ok(transcoded_response(transcoded)),
                Err(e @ (TranscodeError::Busy { .. } | TranscodeError::UserBusy { .. })) => {
                    return Ok(busy(&e));
                }
                Err(TranscodeError::NoFfmpeg) => {}
                Err(e) => return Err(SubsonicError::Generic(e.to_string())),
            }
        }
    }
    song_file(call, headers, false).await
}

fn transcoded_response(transcoded: Transcoded) -> Response {
    let mut response = Response::new(Body::from_stream(transcoded.stream));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(transcoded.mime_type));
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("none"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Too many transcodes, or the caller's share taken: the app may try again shortly.
fn busy(refusal: &TranscodeError) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, refusal.to_string()).into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn bad(name: &'static str, message: &str) -> SubsonicError {
    SubsonicError::BadParameter { name, message: message.into() }
}

/// `stream` (`attachment` false) and `download`: the original file.
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
