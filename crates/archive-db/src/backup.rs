//! `archive db backup`: a consistent copy of the database.

use std::path::Path;

use crate::Db;
use crate::error::{DbError, Result};

/// What a backup request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupOutcome {
    /// The SQLite database was copied into the file (`VACUUM INTO`).
    Written,
    /// PostgreSQL is backed up with its own tool; this is the command to run.
    UsePgDump { command: String },
}

impl Db {
    /// Backs the database up into `target`, which must not exist yet.
    pub async fn backup(&self, target: &Path) -> Result<BackupOutcome> {
        if target.exists() {
            return Err(DbError::Backup(format!("{} already exists; choose a new file", target.display())));
        }
        match self.sqlite_writer() {
            Some(writer) => {
                crate::sqlite::backup(writer, target).await?;
                Ok(BackupOutcome::Written)
            }
            None => Ok(BackupOutcome::UsePgDump { command: crate::postgres::dump_command(target) }),
        }
    }
}

impl Db {
    /// The database's size on disk, in bytes (for `db status` and benchmarks).
    pub async fn size_bytes(&self) -> Result<i64> {
        match self.pool_ref() {
            crate::backend::PoolRef::Sqlite(pool) => crate::sqlite::size_bytes(pool).await,
            crate::backend::PoolRef::Postgres(pool) => crate::postgres::size_bytes(pool).await,
        }
    }
}
