//! API tokens (node-local, never synced). Only a SHA-256 hash of each token
//! is stored; the token itself is shown once, to the client that logged in.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::users::{USER_COLUMNS, User};
use crate::{Db, Tx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuthToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Db {
    /// The live (unexpired, unrevoked) API token with this hash, and its user.
    pub async fn api_token(&self, token_hash: &[u8]) -> Result<Option<(AuthToken, User)>> {
        #[derive(sqlx::FromRow)]
        struct Joined {
            token_id: Uuid,
            token_created_at: DateTime<Utc>,
            expires_at: DateTime<Utc>,
            last_used_at: Option<DateTime<Utc>>,
            #[sqlx(flatten)]
            user: User,
        }
        let user_columns: Vec<String> = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
        let mut sql = crate::sql::Sql::new(&format!(
            "SELECT t.id AS token_id, t.created_at AS token_created_at, t.expires_at, t.last_used_at, {} \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.revoked_at IS NULL AND t.token_hash = ",
            user_columns.join(", ")
        ));
        sql.bind(crate::sql::Param::Bytes(token_hash.to_vec()));
        sql.push(" AND t.expires_at > ");
        sql.bind(crate::sql::Param::Time(crate::now()));
        let row: Option<Joined> = self.fetch_optional_sql(sql).await?;
        Ok(row.map(|j| {
            let token = AuthToken {
                id: j.token_id,
                user_id: j.user.id,
                created_at: j.token_created_at,
                expires_at: j.expires_at,
                last_used_at: j.last_used_at,
            };
            (token, j.user)
        }))
    }
}

impl Tx {
    pub async fn insert_api_token(
        &mut self,
        user_id: Uuid,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<AuthToken> {
        let id = Uuid::now_v7();
        let now = crate::now();
        crate::backend::on_tx!(self, conn => {
            sqlx::query("INSERT INTO api_tokens (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(user_id)
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(conn)
                .await?;
        });
        // Expired tokens of this user are dropped whenever a new one is made.
        crate::backend::on_tx!(self, conn => {
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND expires_at <= $2")
                .bind(user_id)
                .bind(now)
                .execute(conn)
                .await?;
        });
        Ok(AuthToken { id, user_id, created_at: now, expires_at, last_used_at: None })
    }

    /// Revokes one API token. Revoking twice is harmless.
    pub async fn revoke_api_token(&mut self, id: Uuid) -> Result<()> {
        crate::backend::on_tx!(self, conn => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(crate::now())
                .bind(id)
                .execute(conn)
                .await?;
        });
        Ok(())
    }

    /// Revokes every credential of a user (password reset, deletion of access).
    pub async fn revoke_user_tokens(&mut self, user_id: Uuid) -> Result<()> {
        crate::backend::on_tx!(self, conn => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(crate::now())
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(conn).await?;
        });
        Ok(())
    }

    /// Records that a token was used (callers do it at most once a minute).
    pub async fn touch_api_token(&mut self, id: Uuid) -> Result<()> {
        crate::backend::on_tx!(self, conn => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(crate::now())
                .bind(id)
                .execute(conn)
                .await?;
        });
        Ok(())
    }
}
