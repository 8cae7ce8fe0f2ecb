//! The sync engine's node-local records: named state values, slave keys, the
//! conflict log, per-peer status tracking and the list of recent attempts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::backend::on_tx;
use crate::error::{DbError, Result};
use crate::{Db, Tx};

impl Db {
    /// A named sync state value (see the `sync_state` table).
    pub async fn sync_state(&self, key: &str) -> Result<Option<String>> {
        let value = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT value FROM sync_state WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    /// Sets (or with `None` removes) a named sync state value in its own transaction.
    pub async fn set_sync_state(&self, key: &str, value: Option<&str>) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.set_sync_state(key, value).await?;
        tx.commit().await
    }
}

impl Tx {
    pub async fn sync_state(&mut self, key: &str) -> Result<Option<String>> {
        let value = on_tx!(self, conn => {
            sqlx::query_scalar::<_, String>("SELECT value FROM sync_state WHERE key = $1")
                .bind(key)
                .fetch_optional(conn)
                .await?
        });
        Ok(value)
    }

    pub async fn set_sync_state(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        let now = crate::now();
        on_tx!(self, conn => {
            match value {
                Some(value) => sqlx::query(
                    "INSERT INTO sync_state (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(conn)
                .await?,
                None => sqlx::query("DELETE FROM sync_state WHERE key = $1").bind(key).execute(conn).await?,
            };
        });
        Ok(())
    }
}

/// A slave key as the master keeps it: never the secret, only its hash.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SlaveKey {
    pub id: Uuid,
    pub name: String,
    pub node_id: String,
    /// The public part of the key that finds it (`arcsync_<prefix>_…`).
    pub key_prefix: String,
    #[serde(skip)]
    pub key_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// A read-only key pulls and never pushes.
    pub read_only: bool,
}

impl SlaveKey {
    /// Whether the key may be used at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

const SLAVE_KEY_COLUMNS: &str =
    "id, name, node_id, key_prefix, key_hash, created_at, expires_at, last_used_at, revoked_at, read_only";

impl Db {
    pub async fn slave_key_by_prefix(&self, prefix: &str) -> Result<Option<SlaveKey>> {
        let mut sql =
            crate::sql::Sql::new(&format!("SELECT {SLAVE_KEY_COLUMNS} FROM slave_keys WHERE key_prefix = "));
        sql.bind(crate::sql::Param::Text(prefix.to_owned()));
        self.fetch_optional_sql(sql).await
    }

    /// Every slave key, newest first (a master has a handful).
    pub async fn slave_keys(&self) -> Result<Vec<SlaveKey>> {
        let sql = crate::sql::Sql::new(&format!(
            "SELECT {SLAVE_KEY_COLUMNS} FROM slave_keys ORDER BY created_at DESC, id"
        ));
        self.fetch_all_sql(sql).await
    }

    /// Records that a key was used (at most once a minute per key).
    pub async fn touch_slave_key(&self, id: Uuid) -> Result<()> {
        let now = crate::now();
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE slave_keys SET last_used_at = $1 WHERE id = $2 \
                 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(now)
            .bind(id)
            .bind(now - chrono::Duration::minutes(1))
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }
}

impl Tx {
    /// Stores a new slave key (its hash; the secret is shown once by the caller).
    pub async fn create_slave_key(&mut self, key: &SlaveKey) -> Result<()> {
        if key.name.trim().is_empty() || key.node_id.trim().is_empty() {
            return Err(DbError::invalid("name", "name: a slave key needs a name and a node id"));
        }
        crate::library::storable("name", &key.name)?;
        crate::library::storable("node_id", &key.node_id)?;
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO slave_keys (id, name, node_id, key_prefix, key_hash, created_at, expires_at, read_only) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(key.id)
            .bind(&key.name)
            .bind(&key.node_id)
            .bind(&key.key_prefix)
            .bind(&key.key_hash)
            .bind(key.created_at)
            .bind(key.expires_at)
            .bind(key.read_only)
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    /// Revokes a key now; `NotFound` if there is no such key.
    pub async fn revoke_slave_key(&mut self, id: Uuid) -> Result<()> {
        let done = on_tx!(self, conn => {
            sqlx::query("UPDATE slave_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
                .bind(crate::now())
                .bind(id)
                .execute(conn)
                .await?
                .rows_affected()
        });
        if done == 0 { Err(DbError::NotFound) } else { Ok(()) }
    }

    /// Makes the other live keys of `node_id` expire at `at` (rotation with overlap).
    pub async fn expire_slave_keys_of(
        &mut self,
        node_id: &str,
        except: Uuid,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query(
                "UPDATE slave_keys SET expires_at = $1 WHERE node_id = $2 AND id <> $3 \
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
            )
            .bind(at)
            .bind(node_id)
            .bind(except)
            .execute(conn)
            .await?;
        });
        Ok(())
    }
}

crate::words::word_enum! {
    /// What became of a pushed change that did not stand as pushed.
    pub enum Resolution ("resolution") {
        /// The master's newer row stands.
        MasterWins = "master_wins",
        /// The change's row was folded into the master's equal one.
        Merged = "merged",
        /// The change was refused (its author's rights, or its values).
        Rejected = "rejected",
    }
}

crate::words::word_enum! {
    /// Which side a peer is.
    pub enum PeerRole ("peer_role") {
        Master = "master",
        Slave = "slave",
    }
}

crate::words::word_enum! {
    /// A slave's circuit breaker towards its master.
    pub enum BreakerState ("breaker_state") {
        /// Cycles run on schedule.
        Closed = "closed",
        /// Cycles wait until the breaker's timeout.
        Open = "open",
        /// One probe cycle may run.
        HalfOpen = "half_open",
    }
}

crate::words::word_enum! {
    /// How a sync cycle ended.
    pub enum AttemptOutcome ("outcome") {
        Success = "success",
        Failure = "failure",
    }
}

/// One entry of the conflict log: both sides of a pushed change that did
/// not win, and what became of it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConflictLog {
    pub id: Uuid,
    pub change_id: Uuid,
    pub node_id: String,
    pub table_name: String,
    pub row_id: Uuid,
    pub base_version: Option<i64>,
    pub master_version: Option<i64>,
    /// The slave's row as pushed (JSON), `None` for a delete.
    pub slave_row: Option<String>,
    /// The master's row when the change arrived (JSON), `None` if it had none.
    pub master_row: Option<String>,
    #[sqlx(try_from = "String")]
    pub resolution: Resolution,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl Db {
    /// The newest conflicts first, `limit` of them from `offset`.
    pub async fn conflict_logs(&self, limit: i64, offset: i64) -> Result<Vec<ConflictLog>> {
        let mut sql = crate::sql::Sql::new(
            "SELECT id, change_id, node_id, table_name, row_id, base_version, master_version, slave_row, \
             master_row, resolution, reason, created_at FROM conflict_logs ORDER BY created_at DESC, id LIMIT ",
        );
        sql.bind(crate::sql::Param::Int(limit.clamp(1, 500)));
        sql.push(" OFFSET ");
        sql.bind(crate::sql::Param::Int(offset.max(0)));
        self.fetch_all_sql(sql).await
    }
}

impl Tx {
    pub(crate) async fn log_conflict(&mut self, entry: &ConflictLog) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO conflict_logs (id, change_id, node_id, table_name, row_id, base_version, \
                 master_version, slave_row, master_row, resolution, reason, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(entry.id)
            .bind(entry.change_id)
            .bind(&entry.node_id)
            .bind(&entry.table_name)
            .bind(entry.row_id)
            .bind(entry.base_version)
            .bind(entry.master_version)
            .bind(&entry.slave_row)
            .bind(&entry.master_row)
            .bind(entry.resolution.as_str())
            .bind(&entry.reason)
            .bind(entry.created_at)
            .execute(conn)
            .await?;
        });
        Ok(())
    }
}

/// What a node knows of one peer: a slave's view of its master (`node_id`
/// "master"), or a master's view of each slave.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PeerStatus {
    pub node_id: String,
    #[sqlx(try_from = "String")]
    pub peer_role: PeerRole,
    pub attempts: i64,
    pub successes: i64,
    pub failures: i64,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub breaker_state: BreakerState,
    pub breaker_opened_at: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub changes_pulled: i64,
    pub changes_pushed: i64,
    /// Changes the peer is behind (a master's view of a slave), or this
    /// slave was behind at its last pull.
    pub lag_changes: Option<i64>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub key_id: Option<Uuid>,
    /// Songs whose audio file the peer holds, as a slave last reported it.
    pub files_here: Option<i64>,
    /// When the peer last followed live: a slave's long-poll to its master
    /// answered, or a master's slave held one. `None`: not following.
    pub live_at: Option<DateTime<Utc>>,
    /// How long the last changes pulled took from the master's commit to
    /// this slave's, in milliseconds (see `docs/SYNC.md`).
    pub pull_delay_ms: Option<i64>,
    /// How long the last changes pushed took from this slave's commit to
    /// the master's answer, in milliseconds.
    pub push_delay_ms: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

/// What a master learned from one slave's requests since it last wrote it
/// down (see [`Db::record_slave_visits`]).
#[derive(Debug, Clone, Default)]
pub struct SlaveVisit {
    pub node_id: String,
    pub seen_at: Option<DateTime<Utc>>,
    pub key_id: Option<Uuid>,
    pub pulled: i64,
    pub pushed: i64,
    pub cursor: Option<String>,
    pub lag: Option<i64>,
    pub files_here: Option<i64>,
    pub live_at: Option<DateTime<Utc>>,
}

impl PeerStatus {
    /// A peer not heard of before: nothing counted, the breaker closed.
    pub fn new(node_id: &str, peer_role: PeerRole) -> PeerStatus {
        PeerStatus {
            node_id: node_id.to_owned(),
            peer_role,
            attempts: 0,
            successes: 0,
            failures: 0,
            consecutive_failures: 0,
            last_error: None,
            last_attempt_at: None,
            last_success_at: None,
            last_failure_at: None,
            next_attempt_at: None,
            breaker_state: BreakerState::Closed,
            breaker_opened_at: None,
            cursor: None,
            changes_pulled: 0,
            changes_pushed: 0,
            lag_changes: None,
            last_seen_at: None,
            key_id: None,
            files_here: None,
            live_at: None,
            pull_delay_ms: None,
            push_delay_ms: None,
            updated_at: crate::now(),
        }
    }
}

const PEER_COLUMNS: &str = "node_id, peer_role, attempts, successes, failures, consecutive_failures, last_error, \
     last_attempt_at, last_success_at, last_failure_at, next_attempt_at, breaker_state, breaker_opened_at, \
     cursor, changes_pulled, changes_pushed, lag_changes, last_seen_at, key_id, files_here, live_at, \
     pull_delay_ms, push_delay_ms, updated_at";

impl Db {
    pub async fn peer_status(&self, node_id: &str) -> Result<Option<PeerStatus>> {
        let mut sql = crate::sql::Sql::new(&format!(
            "SELECT {PEER_COLUMNS} FROM sync_status_tracking WHERE node_id = "
        ));
        sql.bind(crate::sql::Param::Text(node_id.to_owned()));
        self.fetch_optional_sql(sql).await
    }

    /// Every peer of one role (a master's slaves), by node id.
    pub async fn peers(&self, peer_role: PeerRole) -> Result<Vec<PeerStatus>> {
        let mut sql = crate::sql::Sql::new(&format!(
            "SELECT {PEER_COLUMNS} FROM sync_status_tracking WHERE peer_role = "
        ));
        sql.bind(crate::sql::Param::Text(peer_role.as_str().to_owned()));
        sql.push(" ORDER BY node_id LIMIT 1000");
        self.fetch_all_sql(sql).await
    }

    /// Adds what a master learned from slaves' requests to their records,
    /// one statement per slave and one transaction for them all (thousands
    /// of slaves holding long-polls are a few writes a second, not
    /// thousands): counts add up and the rest replaces what was there
    /// (unset fields keep it), so several processes serving one slave
    /// never lose each other's visits.
    pub async fn record_slave_visits(&self, visits: &[SlaveVisit]) -> Result<()> {
        let mut tx = self.begin().await?;
        for visit in visits {
            tx.record_slave_visit(visit).await?;
        }
        tx.commit().await
    }
}

impl Tx {
    async fn record_slave_visit(&mut self, visit: &SlaveVisit) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO sync_status_tracking (node_id, peer_role, changes_pulled, changes_pushed, \
                 last_seen_at, key_id, cursor, lag_changes, files_here, live_at, updated_at) \
                 VALUES ($1, 'slave', $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (node_id) DO UPDATE SET \
                 changes_pulled = sync_status_tracking.changes_pulled + excluded.changes_pulled, \
                 changes_pushed = sync_status_tracking.changes_pushed + excluded.changes_pushed, \
                 last_seen_at = coalesce(excluded.last_seen_at, sync_status_tracking.last_seen_at), \
                 key_id = coalesce(excluded.key_id, sync_status_tracking.key_id), \
                 cursor = coalesce(excluded.cursor, sync_status_tracking.cursor), \
                 lag_changes = coalesce(excluded.lag_changes, sync_status_tracking.lag_changes), \
                 files_here = coalesce(excluded.files_here, sync_status_tracking.files_here), \
                 live_at = coalesce(excluded.live_at, sync_status_tracking.live_at), \
                 updated_at = excluded.updated_at",
            )
            .bind(&visit.node_id)
            .bind(visit.pulled)
            .bind(visit.pushed)
            .bind(visit.seen_at)
            .bind(visit.key_id)
            .bind(&visit.cursor)
            .bind(visit.lag)
            .bind(visit.files_here)
            .bind(visit.live_at)
            .bind(crate::now())
            .execute(conn)
            .await?;
        });
        Ok(())
    }
}

impl Db {
    /// Writes a peer's status whole (the caller read, changed and writes it back).
    pub async fn save_peer_status(&self, status: &PeerStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO sync_status_tracking (node_id, peer_role, attempts, successes, failures, \
                 consecutive_failures, last_error, last_attempt_at, last_success_at, last_failure_at, \
                 next_attempt_at, breaker_state, breaker_opened_at, cursor, changes_pulled, changes_pushed, \
                 lag_changes, last_seen_at, key_id, files_here, live_at, pull_delay_ms, push_delay_ms, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22, $23, $24) \
                 ON CONFLICT (node_id) DO UPDATE SET peer_role = excluded.peer_role, attempts = excluded.attempts, \
                 successes = excluded.successes, failures = excluded.failures, \
                 consecutive_failures = excluded.consecutive_failures, last_error = excluded.last_error, \
                 last_attempt_at = excluded.last_attempt_at, last_success_at = excluded.last_success_at, \
                 last_failure_at = excluded.last_failure_at, next_attempt_at = excluded.next_attempt_at, \
                 breaker_state = excluded.breaker_state, breaker_opened_at = excluded.breaker_opened_at, \
                 cursor = excluded.cursor, changes_pulled = excluded.changes_pulled, \
                 changes_pushed = excluded.changes_pushed, lag_changes = excluded.lag_changes, \
                 last_seen_at = excluded.last_seen_at, key_id = excluded.key_id, \
                 files_here = excluded.files_here, live_at = excluded.live_at, \
                 pull_delay_ms = excluded.pull_delay_ms, push_delay_ms = excluded.push_delay_ms, \
                 updated_at = excluded.updated_at",
            )
            .bind(&status.node_id)
            .bind(status.peer_role.as_str())
            .bind(status.attempts)
            .bind(status.successes)
            .bind(status.failures)
            .bind(status.consecutive_failures)
            .bind(&status.last_error)
            .bind(status.last_attempt_at)
            .bind(status.last_success_at)
            .bind(status.last_failure_at)
            .bind(status.next_attempt_at)
            .bind(status.breaker_state.as_str())
            .bind(status.breaker_opened_at)
            .bind(&status.cursor)
            .bind(status.changes_pulled)
            .bind(status.changes_pushed)
            .bind(status.lag_changes)
            .bind(status.last_seen_at)
            .bind(status.key_id)
            .bind(status.files_here)
            .bind(status.live_at)
            .bind(status.pull_delay_ms)
            .bind(status.push_delay_ms)
            .bind(crate::now())
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }
}

/// One sync cycle as a slave ran it, or one exchange a master served.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SyncAttempt {
    pub id: Uuid,
    pub node_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub outcome: AttemptOutcome,
    pub pulled: i64,
    pub pushed: i64,
    pub error: Option<String>,
}

/// How many attempts are kept; older ones are removed as new ones arrive.
const ATTEMPTS_KEPT: i64 = 1000;

impl Db {
    pub async fn record_sync_attempt(&self, attempt: &SyncAttempt) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO sync_attempts (id, node_id, started_at, finished_at, outcome, pulled, pushed, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(attempt.id)
            .bind(&attempt.node_id)
            .bind(attempt.started_at)
            .bind(attempt.finished_at)
            .bind(attempt.outcome.as_str())
            .bind(attempt.pulled)
            .bind(attempt.pushed)
            .bind(&attempt.error)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "DELETE FROM sync_attempts WHERE started_at < \
                 (SELECT started_at FROM sync_attempts ORDER BY started_at DESC LIMIT 1 OFFSET $1)",
            )
            .bind(ATTEMPTS_KEPT)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// Removes the failed attempts from the list ("clear failed records").
    pub async fn delete_failed_sync_attempts(&self) -> Result<u64> {
        let mut tx = self.begin().await?;
        let removed = on_tx!(tx, conn => {
            sqlx::query("DELETE FROM sync_attempts WHERE outcome = 'failure'").execute(conn).await?.rows_affected()
        });
        tx.commit().await?;
        Ok(removed)
    }

    /// The newest attempts first.
    pub async fn sync_attempts(&self, limit: i64) -> Result<Vec<SyncAttempt>> {
        let mut sql = crate::sql::Sql::new(
            "SELECT id, node_id, started_at, finished_at, outcome, pulled, pushed, error FROM sync_attempts \
             ORDER BY started_at DESC, id DESC LIMIT ",
        );
        sql.bind(crate::sql::Param::Int(limit.clamp(1, 1000)));
        self.fetch_all_sql(sql).await
    }
}
