//! What the importer needs from the database: where this node keeps each
//! audio file (node-local, never synced), and find-or-create of the library
//! records a file names, by natural key.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::library::{
    NewAlbum, NewArtist, NewGenre, NewRow, NewSong, Song, album_row, artist_row, genre_row, optional_text,
    text_param,
};
use crate::normalize;
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

/// A song as an import found it.
#[derive(Debug, Clone)]
pub struct ImportedSong {
    pub song: NewSong,
    /// Whether the file's bytes changed since the song was last written
    /// (a known path with a new size or time). A song whose
    /// `content_hash` is `None` (not computed yet) keeps the hash it has,
    /// unless its bytes changed: then that hash is wrong and is cleared.
    pub bytes_changed: bool,
}

/// What [`Tx::record_content_hash`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashRecorded {
    /// The song had no hash; now it has this one.
    Recorded,
    /// The song had this hash already (another node computed it).
    AlreadyKnown,
    /// The song has another hash: this node's file is not the bytes the
    /// song was first imported from (see docs/ARCHITECTURE.md on sampled
    /// identities). The song keeps its hash.
    Differs { recorded: String },
    /// The song is gone.
    NoSong,
}

/// Whether `new` would leave song `current` as it is.
fn same_song(current: &Song, new: &NewSong) -> bool {
    current.title == normalize::clean(&new.title)
        && current.artist_id == new.artist_id
        && current.album_id == new.album_id
        && current.genre_id == new.genre_id
        && current.track_number == new.track_number
        && current.disc_number == new.disc_number
        && current.year == new.year
        && current.duration_ms == new.duration_ms
        && current.format == new.format
        && current.file_size == new.file_size
        && current.bitrate == new.bitrate
        && current.sample_rate == new.sample_rate
        && current.channels == new.channels
        && current.content_hash == new.content_hash
}

crate::words::word_enum! {
    /// Where an imported file lives.
    pub enum FileSource ("source") {
        /// In a library folder, referenced in place.
        Library = "library",
        /// In the upload store under the data directory.
        Upload = "upload",
    }
}

crate::words::word_enum! {
    /// Whether a file is still where it was recorded.
    pub enum FileStatus ("status") {
        Present = "present",
        /// Gone from disk at the last import.
        Missing = "missing",
    }
}

/// Where a song's audio file is on this node.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FileLocation {
    pub song_id: Uuid,
    pub path: String,
    pub file_size: i64,
    pub modified_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub source: FileSource,
    #[sqlx(try_from = "String")]
    pub status: FileStatus,
    pub updated_at: DateTime<Utc>,
}

const LOCATION_COLUMNS: &str = "song_id, path, file_size, modified_at, source, status, updated_at";

/// A location to record.
#[derive(Debug, Clone)]
pub struct NewFileLocation {
    pub song_id: Uuid,
    pub path: String,
    pub file_size: i64,
    pub modified_at: Option<DateTime<Utc>>,
    pub source: FileSource,
}

impl Db {
    pub async fn file_location(&self, song_id: Uuid) -> Result<Option<FileLocation>> {
        let mut sql = Sql::new(&format!("SELECT {LOCATION_COLUMNS} FROM file_locations WHERE song_id = "));
        sql.bind(Param::Uuid(song_id));
        self.fetch_optional_sql(sql).await
    }

    pub async fn file_location_by_path(&self, path: &str) -> Result<Option<FileLocation>> {
        let mut sql = Sql::new(&format!("SELECT {LOCATION_COLUMNS} FROM file_locations WHERE path = "));
        sql.bind(Param::Text(path.to_owned()));
        self.fetch_optional_sql(sql).await
    }

    /// Where this node has the files of an album's songs (present ones, in
    /// disc and track order, at most `limit`).
    pub async fn album_file_paths(&self, album_id: Uuid, limit: i64) -> Result<Vec<String>> {
        let mut sql = Sql::new(
            "SELECT l.path FROM songs s JOIN file_locations l ON l.song_id = s.id \
             WHERE l.status = 'present' AND s.album_id = ",
        );
        sql.bind(Param::Uuid(album_id));
        sql.push(" ORDER BY s.disc_number, s.track_number, l.path LIMIT ");
        sql.bind(Param::Int(limit));
        let rows: Vec<(String,)> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(|(path,)| path).collect())
    }

    /// Which of `song_ids` have their audio file on this node: a present
    /// file location, or their bytes in the content store.
    pub async fn songs_here(&self, song_ids: &[Uuid]) -> Result<std::collections::HashSet<Uuid>> {
        let mut here = std::collections::HashSet::new();
        for chunk in song_ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql =
                Sql::new("SELECT song_id FROM file_locations WHERE status = 'present' AND song_id IN ");
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let rows: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
            here.extend(rows.into_iter().map(|(id,)| id));
        }
        here.extend(self.songs_in_content_store(song_ids).await?);
        Ok(here)
    }

    /// Songs with a known content hash whose file size is one of `sizes`:
    /// `(id, content_hash, file_size)`.
    pub async fn hashed_songs_of_sizes(&self, sizes: &[i64]) -> Result<Vec<(Uuid, String, i64)>> {
        let mut found = Vec::new();
        for chunk in sizes.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(
                "SELECT id, content_hash, file_size FROM songs WHERE content_hash IS NOT NULL AND file_size IN ",
            );
            sql.bind_list(chunk.iter().map(|size| Param::Int(*size)));
            found.extend(self.fetch_all_sql::<(Uuid, String, i64)>(sql).await?);
        }
        Ok(found)
    }

    /// Present files whose song has no content hash yet, in song id order
    /// after `after`, at most `limit`.
    pub async fn files_without_content_hash(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<FileLocation>> {
        let columns: Vec<String> = LOCATION_COLUMNS.split(", ").map(|c| format!("l.{c}")).collect();
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM file_locations l JOIN songs s ON s.id = l.song_id \
             WHERE l.status = 'present' AND s.content_hash IS NULL",
            columns.join(", ")
        ));
        if let Some(after) = after {
            sql.push(" AND l.song_id > ").bind(Param::Uuid(after));
        }
        sql.push(" ORDER BY l.song_id LIMIT ").bind(Param::Int(limit));
        self.fetch_all_sql(sql).await
    }

    /// Every location whose path starts with `prefix` (a directory path ending in `/`).
    /// Brings the query planner's statistics up to date after an import
    /// wrote many rows. On PostgreSQL a library imported into fresh tables
    /// has none until autovacuum's next round (a minute or more), and until
    /// then a search of two words took 12 ms instead of 3 (100k songs).
    /// The same pass marks the new rows visible to all (`VACUUM`), so that
    /// counting an album's songs reads the index alone.
    /// SQLite plans these queries from its indexes alone; nothing to do.
    pub async fn refresh_library_statistics(&self) -> Result<()> {
        match self.pool_ref() {
            crate::backend::PoolRef::Sqlite(_) => Ok(()),
            crate::backend::PoolRef::Postgres(pool) => crate::postgres::analyze_library(pool).await,
        }
    }

    /// How many songs the library holds.
    pub async fn song_count(&self) -> Result<u64> {
        let count: i64 = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar("SELECT count(*) FROM songs").fetch_one(pool).await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Files an import writes per transaction (it holds at most two batches
    /// at once). Larger batches write each index page fewer times (20k
    /// files: 500 → 2,000 took 3.4 s to 2.9 s, 2,000 → 5,000 1.8 s to
    /// 1.7 s), and a batch's first steps (finding its names, its songs
    /// already known) are a chain of short round trips that both cores
    /// cannot share (100k files: 5,000 → 10,000 took 4.7–5.1 s to
    /// 4.6–4.7 s). SQLite gains again at 20,000 (100k files, 8 alternating
    /// runs: median 4.74 → 4.58 s, peak memory 205 → 235 MB); PostgreSQL
    /// loses (4 runs: 12,500–13,100 files/s at 10,000, 10,800–12,900 at 20,000).
    pub fn import_batch_size(&self) -> usize {
        match self.backend() {
            crate::Backend::Sqlite => 20_000,
            crate::Backend::Postgres => 10_000,
        }
    }

    /// For a bulk import: drops the secondary indexes of `songs` until
    /// [`Db::restore_song_indexes`], recording each first, so that a process
    /// killed half-way leaves them to be built at the next start. Reads by
    /// id still use the primary key; others scan the table meanwhile.
    /// Returns how many were set aside.
    pub async fn set_song_indexes_aside(&self) -> Result<usize> {
        match self.write_pool_ref() {
            crate::backend::PoolRef::Sqlite(writer) => crate::sqlite::set_song_indexes_aside(writer).await,
            crate::backend::PoolRef::Postgres(pool) => crate::postgres::set_song_indexes_aside(pool).await,
        }
    }

    /// Builds again the indexes that [`Db::set_song_indexes_aside`] dropped
    /// (by this process or one that was killed), one transaction each.
    /// Returns how many were built.
    pub async fn restore_song_indexes(&self) -> Result<usize> {
        match self.writers() {
            crate::backend::WritersRef::Sqlite(writers) => crate::sqlite::restore_song_indexes(writers).await,
            crate::backend::WritersRef::Postgres(pool) => crate::postgres::restore_song_indexes(pool).await,
        }
    }

    /// For a bulk import: on PostgreSQL, drops the foreign keys of `songs`
    /// and `file_locations` until [`Db::restore_foreign_keys`], recording
    /// each first, as [`Db::set_song_indexes_aside`] does for indexes.
    /// Meanwhile a reference to a missing row is not refused; it is cleared
    /// when the key comes back. On SQLite nothing is dropped: it checks a
    /// reference by one lookup on a primary key, without locking a row.
    /// Returns how many were set aside.
    pub async fn set_foreign_keys_aside(&self) -> Result<usize> {
        match self.write_pool_ref() {
            crate::backend::PoolRef::Sqlite(_) => Ok(0),
            crate::backend::PoolRef::Postgres(pool) => crate::postgres::set_foreign_keys_aside(pool).await,
        }
    }

    /// Adds again the foreign keys that [`Db::set_foreign_keys_aside`]
    /// dropped (by this process or one that was killed), one transaction
    /// each, after clearing the references to rows deleted meanwhile as
    /// each key's ON DELETE would have. Returns how many were added.
    pub async fn restore_foreign_keys(&self) -> Result<usize> {
        match self.write_pool_ref() {
            crate::backend::PoolRef::Sqlite(_) => Ok(0),
            crate::backend::PoolRef::Postgres(pool) => crate::postgres::restore_foreign_keys(pool).await,
        }
    }

    pub async fn file_locations_under(&self, prefix: &str) -> Result<Vec<FileLocation>> {
        // A range on the path instead of LIKE: no escaping, and the unique index serves it.
        let mut sql = Sql::new(&format!("SELECT {LOCATION_COLUMNS} FROM file_locations WHERE path >= "));
        sql.bind(Param::Text(prefix.to_owned()));
        sql.push(" AND path < ");
        sql.bind(Param::Text(format!("{prefix}\u{10FFFF}")));
        self.fetch_all_sql(sql).await
    }
}

impl Tx {
    /// Finds the artist with this name's natural key, or creates it with `id`.
    pub async fn ensure_artist(&mut self, name: &str, id: Uuid) -> Result<Uuid> {
        Ok(self.ensure_artists(&[(name.to_owned(), id)]).await?[0])
    }

    /// Finds the genre with this name's natural key, or creates it with `id`.
    pub async fn ensure_genre(&mut self, name: &str, id: Uuid) -> Result<Uuid> {
        Ok(self.ensure_genres(&[(name.to_owned(), id)]).await?[0])
    }

    /// Finds the album with this artist and title, or creates it with `id`.
    pub async fn ensure_album(
        &mut self,
        title: &str,
        artist_id: Option<Uuid>,
        year: Option<i64>,
        id: Uuid,
    ) -> Result<Uuid> {
        let album = NewAlbum { id: Some(id), title: title.to_owned(), artist_id, year };
        Ok(self.ensure_albums(vec![album]).await?[0])
    }

    /// The ids of the artists with these names' natural keys, in order;
    /// the missing ones are created with the ids given, all at once.
    pub async fn ensure_artists(&mut self, names: &[(String, Uuid)]) -> Result<Vec<Uuid>> {
        let rows = names
            .iter()
            .map(|(name, id)| artist_row(NewArtist { id: Some(*id), name: name.clone(), biography: None }))
            .collect::<Result<Vec<_>>>()?;
        self.ensure_rows("artists", "name_key", rows).await
    }

    /// The ids of the genres with these names' natural keys, in order; the
    /// missing ones are created with the ids given, all at once.
    pub async fn ensure_genres(&mut self, names: &[(String, Uuid)]) -> Result<Vec<Uuid>> {
        let rows = names
            .iter()
            .map(|(name, id)| genre_row(NewGenre { id: Some(*id), name: name.clone() }))
            .collect::<Result<Vec<_>>>()?;
        self.ensure_rows("genres", "name_key", rows).await
    }

    /// The ids of the albums with these artists and titles, in order; the
    /// missing ones are created as given (with their ids), all at once.
    pub async fn ensure_albums(&mut self, albums: Vec<NewAlbum>) -> Result<Vec<Uuid>> {
        self.note_references(|refs| refs.refer("artists", albums.iter().map(|a| a.artist_id)));
        let rows = albums.into_iter().map(album_row).collect::<Result<Vec<_>>>()?;
        self.ensure_rows("albums", "natural_key", rows).await
    }

    /// The id of the row with each new row's natural key (`key_column`),
    /// inserting the rows none has (the first of each key), every row
    /// recording its change: one query to find, a few statements to insert.
    async fn ensure_rows(&mut self, table: &str, key_column: &str, rows: Vec<NewRow>) -> Result<Vec<Uuid>> {
        let mut ids: HashMap<String, Uuid> = HashMap::new();
        let keys: Vec<String> =
            rows.iter().map(|r| r.key.clone()).collect::<HashSet<_>>().into_iter().collect();
        for chunk in keys.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(&format!("SELECT {key_column}, id FROM {table} WHERE {key_column} IN "));
            sql.bind_list(chunk.iter().map(|key| Param::Text(key.clone())));
            ids.extend(self.fetch_all_sql::<(String, Uuid)>(sql).await?);
        }
        let order: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
        let mut new_ids = Vec::new();
        let mut new_rows = Vec::new();
        for row in rows {
            if let std::collections::hash_map::Entry::Vacant(missing) = ids.entry(row.key) {
                missing.insert(row.id);
                new_ids.push(row.id);
                new_rows.push(row.values);
            }
        }
        match search_source(table) {
            // One search statement for the new rows, not one trigger query each.
            Some(source) if !new_ids.is_empty() => {
                self.set_search_in_bulk(true).await?;
                self.insert_rows_recorded(table, new_ids.clone(), new_rows.into_iter().map(Ok)).await?;
                self.write_search_documents(source, &new_ids).await?;
                self.set_search_in_bulk(false).await?;
            }
            _ => self.insert_rows_recorded(table, new_ids, new_rows.into_iter().map(Ok)).await?,
        }
        Ok(order.iter().map(|key| ids[key]).collect())
    }

    /// Writes (or rewrites) the search documents of the rows `ids`, as
    /// `source` (a `SELECT` of kind, id, name and context) gives them.
    pub(crate) async fn write_search_documents(&mut self, source: &str, ids: &[Uuid]) -> Result<()> {
        for chunk in ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(&format!(
                "INSERT INTO search_documents (kind, ref_id, name, context) {source} WHERE id IN "
            ));
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            sql.push(
                " ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context",
            );
            self.execute_sql(sql).await?;
        }
        Ok(())
    }

    /// Records the SHA-256 of song `id`'s whole file, through the write
    /// path (the change syncs), unless the song has one already.
    pub async fn record_content_hash(&mut self, id: Uuid, content_hash: &str) -> Result<HashRecorded> {
        let Some(song) = self.songs_by_ids(&[id]).await?.pop() else { return Ok(HashRecorded::NoSong) };
        match song.content_hash {
            Some(known) if known == content_hash => Ok(HashRecorded::AlreadyKnown),
            Some(recorded) => Ok(HashRecorded::Differs { recorded }),
            None => {
                let hash = optional_text("content_hash", Some(content_hash), 128)?;
                self.update_row("songs", id, vec![("content_hash", text_param(hash))]).await?;
                Ok(HashRecorded::Recorded)
            }
        }
    }

    /// Creates or brings up to date many songs (each `NewSong` has its id):
    /// the new ones in multi-row statements, the changed ones one by one, the
    /// unchanged ones not at all. Every row written records its change.
    pub async fn upsert_songs(&mut self, songs: Vec<ImportedSong>) -> Result<()> {
        let ids: Vec<Uuid> = songs.iter().map(|s| s.song.id.expect("upsert_songs needs ids")).collect();
        let existing: std::collections::HashMap<Uuid, Song> =
            self.songs_by_ids(&ids).await?.into_iter().map(|s| (s.id, s)).collect();
        self.note_song_references(&songs);
        let mut new_songs = Vec::new();
        for ImportedSong { mut song, bytes_changed } in songs {
            let id = song.id.expect("checked above");
            if let Some(current) = existing.get(&id)
                && song.content_hash.is_none()
                && !bytes_changed
            {
                song.content_hash = current.content_hash.clone();
            }
            match existing.get(&id) {
                None => new_songs.push((id, song)),
                Some(current) if same_song(current, &song) => {}
                Some(_) => {
                    self.replace_song(id, song).await?;
                }
            }
        }
        self.insert_songs(new_songs).await
    }

    /// Writes songs this database does not have (an import into a library
    /// that was empty when it began), without first looking each up as
    /// [`Tx::upsert_songs`] does. A song it has after all fails the write
    /// as a duplicate.
    pub async fn insert_new_songs(&mut self, songs: Vec<ImportedSong>) -> Result<()> {
        self.note_song_references(&songs);
        let songs = songs.into_iter().map(|s| (s.song.id.expect("insert_new_songs needs ids"), s.song));
        self.insert_songs(songs.collect()).await
    }

    fn note_song_references(&mut self, songs: &[ImportedSong]) {
        self.note_references(|refs| {
            let songs = || songs.iter().map(|s| &s.song);
            refs.refer("artists", songs().map(|s| s.artist_id));
            refs.refer("albums", songs().map(|s| s.album_id));
            refs.refer("genres", songs().map(|s| s.genre_id));
            // Each is written by the caller or was found by it.
            refs.songs_present(songs().filter_map(|s| s.id));
        });
    }

    /// Inserts new songs, each with its log entry and search document.
    async fn insert_songs(&mut self, new_songs: Vec<(Uuid, NewSong)>) -> Result<()> {
        if new_songs.is_empty() {
            return Ok(());
        }
        let now = crate::now();
        let new_ids: Vec<Uuid> = new_songs.iter().map(|(id, _)| *id).collect();
        // Each row is made while the statement before it is written.
        let rows = new_songs.into_iter().map(|(id, song)| {
            let mut values = crate::library::song_values(song)?;
            values.push(("id", Some(Param::Uuid(id))));
            values.push(("created_at", Some(Param::Time(now))));
            values.push(("updated_at", Some(Param::Time(now))));
            Ok(values)
        });
        // One search statement for the batch, not one trigger query per song.
        self.set_search_in_bulk(true).await?;
        let last_row = self.last_song_row().await?;
        self.insert_rows_recorded("songs", new_ids.clone(), rows).await?;
        self.write_search_documents_of_new_songs(&new_ids, last_row).await?;
        self.set_search_in_bulk(false).await
    }

    async fn songs_by_ids(&mut self, ids: &[Uuid]) -> Result<Vec<Song>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql =
                Sql::new(&format!("SELECT {} FROM songs WHERE id IN (", crate::library::SONG_COLUMNS));
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Param::Uuid(*id));
            }
            sql.push(")");
            found.extend(self.fetch_all_sql::<Song>(sql).await?);
        }
        Ok(found)
    }

    /// Records where songs' files are, many per statement. A path that
    /// pointed at another song (the file was replaced) now points at the new one.
    pub async fn upsert_file_locations(&mut self, locations: &[NewFileLocation]) -> Result<()> {
        self.note_references(|refs| refs.refer("songs", locations.iter().map(|l| Some(l.song_id))));
        let now = crate::now();
        let statements = locations.chunks(crate::sql::MAX_PARAMS / 6).flat_map(|chunk| {
            let mut delete = Sql::new("DELETE FROM file_locations WHERE path IN ");
            delete.bind_list(chunk.iter().map(|l| Param::Text(l.path.clone())));
            [Ok(delete), Ok(location_insert(chunk, now))]
        });
        self.execute_in_turn(statements).await?;
        Ok(())
    }

    /// Records where songs' files are, at paths that have no location yet
    /// (a first import's): what [`Tx::upsert_file_locations`] does without
    /// first clearing each path, which costs a lookup per path. A path that
    /// has a location after all fails the write as a duplicate.
    pub async fn insert_file_locations(&mut self, locations: &[NewFileLocation]) -> Result<()> {
        self.note_references(|refs| refs.refer("songs", locations.iter().map(|l| Some(l.song_id))));
        let now = crate::now();
        let statements =
            locations.chunks(crate::sql::MAX_PARAMS / 6).map(|chunk| Ok(location_insert(chunk, now)));
        self.execute_in_turn(statements).await?;
        Ok(())
    }

    /// Records where the files of songs this transaction inserted with
    /// [`Tx::insert_new_songs`] are, at paths that have no location yet: as
    /// [`Tx::insert_file_locations`], but on PostgreSQL by `COPY`. None of
    /// these songs can have a location already, so nothing needs `ON
    /// CONFLICT` (a third of the locations' time in a PostgreSQL import). A
    /// path that has a location after all fails the write as a duplicate.
    pub async fn insert_locations_of_new_songs(&mut self, locations: &[NewFileLocation]) -> Result<()> {
        if self.backend() == crate::Backend::Sqlite {
            return self.insert_file_locations(locations).await;
        }
        self.note_references(|refs| refs.refer("songs", locations.iter().map(|l| Some(l.song_id))));
        let now = crate::now();
        let rows = locations.iter().map(|l| Ok(location_row(l, now)));
        if let crate::backend::TxInner::Postgres(tx) = self.inner_mut() {
            crate::postgres::copy_rows(tx, "file_locations", rows).await?;
        }
        Ok(())
    }

    /// Marks the locations at these paths as missing from disk.
    pub async fn mark_files_missing(&mut self, paths: &[String]) -> Result<u64> {
        let mut marked = 0;
        for path in paths {
            marked += crate::backend::on_tx!(self, conn => {
                sqlx::query("UPDATE file_locations SET status = 'missing', updated_at = $1 WHERE path = $2 AND status <> 'missing'")
                    .bind(crate::now())
                    .bind(path)
                    .execute(conn)
                    .await?
                    .rows_affected()
            });
        }
        Ok(marked)
    }
}

/// The search documents of a table's rows, as a `SELECT` of kind, id, name
/// and context to filter by id (the same as its search trigger writes, see
/// migrations 0002 and 0023); `None` for a table not searched.
fn search_source(table: &str) -> Option<&'static str> {
    match table {
        "artists" => Some("SELECT 'artist', id, name, '' FROM artists"),
        "albums" => Some("SELECT 'album', id, name, context FROM search_album_source"),
        _ => None,
    }
}

/// A location's row as [`location_insert`] writes it.
fn location_row(l: &NewFileLocation, now: chrono::DateTime<chrono::Utc>) -> crate::sql::Row<'static> {
    vec![
        ("song_id", Some(Param::Uuid(l.song_id))),
        ("path", Some(Param::Text(l.path.clone()))),
        ("file_size", Some(Param::Int(l.file_size))),
        ("modified_at", l.modified_at.map(Param::Time)),
        ("source", Some(Param::Text(l.source.as_str().to_owned()))),
        ("status", Some(Param::Text("present".to_owned()))),
        ("updated_at", Some(Param::Time(now))),
    ]
}

/// One statement that writes these locations, each replacing its song's.
fn location_insert(chunk: &[NewFileLocation], now: chrono::DateTime<chrono::Utc>) -> Sql {
    let mut insert = Sql::new(
        "INSERT INTO file_locations (song_id, path, file_size, modified_at, source, status, updated_at) VALUES ",
    );
    for (i, l) in chunk.iter().enumerate() {
        if i > 0 {
            insert.push(", ");
        }
        insert.push("(").bind(Param::Uuid(l.song_id)).push(", ").bind(Param::Text(l.path.clone())).push(", ");
        insert.bind(Param::Int(l.file_size)).push(", ");
        match l.modified_at {
            Some(t) => insert.bind(Param::Time(t)),
            None => insert.push("NULL"),
        };
        insert.push(", ").bind(Param::Text(l.source.as_str().to_owned())).push(", 'present', ");
        insert.bind(Param::Time(now)).push(")");
    }
    insert.push(
        " ON CONFLICT (song_id) DO UPDATE SET path = excluded.path, file_size = excluded.file_size, \
         modified_at = excluded.modified_at, source = excluded.source, status = 'present', \
         updated_at = excluded.updated_at",
    );
    insert
}
