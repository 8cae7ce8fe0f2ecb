//! A user's API keys for Subsonic apps (`apiKey`): made, listed and
//! revoked by the user alone. A key is 32 random bytes, shown once as
//! `arcsub_` and hex, kept as its SHA-256.

use uuid::Uuid;

use archive_db::{SubsonicKey, User};

use super::{ServiceError, ServiceResult};
use crate::state::AppState;

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
