//! `/api/v1/auth/*`: log in with email and password for a bearer token;
//! log out (revoke it), refresh (swap it for a new one), verify.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use archive_db::User;

use super::error::ApiResult;
use super::extract::ApiJson;
use super::{ClientAddress, CurrentUser};
use crate::services::sessions::{self, IssuedToken};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<IssuedToken>> {
    let user = sessions::authenticate(&state, &body.email, body.password, &address.0).await?;
    Ok(Json(sessions::issue_token(&state, user).await?))
}

pub async fn logout(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<StatusCode> {
    sessions::revoke_token(&state, caller.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new token for the caller; the one used to ask is revoked.
pub async fn refresh(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<IssuedToken>> {
    let response = sessions::issue_token(&state, caller.user).await?;
    sessions::revoke_token(&state, caller.token_id).await?;
    Ok(Json(response))
}

#[derive(Serialize)]
pub struct VerifyResponse {
    user: User,
}

pub async fn verify(caller: CurrentUser) -> Json<VerifyResponse> {
    Json(VerifyResponse { user: caller.user })
}
