//! Users: admins manage everyone; every user reads and edits their own
//! account under `/me`. The rules (the last admin, a slave's changes made
//! on the master) are in `services::accounts`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use archive_db::{Page, Role, User};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, MaybeJson, PAGE_PARAMS, Params};
use super::library::created;
use super::{ClientAddress, CurrentUser};
use crate::services::accounts::{self, AccountChange, Asker, OwnChange};
use crate::services::sessions::IssuedToken;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, params: Params) -> ApiResult<Json<Page<User>>> {
    params.finish(PAGE_PARAMS)?;
    Ok(Json(state.db.users(&params.page()?).await?))
}

pub async fn get(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<User>> {
    state.db.user(id).await?.map(Json).ok_or_else(|| ApiError::not_found("user"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    email: String,
    name: String,
    role: Role,
    password: String,
    /// On a slave: the admin's own password, which the master checks.
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: CurrentUser,
    address: ClientAddress,
    ApiJson(body): ApiJson<UserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let asker = Asker { user: &caller.user, address: &address.0, password: body.current_password };
    let user = accounts::create_user(&state, &asker, body.email, body.name, body.role, body.password).await?;
    Ok(created(user))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    email: Option<String>,
    name: Option<String>,
    role: Option<Role>,
    /// A new password; every session of the user ends.
    password: Option<String>,
    /// On a slave: the admin's own password, which the master checks.
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: CurrentUser,
    address: ClientAddress,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> ApiResult<Json<User>> {
    let asker = Asker { user: &caller.user, address: &address.0, password: body.current_password };
    let change =
        AccountChange { email: body.email, name: body.name, role: body.role, password: body.password };
    Ok(Json(accounts::update_user(&state, &asker, id, change).await?))
}

/// What `DELETE /users/{id}` may carry: on a slave, the admin's own password.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn remove(
    State(state): State<AppState>,
    caller: CurrentUser,
    address: ClientAddress,
    ApiPath(id): ApiPath<Uuid>,
    MaybeJson(body): MaybeJson<DeleteBody>,
) -> ApiResult<StatusCode> {
    let password = body.unwrap_or_default().current_password;
    accounts::delete_user(&state, &Asker { user: &caller.user, address: &address.0, password }, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(caller: CurrentUser) -> Json<User> {
    Json(caller.user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MePatchBody {
    name: Option<String>,
    /// A new password; needs `current_password` (on a slave, every change does).
    password: Option<String>,
    current_password: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum MeResponse {
    User(User),
    /// After a password change every token ends, this one included; a new one comes back.
    NewToken(IssuedToken),
}

pub async fn update_me(
    State(state): State<AppState>,
    caller: CurrentUser,
    address: ClientAddress,
    ApiJson(body): ApiJson<MePatchBody>,
) -> ApiResult<Json<MeResponse>> {
    let change =
        OwnChange { name: body.name, password: body.password, current_password: body.current_password };
    let (user, token) = accounts::update_own_account(&state, &caller.user, change, &address.0).await?;
    Ok(Json(match token {
        Some(token) => MeResponse::NewToken(token),
        None => MeResponse::User(user),
    }))
}
