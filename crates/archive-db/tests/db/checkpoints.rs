//! Bulk writes on SQLite have their write-ahead log copied into the
//! database beside the writer (`Db::checkpoints_in_background`).

use std::time::{Duration, Instant};

use archive_db::{Backend, Db};
use archive_testkit::{TestDb, on_each_backend};
use uuid::Uuid;

/// Artists with long names: about a megabyte of log per call, far under the
/// 64 MiB at which the writer copies the log into the database itself.
async fn write_artists(db: &Db, prefix: &str) {
    let names: Vec<(String, Uuid)> =
        (0..1000).map(|n| (format!("{prefix} {n:04} {}", "x".repeat(400)), Uuid::new_v4())).collect();
    let mut tx = db.begin().await.unwrap();
    tx.ensure_artists(&names).await.unwrap();
    tx.commit().await.unwrap();
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[tokio::test]
async fn a_bulk_write_has_its_log_copied_into_the_database_file_beside_the_writer() {
    let Some(t) = TestDb::new(Backend::Sqlite).await else { return };
    let database = &t.options.sqlite_path;

    // Without background checkpoints, the rows wait in the log.
    let before = file_size(database);
    write_artists(&t.db, "Before").await;
    assert_eq!(file_size(database), before, "the writer copied a small log itself");

    let mut checkpoints = t.db.checkpoints_in_background().await.unwrap();
    write_artists(&t.db, "During").await;
    checkpoints.after_commit();
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_size(database) < before + 1_000_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        file_size(database) >= before + 1_000_000,
        "the log was not copied into the database: {} bytes, {before} before",
        file_size(database)
    );
    checkpoints.finish().await.unwrap();
}

#[tokio::test]
async fn every_row_of_a_bulk_write_is_there_when_its_background_checkpoints_finish_or_are_dropped() {
    on_each_backend(|t| async move {
        let mut checkpoints = t.db.checkpoints_in_background().await.unwrap();
        for batch in ["One", "Two", "Three"] {
            write_artists(&t.db, batch).await;
            checkpoints.after_commit();
        }
        checkpoints.finish().await.unwrap();
        // Dropped on the way out of a failed write: writing goes on as before.
        let checkpoints = t.db.checkpoints_in_background().await.unwrap();
        write_artists(&t.db, "Four").await;
        drop(checkpoints);
        write_artists(&t.db, "Five").await;
        assert_eq!(t.db.artist_entries().await.unwrap().len(), 5000);
    })
    .await;
}

#[tokio::test]
async fn bulk_writes_at_once_keep_the_writer_at_the_bulk_threshold_until_the_last_one_ends() {
    on_each_backend(|t| async move {
        let usual = t.db.writer_checkpoint_pages().await.unwrap();
        let import = t.db.checkpoints_in_background().await.unwrap();
        let bulk = t.db.writer_checkpoint_pages().await.unwrap();
        let pull = t.db.checkpoints_in_background().await.unwrap();
        let Some((usual, bulk)) = usual.zip(bulk) else {
            assert_eq!(t.backend(), Backend::Postgres, "only PostgreSQL has no writer to set");
            return;
        };
        assert!(bulk > usual, "a bulk write raises the threshold: {bulk} against {usual}");

        // The import ends first: the pull still writes in bulk.
        import.finish().await.unwrap();
        assert_eq!(t.db.writer_checkpoint_pages().await.unwrap(), Some(bulk));
        // The pull fails on its way and drops its checkpoints.
        drop(pull);
        let deadline = Instant::now() + Duration::from_secs(5);
        while t.db.writer_checkpoint_pages().await.unwrap() != Some(usual) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(t.db.writer_checkpoint_pages().await.unwrap(), Some(usual), "the last one gives it back");

        // The other way round: the first is dropped while the second holds
        // the threshold, and the second's end gives it back.
        let import = t.db.checkpoints_in_background().await.unwrap();
        let pull = t.db.checkpoints_in_background().await.unwrap();
        assert_eq!(t.db.writer_checkpoint_pages().await.unwrap(), Some(bulk));
        drop(import);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(t.db.writer_checkpoint_pages().await.unwrap(), Some(bulk), "the pull still holds it");
        pull.finish().await.unwrap();
        assert_eq!(t.db.writer_checkpoint_pages().await.unwrap(), Some(usual));
    })
    .await;
}
