//! `/api/v1/auth/*`: log in with email and password for a bearer token;
//! log out (revoke it), refresh (swap it for a new one), verify.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use archive_db::User;

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::{AppState, CurrentUser};
use crate::auth::{TOKEN_LIFETIME, hash_password, hash_token, new_token, verify_password};

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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let user = authenticate(&state, &body.email, body.password, peer.ip().to_string()).await?;
    Ok(Json(issue_token(&state, user).await?))
}

/// Checks an email and password (the API's login and the login page),
/// counting failures per account and per client address.
pub(crate) async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
    address: String,
) -> ApiResult<User> {
    let account = email.trim().to_lowercase();
    let now = Instant::now();
    for (throttle, key) in
        [(&state.login_failures_by_account, &account), (&state.login_failures_by_address, &address)]
    {
        if let Err(wait) = throttle.check(key, now) {
            tracing::warn!(%address, "login refused: too many failures");
            return Err(ApiError::too_many(wait.as_secs()));
        }
    }
    let user = state.db.user_by_email(&account).await?;
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let valid = verify_password(password, hash).await && user.is_some();
    let Some(user) = user.filter(|_| valid) else {
        state.login_failures_by_account.fail(&account, now);
        state.login_failures_by_address.fail(&address, now);
        tracing::info!(%address, "failed login");
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    state.login_failures_by_account.clear(&account);
    Ok(user)
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
