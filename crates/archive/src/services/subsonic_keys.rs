//! What a user makes for Subsonic apps, and lists and revokes alone:
//!
//! - API keys (`apiKey`): 32 random bytes, shown once as `arcsub_` and hex,
//!   kept as their SHA-256;
//! - app passwords, for apps that authenticate with a token (md5 of the
//!   password and a salt, so the server must read the password back): 24
//!   random letters, shown once, kept sealed with the node's key (the
//!   key-encryption key that seals a slave's key), never an account password.

use uuid::Uuid;

use archive_db::{SubsonicAppPassword, SubsonicKey, User};

use super::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::sync::keys::Kek;

/// A key just made: its secret (shown once) and its record.
pub struct IssuedKey {
    pub secret: String,
    pub record: SubsonicKey,
}

/// Characters of a key kept to tell it apart (`arcsub_` and 8 hex digits).
const PREFIX_CHARS: usize = 15;

pub async fn issue(state: &AppState, user: &User, name: &str) -> ServiceResult<IssuedKey> {
    let secret = crate::auth::new_token().replacen("arc_", "arcsub_", 1);
    let hash = crate::auth::hash_token(&secret);
    let prefix: String = secret.chars().take(PREFIX_CHARS).collect();
    let mut tx = state.db.begin().await?;
    let record = tx.insert_subsonic_key(user.id, name, &hash, &prefix).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, key = %record.id, "Subsonic API key made");
    Ok(IssuedKey { secret, record })
}

pub async fn list(state: &AppState, user: &User) -> ServiceResult<Vec<SubsonicKey>> {
    Ok(state.db.subsonic_keys(user.id).await?)
}

/// Revokes one of `user`'s keys at once.
pub async fn revoke(state: &AppState, user: &User, id: Uuid) -> ServiceResult<()> {
    let mut tx = state.db.begin().await?;
    let found = tx.revoke_subsonic_key(user.id, id).await?;
    tx.commit().await?;
    match found {
        true => Ok(()),
        false => Err(ServiceError::NotFound("Subsonic API key")),
    }
}

/// An app password just made: the password (shown once) and its record.
pub struct IssuedAppPassword {
    pub password: String,
    pub record: SubsonicAppPassword,
}

/// The letters of an app password: no `l`, `o`, `0` or `1` to confuse when
/// typed on a phone; 32 of them, so each carries 5 random bits.
const APP_PASSWORD_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// 24 letters (120 random bits) in groups of four: `abcd-efgh-…`.
fn new_app_password() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    let letters: Vec<char> = bytes.iter().map(|b| APP_PASSWORD_ALPHABET[(b & 31) as usize] as char).collect();
    letters.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The node's key that seals app passwords (the one that seals a slave's key).
fn node_key(state: &AppState) -> ServiceResult<Kek> {
    let config = state.config();
    Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

pub async fn issue_app_password(
    state: &AppState,
    user: &User,
    name: &str,
) -> ServiceResult<IssuedAppPassword> {
    let password = new_app_password();
    let sealed = node_key(state)?.seal(&password);
    let mut tx = state.db.begin().await?;
    let record = tx.insert_subsonic_app_password(user.id, name, &sealed).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, app_password = %record.id, "Subsonic app password made");
    Ok(IssuedAppPassword { password, record })
}

pub async fn app_passwords(state: &AppState, user: &User) -> ServiceResult<Vec<SubsonicAppPassword>> {
    Ok(state.db.subsonic_app_passwords(user.id).await?)
}

pub async fn revoke_app_password(state: &AppState, user: &User, id: Uuid) -> ServiceResult<()> {
    let mut tx = state.db.begin().await?;
    let found = tx.revoke_subsonic_app_password(user.id, id).await?;
    tx.commit().await?;
    match found {
        true => Ok(()),
        false => Err(ServiceError::NotFound("app password")),
    }
}

/// Whether `user` has app passwords, and which of them (if any) `fits`:
/// each is opened with the node's key and offered to `fits`. A match is
/// recorded as a use.
pub async fn find_app_password(
    state: &AppState,
    user: &User,
    fits: impl Fn(&str) -> bool,
) -> ServiceResult<(bool, Option<Uuid>)> {
    let passwords = state.db.subsonic_app_passwords(user.id).await?;
    if passwords.is_empty() {
        return Ok((false, None));
    }
    let key = node_key(state)?;
    let found = passwords.iter().find(|p| key.open(&p.sealed).is_ok_and(|password| fits(&password)));
    if let Some(found) = found {
        state.db.subsonic_app_password_used(found.id, found.last_used_at).await?;
    }
    Ok((true, found.map(|p| p.id)))
}
