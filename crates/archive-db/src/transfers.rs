//! What a slave keeps of its master's audio files: users' pins (a song, an
//! album or a playlist kept for offline use on this node), the queue of
//! files to fetch, and which fetched files the quota may evict. All
//! node-local, never synced.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

crate::words::word_enum! {
    /// What a pin keeps on this node.
    pub enum PinKind ("pin kind") {
        Song = "song",
        Album = "album",
        Playlist = "playlist",
    }
}

/// Why a file is wanted here, most urgent first (the queue's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferReason {
    /// Someone pressed play.
    Play = 0,
    /// A user pinned it.
    Pin = 1,
    /// `SYNC_FILES=mirror`.
    Mirror = 2,
}

impl TransferReason {
    fn from_priority(priority: i64) -> TransferReason {
        match priority {
            0 => TransferReason::Play,
            1 => TransferReason::Pin,
            _ => TransferReason::Mirror,
        }
    }
}

/// A file in the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileTransfer {
    pub sha256: String,
    pub size: u64,
    pub reason: TransferReason,
    /// Failed attempts so far.
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

type TransferRow = (String, i64, i64, i64, DateTime<Utc>, Option<String>, DateTime<Utc>);

impl From<TransferRow> for FileTransfer {
    fn from(
        (sha256, size, priority, attempts, next_attempt_at, last_error, created_at): TransferRow,
    ) -> Self {
        FileTransfer {
            sha256,
            size: size.max(0) as u64,
            reason: TransferReason::from_priority(priority),
            attempts,
            next_attempt_at,
            last_error,
            created_at,
        }
    }
}

const TRANSFER_COLUMNS: &str = "sha256, size, priority, attempts, next_attempt_at, last_error, created_at";

/// The songs whose files pins keep: `s` is `songs`.
const PINNED_SONG: &str = "(EXISTS (SELECT 1 FROM pins p WHERE p.kind = 'song' AND p.target_id = s.id) \
     OR EXISTS (SELECT 1 FROM pins p WHERE p.kind = 'album' AND p.target_id = s.album_id) \
     OR EXISTS (SELECT 1 FROM pins p JOIN playlist_entries e ON e.playlist_id = p.target_id \
                WHERE p.kind = 'playlist' AND e.song_id = s.id))";

/// The ids of the songs pins keep, found from the pins (cheap when few).
const PINNED_SONG_IDS: &str = "(SELECT p.target_id FROM pins p WHERE p.kind = 'song' \
     UNION SELECT a.id FROM songs a JOIN pins p ON p.kind = 'album' AND p.target_id = a.album_id \
     UNION SELECT e.song_id FROM playlist_entries e JOIN pins p ON p.kind = 'playlist' AND p.target_id = e.playlist_id)";

/// Songs whose bytes this node does not hold and that are not queued.
const NOT_HERE_NOR_QUEUED: &str = "s.content_hash IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM file_locations l WHERE l.song_id = s.id AND l.status = 'present') \
     AND NOT EXISTS (SELECT 1 FROM content_files c WHERE c.sha256 = s.content_hash) \
     AND NOT EXISTS (SELECT 1 FROM file_transfers t WHERE t.sha256 = s.content_hash)";

impl Db {
    /// Whether `user` pins this song, album or playlist.
    pub async fn is_pinned(&self, user: Uuid, kind: PinKind, target: Uuid) -> Result<bool> {
        let mut sql = Sql::new("SELECT 1 FROM pins WHERE user_id = ");
        sql.bind(Param::Uuid(user)).push(" AND kind = ");
        sql.bind(Param::Text(kind.as_str().to_owned())).push(" AND target_id = ");
        sql.bind(Param::Uuid(target));
        let rows: Vec<(i32,)> = self.fetch_all_sql(sql).await?;
        Ok(!rows.is_empty())
    }

    /// Which of `song_ids` some pin keeps on this node (by anyone, through
    /// the song, its album or a playlist holding it).
    pub async fn pinned_songs(&self, song_ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut pinned = Vec::new();
        for chunk in song_ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(&format!("SELECT s.id FROM songs s WHERE {PINNED_SONG} AND s.id IN "));
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let rows: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
            pinned.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(pinned)
    }

    /// Pinned songs' files that are neither here nor queued: `(sha256, size)`.
    pub async fn pinned_files_wanted(&self, limit: i64) -> Result<Vec<(String, u64)>> {
        self.files_wanted(Some(&format!("s.id IN {PINNED_SONG_IDS}")), limit).await
    }

    /// Songs' files that are neither here nor queued, newest songs first
    /// (what mirroring fetches): `(sha256, size)`, each hash once.
    pub async fn songs_without_file_here(&self, limit: i64) -> Result<Vec<(String, u64)>> {
        self.files_wanted(None, limit).await
    }

    async fn files_wanted(&self, only: Option<&str>, limit: i64) -> Result<Vec<(String, u64)>> {
        let mut sql = Sql::new(&format!(
            "SELECT s.content_hash, max(coalesce(s.file_size, 0)) FROM songs s WHERE {NOT_HERE_NOR_QUEUED}"
        ));
        if let Some(condition) = only {
            sql.push(" AND ").push(condition);
        }
        sql.push(" GROUP BY s.content_hash ORDER BY max(s.created_at) DESC LIMIT ");
        sql.bind(Param::Int(limit));
        let rows: Vec<(String, i64)> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(|(hash, size)| (hash, size.max(0) as u64)).collect())
    }

    /// Queued files whose next attempt is due at `now`, most urgent first,
    /// leaving out `busy` (transfers running now).
    pub async fn due_file_transfers(
        &self,
        now: DateTime<Utc>,
        busy: &[String],
        limit: i64,
    ) -> Result<Vec<FileTransfer>> {
        let mut sql =
            Sql::new(&format!("SELECT {TRANSFER_COLUMNS} FROM file_transfers WHERE next_attempt_at <= "));
        sql.bind(Param::Time(now));
        if !busy.is_empty() {
            sql.push(" AND sha256 NOT IN ");
            sql.bind_list(busy.iter().map(|h| Param::Text(h.clone())));
        }
        sql.push(" ORDER BY priority, created_at LIMIT ");
        sql.bind(Param::Int(limit));
        let rows: Vec<TransferRow> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(FileTransfer::from).collect())
    }

    /// The whole queue, most urgent first (at most `limit` rows).
    pub async fn file_transfers(&self, limit: i64) -> Result<Vec<FileTransfer>> {
        let mut sql = Sql::new(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM file_transfers ORDER BY priority, created_at LIMIT "
        ));
        sql.bind(Param::Int(limit));
        let rows: Vec<TransferRow> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(FileTransfer::from).collect())
    }

    /// Queued files whose last attempt failed, soonest retry first.
    pub async fn failed_file_transfers(&self, limit: i64) -> Result<Vec<FileTransfer>> {
        let mut sql = Sql::new(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM file_transfers WHERE attempts > 0 ORDER BY next_attempt_at LIMIT "
        ));
        sql.bind(Param::Int(limit));
        let rows: Vec<TransferRow> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(FileTransfer::from).collect())
    }

    /// When the earliest queued transfer is due, if any is queued.
    pub async fn next_file_transfer_at(&self) -> Result<Option<DateTime<Utc>>> {
        let sql = Sql::new("SELECT next_attempt_at FROM file_transfers ORDER BY next_attempt_at LIMIT 1");
        let rows: Vec<(DateTime<Utc>,)> = self.fetch_all_sql(sql).await?;
        Ok(rows.first().map(|(at,)| *at))
    }

    /// Fetched files the quota may evict, least recently played first:
    /// `(sha256, size, path)`. Never a pinned song's file.
    pub async fn evictable_files(&self, limit: i64) -> Result<Vec<(String, u64, String)>> {
        let mut sql = Sql::new(&format!(
            "SELECT c.sha256, c.size, c.path FROM content_files c WHERE c.origin = 'fetched' \
             AND NOT EXISTS (SELECT 1 FROM songs s WHERE s.content_hash = c.sha256 AND {PINNED_SONG}) \
             ORDER BY coalesce(c.last_played_at, c.created_at), c.sha256 LIMIT "
        ));
        sql.bind(Param::Int(limit));
        let rows: Vec<(String, i64, String)> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(|(hash, size, path)| (hash, size.max(0) as u64, path)).collect())
    }
}

/// Plays closer together than this move a file's "last played" once.
const PLAYED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

impl Tx {
    /// Pins a song, an album or a playlist for `user` (again: no change).
    pub async fn pin(&mut self, user: Uuid, kind: PinKind, target: Uuid) -> Result<()> {
        let mut sql = Sql::new("INSERT INTO pins (user_id, kind, target_id, created_at) VALUES (");
        sql.bind(Param::Uuid(user)).push(", ");
        sql.bind(Param::Text(kind.as_str().to_owned())).push(", ");
        sql.bind(Param::Uuid(target)).push(", ");
        sql.bind(Param::Time(crate::now())).push(") ON CONFLICT (user_id, kind, target_id) DO NOTHING");
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// Removes `user`'s pin; whether there was one.
    pub async fn unpin(&mut self, user: Uuid, kind: PinKind, target: Uuid) -> Result<bool> {
        let mut sql = Sql::new("DELETE FROM pins WHERE user_id = ");
        sql.bind(Param::Uuid(user)).push(" AND kind = ");
        sql.bind(Param::Text(kind.as_str().to_owned())).push(" AND target_id = ");
        sql.bind(Param::Uuid(target));
        Ok(self.execute_sql(sql).await? > 0)
    }

    /// Queues the file `sha256` for fetching. A file queued already keeps
    /// its place unless this reason is more urgent, which also makes it due
    /// now (a press of play does not wait out a mirror's backoff).
    pub async fn queue_file_transfer(
        &mut self,
        sha256: &str,
        size: u64,
        reason: TransferReason,
    ) -> Result<()> {
        let now = crate::now();
        let mut sql = Sql::new(
            "INSERT INTO file_transfers (sha256, size, priority, attempts, next_attempt_at, created_at) VALUES (",
        );
        sql.bind(Param::Text(sha256.to_owned())).push(", ");
        sql.bind(Param::Int(size as i64)).push(", ");
        sql.bind(Param::Int(reason as i64)).push(", 0, ");
        sql.bind(Param::Time(now)).push(", ");
        sql.bind(Param::Time(now)).push(
            ") ON CONFLICT (sha256) DO UPDATE SET priority = excluded.priority, \
             next_attempt_at = excluded.next_attempt_at \
             WHERE excluded.priority < file_transfers.priority",
        );
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// Drops queued files no song names any more (deleted meanwhile):
    /// how many.
    pub async fn drop_orphan_file_transfers(&mut self) -> Result<u64> {
        let sql = Sql::new(
            "DELETE FROM file_transfers WHERE NOT EXISTS \
             (SELECT 1 FROM songs s WHERE s.content_hash = file_transfers.sha256)",
        );
        self.execute_sql(sql).await
    }

    /// A queued file is here now (or no longer wanted): out of the queue.
    pub async fn finish_file_transfer(&mut self, sha256: &str) -> Result<()> {
        let mut sql = Sql::new("DELETE FROM file_transfers WHERE sha256 = ");
        sql.bind(Param::Text(sha256.to_owned()));
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// An attempt failed: counted, with its reason, and the next one put off until `retry_at`.
    pub async fn fail_file_transfer(
        &mut self,
        sha256: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut sql = Sql::new("UPDATE file_transfers SET attempts = attempts + 1, last_error = ");
        sql.bind(Param::Text(error.to_owned())).push(", next_attempt_at = ");
        sql.bind(Param::Time(retry_at)).push(" WHERE sha256 = ");
        sql.bind(Param::Text(sha256.to_owned()));
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// A fetched file was played now (recorded at most once a minute).
    pub async fn content_file_played(&mut self, sha256: &str) -> Result<()> {
        let now = crate::now();
        let mut sql = Sql::new("UPDATE content_files SET last_played_at = ");
        sql.bind(Param::Time(now)).push(" WHERE sha256 = ");
        sql.bind(Param::Text(sha256.to_owned()));
        sql.push(" AND (last_played_at IS NULL OR last_played_at < ");
        sql.bind(Param::Time(now - PLAYED_RESOLUTION)).push(")");
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// Forgets a content file (its bytes are deleted by the caller after commit).
    pub async fn forget_content_file(&mut self, sha256: &str) -> Result<()> {
        let mut sql = Sql::new("DELETE FROM content_files WHERE sha256 = ");
        sql.bind(Param::Text(sha256.to_owned()));
        self.execute_sql(sql).await?;
        Ok(())
    }
}

/// Where a node's songs' sound is, in numbers (status pages, the CLI).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FilesSummary {
    /// Songs in the library.
    pub songs: i64,
    /// Songs whose file this node holds (imported, uploaded, received or fetched).
    pub songs_here: i64,
    /// Files fetched from the master, and their bytes (what the quota counts).
    pub fetched_files: i64,
    pub fetched_bytes: u64,
    /// Files in the queue, and those of them whose last attempt failed.
    pub queued: i64,
    pub failing: i64,
}

impl Db {
    /// What this node holds. Every sync cycle sends the count of songs
    /// here, so it is counted from the files here, not by testing each song
    /// (30 ms at 100,000 songs, paid by every cycle of a slave that holds few).
    pub async fn files_summary(&self) -> Result<FilesSummary> {
        let sql = Sql::new(
            "SELECT (SELECT count(*) FROM songs), \
             (SELECT count(*) FROM (SELECT song_id FROM file_locations WHERE status = 'present' \
                UNION SELECT s.id FROM content_files c JOIN songs s ON s.content_hash = c.sha256) AS here), \
             (SELECT count(*) FROM content_files WHERE origin = 'fetched'), \
             (SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM content_files WHERE origin = 'fetched'), \
             (SELECT count(*) FROM file_transfers), \
             (SELECT count(*) FROM file_transfers WHERE attempts > 0)",
        );
        let rows: Vec<(i64, i64, i64, i64, i64, i64)> = self.fetch_all_sql(sql).await?;
        let (songs, songs_here, fetched_files, fetched_bytes, queued, failing) =
            rows.first().copied().unwrap_or_default();
        Ok(FilesSummary {
            songs,
            songs_here,
            fetched_files,
            fetched_bytes: fetched_bytes.max(0) as u64,
            queued,
            failing,
        })
    }
}
