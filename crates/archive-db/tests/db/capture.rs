//! Change capture: every write to a synced table records exactly one change,
//! in the same transaction, whatever SQL made it.

use archive_db::{
    ArtistPatch, Capture, ChangeOp, ChangeRecord, Db, DbError, NewArtist, SYNCED_TABLES, SongPatch,
};
use archive_testkit::on_each_backend;
use uuid::Uuid;

use crate::fixture;

async fn all_changes(db: &Db) -> Vec<ChangeRecord> {
    crate::settled_changes(db).await
}

fn of_row(changes: &[ChangeRecord], table: &str, row: Uuid) -> Vec<ChangeRecord> {
    changes.iter().filter(|c| c.table_name == table && c.row_id == row).cloned().collect()
}

#[tokio::test]
async fn every_synced_table_records_one_change_per_insert_update_and_delete() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let settings_id: Uuid = {
            let changes = all_changes(db).await;
            changes
                .iter()
                .find(|c| c.table_name == "shared_settings")
                .expect("setting insert recorded")
                .row_id
        };
        let listening_id =
            all_changes(db).await.iter().find(|c| c.table_name == "listening_data").expect("recorded").row_id;
        let favourite = archive_db::Favourite::Album(f.album);
        let mut tx = db.begin().await.unwrap();
        tx.set_favourite_of(f.user, favourite, true).await.unwrap();
        tx.commit().await.unwrap();
        let rows: Vec<(&str, Uuid)> = vec![
            ("users", f.user),
            ("artists", f.artist),
            ("genres", f.genre),
            ("albums", f.album),
            ("songs", f.song),
            ("playlists", f.playlist),
            ("playlist_entries", f.entry),
            ("listening_data", listening_id),
            ("favourites", favourite.row_id(f.user)),
            ("plays", f.play),
            ("shared_settings", settings_id),
        ];
        assert_eq!(rows.len(), SYNCED_TABLES.len(), "the test covers every synced table");

        let changes = all_changes(db).await;
        for (table, id) in &rows {
            let inserts = of_row(&changes, table, *id);
            assert_eq!(inserts.len(), 1, "{table}: changes after insert");
            assert_eq!(inserts[0].op, ChangeOp::Insert, "{table}");
            assert_eq!(inserts[0].base_version, None, "{table}");
        }

        // Raw SQL, not our functions: capture must hold for any statement.
        for (table, id) in &rows {
            let before = of_row(&all_changes(db).await, table, *id).len();
            let mut tx = db.begin().await.unwrap();
            tx.execute_unchecked(&format!("UPDATE {table} SET id = id")).await.unwrap();
            tx.commit().await.unwrap();
            let after = of_row(&all_changes(db).await, table, *id);
            assert_eq!(after.len(), before + 1, "{table}: one change per update");
            let update = after.last().unwrap();
            assert_eq!(update.op, ChangeOp::Update, "{table}");
            assert!(update.version > update.base_version.unwrap(), "{table}: version moves forward");
        }

        // Children first, so that no cascade deletes a row before its own turn.
        for (table, id) in rows.iter().rev() {
            let before = of_row(&all_changes(db).await, table, *id).len();
            let mut tx = db.begin().await.unwrap();
            tx.execute_unchecked(&format!("DELETE FROM {table}")).await.unwrap();
            tx.commit().await.unwrap();
            let after = of_row(&all_changes(db).await, table, *id);
            assert_eq!(after.len(), before + 1, "{table}: one change per delete");
            assert_eq!(after.last().unwrap().op, ChangeOp::Delete, "{table}");
        }
    })
    .await;
}

#[tokio::test]
async fn updates_through_the_library_record_one_change_and_bump_the_version() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let before = db.song(f.song).await.unwrap().unwrap();
        let mut tx = db.begin().await.unwrap();
        let after = tx
            .update_song(f.song, SongPatch { title: Some("Sinnerman (live)".into()), ..Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(after.version > before.version);
        let changes = of_row(&all_changes(db).await, "songs", f.song);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[1].base_version, Some(before.version));
        assert_eq!(changes[1].version, after.version);
    })
    .await;
}

#[tokio::test]
async fn a_rolled_back_transaction_records_nothing() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let artist =
            tx.insert_artist(NewArtist { name: "Ghost".into(), ..Default::default() }).await.unwrap();
        tx.update_artist(artist.id, ArtistPatch { name: Some("Ghost 2".into()), ..Default::default() })
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(db.change_count().await.unwrap(), 0);
        assert!(db.artist(artist.id).await.unwrap().is_none());

        // Dropped without commit is a rollback too.
        {
            let mut tx = db.begin().await.unwrap();
            tx.insert_artist(NewArtist { name: "Ghost 3".into(), ..Default::default() }).await.unwrap();
        }
        assert_eq!(db.change_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn cascaded_deletes_are_recorded_on_the_child_tables() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let mut tx = db.begin().await.unwrap();
        tx.delete_song(f.song).await.unwrap();
        tx.commit().await.unwrap();
        let changes = all_changes(db).await;
        for (table, id) in [("songs", f.song), ("playlist_entries", f.entry), ("plays", f.play)] {
            let last = of_row(&changes, table, id).pop().unwrap();
            assert_eq!(last.op, ChangeOp::Delete, "{table}");
        }
        let favourites =
            changes.iter().filter(|c| c.table_name == "listening_data" && c.op == ChangeOp::Delete).count();
        assert_eq!(favourites, 1);
    })
    .await;
}

#[tokio::test]
async fn a_sync_apply_can_write_without_recording_or_record_its_origin() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        tx.set_capture(Capture::Off).await.unwrap();
        let id = Uuid::now_v7();
        tx.execute_unchecked(&format!(
            "INSERT INTO genres (id, name, name_key, created_at, updated_at, version) \
             SELECT id, 'Applied', 'applied', created_at, updated_at, 42 FROM (SELECT {} AS id, {} AS created_at, {} AS updated_at) AS s",
            uuid_literal(db, id), now_literal(db), now_literal(db)
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.change_count().await.unwrap(), 0, "an apply with capture off records nothing");
        assert_eq!(db.genre(id).await.unwrap().unwrap().version, 42, "and keeps the version it was given");

        // The capture mode ends with its transaction.
        let mut tx = db.begin().await.unwrap();
        tx.insert_artist(NewArtist { name: "Local".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let changes = all_changes(db).await;
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].origin, None);
    })
    .await;
}

#[tokio::test]
async fn setting_a_version_by_hand_while_capturing_is_refused() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let mut tx = db.begin().await.unwrap();
        let err = tx.execute_unchecked("UPDATE artists SET version = 123456").await.unwrap_err();
        assert!(matches!(err, DbError::Sqlx(_)), "{err:?}");
        assert!(err.to_string().contains("assigned by change capture"), "{err}");
        drop(tx);
        assert_ne!(db.artist(f.artist).await.unwrap().unwrap().version, 123456);
    })
    .await;
}

fn uuid_literal(db: &Db, id: Uuid) -> String {
    match db.backend() {
        archive_db::Backend::Sqlite => format!("X'{}'", id.simple()),
        archive_db::Backend::Postgres => format!("'{id}'::uuid"),
    }
}

fn now_literal(db: &Db) -> String {
    match db.backend() {
        archive_db::Backend::Sqlite => format!("'{}'", archive_db::now().to_rfc3339()),
        archive_db::Backend::Postgres => "now()".into(),
    }
}

#[tokio::test]
async fn every_change_names_the_user_whose_request_made_it_or_none_for_the_node() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let author = crate::user(&mut tx, "editor@example.org", archive_db::Role::Moderator).await;
        let by_node =
            tx.insert_artist(NewArtist { name: "Imported".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin_as(author).await.unwrap();
        let by_user =
            tx.insert_artist(NewArtist { name: "Typed".into(), ..Default::default() }).await.unwrap();
        tx.update_artist(
            by_node.id,
            ArtistPatch { name: Some("Imported, renamed".into()), ..Default::default() },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // The author lasts one transaction only.
        let mut tx = db.begin().await.unwrap();
        tx.update_artist(
            by_user.id,
            ArtistPatch { biography: Some(Some("Later".into())), ..Default::default() },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let changes = all_changes(db).await;
        let authors =
            |row: Uuid| of_row(&changes, "artists", row).iter().map(|c| c.author).collect::<Vec<_>>();
        assert_eq!(authors(by_node.id), vec![None, Some(author)]);
        assert_eq!(authors(by_user.id), vec![Some(author), None]);
    })
    .await;
}

fn imported(title: String, track_number: Option<i64>) -> archive_db::ImportedSong {
    archive_db::ImportedSong {
        song: archive_db::NewSong { id: Some(Uuid::now_v7()), title, track_number, ..Default::default() },
        bytes_changed: false,
    }
}

#[tokio::test]
async fn a_bulk_write_across_many_statements_records_each_row_once_with_its_version() {
    // 2,000 songs go out as statements of 32, 64, 128, … rows: every row and
    // its log entry must pair up across those boundaries.
    on_each_backend(|t| async move {
        let songs: Vec<_> = (0..2000).map(|i| imported(format!("Bulk {i}"), Some(i % 100))).collect();
        let ids: Vec<Uuid> = songs.iter().map(|s| s.song.id.unwrap()).collect();
        let mut tx = t.db.begin().await.unwrap();
        tx.upsert_songs(songs).await.unwrap();
        tx.commit().await.unwrap();
        let changes = all_changes(&t.db).await;
        let written = t.db.songs_by_ids(&ids).await.unwrap();
        assert_eq!(written.len(), 2000);
        for song in written {
            let entries = of_row(&changes, "songs", song.id);
            assert_eq!(entries.len(), 1, "one change for {}", song.title);
            assert_eq!((entries[0].op, entries[0].version), (ChangeOp::Insert, song.version));
        }
    })
    .await;
}

#[tokio::test]
async fn a_song_that_cannot_be_written_stops_a_bulk_write_with_its_reason() {
    on_each_backend(|t| async move {
        let mut songs: Vec<_> = (0..500).map(|i| imported(format!("Fine {i}"), None)).collect();
        songs[400].song.track_number = Some(1_000_000);
        let mut tx = t.db.begin().await.unwrap();
        let error = tx.upsert_songs(songs).await.unwrap_err();
        assert!(matches!(error, DbError::Invalid { .. }), "refused as invalid: {error:?}");
        assert!(error.to_string().contains("track_number"), "names the field: {error}");
        drop(tx);
        let page = t.db.songs(&Default::default(), &Default::default()).await.unwrap();
        assert!(page.items.is_empty(), "the transaction wrote nothing");
        assert!(of_table(&all_changes(&t.db).await, "songs").is_empty(), "and recorded nothing");
    })
    .await;
}

fn of_table(changes: &[ChangeRecord], table: &str) -> Vec<ChangeRecord> {
    changes.iter().filter(|c| c.table_name == table).cloned().collect()
}

#[tokio::test]
async fn a_bulk_write_keeps_every_character_of_its_values() {
    // PostgreSQL receives bulk rows as COPY text, where tabs, line ends and
    // backslashes have meaning (and "\." alone ends the data); SQLite gets
    // bound values. Titles are cleaned (inner white space folded), formats
    // only trimmed, so the control characters go in the format.
    on_each_backend(|t| async move {
        let values = [
            ("Back\\slash \\N", "a\tb"),
            ("\\.", "line\nbreak\r\nend"),
            ("Ünïcødé ✓ 日本", "\\."),
            ("Plain", "x\\y\tz"),
        ];
        let songs: Vec<_> = values
            .iter()
            .map(|(title, format)| {
                let mut song = imported(title.to_string(), Some(1));
                song.song.format = Some(format.to_string());
                song
            })
            .collect();
        let ids: Vec<Uuid> = songs.iter().map(|s| s.song.id.unwrap()).collect();
        let mut tx = t.db.begin().await.unwrap();
        tx.upsert_songs(songs).await.unwrap();
        tx.commit().await.unwrap();
        let mut written = t.db.songs_by_ids(&ids).await.unwrap();
        written.sort_by_key(|s| ids.iter().position(|id| *id == s.id));
        let got: Vec<(&str, Option<&str>)> =
            written.iter().map(|s| (s.title.as_str(), s.format.as_deref())).collect();
        let want: Vec<(&str, Option<&str>)> = values.iter().map(|(t, f)| (*t, Some(*f))).collect();
        assert_eq!(got, want);
    })
    .await;
}
