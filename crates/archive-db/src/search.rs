//! Search over songs, artists and albums.
//!
//! The migrations keep one node-local document per song, artist and album in
//! `search_documents` (name, and context such as a song's artist and album),
//! indexed by SQLite FTS5 or PostgreSQL full-text search. Both fold case and
//! diacritics, treat every query word as a prefix, require every word, and
//! rank a match in the name above one in the context. The SQL that differs
//! lives in `sqlite.rs` and `postgres.rs`; callers see one interface.

use serde::Serialize;

use crate::error::Result;
use crate::library::{ALBUM_COLUMNS, ARTIST_COLUMNS, SONG_COLUMNS};
use crate::sql::{AnyRow, Param, Sql};
use crate::{Album, Artist, Backend, Db, DbError, Song};

/// At most this many results per kind in one page.
pub const SEARCH_LIMIT_MAX: i64 = 100;
/// Search pages go this deep and no deeper.
pub const SEARCH_OFFSET_MAX: i64 = 10_000;

/// One page of ranked results of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage<T> {
    pub items: Vec<T>,
    /// The `offset` of the next page, if there is one.
    pub next_offset: Option<i64>,
}

/// What to search for, and which page.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    pub limit: i64,
    pub offset: i64,
}

/// The words of a query as the search index splits them: runs of letters and
/// digits. A query without any finds nothing.
pub fn query_words(query: &str) -> Vec<&str> {
    query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect()
}

impl SearchRequest {
    fn check(&self) -> Result<()> {
        if !(1..=SEARCH_LIMIT_MAX).contains(&self.limit) {
            return Err(DbError::invalid("limit", format!("limit must be between 1 and {SEARCH_LIMIT_MAX}")));
        }
        if !(0..=SEARCH_OFFSET_MAX).contains(&self.offset) {
            return Err(DbError::invalid(
                "offset",
                format!("offset must be between 0 and {SEARCH_OFFSET_MAX}"),
            ));
        }
        crate::library::storable("q", &self.query)?;
        if self.query.chars().count() > 200 {
            return Err(DbError::invalid("q", "q must be at most 200 characters"));
        }
        Ok(())
    }
}

impl Db {
    pub async fn search_songs(&self, request: &SearchRequest) -> Result<SearchPage<Song>> {
        self.search("song", "songs", SONG_COLUMNS, request).await
    }

    pub async fn search_artists(&self, request: &SearchRequest) -> Result<SearchPage<Artist>> {
        self.search("artist", "artists", ARTIST_COLUMNS, request).await
    }

    pub async fn search_albums(&self, request: &SearchRequest) -> Result<SearchPage<Album>> {
        self.search("album", "albums", ALBUM_COLUMNS, request).await
    }

    async fn search<T: AnyRow>(
        &self,
        kind: &str,
        table: &str,
        columns: &str,
        request: &SearchRequest,
    ) -> Result<SearchPage<T>> {
        request.check()?;
        let words = query_words(&request.query);
        if words.is_empty() {
            return Ok(SearchPage { items: Vec::new(), next_offset: None });
        }
        let (ranked, query) = match self.backend() {
            Backend::Sqlite => (crate::sqlite::search_ranked(kind), crate::sqlite::search_match(&words)),
            Backend::Postgres => (crate::postgres::SEARCH_RANKED.to_owned(), request.query.clone()),
        };
        // The ranked subquery takes $1 query, $2 kind, $3 limit, $4 offset.
        let mut sql = Sql::new("");
        sql.params = vec![
            Param::Text(query),
            Param::Text(kind.to_owned()),
            Param::Int(request.limit + 1),
            Param::Int(request.offset),
        ];
        sql.push(&format!(
            "SELECT {columns} FROM {table} JOIN ({ranked}) ranked ON ranked.ref_id = {table}.id \
             ORDER BY ranked.score, ranked.ref_id"
        ));
        let mut items: Vec<T> = self.fetch_all_sql(sql).await?;
        let more = items.len() as i64 > request.limit;
        items.truncate(request.limit as usize);
        Ok(SearchPage { items, next_offset: more.then_some(request.offset + request.limit) })
    }
}

#[cfg(test)]
mod tests {
    use super::query_words;

    #[test]
    fn query_words_are_runs_of_letters_and_digits() {
        assert_eq!(query_words("  AC/DC — Back in Black! "), ["AC", "DC", "Back", "in", "Black"]);
        assert_eq!(query_words("Beyoncé 4"), ["Beyoncé", "4"]);
        assert!(query_words(" *\"-'").is_empty());
    }
}
