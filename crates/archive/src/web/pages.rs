//! The library's pages: songs (the home page, with search), artists, albums
//! and genres with their detail pages. Lists are paged, sortable, and the
//! songs and albums lists filterable.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use archive_db::{Album, AlbumFilter, PageRequest, SearchRequest, SongFilter, SortOrder};

use super::pins::PinButton;
use super::song_rows::{SongRow, song_rows};
use super::{Frame, PageError, WebUser, render};
use crate::state::AppState;
use archive_db::PinKind;

/// Rows per page.
const PAGE_SIZE: i64 = 50;

/// At most this many genres are offered in the songs page's genre filter.
const GENRE_CHOICES: i64 = 500;

/// One option of a sort or filter `<select>`.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The sorts a list offers: the value names a sort key of the list, a
/// leading `-` for descending; the first is the default.
type Sorts = &'static [(&'static str, &'static str)];

const SONG_SORTS: Sorts = &[
    ("title", "Title, A to Z"),
    ("-title", "Title, Z to A"),
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
];
const ALBUM_SORTS: Sorts = SONG_SORTS;
const NAME_SORTS: Sorts =
    &[("name", "Name, A to Z"), ("-name", "Name, Z to A"), ("-created_at", "Newest first")];

/// The sort and filter form above a list.
pub(super) struct ListControls {
    /// Where the form goes (the list's own page).
    pub path: &'static str,
    pub sorts: Vec<Choice>,
    /// `None` when the list has no genre filter.
    pub genres: Option<Vec<Choice>>,
    /// The year filter's value; `None` when the list has no year filter.
    pub year: Option<String>,
}

/// A list page's query string: search, paging, sort and filters.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    offset: Option<i64>,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    genre: String,
    #[serde(default)]
    year: String,
}

impl ListQuery {
    /// The page to read, with the chosen sort.
    fn page(&self, sorts: Sorts) -> Result<PageRequest, PageError> {
        let chosen = match self.sort.as_str() {
            "" => sorts[0].0,
            value => sorts
                .iter()
                .map(|(v, _)| *v)
                .find(|v| *v == value)
                .ok_or_else(|| PageError::BadRequest(format!("There is no sort called “{value}”.")))?,
        };
        let (sort, order) = match chosen.strip_prefix('-') {
            Some(key) => (key, SortOrder::Desc),
            None => (chosen, SortOrder::Asc),
        };
        Ok(PageRequest {
            limit: Some(PAGE_SIZE),
            cursor: self.cursor.clone(),
            sort: Some(sort.to_owned()),
            order,
            ..Default::default()
        })
    }

    fn year(&self) -> Result<Option<i64>, PageError> {
        match self.year.trim() {
            "" => Ok(None),
            text => {
                text.parse().map(Some).map_err(|_| PageError::BadRequest(format!("“{text}” is not a year.")))
            }
        }
    }

    fn genre(&self) -> Result<Option<Uuid>, PageError> {
        match self.genre.trim() {
            "" => Ok(None),
            text => {
                text.parse().map(Some).map_err(|_| PageError::BadRequest("That genre is not known.".into()))
            }
        }
    }

    fn sort_choices(&self, sorts: Sorts) -> Vec<Choice> {
        let current = if self.sort.is_empty() { sorts[0].0 } else { self.sort.as_str() };
        sorts
            .iter()
            .map(|(value, label)| Choice {
                value: (*value).to_owned(),
                label: (*label).to_owned(),
                selected: *value == current,
            })
            .collect()
    }

    /// The link to the next page of `path`, keeping the sort and filters.
    fn next_link(&self, path: &str, cursor: Option<String>) -> Option<String> {
        let cursor = cursor?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("sort", &self.sort), ("genre", &self.genre), ("year", &self.year)] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        query.append_pair("cursor", &cursor);
        Some(format!("{path}?{}", query.finish()))
    }
}

#[derive(Template)]
#[template(path = "songs.html")]
struct SongsPage<'a> {
    frame: Frame,
    query: &'a str,
    controls: ListControls,
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

/// The home page: every song (sorted, filtered by genre and year), or the
/// best matches of a search, a page at a time.
pub async fn songs(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Query(params): Query<ListQuery>,
) -> Result<Response, PageError> {
    let query = params.q.trim();
    let (songs, next) = if query.is_empty() {
        let filter = SongFilter { genre_id: params.genre()?, year: params.year()?, ..Default::default() };
        let page = state.db.songs(&filter, &params.page(SONG_SORTS)?).await?;
        (page.items, params.next_link("/", page.next_cursor))
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
    // Instant search, sorting and filtering replace only the list.
    if headers.get("hx-target").is_some_and(|t| t == "song-list") {
        return render(&SongList { query, songs: rows, next });
    }
    let genres = state.db.genres(&PageRequest { limit: Some(GENRE_CHOICES), ..Default::default() }).await?;
    let genre = params.genre.trim();
    let mut genre_choices =
        vec![Choice { value: String::new(), label: "Any genre".into(), selected: genre.is_empty() }];
    genre_choices.extend(genres.items.into_iter().map(|g| Choice {
        selected: g.id.to_string() == genre,
        value: g.id.to_string(),
        label: g.name,
    }));
    let controls = ListControls {
        path: "/",
        sorts: params.sort_choices(SONG_SORTS),
        genres: Some(genre_choices),
        year: Some(params.year.trim().to_owned()),
    };
    render(&SongsPage { frame: Frame::of(&user), query, controls, songs: rows, next })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `?cursor=` of a paged list without sorts.
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
    controls: ListControls,
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
    /// On a genre's page: the genre, which moderators may rename.
    pub genre: Option<Uuid>,
    pub query: &'static str,
    pub songs: Vec<SongRow>,
    pub next: Option<String>,
}

fn sort_only(path: &'static str, params: &ListQuery, sorts: Sorts) -> ListControls {
    ListControls { path, sorts: params.sort_choices(sorts), genres: None, year: None }
}

pub async fn artists(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<ListQuery>,
) -> Result<Response, PageError> {
    let page = state.db.artists(&params.page(NAME_SORTS)?).await?;
    render(&NamesPage {
        frame: Frame::of(&user),
        heading: "Artists",
        kind: "artists",
        controls: sort_only("/artists", &params, NAME_SORTS),
        names: page.items.into_iter().map(|a| Named { id: a.id, name: a.name }).collect(),
        next: params.next_link("/artists", page.next_cursor),
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

#[derive(Template)]
#[template(path = "artist.html")]
struct ArtistPage {
    frame: Frame,
    id: Uuid,
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
        id,
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
    controls: ListControls,
    albums: Vec<AlbumCard>,
    next: Option<String>,
}

pub async fn albums(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = AlbumFilter { artist_id: None, year: params.year()? };
    let page = state.db.albums(&filter, &params.page(ALBUM_SORTS)?).await?;
    let controls = ListControls {
        path: "/albums",
        sorts: params.sort_choices(ALBUM_SORTS),
        genres: None,
        year: Some(params.year.trim().to_owned()),
    };
    render(&AlbumsPage {
        frame: Frame::of(&user),
        controls,
        albums: album_cards(&state, page.items).await?,
        next: params.next_link("/albums", page.next_cursor),
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
    pin: Option<PinButton>,
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
        pin: PinButton::for_page(&state, &user, PinKind::Album, id).await?,
        query: "",
        songs: song_rows(&state, &user, &songs).await?,
        next: None,
    })
}

pub async fn genres(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<ListQuery>,
) -> Result<Response, PageError> {
    let page = state.db.genres(&params.page(NAME_SORTS)?).await?;
    render(&NamesPage {
        frame: Frame::of(&user),
        heading: "Genres",
        kind: "genres",
        controls: sort_only("/genres", &params, NAME_SORTS),
        names: page.items.into_iter().map(|g| Named { id: g.id, name: g.name }).collect(),
        next: params.next_link("/genres", page.next_cursor),
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
        genre: Some(id),
        query: "",
        songs: song_rows(&state, &user, &songs.items).await?,
        next: next_link(&format!("/genres/{id}"), songs.next_cursor),
    })
}
