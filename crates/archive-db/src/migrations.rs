//! Migrations, embedded in the binary: one set per dialect, same versions and
//! descriptions in both (the schema-parity test checks the result).

use serde::Serialize;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::backend::PoolRef;
use crate::error::Result;
use crate::{Backend, Db};

/// (version, description, SQLite SQL, PostgreSQL SQL)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "core schema",
        include_str!("../migrations/sqlite/0001_core.sql"),
        include_str!("../migrations/postgres/0001_core.sql"),
    ),
    (
        2,
        "search",
        include_str!("../migrations/sqlite/0002_search.sql"),
        include_str!("../migrations/postgres/0002_search.sql"),
    ),
    (
        3,
        "search vector column",
        include_str!("../migrations/sqlite/0003_search_vector.sql"),
        include_str!("../migrations/postgres/0003_search_vector.sql"),
    ),
    (
        4,
        "search index per kind",
        include_str!("../migrations/sqlite/0004_search_by_kind.sql"),
        include_str!("../migrations/postgres/0004_search_by_kind.sql"),
    ),
    (
        5,
        "sync engine state",
        include_str!("../migrations/sqlite/0005_sync_engine.sql"),
        include_str!("../migrations/postgres/0005_sync_engine.sql"),
    ),
    (
        6,
        "sync trust boundary",
        include_str!("../migrations/sqlite/0006_trust_boundary.sql"),
        include_str!("../migrations/postgres/0006_trust_boundary.sql"),
    ),
    (
        7,
        "playlist order as sort keys",
        include_str!("../migrations/sqlite/0007_playlist_sort_keys.sql"),
        include_str!("../migrations/postgres/0007_playlist_sort_keys.sql"),
    ),
    (
        8,
        "library lookups: hashed songs by size, name prefixes",
        include_str!("../migrations/sqlite/0008_library_lookups.sql"),
        include_str!("../migrations/postgres/0008_library_lookups.sql"),
    ),
    (
        9,
        "full-text index merged sooner",
        include_str!("../migrations/sqlite/0009_search_pending_list.sql"),
        include_str!("../migrations/postgres/0009_search_pending_list.sql"),
    ),
    (
        10,
        "content files held by hash",
        include_str!("../migrations/sqlite/0010_content_files.sql"),
        include_str!("../migrations/postgres/0010_content_files.sql"),
    ),
    (
        11,
        "pins and the file transfer queue",
        include_str!("../migrations/sqlite/0011_pins_and_transfers.sql"),
        include_str!("../migrations/postgres/0011_pins_and_transfers.sql"),
    ),
    (
        12,
        "a slave's count of the files it holds",
        include_str!("../migrations/sqlite/0012_slave_files_here.sql"),
        include_str!("../migrations/postgres/0012_slave_files_here.sql"),
    ),
    (
        13,
        "Subsonic API keys",
        include_str!("../migrations/sqlite/0013_subsonic_api_keys.sql"),
        include_str!("../migrations/postgres/0013_subsonic_api_keys.sql"),
    ),
    (
        14,
        "Subsonic app passwords",
        include_str!("../migrations/sqlite/0014_subsonic_app_passwords.sql"),
        include_str!("../migrations/postgres/0014_subsonic_app_passwords.sql"),
    ),
    (
        15,
        "play queues",
        include_str!("../migrations/sqlite/0015_play_queues.sql"),
        include_str!("../migrations/postgres/0015_play_queues.sql"),
    ),
    (
        16,
        "favourite albums and artists",
        include_str!("../migrations/sqlite/0016_favourite_albums_and_artists.sql"),
        include_str!("../migrations/postgres/0016_favourite_albums_and_artists.sql"),
    ),
    (
        17,
        "album lists by date added and with their lengths from an index",
        include_str!("../migrations/sqlite/0017_albums_by_date_added.sql"),
        include_str!("../migrations/postgres/0017_albums_by_date_added.sql"),
    ),
    (
        18,
        "live sync: commit notifications, live state and delays of peers",
        include_str!("../migrations/sqlite/0018_live_sync.sql"),
        include_str!("../migrations/postgres/0018_live_sync.sql"),
    ),
    (
        19,
        "state shared by the processes on one database: failed attempts, known logins, imports",
        include_str!("../migrations/sqlite/0019_shared_process_state.sql"),
        include_str!("../migrations/postgres/0019_shared_process_state.sql"),
    ),
    (
        20,
        "search indexes merge eight segments at a time",
        include_str!("../migrations/sqlite/0020_search_merges.sql"),
        include_str!("../migrations/postgres/0020_search_merges.sql"),
    ),
    (
        21,
        "a record of the song indexes a bulk import sets aside",
        include_str!("../migrations/sqlite/0021_song_indexes_set_aside.sql"),
        include_str!("../migrations/postgres/0021_song_indexes_set_aside.sql"),
    ),
    (
        22,
        "capture triggers skipped while capture is off",
        include_str!("../migrations/sqlite/0022_capture_skipped_when_off.sql"),
        include_str!("../migrations/postgres/0022_capture_skipped_when_off.sql"),
    ),
    (
        23,
        "bulk inserts of artists and albums index them for search in one statement",
        include_str!("../migrations/sqlite/0023_names_search_in_bulk.sql"),
        include_str!("../migrations/postgres/0023_names_search_in_bulk.sql"),
    ),
    (
        24,
        "a record of the foreign keys a bulk import sets aside on PostgreSQL",
        include_str!("../migrations/sqlite/0024_foreign_keys_set_aside.sql"),
        include_str!("../migrations/postgres/0024_foreign_keys_set_aside.sql"),
    ),
    (
        25,
        "the bytes each slave key uploaded today, for the daily upload quota",
        include_str!("../migrations/sqlite/0025_slave_upload_quota.sql"),
        include_str!("../migrations/postgres/0025_slave_upload_quota.sql"),
    ),
    (
        26,
        "when a slave last asked to send each received file, for the sweep",
        include_str!("../migrations/sqlite/0026_received_files_wanted.sql"),
        include_str!("../migrations/postgres/0026_received_files_wanted.sql"),
    ),
    (
        27,
        "SQLite's song search source gives each song's row number",
        include_str!("../migrations/sqlite/0027_song_search_by_row.sql"),
        include_str!("../migrations/postgres/0027_song_search_by_row.sql"),
    ),
    (
        28,
        "the changes each slave key pushed today, for the daily push quota",
        include_str!("../migrations/sqlite/0028_slave_push_quota.sql"),
        include_str!("../migrations/postgres/0028_slave_push_quota.sql"),
    ),
];

fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// One migration and whether this database has it.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

impl Db {
    /// Applies the pending migrations (each in its own transaction).
    pub async fn migrate(&self) -> Result<()> {
        // Indexes an interrupted import set aside come back first, so that
        // every migration finds the schema it was written for.
        self.restore_song_indexes().await?;
        self.restore_foreign_keys().await?;
        let migrator = migrator(self.backend());
        match (self.sqlite_writer(), self.pool_ref()) {
            (Some(writer), _) => migrator.run(writer).await?,
            (None, PoolRef::Postgres(pool)) => migrator.run(pool).await?,
            (None, PoolRef::Sqlite(pool)) => migrator.run(pool).await?,
        }
        Ok(())
    }

    /// Applies the pending migrations up to `version` only. For tests of a
    /// migration's effect on data written before it.
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i64) -> Result<()> {
        let migrator = migrator(self.backend());
        match (self.sqlite_writer(), self.pool_ref()) {
            (Some(writer), _) => migrator.run_to(version, writer).await?,
            (None, PoolRef::Postgres(pool)) => migrator.run_to(version, pool).await?,
            (None, PoolRef::Sqlite(pool)) => migrator.run_to(version, pool).await?,
        }
        Ok(())
    }

    /// Every migration this binary knows, applied or pending.
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>> {
        let applied: Vec<i64> = match self.pool_ref() {
            PoolRef::Sqlite(pool) => {
                let exists: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(pool)
                .await?;
                if exists == 0 {
                    Vec::new()
                } else {
                    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                        .fetch_all(pool)
                        .await?
                }
            }
            PoolRef::Postgres(pool) => {
                let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?;
                if exists {
                    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                        .fetch_all(pool)
                        .await?
                } else {
                    Vec::new()
                }
            }
        };
        Ok(MIGRATIONS
            .iter()
            .map(|&(version, description, _, _)| MigrationStatus {
                version,
                description: description.to_owned(),
                applied: applied.contains(&version),
            })
            .collect())
    }
}
