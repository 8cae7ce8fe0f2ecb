//! SQL that only SQLite speaks.

use std::path::Path;

use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::error::Result;
use crate::position::LogPosition;
use crate::schema::{ColumnInfo, TableInfo};
use crate::sql::{Param, Sql};

/// `text` with its `$1, $2, … $n` placeholders made anonymous `?`, when
/// each appears once and in that order (as [`Sql::bind`] writes them);
/// otherwise `text` as it is. sqlx binds an anonymous parameter by its
/// position, and a named one by a linear search of the statement's names.
pub(crate) fn anonymous_placeholders(text: String) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut expected = 1u64;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 0 {
                let number: u64 = text[i + 1..i + 1 + digits].parse().unwrap_or(0);
                if number != expected {
                    return text;
                }
                expected += 1;
                out.push_str(&text[copied..i]);
                out.push('?');
                i += 1 + digits;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// How many pages of write-ahead log make the writer copy the log into the
/// database after a commit (0: never; see `checkpoints`).
pub(crate) async fn set_autocheckpoint(writer: &SqlitePool, pages: u32) -> Result<()> {
    let pragma = sqlx::AssertSqlSafe(format!("PRAGMA wal_autocheckpoint = {pages}"));
    sqlx::raw_sql(pragma).execute(writer).await?;
    Ok(())
}

/// The pages of log at which `writer` copies it into the database itself.
pub(crate) async fn autocheckpoint(writer: &SqlitePool) -> Result<u32> {
    let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(writer).await?;
    Ok(u32::try_from(pages).unwrap_or(u32::MAX))
}

/// Copies what it can of the write-ahead log into the database, waiting for
/// no one: the writer goes on writing meanwhile (a passive checkpoint).
pub(crate) async fn checkpoint_passive(pool: &SqlitePool) -> Result<()> {
    sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await?;
    Ok(())
}

/// The highest row number of `songs` now. Rows inserted after it in this
/// transaction come after it: SQLite numbers a new row one past the
/// highest, and the transaction is the only writer.
pub(crate) async fn last_song_row(tx: &mut Transaction<'static, Sqlite>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM songs").fetch_one(&mut **tx).await?)
}

/// Writes the search documents of the songs inserted after row `after`
/// ([`last_song_row`]): a range of rows read in order, where a list of
/// their ids would first be sorted into a temporary index, then each looked
/// up (10,000 songs: 23 ms against 42). Each song is read once: the view
/// gives its row number (migration 0027).
pub(crate) async fn write_search_documents_of_songs_after(
    tx: &mut Transaction<'static, Sqlite>,
    after: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO search_documents (kind, ref_id, name, context) \
         SELECT 'song', id, name, context FROM search_song_source WHERE song_row > $1 \
         ON CONFLICT (kind, ref_id) DO UPDATE SET name = excluded.name, context = excluded.context",
    )
    .bind(after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Turns capture on or off for the rest of the transaction. The context's
/// origin stays empty: the master stamps a pushed row's entry itself.
pub(crate) async fn set_capture(tx: &mut Transaction<'static, Sqlite>, enabled: bool) -> Result<()> {
    sqlx::query("UPDATE sync_context SET capture = $1, origin = NULL WHERE id = 1")
        .bind(enabled)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Turns the per-song search trigger off (`bulk`) or on again for the rest
/// of the transaction (migration 0008).
pub(crate) async fn set_search_in_bulk(tx: &mut Transaction<'static, Sqlite>, bulk: bool) -> Result<()> {
    sqlx::query("UPDATE sync_context SET search_in_bulk = $1 WHERE id = 1")
        .bind(bulk)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Takes `n` versions at once: the capture triggers take one per row.
pub(crate) async fn reserve_versions(tx: &mut Transaction<'static, Sqlite>, n: i64) -> Result<Vec<i64>> {
    let last: i64 = sqlx::query_scalar(
        "UPDATE sync_context SET last_version = last_version + $1 WHERE id = 1 RETURNING last_version",
    )
    .bind(n)
    .fetch_one(&mut **tx)
    .await?;
    Ok((last - n + 1..=last).collect())
}

/// The indexes of `table`, each as the columns it holds.
pub(crate) async fn index_columns(
    tx: &mut Transaction<'static, Sqlite>,
    table: &str,
) -> Result<Vec<Vec<String>>> {
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT il.name, ii.name FROM pragma_index_list($1) AS il, pragma_index_info(il.name) AS ii \
         WHERE ii.name IS NOT NULL ORDER BY il.name",
    )
    .bind(table)
    .fetch_all(&mut **tx)
    .await?;
    let mut indexes: Vec<(String, Vec<String>)> = Vec::new();
    for (index, column) in pairs {
        match indexes.last_mut() {
            Some((name, columns)) if *name == index => columns.push(column),
            _ => indexes.push((index, vec![column])),
        }
    }
    Ok(indexes.into_iter().map(|(_, columns)| columns).collect())
}

/// Names the author of this transaction's changes (`None`: the node).
pub(crate) async fn set_author(tx: &mut Transaction<'static, Sqlite>, author: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE sync_context SET author = $1 WHERE id = 1").bind(author).execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn changes_after<'e, E, Row>(conn: E, after: LogPosition, limit: i64) -> Result<Vec<Row>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
    Row: for<'r> sqlx::FromRow<'r, <Sqlite as sqlx::Database>::Row> + Send + Unpin,
{
    Ok(sqlx::query_as(
        "SELECT id, xid, change_id, table_name, row_id, op, base_version, version, origin, changed_at, author \
         FROM sync_changes WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after.id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// `GROUP BY … HAVING` keeping the rows whose every log entry lies at or
/// before `upto` (on SQLite the id alone orders the log).
pub(crate) fn push_settled_by(sql: &mut Sql, upto: LogPosition) {
    sql.push(" GROUP BY row_id HAVING max(id > ");
    sql.bind(Param::Int(upto.id));
    sql.push(") = 0");
}

/// The log's `xid` column as an integer (always 0 on SQLite).
pub(crate) const XID_AS_INT: &str = "xid";

/// The newest position in the log (one writer: every change is settled).
pub(crate) async fn log_head<'e, E: sqlx::Executor<'e, Database = Sqlite>>(conn: E) -> Result<LogPosition> {
    let id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM sync_changes").fetch_one(conn).await?;
    Ok(LogPosition { xid: 0, id })
}

/// How many changes lie after `after`.
pub(crate) async fn count_after<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    conn: E,
    after: LogPosition,
) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM sync_changes WHERE id > $1")
        .bind(after.id)
        .fetch_one(conn)
        .await?)
}

/// A consistent copy of the whole database into a new file.
pub(crate) async fn backup(writer: &SqlitePool, target: &Path) -> Result<()> {
    let target = target
        .to_str()
        .ok_or_else(|| crate::DbError::Backup(format!("{} is not a UTF-8 path", target.display())))?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(writer).await?;
    Ok(())
}

pub(crate) async fn schema(pool: &SqlitePool) -> Result<Vec<TableInfo>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut tables = Vec::new();
    for name in names {
        let columns: Vec<(String, String, bool, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid")
                .bind(&name)
                .fetch_all(pool)
                .await?;
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
        )
        .bind(&name)
        .fetch_all(pool)
        .await?;
        tables.push(TableInfo {
            name,
            columns: columns
                .into_iter()
                .map(|(name, sql_type, not_null, pk)| ColumnInfo {
                    name,
                    sql_type: sql_type.to_lowercase(),
                    not_null: not_null || pk > 0,
                })
                .collect(),
            indexes,
        });
    }
    Ok(tables)
}

/// Ranked matches of one kind (`song`, `artist` or `album`, from our code,
/// never from a request): `$1` the FTS5 query, `$2` the kind, `$3` limit,
/// `$4` offset. bm25 is lower for better matches; a match in the name weighs
/// ten times one in the context. Each kind has its own index (migration
/// 0004). `CROSS JOIN` keeps the full-text index as the outer loop
/// (otherwise the planner may walk every document and test the match per row).
pub(crate) fn search_ranked(kind: &str) -> String {
    let fts = format!("search_{kind}_fts");
    format!(
        "SELECT d.ref_id, bm25({fts}, 10.0, 1.0) AS score \
         FROM {fts} CROSS JOIN search_documents d ON d.doc_id = {fts}.rowid \
         WHERE {fts} MATCH $1 AND d.kind = $2 ORDER BY score, d.ref_id LIMIT $3 OFFSET $4"
    )
}

/// Keys from `$1` up to `$2` (a prefix, and the prefix followed by the
/// last code point), and the order they sort in: text compares byte by
/// byte here, so the key's own index serves both.
pub(crate) fn key_range(key_column: &str) -> (String, String) {
    (format!("{key_column} >= $1 AND {key_column} < $2"), key_column.to_owned())
}

/// Matches of one kind whose name key is not in the range `$3`…`$4`, in
/// the order they were indexed, not ranked: `$1` the FTS5 query, `$2` the
/// kind, `$5` limit, `$6` offset. `t` is the kind's table.
pub(crate) fn search_other_matches(kind: &str, table: &str, columns: &str, key_column: &str) -> String {
    let fts = format!("search_{kind}_fts");
    format!(
        "SELECT {columns} FROM {fts} CROSS JOIN search_documents d ON d.doc_id = {fts}.rowid \
         CROSS JOIN {table} t ON t.id = d.ref_id \
         WHERE {fts} MATCH $1 AND d.kind = $2 AND NOT (t.{key_column} >= $3 AND t.{key_column} < $4) \
         ORDER BY {fts}.rowid LIMIT $5 OFFSET $6"
    )
}

/// An FTS5 query that requires every word, each as a prefix: `"beyon"* "hal"*`.
/// Words are letters and digits only, so quoting them is enough.
pub(crate) fn search_match(words: &[&str]) -> String {
    words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" ")
}

/// Merges each search index's segments into one (FTS5's `optimize`),
/// dropping the entries of deleted documents on the way.
pub(crate) async fn compact_search_indexes(writer: &SqlitePool) -> Result<()> {
    for kind in ["song", "artist", "album"] {
        let statement = format!("INSERT INTO search_{kind}_fts (search_{kind}_fts) VALUES ('optimize')");
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(writer).await?;
    }
    Ok(())
}

/// The database's size on disk, in bytes (pages in use, WAL not counted).
pub(crate) async fn size_bytes(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        .fetch_one(pool)
        .await?)
}

/// Drops the secondary indexes of `songs` (not the primary key), each
/// recorded in `song_indexes_set_aside` in the same transaction. Returns how
/// many were dropped.
pub(crate) async fn set_song_indexes_aside(writer: &SqlitePool) -> Result<usize> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'songs' AND sql IS NOT NULL",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, definition) in &indexes {
        sqlx::query("INSERT INTO song_indexes_set_aside (name, definition) VALUES ($1, $2)")
            .bind(name)
            .bind(definition)
            .execute(&mut *tx)
            .await?;
        let drop = sqlx::AssertSqlSafe(format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")));
        sqlx::raw_sql(drop).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(indexes.len())
}

/// Builds again every index in `song_indexes_set_aside`, one transaction
/// each (the writer is held for one index at a time), and forgets it.
/// Returns how many were built. Nothing to do before migration 0021.
///
/// Each index is built on the bulk writer (whose page cache an import
/// left holding the songs) while it holds the writer, as a bulk write
/// does (see `Db::begin_bulk`): a build on the writer would fill a second
/// cache with the same pages.
pub(crate) async fn restore_song_indexes([writer, bulk]: [&SqlitePool; 2]) -> Result<usize> {
    let has_record: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'song_indexes_set_aside'",
    )
    .fetch_one(writer)
    .await?;
    if has_record == 0 {
        return Ok(0);
    }
    // Every import and every start asks; usually nothing is aside, and the
    // answer then costs no write lock.
    let aside: i64 =
        sqlx::query_scalar("SELECT count(*) FROM song_indexes_set_aside").fetch_one(writer).await?;
    if aside == 0 {
        return Ok(0);
    }
    let mut built = 0;
    loop {
        let _held = writer.acquire().await?;
        let mut tx = bulk.begin_with("BEGIN IMMEDIATE").await?;
        let next: Option<(String, String)> =
            sqlx::query_as("SELECT name, definition FROM song_indexes_set_aside ORDER BY name LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let Some((name, definition)) = next else { break };
        // Another process may have built it already.
        let exists: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = $1")
                .bind(&name)
                .fetch_one(&mut *tx)
                .await?;
        if exists == 0 {
            sqlx::raw_sql(sqlx::AssertSqlSafe(definition)).execute(&mut *tx).await?;
            built += 1;
        }
        sqlx::query("DELETE FROM song_indexes_set_aside WHERE name = $1")
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::anonymous_placeholders;

    #[test]
    fn placeholders_in_order_become_anonymous_and_any_other_text_stays_as_it_is() {
        let in_order = "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)".to_owned();
        assert_eq!(anonymous_placeholders(in_order), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        for kept in ["SELECT $2, $1", "SELECT $1 WHERE x = $1", "SELECT '$' || $1 || '$5'", "SELECT 1"] {
            assert_eq!(
                anonymous_placeholders(kept.to_owned()),
                kept,
                "a placeholder out of order or repeated"
            );
        }
        assert_eq!(anonymous_placeholders("SELECT $1, $10x".to_owned()), "SELECT $1, $10x");
        assert_eq!(anonymous_placeholders("SELECT a$ , $1".to_owned()), "SELECT a$ , ?");
    }
}
