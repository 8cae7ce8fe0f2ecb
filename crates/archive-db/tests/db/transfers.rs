//! What a slave keeps: pins, the transfer queue and the quota's eviction order.

use archive_db::{ContentOrigin, Db, NewSong, PinKind, TransferReason};
use archive_testkit::on_each_backend;
use uuid::Uuid;

fn hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// A song whose file has hash `n`, and (when `fetched`) that file fetched here.
async fn song(db: &Db, n: u8, album: Option<Uuid>, fetched: bool) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let new = NewSong {
        title: format!("Song {n}"),
        album_id: album,
        content_hash: Some(hash(n)),
        file_size: Some(1000 * n as i64),
        ..Default::default()
    };
    let id = tx.insert_song(new).await.unwrap().id;
    if fetched {
        let path = format!("/store/{}.mp3", hash(n));
        tx.record_content_file(&hash(n), &path, 1000 * n as i64, ContentOrigin::Fetched).await.unwrap();
    }
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn the_quota_evicts_the_least_recently_played_fetched_files_and_never_a_pinned_one() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let fixture = crate::fixture(db).await;
        let album = fixture.album;
        let pinned_by_album = song(db, 1, Some(album), true).await;
        let played = song(db, 2, None, true).await;
        let _never_played = song(db, 3, None, true).await;
        let mut tx = db.begin().await.unwrap();
        tx.content_file_played(&hash(2)).await.unwrap();
        tx.pin(fixture.user, PinKind::Album, album).await.unwrap();
        tx.commit().await.unwrap();

        let order: Vec<String> =
            db.evictable_files(10).await.unwrap().into_iter().map(|(h, _, _)| h).collect();
        assert_eq!(order, vec![hash(3), hash(2)], "never played first; the pinned album's song never");
        let pinned = db.pinned_songs(&[pinned_by_album, played]).await.unwrap();
        assert_eq!(pinned, vec![pinned_by_album]);
        assert!(db.is_pinned(fixture.user, PinKind::Album, album).await.unwrap());
        let mut tx = db.begin().await.unwrap();
        assert!(tx.unpin(fixture.user, PinKind::Album, album).await.unwrap());
        assert!(!tx.unpin(fixture.user, PinKind::Album, album).await.unwrap(), "unpinned already");
        tx.commit().await.unwrap();
        assert_eq!(db.evictable_files(10).await.unwrap().len(), 3);
    })
    .await;
}

#[tokio::test]
async fn the_queue_holds_one_row_per_file_most_urgent_first_and_drops_files_no_song_names() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mirrored = song(db, 4, None, false).await;
        let _played = song(db, 5, None, false).await;
        let mut tx = db.begin().await.unwrap();
        tx.queue_file_transfer(&hash(4), 4000, TransferReason::Mirror).await.unwrap();
        tx.queue_file_transfer(&hash(5), 5000, TransferReason::Mirror).await.unwrap();
        let later = archive_db::now() + chrono::Duration::hours(1);
        tx.fail_file_transfer(&hash(5), "the master did not answer in time", later).await.unwrap();
        // A play of a file queued for mirroring and waiting out its backoff: due now, first.
        tx.queue_file_transfer(&hash(5), 5000, TransferReason::Play).await.unwrap();
        // A less urgent reason changes nothing.
        tx.queue_file_transfer(&hash(5), 5000, TransferReason::Mirror).await.unwrap();
        tx.commit().await.unwrap();

        let due = db.due_file_transfers(archive_db::now(), &[], 10).await.unwrap();
        let order: Vec<(&str, TransferReason)> = due.iter().map(|t| (t.sha256.as_str(), t.reason)).collect();
        assert_eq!(
            order,
            vec![(hash(5).as_str(), TransferReason::Play), (hash(4).as_str(), TransferReason::Mirror)]
        );
        assert_eq!(due[0].attempts, 1);
        assert_eq!(due[0].last_error.as_deref(), Some("the master did not answer in time"));
        assert_eq!(
            db.due_file_transfers(archive_db::now(), &[hash(5)], 10).await.unwrap().len(),
            1,
            "busy left out"
        );
        assert_eq!(db.failed_file_transfers(10).await.unwrap().len(), 1);

        // Wanted files leave out what is queued.
        assert!(db.songs_without_file_here(10).await.unwrap().is_empty());
        let mut tx = db.begin().await.unwrap();
        tx.delete_song(mirrored).await.unwrap();
        assert_eq!(tx.drop_orphan_file_transfers().await.unwrap(), 1);
        tx.finish_file_transfer(&hash(5)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(db.file_transfers(10).await.unwrap().is_empty());
        let summary = db.files_summary().await.unwrap();
        assert_eq!((summary.songs, summary.songs_here, summary.queued), (1, 0, 0));
    })
    .await;
}
