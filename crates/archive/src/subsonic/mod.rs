//! The Subsonic API (1.16.1, with OpenSubsonic's additions) at `/rest/`,
//! for the phone and desktop apps people already use. Every node serves
//! it, master and slave alike, from the same data and rules as the JSON
//! API.
//!
//! A request is `GET` or form `POST` to `/rest/{method}` or
//! `/rest/{method}.view`; its parameters come from the query string and the
//! form body together. It is authenticated ([`auth`]), dispatched by method
//! name, and answered in the format asked for (`f`: XML by default, JSON,
//! JSONP) by [`answer`], always with HTTP 200: a refusal is
//! `status="failed"` with a standard code ([`error`]). A method Archive does
//! not offer is error 0 naming it, never a 404 page.

mod annotation;
mod answer;
mod auth;
mod browse;
mod error;
mod folders;
mod lists;
mod media;
mod playlists;
mod queue;
mod system;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use archive_db::User;

use crate::client_address::ClientAddress;
use crate::state::AppState;
pub use answer::API_VERSION;
use answer::{Envelope, Format, Node};
use error::SubsonicError;

/// The `/rest/` routes.
pub fn router(state: AppState) -> Router {
    Router::new().route("/rest/{method}", get(handle).post(handle)).with_state(state)
}

/// A request's parameters, from the query string and a form body, in order
/// (some repeat: `id`, `songIdToAdd`).
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Params {
        let mut pairs: Vec<(String, String)> =
            query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        let is_form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        Params { pairs }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name` as an Archive id.
    fn ids(&self, name: &'static str) -> Result<Vec<uuid::Uuid>, SubsonicError> {
        self.all(name).map(|v| v.parse().map_err(|_| SubsonicError::NotFound("item"))).collect()
    }

    /// `name` as a whole number, if given.
    fn int(&self, name: &str) -> Result<Option<i64>, SubsonicError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| SubsonicError::Generic(format!("{name} must be a whole number, not {text:?}"))),
        }
    }

    fn required(&self, name: &'static str) -> Result<&str, SubsonicError> {
        self.get(name).ok_or(SubsonicError::MissingParameter(name))
    }

    /// `name` as an Archive id (a UUID).
    fn id(&self, name: &'static str) -> Result<uuid::Uuid, SubsonicError> {
        let text = self.required(name)?;
        text.parse().map_err(|_| SubsonicError::NotFound("item"))
    }
}

/// One authenticated call.
pub(crate) struct Call {
    state: AppState,
    user: User,
    /// Whether the caller authenticated with an API key (`tokenInfo`).
    by_api_key: bool,
    params: Params,
}

type Answer = Result<Node, SubsonicError>;

/// What a method answers: an envelope, or (media) the bytes themselves.
enum Reply {
    Envelope(Node),
    Raw(Response),
}

async fn handle(
    State(state): State<AppState>,
    Path(method): Path<String>,
    address: ClientAddress,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &body);
    let format = Format::from_params(params.get("f"), params.get("callback"));
    let method = method.strip_suffix(".view").unwrap_or(&method).to_owned();
    let answer = answer(state, &method, params, &address.0, &headers).await;
    match answer {
        Ok(Reply::Envelope(body)) => Envelope { ok: true, body }.render(&format),
        Ok(Reply::Raw(response)) => response,
        Err(error) => {
            tracing::debug!(method, %error, "subsonic request refused");
            error.envelope().render(&format)
        }
    }
}

async fn answer(
    state: AppState,
    method: &str,
    params: Params,
    address: &str,
    headers: &HeaderMap,
) -> Result<Reply, SubsonicError> {
    if method == "getOpenSubsonicExtensions" {
        return Ok(Reply::Envelope(system::extensions()));
    }
    let (user, by_api_key) = auth::authenticate(&state, &params, address).await?;
    let call = Call { state, user, by_api_key, params };
    match method {
        "stream" => return media::stream(&call, headers).await.map(Reply::Raw),
        "download" => return media::song_file(&call, headers, true).await.map(Reply::Raw),
        "getCoverArt" => return media::cover_art(&call, headers).await.map(Reply::Raw),
        _ => {}
    }
    envelope_method(&call, method).await.map(Reply::Envelope)
}

async fn envelope_method(call: &Call, method: &str) -> Answer {
    match method {
        "ping" => Ok(Node::new()),
        "getLicense" => Ok(system::license()),
        "getMusicFolders" => Ok(system::music_folders()),
        "getUser" => system::user(call).await,
        "tokenInfo" => system::token_info(call),
        "getArtists" => browse::artists(call).await,
        "getArtist" => browse::artist(call).await,
        "getAlbum" => browse::album(call).await,
        "getSong" => browse::song(call).await,
        "getGenres" => browse::genres(call).await,
        "getIndexes" => folders::indexes(call).await,
        "getMusicDirectory" => folders::directory(call).await,
        "getArtistInfo2" => folders::nothing_known(call, "artistInfo2").await,
        "getArtistInfo" => folders::nothing_known(call, "artistInfo").await,
        "getAlbumInfo2" => folders::nothing_known(call, "albumInfo").await,
        "getAlbumInfo" => folders::nothing_known(call, "albumInfo").await,
        "getSimilarSongs2" => folders::nothing_known(call, "similarSongs2").await,
        "getSimilarSongs" => folders::nothing_known(call, "similarSongs").await,
        "getTopSongs" => folders::nothing_known(call, "topSongs").await,
        "getSongsByGenre" => lists::songs_by_genre(call).await,
        "getPlayQueue" => queue::get(call).await,
        "savePlayQueue" => queue::save(call).await,
        "getLyricsBySongId" => queue::lyrics(call).await,
        "getScanStatus" => system::scan_status(call).await,
        "startScan" => system::start_scan(call).await,
        "getAlbumList2" => lists::album_list(call, "albumList2").await,
        "getAlbumList" => lists::album_list(call, "albumList").await,
        "getRandomSongs" => lists::random_songs(call).await,
        "search3" => lists::search(call, "searchResult3").await,
        "search2" => lists::search(call, "searchResult2").await,
        "star" => annotation::star(call, true).await,
        "unstar" => annotation::star(call, false).await,
        "setRating" => annotation::set_rating(call).await,
        "scrobble" => annotation::scrobble(call).await,
        "getStarred2" => annotation::starred(call, "starred2").await,
        "getStarred" => annotation::starred(call, "starred").await,
        "getNowPlaying" => annotation::now_playing(call).await,
        "getPlaylists" => playlists::list(call).await,
        "getPlaylist" => playlists::get(call).await,
        "createPlaylist" => playlists::create(call).await,
        "updatePlaylist" => playlists::update(call).await,
        "deletePlaylist" => playlists::delete(call).await,
        other => Err(SubsonicError::Generic(format!("Archive does not offer {other}"))),
    }
}
