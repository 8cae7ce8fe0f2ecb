//! Word that changes were committed to the sync log, for those who wait for
//! them (a master's long-polls, a slave's push after a local edit) without
//! asking the database again and again.
//!
//! - **SQLite** (one process, one writer connection): the writer's update
//!   hook notes an insert into `sync_changes`; [`crate::Tx::commit`] passes
//!   the word on once the commit has succeeded, so a waiter woken by it
//!   always finds the change.
//! - **PostgreSQL** (one database, maybe several `archive serve` processes):
//!   a trigger runs `pg_notify` on every insert into `sync_changes`, which
//!   PostgreSQL delivers after the commit, once per transaction, to every
//!   process listening. Each process listens on one connection of its pool,
//!   from its first waiter on. A write committed by this process also moves
//!   the count at once, silently ([`CommitSignal::committed_unheard`]).
//!
//! A waiter holds a [`LogCommits`] receiver: it subscribes first, then reads
//! the log, then waits for the count to move. A commit between the read and
//! the wait still moves the count, so no wake-up is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

/// The channel the PostgreSQL trigger notifies (migration 0018).
const CHANNEL: &str = "archive_sync_changes";

/// A count of commits that added to the log; it only moves forward.
pub type LogCommits = watch::Receiver<u64>;

#[derive(Debug)]
pub(crate) struct CommitSignal {
    count: watch::Sender<u64>,
    /// SQLite: the writer's transaction now open has added to the log.
    captured: AtomicBool,
    /// PostgreSQL: the listening task has started.
    listening: tokio::sync::OnceCell<()>,
}

impl Default for CommitSignal {
    fn default() -> Self {
        CommitSignal {
            count: watch::Sender::new(0),
            captured: AtomicBool::new(false),
            listening: tokio::sync::OnceCell::new(),
        }
    }
}

impl CommitSignal {
    pub(crate) fn bump(&self) {
        self.count.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// SQLite's writer hook: a row went into `sync_changes`.
    pub(crate) fn note_capture(&self) {
        self.captured.store(true, Ordering::Release);
    }

    /// A write transaction starts on the SQLite writer: whatever a rolled
    /// back one noted is void.
    pub(crate) fn forget_capture(&self) {
        self.captured.store(false, Ordering::Release);
    }

    /// The SQLite writer committed: wake the waiters if it added to the log.
    pub(crate) fn committed(&self) {
        if self.captured.swap(false, Ordering::AcqRel) {
            self.bump();
        }
    }

    /// A write transaction committed on PostgreSQL, where word of what it
    /// added to the log comes only with the notification, a moment later.
    /// The count moves at once but wakes nobody: a reader that compares it
    /// (the master's idle head) looks at the log again instead of answering
    /// "nothing new" in that moment, and held long-polls still wait for the
    /// notification. Any write moves it, logged or not: a look too many
    /// costs one query.
    pub(crate) fn committed_unheard(&self) {
        self.count.send_if_modified(|n| {
            *n = n.wrapping_add(1);
            false
        });
    }

    /// A receiver on SQLite (the hook feeds it).
    pub(crate) fn subscribe(&self) -> LogCommits {
        self.count.subscribe()
    }

    /// A receiver on PostgreSQL: listening has begun when this returns.
    pub(crate) async fn subscribe_postgres(self: &Arc<Self>, pool: &PgPool) -> crate::Result<LogCommits> {
        let receiver = self.count.subscribe();
        self.listening
            .get_or_try_init(|| async {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(CHANNEL).await?;
                tokio::spawn(listen(listener, self.clone()));
                Ok::<(), crate::DbError>(())
            })
            .await?;
        Ok(receiver)
    }
}

/// How long the listening task waits before it tries again after an error.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Passes PostgreSQL's notifications on until the pool closes. A lost
/// connection counts as a commit: notifications sent while it was down are
/// gone, so every waiter looks again.
async fn listen(mut listener: PgListener, signal: Arc<CommitSignal>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => {
                // A burst of commits wakes the waiters once.
                while listener.next_buffered().is_some() {}
                signal.bump();
            }
            Ok(None) => {
                tracing::warn!(target: "sync", "the database connection that listens for commits was lost; reconnected");
                signal.bump();
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(target: "sync", error = %e, "cannot listen for commits; trying again");
                signal.bump();
                tokio::time::sleep(LISTEN_RETRY).await;
            }
        }
    }
}
