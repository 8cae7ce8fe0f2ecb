//! Playlists: everyone sees their own and public ones; owners (and admins)
//! edit them. A playlist the caller may not see is reported as not found.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use archive_db::{NewPlaylist, Page, Playlist, PlaylistEntry, PlaylistFilter, PlaylistPatch};

use super::CurrentUser;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, PAGE_PARAMS, Params};
use super::library::{created, nullable};
use crate::services::library::write_as;
use crate::services::playlists::{add_song, editable, visible};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> ApiResult<Json<Page<Playlist>>> {
    params.finish(&[PAGE_PARAMS, &["owner_id"]].concat())?;
    let filter = PlaylistFilter {
        owner_id: params.uuid("owner_id")?,
        visible_to: (!caller.is_admin()).then_some(caller.user.id),
    };
    Ok(Json(state.db.playlists(&filter, &params.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaylistBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    is_public: bool,
}

pub async fn create(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(body): ApiJson<PlaylistBody>,
) -> ApiResult<(StatusCode, Json<Playlist>)> {
    let new = NewPlaylist {
        owner_id: caller.user.id,
        name: body.name,
        description: body.description,
        is_public: body.is_public,
    };
    Ok(created(write_as!(state, caller.user.id, |tx| tx.insert_playlist(new))))
}

pub async fn get(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Playlist>> {
    Ok(Json(visible(&state, &caller.user, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaylistPatchBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    is_public: Option<bool>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PlaylistPatchBody>,
) -> ApiResult<Json<Playlist>> {
    editable(&state, &caller.user, id).await?;
    let patch = PlaylistPatch { name: body.name, description: body.description, is_public: body.is_public };
    Ok(Json(write_as!(state, caller.user.id, |tx| tx.update_playlist(id, patch))))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    editable(&state, &caller.user, id).await?;
    write_as!(state, caller.user.id, |tx| tx.delete_playlist(id));
    Ok(StatusCode::NO_CONTENT)
}

pub async fn entries(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<PlaylistEntry>>> {
    params.finish(&["limit", "cursor"])?;
    visible(&state, &caller.user, id).await?;
    Ok(Json(state.db.playlist_entries(id, &params.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddEntryBody {
    song_id: Uuid,
    /// 0 is first; missing or past the end appends.
    #[serde(default)]
    position: Option<i64>,
}

pub async fn add_entry(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AddEntryBody>,
) -> ApiResult<(StatusCode, Json<PlaylistEntry>)> {
    Ok(created(add_song(&state, &caller.user, id, body.song_id, body.position).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveEntryBody {
    position: i64,
}

pub async fn move_entry(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath((id, entry_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<MoveEntryBody>,
) -> ApiResult<Json<PlaylistEntry>> {
    editable(&state, &caller.user, id).await?;
    Ok(Json(write_as!(state, caller.user.id, |tx| tx.move_playlist_entry(id, entry_id, body.position))))
}

pub async fn remove_entry(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath((id, entry_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    editable(&state, &caller.user, id).await?;
    write_as!(state, caller.user.id, |tx| tx.remove_playlist_entry(id, entry_id));
    Ok(StatusCode::NO_CONTENT)
}
