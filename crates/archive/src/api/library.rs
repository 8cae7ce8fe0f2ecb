//! Artists, genres, albums and songs: metadata CRUD. Moderators create and
//! edit; admins delete (see the route table).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use archive_db::{
    Album, AlbumFilter, AlbumPatch, Artist, ArtistPatch, Genre, GenrePatch, NewAlbum, NewArtist, NewGenre,
    NewSong, Page, Song, SongFilter, SongPatch,
};

use super::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, PAGE_PARAMS, Params};
use crate::services::library::{master_only, write_as};
use crate::state::AppState;

/// For PATCH bodies: a missing field is `None`, `null` is `Some(None)`.
pub(super) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub(super) fn created<T: Serialize>(value: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(value))
}

fn found<T>(value: Option<T>, what: &str) -> ApiResult<Json<T>> {
    value.map(Json).ok_or_else(|| ApiError::not_found(what))
}

// ---------------------------------------------------------------- artists

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtistBody {
    name: String,
    #[serde(default)]
    biography: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtistPatchBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    biography: Option<Option<String>>,
}

pub async fn list_artists(State(state): State<AppState>, params: Params) -> ApiResult<Json<Page<Artist>>> {
    params.finish(PAGE_PARAMS)?;
    Ok(Json(state.db.artists(&params.page()?).await?))
}

pub async fn get_artist(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Artist>> {
    found(state.db.artist(id).await?, "artist")
}

pub async fn create_artist(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(body): ApiJson<ArtistBody>,
) -> ApiResult<(StatusCode, Json<Artist>)> {
    let new = NewArtist { id: None, name: body.name, biography: body.biography };
    Ok(created(write_as!(state, caller.user.id, |tx| tx.insert_artist(new))))
}

pub async fn update_artist(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ArtistPatchBody>,
) -> ApiResult<Json<Artist>> {
    let patch = ArtistPatch { name: body.name, biography: body.biography };
    Ok(Json(write_as!(state, caller.user.id, |tx| tx.update_artist(id, patch))))
}

pub async fn delete_artist(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, caller.user.id, |tx| tx.delete_artist(id));
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- genres

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenreBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenrePatchBody {
    name: Option<String>,
}

pub async fn list_genres(State(state): State<AppState>, params: Params) -> ApiResult<Json<Page<Genre>>> {
    params.finish(PAGE_PARAMS)?;
    Ok(Json(state.db.genres(&params.page()?).await?))
}

pub async fn get_genre(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Genre>> {
    found(state.db.genre(id).await?, "genre")
}

pub async fn create_genre(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(body): ApiJson<GenreBody>,
) -> ApiResult<(StatusCode, Json<Genre>)> {
    Ok(
        created(
            write_as!(state, caller.user.id, |tx| tx.insert_genre(NewGenre { id: None, name: body.name }))
        ),
    )
}

pub async fn update_genre(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<GenrePatchBody>,
) -> ApiResult<Json<Genre>> {
    Ok(Json(write_as!(state, caller.user.id, |tx| tx.update_genre(id, GenrePatch { name: body.name }))))
}

pub async fn delete_genre(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, caller.user.id, |tx| tx.delete_genre(id));
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- albums

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbumBody {
    title: String,
    #[serde(default)]
    artist_id: Option<Uuid>,
    #[serde(default)]
    year: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbumPatchBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    artist_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    year: Option<Option<i64>>,
}

/// An album with its songs in disc and track order.
#[derive(Serialize)]
pub struct AlbumWithSongs {
    #[serde(flatten)]
    album: Album,
    songs: Vec<Song>,
}

pub async fn list_albums(State(state): State<AppState>, params: Params) -> ApiResult<Json<Page<Album>>> {
    params.finish(&[PAGE_PARAMS, &["artist_id", "year"]].concat())?;
    let filter = AlbumFilter { artist_id: params.uuid("artist_id")?, year: params.int("year")? };
    Ok(Json(state.db.albums(&filter, &params.page()?).await?))
}

pub async fn get_album(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AlbumWithSongs>> {
    let album = state.db.album(id).await?.ok_or_else(|| ApiError::not_found("album"))?;
    let songs = state.db.album_songs(id).await?;
    Ok(Json(AlbumWithSongs { album, songs }))
}

pub async fn create_album(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(body): ApiJson<AlbumBody>,
) -> ApiResult<(StatusCode, Json<Album>)> {
    let new = NewAlbum { id: None, title: body.title, artist_id: body.artist_id, year: body.year };
    Ok(created(write_as!(state, caller.user.id, |tx| tx.insert_album(new))))
}

pub async fn update_album(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AlbumPatchBody>,
) -> ApiResult<Json<Album>> {
    let patch = AlbumPatch { title: body.title, artist_id: body.artist_id, year: body.year };
    Ok(Json(write_as!(state, caller.user.id, |tx| tx.update_album(id, patch))))
}

pub async fn delete_album(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, caller.user.id, |tx| tx.delete_album(id));
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- songs

/// Song metadata as a client may set it. Technical fields (format, size,
/// bitrate…) come from the file at import and upload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SongBody {
    title: String,
    #[serde(default)]
    artist_id: Option<Uuid>,
    #[serde(default)]
    album_id: Option<Uuid>,
    #[serde(default)]
    genre_id: Option<Uuid>,
    #[serde(default)]
    track_number: Option<i64>,
    #[serde(default)]
    disc_number: Option<i64>,
    #[serde(default)]
    year: Option<i64>,
    #[serde(default)]
    duration_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SongPatchBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    artist_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    album_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    genre_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    track_number: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    disc_number: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    year: Option<Option<i64>>,
}

pub async fn list_songs(State(state): State<AppState>, params: Params) -> ApiResult<Json<Page<Song>>> {
    params.finish(&[PAGE_PARAMS, &["artist_id", "album_id", "genre_id", "year"]].concat())?;
    let filter = SongFilter {
        artist_id: params.uuid("artist_id")?,
        album_id: params.uuid("album_id")?,
        genre_id: params.uuid("genre_id")?,
        year: params.int("year")?,
    };
    Ok(Json(state.db.songs(&filter, &params.page()?).await?))
}

pub async fn get_song(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Song>> {
    found(state.db.song(id).await?, "song")
}

pub async fn create_song(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(body): ApiJson<SongBody>,
) -> ApiResult<(StatusCode, Json<Song>)> {
    let new = NewSong {
        title: body.title,
        artist_id: body.artist_id,
        album_id: body.album_id,
        genre_id: body.genre_id,
        track_number: body.track_number,
        disc_number: body.disc_number,
        year: body.year,
        duration_ms: body.duration_ms,
        ..Default::default()
    };
    Ok(created(write_as!(state, caller.user.id, |tx| tx.insert_song(new))))
}

pub async fn update_song(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SongPatchBody>,
) -> ApiResult<Json<Song>> {
    let patch = SongPatch {
        title: body.title,
        artist_id: body.artist_id,
        album_id: body.album_id,
        genre_id: body.genre_id,
        track_number: body.track_number,
        disc_number: body.disc_number,
        year: body.year,
    };
    Ok(Json(write_as!(state, caller.user.id, |tx| tx.update_song(id, patch))))
}

pub async fn delete_song(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    master_only(&state, "Deleting from the library")?;
    write_as!(state, caller.user.id, |tx| tx.delete_song(id));
    Ok(StatusCode::NO_CONTENT)
}
