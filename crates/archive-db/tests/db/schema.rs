//! Both dialects build the same schema; migrations and backups work on both.

use std::collections::BTreeMap;

use archive_db::{
    Backend, BackupOutcome, DbError, LogPosition, NewArtist, NewFileLocation, NewSong, TableInfo,
};
use archive_testkit::{TestDb, on_each_backend};
use uuid::Uuid;

/// Which PostgreSQL types a SQLite column type stands for.
fn compatible(sqlite: &str, postgres: &str) -> bool {
    matches!(
        (sqlite, postgres),
        ("blob", "uuid" | "bytea")
            | ("integer", "bigint" | "boolean" | "xid8")
            | ("text", "text" | "timestamp with time zone")
            | ("real", "double precision")
    )
}

/// Tables and indexes only one dialect has, and why.
const SQLITE_ONLY_TABLES: &[&str] = &[
    "sync_context", // PostgreSQL keeps this state in settings and a sequence
    // The FTS5 indexes and their shadow tables; PostgreSQL uses a GIN index.
    "search_album_fts",
    "search_album_fts_config",
    "search_album_fts_data",
    "search_album_fts_docsize",
    "search_album_fts_idx",
    "search_artist_fts",
    "search_artist_fts_config",
    "search_artist_fts_data",
    "search_artist_fts_docsize",
    "search_artist_fts_idx",
    "search_song_fts",
    "search_song_fts_config",
    "search_song_fts_data",
    "search_song_fts_docsize",
    "search_song_fts_idx",
];
/// Tables only PostgreSQL has: SQLite keeps its foreign keys during an import.
const POSTGRES_ONLY_TABLES: &[&str] = &["foreign_keys_set_aside"];
const POSTGRES_ONLY_INDEXES: &[&str] = &[
    "sync_changes_position",   // (xid, id): SQLite orders by id alone
    "search_documents_vector", // full-text GIN index; SQLite has search_*_fts
    // Name keys compared byte by byte for short search prefixes; SQLite's
    // own name indexes compare so already.
    "songs_title_bytes",
    "artists_name_bytes",
    "albums_title_bytes",
];

/// Columns only PostgreSQL has: (table, column).
const POSTGRES_ONLY_COLUMNS: &[(&str, &str)] = &[("search_documents", "vector")]; // stored tsvector; SQLite has search_*_fts

#[tokio::test]
async fn both_dialects_build_the_same_schema() {
    let Some(pg) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let sqlite = TestDb::new(Backend::Sqlite).await.unwrap();
    let by_name = |tables: Vec<TableInfo>| -> BTreeMap<String, TableInfo> {
        tables.into_iter().map(|t| (t.name.clone(), t)).collect()
    };
    let mut lite = by_name(sqlite.db.schema().await.unwrap());
    let mut pg = by_name(pg.db.schema().await.unwrap());
    for name in SQLITE_ONLY_TABLES {
        assert!(lite.remove(*name).is_some(), "{name} exists on SQLite");
    }
    for name in POSTGRES_ONLY_TABLES {
        assert!(pg.remove(*name).is_some(), "{name} exists on PostgreSQL");
    }
    assert_eq!(lite.keys().collect::<Vec<_>>(), pg.keys().collect::<Vec<_>>(), "same tables");
    for (name, l) in &lite {
        let p = &pg[name];
        let l_cols: Vec<_> = l.columns.iter().map(|c| (&c.name, c.not_null)).collect();
        let p_columns: Vec<_> = p
            .columns
            .iter()
            .filter(|c| !POSTGRES_ONLY_COLUMNS.contains(&(name.as_str(), c.name.as_str())))
            .collect();
        let p_cols: Vec<_> = p_columns.iter().map(|c| (&c.name, c.not_null)).collect();
        assert_eq!(l_cols, p_cols, "{name}: same columns, order and nullability");
        for (lc, pc) in l.columns.iter().zip(p_columns) {
            assert!(
                compatible(&lc.sql_type, &pc.sql_type),
                "{name}.{}: {} vs {}",
                lc.name,
                lc.sql_type,
                pc.sql_type
            );
        }
        let p_indexes: Vec<_> =
            p.indexes.iter().filter(|i| !POSTGRES_ONLY_INDEXES.contains(&i.as_str())).collect();
        assert_eq!(l.indexes.iter().collect::<Vec<_>>(), p_indexes, "{name}: same indexes");
    }
}

#[tokio::test]
async fn status_lists_migrations_as_pending_then_applied_and_migrate_is_idempotent() {
    for backend in archive_testkit::backends() {
        let t = TestDb::empty(backend).await.unwrap();
        let before = t.db.migration_status().await.unwrap();
        assert!(!before.is_empty());
        assert!(before.iter().all(|m| !m.applied), "{backend:?}: {before:?}");
        t.db.migrate().await.unwrap();
        t.db.migrate().await.unwrap();
        let after = t.db.migration_status().await.unwrap();
        assert!(after.iter().all(|m| m.applied), "{backend:?}: {after:?}");
    }
}

#[tokio::test]
async fn backup_copies_sqlite_and_points_postgres_at_pg_dump() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        tx.insert_artist(NewArtist { name: "Backed up".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("backup.db");
        match db.backup(&target).await.unwrap() {
            BackupOutcome::Written => {
                let copy = archive_db::Db::connect(&archive_db::DbOptions {
                    database_url: None,
                    sqlite_path: target.clone(),
                    max_connections: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
                assert!(copy.artist_by_name("backed up").await.unwrap().is_some());
                assert!(db.backup(&target).await.is_err(), "an existing file is never overwritten");
            }
            BackupOutcome::UsePgDump { command } => {
                assert_eq!(db.backend(), Backend::Postgres);
                assert!(command.starts_with("pg_dump"));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn sync_row_images_carry_every_column_of_every_synced_table() {
    on_each_backend(|t| async move {
        let schema = t.db.schema().await.unwrap();
        for table in archive_db::SYNCED_TABLES {
            let live: Vec<String> = schema
                .iter()
                .find(|t| t.name == *table)
                .unwrap()
                .columns
                .iter()
                .map(|c| c.name.clone())
                .filter(|c| c != "version")
                .collect();
            assert_eq!(archive_db::sync::row_columns(table), live, "{table}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_trust_boundary_migration_removes_password_hashes_from_the_conflict_log() {
    for backend in archive_testkit::backends() {
        let t = TestDb::empty(backend).await.unwrap();
        t.db.migrate_to(5).await.unwrap();
        let row = r#"{"id":"x","email":"a@example.org","role":"admin","password_hash":"$argon2id$secret"}"#;
        let insert = match backend {
            Backend::Sqlite => format!(
                "INSERT INTO conflict_logs (id, change_id, node_id, table_name, row_id, slave_row, master_row, \
                 resolution, reason, created_at) VALUES (randomblob(16), randomblob(16), 'home', 'users', \
                 randomblob(16), '{row}', '{row}', 'master_wins', 'old', '2026-01-01T00:00:00Z')"
            ),
            Backend::Postgres => format!(
                "INSERT INTO conflict_logs (id, change_id, node_id, table_name, row_id, slave_row, master_row, \
                 resolution, reason, created_at) VALUES (gen_random_uuid(), gen_random_uuid(), 'home', 'users', \
                 gen_random_uuid(), '{row}', '{row}', 'master_wins', 'old', now())"
            ),
        };
        let mut tx = t.db.begin().await.unwrap();
        tx.execute_unchecked(&insert).await.unwrap();
        tx.commit().await.unwrap();
        t.db.migrate().await.unwrap();
        let logged = t.db.conflict_logs(10, 0).await.unwrap();
        assert_eq!(logged.len(), 1);
        for side in [&logged[0].slave_row, &logged[0].master_row] {
            let side = side.as_deref().unwrap();
            assert!(!side.contains("password_hash") && !side.contains("argon2"), "{backend:?}: {side}");
            assert!(side.contains("a@example.org"), "the rest of the row stays: {side}");
        }
    }
}

#[tokio::test]
async fn playlists_keep_their_order_through_the_move_to_sort_keys_and_nothing_is_recorded() {
    for backend in archive_testkit::backends() {
        let t = TestDb::empty(backend).await.unwrap();
        t.db.migrate_to(6).await.unwrap();
        let id = |n: u32| match backend {
            Backend::Sqlite => format!("X'{n:032x}'"),
            Backend::Postgres => format!("'{}'::uuid", uuid::Uuid::from_u128(n as u128)),
        };
        let at = "'2026-01-01T00:00:00Z'";
        let mut sql = vec![
            format!(
                "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ({}, 'o@example.org', 'O', 'user', 'x', {at}, {at})",
                id(1)
            ),
            format!(
                "INSERT INTO songs (id, title, title_key, created_at, updated_at) VALUES ({}, 'S', 's', {at}, {at})",
                id(2)
            ),
            format!(
                "INSERT INTO playlists (id, owner_id, name, created_at, updated_at) VALUES ({}, {}, 'P', {at}, {at})",
                id(3),
                id(1)
            ),
        ];
        // Entries 10, 11, 12 at positions 2, 0, 1.
        for (entry, position) in [(10, 2), (11, 0), (12, 1)] {
            sql.push(format!(
                "INSERT INTO playlist_entries (id, playlist_id, song_id, position, created_at, updated_at) \
                 VALUES ({}, {}, {}, {position}, {at}, {at})",
                id(entry),
                id(3),
                id(2)
            ));
        }
        let mut tx = t.db.begin().await.unwrap();
        for statement in &sql {
            tx.execute_unchecked(statement).await.unwrap();
        }
        tx.commit().await.unwrap();
        let recorded = t.db.change_count().await.unwrap();
        t.db.migrate().await.unwrap();
        assert_eq!(
            t.db.change_count().await.unwrap(),
            recorded,
            "{backend:?}: the migration records no change"
        );
        let page = t.db.playlist_entries(uuid::Uuid::from_u128(3), &Default::default()).await.unwrap();
        let order: Vec<u128> = page.items.iter().map(|e| e.id.as_u128()).collect();
        assert_eq!(order, vec![11, 12, 10], "{backend:?}");
        assert_eq!(page.items.iter().map(|e| e.position).collect::<Vec<_>>(), vec![0, 1, 2]);
        // New entries find their places among the migrated ones.
        let mut tx = t.db.begin().await.unwrap();
        let second =
            tx.add_playlist_entry(uuid::Uuid::from_u128(3), uuid::Uuid::from_u128(2), Some(1)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(second.position, 1);
    }
}

#[tokio::test]
async fn the_postgres_full_text_index_keeps_its_pending_list_short() {
    // Every search reads the GIN index's whole pending list; migration 0009
    // bounds it at 256 kB instead of the server's 4 MB default.
    if !archive_testkit::backends().contains(&Backend::Postgres) {
        return; // the PostgreSQL test server said why it is missing
    }
    let t = TestDb::new(Backend::Postgres).await.expect("PostgreSQL is available");
    assert_the_full_text_pending_list_is_short(&t.db).await;
}

async fn assert_the_full_text_pending_list_is_short(db: &archive_db::Db) {
    let mut tx = db.begin().await.unwrap();
    tx.execute_unchecked(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'search_documents_vector' \
         AND 'gin_pending_list_limit=256' = ANY (reloptions)) THEN RAISE EXCEPTION 'no pending list limit'; \
         END IF; END $$",
    )
    .await
    .expect("the search index has a 256 kB pending list limit");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn on_postgres_every_capture_trigger_is_skipped_while_capture_is_off() {
    // Migration 0022: with the condition in the trigger, a bulk write with
    // capture off calls no trigger function and queues no event per row.
    if !archive_testkit::backends().contains(&Backend::Postgres) {
        return; // the PostgreSQL test server said why it is missing
    }
    let t = TestDb::new(Backend::Postgres).await.expect("PostgreSQL is available");
    let tables = archive_db::SYNCED_TABLES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let mut tx = t.db.begin().await.unwrap();
    tx.execute_unchecked(&format!(
        "DO $$ BEGIN IF (SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
         WHERE c.relname IN ({tables}) AND g.tgqual IS NOT NULL \
         AND pg_get_triggerdef(g.oid) LIKE '%WHEN (archive_capture_on())%' \
         AND (g.tgname = c.relname || '_capture' OR g.tgname = c.relname || '_assign_version')) \
         <> 2 * {count} THEN RAISE EXCEPTION 'a capture trigger runs while capture is off'; END IF; END $$",
        count = archive_db::SYNCED_TABLES.len()
    ))
    .await
    .expect("both capture triggers of every synced table have the WHEN condition");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn refreshing_the_library_statistics_gives_postgres_a_row_estimate_for_songs() {
    // Without statistics (a library imported into fresh tables, before
    // autovacuum's round) PostgreSQL planned two-word searches four times slower.
    on_each_backend(|t| async move {
        let mut tx = t.db.begin().await.unwrap();
        tx.insert_artist(NewArtist { name: "Estimated".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        t.db.refresh_library_statistics().await.unwrap();
        if t.db.backend() == Backend::Postgres {
            let mut tx = t.db.begin().await.unwrap();
            tx.execute_unchecked(
                "DO $$ BEGIN IF (SELECT reltuples FROM pg_class WHERE relname = 'artists') < 1 \
                 THEN RAISE EXCEPTION 'artists were never analyzed'; END IF; END $$",
            )
            .await
            .expect("the artists table has a row estimate");
            tx.rollback().await.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn the_bundled_sqlite_is_built_without_its_global_locks() {
    // .cargo/config.toml compiles SQLite without memory statistics and
    // without the shared page-cache group: both put one process-wide mutex
    // in the way of the writer and every reader (PERFORMANCE.md).
    let t = TestDb::new(Backend::Sqlite).await.expect("SQLite is always available");
    let mut tx = t.db.begin().await.unwrap();
    tx.execute_unchecked("CREATE TEMP TABLE compiled_with (option TEXT)").await.unwrap();
    let found = tx
        .execute_unchecked(
            "INSERT INTO temp.compiled_with SELECT compile_options FROM pragma_compile_options \
             WHERE compile_options IN ('DEFAULT_MEMSTATUS=0', 'ENABLE_MEMORY_MANAGEMENT')",
        )
        .await
        .unwrap();
    let memory_managed = tx
        .execute_unchecked("DELETE FROM temp.compiled_with WHERE option = 'ENABLE_MEMORY_MANAGEMENT'")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(memory_managed, 0, "SQLite is built with SQLITE_ENABLE_MEMORY_MANAGEMENT");
    assert_eq!(found, 1, "SQLite is built without SQLITE_DEFAULT_MEMSTATUS=0");
}

#[tokio::test]
async fn the_sqlite_search_indexes_merge_eight_segments_at_a_time() {
    // Migration 0020; a later migration that rebuilds an index must set it again.
    let t = TestDb::new(Backend::Sqlite).await.expect("SQLite is always available");
    let mut tx = t.db.begin().await.unwrap();
    tx.execute_unchecked("CREATE TEMP TABLE merging (k TEXT)").await.unwrap();
    let set = tx
        .execute_unchecked(
            "INSERT INTO temp.merging \
             SELECT k FROM search_song_fts_config WHERE k = 'automerge' AND v = 8 \
             UNION ALL SELECT k FROM search_artist_fts_config WHERE k = 'automerge' AND v = 8 \
             UNION ALL SELECT k FROM search_album_fts_config WHERE k = 'automerge' AND v = 8",
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(set, 3, "each of the three search indexes has automerge 8");
}

/// The indexes a bulk import sets aside that the live schema has, by name:
/// those of `songs`, and PostgreSQL's full-text index of the search documents.
async fn song_indexes(db: &archive_db::Db) -> Vec<String> {
    let schema = db.schema().await.unwrap();
    let songs = schema.iter().find(|t| t.name == "songs").expect("a songs table");
    let documents = schema.iter().find(|t| t.name == "search_documents").expect("a search_documents table");
    let full_text = documents.indexes.iter().filter(|name| *name == "search_documents_vector");
    let mut indexes: Vec<String> = songs.indexes.iter().chain(full_text).cloned().collect();
    indexes.sort();
    indexes
}

#[tokio::test]
async fn a_bulk_import_sets_the_song_indexes_aside_and_builds_the_same_ones_again() {
    on_each_backend(|t| async move {
        let before = song_indexes(&t.db).await;
        assert!(before.len() >= 8, "songs has its secondary indexes: {before:?}");
        let full_text = t.db.backend() == Backend::Postgres;
        assert_eq!(before.contains(&"search_documents_vector".to_owned()), full_text);
        assert_eq!(t.db.set_song_indexes_aside().await.unwrap(), before.len());
        assert_eq!(song_indexes(&t.db).await, Vec::<String>::new(), "dropped while set aside");
        assert_eq!(t.db.restore_song_indexes().await.unwrap(), before.len());
        assert_eq!(song_indexes(&t.db).await, before, "the same indexes, by the same definitions");
        if full_text {
            assert_the_full_text_pending_list_is_short(&t.db).await;
        }
        assert_eq!(t.db.restore_song_indexes().await.unwrap(), 0, "nothing is left to build");
    })
    .await;
}

#[tokio::test]
async fn song_indexes_set_aside_by_a_stopped_process_are_built_when_the_database_is_next_migrated() {
    on_each_backend(|t| async move {
        let before = song_indexes(&t.db).await;
        assert!(t.db.set_song_indexes_aside().await.unwrap() > 0);
        t.db.set_foreign_keys_aside().await.unwrap();
        // The importing process stops before it builds them again.
        t.db.close().await;
        let next = archive_db::Db::connect(&t.options).await.unwrap();
        next.migrate().await.unwrap();
        assert_eq!(song_indexes(&next).await, before);
        assert_eq!(next.restore_foreign_keys().await.unwrap(), 0, "the keys are back");
        assert_refuses_a_song_by_a_missing_artist(&next).await;
        next.close().await;
    })
    .await;
}

async fn song_by(db: &archive_db::Db, title: &str, artist_id: Uuid) -> Result<Uuid, DbError> {
    let mut tx = db.begin().await?;
    let new = NewSong { title: title.into(), artist_id: Some(artist_id), ..Default::default() };
    let id = tx.insert_song(new).await?.id;
    tx.commit().await?;
    Ok(id)
}

async fn assert_refuses_a_song_by_a_missing_artist(db: &archive_db::Db) {
    let refused = song_by(db, "Nobody's", Uuid::new_v4()).await;
    assert!(matches!(refused, Err(DbError::MissingReference(_))), "{refused:?}");
}

/// Sets the foreign keys aside; false on SQLite, which keeps them.
async fn keys_set_aside(t: &TestDb) -> bool {
    let set_aside = t.db.set_foreign_keys_aside().await.unwrap() > 0;
    assert!(set_aside || t.backend() == Backend::Sqlite, "only SQLite keeps its keys");
    set_aside
}

/// Brings the keys back on a task of its own, as an import's end does
/// while other writers go on.
fn restoring_keys(db: &archive_db::Db) -> tokio::task::JoinHandle<Result<usize, DbError>> {
    let db = db.clone();
    tokio::spawn(async move { db.restore_foreign_keys().await })
}

/// Returns once some transaction on `t`'s PostgreSQL database waits for a lock.
async fn until_a_lock_is_awaited(t: &TestDb) {
    let url = t.options.database_url.as_deref().expect("keys are set aside on PostgreSQL only");
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE NOT granted")
            .fetch_one(&pool)
            .await
            .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no transaction ever waited for a lock");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    pool.close().await;
}

async fn keys_restored(restore: tokio::task::JoinHandle<Result<usize, DbError>>) -> Result<usize, DbError> {
    tokio::time::timeout(std::time::Duration::from_secs(30), restore)
        .await
        .expect("the restore ends")
        .unwrap()
}

#[tokio::test]
async fn foreign_keys_come_back_while_a_writer_adds_an_artist_and_then_its_song() {
    on_each_backend(|t| async move {
        let db = &t.db;
        if !keys_set_aside(&t).await {
            return;
        }
        // A writer between an artist and its song, as an import's batch or
        // a page of sync is, while the import that set the keys aside
        // brings them back.
        let mut writer = db.begin().await.unwrap();
        let artist = writer
            .insert_artist(NewArtist { name: "Arriving".into(), ..Default::default() })
            .await
            .unwrap()
            .id;
        let restore = restoring_keys(db);
        // The restore reaches the artists' key and waits for the writer.
        until_a_lock_is_awaited(&t).await;
        let new = NewSong { title: "Hers".into(), artist_id: Some(artist), ..Default::default() };
        let song = writer.insert_song(new).await.expect("the writer goes on").id;
        writer.commit().await.expect("the writer commits");
        assert_eq!(keys_restored(restore).await.expect("every key comes back"), 4);
        assert_eq!(
            db.song(song).await.unwrap().unwrap().artist_id,
            Some(artist),
            "the song keeps its artist"
        );
        assert_refuses_a_song_by_a_missing_artist(db).await;
    })
    .await;
}

#[tokio::test]
async fn foreign_keys_come_back_after_a_deadlock_with_a_writer_that_takes_the_tables_the_other_way() {
    on_each_backend(|t| async move {
        let db = &t.db;
        if !keys_set_aside(&t).await {
            return;
        }
        // A file's location written before its song: the restore holds
        // `songs` and waits for `file_locations`, the writer then waits for
        // `songs`, and PostgreSQL ends the one that waited first.
        let song = Uuid::new_v4();
        let mut writer = db.begin().await.unwrap();
        let location = NewFileLocation {
            song_id: song,
            path: "/music/first.mp3".into(),
            file_size: 100,
            modified_at: None,
            source: archive_db::FileSource::Library,
        };
        writer.insert_file_locations(&[location]).await.unwrap();
        let restore = restoring_keys(db);
        until_a_lock_is_awaited(&t).await;
        let new = NewSong { id: Some(song), title: "Located first".into(), ..Default::default() };
        writer.insert_song(new).await.expect("the writer goes on");
        writer.commit().await.expect("the writer commits");
        assert_eq!(
            keys_restored(restore).await.expect("every key comes back, tried again after the deadlock"),
            4
        );
        assert!(db.file_location_by_path("/music/first.mp3").await.unwrap().is_some(), "the location stays");
        assert_refuses_a_song_by_a_missing_artist(db).await;
    })
    .await;
}

#[tokio::test]
async fn foreign_keys_set_aside_for_an_import_come_back_after_clearing_references_to_rows_deleted_meanwhile()
{
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let artist =
            tx.insert_artist(NewArtist { name: "Gone".into(), ..Default::default() }).await.unwrap().id;
        tx.commit().await.unwrap();

        let set_aside = db.set_foreign_keys_aside().await.unwrap();
        if t.backend() == Backend::Sqlite {
            assert_eq!(set_aside, 0, "SQLite keeps its keys");
            assert_refuses_a_song_by_a_missing_artist(db).await;
            return;
        }
        // songs' artist, album and genre, and file_locations' song.
        assert_eq!(set_aside, 4);

        // Meanwhile the database checks no reference and runs no ON DELETE.
        let by_gone = song_by(db, "By the artist deleted", artist).await.unwrap();
        let by_nobody = song_by(db, "By no artist", Uuid::new_v4()).await.expect("not refused while aside");
        let mut tx = db.begin().await.unwrap();
        tx.delete_artist(artist).await.unwrap();
        let located =
            tx.insert_song(NewSong { title: "Located".into(), ..Default::default() }).await.unwrap().id;
        let location = NewFileLocation {
            song_id: located,
            path: "/music/located.mp3".into(),
            file_size: 100,
            modified_at: None,
            source: archive_db::FileSource::Library,
        };
        tx.insert_file_locations(&[location]).await.unwrap();
        tx.delete_song(located).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.song(by_gone).await.unwrap().unwrap().artist_id, Some(artist), "no ON DELETE ran");
        assert!(db.file_location_by_path("/music/located.mp3").await.unwrap().is_some());
        let before_restore = db.changes_after(LogPosition::START, 1_000).await.unwrap().len();

        assert_eq!(db.restore_foreign_keys().await.unwrap(), 4);
        for song in [by_gone, by_nobody] {
            assert_eq!(
                db.song(song).await.unwrap().unwrap().artist_id,
                None,
                "cleared as ON DELETE SET NULL"
            );
        }
        assert!(
            db.file_location_by_path("/music/located.mp3").await.unwrap().is_none(),
            "deleted as CASCADE"
        );
        let changes = db.changes_after(LogPosition::START, 1_000).await.unwrap();
        let cleared: Vec<Uuid> =
            changes[before_restore..].iter().filter(|c| c.table_name == "songs").map(|c| c.row_id).collect();
        assert_eq!(cleared.len(), 2, "each song cleared is a change recorded for sync: {cleared:?}");
        assert!(cleared.contains(&by_gone) && cleared.contains(&by_nobody));

        // The keys are back, and their ON DELETE with them.
        assert_refuses_a_song_by_a_missing_artist(db).await;
        let mut tx = db.begin().await.unwrap();
        let second =
            tx.insert_artist(NewArtist { name: "Second".into(), ..Default::default() }).await.unwrap().id;
        tx.commit().await.unwrap();
        let by_second = song_by(db, "By the second", second).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.delete_artist(second).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.song(by_second).await.unwrap().unwrap().artist_id, None);
        assert_eq!(db.restore_foreign_keys().await.unwrap(), 0, "nothing is left to add");
    })
    .await;
}
