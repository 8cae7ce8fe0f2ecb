//! `/api/v1/auth/*`: log in with email and password for a bearer token;
//! log out (revoke it), refresh (swap it for a new one), verify.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use archive_db::User;

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::{ClientAddress, CurrentUser};
use crate::auth::{TOKEN_LIFETIME, hash_password, hash_token, new_token, verify_password};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub struct TokenResponse {
    pub token: String,
    expires_at: DateTime<Utc>,
    user: User,
}

/// A real hash to verify against when the account does not exist, so that
/// a wrong email takes as long as a wrong password.
async fn dummy_hash() -> ApiResult<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = DUMMY.get_or_try_init(|| hash_password("no account has this password".into())).await?;
    Ok(hash.clone())
}

pub async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let user = authenticate(&state, &body.email, body.password, &address).await?;
    Ok(Json(issue_token(&state, user).await?))
}

/// Checks an email and password (the API's login and the login page),
/// under the login throttle (see [`crate::auth::LoginThrottle`]).
pub(crate) async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
    address: &ClientAddress,
) -> ApiResult<User> {
    let account = email.trim().to_lowercase();
    let address = address.0.as_str();
    let now = Instant::now();
    if let Err(wait) = state.logins.check(&account, address, now) {
        tracing::warn!(%address, "login refused: too many failures");
        return Err(ApiError::too_many(wait.as_secs()));
    }
    let user = state.db.user_by_email(&account).await?;
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let valid = verify_password(password, hash).await && user.is_some();
    let Some(user) = user.filter(|_| valid) else {
        state.logins.failed(&account, address, now);
        tracing::info!(%address, "failed login");
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    state.logins.succeeded(&account, address, now);
    Ok(user)
}

/// Checks a logged-in user's current password (before a change to their
/// account): a wrong one counts as a failed login, under the same throttle,
/// so a stolen session cannot guess the password freely.
pub(crate) async fn confirm_password(
    state: &AppState,
    user: &User,
    password: String,
    address: &ClientAddress,
) -> ApiResult<()> {
    let address = address.0.as_str();
    let now = Instant::now();
    if let Err(wait) = state.logins.check(&user.email, address, now) {
        return Err(ApiError::too_many(wait.as_secs()));
    }
    if verify_password(password, user.password_hash.clone()).await {
        return Ok(());
    }
    state.logins.failed(&user.email, address, now);
    tracing::info!(%address, "wrong current password");
    Err(ApiError::invalid(Some("current_password"), "the current password is wrong"))
}

pub(crate) async fn issue_token(state: &AppState, user: User) -> ApiResult<TokenResponse> {
    let token = new_token();
    let expires_at = archive_db::now() + chrono::Duration::from_std(TOKEN_LIFETIME).expect("fits");
    let mut tx = state.db.begin().await?;
    tx.insert_api_token(user.id, &hash_token(&token), expires_at).await?;
    tx.commit().await?;
    Ok(TokenResponse { token, expires_at, user })
}

pub async fn logout(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    tx.revoke_api_token(caller.token_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new token for the caller; the one used to ask is revoked.
pub async fn refresh(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<TokenResponse>> {
    let response = issue_token(&state, caller.user).await?;
    let mut tx = state.db.begin().await?;
    tx.revoke_api_token(caller.token_id).await?;
    tx.commit().await?;
    Ok(Json(response))
}

#[derive(Serialize)]
pub struct VerifyResponse {
    user: User,
}

pub async fn verify(caller: CurrentUser) -> Json<VerifyResponse> {
    Json(VerifyResponse { user: caller.user })
}
