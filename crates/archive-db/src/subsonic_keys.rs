//! What users make for Subsonic apps: API keys (OpenSubsonic `apiKey`),
//! kept as the SHA-256 of the key, and app passwords (for token
//! authentication), kept sealed with the node's key. Node-local.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SubsonicKey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub key_hash: Vec<u8>,
    /// The key's first characters, to tell keys apart.
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const KEY_COLUMNS: &str = "id, user_id, name, key_hash, key_prefix, created_at, last_used_at";

/// Uses closer together than this move "last used" once.
const USE_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

impl Db {
    /// A user's keys, newest first.
    pub async fn subsonic_keys(&self, user_id: Uuid) -> Result<Vec<SubsonicKey>> {
        let mut sql = Sql::new(&format!("SELECT {KEY_COLUMNS} FROM subsonic_api_keys WHERE user_id = "));
        sql.bind(Param::Uuid(user_id));
        sql.push(" ORDER BY created_at DESC LIMIT 1000");
        self.fetch_all_sql(sql).await
    }

    pub async fn subsonic_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<SubsonicKey>> {
        let mut sql = Sql::new(&format!("SELECT {KEY_COLUMNS} FROM subsonic_api_keys WHERE key_hash = "));
        sql.bind(Param::Bytes(key_hash.to_vec()));
        self.fetch_optional_sql(sql).await
    }
}

impl Tx {
    pub async fn insert_subsonic_key(
        &mut self,
        user_id: Uuid,
        name: &str,
        key_hash: &[u8],
        key_prefix: &str,
    ) -> Result<SubsonicKey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(crate::DbError::invalid("name", "a key's name is 1 to 100 characters"));
        }
        let id = Uuid::now_v7();
        let mut sql = Sql::new(&format!("INSERT INTO subsonic_api_keys ({KEY_COLUMNS}) VALUES ("));
        sql.bind(Param::Uuid(id)).push(", ");
        sql.bind(Param::Uuid(user_id)).push(", ");
        sql.bind(Param::Text(name.to_owned())).push(", ");
        sql.bind(Param::Bytes(key_hash.to_vec())).push(", ");
        sql.bind(Param::Text(key_prefix.to_owned())).push(", ");
        sql.bind(Param::Time(crate::now())).push(", NULL)");
        self.execute_sql(sql).await?;
        let mut sql = Sql::new(&format!("SELECT {KEY_COLUMNS} FROM subsonic_api_keys WHERE id = "));
        sql.bind(Param::Uuid(id));
        self.fetch_optional_sql(sql).await?.ok_or(crate::DbError::NotFound)
    }

    /// Deletes `user_id`'s key `id`; whether there was one.
    pub async fn revoke_subsonic_key(&mut self, user_id: Uuid, id: Uuid) -> Result<bool> {
        self.delete_owned("subsonic_api_keys", user_id, id).await
    }

    /// Deletes row `id` of `table` if `user_id` owns it; whether it did.
    async fn delete_owned(&mut self, table: &str, user_id: Uuid, id: Uuid) -> Result<bool> {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE id = "));
        sql.bind(Param::Uuid(id)).push(" AND user_id = ");
        sql.bind(Param::Uuid(user_id));
        Ok(self.execute_sql(sql).await? > 0)
    }
}

impl Db {
    /// Key `id`, last used at `last_used_at` as read, was used now.
    pub async fn subsonic_key_used(&self, id: Uuid, last_used_at: Option<DateTime<Utc>>) -> Result<()> {
        self.note_use("subsonic_api_keys", id, last_used_at).await
    }

    /// App password `id`, last used at `last_used_at` as read, was used now.
    pub async fn subsonic_app_password_used(
        &self,
        id: Uuid,
        last_used_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.note_use("subsonic_app_passwords", id, last_used_at).await
    }

    /// Moves "last used" of row `id` of `table` to now, at most once a
    /// minute: apps authenticate every request, and most of them write
    /// nothing (no write transaction, which on SQLite would wait behind an
    /// import's).
    async fn note_use(&self, table: &str, id: Uuid, last_used_at: Option<DateTime<Utc>>) -> Result<()> {
        let now = crate::now();
        if last_used_at.is_some_and(|at| now - at < USE_RESOLUTION) {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let mut sql = Sql::new(&format!("UPDATE {table} SET last_used_at = "));
        sql.bind(Param::Time(now)).push(" WHERE id = ");
        sql.bind(Param::Uuid(id));
        // Another request may have moved it since it was read.
        sql.push(" AND (last_used_at IS NULL OR last_used_at < ");
        sql.bind(Param::Time(now - USE_RESOLUTION)).push(")");
        tx.execute_sql(sql).await?;
        tx.commit().await
    }
}

/// An app password: its secret is sealed with the node's key by the caller
/// (this crate never sees it in the clear).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SubsonicAppPassword {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub sealed: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const APP_PASSWORD_COLUMNS: &str = "id, user_id, name, sealed, created_at, last_used_at";

/// App passwords a user may have at once (a token is checked against each).
pub const APP_PASSWORDS_MAX: i64 = 20;

impl Db {
    /// A user's app passwords, newest first.
    pub async fn subsonic_app_passwords(&self, user_id: Uuid) -> Result<Vec<SubsonicAppPassword>> {
        let mut sql =
            Sql::new(&format!("SELECT {APP_PASSWORD_COLUMNS} FROM subsonic_app_passwords WHERE user_id = "));
        sql.bind(Param::Uuid(user_id));
        sql.push(" ORDER BY created_at DESC LIMIT ");
        sql.bind(Param::Int(APP_PASSWORDS_MAX));
        self.fetch_all_sql(sql).await
    }
}

impl Tx {
    pub async fn insert_subsonic_app_password(
        &mut self,
        user_id: Uuid,
        name: &str,
        sealed: &str,
    ) -> Result<SubsonicAppPassword> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(crate::DbError::invalid("name", "an app password's name is 1 to 100 characters"));
        }
        let mut count = Sql::new("SELECT count(*) FROM subsonic_app_passwords WHERE user_id = ");
        count.bind(Param::Uuid(user_id));
        let existing: Vec<(i64,)> = self.fetch_all_sql(count).await?;
        if existing.first().is_some_and(|(n,)| *n >= APP_PASSWORDS_MAX) {
            let message = format!("at most {APP_PASSWORDS_MAX} app passwords: revoke one first");
            return Err(crate::DbError::invalid("name", message));
        }
        let id = Uuid::now_v7();
        let mut sql =
            Sql::new(&format!("INSERT INTO subsonic_app_passwords ({APP_PASSWORD_COLUMNS}) VALUES ("));
        sql.bind(Param::Uuid(id)).push(", ");
        sql.bind(Param::Uuid(user_id)).push(", ");
        sql.bind(Param::Text(name.to_owned())).push(", ");
        sql.bind(Param::Text(sealed.to_owned())).push(", ");
        sql.bind(Param::Time(crate::now())).push(", NULL)");
        self.execute_sql(sql).await?;
        let mut sql =
            Sql::new(&format!("SELECT {APP_PASSWORD_COLUMNS} FROM subsonic_app_passwords WHERE id = "));
        sql.bind(Param::Uuid(id));
        self.fetch_optional_sql(sql).await?.ok_or(crate::DbError::NotFound)
    }

    /// Deletes `user_id`'s app password `id`; whether there was one.
    pub async fn revoke_subsonic_app_password(&mut self, user_id: Uuid, id: Uuid) -> Result<bool> {
        self.delete_owned("subsonic_app_passwords", user_id, id).await
    }
}
