//! Audio files held in the content store by their SHA-256 without a file
//! location (node-local, never synced): what another node sent this one,
//! and what a slave fetched from its master.
//! Together with the present file locations of songs with a known
//! `content_hash`, they answer "does this node hold the bytes of hash H, and
//! where?", which file transfer between nodes keys on.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::sql::{Param, Sql};
use crate::{Db, FileLocation, Tx};

crate::words::word_enum! {
    /// How a content file came to this node.
    pub enum ContentOrigin ("origin") {
        /// Sent by another node (a slave's upload to the master).
        Received = "received",
        /// Fetched from the master (by a slave).
        Fetched = "fetched",
    }
}

/// A file in the content store, by hash.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ContentFile {
    pub sha256: String,
    pub path: String,
    pub size: i64,
    #[sqlx(try_from = "String")]
    pub origin: ContentOrigin,
    pub created_at: DateTime<Utc>,
}

const CONTENT_COLUMNS: &str = "sha256, path, size, origin, created_at";

/// That no song names the content file `file` (a table or its alias) and
/// no file location is at its path.
fn unclaimed(file: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM songs s WHERE s.content_hash = {file}.sha256) \
         AND NOT EXISTS (SELECT 1 FROM file_locations l WHERE l.path = {file}.path)"
    )
}

/// When a received file is due for removal: not asked for by an upload
/// batch (or, never asked for, not arrived) since `not_asked_since`; or
/// arrived before `arrived_before`, however often it was asked for, unless
/// it was asked for since `asked_since` (a batch that just answered
/// `present` for it is followed by the push that names it).
#[derive(Debug, Clone, Copy)]
pub struct SweepDue {
    pub not_asked_since: DateTime<Utc>,
    pub arrived_before: DateTime<Utc>,
    pub asked_since: DateTime<Utc>,
}

impl SweepDue {
    fn push_condition(self, sql: &mut Sql, file: &str) {
        let last_asked = format!("coalesce({file}.wanted_at, {file}.created_at)");
        sql.push(&format!("({last_asked} < "));
        sql.bind(Param::Time(self.not_asked_since));
        sql.push(&format!(" OR ({file}.created_at < "));
        sql.bind(Param::Time(self.arrived_before));
        sql.push(&format!(" AND {last_asked} < "));
        sql.bind(Param::Time(self.asked_since)).push("))");
    }
}

impl Db {
    pub async fn content_file(&self, sha256: &str) -> Result<Option<ContentFile>> {
        let mut sql = Sql::new(&format!("SELECT {CONTENT_COLUMNS} FROM content_files WHERE sha256 = "));
        sql.bind(Param::Text(sha256.to_owned()));
        self.fetch_optional_sql(sql).await
    }

    /// The present location of a song whose whole file has this SHA-256.
    pub async fn located_file_with_hash(&self, sha256: &str) -> Result<Option<FileLocation>> {
        let mut sql = Sql::new(
            "SELECT l.song_id, l.path, l.file_size, l.modified_at, l.source, l.status, l.updated_at \
             FROM songs s JOIN file_locations l ON l.song_id = s.id \
             WHERE l.status = 'present' AND s.content_hash = ",
        );
        sql.bind(Param::Text(sha256.to_owned()));
        sql.push(" ORDER BY l.updated_at DESC LIMIT 1");
        self.fetch_optional_sql(sql).await
    }

    /// Which of `song_ids` have no file location but their bytes in the
    /// content store (by their `content_hash`).
    pub async fn songs_in_content_store(&self, song_ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut held = Vec::new();
        for chunk in song_ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(
                "SELECT s.id FROM songs s JOIN content_files c ON c.sha256 = s.content_hash WHERE s.id IN ",
            );
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let rows: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
            held.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(held)
    }

    /// Which of `song_ids` play from a file fetched from the master (no
    /// present file location of their own).
    pub async fn songs_fetched(&self, song_ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut fetched = Vec::new();
        for chunk in song_ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(
                "SELECT s.id FROM songs s JOIN content_files c ON c.sha256 = s.content_hash \
                 WHERE c.origin = 'fetched' \
                 AND NOT EXISTS (SELECT 1 FROM file_locations l WHERE l.song_id = s.id AND l.status = 'present') \
                 AND s.id IN ",
            );
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let rows: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
            fetched.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(fetched)
    }
}

impl Db {
    /// Up to `limit` files received from other nodes that are due for the
    /// sweep (see [`SweepDue`]) and that no song names by its
    /// `content_hash`: sent for a song that never came (a slave's push that
    /// never followed, or a stolen key's junk), or whose song was deleted
    /// since. Never a file that a file location also points at (a user's
    /// upload of the same bytes is kept at the same path).
    /// With `among`, only files of those hashes.
    pub async fn unclaimed_received_files(
        &self,
        due: SweepDue,
        among: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<ContentFile>> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONTENT_COLUMNS} FROM content_files c WHERE c.origin = 'received' AND "
        ));
        due.push_condition(&mut sql, "c");
        if let Some(hashes) = among {
            sql.push(" AND c.sha256 IN ");
            sql.bind_list(hashes.iter().map(|h| Param::Text(h.clone())));
        }
        sql.push(&format!(" AND {} ORDER BY c.created_at LIMIT ", unclaimed("c")));
        sql.bind(Param::Int(limit));
        self.fetch_all_sql(sql).await
    }

    /// Bytes of the content store's files of one origin.
    pub async fn content_bytes(&self, origin: ContentOrigin) -> Result<u64> {
        let mut sql =
            Sql::new("SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM content_files WHERE origin = ");
        sql.bind(Param::Text(origin.as_str().to_owned()));
        let rows: Vec<(i64,)> = self.fetch_all_sql(sql).await?;
        Ok(rows.first().map_or(0, |(n,)| (*n).max(0) as u64))
    }
}

impl Tx {
    /// Records a file kept in the content store (or, if the hash is known
    /// already, keeps the record there is: the same bytes).
    pub async fn record_content_file(
        &mut self,
        sha256: &str,
        path: &str,
        size: i64,
        origin: ContentOrigin,
    ) -> Result<()> {
        let mut sql = Sql::new("INSERT INTO content_files (sha256, path, size, origin, created_at) VALUES (");
        sql.bind(Param::Text(sha256.to_owned())).push(", ");
        sql.bind(Param::Text(path.to_owned())).push(", ");
        sql.bind(Param::Int(size)).push(", ");
        sql.bind(Param::Text(origin.as_str().to_owned())).push(", ");
        sql.bind(Param::Time(crate::now())).push(") ON CONFLICT (sha256) DO NOTHING");
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// Forgets a received file if it is still due for the sweep and still
    /// no song names it (one may have come, or a slave may have asked for
    /// it, since it was listed); whether it did. Its bytes are deleted by
    /// the caller after commit.
    pub async fn forget_unclaimed_file(&mut self, sha256: &str, due: SweepDue) -> Result<bool> {
        let mut sql = Sql::new("DELETE FROM content_files WHERE origin = 'received' AND sha256 = ");
        sql.bind(Param::Text(sha256.to_owned())).push(" AND ");
        due.push_condition(&mut sql, "content_files");
        sql.push(&format!(" AND {}", unclaimed("content_files")));
        Ok(self.execute_sql(sql).await? == 1)
    }

    /// Notes that a slave asked to send these files now: the received ones
    /// among them wait a full week again before the sweep.
    pub async fn received_files_wanted(&mut self, sha256s: &[String]) -> Result<()> {
        for chunk in sha256s.chunks(crate::sql::MAX_PARAMS - 1) {
            let mut sql = Sql::new("UPDATE content_files SET wanted_at = ");
            sql.bind(Param::Time(crate::now())).push(" WHERE origin = 'received' AND sha256 IN ");
            sql.bind_list(chunk.iter().map(|h| Param::Text(h.clone())));
            self.execute_sql(sql).await?;
        }
        Ok(())
    }
}
