//! Users: admins manage everyone; every user reads and edits their own
//! account under `/me`. The last admin can be neither demoted nor deleted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use archive_db::{NewUser, Page, Role, User, UserPatch};

use super::auth::{TokenResponse, confirm_password, issue_token};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, PAGE_PARAMS, Params};
use super::library::{created, master_only};
use super::{AppState, ClientAddress, CurrentUser};
use crate::auth::{check_password_rules, hash_password};

async fn hashed(password: Option<String>) -> ApiResult<Option<String>> {
    match password {
        None => Ok(None),
        Some(p) => {
            check_password_rules(&p).map_err(|m| ApiError::invalid(Some("password"), m))?;
            Ok(Some(hash_password(p).await?))
        }
    }
}

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
}

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    Ok(created(create_user(&state, body.email, body.name, body.role, body.password).await?))
}

/// Creates an account (the API and the users page).
pub(crate) async fn create_user(
    state: &AppState,
    email: String,
    name: String,
    role: Role,
    password: String,
) -> ApiResult<User> {
    master_only(state, "Managing accounts")?;
    let password_hash = hashed(Some(password)).await?.expect("given");
    let new = NewUser { email, name, role, password_hash };
    let mut tx = state.db.begin().await?;
    let user = tx.insert_user(new).await.map_err(|e| match e {
        archive_db::DbError::Duplicate(_) => ApiError::conflict("a user with this email exists"),
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    email: Option<String>,
    name: Option<String>,
    role: Option<Role>,
    /// A new password; every session of the user ends.
    password: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> ApiResult<Json<User>> {
    Ok(Json(update_user(&state, id, body.email, body.name, body.role, body.password).await?))
}

/// Changes an account (the API and the users page). A new password ends
/// every session of the user; the last admin cannot be demoted.
pub(crate) async fn update_user(
    state: &AppState,
    id: Uuid,
    email: Option<String>,
    name: Option<String>,
    role: Option<Role>,
    password: Option<String>,
) -> ApiResult<User> {
    master_only(state, "Managing accounts")?;
    let resets_password = password.is_some();
    let patch = UserPatch { email, name, role, password_hash: hashed(password).await? };
    let mut tx = state.db.begin().await?;
    let user = tx.update_user(id, patch).await?;
    if tx.count_admins().await? == 0 {
        return Err(ApiError::conflict("the last admin cannot be demoted"));
    }
    if resets_password {
        tx.revoke_user_tokens(id).await?;
    }
    tx.commit().await?;
    Ok(user)
}

pub async fn remove(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    delete_user(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an account (the API and the users page); never the last admin.
pub(crate) async fn delete_user(state: &AppState, id: Uuid) -> ApiResult<()> {
    master_only(state, "Managing accounts")?;
    let mut tx = state.db.begin().await?;
    tx.delete_user(id).await?;
    if tx.count_admins().await? == 0 {
        return Err(ApiError::conflict("the last admin cannot be deleted"));
    }
    tx.commit().await?;
    Ok(())
}

pub async fn me(caller: CurrentUser) -> Json<User> {
    Json(caller.user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MePatchBody {
    name: Option<String>,
    /// A new password; needs `current_password`.
    password: Option<String>,
    current_password: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum MeResponse {
    User(User),
    /// After a password change every token ends, this one included; a new one comes back.
    NewToken(TokenResponse),
}

pub async fn update_me(
    State(state): State<AppState>,
    caller: CurrentUser,
    address: ClientAddress,
    ApiJson(body): ApiJson<MePatchBody>,
) -> ApiResult<Json<MeResponse>> {
    let change =
        OwnChange { name: body.name, password: body.password, current_password: body.current_password };
    let (user, token) = update_own_account(&state, &caller.user, change, &address).await?;
    Ok(Json(match token {
        Some(token) => MeResponse::NewToken(token),
        None => MeResponse::User(user),
    }))
}

/// A user's change to their own account.
#[derive(Debug, Default)]
pub(crate) struct OwnChange {
    pub name: Option<String>,
    /// A new password; needs `current_password`.
    pub password: Option<String>,
    pub current_password: Option<String>,
}

/// A user changes their own name or password (the API and the profile
/// page). A new password needs the current one (a wrong one counts as a
/// failed login) and ends every session of the user; a new token for the
/// caller comes back then.
pub(crate) async fn update_own_account(
    state: &AppState,
    me: &User,
    change: OwnChange,
    address: &ClientAddress,
) -> ApiResult<(User, Option<TokenResponse>)> {
    master_only(state, "Changing an account")?;
    let OwnChange { name, password, current_password } = change;
    if password.is_some() {
        confirm_password(state, me, current_password.unwrap_or_default(), address).await?;
    }
    let changes_password = password.is_some();
    let patch = UserPatch { name, password_hash: hashed(password).await?, ..Default::default() };
    let mut tx = state.db.begin().await?;
    let user = tx.update_user(me.id, patch).await?;
    if changes_password {
        tx.revoke_user_tokens(user.id).await?;
    }
    tx.commit().await?;
    if changes_password {
        let token = issue_token(state, user.clone()).await?;
        return Ok((user, Some(token)));
    }
    Ok((user, None))
}
