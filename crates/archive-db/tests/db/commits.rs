//! Word of commits to the change log (`Db::log_commits`): what a master's
//! long-polls and a slave's live push wait on.

use std::time::Duration;

use archive_db::{Backend, Db, LogCommits, NewArtist};
use archive_testkit::{TestDb, on_each_backend};

/// Long enough for PostgreSQL to deliver a notification on loopback.
const WORD_WITHIN: Duration = Duration::from_secs(5);
/// How long a test waits to be sure no word comes.
const QUIET_FOR: Duration = Duration::from_millis(500);

async fn add_artist(db: &Db, name: &str) {
    let mut tx = db.begin().await.unwrap();
    tx.insert_artist(NewArtist { name: name.into(), ..Default::default() }).await.unwrap();
    tx.commit().await.unwrap();
}

async fn woken(commits: &mut LogCommits, within: Duration) -> bool {
    let woke = matches!(tokio::time::timeout(within, commits.changed()).await, Ok(Ok(())));
    commits.borrow_and_update();
    woke
}

#[tokio::test]
async fn a_commit_that_adds_to_the_log_wakes_the_waiters() {
    on_each_backend(|t| async move {
        let mut commits = t.db.log_commits().await.unwrap();
        add_artist(&t.db, "Nina Simone").await;
        assert!(woken(&mut commits, WORD_WITHIN).await, "no word of the commit");
        // Each commit moves the count again.
        add_artist(&t.db, "Miles Davis").await;
        assert!(woken(&mut commits, WORD_WITHIN).await, "no word of the second commit");
    })
    .await;
}

#[tokio::test]
async fn writes_that_add_nothing_to_the_log_wake_no_one() {
    on_each_backend(|t| async move {
        let mut commits = t.db.log_commits().await.unwrap();
        // A local-only table, and a synced write that is rolled back.
        t.db.set_sync_state("test.note", Some("x")).await.unwrap();
        let mut tx = t.db.begin().await.unwrap();
        tx.insert_artist(NewArtist { name: "Never".into(), ..Default::default() }).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = t.db.begin().await.unwrap();
        tx.insert_artist(NewArtist { name: "Dropped".into(), ..Default::default() }).await.unwrap();
        drop(tx);
        t.db.set_sync_state("test.note", Some("y")).await.unwrap();
        assert!(!woken(&mut commits, QUIET_FOR).await, "woken by a write the log does not hold");
    })
    .await;
}

#[tokio::test]
async fn on_postgresql_a_commit_through_another_process_wakes_the_waiters() {
    let Some(t) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    // Another `archive serve` on the same database: its own pool.
    let other = Db::connect(&t.options).await.unwrap();
    let mut commits = t.db.log_commits().await.unwrap();
    add_artist(&other, "Alice Coltrane").await;
    assert!(woken(&mut commits, WORD_WITHIN).await, "no word of the other process's commit");
    other.close().await;
}

#[tokio::test]
async fn on_postgresql_a_commit_moves_the_count_at_once_without_waking_anyone() {
    // The notification comes a moment after the commit; until it does, a
    // master that remembered its log as idle would answer "nothing new".
    let Some(t) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let mut commits = t.db.log_commits().await.unwrap();
    let before = *commits.borrow_and_update();
    let mut tx = t.db.begin().await.unwrap();
    tx.set_sync_state("test.note", Some("x")).await.unwrap();
    tx.commit().await.unwrap();
    assert_ne!(*commits.borrow(), before, "a reader comparing the count sees the commit at once");
    assert!(!woken(&mut commits, QUIET_FOR).await, "nobody waiting is woken: nothing was logged");
}
