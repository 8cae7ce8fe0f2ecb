//! Where songs' files are: written in bulk by imports.

use archive_db::{DbError, NewSong, Tx};
use archive_testkit::on_each_backend;
use uuid::Uuid;

use crate::location;

async fn songs(tx: &mut Tx) -> [Uuid; 3] {
    let mut ids = [Uuid::nil(); 3];
    for (n, id) in ids.iter_mut().enumerate() {
        *id = tx.insert_song(NewSong { title: format!("Song {n}"), ..Default::default() }).await.unwrap().id;
    }
    ids
}

#[tokio::test]
async fn locations_at_new_paths_are_inserted_and_a_path_that_has_one_is_refused_as_a_duplicate() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let [first, second, third] = songs(&mut tx).await;
        tx.insert_file_locations(&[location(first, "/music/a.mp3")]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.file_location_by_path("/music/a.mp3").await.unwrap().unwrap().song_id, first);

        // Another song at a path that has a location: nothing of the write stays.
        let mut tx = db.begin().await.unwrap();
        let error = tx
            .insert_file_locations(&[location(third, "/music/b.mp3"), location(second, "/music/a.mp3")])
            .await
            .unwrap_err();
        assert!(matches!(error, DbError::Duplicate(_)), "{error:?}");
        drop(tx);
        assert!(db.file_location_by_path("/music/b.mp3").await.unwrap().is_none());
        assert_eq!(db.file_location_by_path("/music/a.mp3").await.unwrap().unwrap().song_id, first);

        // Upserting moves the path to the other song.
        let mut tx = db.begin().await.unwrap();
        tx.upsert_file_locations(&[location(second, "/music/a.mp3")]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.file_location_by_path("/music/a.mp3").await.unwrap().unwrap().song_id, second);
    })
    .await;
}

#[tokio::test]
async fn locations_of_new_songs_are_inserted_and_a_path_that_has_one_is_refused_as_a_duplicate() {
    // On PostgreSQL by COPY, which has no ON CONFLICT: the duplicate must
    // still fail the write, so that the import writes its files one by one.
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let [first, second, third] = songs(&mut tx).await;
        // A path may hold what COPY's text format gives meaning to.
        let odd = "/music/tab\there\nnew line\\back\rslash.mp3";
        tx.insert_locations_of_new_songs(&[location(first, "/music/a.mp3"), location(second, odd)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.file_location_by_path("/music/a.mp3").await.unwrap().unwrap().song_id, first);
        let b = db.file_location_by_path(odd).await.unwrap().unwrap();
        assert_eq!(b.path, odd);
        assert_eq!((b.song_id, b.file_size, b.modified_at), (second, 100, None));
        assert_eq!((b.status, b.source), (archive_db::FileStatus::Present, archive_db::FileSource::Library));

        let mut tx = db.begin().await.unwrap();
        let error = tx.insert_locations_of_new_songs(&[location(third, "/music/a.mp3")]).await.unwrap_err();
        assert!(matches!(error, DbError::Duplicate(_)), "{error:?}");
        drop(tx);
        assert_eq!(db.file_location_by_path("/music/a.mp3").await.unwrap().unwrap().song_id, first);
    })
    .await;
}

#[tokio::test]
async fn a_write_the_database_refuses_for_its_content_is_not_taken_for_the_database_being_unavailable() {
    on_each_backend(|t| async move {
        let mut tx = t.db.begin().await.unwrap();
        let [song, ..] = songs(&mut tx).await;
        // One song at two paths in one statement: SQLite keeps the last,
        // PostgreSQL refuses to change a row twice (SQLSTATE 21000, whose
        // number was once read as SQLite's code for "read-only").
        let twice = [location(song, "/music/one.mp3"), location(song, "/music/two.mp3")];
        if let Err(error) = tx.insert_file_locations(&twice).await {
            assert!(!error.is_unavailable(), "{error:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn songs_inserted_as_new_are_written_with_their_log_entries_and_one_the_database_has_fails_the_write() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let song = |title: &str| archive_db::ImportedSong {
            song: NewSong { id: Some(Uuid::new_v4()), title: title.into(), ..Default::default() },
            bytes_changed: false,
        };
        let (first, second) = (song("First"), song("Second"));
        let mut tx = db.begin_bulk().await.unwrap();
        tx.insert_new_songs(vec![first.clone()]).await.unwrap();
        tx.commit().await.unwrap();
        let first_id = first.song.id.unwrap();
        assert_eq!(db.song(first_id).await.unwrap().unwrap().title, "First");
        assert!(
            db.changes_after(archive_db::LogPosition::START, 100)
                .await
                .unwrap()
                .iter()
                .any(|c| c.row_id == first_id)
        );

        let mut tx = db.begin_bulk().await.unwrap();
        let error = tx.insert_new_songs(vec![second.clone(), first]).await.unwrap_err();
        assert!(matches!(error, DbError::Duplicate(_)), "{error:?}");
        drop(tx);
        assert!(db.song(second.song.id.unwrap()).await.unwrap().is_none());
    })
    .await;
}
