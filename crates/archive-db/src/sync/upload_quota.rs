//! The master's daily counts of what each slave key sent it: the bytes of
//! audio files (`SYNC_UPLOAD_GB_PER_DAY`) and the changes pushed
//! (`SYNC_PUSH_CHANGES_PER_DAY`), each held to its quota (the policy is in
//! `archive::sync`). One row per key, for its current UTC day; a key's rows
//! of earlier days are dropped when it starts a new one. Node-local, never
//! synced; shared by every process on one database.

use uuid::Uuid;

use crate::Db;
use crate::backend::{on_pool, on_tx};
use crate::error::Result;

/// What a slave key's day counts.
#[derive(Debug, Clone, Copy)]
enum Daily {
    FileBytes,
    PushedChanges,
}

impl Daily {
    fn column(self) -> &'static str {
        match self {
            Daily::FileBytes => "bytes",
            Daily::PushedChanges => "changes",
        }
    }
}

fn as_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Db {
    /// Counts `bytes` against what `key_id` sent on `day` (`YYYY-MM-DD`,
    /// UTC) if the day's total stays within `quota`; whether it did. Atomic:
    /// two pieces racing for the last of the quota cannot both have it.
    pub async fn take_upload_bytes(&self, key_id: Uuid, day: &str, bytes: u64, quota: u64) -> Result<bool> {
        self.take_daily(Daily::FileBytes, key_id, day, bytes, quota).await
    }

    /// Gives back bytes that [`Db::take_upload_bytes`] counted and that did
    /// not arrive (a piece cut short or refused).
    pub async fn give_back_upload_bytes(&self, key_id: Uuid, day: &str, bytes: u64) -> Result<()> {
        self.give_back_daily(Daily::FileBytes, key_id, day, bytes).await
    }

    /// The bytes `key_id` sent on `day`.
    pub async fn uploaded_bytes(&self, key_id: Uuid, day: &str) -> Result<u64> {
        self.daily_count(Daily::FileBytes, key_id, day).await
    }

    /// Counts a push of `changes` against what `key_id` pushed on `day` if
    /// the day's total stays within `quota`; whether it did. Atomic, as
    /// [`Db::take_upload_bytes`].
    pub async fn take_pushed_changes(
        &self,
        key_id: Uuid,
        day: &str,
        changes: u64,
        quota: u64,
    ) -> Result<bool> {
        self.take_daily(Daily::PushedChanges, key_id, day, changes, quota).await
    }

    /// Gives back changes that [`Db::take_pushed_changes`] counted and that
    /// were not applied (the push failed).
    pub async fn give_back_pushed_changes(&self, key_id: Uuid, day: &str, changes: u64) -> Result<()> {
        self.give_back_daily(Daily::PushedChanges, key_id, day, changes).await
    }

    /// The changes `key_id` pushed on `day`.
    pub async fn pushed_changes(&self, key_id: Uuid, day: &str) -> Result<u64> {
        self.daily_count(Daily::PushedChanges, key_id, day).await
    }

    async fn take_daily(
        &self,
        what: Daily,
        key_id: Uuid,
        day: &str,
        amount: u64,
        quota: u64,
    ) -> Result<bool> {
        let column = what.column();
        let mut tx = self.begin().await?;
        let taken = on_tx!(tx, conn => {
            // Earlier days only: a process whose clock is a little behind
            // near midnight must not wipe the next day's count.
            sqlx::query("DELETE FROM slave_key_uploads WHERE key_id = $1 AND day < $2")
                .bind(key_id)
                .bind(day)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO slave_key_uploads (key_id, day, bytes) VALUES ($1, $2, 0) \
                 ON CONFLICT (key_id, day) DO NOTHING",
            )
            .bind(key_id)
            .bind(day)
            .execute(&mut *conn)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE slave_key_uploads SET {column} = {column} + $3 \
                 WHERE key_id = $1 AND day = $2 AND {column} + $3 <= $4"
            )))
            .bind(key_id)
            .bind(day)
            .bind(as_count(amount))
            .bind(as_count(quota))
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1
        });
        tx.commit().await?;
        Ok(taken)
    }

    async fn give_back_daily(&self, what: Daily, key_id: Uuid, day: &str, amount: u64) -> Result<()> {
        let column = what.column();
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE slave_key_uploads SET {column} = CASE WHEN {column} > $3 THEN {column} - $3 ELSE 0 END \
                 WHERE key_id = $1 AND day = $2"
            )))
            .bind(key_id)
            .bind(day)
            .bind(as_count(amount))
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    async fn daily_count(&self, what: Daily, key_id: Uuid, day: &str) -> Result<u64> {
        let column = what.column();
        let count = on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT {column} FROM slave_key_uploads WHERE key_id = $1 AND day = $2"
            )))
            .bind(key_id)
            .bind(day)
            .fetch_optional(pool)
            .await?
        });
        Ok(count.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }
}
