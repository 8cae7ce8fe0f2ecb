//! Logging in: checking a password under the login throttle, and issuing
//! the token that the API's bearer header and the pages' session cookie
//! both carry.

use chrono::{DateTime, Utc};
use serde::Serialize;

use archive_db::User;

use super::{ServiceError, ServiceResult};
use crate::auth::{TOKEN_LIFETIME, hash_password, hash_token, new_token, verify_password};
use crate::state::AppState;

/// A new token, shown once, and whose it is.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A real hash to verify against when the account does not exist, so that
/// a wrong email takes as long as a wrong password.
async fn dummy_hash() -> ServiceResult<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = DUMMY
        .get_or_try_init(|| hash_password("no account has this password".into()))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(hash.clone())
}

/// Checks an email and password (the API's login and the login page),
/// under the login throttle (see [`crate::auth::Throttles`]); `address`
/// is the client's, as the throttle counts it.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
    address: &str,
) -> ServiceResult<User> {
    let account = email.trim().to_lowercase();
    let now = archive_db::now();
    if let Err(wait) = state.throttles.check_login(&account, address, now).await? {
        tracing::warn!(%address, "login refused: too many failures");
        return Err(ServiceError::Throttled(wait));
    }
    let user = state.db.user_by_email(&account).await?;
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let valid = verify_password(password, hash).await && user.is_some();
    let Some(user) = user.filter(|_| valid) else {
        state.throttles.login_failed(&account, address, now).await?;
        tracing::info!(%address, "failed login");
        return Err(ServiceError::WrongCredentials);
    };
    state.throttles.login_succeeded(&account, address, now).await?;
    Ok(user)
}

/// Checks a logged-in user's current password (before a change to their
/// account): a wrong one counts as a failed login, under the same throttle,
/// so a stolen session cannot guess the password freely.
pub async fn confirm_password(
    state: &AppState,
    user: &User,
    password: String,
    address: &str,
) -> ServiceResult<()> {
    let now = archive_db::now();
    if let Err(wait) = state.throttles.check_login(&user.email, address, now).await? {
        return Err(ServiceError::Throttled(wait));
    }
    if verify_password(password, user.password_hash.clone()).await {
        return Ok(());
    }
    state.throttles.login_failed(&user.email, address, now).await?;
    tracing::info!(%address, "wrong current password");
    Err(ServiceError::invalid("current_password", "the current password is wrong"))
}

/// A new token for `user`.
pub async fn issue_token(state: &AppState, user: User) -> ServiceResult<IssuedToken> {
    let token = new_token();
    let expires_at = archive_db::now() + chrono::Duration::from_std(TOKEN_LIFETIME).expect("fits");
    let mut tx = state.db.begin().await?;
    tx.insert_api_token(user.id, &hash_token(&token), expires_at).await?;
    tx.commit().await?;
    Ok(IssuedToken { token, expires_at, user })
}

/// Ends one session (logging out, or a refreshed token's predecessor).
pub async fn revoke_token(state: &AppState, token_id: uuid::Uuid) -> ServiceResult<()> {
    let mut tx = state.db.begin().await?;
    tx.revoke_api_token(token_id).await?;
    tx.commit().await?;
    Ok(())
}
