//! Search over songs, artists and albums.
//!
//! The migrations keep one node-local document per song, artist and album in
//! `search_documents` (name, and context such as a song's artist and album),
//! indexed by SQLite FTS5 or PostgreSQL full-text search. Both fold case and
//! diacritics, treat every query word as a prefix, require every word, and
//! rank a match in the name above one in the context. The SQL that differs
//! lives in `sqlite.rs` and `postgres.rs`; callers see one interface.
//!
//! A query of one short word (at most [`SHORT_PREFIX`] characters: what
//! instant search sends first) matches most of a large library, and ranking
//! every match is what made it the slowest query. It is answered without
//! ranking: first the names that start with it, in name order, from the
//! index on the name's key; then the other matches (a later word of the
//! name, or the context), in the order they were indexed. Each page reads
//! only as many rows as it shows.

use serde::Serialize;

use crate::error::Result;
use crate::library::{ALBUM_COLUMNS, ARTIST_COLUMNS, SONG_COLUMNS};
use crate::sql::{AnyRow, Param, Sql};
use crate::{Album, Artist, Backend, Db, DbError, Song, normalize};

/// At most this many results per kind in one page.
pub const SEARCH_LIMIT_MAX: i64 = 100;
/// Search pages go this deep and no deeper.
pub const SEARCH_OFFSET_MAX: i64 = 10_000;

/// A one-word query this short is answered in name order, not ranked.
pub const SHORT_PREFIX: usize = 3;

/// A kind of document, and where its records and their name keys are.
struct Kind {
    kind: &'static str,
    table: &'static str,
    columns: &'static str,
    key_column: &'static str,
}

const SONGS: Kind = Kind { kind: "song", table: "songs", columns: SONG_COLUMNS, key_column: "title_key" };
const ARTISTS: Kind =
    Kind { kind: "artist", table: "artists", columns: ARTIST_COLUMNS, key_column: "name_key" };
const ALBUMS: Kind = Kind { kind: "album", table: "albums", columns: ALBUM_COLUMNS, key_column: "title_key" };

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
        self.search(&SONGS, request).await
    }

    pub async fn search_artists(&self, request: &SearchRequest) -> Result<SearchPage<Artist>> {
        self.search(&ARTISTS, request).await
    }

    pub async fn search_albums(&self, request: &SearchRequest) -> Result<SearchPage<Album>> {
        self.search(&ALBUMS, request).await
    }

    async fn search<T: AnyRow>(&self, of: &Kind, request: &SearchRequest) -> Result<SearchPage<T>> {
        request.check()?;
        let words = query_words(&request.query);
        if let [word] = words[..]
            && word.chars().count() <= SHORT_PREFIX
        {
            return self.search_short(of, word, request).await;
        }
        if words.is_empty() {
            return Ok(SearchPage { items: Vec::new(), next_offset: None });
        }
        let Kind { kind, table, columns, .. } = *of;
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
        let items: Vec<T> = self.fetch_all_sql(sql).await?;
        Ok(page(items, request))
    }

    /// Merges the search index into one piece after a bulk write (a
    /// slave's bootstrap). SQLite's FTS5 index is a stack of segments, one
    /// or more per commit, merged eight at a time as they pile up. A
    /// bootstrap leaves at least one per page of up to 5,000 rows, and
    /// the merge of those large segments then falls on a later, small
    /// pull: a quarter of the writer's time in that round of the
    /// steady-apply bench. One merge now costs about 90 ms at 100,000
    /// songs. PostgreSQL's index has no segments (its pending list is at
    /// most 256 kB, migration 0009): nothing to do.
    pub async fn compact_search_index(&self) -> Result<()> {
        match self.writers() {
            crate::backend::WritersRef::Sqlite([writer, _]) => {
                crate::sqlite::compact_search_indexes(writer).await
            }
            crate::backend::WritersRef::Postgres(_) => Ok(()),
        }
    }

    /// A short word, unranked: names starting with it in name order, then
    /// the other matches in the order they were indexed.
    async fn search_short<T: AnyRow>(
        &self,
        of: &Kind,
        word: &str,
        request: &SearchRequest,
    ) -> Result<SearchPage<T>> {
        let Kind { kind, table, columns, key_column } = *of;
        let (from, to) = (normalize::key(word), format!("{}\u{10FFFF}", normalize::key(word)));
        let (in_range, order) = match self.backend() {
            Backend::Sqlite => crate::sqlite::key_range(key_column),
            Backend::Postgres => crate::postgres::key_range(key_column),
        };
        let wanted = request.limit + 1;
        let mut sql = Sql::new(&format!(
            "SELECT {columns} FROM {table} WHERE {in_range} ORDER BY {order}, id LIMIT $3 OFFSET $4"
        ));
        sql.params = vec![
            Param::Text(from.clone()),
            Param::Text(to.clone()),
            Param::Int(wanted),
            Param::Int(request.offset),
        ];
        let mut items: Vec<T> = self.fetch_all_sql(sql).await?;
        if (items.len() as i64) < wanted {
            // How far into the other matches this page starts.
            let offset = if items.is_empty() && request.offset > 0 {
                let mut count = Sql::new(&format!("SELECT count(*) FROM {table} WHERE {in_range}"));
                count.params = vec![Param::Text(from.clone()), Param::Text(to.clone())];
                let starting = self.fetch_all_sql::<(i64,)>(count).await?.first().map_or(0, |(n,)| *n);
                (request.offset - starting).max(0)
            } else {
                0
            };
            let qualified: Vec<String> = columns.split(", ").map(|c| format!("t.{c}")).collect();
            let (others, query) = match self.backend() {
                Backend::Sqlite => (
                    crate::sqlite::search_other_matches(kind, table, &qualified.join(", "), key_column),
                    crate::sqlite::search_match(&[word]),
                ),
                Backend::Postgres => (
                    crate::postgres::search_other_matches(table, &qualified.join(", "), key_column),
                    word.to_owned(),
                ),
            };
            // $1 query, $2 kind, $3 and $4 the range left out, $5 limit, $6 offset.
            let mut sql = Sql::new(&others);
            sql.params = vec![
                Param::Text(query),
                Param::Text(kind.to_owned()),
                Param::Text(from),
                Param::Text(to),
                Param::Int(wanted - items.len() as i64),
                Param::Int(offset),
            ];
            items.extend(self.fetch_all_sql::<T>(sql).await?);
        }
        Ok(page(items, request))
    }
}

/// A page of at most `limit` of `items` (one more was asked for, to know
/// whether there is a next page).
fn page<T>(mut items: Vec<T>, request: &SearchRequest) -> SearchPage<T> {
    let more = items.len() as i64 > request.limit;
    items.truncate(request.limit as usize);
    SearchPage { items, next_offset: more.then_some(request.offset + request.limit) }
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
