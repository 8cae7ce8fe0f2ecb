//! The library's pages.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use archive_db::{PageRequest, SearchRequest, Song, SongCredits, SongFilter};

use super::{PageError, WebUser, assets, render};
use crate::api::AppState;

/// Songs per page.
const PAGE_SIZE: i64 = 50;

/// A song as a list shows it.
struct SongRow {
    id: String,
    title: String,
    artist: String,
    album: String,
    duration: String,
}

impl SongRow {
    fn new(song: &Song, credits: &SongCredits) -> SongRow {
        let name = |id: Option<uuid::Uuid>, names: &std::collections::HashMap<uuid::Uuid, String>| {
            id.and_then(|id| names.get(&id).cloned()).unwrap_or_default()
        };
        SongRow {
            id: song.id.to_string(),
            title: song.title.clone(),
            artist: name(song.artist_id, &credits.artists),
            album: name(song.album_id, &credits.albums),
            duration: song.duration_ms.map(minutes_and_seconds).unwrap_or_default(),
        }
    }
}

fn minutes_and_seconds(ms: i64) -> String {
    let secs = ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[derive(Template)]
#[template(path = "songs.html")]
struct SongsPage<'a> {
    assets: &'a str,
    csrf: &'a str,
    user_name: &'a str,
    query: &'a str,
    songs: Vec<SongRow>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "song_list.html")]
struct SongList<'a> {
    query: &'a str,
    songs: Vec<SongRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SongsQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    offset: Option<i64>,
}

/// The home page: every song, or those matching `q`, a page at a time.
pub async fn songs(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Query(params): Query<SongsQuery>,
) -> Result<Response, PageError> {
    let query = params.q.trim();
    let (songs, next) = if query.is_empty() {
        let page =
            PageRequest { limit: Some(PAGE_SIZE), cursor: params.cursor.clone(), ..Default::default() };
        let page = state.db.songs(&SongFilter::default(), &page).await?;
        let next = page.next_cursor.map(|c| format!("/?cursor={}", encode(&c)));
        (page.items, next)
    } else {
        let request = SearchRequest {
            query: query.to_owned(),
            limit: PAGE_SIZE,
            offset: params.offset.unwrap_or(0).max(0),
        };
        let page = state.db.search_songs(&request).await?;
        let next = page.next_offset.map(|o| format!("/?q={}&offset={o}", encode(query)));
        (page.items, next)
    };
    let credits = state.db.song_credits(&songs).await?;
    let rows = songs.iter().map(|s| SongRow::new(s, &credits)).collect();
    // Instant search replaces only the list.
    if headers.get("hx-target").is_some_and(|t| t == "song-list") {
        return render(&SongList { query, songs: rows, next });
    }
    let csrf = user.csrf();
    render(&SongsPage {
        assets: &assets::VERSION,
        csrf: &csrf,
        user_name: &user.user.name,
        query,
        songs: rows,
        next,
    })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
