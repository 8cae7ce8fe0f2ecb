//! Jobs that run in one process at a time across every process on one
//! database: change-log compaction, imports of the library folders,
//! background hashing.

use std::time::Duration;

use archive_db::{Backend, Job};
use archive_testkit::TestDb;

#[tokio::test]
async fn on_postgresql_a_job_runs_in_one_process_at_a_time() {
    let Some(t) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let other = t.another_process().await;
    let held = t.db.try_lock_job(Job::Compaction).await.unwrap().expect("the lock is free");
    assert!(other.db.try_lock_job(Job::Compaction).await.unwrap().is_none(), "taken twice");
    // Another job is not held up by it.
    assert!(other.db.try_lock_job(Job::LibraryImport).await.unwrap().is_some());
    // Released with its holder; a process waiting for it gets it then.
    drop(held);
    let taken = tokio::time::timeout(Duration::from_secs(10), other.db.lock_job(Job::Compaction)).await;
    assert!(matches!(taken, Ok(Ok(_))), "the lock was not released");
    other.db.close().await;
}

#[tokio::test]
async fn on_sqlite_which_serves_one_process_a_job_lock_is_always_free() {
    let t = TestDb::new(Backend::Sqlite).await.expect("SQLite is always available");
    let _held = t.db.try_lock_job(Job::Compaction).await.unwrap().expect("free");
    assert!(t.db.try_lock_job(Job::Compaction).await.unwrap().is_some());
}
