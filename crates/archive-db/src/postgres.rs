//! SQL that only PostgreSQL speaks.

use sqlx::{PgPool, Postgres, Transaction};

use crate::error::Result;
use crate::position::LogPosition;
use crate::schema::{ColumnInfo, TableInfo};
use crate::sql::{Param, Sql};

/// Turns capture on or off for the rest of the transaction. The context's
/// origin stays empty: the master stamps a pushed row's entry itself.
pub(crate) async fn set_capture(tx: &mut Transaction<'static, Postgres>, enabled: bool) -> Result<()> {
    sqlx::query("SELECT set_config('archive.capture', $1, true), set_config('archive.origin', '', true)")
        .bind(if enabled { "on" } else { "off" })
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Turns the per-song search trigger off (`bulk`) or on again for the rest
/// of the transaction (migration 0008).
pub(crate) async fn set_search_in_bulk(tx: &mut Transaction<'static, Postgres>, bulk: bool) -> Result<()> {
    sqlx::query("SELECT set_config('archive.search_in_bulk', $1, true)")
        .bind(if bulk { "on" } else { "off" })
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Takes `n` versions from the sequence, as the capture triggers take one per row.
pub(crate) async fn reserve_versions(tx: &mut Transaction<'static, Postgres>, n: i64) -> Result<Vec<i64>> {
    let mut versions: Vec<i64> =
        sqlx::query_scalar("SELECT nextval('sync_version_seq') FROM generate_series(1, $1)")
            .bind(n)
            .fetch_all(&mut **tx)
            .await?;
    versions.sort_unstable();
    Ok(versions)
}

/// Names the author of this transaction's changes (`None`: the node).
pub(crate) async fn set_author(tx: &mut Transaction<'static, Postgres>, author: Option<&str>) -> Result<()> {
    sqlx::query("SELECT set_config('archive.author', $1, true)")
        .bind(author.unwrap_or(""))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The oldest transaction still running that may write to this database:
/// the statement's snapshot's running transactions, less those a session
/// of another database on the server holds (its `backend_xid`), or the
/// snapshot's end when none is left. One that cannot be placed (it ended
/// between the snapshot and the look, or it is a prepared transaction with
/// no session) counts as this database's, so the horizon is never too far ahead;
/// transaction ids are shared by the whole server, and without the
/// exclusion a long write in any other database held every reader back.
const HORIZON: &str = "(SELECT coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot())) \
     FROM pg_snapshot_xip(pg_current_snapshot()) AS running \
     WHERE xid(running) NOT IN (SELECT backend_xid FROM pg_stat_activity \
         WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL))";

/// Changes after `after`, never past the oldest running transaction of
/// this database ([`HORIZON`]): a transaction still open may commit
/// changes at positions below those of transactions that already
/// committed, and they must not be passed over.
///
/// `ORDER BY` names the table's columns: a bare `xid` would mean the output
/// column (the `bigint` cast), which no index serves, and every poll would
/// sort the whole log. The same holds in [`log_head`].
pub(crate) async fn changes_after<'e, E, Row>(conn: E, after: LogPosition, limit: i64) -> Result<Vec<Row>>
where
    E: sqlx::Executor<'e, Database = Postgres>,
    Row: for<'r> sqlx::FromRow<'r, <Postgres as sqlx::Database>::Row> + Send + Unpin,
{
    let sql = format!(
        "SELECT id, xid::text::bigint AS xid, change_id, table_name, row_id, op, base_version, version, \
                origin, changed_at, author \
         FROM sync_changes \
         WHERE (xid, id) > ($1::bigint::text::xid8, $2) AND xid < {HORIZON} \
         ORDER BY sync_changes.xid, sync_changes.id LIMIT $3"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after.xid)
        .bind(after.id)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// `GROUP BY … HAVING` keeping the rows whose every log entry lies at or
/// before `upto`, compared as `(xid8, id)`.
pub(crate) fn push_settled_by(sql: &mut Sql, upto: LogPosition) {
    sql.push(" GROUP BY row_id HAVING NOT bool_or((xid, id) > (");
    sql.bind(Param::Int(upto.xid));
    sql.push("::bigint::text::xid8, ");
    sql.bind(Param::Int(upto.id));
    sql.push("))");
}

/// The log's `xid` column (an `xid8`) as an integer.
pub(crate) const XID_AS_INT: &str = "xid::text::bigint";

/// The newest settled position: the last change below the oldest running
/// transaction of this database ([`HORIZON`]). Everything up to it is
/// committed and visible.
pub(crate) async fn log_head<'e, E: sqlx::Executor<'e, Database = Postgres>>(conn: E) -> Result<LogPosition> {
    let sql = format!(
        "SELECT xid::text::bigint, id FROM sync_changes WHERE xid < {HORIZON} \
         ORDER BY sync_changes.xid DESC, sync_changes.id DESC LIMIT 1"
    );
    let head: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_optional(conn).await?;
    Ok(head.map_or(LogPosition::START, |(xid, id)| LogPosition { xid, id }))
}

/// The furthest position written in the log, settled or not (no horizon):
/// no reader was ever handed a position beyond it.
pub(crate) async fn log_peak<'e, E: sqlx::Executor<'e, Database = Postgres>>(conn: E) -> Result<LogPosition> {
    let peak: Option<(i64, i64)> = sqlx::query_as(
        "SELECT xid::text::bigint, id FROM sync_changes ORDER BY sync_changes.xid DESC, sync_changes.id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    Ok(peak.map_or(LogPosition::START, |(xid, id)| LogPosition { xid, id }))
}

/// How many changes lie after `after`.
///
/// Most calls come from idle polls where the answer is 0, so a first probe
/// for the next entry (an ordered LIMIT 1, which the planner always serves
/// from the position index) decides whether to count at all: a bare
/// `count(*)` is planned as a scan of the whole log whenever the table's
/// statistics are missing or stale, as they are after a bulk load.
pub(crate) async fn count_after<'e, E: sqlx::Executor<'e, Database = Postgres>>(
    conn: E,
    after: LogPosition,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CASE WHEN (SELECT id FROM sync_changes WHERE (xid, id) > ($1::bigint::text::xid8, $2) \
                           ORDER BY xid, id LIMIT 1) IS NULL THEN 0 \
                ELSE (SELECT count(*) FROM sync_changes WHERE (xid, id) > ($1::bigint::text::xid8, $2)) END",
    )
    .bind(after.xid)
    .bind(after.id)
    .fetch_one(conn)
    .await?)
}

pub(crate) async fn schema(pool: &PgPool) -> Result<Vec<TableInfo>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
           AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(pool)
    .await?;
    let mut tables = Vec::new();
    for name in names {
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(pool)
        .await?;
        // Indexes created by name (not those behind PRIMARY KEY / UNIQUE constraints).
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT i.indexname::text FROM pg_indexes i \
             WHERE i.schemaname = current_schema() AND i.tablename = $1 \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) \
             ORDER BY i.indexname",
        )
        .bind(&name)
        .fetch_all(pool)
        .await?;
        tables.push(TableInfo {
            name,
            columns: columns
                .into_iter()
                .map(|(name, sql_type, nullable)| ColumnInfo { name, sql_type, not_null: nullable == "NO" })
                .collect(),
            indexes,
        });
    }
    Ok(tables)
}

/// Ranked matches of one kind: `$1` the query text, `$2` the kind, `$3` limit,
/// `$4` offset. The score is the negated `ts_rank`, so lower is better as on
/// SQLite; names weigh A, context B (see the `0002_search` and
/// `0003_search_vector` migrations).
pub(crate) const SEARCH_RANKED: &str = "SELECT d.ref_id, -ts_rank(d.vector, q) AS score \
     FROM search_documents d, archive_search_query($1) q \
     WHERE d.kind = $2 AND d.vector @@ q \
     ORDER BY score, d.ref_id LIMIT $3 OFFSET $4";

/// Keys from `$1` up to `$2` (a prefix, and the prefix followed by the
/// last code point), and the order they sort in: byte by byte (the C
/// collation), which the key's `COLLATE "C"` index serves (migration 0008).
pub(crate) fn key_range(key_column: &str) -> (String, String) {
    let key = format!("{key_column} COLLATE \"C\"");
    (format!("{key} >= $1 AND {key} < $2"), key)
}

/// Matches of one kind whose name key is not in the range `$3`…`$4`, in
/// the order they were indexed, not ranked: `$1` the query, `$2` the kind,
/// `$5` limit, `$6` offset. `t` is the kind's table.
pub(crate) fn search_other_matches(table: &str, columns: &str, key_column: &str) -> String {
    format!(
        "SELECT {columns} FROM search_documents d JOIN {table} t ON t.id = d.ref_id, archive_search_query($1) q \
         WHERE d.kind = $2 AND d.vector @@ q \
         AND NOT (t.{key_column} COLLATE \"C\" >= $3 AND t.{key_column} COLLATE \"C\" < $4) \
         ORDER BY d.doc_id LIMIT $5 OFFSET $6"
    )
}

/// Samples the library's tables for the planner and sets their visibility
/// maps (see `Db::refresh_library_statistics`). Sent as a simple query:
/// VACUUM runs outside any transaction.
pub(crate) async fn analyze_library(pool: &PgPool) -> Result<()> {
    sqlx::raw_sql(
        "VACUUM (ANALYZE) songs, artists, albums, genres, file_locations, search_documents, sync_changes",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Drops the secondary indexes of `songs` (not the primary key, not one
/// behind a constraint) and the full-text index of the search documents,
/// each recorded in `song_indexes_set_aside` in the same transaction.
/// Returns how many were dropped. The full-text index costs a GIN insert
/// per word of every document kept up to date, and is built from all of
/// them at once in under half that time (100k songs: 0.73 s against 0.33 s).
pub(crate) async fn set_song_indexes_aside(pool: &PgPool) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE (i.indrelid = 'songs'::regclass OR c.relname = 'search_documents_vector') AND NOT i.indisprimary \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, definition) in &indexes {
        sqlx::query("INSERT INTO song_indexes_set_aside (name, definition) VALUES ($1, $2)")
            .bind(name)
            .bind(definition)
            .execute(&mut *tx)
            .await?;
        let drop = sqlx::AssertSqlSafe(format!("DROP INDEX {}", quoted(name)));
        sqlx::raw_sql(drop).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(indexes.len())
}

/// Builds again every index in `song_indexes_set_aside`, one transaction
/// each, and forgets it. Returns how many were built. Nothing to do before
/// migration 0021.
pub(crate) async fn restore_song_indexes(pool: &PgPool) -> Result<usize> {
    let has_record: bool = sqlx::query_scalar("SELECT to_regclass('song_indexes_set_aside') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_record {
        return Ok(0);
    }
    // Every import and every start asks; usually nothing is aside, and the
    // answer then opens no transaction.
    let aside: i64 =
        sqlx::query_scalar("SELECT count(*) FROM song_indexes_set_aside").fetch_one(pool).await?;
    if aside == 0 {
        return Ok(0);
    }
    let mut built = 0;
    loop {
        let mut tx = pool.begin().await?;
        // FOR UPDATE SKIP LOCKED: two processes starting at once build
        // different indexes, not the same one twice.
        let next: Option<(String, String)> = sqlx::query_as(
            "SELECT name, definition FROM song_indexes_set_aside ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((name, definition)) = next else { break };
        let exists: bool = sqlx::query_scalar("SELECT to_regclass(quote_ident($1)) IS NOT NULL")
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
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

/// A foreign key that a bulk import dropped, as `foreign_keys_set_aside`
/// records it.
#[derive(sqlx::FromRow)]
struct ForeignKeyAside {
    name: String,
    table_name: String,
    column_name: String,
    parent_table: String,
    parent_column: String,
    on_delete: String,
    definition: String,
}

/// Drops the foreign keys of `songs` and `file_locations` (those of one
/// column whose ON DELETE sets null or cascades, which is every one of
/// them), each recorded in `foreign_keys_set_aside` in the same
/// transaction. Returns how many were dropped.
pub(crate) async fn set_foreign_keys_aside(pool: &PgPool) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let keys: Vec<ForeignKeyAside> = sqlx::query_as(
        "SELECT k.conname::text AS name, child.relname::text AS table_name, \
         a.attname::text AS column_name, parent.relname::text AS parent_table, \
         pa.attname::text AS parent_column, \
         CASE k.confdeltype WHEN 'n' THEN 'set null' ELSE 'cascade' END AS on_delete, \
         pg_get_constraintdef(k.oid) AS definition \
         FROM pg_constraint k \
         JOIN pg_class child ON child.oid = k.conrelid \
         JOIN pg_class parent ON parent.oid = k.confrelid \
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
         JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1] \
         WHERE k.contype = 'f' AND k.conrelid IN ('songs'::regclass, 'file_locations'::regclass) \
         AND cardinality(k.conkey) = 1 AND k.confdeltype IN ('n', 'c') \
         ORDER BY k.conname",
    )
    .fetch_all(&mut *tx)
    .await?;
    for key in &keys {
        sqlx::query(
            "INSERT INTO foreign_keys_set_aside \
             (name, table_name, column_name, parent_table, parent_column, on_delete, definition) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.name)
        .bind(&key.table_name)
        .bind(&key.column_name)
        .bind(&key.parent_table)
        .bind(&key.parent_column)
        .bind(&key.on_delete)
        .bind(&key.definition)
        .execute(&mut *tx)
        .await?;
        let drop = format!("ALTER TABLE {} DROP CONSTRAINT {}", quoted(&key.table_name), quoted(&key.name));
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(keys.len())
}

/// Adds again every foreign key in `foreign_keys_set_aside`, one
/// transaction each, and forgets it. References written while the key was
/// away to a row that no longer exists are first cleared as its ON DELETE
/// would have: set to null (through the capture triggers, so the change is
/// recorded) or deleted. Returns how many were added. Nothing to do before
/// migration 0024.
pub(crate) async fn restore_foreign_keys(pool: &PgPool) -> Result<usize> {
    let has_record: bool = sqlx::query_scalar("SELECT to_regclass('foreign_keys_set_aside') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_record {
        return Ok(0);
    }
    let aside: i64 =
        sqlx::query_scalar("SELECT count(*) FROM foreign_keys_set_aside").fetch_one(pool).await?;
    if aside == 0 {
        return Ok(0);
    }
    let mut added = 0;
    // Deadlocks met by the key being added now.
    let mut deadlocks = 0;
    loop {
        match add_next_foreign_key(pool).await {
            Ok(Some(was_added)) => {
                added += usize::from(was_added);
                deadlocks = 0;
            }
            Ok(None) => break,
            // A writer can still meet the key's lock in an order that makes
            // a cycle (one that writes a song, then its artist): PostgreSQL
            // ends one of the two, and the key is tried again after it.
            Err(e) if is_deadlock(&e) && deadlocks < KEY_DEADLOCK_RETRIES => {
                deadlocks += 1;
                tracing::info!(deadlocks, "adding a foreign key back met a deadlock; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(deadlocks))).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(added)
}

/// How many deadlocks adding one foreign key back may meet before the
/// restore gives up (the keys then come back at the next import or start).
const KEY_DEADLOCK_RETRIES: u32 = 5;

/// Adds the next key recorded in `foreign_keys_set_aside` back, in a
/// transaction of its own, and forgets it: `None` when none is left, else
/// whether it had to be added (another process may have added it already).
async fn add_next_foreign_key(pool: &PgPool) -> Result<Option<bool>> {
    let mut tx = pool.begin().await?;
    match add_next_foreign_key_in(&mut tx).await {
        Ok(added) => {
            tx.commit().await?;
            Ok(added)
        }
        Err(error) => {
            // Rolled back here, not when the connection is next used: the
            // key's row stays locked until then, and a try again on another
            // connection would skip it as taken and leave the key aside.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(%rollback, "could not roll back a foreign key's restore");
            }
            Err(error)
        }
    }
}

async fn add_next_foreign_key_in(tx: &mut Transaction<'_, Postgres>) -> Result<Option<bool>> {
    // FOR UPDATE SKIP LOCKED: two processes starting at once add
    // different keys, not the same one twice.
    let next: Option<ForeignKeyAside> = sqlx::query_as(
        "SELECT name, table_name, column_name, parent_table, parent_column, on_delete, definition \
         FROM foreign_keys_set_aside ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(key) = next else { return Ok(None) };
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint \
         WHERE conname = $1 AND conrelid = to_regclass(quote_ident($2)))",
    )
    .bind(&key.name)
    .bind(&key.table_name)
    .fetch_one(&mut **tx)
    .await?;
    if !exists {
        add_foreign_key(tx, &key).await?;
    }
    sqlx::query("DELETE FROM foreign_keys_set_aside WHERE name = $1")
        .bind(&key.name)
        .execute(&mut **tx)
        .await?;
    Ok(Some(!exists))
}

/// Whether PostgreSQL ended the transaction to break a deadlock (SQLSTATE
/// 40P01): nothing of it was kept, and the same work can be tried again.
fn is_deadlock(error: &crate::DbError) -> bool {
    match error {
        crate::DbError::Sqlx(sqlx::Error::Database(e)) => e.code().as_deref() == Some("40P01"),
        _ => false,
    }
}

/// Clears the references `key` would refuse, then adds it, which checks
/// every row once. The lock, the one adding the key takes, keeps writers
/// of either table from adding a dangling reference in between. It is
/// taken on the parent first, the order writers take the two tables in
/// (an artist, then its songs; a song, then its file): taken child first,
/// it would wait on the parent while holding the child that a writer
/// holding the parent wants next.
async fn add_foreign_key(tx: &mut Transaction<'_, Postgres>, key: &ForeignKeyAside) -> Result<()> {
    let (table, column) = (quoted(&key.table_name), quoted(&key.column_name));
    let (parent, parent_column) = (quoted(&key.parent_table), quoted(&key.parent_column));
    let lock = format!("LOCK TABLE {parent}, {table} IN SHARE ROW EXCLUSIVE MODE");
    sqlx::raw_sql(sqlx::AssertSqlSafe(lock)).execute(&mut **tx).await?;
    let dangling = format!(
        "{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{parent_column} = {table}.{column})"
    );
    let clear = match key.on_delete.as_str() {
        "set null" => format!("UPDATE {table} SET {column} = NULL WHERE {dangling}"),
        _ => format!("DELETE FROM {table} WHERE {dangling}"),
    };
    let cleared = sqlx::raw_sql(sqlx::AssertSqlSafe(clear)).execute(&mut **tx).await?.rows_affected();
    if cleared > 0 {
        tracing::warn!(key = %key.name, cleared, "references to rows deleted during a bulk import cleared");
    }
    let add = format!("ALTER TABLE {table} ADD CONSTRAINT {} {}", quoted(&key.name), key.definition);
    sqlx::raw_sql(sqlx::AssertSqlSafe(add)).execute(&mut **tx).await?;
    Ok(())
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The database's size on disk, in bytes.
pub(crate) async fn size_bytes(pool: &PgPool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(pool).await?)
}

/// The command that backs a PostgreSQL database up into `target`.
pub(crate) fn dump_command(target: &std::path::Path) -> String {
    format!("pg_dump --format=custom --file={} \"$DATABASE_URL\"", target.display())
}

/// Writes new rows (all with the same columns) with one `COPY … FROM
/// STDIN` in text format: no statement to parse and plan every few hundred
/// rows, and the server reads the rows as they are made. Triggers and
/// column defaults apply as for `INSERT`. A row that cannot be made aborts
/// the copy and returns its error.
pub(crate) async fn copy_rows<'r>(
    tx: &mut Transaction<'static, Postgres>,
    table: &str,
    mut rows: impl Iterator<Item = Result<crate::sql::Row<'r>>>,
) -> Result<u64> {
    /// Bytes sent to the server at a time.
    const CHUNK: usize = 256 * 1024;
    let Some(first) = rows.next().transpose()? else { return Ok(0) };
    let columns: Vec<&str> = first.iter().map(|(name, _)| *name).collect();
    let statement = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
    let mut copy = tx.copy_in_raw(&statement).await?;
    let mut data = Vec::with_capacity(CHUNK + 4096);
    push_copy_row(&mut data, first);
    for row in rows {
        match row {
            Ok(row) => push_copy_row(&mut data, row),
            Err(e) => {
                copy.abort("a row could not be made").await?;
                return Err(e);
            }
        }
        if data.len() >= CHUNK {
            copy.send(std::mem::replace(&mut data, Vec::with_capacity(CHUNK + 4096))).await?;
        }
    }
    if !data.is_empty() {
        copy.send(data).await?;
    }
    Ok(copy.finish().await?)
}

/// One row in `COPY`'s text format: values separated by tabs, `\N` for
/// NULL, and a backslash before the characters the format gives meaning to.
fn push_copy_row(data: &mut Vec<u8>, row: crate::sql::Row<'_>) {
    use std::io::Write;
    for (i, (_, value)) in row.into_iter().enumerate() {
        if i > 0 {
            data.push(b'\t');
        }
        // Writing to a Vec cannot fail.
        let _ = match value {
            None => data.write_all(b"\\N"),
            Some(Param::Uuid(v)) => write!(data, "{v}"),
            Some(Param::Int(v)) => write!(data, "{v}"),
            Some(Param::Bool(v)) => data.write_all(if v { b"t" } else { b"f" }),
            Some(Param::Time(v)) => {
                data.write_all(v.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).as_bytes())
            }
            Some(Param::Text(v)) => {
                push_copy_text(data, &v);
                Ok(())
            }
            Some(Param::Bytes(v)) => write!(data, "\\\\x{}", hex::encode(v)),
        };
    }
    data.push(b'\n');
}

fn push_copy_text(data: &mut Vec<u8>, text: &str) {
    for &byte in text.as_bytes() {
        match byte {
            b'\\' => data.extend_from_slice(b"\\\\"),
            b'\t' => data.extend_from_slice(b"\\t"),
            b'\n' => data.extend_from_slice(b"\\n"),
            b'\r' => data.extend_from_slice(b"\\r"),
            _ => data.push(byte),
        }
    }
}
