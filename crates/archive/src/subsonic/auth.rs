//! Who is calling: every Subsonic method but `getOpenSubsonicExtensions`
//! authenticates, one of two ways for now:
//!
//! - `u` with `p` (plain, or `enc:` and hex): the account's email and
//!   password, checked against its Argon2 hash under the login throttle.
//!   Apps send it with every request, so a password that was right is
//!   remembered for ten minutes (keyed by a hash of the email, the password
//!   and the account's current password hash: a changed password is not).
//! - `apiKey` (OpenSubsonic `apiKeyAuthentication`): a key the user made on
//!   their Profile page or through the API, kept as a SHA-256.
//!
//! `u` with `t` and `s` (md5 of the password and a salt) needs a secret the
//! server can read back; Archive never keeps account passwords that way.
//! It answers code 41 until app passwords are offered.

use std::time::Instant;

use archive_db::User;

use super::Params;
use super::error::SubsonicError;
use crate::state::AppState;

/// The caller's account, or why not.
pub async fn authenticate(state: &AppState, params: &Params, address: &str) -> Result<User, SubsonicError> {
    let username = params.get("u");
    if let Some(key) = params.get("apiKey") {
        if username.is_some() {
            return Err(SubsonicError::ConflictingCredentials);
        }
        return by_api_key(state, key, address).await;
    }
    let username = username.ok_or(SubsonicError::MissingParameter("u"))?;
    if let Some(password) = params.get("p") {
        return by_password(state, username, &plain_password(password)?, address).await;
    }
    if params.get("t").is_some() {
        return Err(SubsonicError::TokenNotSupported);
    }
    Err(SubsonicError::MissingParameter("p"))
}

/// `p` as sent: plain, or `enc:` followed by the password's bytes in hex.
fn plain_password(p: &str) -> Result<String, SubsonicError> {
    match p.strip_prefix("enc:") {
        None => Ok(p.to_owned()),
        Some(encoded) => {
            hex::decode(encoded).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(|| {
                SubsonicError::BadParameter { name: "p", message: "enc: must be followed by hex".into() }
            })
        }
    }
}

async fn by_password(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> Result<User, SubsonicError> {
    let account = username.trim().to_lowercase();
    if let Some(user) = state.db.user_by_email(&account).await?
        && state.apps.passwords.remembers(&user, password)
    {
        return Ok(user);
    }
    let user = crate::services::sessions::authenticate(state, &account, password.to_owned(), address)
        .await
        .map_err(|e| match e {
        crate::services::ServiceError::WrongCredentials => SubsonicError::WrongCredentials,
        other => other.into(),
    })?;
    state.apps.passwords.remember(&user, password);
    Ok(user)
}

/// Failed API keys are throttled per address like logins, under this account name.
const API_KEY_ACCOUNT: &str = "subsonic api key";

async fn by_api_key(state: &AppState, key: &str, address: &str) -> Result<User, SubsonicError> {
    let now = Instant::now();
    if let Err(wait) = state.logins.check(API_KEY_ACCOUNT, address, now) {
        return Err(SubsonicError::Generic(format!(
            "too many failed attempts; try again in {} s",
            wait.as_secs()
        )));
    }
    let hash = crate::auth::hash_token(key);
    let found = state.db.subsonic_key_by_hash(&hash).await?;
    let user = match &found {
        Some(key) => state.db.user(key.user_id).await?,
        None => None,
    };
    let (Some(key), Some(user)) = (found, user) else {
        state.logins.failed(API_KEY_ACCOUNT, address, now);
        return Err(SubsonicError::InvalidApiKey);
    };
    let mut tx = state.db.begin().await?;
    tx.subsonic_key_used(key.id).await?;
    tx.commit().await?;
    Ok(user)
}
