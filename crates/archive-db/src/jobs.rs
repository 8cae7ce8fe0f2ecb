//! Work that runs in one process at a time, across every `archive serve`
//! process on one database (several processes behind a load balancer act
//! as one master): change-log compaction, the imports of the library
//! folders, and the background hashing of imported files.
//!
//! On PostgreSQL a job's lock is a session advisory lock, held on a
//! connection of its own for as long as the [`JobLock`] lives; a process
//! that dies releases it with its connection. SQLite serves one process,
//! and its single writer already takes writes in turn: the lock is always
//! free there.

use sqlx::Connection as _;

use crate::Db;
use crate::backend::PoolRef;
use crate::error::Result;

/// How often a process waiting for a job's lock looks again.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// The jobs that run once at a time across processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Compacting the change log (a master, hourly).
    Compaction,
    /// Importing the library folders (watching, scans, the import page,
    /// the command line).
    LibraryImport,
    /// Computing imported files' full SHA-256 in the background.
    Hashing,
}

impl Job {
    /// The advisory lock's key: a namespace of Archive's own ("arch") and the job.
    fn key(self) -> i64 {
        const NAMESPACE: i64 = 0x6172_6368 << 16;
        NAMESPACE
            | match self {
                Job::Compaction => 1,
                Job::LibraryImport => 2,
                Job::Hashing => 3,
            }
    }
}

/// A job's lock, held until dropped.
#[must_use = "the lock is released when this is dropped"]
pub struct JobLock {
    /// PostgreSQL: the session holding the advisory lock; closing it releases it.
    session: Option<sqlx::PgConnection>,
}

impl Drop for JobLock {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // Closed in the background; dropping the socket would release it too.
            tokio::spawn(async move {
                let _ = session.close().await;
            });
        }
    }
}

impl Db {
    /// Takes `job`'s lock if no other process holds it; `None` if one does.
    pub async fn try_lock_job(&self, job: Job) -> Result<Option<JobLock>> {
        let PoolRef::Postgres(pool) = self.pool_ref() else {
            return Ok(Some(JobLock { session: None }));
        };
        let mut conn = pool.acquire().await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(job.key())
            .fetch_one(&mut *conn)
            .await?;
        // Only a connection holding no lock goes back to the pool.
        Ok(taken.then(|| JobLock { session: Some(conn.detach()) }))
    }

    /// Takes `job`'s lock, waiting while another process holds it (looking
    /// again every second).
    pub async fn lock_job(&self, job: Job) -> Result<JobLock> {
        loop {
            if let Some(lock) = self.try_lock_job(job).await? {
                return Ok(lock);
            }
            tracing::debug!(?job, "another process runs this job; waiting");
            tokio::time::sleep(LOOK_AGAIN).await;
        }
    }
}
