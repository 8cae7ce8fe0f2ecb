//! Users: admins manage everyone; every user reads and edits their own
//! account under `/me`. The last admin can be neither demoted nor deleted.
//!
//! Accounts are the master's: on a slave, every change here goes to the
//! master at once, logged in there as the user who asks (whose password
//! is then required, and checked here and there), and comes back with the
//! pull that follows (see `sync::accounts`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use archive_db::{NewUser, Page, Role, User, UserPatch};

use super::auth::{TokenResponse, confirm_password, issue_token};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, MaybeJson, PAGE_PARAMS, Params};
use super::library::created;
use super::{ClientAddress, CurrentUser};
use crate::auth::{check_password_rules, hash_password};
use crate::config::NodeRole;
use crate::state::AppState;
use crate::sync::accounts::{ForwardError, MasterAccounts, user_in};

async fn hashed(password: Option<String>) -> ApiResult<Option<String>> {
    match password {
        None => Ok(None),
        Some(p) => {
            check_password_rules(&p).map_err(|m| ApiError::invalid(Some("password"), m))?;
            Ok(Some(hash_password(p).await?))
        }
    }
}

/// Who asks for a change to an account: the user, where from, and their own
/// password (needed on a slave, where the master checks it).
pub(crate) struct Asker<'a> {
    pub user: &'a User,
    pub address: &'a ClientAddress,
    pub password: Option<String>,
}

impl From<ForwardError> for ApiError {
    fn from(e: ForwardError) -> Self {
        match e {
            ForwardError::Unreachable(_) => {
                let mut error =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "master_unreachable", e.to_string());
                error.retry_after_secs = Some(60);
                error
            }
            ForwardError::WrongPassword => ApiError::invalid(Some("current_password"), e.to_string()),
            ForwardError::Refused { status, field, message, .. } => {
                let mut error =
                    ApiError::new(status, "master_refused", format!("the master refused: {message}"));
                error.field = field;
                error
            }
        }
    }
}

/// On a slave: the master's account API, and the asker's password, checked
/// here first (a wrong one counts as a failed login here, so a stolen
/// session cannot guess it through the master).
async fn on_master(state: &AppState, asker: &Asker<'_>) -> ApiResult<Option<(MasterAccounts, String)>> {
    let config = state.config();
    if config.role != NodeRole::Slave {
        return Ok(None);
    }
    let password = asker.password.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
        ApiError::invalid(
            Some("current_password"),
            "accounts are changed on the master: give your own password, which the master checks",
        )
    })?;
    confirm_password(state, asker.user, password.clone(), asker.address).await?;
    Ok(Some((MasterAccounts::new(&config.sync)?, password)))
}

/// After a change on the master: pull it here now, so that the change
/// shows at once (if the pull fails, it comes with the next one).
async fn pull_from_master(state: &AppState) {
    // Bounded: the request should not wait out a long cycle (a cycle cut
    // off resumes at the next from what it committed).
    const PULL_FOR: std::time::Duration = std::time::Duration::from_secs(10);
    let config = state.config();
    let cycle = crate::sync::engine::run_cycle_now(&state.db, &config);
    match tokio::time::timeout(PULL_FOR, cycle).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(target: "sync", error = %e, "an account change was made on the master; it arrives with the next sync")
        }
        Err(_) => {
            tracing::warn!(target: "sync", "an account change was made on the master; the pull is slow, it arrives with the next sync")
        }
    }
}

/// The account as this node holds it after the pull, or as the master
/// answered (if the pull has not brought it yet).
async fn after_pull(state: &AppState, answer: &Value) -> ApiResult<User> {
    let user = user_in(answer).ok_or_else(|| ApiError::internal("the master's answer holds no account"))?;
    pull_from_master(state).await;
    Ok(state.db.user(user.id).await?.unwrap_or(user))
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
    let asker = Asker { user: &caller.user, address: &address, password: body.current_password };
    Ok(created(create_user(&state, &asker, body.email, body.name, body.role, body.password).await?))
}

/// Creates an account (the API and the users page).
pub(crate) async fn create_user(
    state: &AppState,
    asker: &Asker<'_>,
    email: String,
    name: String,
    role: Role,
    password: String,
) -> ApiResult<User> {
    if let Some((master, own)) = on_master(state, asker).await? {
        let body = json!({ "email": email, "name": name, "role": role, "password": password });
        let answer =
            master.change(&asker.user.email, &own, Method::POST, "/api/v1/users", Some(body)).await?;
        return after_pull(state, &answer).await;
    }
    create_account(state, Some(asker.user.id), email, name, role, password).await
}

/// Creates an account on this node, on behalf of `author` (none: the first
/// admin, made at the first start).
pub(crate) async fn create_account(
    state: &AppState,
    author: Option<Uuid>,
    email: String,
    name: String,
    role: Role,
    password: String,
) -> ApiResult<User> {
    let password_hash = hashed(Some(password)).await?.expect("given");
    let new = NewUser { email, name, role, password_hash };
    let mut tx = state.db.begin().await?;
    tx.set_author(author).await?;
    let user = tx.insert_user(new).await.map_err(|e| match e {
        archive_db::DbError::Duplicate(_) => ApiError::conflict("a user with this email exists"),
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(user)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    /// A new password; every session of the user ends.
    pub password: Option<String>,
    /// On a slave: the admin's own password, which the master checks.
    #[serde(default)]
    pub current_password: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: CurrentUser,
    address: ClientAddress,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> ApiResult<Json<User>> {
    let asker = Asker { user: &caller.user, address: &address, password: body.current_password.clone() };
    Ok(Json(update_user(&state, &asker, id, body).await?))
}

/// Changes an account (the API and the users page). A new password ends
/// every session of the user; the last admin cannot be demoted.
pub(crate) async fn update_user(
    state: &AppState,
    asker: &Asker<'_>,
    id: Uuid,
    patch: UserPatchBody,
) -> ApiResult<User> {
    let resets_password = patch.password.is_some();
    if let Some((master, own)) = on_master(state, asker).await? {
        let body = json!({ "email": patch.email, "name": patch.name, "role": patch.role, "password": patch.password });
        let body = Value::Object(
            body.as_object().expect("an object").clone().into_iter().filter(|(_, v)| !v.is_null()).collect(),
        );
        let path = format!("/api/v1/users/{id}");
        let answer = master.change(&asker.user.email, &own, Method::PATCH, &path, Some(body)).await?;
        if resets_password {
            end_sessions(state, id).await?;
        }
        return after_pull(state, &answer).await;
    }
    let patch = UserPatch {
        email: patch.email,
        name: patch.name,
        role: patch.role,
        password_hash: hashed(patch.password).await?,
    };
    let mut tx = state.db.begin_as(asker.user.id).await?;
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

/// Ends every session of a user on this node (their password changed).
async fn end_sessions(state: &AppState, id: Uuid) -> ApiResult<()> {
    let mut tx = state.db.begin().await?;
    tx.revoke_user_tokens(id).await?;
    tx.commit().await?;
    Ok(())
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
    delete_user(&state, &Asker { user: &caller.user, address: &address, password }, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an account (the API and the users page); never the last admin.
pub(crate) async fn delete_user(state: &AppState, asker: &Asker<'_>, id: Uuid) -> ApiResult<()> {
    if let Some((master, own)) = on_master(state, asker).await? {
        let path = format!("/api/v1/users/{id}");
        master.change(&asker.user.email, &own, Method::DELETE, &path, None).await?;
        pull_from_master(state).await;
        return Ok(());
    }
    let mut tx = state.db.begin_as(asker.user.id).await?;
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
    /// A new password; needs `current_password` (on a slave, every change does).
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
    let OwnChange { name, password, current_password } = change;
    let changes_password = password.is_some();
    let asker = Asker { user: me, address, password: current_password.clone() };
    if let Some((master, own)) = on_master(state, &asker).await? {
        let mut body = json!({ "current_password": own });
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        let answer = master.change(&me.email, &own, Method::PATCH, "/api/v1/me", Some(body)).await?;
        let user = after_pull(state, &answer).await?;
        if changes_password {
            end_sessions(state, me.id).await?;
            let token = issue_token(state, user.clone()).await?;
            return Ok((user, Some(token)));
        }
        return Ok((user, None));
    }
    if changes_password {
        confirm_password(state, me, current_password.unwrap_or_default(), address).await?;
    }
    let patch = UserPatch { name, password_hash: hashed(password).await?, ..Default::default() };
    let mut tx = state.db.begin_as(me.id).await?;
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
