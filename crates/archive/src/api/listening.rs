//! Each user's own listening data: plays, favourites, ratings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use archive_db::{ListeningData, Page, RecentPlay, Song, SongPlayCount};

use super::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, PAGE_PARAMS, Params};
use super::library::created;
use crate::services::library::write_as;
use crate::state::AppState;

async fn existing_song(state: &AppState, id: Uuid) -> ApiResult<()> {
    match state.db.song(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("song")),
    }
}

pub async fn get(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ListeningData>> {
    existing_song(&state, id).await?;
    Ok(Json(state.db.listening(caller.user.id, id).await?))
}

/// Records one play of the song, now.
pub async fn play(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<RecentPlay>)> {
    existing_song(&state, id).await?;
    Ok(created(write_as!(state, caller.user.id, |tx| tx.record_play(caller.user.id, id, archive_db::now()))))
}

pub async fn favourite(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    existing_song(&state, id).await?;
    write_as!(state, caller.user.id, |tx| tx.set_favourite(caller.user.id, id, true));
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unfavourite(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    existing_song(&state, id).await?;
    write_as!(state, caller.user.id, |tx| tx.set_favourite(caller.user.id, id, false));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    /// 1 to 5, or null to clear.
    rating: Option<i64>,
}

pub async fn rate(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RatingBody>,
) -> ApiResult<StatusCode> {
    existing_song(&state, id).await?;
    write_as!(state, caller.user.id, |tx| tx.set_rating(caller.user.id, id, body.rating));
    Ok(StatusCode::NO_CONTENT)
}

pub async fn favourites(
    State(state): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> ApiResult<Json<Page<Song>>> {
    params.finish(PAGE_PARAMS)?;
    Ok(Json(state.db.favourite_songs(caller.user.id, &params.page()?).await?))
}

pub async fn recently_played(
    State(state): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> ApiResult<Json<Page<RecentPlay>>> {
    params.finish(&["limit", "cursor"])?;
    Ok(Json(state.db.recent_plays(caller.user.id, &params.page()?).await?))
}

#[derive(Serialize)]
pub struct MostPlayed {
    items: Vec<SongPlayCount>,
    limit: i64,
    offset: i64,
}

pub async fn most_played(
    State(state): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> ApiResult<Json<MostPlayed>> {
    params.finish(&["limit", "offset"])?;
    let limit = params.int("limit")?.unwrap_or(50);
    let offset = params.int("offset")?.unwrap_or(0);
    let items = state.db.most_played(caller.user.id, limit, offset).await?;
    Ok(Json(MostPlayed { items, limit, offset }))
}
