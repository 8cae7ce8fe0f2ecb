//! What the schema holds, as data: the synced tables, and introspection of the
//! live schema (used by the schema-parity test and by `archive db status`).

use serde::Serialize;

use crate::Db;
use crate::error::Result;

/// The synced tables, parents before children (the order to copy or apply
/// inserts in; deletes go in reverse). Every one has a UUID `id` and a
/// `version`, and capture triggers that record its writes.
pub const SYNCED_TABLES: &[&str] = &[
    "users",
    "artists",
    "genres",
    "albums",
    "songs",
    "playlists",
    "playlist_entries",
    "listening_data",
    "favourites",
    "plays",
    "shared_settings",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    /// The type as the database names it (dialect-specific).
    pub sql_type: String,
    pub not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// Indexes created by name (not the ones behind PRIMARY KEY or UNIQUE).
    pub indexes: Vec<String>,
}

impl Db {
    /// The live schema: tables (without the migrations table), columns, indexes.
    pub async fn schema(&self) -> Result<Vec<TableInfo>> {
        match self.pool_ref() {
            crate::backend::PoolRef::Sqlite(pool) => crate::sqlite::schema(pool).await,
            crate::backend::PoolRef::Postgres(pool) => crate::postgres::schema(pool).await,
        }
    }
}
