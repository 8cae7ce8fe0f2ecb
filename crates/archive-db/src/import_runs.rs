//! Imports of the library folders as every process on the database sees
//! them: the one running (at most one, by a partial unique index) with its
//! progress, and the recent ones with their reports. Node-local.
//!
//! The process running an import notes its progress every second or so;
//! a running import whose notes stopped belongs to a process that died,
//! and the next import to start marks it failed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Db;
use crate::backend::on_tx;
use crate::error::Result;
use crate::sql::{Param, Sql};

/// An import, running or finished.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportRun {
    pub id: Uuid,
    /// The folders imported, one per line.
    pub folders: String,
    /// What started it (`request`, `watch`, `scan`).
    pub trigger_kind: String,
    pub started_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    /// `running`, `done` or `failed`.
    pub state: String,
    pub seen: i64,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
    pub files_per_second: f64,
    /// When the running process last noted its progress.
    pub heartbeat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub missing: Option<i64>,
    /// The files refused, as JSON: `[{"path": …, "error": …}]`.
    pub failures: String,
    /// The files imported with damage skipped, as JSON like `failures`.
    pub warnings: String,
    /// Why the whole import stopped (when failed).
    pub error: Option<String>,
}

const RUN_COLUMNS: &str = "id, folders, trigger_kind, started_by, started_at, state, seen, imported, \
     skipped, failed, files_per_second, heartbeat_at, finished_at, missing, failures, warnings, error";

/// An import about to start.
#[derive(Debug, Clone)]
pub struct NewImportRun<'a> {
    pub id: Uuid,
    pub folders: &'a str,
    pub trigger_kind: &'a str,
    pub started_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
}

/// An import's counts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ImportCounts {
    pub seen: i64,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
    pub files_per_second: f64,
}

/// How an import ended.
#[derive(Debug, Clone, Copy)]
pub enum ImportEnd<'a> {
    Done { missing: i64, failures: &'a str, warnings: &'a str },
    Failed { error: &'a str },
}

/// What a running import that stopped noting its progress is marked with.
pub const INTERRUPTED: &str = "interrupted: the process running it stopped";

impl Db {
    /// Records `run` as running, unless another import is running: `false`
    /// then. A running import last noted before `stale_before` is first
    /// marked failed ([`INTERRUPTED`]). Only the `keep` most recent imports
    /// stay listed.
    pub async fn start_import_run(
        &self,
        run: &NewImportRun<'_>,
        stale_before: DateTime<Utc>,
        keep: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let started = on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE import_runs SET state = 'failed', error = $1, finished_at = heartbeat_at \
                 WHERE state = 'running' AND heartbeat_at < $2",
            )
            .bind(INTERRUPTED)
            .bind(stale_before)
            .execute(&mut *conn)
            .await?;
            // The partial unique index turns a second running import into no row.
            let inserted = sqlx::query(
                "INSERT INTO import_runs (id, folders, trigger_kind, started_by, started_at, state, heartbeat_at) \
                 VALUES ($1, $2, $3, $4, $5, 'running', $5) ON CONFLICT DO NOTHING",
            )
            .bind(run.id)
            .bind(run.folders)
            .bind(run.trigger_kind)
            .bind(run.started_by)
            .bind(run.started_at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            sqlx::query(
                "DELETE FROM import_runs WHERE state <> 'running' AND id NOT IN \
                 (SELECT id FROM import_runs ORDER BY started_at DESC LIMIT $1)",
            )
            .bind(keep)
            .execute(&mut *conn)
            .await?;
            inserted == 1
        });
        tx.commit().await?;
        Ok(started)
    }

    /// Notes a running import's progress (and that its process lives).
    ///
    /// On the connection the import's batches use (see [`Db::begin_bulk`]):
    /// on SQLite, a write through another connection makes that one drop
    /// its whole page cache at its next transaction, and the next batch
    /// would read every page it touches from the operating system again.
    pub async fn note_import_progress(&self, id: Uuid, counts: &ImportCounts) -> Result<()> {
        let mut tx = self.begin_bulk().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE import_runs SET seen = $1, imported = $2, skipped = $3, failed = $4, \
                 files_per_second = $5, heartbeat_at = $6 WHERE id = $7 AND state = 'running'",
            )
            .bind(counts.seen)
            .bind(counts.imported)
            .bind(counts.skipped)
            .bind(counts.failed)
            .bind(counts.files_per_second)
            .bind(crate::now())
            .bind(id)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// Records how an import ended, with its final counts.
    pub async fn finish_import_run(&self, id: Uuid, counts: &ImportCounts, end: ImportEnd<'_>) -> Result<()> {
        let (state, missing, failures, warnings, error) = match end {
            ImportEnd::Done { missing, failures, warnings } => {
                ("done", Some(missing), failures, warnings, None)
            }
            ImportEnd::Failed { error } => ("failed", None, "[]", "[]", Some(error)),
        };
        let now = crate::now();
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE import_runs SET state = $1, seen = $2, imported = $3, skipped = $4, failed = $5, \
                 files_per_second = $6, heartbeat_at = $7, finished_at = $7, missing = $8, failures = $9, \
                 warnings = $10, error = $11 WHERE id = $12",
            )
            .bind(state)
            .bind(counts.seen)
            .bind(counts.imported)
            .bind(counts.skipped)
            .bind(counts.failed)
            .bind(counts.files_per_second)
            .bind(now)
            .bind(missing)
            .bind(failures)
            .bind(warnings)
            .bind(error)
            .bind(id)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// The most recent imports, newest first.
    pub async fn import_runs(&self, limit: i64) -> Result<Vec<ImportRun>> {
        let mut sql = Sql::new(&format!(
            "SELECT {RUN_COLUMNS} FROM import_runs ORDER BY started_at DESC, id DESC LIMIT "
        ));
        sql.bind(Param::Int(limit));
        self.fetch_all_sql(sql).await
    }

    pub async fn import_run(&self, id: Uuid) -> Result<Option<ImportRun>> {
        let mut sql = Sql::new(&format!("SELECT {RUN_COLUMNS} FROM import_runs WHERE id = "));
        sql.bind(Param::Uuid(id));
        self.fetch_optional_sql(sql).await
    }
}
