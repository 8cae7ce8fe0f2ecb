//! Reading the log by position never skips a committed change.

use std::collections::BTreeSet;

use archive_db::{Backend, Db, LogPosition, NewArtist};
use archive_testkit::{TestDb, on_each_backend};
use uuid::Uuid;

/// Follows the log from `from` in pages of `page`, as a sync reader does.
async fn follow(db: &Db, from: LogPosition, page: i64) -> (Vec<Uuid>, LogPosition) {
    let mut seen = Vec::new();
    let mut position = from;
    loop {
        let changes = db.changes_after(position, page).await.unwrap();
        let Some(last) = changes.last() else { break };
        assert!(last.position > position, "positions only move forward");
        position = last.position;
        seen.extend(changes.iter().map(|c| c.row_id));
    }
    (seen, position)
}

async fn insert_artist(db: &Db, name: &str) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let id = tx.insert_artist(NewArtist { name: name.into(), ..Default::default() }).await.unwrap().id;
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn a_reader_in_small_pages_sees_every_change_once_in_commit_order() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut expected = Vec::new();
        for i in 0..25 {
            expected.push(insert_artist(db, &format!("Artist {i}")).await);
        }
        crate::settled_changes(db).await;
        // On PostgreSQL the horizon may stop a reader for a moment (another
        // test database's transaction ending while it is worked out): a
        // reader then goes on later from where it stopped, as a slave does.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let (mut seen, mut end) = (Vec::new(), LogPosition::START);
        while seen.len() < expected.len() && std::time::Instant::now() < deadline {
            let (more, next) = follow(db, end, 4).await;
            seen.extend(more);
            end = next;
        }
        assert_eq!(seen, expected);
        let (more, _) = follow(db, end, 4).await;
        assert!(more.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_position_in_the_log_is_never_past_its_ceiling_while_an_older_transaction_holds_the_head_back() {
    let Some(t) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let db = &t.db;
    // An older transaction of this database, still open, holds the head
    // back: changes committed after it are not read yet.
    let mut older = db.begin().await.unwrap();
    older.insert_artist(NewArtist { name: "Still open".into(), ..Default::default() }).await.unwrap();
    insert_artist(db, "Committed after").await;
    let committed = db.changes_after(LogPosition::START, 100).await.unwrap();
    assert!(committed.is_empty(), "held back by the open transaction");
    let head = db.sync_head().await.unwrap();
    let ceiling = db.sync_ceiling().await.unwrap();
    assert!(ceiling > head, "the ceiling counts what is written, read or not: {ceiling:?} {head:?}");
    older.rollback().await.unwrap();
    let written = crate::settled_changes(db).await;
    assert_eq!(db.sync_ceiling().await.unwrap(), written.last().unwrap().position);
}

#[tokio::test]
async fn transactions_committing_in_the_opposite_order_of_their_start_are_both_read() {
    let Some(t) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let db = &t.db;
    let mut first = db.begin().await.unwrap();
    let early = first
        .insert_artist(NewArtist { name: "Started first".into(), ..Default::default() })
        .await
        .unwrap()
        .id;

    let late = insert_artist(db, "Started second, committed first").await;

    // While the first transaction is open, a reader must not pass its position.
    let (seen_while_open, position) = follow(db, LogPosition::START, 100).await;
    assert!(!seen_while_open.contains(&late), "read past a transaction that had not committed yet");

    first.commit().await.unwrap();
    // Other tests' open transactions may hold the reader back for a while.
    let mut seen_after = Vec::new();
    let mut position = position;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen_after.len() < 2 && std::time::Instant::now() < deadline {
        let (batch, next) = follow(db, position, 100).await;
        seen_after.extend(batch);
        position = next;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let all: BTreeSet<Uuid> = seen_while_open.into_iter().chain(seen_after.iter().copied()).collect();
    assert_eq!(all, BTreeSet::from([early, late]), "no change is skipped");
    assert_eq!(seen_after, vec![early, late], "read in position order");
}

#[tokio::test]
async fn many_concurrent_writers_lose_no_change_for_a_following_reader() {
    on_each_backend(|t| async move {
        let db = t.db.clone();
        let reader_db = db.clone();
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for i in 0..25 {
                        ids.push(insert_artist(&db, &format!("w{w} a{i}")).await);
                    }
                    ids
                })
            })
            .collect();
        // Read while they write, from wherever the reader got to.
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut position = LogPosition::START;
            for _ in 0..2000 {
                let (batch, next) = follow(&reader_db, position, 7).await;
                seen.extend(batch);
                position = next;
                if seen.len() >= 100 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            seen
        });
        let mut written = BTreeSet::new();
        for w in writers {
            written.extend(w.await.unwrap());
        }
        let seen = reader.await.unwrap();
        assert_eq!(seen.len(), 100, "each change read exactly once");
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), written);
    })
    .await;
}

#[tokio::test]
async fn a_write_left_open_in_another_database_on_the_server_does_not_hold_readers_back() {
    let (Some(ours), Some(other)) =
        (TestDb::new(Backend::Postgres).await, TestDb::new(Backend::Postgres).await)
    else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    // Another application's database on the same server, in the middle of a write.
    let mut elsewhere = other.db.begin().await.unwrap();
    elsewhere.insert_artist(NewArtist { name: "Elsewhere".into(), ..Default::default() }).await.unwrap();

    let here = insert_artist(&ours.db, "Here").await;
    // Other tests' writes to this server's databases may be open too: what
    // matters is that this one, left open for the whole test, is passed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    while !seen.contains(&here) && std::time::Instant::now() < deadline {
        seen = follow(&ours.db, LogPosition::START, 100).await.0;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen.contains(&here), "a reader of this database waited for another database's write");
    assert_eq!(
        ours.db.log_head().await.unwrap(),
        ours.db.changes_after(LogPosition::START, 100).await.unwrap().last().unwrap().position
    );
    elsewhere.rollback().await.unwrap();
}
