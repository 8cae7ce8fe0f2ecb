//! A song's own page (everything known about it), and editing the
//! library's metadata: songs, albums, artists and genres (moderators), and
//! deleting them (admins).
//!
//! A name typed in a form (a song's artist, album or genre; an album's
//! artist) finds the record with that natural key, or creates it with the
//! deterministic id an import would give it, so two nodes that type the
//! same name converge on one record after sync.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use archive_db::normalize;
use archive_db::{AlbumPatch, ArtistPatch, DbError, GenrePatch, Role, SongPatch, Tx};
use archive_media::identity;

use super::forms::{CsrfForm, NoFields};
use super::pins::PinButton;
use super::song_rows::{SongRow, minutes_and_seconds, song_rows};
use super::{AdminUser, Frame, ModeratorUser, PageError, WebUser, render};
use crate::services::library::{master_only, write_as};
use crate::state::AppState;
use archive_db::PinKind;

/// One fact of a song's page.
struct Fact {
    label: &'static str,
    value: String,
}

/// The song's metadata as its edit form shows it.
struct SongForm {
    title: String,
    artist: String,
    album: String,
    genre: String,
    track: String,
    disc: String,
    year: String,
}

#[derive(Template)]
#[template(path = "song.html")]
struct SongDetail {
    frame: Frame,
    id: Uuid,
    title: String,
    artist: Option<(Uuid, String)>,
    album: Option<(Uuid, String)>,
    facts: Vec<Fact>,
    here: bool,
    pin: Option<PinButton>,
    can_edit: bool,
    can_delete: bool,
    form: SongForm,
    // The one-row list with the song's play, queue and marks.
    query: &'static str,
    songs: Vec<SongRow>,
    next: Option<String>,
}

fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub async fn song(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let song = state.db.song(id).await?.ok_or(PageError::NotFound("song"))?;
    let artist = match song.artist_id {
        Some(a) => state.db.artist(a).await?.map(|a| (a.id, a.name)),
        None => None,
    };
    let album = match song.album_id {
        Some(a) => state.db.album(a).await?.map(|a| (a.id, a.title)),
        None => None,
    };
    let genre = match song.genre_id {
        Some(g) => state.db.genre(g).await?.map(|g| g.name),
        None => None,
    };
    let listening = state.db.listening(user.user.id, id).await?;
    let location = state.db.file_location(id).await?.filter(|l| l.status == archive_db::FileStatus::Present);
    let songs = song_rows(&state, &user, std::slice::from_ref(&song)).await?;
    let sound = songs.first().map_or("", |row| row.sound_detail).to_owned()
        + if songs.first().is_some_and(|row| row.pinned) { " Pinned for offline use." } else { "" };
    let mut facts = vec![
        Fact { label: "Track", value: text(song.track_number) },
        Fact { label: "Disc", value: text(song.disc_number) },
        Fact { label: "Year", value: text(song.year) },
        Fact { label: "Genre", value: genre.clone().unwrap_or_default() },
        Fact { label: "Length", value: song.duration_ms.map(minutes_and_seconds).unwrap_or_default() },
        Fact { label: "Format", value: text(song.format.as_ref()) },
        Fact { label: "Bitrate", value: song.bitrate.map(|b| format!("{b} kbit/s")).unwrap_or_default() },
        Fact { label: "Sample rate", value: song.sample_rate.map(|r| format!("{r} Hz")).unwrap_or_default() },
        Fact { label: "Channels", value: text(song.channels) },
        Fact {
            label: "File size",
            value: song.file_size.map(|b| format!("{:.1} MB", b as f64 / 1_000_000.0)).unwrap_or_default(),
        },
        Fact { label: "Your plays", value: listening.play_count.to_string() },
        Fact {
            label: "Last played",
            value: listening
                .last_played_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
        },
        Fact { label: "Sound", value: sound },
    ];
    if let Some(location) = &location
        && user.user.role >= Role::Moderator
    {
        facts.push(Fact { label: "File", value: location.path.clone() });
    }
    facts.retain(|f| !f.value.is_empty());
    let form = SongForm {
        title: song.title.clone(),
        artist: artist.as_ref().map(|a| a.1.clone()).unwrap_or_default(),
        album: album.as_ref().map(|a| a.1.clone()).unwrap_or_default(),
        genre: genre.unwrap_or_default(),
        track: text(song.track_number),
        disc: text(song.disc_number),
        year: text(song.year),
    };
    render(&SongDetail {
        frame: Frame::of(&user),
        id,
        title: song.title,
        artist,
        album,
        facts,
        here: location.is_some(),
        pin: PinButton::for_page(&state, &user, PinKind::Song, id).await?,
        can_edit: user.user.role >= Role::Moderator,
        can_delete: user.user.role == Role::Admin,
        form,
        query: "",
        songs,
        next: None,
    })
}

/// A whole number from a form field; empty is none.
fn number(field: &'static str, value: &str) -> Result<Option<i64>, PageError> {
    match value.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| PageError::BadRequest(format!("The {field} must be a whole number, not “{text}”."))),
    }
}

/// A name typed in a form, or none when left empty.
fn name(value: &str) -> Option<String> {
    Some(normalize::clean(value)).filter(|n| !n.is_empty())
}

async fn ensure_artist(tx: &mut Tx, name: Option<&str>) -> Result<Option<Uuid>, DbError> {
    match name {
        Some(name) => Ok(Some(tx.ensure_artist(name, identity::artist_id(name)).await?)),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
pub struct SongEdit {
    title: String,
    #[serde(default)]
    artist: String,
    #[serde(default)]
    album: String,
    #[serde(default)]
    genre: String,
    #[serde(default)]
    track: String,
    #[serde(default)]
    disc: String,
    #[serde(default)]
    year: String,
}

pub async fn edit_song(
    State(state): State<AppState>,
    user: ModeratorUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<SongEdit>,
) -> Result<Response, PageError> {
    let song = state.db.song(id).await?.ok_or(PageError::NotFound("song"))?;
    let current_album = match song.album_id {
        Some(album) => state.db.album(album).await?,
        None => None,
    };
    let (track, disc, year) = (
        number("track number", &form.track)?,
        number("disc number", &form.disc)?,
        number("year", &form.year)?,
    );
    let (artist, album, genre) = (name(&form.artist), name(&form.album), name(&form.genre));
    let mut tx = state.db.begin_as(user.0.user.id).await?;
    let artist_id = ensure_artist(&mut tx, artist.as_deref()).await?;
    let album_id = match (&album, &current_album) {
        // The album's title left as it was: the song stays on its album,
        // whoever the album's artist is (a compilation's track keeps its album).
        (Some(title), Some(current)) if normalize::key(title) == normalize::key(&current.title) => {
            Some(current.id)
        }
        // Another album: the song's artist's album of that title.
        (Some(title), _) => {
            let album_id = identity::album_id(artist.as_deref(), title);
            Some(tx.ensure_album(title, artist_id, year, album_id).await?)
        }
        (None, _) => None,
    };
    let genre_id = match &genre {
        Some(genre) => Some(tx.ensure_genre(genre, identity::genre_id(genre)).await?),
        None => None,
    };
    let patch = SongPatch {
        title: Some(form.title),
        artist_id: Some(artist_id),
        album_id: Some(album_id),
        genre_id: Some(genre_id),
        track_number: Some(track),
        disc_number: Some(disc),
        year: Some(year),
    };
    tx.update_song(id, patch).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/songs/{id}")).into_response())
}

pub async fn delete_song(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<Uuid>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, admin.0.user.id, |tx| tx.delete_song(id));
    Ok(Redirect::to("/").into_response())
}

#[derive(Deserialize)]
pub struct AlbumEdit {
    title: String,
    #[serde(default)]
    artist: String,
    #[serde(default)]
    year: String,
}

pub async fn edit_album(
    State(state): State<AppState>,
    user: ModeratorUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<AlbumEdit>,
) -> Result<Response, PageError> {
    let year = number("year", &form.year)?;
    let mut tx = state.db.begin_as(user.0.user.id).await?;
    let artist_id = ensure_artist(&mut tx, name(&form.artist).as_deref()).await?;
    let patch = AlbumPatch { title: Some(form.title), artist_id: Some(artist_id), year: Some(year) };
    tx.update_album(id, patch)
        .await
        .map_err(|e| taken(e, "This artist already has an album with that title."))?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{id}")).into_response())
}

/// A duplicate natural key, said for this form.
fn taken(e: DbError, message: &'static str) -> PageError {
    match e {
        DbError::Duplicate(_) => PageError::Conflict(message),
        other => other.into(),
    }
}

pub async fn delete_album(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<Uuid>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, admin.0.user.id, |tx| tx.delete_album(id));
    Ok(Redirect::to("/albums").into_response())
}

#[derive(Deserialize)]
pub struct ArtistEdit {
    name: String,
    #[serde(default)]
    biography: String,
}

pub async fn edit_artist(
    State(state): State<AppState>,
    user: ModeratorUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ArtistEdit>,
) -> Result<Response, PageError> {
    let biography = Some(form.biography.trim().to_owned()).filter(|b| !b.is_empty());
    let patch = ArtistPatch { name: Some(form.name), biography: Some(biography) };
    let mut tx = state.db.begin_as(user.0.user.id).await?;
    tx.update_artist(id, patch).await.map_err(|e| taken(e, "Another artist has that name."))?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/artists/{id}")).into_response())
}

pub async fn delete_artist(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<Uuid>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, admin.0.user.id, |tx| tx.delete_artist(id));
    Ok(Redirect::to("/artists").into_response())
}

#[derive(Deserialize)]
pub struct GenreEdit {
    name: String,
}

pub async fn edit_genre(
    State(state): State<AppState>,
    user: ModeratorUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<GenreEdit>,
) -> Result<Response, PageError> {
    let mut tx = state.db.begin_as(user.0.user.id).await?;
    tx.update_genre(id, GenrePatch { name: Some(form.name) })
        .await
        .map_err(|e| taken(e, "Another genre has that name."))?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/genres/{id}")).into_response())
}

pub async fn delete_genre(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<Uuid>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, admin.0.user.id, |tx| tx.delete_genre(id));
    Ok(Redirect::to("/genres").into_response())
}
