//! The library's pages.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use archive_db::{Album, AlbumFilter, PageRequest, SearchRequest, Song, SongCredits, SongFilter};

use super::{Frame, PageError, WebUser, render};
use crate::api::AppState;

/// Songs per page.
const PAGE_SIZE: i64 = 50;

/// A song as a list shows it.
pub(super) struct SongRow {
    pub id: String,
    pub title: String,
    pub favourite: bool,
    pub artist: String,
    pub album: String,
    pub duration: String,
}

impl SongRow {
    fn new(song: &Song, credits: &SongCredits, favourite: bool) -> SongRow {
        let name = |id: Option<uuid::Uuid>, names: &std::collections::HashMap<uuid::Uuid, String>| {
            id.and_then(|id| names.get(&id).cloned()).unwrap_or_default()
        };
        SongRow {
            id: song.id.to_string(),
            title: song.title.clone(),
            favourite,
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
    frame: Frame,
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
        (page.items, next_link("/", page.next_cursor))
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
    let rows = song_rows(&state, &user, &songs).await?;
    // Instant search replaces only the list.
    if headers.get("hx-target").is_some_and(|t| t == "song-list") {
        return render(&SongList { query, songs: rows, next });
    }
    render(&SongsPage { frame: Frame::of(&user), query, songs: rows, next })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `?cursor=` of a paged list.
#[derive(Deserialize)]
pub struct CursorQuery {
    pub cursor: Option<String>,
}

impl CursorQuery {
    pub(super) fn page(&self) -> PageRequest {
        PageRequest { limit: Some(PAGE_SIZE), cursor: self.cursor.clone(), ..Default::default() }
    }
}

/// The link to a list's next page.
pub(super) fn next_link(path: &str, cursor: Option<String>) -> Option<String> {
    cursor.map(|c| format!("{path}?cursor={}", encode(&c)))
}

/// A name with a link.
struct Named {
    id: Uuid,
    name: String,
}

/// A list of names linking to their pages: artists or genres.
#[derive(Template)]
#[template(path = "names.html")]
struct NamesPage {
    frame: Frame,
    heading: &'static str,
    /// The path segment of the list and its items, and the word for them.
    kind: &'static str,
    names: Vec<Named>,
    next: Option<String>,
}

/// Songs under a heading: a genre's, or the user's listening lists.
#[derive(Template)]
#[template(path = "song_page.html")]
pub(super) struct SongPage {
    pub frame: Frame,
    pub heading: String,
    pub listening_tabs: bool,
    pub query: &'static str,
    pub songs: Vec<SongRow>,
    pub next: Option<String>,
}

pub async fn artists(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let page = state.db.artists(&params.page()).await?;
    render(&NamesPage {
        frame: Frame::of(&user),
        heading: "Artists",
        kind: "artists",
        names: page.items.into_iter().map(|a| Named { id: a.id, name: a.name }).collect(),
        next: next_link("/artists", page.next_cursor),
    })
}

/// An album as a grid shows it.
struct AlbumCard {
    id: Uuid,
    title: String,
    artist: String,
    year: Option<i64>,
}

async fn album_cards(state: &AppState, albums: Vec<Album>) -> Result<Vec<AlbumCard>, PageError> {
    let artists: Vec<Uuid> = albums.iter().filter_map(|a| a.artist_id).collect();
    let names = state.db.artist_names(&artists).await?;
    Ok(albums
        .into_iter()
        .map(|a| AlbumCard {
            artist: a.artist_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
            id: a.id,
            title: a.title,
            year: a.year,
        })
        .collect())
}

/// Songs as a list shows them to `user`.
pub(super) async fn song_rows(
    state: &AppState,
    user: &WebUser,
    songs: &[Song],
) -> Result<Vec<SongRow>, PageError> {
    let credits = state.db.song_credits(songs).await?;
    let ids: Vec<Uuid> = songs.iter().map(|s| s.id).collect();
    let favourites = state.db.favourite_song_ids(user.user.id, &ids).await?;
    Ok(songs.iter().map(|s| SongRow::new(s, &credits, favourites.contains(&s.id))).collect())
}

#[derive(Template)]
#[template(path = "artist.html")]
struct ArtistPage {
    frame: Frame,
    name: String,
    biography: Option<String>,
    albums: Vec<AlbumCard>,
    query: &'static str,
    songs: Vec<SongRow>,
    next: Option<String>,
}

pub async fn artist(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let artist = state.db.artist(id).await?.ok_or(PageError::NotFound("artist"))?;
    let albums =
        state.db.albums(&AlbumFilter { artist_id: Some(id), year: None }, &PageRequest::default()).await?;
    let songs =
        state.db.songs(&SongFilter { artist_id: Some(id), ..Default::default() }, &params.page()).await?;
    render(&ArtistPage {
        frame: Frame::of(&user),
        name: artist.name,
        biography: artist.biography,
        albums: album_cards(&state, albums.items).await?,
        query: "",
        songs: song_rows(&state, &user, &songs.items).await?,
        next: next_link(&format!("/artists/{id}"), songs.next_cursor),
    })
}

#[derive(Template)]
#[template(path = "albums.html")]
struct AlbumsPage {
    frame: Frame,
    albums: Vec<AlbumCard>,
    next: Option<String>,
}

pub async fn albums(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let page = state.db.albums(&AlbumFilter::default(), &params.page()).await?;
    render(&AlbumsPage {
        frame: Frame::of(&user),
        albums: album_cards(&state, page.items).await?,
        next: next_link("/albums", page.next_cursor),
    })
}

#[derive(Template)]
#[template(path = "album.html")]
struct AlbumPage {
    frame: Frame,
    id: Uuid,
    title: String,
    artist: Option<(Uuid, String)>,
    year: Option<i64>,
    query: &'static str,
    songs: Vec<SongRow>,
    next: Option<String>,
}

pub async fn album(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let album = state.db.album(id).await?.ok_or(PageError::NotFound("album"))?;
    let artist = match album.artist_id {
        Some(artist_id) => state.db.artist(artist_id).await?.map(|a| (a.id, a.name)),
        None => None,
    };
    let songs = state.db.album_songs(id).await?;
    render(&AlbumPage {
        frame: Frame::of(&user),
        id,
        title: album.title,
        artist,
        year: album.year,
        query: "",
        songs: song_rows(&state, &user, &songs).await?,
        next: None,
    })
}

pub async fn genres(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let page = state.db.genres(&params.page()).await?;
    render(&NamesPage {
        frame: Frame::of(&user),
        heading: "Genres",
        kind: "genres",
        names: page.items.into_iter().map(|g| Named { id: g.id, name: g.name }).collect(),
        next: next_link("/genres", page.next_cursor),
    })
}

pub async fn genre(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let genre = state.db.genre(id).await?.ok_or(PageError::NotFound("genre"))?;
    let songs =
        state.db.songs(&SongFilter { genre_id: Some(id), ..Default::default() }, &params.page()).await?;
    render(&SongPage {
        frame: Frame::of(&user),
        heading: genre.name,
        listening_tabs: false,
        query: "",
        songs: song_rows(&state, &user, &songs.items).await?,
        next: next_link(&format!("/genres/{id}"), songs.next_cursor),
    })
}
