//! The master's count of the audio-file bytes each slave key sent it today,
//! held to a daily quota (`SYNC_UPLOAD_GB_PER_DAY`; the policy is in
//! `archive::sync::files`). One row per key, for its current UTC day; a
//! key's rows of earlier days are dropped when it starts a new one.
//! Node-local, never synced; shared by every process on one database.

use uuid::Uuid;

use crate::Db;
use crate::backend::{on_pool, on_tx};
use crate::error::Result;

fn as_count(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

impl Db {
    /// Counts `bytes` against what `key_id` sent on `day` (`YYYY-MM-DD`,
    /// UTC) if the day's total stays within `quota`; whether it did. Atomic:
    /// two pieces racing for the last of the quota cannot both have it.
    pub async fn take_upload_bytes(&self, key_id: Uuid, day: &str, bytes: u64, quota: u64) -> Result<bool> {
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
            sqlx::query(
                "UPDATE slave_key_uploads SET bytes = bytes + $3 \
                 WHERE key_id = $1 AND day = $2 AND bytes + $3 <= $4",
            )
            .bind(key_id)
            .bind(day)
            .bind(as_count(bytes))
            .bind(as_count(quota))
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1
        });
        tx.commit().await?;
        Ok(taken)
    }

    /// Gives back bytes that [`Db::take_upload_bytes`] counted and that did
    /// not arrive (a piece cut short or refused).
    pub async fn give_back_upload_bytes(&self, key_id: Uuid, day: &str, bytes: u64) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE slave_key_uploads SET bytes = CASE WHEN bytes > $3 THEN bytes - $3 ELSE 0 END \
                 WHERE key_id = $1 AND day = $2",
            )
            .bind(key_id)
            .bind(day)
            .bind(as_count(bytes))
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// The bytes `key_id` sent on `day`.
    pub async fn uploaded_bytes(&self, key_id: Uuid, day: &str) -> Result<u64> {
        let bytes = on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT bytes FROM slave_key_uploads WHERE key_id = $1 AND day = $2")
                .bind(key_id)
                .bind(day)
                .fetch_optional(pool)
                .await?
        });
        Ok(bytes.map_or(0, |b| u64::try_from(b).unwrap_or(0)))
    }
}
