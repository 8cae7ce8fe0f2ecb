//! Checkpoints off the writer's path, for bulk writes on SQLite.
//!
//! SQLite appends every commit to its write-ahead log, and the committing
//! connection copies the log back into the database once the log holds
//! [`WRITER_CHECKPOINT_PAGES`](crate::backend::WRITER_CHECKPOINT_PAGES).
//! The one writer then spends that copy (tens of milliseconds per 10 MB)
//! inside a commit, while the other cores may be idle. A bulk write (a
//! first import writes the log twice over every few seconds) has a reader
//! connection copy the log after each batch instead: a passive checkpoint
//! runs beside the writer, on another core, without locking it out.
//!
//! The writer still checkpoints, at [`BULK_CHECKPOINT_PAGES`]: the log
//! only starts over when a write begins with all of it copied, which a copy
//! running beside the writer rarely allows. Its own checkpoint then copies
//! only what the background has not, and the log file stays bounded however
//! large the import. The bulk writer (see `Db::begin_bulk`) is set the
//! same way. PostgreSQL has nothing to do here.

use tokio::task::JoinHandle;

use crate::backend::{Db, PoolRef, WRITER_CHECKPOINT_PAGES};
use crate::error::Result;

/// How many pages of log (256 MiB) make the writer checkpoint during a bulk
/// write: four times its usual threshold.
const BULK_CHECKPOINT_PAGES: u32 = 4 * WRITER_CHECKPOINT_PAGES;

/// While it lasts, SQLite's writer leaves the write-ahead log to
/// [`BackgroundCheckpoints::after_commit`] up to [`BULK_CHECKPOINT_PAGES`]. [`BackgroundCheckpoints::finish`]
/// gives it back (once no other bulk write holds it); dropped without it,
/// the writer gets it back all the same, a moment later.
pub struct BackgroundCheckpoints {
    db: Db,
    /// Whether the writer's own checkpoints wait for the bulk threshold
    /// (SQLite only).
    bulk: bool,
    /// The checkpoint running now, if any: one at a time is enough, and a
    /// second would only wait for the first's lock.
    running: Option<JoinHandle<()>>,
}

impl Db {
    /// Leaves the write-ahead log to background checkpoints until the
    /// returned value is finished or dropped (SQLite; nothing on PostgreSQL).
    ///
    /// Bulk writes at once (an import during a slave's pull) share the
    /// threshold: the first sets it, and the last one finished or dropped
    /// gives the writer its usual one back.
    pub async fn checkpoints_in_background(&self) -> Result<BackgroundCheckpoints> {
        let Some(writers) = self.sqlite_writers() else {
            return Ok(BackgroundCheckpoints { db: self.clone(), bulk: false, running: None });
        };
        let mut holders = self.bulk_checkpoint_holders.lock().await;
        // Set on every call, not only the first: the setting belongs to a
        // connection, and the bulk writer's may have been closed when idle
        // and opened again at the usual threshold since.
        for writer in writers {
            if let Err(error) = crate::sqlite::set_autocheckpoint(writer, BULK_CHECKPOINT_PAGES).await {
                if *holders == 0 {
                    // Not left half-raised by a bulk write that never began.
                    self.set_usual_checkpoints().await;
                }
                return Err(error);
            }
        }
        *holders += 1;
        Ok(BackgroundCheckpoints { db: self.clone(), bulk: true, running: None })
    }

    /// The write-ahead log's pages at which SQLite's writer copies it into
    /// the database itself: 16,384 (64 MiB) usually, four times that while
    /// a bulk write checkpoints in the background. `None` on PostgreSQL.
    pub async fn writer_checkpoint_pages(&self) -> Result<Option<u32>> {
        let Some([writer, _]) = self.sqlite_writers() else { return Ok(None) };
        Ok(Some(crate::sqlite::autocheckpoint(writer).await?))
    }

    /// One bulk write less at the bulk threshold; the last gives the writer
    /// its usual one back.
    async fn release_bulk_checkpoints(&self) -> Result<()> {
        let mut holders = self.bulk_checkpoint_holders.lock().await;
        *holders = holders.saturating_sub(1);
        if *holders > 0 {
            return Ok(());
        }
        for writer in self.sqlite_writers().into_iter().flatten() {
            crate::sqlite::set_autocheckpoint(writer, WRITER_CHECKPOINT_PAGES).await?;
        }
        Ok(())
    }

    /// The usual threshold on every writer, as far as it can be set.
    async fn set_usual_checkpoints(&self) {
        for writer in self.sqlite_writers().into_iter().flatten() {
            if let Err(error) = crate::sqlite::set_autocheckpoint(writer, WRITER_CHECKPOINT_PAGES).await {
                tracing::warn!(%error, "could not turn the writer's checkpoints back on");
            }
        }
    }
}

impl BackgroundCheckpoints {
    /// Starts copying the log into the database on a reader connection,
    /// unless a copy is running still (the next call takes what it left).
    /// Returns at once.
    pub fn after_commit(&mut self) {
        if !self.bulk || self.running.as_ref().is_some_and(|copy| !copy.is_finished()) {
            return;
        }
        let db = self.db.clone();
        self.running = Some(tokio::spawn(async move {
            let PoolRef::Sqlite(readers) = db.pool_ref() else { return };
            if let Err(error) = crate::sqlite::checkpoint_passive(readers).await {
                // The writer's own checkpoints copy it later instead.
                tracing::warn!(%error, "a background checkpoint failed");
            }
        }));
    }

    /// Gives the writer its own checkpoints back: its next commit copies
    /// what the background left, and once the log is copied whole, the
    /// next write starts it over (shrinking the file, see `backend`).
    pub async fn finish(mut self) -> Result<()> {
        self.after_commit();
        if !std::mem::take(&mut self.bulk) {
            return Ok(());
        }
        self.db.release_bulk_checkpoints().await
    }
}

impl Drop for BackgroundCheckpoints {
    fn drop(&mut self) {
        // Not finished: an error on the way out. The writer must not stay at
        // the bulk threshold, whose log is four times the size.
        if !self.bulk {
            return;
        }
        // Another bulk write still holds the threshold: count this one out
        // here, which needs no runtime (a runtime shutting down may never
        // run a task spawned now, and the count would stay up for good).
        if let Ok(mut holders) = self.db.bulk_checkpoint_holders.try_lock()
            && *holders > 1
        {
            *holders -= 1;
            return;
        }
        let db = self.db.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = db.release_bulk_checkpoints().await {
                    tracing::warn!(%error, "could not turn the writer's checkpoints back on");
                }
            });
        }
    }
}
