//! Who is calling: every Subsonic method but `getOpenSubsonicExtensions`
//! authenticates, one of three ways:
//!
//! - `u` with `p` (plain, or `enc:` and hex): the account's email and either
//!   one of its app passwords or its password (checked against its Argon2
//!   hash, remembered ten minutes in `services::apps`: apps send it with
//!   every request).
//! - `u` with `t` and `s`: `t` is md5(password + `s`), which only a secret
//!   the server can read back can answer. Account passwords are never kept
//!   that way, so the token is checked against the user's app passwords
//!   (`services::subsonic_keys`); a user without any gets code 41, saying
//!   to make one.
//! - `apiKey` (OpenSubsonic `apiKeyAuthentication`): a key the user made,
//!   kept as a SHA-256.
//!
//! Failures count towards the login throttle like a failed login.

use archive_db::User;

use super::Params;
use super::error::SubsonicError;
use crate::auth::KeyKind;
use crate::state::AppState;

/// The caller's account, and whether it came with an API key; or why not.
pub async fn authenticate(
    state: &AppState,
    params: &Params,
    address: &str,
) -> Result<(User, bool), SubsonicError> {
    let username = params.get("u");
    if let Some(key) = params.get("apiKey") {
        if username.is_some() {
            return Err(SubsonicError::ConflictingCredentials);
        }
        return by_api_key(state, key, address).await.map(|user| (user, true));
    }
    by_username(state, params, username, address).await.map(|user| (user, false))
}

async fn by_username(
    state: &AppState,
    params: &Params,
    username: Option<&str>,
    address: &str,
) -> Result<User, SubsonicError> {
    let username = username.ok_or(SubsonicError::MissingParameter("u"))?;
    if let Some(password) = params.get("p") {
        return by_password(state, username, &plain_password(password)?, address).await;
    }
    if let Some(token) = params.get("t") {
        let salt = params.get("s").ok_or(SubsonicError::MissingParameter("s"))?;
        return by_token(state, username, token, salt, address).await;
    }
    Err(SubsonicError::MissingParameter("p"))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

/// The account `username` names, if a login to it may be tried now.
async fn account(
    state: &AppState,
    username: &str,
    address: &str,
) -> Result<(String, Option<User>), SubsonicError> {
    let account = username.trim().to_lowercase();
    if let Err(wait) = state.throttles.check_login(&account, address, archive_db::now()).await? {
        return Err(SubsonicError::Generic(format!(
            "too many failed attempts; try again in {} s",
            wait.as_secs()
        )));
    }
    let user = state.db.user_by_email(&account).await?;
    Ok((account, user))
}

async fn by_token(
    state: &AppState,
    username: &str,
    token: &str,
    salt: &str,
    address: &str,
) -> Result<User, SubsonicError> {
    let (account, user) = account(state, username, address).await?;
    let token = token.to_ascii_lowercase();
    if let Some(user) = user {
        let fits = |password: &str| {
            let digest = <md5::Md5 as md5::Digest>::digest(format!("{password}{salt}").as_bytes());
            same(&hex::encode(digest), &token)
        };
        match crate::services::subsonic_keys::find_app_password(state, &user, fits).await? {
            (_, Some(_)) => {
                state.throttles.login_succeeded(&account, address, archive_db::now()).await?;
                return Ok(user);
            }
            (false, None) => return Err(SubsonicError::TokenNotSupported),
            (true, None) => {}
        }
    }
    state.throttles.login_failed(&account, address, archive_db::now()).await?;
    Err(SubsonicError::WrongCredentials)
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
    let (account, user) = account(state, username, address).await?;
    if let Some(user) = user {
        if state.apps.passwords.remembers(&user, password) {
            return Ok(user);
        }
        // Not remembered: a revoked app password stops working at once.
        let app_password =
            crate::services::subsonic_keys::find_app_password(state, &user, |p| same(p, password));
        if app_password.await?.1.is_some() {
            return Ok(user);
        }
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

/// A valid key always gets through; bad keys are limited per address, and
/// past the limit the address's bad keys get an error saying how long to
/// wait. (Refusing a throttled address before looking at its key would let
/// one broken app behind a shared address stop everyone's.)
async fn by_api_key(state: &AppState, key: &str, address: &str) -> Result<User, SubsonicError> {
    let hash = crate::auth::hash_token(key);
    let found = state.db.subsonic_key_by_hash(&hash).await?;
    let user = match &found {
        Some(key) => state.db.user(key.user_id).await?,
        None => None,
    };
    let (Some(key), Some(user)) = (found, user) else {
        let now = archive_db::now();
        if let Err(wait) = state.throttles.check_key(KeyKind::SubsonicApi, address, now).await? {
            return Err(SubsonicError::Generic(format!(
                "too many failed attempts; try again in {} s",
                wait.as_secs()
            )));
        }
        state.throttles.key_failed(KeyKind::SubsonicApi, address, now).await?;
        return Err(SubsonicError::InvalidApiKey);
    };
    state.db.subsonic_key_used(key.id, key.last_used_at).await?;
    Ok(user)
}
