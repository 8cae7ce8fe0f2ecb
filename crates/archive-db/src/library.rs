//! Artists, genres, albums and songs (their metadata; files are node-local).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::normalize;
use crate::page::{Page, PageRequest, SortKey};
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

const MAX_TEXT: usize = 1000;
/// The longest artist biography, in characters.
pub(crate) const MAX_BIOGRAPHY: usize = 100_000;

/// Checks that text can be stored: PostgreSQL refuses the NUL character in
/// text (SQLite would keep it, and then a PostgreSQL master refuses it), so
/// no database of Archive's holds one.
pub(crate) fn storable<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    if value.contains('\0') {
        return Err(DbError::invalid(
            field,
            format!("{field} contains a NUL character, which cannot be stored"),
        ));
    }
    Ok(value)
}

/// A required name: cleaned, not empty, not huge.
pub(crate) fn required_text(field: &str, value: &str) -> Result<String> {
    let cleaned = normalize::clean(storable(field, value)?);
    if cleaned.is_empty() {
        return Err(DbError::invalid(field, format!("{field} must not be empty")));
    }
    if cleaned.chars().count() > MAX_TEXT {
        return Err(DbError::invalid(field, format!("{field} is longer than {MAX_TEXT} characters")));
    }
    Ok(cleaned)
}

pub(crate) fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(|v| storable(field, v)).transpose()?.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(DbError::invalid(field, format!("{field} is longer than {max} characters")))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

pub(crate) fn check_range(field: &str, value: Option<i64>, min: i64, max: i64) -> Result<Option<Param>> {
    match value {
        Some(v) if !(min..=max).contains(&v) => {
            Err(DbError::invalid(field, format!("{field} must be between {min} and {max}")))
        }
        other => Ok(other.map(Param::Int)),
    }
}

fn uuid_param(value: Option<Uuid>) -> Option<Param> {
    value.map(Param::Uuid)
}

pub(crate) fn text_param(value: Option<String>) -> Option<Param> {
    value.map(Param::Text)
}

// ---------------------------------------------------------------- artists

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Artist {
    pub id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub name_key: String,
    pub biography: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub(crate) const ARTIST_COLUMNS: &str = "id, name, name_key, biography, created_at, updated_at, version";

#[derive(Debug, Clone, Default)]
pub struct NewArtist {
    /// A given id (deterministic ids from import); a new UUID v7 otherwise.
    pub id: Option<Uuid>,
    pub name: String,
    pub biography: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ArtistPatch {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub biography: Option<Option<String>>,
}

impl Artist {
    const SORTS: &[SortKey<Artist>] = &[
        SortKey { name: "name", column: "name_key", value: |a| Param::Text(a.name_key.clone()) },
        SortKey { name: "created_at", column: "created_at", value: |a| Param::Time(a.created_at) },
        SortKey { name: "updated_at", column: "updated_at", value: |a| Param::Time(a.updated_at) },
    ];
    pub const SORT_NAMES: &[&str] = &["name", "created_at", "updated_at"];
}

const TIME_SORTS: &[&str] = &["created_at", "updated_at"];

impl Db {
    pub async fn artist(&self, id: Uuid) -> Result<Option<Artist>> {
        self.get_row("artists", ARTIST_COLUMNS, id).await
    }

    pub async fn artist_by_name(&self, name: &str) -> Result<Option<Artist>> {
        storable("name", name)?;
        let mut sql = Sql::new(&format!("SELECT {ARTIST_COLUMNS} FROM artists WHERE name_key = "));
        sql.bind(Param::Text(normalize::key(name)));
        self.fetch_optional_sql(sql).await
    }

    pub async fn artists(&self, page: &PageRequest) -> Result<Page<Artist>> {
        let plan = page.plan(Artist::SORTS, TIME_SORTS)?;
        let sql = Sql::new(&format!("SELECT {ARTIST_COLUMNS} FROM artists WHERE TRUE"));
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, Artist::SORTS, |a| a.id))
    }
}

impl Tx {
    pub async fn insert_artist(&mut self, new: NewArtist) -> Result<Artist> {
        let row = artist_row(new)?;
        self.insert_row("artists", row.values).await?;
        self.reload("artists", ARTIST_COLUMNS, row.id).await
    }

    pub async fn update_artist(&mut self, id: Uuid, patch: ArtistPatch) -> Result<Artist> {
        let mut values = Vec::new();
        if let Some(name) = patch.name {
            let name = required_text("name", &name)?;
            values.push(("name_key", Some(Param::Text(normalize::key(&name)))));
            values.push(("name", Some(Param::Text(name))));
        }
        if let Some(biography) = patch.biography {
            values.push((
                "biography",
                text_param(optional_text("biography", biography.as_deref(), MAX_BIOGRAPHY)?),
            ));
        }
        self.update_row("artists", id, values).await?;
        self.reload("artists", ARTIST_COLUMNS, id).await
    }

    /// Deletes the artist; its albums and songs keep existing without one.
    pub async fn delete_artist(&mut self, id: Uuid) -> Result<()> {
        self.delete_row("artists", id).await
    }
}

// ---------------------------------------------------------------- genres

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Genre {
    pub id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub name_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const GENRE_COLUMNS: &str = "id, name, name_key, created_at, updated_at, version";

#[derive(Debug, Clone, Default)]
pub struct NewGenre {
    pub id: Option<Uuid>,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct GenrePatch {
    pub name: Option<String>,
}

impl Genre {
    const SORTS: &[SortKey<Genre>] = &[
        SortKey { name: "name", column: "name_key", value: |g| Param::Text(g.name_key.clone()) },
        SortKey { name: "created_at", column: "created_at", value: |g| Param::Time(g.created_at) },
        SortKey { name: "updated_at", column: "updated_at", value: |g| Param::Time(g.updated_at) },
    ];
    pub const SORT_NAMES: &[&str] = &["name", "created_at", "updated_at"];
}

impl Db {
    pub async fn genre(&self, id: Uuid) -> Result<Option<Genre>> {
        self.get_row("genres", GENRE_COLUMNS, id).await
    }

    pub async fn genres(&self, page: &PageRequest) -> Result<Page<Genre>> {
        let plan = page.plan(Genre::SORTS, TIME_SORTS)?;
        let sql = Sql::new(&format!("SELECT {GENRE_COLUMNS} FROM genres WHERE TRUE"));
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, Genre::SORTS, |g| g.id))
    }
}

impl Tx {
    pub async fn insert_genre(&mut self, new: NewGenre) -> Result<Genre> {
        let row = genre_row(new)?;
        self.insert_row("genres", row.values).await?;
        self.reload("genres", GENRE_COLUMNS, row.id).await
    }

    pub async fn update_genre(&mut self, id: Uuid, patch: GenrePatch) -> Result<Genre> {
        let mut values = Vec::new();
        if let Some(name) = patch.name {
            let name = required_text("name", &name)?;
            values.push(("name_key", Some(Param::Text(normalize::key(&name)))));
            values.push(("name", Some(Param::Text(name))));
        }
        self.update_row("genres", id, values).await?;
        self.reload("genres", GENRE_COLUMNS, id).await
    }

    pub async fn delete_genre(&mut self, id: Uuid) -> Result<()> {
        self.delete_row("genres", id).await
    }
}

// ---------------------------------------------------------------- albums

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Album {
    pub id: Uuid,
    pub title: String,
    #[serde(skip)]
    pub title_key: String,
    pub artist_id: Option<Uuid>,
    pub year: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub(crate) const ALBUM_COLUMNS: &str =
    "id, title, title_key, artist_id, year, created_at, updated_at, version";

/// A new row to insert: its id, its natural key (what finds it again), and
/// its column values.
pub(crate) struct NewRow {
    pub(crate) id: Uuid,
    pub(crate) key: String,
    pub(crate) values: Vec<(&'static str, Option<Param>)>,
}

pub(crate) fn artist_row(new: NewArtist) -> Result<NewRow> {
    let name = required_text("name", &new.name)?;
    let biography = optional_text("biography", new.biography.as_deref(), MAX_BIOGRAPHY)?;
    let id = new.id.unwrap_or_else(Uuid::now_v7);
    let now = crate::now();
    let key = normalize::key(&name);
    let values = vec![
        ("id", Some(Param::Uuid(id))),
        ("name_key", Some(Param::Text(key.clone()))),
        ("name", Some(Param::Text(name))),
        ("biography", text_param(biography)),
        ("created_at", Some(Param::Time(now))),
        ("updated_at", Some(Param::Time(now))),
    ];
    Ok(NewRow { id, key, values })
}

pub(crate) fn genre_row(new: NewGenre) -> Result<NewRow> {
    let name = required_text("name", &new.name)?;
    let id = new.id.unwrap_or_else(Uuid::now_v7);
    let now = crate::now();
    let key = normalize::key(&name);
    let values = vec![
        ("id", Some(Param::Uuid(id))),
        ("name_key", Some(Param::Text(key.clone()))),
        ("name", Some(Param::Text(name))),
        ("created_at", Some(Param::Time(now))),
        ("updated_at", Some(Param::Time(now))),
    ];
    Ok(NewRow { id, key, values })
}

pub(crate) fn album_row(new: NewAlbum) -> Result<NewRow> {
    let title = required_text("title", &new.title)?;
    let year = check_range("year", new.year, 0, 9999)?;
    let id = new.id.unwrap_or_else(Uuid::now_v7);
    let now = crate::now();
    let key = album_natural_key(new.artist_id, &title);
    let values = vec![
        ("id", Some(Param::Uuid(id))),
        ("natural_key", Some(Param::Text(key.clone()))),
        ("title_key", Some(Param::Text(normalize::key(&title)))),
        ("title", Some(Param::Text(title))),
        ("artist_id", uuid_param(new.artist_id)),
        ("year", year),
        ("created_at", Some(Param::Time(now))),
        ("updated_at", Some(Param::Time(now))),
    ];
    Ok(NewRow { id, key, values })
}

/// An album's natural key: its artist and its normalised title.
pub(crate) fn album_natural_key(artist_id: Option<Uuid>, title: &str) -> String {
    let artist = artist_id.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
    format!("{artist}/{}", normalize::key(title))
}

#[derive(Debug, Clone, Default)]
pub struct NewAlbum {
    pub id: Option<Uuid>,
    pub title: String,
    pub artist_id: Option<Uuid>,
    pub year: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct AlbumPatch {
    pub title: Option<String>,
    pub artist_id: Option<Option<Uuid>>,
    pub year: Option<Option<i64>>,
}

#[derive(Debug, Clone, Default)]
pub struct AlbumFilter {
    pub artist_id: Option<Uuid>,
    pub year: Option<i64>,
}

impl Album {
    const SORTS: &[SortKey<Album>] = &[
        SortKey { name: "title", column: "title_key", value: |a| Param::Text(a.title_key.clone()) },
        SortKey { name: "created_at", column: "created_at", value: |a| Param::Time(a.created_at) },
        SortKey { name: "updated_at", column: "updated_at", value: |a| Param::Time(a.updated_at) },
    ];
    pub const SORT_NAMES: &[&str] = &["title", "created_at", "updated_at"];
}

impl Db {
    pub async fn album(&self, id: Uuid) -> Result<Option<Album>> {
        self.get_row("albums", ALBUM_COLUMNS, id).await
    }

    pub async fn albums(&self, filter: &AlbumFilter, page: &PageRequest) -> Result<Page<Album>> {
        let plan = page.plan(Album::SORTS, TIME_SORTS)?;
        let mut sql = Sql::new(&format!("SELECT {ALBUM_COLUMNS} FROM albums WHERE TRUE"));
        if let Some(artist_id) = filter.artist_id {
            sql.push(" AND artist_id = ").bind(Param::Uuid(artist_id));
        }
        if let Some(year) = filter.year {
            sql.push(" AND year = ").bind(Param::Int(year));
        }
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, Album::SORTS, |a| a.id))
    }
}

impl Tx {
    pub async fn insert_album(&mut self, new: NewAlbum) -> Result<Album> {
        let row = album_row(new)?;
        self.insert_row("albums", row.values).await?;
        self.reload("albums", ALBUM_COLUMNS, row.id).await
    }

    pub async fn update_album(&mut self, id: Uuid, patch: AlbumPatch) -> Result<Album> {
        let current: Album = self.reload("albums", ALBUM_COLUMNS, id).await?;
        let mut values = Vec::new();
        let title = match patch.title {
            Some(title) => required_text("title", &title)?,
            None => current.title.clone(),
        };
        let artist_id = patch.artist_id.unwrap_or(current.artist_id);
        values.push(("natural_key", Some(Param::Text(album_natural_key(artist_id, &title)))));
        values.push(("title_key", Some(Param::Text(normalize::key(&title)))));
        values.push(("title", Some(Param::Text(title))));
        values.push(("artist_id", uuid_param(artist_id)));
        if let Some(year) = patch.year {
            values.push(("year", check_range("year", year, 0, 9999)?));
        }
        self.update_row("albums", id, values).await?;
        self.reload("albums", ALBUM_COLUMNS, id).await
    }

    /// Deletes the album; its songs keep existing without one.
    pub async fn delete_album(&mut self, id: Uuid) -> Result<()> {
        self.delete_row("albums", id).await
    }
}

// ---------------------------------------------------------------- songs

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Song {
    pub id: Uuid,
    pub title: String,
    #[serde(skip)]
    pub title_key: String,
    pub artist_id: Option<Uuid>,
    pub album_id: Option<Uuid>,
    pub genre_id: Option<Uuid>,
    pub track_number: Option<i64>,
    pub disc_number: Option<i64>,
    pub year: Option<i64>,
    pub duration_ms: Option<i64>,
    pub format: Option<String>,
    pub file_size: Option<i64>,
    pub bitrate: Option<i64>,
    pub sample_rate: Option<i64>,
    pub channels: Option<i64>,
    pub content_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub(crate) const SONG_COLUMNS: &str = "id, title, title_key, artist_id, album_id, genre_id, track_number, \
    disc_number, year, duration_ms, format, file_size, bitrate, sample_rate, channels, content_hash, \
    created_at, updated_at, version";

/// A new song's metadata. Numbers are checked against sensible ranges.
#[derive(Debug, Clone, Default)]
pub struct NewSong {
    pub id: Option<Uuid>,
    pub title: String,
    pub artist_id: Option<Uuid>,
    pub album_id: Option<Uuid>,
    pub genre_id: Option<Uuid>,
    pub track_number: Option<i64>,
    pub disc_number: Option<i64>,
    pub year: Option<i64>,
    pub duration_ms: Option<i64>,
    pub format: Option<String>,
    pub file_size: Option<i64>,
    pub bitrate: Option<i64>,
    pub sample_rate: Option<i64>,
    pub channels: Option<i64>,
    pub content_hash: Option<String>,
}

/// Editable song metadata; `Some(None)` clears a field. Technical fields
/// (format, size, bitrate…) come from the file and are not editable.
#[derive(Debug, Clone, Default)]
pub struct SongPatch {
    pub title: Option<String>,
    pub artist_id: Option<Option<Uuid>>,
    pub album_id: Option<Option<Uuid>>,
    pub genre_id: Option<Option<Uuid>>,
    pub track_number: Option<Option<i64>>,
    pub disc_number: Option<Option<i64>>,
    pub year: Option<Option<i64>>,
}

#[derive(Debug, Clone, Default)]
pub struct SongFilter {
    pub artist_id: Option<Uuid>,
    pub album_id: Option<Uuid>,
    pub genre_id: Option<Uuid>,
    pub year: Option<i64>,
}

impl Song {
    const SORTS: &[SortKey<Song>] = &[
        SortKey { name: "title", column: "title_key", value: |s| Param::Text(s.title_key.clone()) },
        SortKey { name: "created_at", column: "created_at", value: |s| Param::Time(s.created_at) },
        SortKey { name: "updated_at", column: "updated_at", value: |s| Param::Time(s.updated_at) },
    ];
    pub const SORT_NAMES: &[&str] = &["title", "created_at", "updated_at"];
}

/// Who and what a list of songs refers to, by id (see [`Db::song_credits`]).
#[derive(Debug, Clone, Default)]
pub struct SongCredits {
    pub artists: std::collections::HashMap<Uuid, String>,
    pub albums: std::collections::HashMap<Uuid, String>,
}

/// At most this many songs come with an album (no album is that long; the
/// bound keeps the response bounded all the same).
pub const ALBUM_SONGS_LIMIT: i64 = 1000;

impl Db {
    pub async fn song(&self, id: Uuid) -> Result<Option<Song>> {
        self.get_row("songs", SONG_COLUMNS, id).await
    }

    pub async fn songs(&self, filter: &SongFilter, page: &PageRequest) -> Result<Page<Song>> {
        let plan = page.plan(Song::SORTS, TIME_SORTS)?;
        let mut sql = Sql::new(&format!("SELECT {SONG_COLUMNS} FROM songs WHERE TRUE"));
        for (column, value) in
            [("artist_id", filter.artist_id), ("album_id", filter.album_id), ("genre_id", filter.genre_id)]
        {
            if let Some(id) = value {
                sql.push(&format!(" AND {column} = ")).bind(Param::Uuid(id));
            }
        }
        if let Some(year) = filter.year {
            sql.push(" AND year = ").bind(Param::Int(year));
        }
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, Song::SORTS, |s| s.id))
    }

    /// The songs `ids` that exist, in the order of `ids` (repeats kept).
    pub async fn songs_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Song>> {
        let mut found = std::collections::HashMap::new();
        for chunk in ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(&format!("SELECT {SONG_COLUMNS} FROM songs WHERE id IN "));
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let songs: Vec<Song> = self.fetch_all_sql(sql).await?;
            found.extend(songs.into_iter().map(|s| (s.id, s)));
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    /// The names of the artists and the titles of the albums `songs` refer
    /// to, for showing a list of songs.
    pub async fn song_credits(&self, songs: &[Song]) -> Result<SongCredits> {
        let artists: Vec<Uuid> = songs.iter().filter_map(|s| s.artist_id).collect();
        let albums: Vec<Uuid> = songs.iter().filter_map(|s| s.album_id).collect();
        Ok(SongCredits {
            artists: self.names_by_id("artists", "name", &artists).await?,
            albums: self.names_by_id("albums", "title", &albums).await?,
        })
    }

    /// The names of the artists `ids`.
    pub async fn artist_names(&self, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, String>> {
        self.names_by_id("artists", "name", ids).await
    }

    pub(crate) async fn names_by_id(
        &self,
        table: &str,
        column: &str,
        ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, String>> {
        let mut names = std::collections::HashMap::new();
        for chunk in ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new(&format!("SELECT id, {column} FROM {table} WHERE id IN "));
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let rows: Vec<(Uuid, String)> = self.fetch_all_sql(sql).await?;
            names.extend(rows);
        }
        Ok(names)
    }

    /// The songs of an album in disc and track order (unnumbered ones last).
    pub async fn album_songs(&self, album_id: Uuid) -> Result<Vec<Song>> {
        let mut sql = Sql::new(&format!("SELECT {SONG_COLUMNS} FROM songs WHERE album_id = "));
        sql.bind(Param::Uuid(album_id));
        sql.push(
            " ORDER BY disc_number IS NULL, disc_number, track_number IS NULL, track_number, title_key, id LIMIT ",
        );
        sql.bind(Param::Int(ALBUM_SONGS_LIMIT));
        self.fetch_all_sql(sql).await
    }
}

fn song_numbers(
    track_number: Option<i64>,
    disc_number: Option<i64>,
    year: Option<i64>,
) -> Result<[Option<Param>; 3]> {
    Ok([
        check_range("track_number", track_number, 0, 100_000)?,
        check_range("disc_number", disc_number, 0, 1000)?,
        check_range("year", year, 0, 9999)?,
    ])
}

/// The checked column values of a song's metadata.
pub(crate) fn song_values(new: NewSong) -> Result<Vec<(&'static str, Option<Param>)>> {
    let title = required_text("title", &new.title)?;
    let [track, disc, year] = song_numbers(new.track_number, new.disc_number, new.year)?;
    Ok(vec![
        ("title_key", Some(Param::Text(normalize::key(&title)))),
        ("title", Some(Param::Text(title))),
        ("artist_id", uuid_param(new.artist_id)),
        ("album_id", uuid_param(new.album_id)),
        ("genre_id", uuid_param(new.genre_id)),
        ("track_number", track),
        ("disc_number", disc),
        ("year", year),
        ("duration_ms", check_range("duration_ms", new.duration_ms, 0, i64::MAX)?),
        ("format", text_param(optional_text("format", new.format.as_deref(), 32)?)),
        ("file_size", check_range("file_size", new.file_size, 0, i64::MAX)?),
        ("bitrate", check_range("bitrate", new.bitrate, 0, 100_000)?),
        ("sample_rate", check_range("sample_rate", new.sample_rate, 0, 10_000_000)?),
        ("channels", check_range("channels", new.channels, 0, 64)?),
        ("content_hash", text_param(optional_text("content_hash", new.content_hash.as_deref(), 128)?)),
    ])
}

impl Tx {
    pub async fn insert_song(&mut self, new: NewSong) -> Result<Song> {
        let id = new.id.unwrap_or_else(Uuid::now_v7);
        let now = crate::now();
        let mut values = song_values(new)?;
        values.push(("id", Some(Param::Uuid(id))));
        values.push(("created_at", Some(Param::Time(now))));
        values.push(("updated_at", Some(Param::Time(now))));
        self.insert_row("songs", values).await?;
        self.reload("songs", SONG_COLUMNS, id).await
    }

    /// Overwrites every metadata field of song `id` with `new`'s.
    pub(crate) async fn replace_song(&mut self, id: Uuid, new: NewSong) -> Result<Song> {
        self.update_row("songs", id, song_values(new)?).await?;
        self.reload("songs", SONG_COLUMNS, id).await
    }

    pub async fn update_song(&mut self, id: Uuid, patch: SongPatch) -> Result<Song> {
        let mut values = Vec::new();
        if let Some(title) = patch.title {
            let title = required_text("title", &title)?;
            values.push(("title_key", Some(Param::Text(normalize::key(&title)))));
            values.push(("title", Some(Param::Text(title))));
        }
        for (column, value) in
            [("artist_id", patch.artist_id), ("album_id", patch.album_id), ("genre_id", patch.genre_id)]
        {
            if let Some(value) = value {
                values.push((column, uuid_param(value)));
            }
        }
        let [track, disc, year] =
            song_numbers(patch.track_number.flatten(), patch.disc_number.flatten(), patch.year.flatten())?;
        for (column, given, checked) in [
            ("track_number", patch.track_number.is_some(), track),
            ("disc_number", patch.disc_number.is_some(), disc),
            ("year", patch.year.is_some(), year),
        ] {
            if given {
                values.push((column, checked));
            }
        }
        self.update_row("songs", id, values).await?;
        self.reload("songs", SONG_COLUMNS, id).await
    }

    /// Deletes the song with its playlist entries, listening data and plays.
    pub async fn delete_song(&mut self, id: Uuid) -> Result<()> {
        self.delete_row("songs", id).await
    }
}
