//! The library as a browsing app sees it (the Subsonic API): artists with
//! their album counts, albums with their songs' count and length, genres
//! with their counts. Reads only.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::sql::{Param, Sql};
use crate::{Album, Backend, Db};

/// An artist and how many albums name it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ArtistEntry {
    pub id: Uuid,
    pub name: String,
    pub name_key: String,
    pub album_count: i64,
}

/// An album, its artist's name, and its songs' count and total length.
#[derive(Debug, Clone)]
pub struct AlbumEntry {
    pub album: Album,
    pub artist: Option<String>,
    pub song_count: i64,
    pub duration_ms: i64,
}

/// A genre and how many songs and albums it has.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GenreEntry {
    pub name: String,
    pub song_count: i64,
    pub album_count: i64,
}

/// Artists listed at most (an index of a library, not a page).
pub const ARTIST_ENTRIES_MAX: i64 = 100_000;

type AlbumEntryRow = (
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<i64>,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
    Option<String>,
    i64,
    i64,
);

/// Albums with their artist's name, song count and length, read from the
/// albums `b` and the joins of [`album_entry_joins`]. PostgreSQL counts and
/// adds up each album's songs in one pass (a lateral subquery); SQLite,
/// which has none, in two subqueries, both from the index `songs_album`
/// alone.
fn album_entry_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT b.id, b.title, b.title_key, b.artist_id, b.year, b.created_at, \
             b.updated_at, b.version, a.name, \
             (SELECT count(*) FROM songs s WHERE s.album_id = b.id), \
             (SELECT CAST(coalesce(sum(s.duration_ms), 0) AS BIGINT) FROM songs s WHERE s.album_id = b.id)"
        }
        Backend::Postgres => {
            "SELECT b.id, b.title, b.title_key, b.artist_id, b.year, b.created_at, \
             b.updated_at, b.version, a.name, c.songs, c.ms"
        }
    }
}

fn album_entry_joins(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => " LEFT JOIN artists a ON a.id = b.artist_id",
        Backend::Postgres => {
            " LEFT JOIN artists a ON a.id = b.artist_id \
             CROSS JOIN LATERAL (SELECT count(*) AS songs, CAST(coalesce(sum(s.duration_ms), 0) AS BIGINT) AS ms \
             FROM songs s WHERE s.album_id = b.id) c"
        }
    }
}

/// Album entries of every album (narrowed by the caller's `WHERE`).
fn album_entry_select(backend: Backend) -> String {
    format!("{} FROM albums b{}", album_entry_columns(backend), album_entry_joins(backend))
}

fn album_entry(row: AlbumEntryRow) -> AlbumEntry {
    let (id, title, title_key, artist_id, year, created_at, updated_at, version, artist, songs, ms) = row;
    AlbumEntry {
        album: Album { id, title, title_key, artist_id, year, created_at, updated_at, version },
        artist,
        song_count: songs,
        duration_ms: ms,
    }
}

impl Db {
    /// Every artist (up to [`ARTIST_ENTRIES_MAX`]) by name, with album counts.
    pub async fn artist_entries(&self) -> Result<Vec<ArtistEntry>> {
        // (Counting with one GROUP BY joined in measured slower on SQLite: 49 ms
        // p95 against 30 at 5,000 artists; see PERFORMANCE.md.)
        let mut sql = Sql::new(
            "SELECT a.id, a.name, a.name_key, (SELECT count(*) FROM albums b WHERE b.artist_id = a.id) AS album_count \
             FROM artists a ORDER BY a.name_key, a.id LIMIT ",
        );
        sql.bind(Param::Int(ARTIST_ENTRIES_MAX));
        self.fetch_all_sql(sql).await
    }

    /// The albums of an artist, oldest first, with their counts.
    pub async fn album_entries_of_artist(&self, artist_id: Uuid) -> Result<Vec<AlbumEntry>> {
        let mut sql = Sql::new(&format!("{} WHERE b.artist_id = ", album_entry_select(self.backend())));
        sql.bind(Param::Uuid(artist_id));
        sql.push(" ORDER BY b.year, b.title_key, b.id LIMIT 10000");
        let rows: Vec<AlbumEntryRow> = self.fetch_all_sql(sql).await?;
        Ok(rows.into_iter().map(album_entry).collect())
    }

    pub async fn album_entry(&self, id: Uuid) -> Result<Option<AlbumEntry>> {
        let mut sql = Sql::new(&format!("{} WHERE b.id = ", album_entry_select(self.backend())));
        sql.bind(Param::Uuid(id));
        let row: Option<AlbumEntryRow> = self.fetch_optional_sql(sql).await?;
        Ok(row.map(album_entry))
    }

    /// Every genre by name, with its songs and albums counted.
    pub async fn genre_entries(&self) -> Result<Vec<GenreEntry>> {
        let sql = Sql::new(
            "SELECT g.name, \
             (SELECT count(*) FROM songs s WHERE s.genre_id = g.id) AS song_count, \
             (SELECT count(DISTINCT s.album_id) FROM songs s WHERE s.genre_id = g.id) AS album_count \
             FROM genres g ORDER BY g.name_key LIMIT 10000",
        );
        self.fetch_all_sql(sql).await
    }

    /// Genre names by id.
    pub async fn genre_names(&self, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, String>> {
        self.names_by_id("genres", "name", ids).await
    }
}

/// The orders of a list of albums (Subsonic's `getAlbumList2` types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbumOrder {
    /// Most recently added first.
    Newest,
    /// By title.
    ByName,
    /// By artist, then title.
    ByArtist,
    /// Years from `from` to `to` (either way round: `from > to` lists newest first).
    ByYear { from: i64, to: i64 },
    /// Albums with songs of this genre (by name), by title.
    ByGenre(String),
    /// In a random order.
    Random,
    /// Most recently played by `user` first (albums never played are left out).
    Recent(Uuid),
    /// Most played by `user` first.
    Frequent(Uuid),
    /// Highest average rating by `user` first (albums never rated are left out).
    Highest(Uuid),
    /// Albums `user` starred, the newest star first.
    Starred(Uuid),
}

/// Albums at most in one page of a list.
pub const ALBUM_PAGE_MAX: i64 = 500;

impl Db {
    /// One page of albums in `order`, with their counts.
    ///
    /// The page is chosen first, so that the counts are made for the page
    /// alone (a database computes a select list's subqueries for every row
    /// it sorts when no index gives the order). An order of the albums' own
    /// columns is one statement, the page's rows a subquery sorted again
    /// outside; the others (by plays, ratings, stars, at random) are two, the
    /// page's ids and then their entries.
    pub async fn album_list(&self, order: &AlbumOrder, limit: i64, offset: i64) -> Result<Vec<AlbumEntry>> {
        const PAGE: &str = "SELECT b.id FROM albums b LEFT JOIN artists a ON a.id = b.artist_id";
        let (limit, offset) = (limit.clamp(1, ALBUM_PAGE_MAX), offset.max(0));
        let by_columns = match order {
            // Served backwards by the index albums_created (created_at, id).
            AlbumOrder::Newest => Some(" ORDER BY b.created_at DESC, b.id DESC"),
            AlbumOrder::ByName | AlbumOrder::ByGenre(_) => Some(" ORDER BY b.title_key, b.id"),
            AlbumOrder::ByArtist => Some(" ORDER BY a.name_key, b.title_key, b.id"),
            AlbumOrder::ByYear { from, to } if from > to => Some(" ORDER BY b.year DESC, b.title_key, b.id"),
            AlbumOrder::ByYear { .. } => Some(" ORDER BY b.year, b.title_key, b.id"),
            _ => None,
        };
        // An order of the albums' own columns: the page of whole album rows
        // is cut first, in a subquery, and only its 500 rows are joined and
        // counted (a page of ids matched back with `IN` made PostgreSQL
        // hash every album, measured at 2.0 ms against 1.2).
        let mut sql = match by_columns {
            Some(_) => Sql::new(&format!(
                "{} FROM (SELECT b.* FROM albums b LEFT JOIN artists a ON a.id = b.artist_id",
                album_entry_columns(self.backend())
            )),
            None => Sql::new(PAGE),
        };
        match order {
            AlbumOrder::Newest | AlbumOrder::ByName | AlbumOrder::ByArtist => &mut sql,
            AlbumOrder::ByYear { from, to } => {
                sql.push(" WHERE b.year BETWEEN ");
                sql.bind(Param::Int(*from.min(to))).push(" AND ");
                sql.bind(Param::Int(*from.max(to)))
            }
            AlbumOrder::ByGenre(genre) => {
                sql.push(
                    " WHERE EXISTS (SELECT 1 FROM songs s JOIN genres g ON g.id = s.genre_id \
                     WHERE s.album_id = b.id AND g.name_key = ",
                );
                sql.bind(Param::Text(crate::normalize::key(genre)));
                sql.push(")")
            }
            AlbumOrder::Random => sql.push(" ORDER BY random()"),
            AlbumOrder::Recent(user) => {
                sql.push(
                    " JOIN (SELECT s.album_id, max(p.played_at) AS at FROM plays p JOIN songs s ON s.id = p.song_id \
                     WHERE p.user_id = ",
                );
                sql.bind(Param::Uuid(*user));
                sql.push(" GROUP BY s.album_id) r ON r.album_id = b.id ORDER BY r.at DESC, b.id")
            }
            AlbumOrder::Frequent(user) => {
                sql.push(
                    " JOIN (SELECT s.album_id, count(*) AS n FROM plays p JOIN songs s ON s.id = p.song_id \
                     WHERE p.user_id = ",
                );
                sql.bind(Param::Uuid(*user));
                sql.push(" GROUP BY s.album_id) r ON r.album_id = b.id ORDER BY r.n DESC, b.id")
            }
            AlbumOrder::Highest(user) => {
                sql.push(
                    " JOIN (SELECT s.album_id, avg(l.rating) AS stars FROM listening_data l \
                     JOIN songs s ON s.id = l.song_id WHERE l.rating IS NOT NULL AND l.user_id = ",
                );
                sql.bind(Param::Uuid(*user));
                sql.push(" GROUP BY s.album_id) r ON r.album_id = b.id ORDER BY r.stars DESC, b.id")
            }
            AlbumOrder::Starred(user) => {
                sql.push(" JOIN favourites f ON f.album_id = b.id WHERE f.user_id = ");
                sql.bind(Param::Uuid(*user));
                sql.push(" ORDER BY f.created_at DESC, b.id")
            }
        };
        if let Some(order_by) = by_columns {
            sql.push(order_by);
        }
        sql.push(" LIMIT ");
        sql.bind(Param::Int(limit)).push(" OFFSET ");
        sql.bind(Param::Int(offset));
        if let Some(order_by) = by_columns {
            sql.push(&format!(") b{}{order_by}", album_entry_joins(self.backend())));
            let rows: Vec<AlbumEntryRow> = self.fetch_all_sql(sql).await?;
            return Ok(rows.into_iter().map(album_entry).collect());
        }
        let ids: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
        self.album_entries(&ids.into_iter().map(|(id,)| id).collect::<Vec<_>>()).await
    }

    /// Albums by id, with their counts, in the order of `ids` (missing ones left out).
    pub async fn album_entries(&self, ids: &[Uuid]) -> Result<Vec<AlbumEntry>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("{} WHERE b.id IN ", album_entry_select(self.backend())));
        sql.bind_list(ids.iter().map(|id| Param::Uuid(*id)));
        let rows: Vec<AlbumEntryRow> = self.fetch_all_sql(sql).await?;
        let mut found: std::collections::HashMap<Uuid, AlbumEntry> =
            rows.into_iter().map(album_entry).map(|e| (e.album.id, e)).collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// One page of artists by name (`limit` 1 to 500), with album counts.
    pub async fn artist_entries_page(&self, limit: i64, offset: i64) -> Result<Vec<ArtistEntry>> {
        let mut sql = Sql::new(
            "SELECT a.id, a.name, a.name_key, (SELECT count(*) FROM albums b WHERE b.artist_id = a.id) AS album_count \
             FROM artists a ORDER BY a.name_key, a.id LIMIT ",
        );
        sql.bind(Param::Int(limit.clamp(1, ALBUM_PAGE_MAX))).push(" OFFSET ");
        sql.bind(Param::Int(offset.max(0)));
        self.fetch_all_sql(sql).await
    }

    /// Artists by id, with album counts, in the order of `ids`.
    pub async fn artist_entries_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ArtistEntry>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT a.id, a.name, a.name_key, (SELECT count(*) FROM albums b WHERE b.artist_id = a.id) AS album_count \
             FROM artists a WHERE a.id IN ",
        );
        sql.bind_list(ids.iter().map(|id| Param::Uuid(*id)));
        let rows: Vec<ArtistEntry> = self.fetch_all_sql(sql).await?;
        let mut found: std::collections::HashMap<Uuid, ArtistEntry> =
            rows.into_iter().map(|a| (a.id, a)).collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// One page of songs in a stable order (by id), for apps that copy the
    /// whole library page by page.
    pub async fn songs_in_id_order(&self, limit: i64, offset: i64) -> Result<Vec<crate::Song>> {
        let mut sql =
            Sql::new(&format!("SELECT {} FROM songs ORDER BY id LIMIT ", crate::library::SONG_COLUMNS));
        sql.bind(Param::Int(limit.clamp(1, ALBUM_PAGE_MAX))).push(" OFFSET ");
        sql.bind(Param::Int(offset.max(0)));
        self.fetch_all_sql(sql).await
    }

    /// `count` random songs, optionally of one genre (by name) and within years.
    pub async fn random_songs(
        &self,
        count: i64,
        genre: Option<&str>,
        from_year: Option<i64>,
        to_year: Option<i64>,
    ) -> Result<Vec<crate::Song>> {
        let mut sql = Sql::new(&format!("SELECT {} FROM songs WHERE TRUE", crate::library::SONG_COLUMNS));
        if let Some(genre) = genre {
            sql.push(" AND genre_id IN (SELECT g.id FROM genres g WHERE g.name_key = ");
            sql.bind(Param::Text(crate::normalize::key(genre))).push(")");
        }
        if let Some(from) = from_year {
            sql.push(" AND year >= ");
            sql.bind(Param::Int(from));
        }
        if let Some(to) = to_year {
            sql.push(" AND year <= ");
            sql.bind(Param::Int(to));
        }
        sql.push(" ORDER BY random() LIMIT ");
        sql.bind(Param::Int(count.clamp(1, ALBUM_PAGE_MAX)));
        self.fetch_all_sql(sql).await
    }
}

impl Db {
    /// The id of the genre named `name` (compared as names are: by their key).
    pub async fn genre_id_by_name(&self, name: &str) -> Result<Option<Uuid>> {
        let mut sql = Sql::new("SELECT id FROM genres WHERE name_key = ");
        sql.bind(Param::Text(crate::normalize::key(name)));
        let row: Option<(Uuid,)> = self.fetch_optional_sql(sql).await?;
        Ok(row.map(|(id,)| id))
    }
}
