//! Playlists on the pages: the viewer's own and everyone's public ones,
//! their songs in order, and the picker that adds a song from any list.
//!
//! Who may see and change a playlist is decided by the same functions as
//! the API's (`api::playlists`); the changes are the database's own (an
//! entry's place is a sort key, so a move or an insert changes one row).

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use archive_db::{NewPlaylist, PageRequest, PlaylistFilter, PlaylistPatch};

use super::forms::{CsrfForm, NoFields};
use super::pages::{CursorQuery, next_link};
use super::pins::PinButton;
use super::song_rows::{SongRow, song_rows};
use super::{Frame, PageError, WebUser, render};
use crate::services::library::write_as;
use crate::services::playlists::{add_song, editable, may_edit, visible};
use crate::state::AppState;
use archive_db::PinKind;

/// Entries per page of a playlist.
const ENTRIES_PER_PAGE: i64 = 100;
/// At most this many of the viewer's playlists are offered by the picker.
const PICKER_PLAYLISTS: i64 = 200;

struct PlaylistRow {
    id: Uuid,
    name: String,
    owner: String,
    is_public: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "playlists.html")]
struct PlaylistsPage {
    frame: Frame,
    playlists: Vec<PlaylistRow>,
    next: Option<String>,
}

/// The viewer's own playlists and the public ones, by name.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let filter = PlaylistFilter { owner_id: None, visible_to: Some(user.user.id) };
    let page = state.db.playlists(&filter, &params.page()).await?;
    let owners: Vec<Uuid> = page.items.iter().map(|p| p.owner_id).collect();
    let names = state.db.user_names(&owners).await?;
    let playlists = page
        .items
        .into_iter()
        .map(|p| PlaylistRow {
            owner: if p.owner_id == user.user.id {
                "You".to_owned()
            } else {
                names.get(&p.owner_id).cloned().unwrap_or_default()
            },
            id: p.id,
            name: p.name,
            is_public: p.is_public,
            updated: p.updated_at.format("%Y-%m-%d").to_string(),
        })
        .collect();
    render(&PlaylistsPage {
        frame: Frame::of(&user),
        playlists,
        next: next_link("/playlists", page.next_cursor),
    })
}

/// A playlist's name, description and visibility as a form sends them.
#[derive(Deserialize)]
pub struct PlaylistForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// A checkbox: present when ticked.
    is_public: Option<String>,
    /// From the picker: a song to add to the new playlist.
    #[serde(default)]
    song_id: String,
}

fn description(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|d| !d.is_empty())
}

/// Whether the request comes from the playlist picker (which is answered
/// with the picker, not a page).
fn from_picker(headers: &HeaderMap) -> bool {
    headers.get("hx-target").is_some_and(|t| t == "picker-list")
}

pub async fn create(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PlaylistForm>,
) -> Result<Response, PageError> {
    let song_id = match form.song_id.trim() {
        "" => None,
        text => {
            Some(text.parse::<Uuid>().map_err(|_| PageError::BadRequest("That song is not known.".into()))?)
        }
    };
    let new = NewPlaylist {
        owner_id: user.user.id,
        description: description(&form.description),
        name: form.name,
        is_public: form.is_public.is_some(),
    };
    let playlist = write_as!(state, user.user.id, |tx| tx.insert_playlist(new));
    if let Some(song_id) = song_id {
        add_song(&state, &user.user, playlist.id, song_id, None).await?;
        if from_picker(&headers) {
            return picker_page(&state, &user, song_id, Some(playlist.name)).await;
        }
    }
    Ok(Redirect::to(&format!("/playlists/{}", playlist.id)).into_response())
}

/// A playlist's entry as its page shows it: where it is, and its move
/// buttons (the direction, the arrow, and the position it moves to if it can).
struct EntryRow {
    id: Uuid,
    position: i64,
    moves: [(&'static str, &'static str, Option<i64>); 2],
}

#[derive(Template)]
#[template(path = "playlist.html")]
struct PlaylistPage {
    frame: Frame,
    id: Uuid,
    name: String,
    description: Option<String>,
    owner: String,
    is_public: bool,
    count: i64,
    editable: bool,
    pin: Option<PinButton>,
    /// The page of entries shown (for the forms to come back to it).
    cursor: String,
    entries: Vec<(EntryRow, SongRow)>,
    next: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let playlist = visible(&state, &user.user, id).await?;
    let page =
        PageRequest { limit: Some(ENTRIES_PER_PAGE), cursor: params.cursor.clone(), ..Default::default() };
    let mut entries = state.db.playlist_entries(id, &page).await?;
    let next_cursor = entries.next_cursor.take();
    let count = state.db.playlist_entry_count(id).await?;
    let ids: Vec<Uuid> = entries.items.iter().map(|e| e.song_id).collect();
    // In the entries' order, repeats kept; a song deleted meanwhile is left out.
    let songs = state.db.songs_by_ids(&ids).await?;
    let found: HashSet<Uuid> = songs.iter().map(|s| s.id).collect();
    entries.items.retain(|e| found.contains(&e.song_id));
    let rows = song_rows(&state, &user, &songs).await?;
    let entries = entries
        .items
        .iter()
        .map(|e| EntryRow {
            id: e.id,
            position: e.position,
            moves: [
                ("up", "↑", (e.position > 0).then(|| e.position - 1)),
                ("down", "↓", (e.position + 1 < count).then(|| e.position + 1)),
            ],
        })
        .zip(rows)
        .collect();
    let owner = match playlist.owner_id == user.user.id {
        true => "You".to_owned(),
        false => state.db.user(playlist.owner_id).await?.map(|u| u.name).unwrap_or_default(),
    };
    render(&PlaylistPage {
        frame: Frame::of(&user),
        editable: may_edit(&user.user, &playlist),
        pin: PinButton::for_page(&state, &user, PinKind::Playlist, id).await?,
        id,
        name: playlist.name,
        description: playlist.description,
        owner,
        is_public: playlist.is_public,
        count,
        cursor: params.cursor.unwrap_or_default(),
        entries,
        next: next_link(&format!("/playlists/{id}"), next_cursor),
    })
}

pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PlaylistForm>,
) -> Result<Response, PageError> {
    editable(&state, &user.user, id).await?;
    let patch = PlaylistPatch {
        name: Some(form.name),
        description: Some(description(&form.description)),
        is_public: Some(form.is_public.is_some()),
    };
    write_as!(state, user.user.id, |tx| tx.update_playlist(id, patch));
    Ok(Redirect::to(&format!("/playlists/{id}")).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    editable(&state, &user.user, id).await?;
    write_as!(state, user.user.id, |tx| tx.delete_playlist(id));
    Ok(Redirect::to("/playlists").into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    song_id: Uuid,
}

/// Adds a song at the end: from the picker (answered with the picker) or a form.
pub async fn add_entry(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    let playlist = editable(&state, &user.user, id).await?;
    add_song(&state, &user.user, id, form.song_id, None).await?;
    if from_picker(&headers) {
        return picker_page(&state, &user, form.song_id, Some(playlist.name)).await;
    }
    Ok(Redirect::to(&format!("/playlists/{id}")).into_response())
}

/// An entry form: the token, and the page of entries to come back to.
#[derive(Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    cursor: String,
    /// Where to move the entry (0 is first); only for moves.
    position: Option<i64>,
}

/// Back to the page of entries the form was on.
fn back_to(id: Uuid, cursor: &str) -> Response {
    let path = match cursor {
        "" => format!("/playlists/{id}"),
        cursor => format!(
            "/playlists/{id}?cursor={}",
            form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
        ),
    };
    Redirect::to(&path).into_response()
}

pub async fn move_entry(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, entry_id)): Path<(Uuid, Uuid)>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let position =
        form.position.ok_or_else(|| PageError::BadRequest("Where to move the song is missing.".into()))?;
    editable(&state, &user.user, id).await?;
    write_as!(state, user.user.id, |tx| tx.move_playlist_entry(id, entry_id, position));
    Ok(back_to(id, &form.cursor))
}

pub async fn remove_entry(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, entry_id)): Path<(Uuid, Uuid)>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    editable(&state, &user.user, id).await?;
    write_as!(state, user.user.id, |tx| tx.remove_playlist_entry(id, entry_id));
    Ok(back_to(id, &form.cursor))
}

#[derive(Template)]
#[template(path = "playlist_picker.html")]
struct PlaylistPicker {
    csrf: String,
    song_id: Uuid,
    title: String,
    playlists: Vec<(Uuid, String)>,
    /// The playlist the song was just added to.
    added_to: Option<String>,
}

#[derive(Deserialize)]
pub struct PickerQuery {
    song: Uuid,
}

/// The picker's content: the viewer's playlists to add a song to, and a
/// new playlist.
pub async fn picker(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PickerQuery>,
) -> Result<Response, PageError> {
    picker_page(&state, &user, query.song, None).await
}

async fn picker_page(
    state: &AppState,
    user: &WebUser,
    song_id: Uuid,
    added_to: Option<String>,
) -> Result<Response, PageError> {
    let song = state.db.song(song_id).await?.ok_or(PageError::NotFound("song"))?;
    let filter = PlaylistFilter { owner_id: Some(user.user.id), visible_to: None };
    let page = PageRequest { limit: Some(PICKER_PLAYLISTS), ..Default::default() };
    let mine = state.db.playlists(&filter, &page).await?;
    render(&PlaylistPicker {
        csrf: user.csrf(),
        song_id,
        title: song.title,
        playlists: mine.items.into_iter().map(|p| (p.id, p.name)).collect(),
        added_to,
    })
}
