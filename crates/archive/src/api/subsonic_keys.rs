//! `/api/v1/me/subsonic-keys` and `/api/v1/me/subsonic-app-passwords`: the
//! caller's API keys and app passwords for Subsonic apps
//! (`services::subsonic_keys`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use archive_db::{SubsonicAppPassword, SubsonicKey};

use super::CurrentUser;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::services::subsonic_keys;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Which app or device the key is for.
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(new): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = subsonic_keys::issue(&state, &caller.user, &new.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": issued.secret, "record": issued.record }))))
}

pub async fn list(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<Vec<SubsonicKey>>> {
    Ok(Json(subsonic_keys::list(&state, &caller.user).await?))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    subsonic_keys::revoke(&state, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_app_password(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(new): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = subsonic_keys::issue_app_password(&state, &caller.user, &new.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "password": issued.password, "record": issued.record }))))
}

pub async fn list_app_passwords(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> ApiResult<Json<Vec<SubsonicAppPassword>>> {
    Ok(Json(subsonic_keys::app_passwords(&state, &caller.user).await?))
}

pub async fn revoke_app_password(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    subsonic_keys::revoke_app_password(&state, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
