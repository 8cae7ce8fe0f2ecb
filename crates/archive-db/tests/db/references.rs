//! A bulk write (an import's batch) has its references checked at commit,
//! once per parent, and leaves the writer enforcing foreign keys again.

use archive_db::{Db, DbError, ImportedSong, NewAlbum, NewArtist, NewFileLocation, NewSong};
use archive_testkit::on_each_backend;
use uuid::Uuid;

use crate::location;

fn song_by(title: &str, artist_id: Option<Uuid>) -> ImportedSong {
    ImportedSong {
        song: NewSong { id: Some(Uuid::new_v4()), title: title.into(), artist_id, ..Default::default() },
        bytes_changed: false,
    }
}

async fn artist(db: &Db, name: &str) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let id = tx.insert_artist(NewArtist { name: name.into(), ..Default::default() }).await.unwrap().id;
    tx.commit().await.unwrap();
    id
}

/// What a bulk write of `songs` (and their locations) ends in: SQLite
/// refuses a missing parent at commit, PostgreSQL at the write.
async fn bulk_write(db: &Db, songs: Vec<ImportedSong>, locations: &[NewFileLocation]) -> Result<(), DbError> {
    let mut tx = db.begin_bulk().await?;
    tx.upsert_songs(songs).await?;
    tx.insert_file_locations(locations).await?;
    tx.commit().await
}

#[tokio::test]
async fn a_bulk_write_naming_a_missing_artist_album_or_song_is_refused_and_keeps_nothing() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let present = artist(db, "Present").await;
        let good = song_by("Good", Some(present));
        let good_id = good.song.id.unwrap();

        let error = bulk_write(db, vec![good.clone(), song_by("Orphan", Some(Uuid::new_v4()))], &[])
            .await
            .unwrap_err();
        assert!(matches!(error, DbError::MissingReference(_)), "{error:?}");
        assert!(db.song(good_id).await.unwrap().is_none(), "the batch's good song was kept");

        // An album by a missing artist.
        let mut tx = db.begin_bulk().await.unwrap();
        let album = NewAlbum {
            id: Some(Uuid::new_v4()),
            title: "Lost".into(),
            artist_id: Some(Uuid::new_v4()),
            year: None,
        };
        let error = match tx.ensure_albums(vec![album]).await {
            Ok(_) => tx.commit().await.unwrap_err(),
            Err(e) => e,
        };
        assert!(matches!(error, DbError::MissingReference(_)), "{error:?}");

        // A location of a song that neither this write nor the library has.
        let error = bulk_write(db, vec![good.clone()], &[location(Uuid::new_v4(), "/music/none.mp3")])
            .await
            .unwrap_err();
        assert!(matches!(error, DbError::MissingReference(_)), "{error:?}");
        assert!(db.file_location_by_path("/music/none.mp3").await.unwrap().is_none());

        // The same songs with their own locations are written.
        bulk_write(db, vec![good], &[location(good_id, "/music/good.mp3")]).await.unwrap();
        assert_eq!(db.song(good_id).await.unwrap().unwrap().artist_id, Some(present));
        assert_eq!(db.file_location_by_path("/music/good.mp3").await.unwrap().unwrap().song_id, good_id);
    })
    .await;
}

#[tokio::test]
async fn after_a_bulk_write_commits_or_is_dropped_the_next_write_has_its_references_enforced() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let doomed = artist(db, "Doomed").await;
        let song = song_by("Kept", Some(doomed));
        let song_id = song.song.id.unwrap();
        bulk_write(db, vec![song], &[]).await.unwrap();

        // A dropped bulk write, too, gives the connection back enforcing.
        let mut tx = db.begin_bulk().await.unwrap();
        tx.upsert_songs(vec![song_by("Dropped", None)]).await.unwrap();
        drop(tx);

        for _ in 0..2 {
            // An ordinary write naming a missing artist is refused at once…
            let mut tx = db.begin().await.unwrap();
            let orphan =
                NewSong { title: "Orphan".into(), artist_id: Some(Uuid::new_v4()), ..Default::default() };
            let error = tx.insert_song(orphan).await.unwrap_err();
            assert!(matches!(error, DbError::MissingReference(_)), "{error:?}");
        }
        // …and deleting an artist clears its songs' reference (`ON DELETE SET NULL`).
        let mut tx = db.begin().await.unwrap();
        tx.delete_artist(doomed).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.song(song_id).await.unwrap().unwrap().artist_id, None);
    })
    .await;
}

#[tokio::test]
async fn a_write_started_during_a_bulk_write_waits_for_it_and_then_goes_through() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut bulk = db.begin_bulk().await.unwrap();
        bulk.upsert_songs(vec![song_by("Bulk", None)]).await.unwrap();
        if t.backend() == archive_db::Backend::Sqlite {
            // The bulk write holds the writer's connection: another write
            // waits for it in the process, not on SQLite's file lock.
            let writer = db.pool_usage().into_iter().find(|p| p.name == "write").unwrap();
            assert_eq!((writer.open, writer.idle), (1, 0), "the bulk write does not hold the writer");
        }

        let other = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                tx.insert_artist(NewArtist { name: "Meanwhile".into(), ..Default::default() }).await?;
                tx.commit().await
            })
        };
        if t.backend() == archive_db::Backend::Sqlite {
            // SQLite has one writer: the other write queues in the process.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert!(!other.is_finished(), "a write ran beside the bulk write");
        }
        bulk.commit().await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), other).await.unwrap().unwrap().unwrap();
    })
    .await;
}
