//! A small SQL text builder for queries whose shape depends on the request
//! (filters, sorting, keyset cursors). It numbers `$N` placeholders, which both
//! SQLite and PostgreSQL accept, and keeps the values to bind in order.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The most parameters a multi-row statement binds: below SQLite's limit
/// (32,766) and PostgreSQL's (65,535). Fewer, larger statements write a
/// batch faster (measured on a 20k-file import: 400 → 4,000 → 16,000 took
/// 1.7 s → 1.36 s → 1.25 s), now that SQLite gets anonymous placeholders
/// (see [`Dialect`]): with `$N`, binding n parameters cost n².
pub(crate) const MAX_PARAMS: usize = 16000;

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Uuid(Uuid),
    Int(i64),
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
    Bytes(Vec<u8>),
}

#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) params: Vec<Param>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), params: Vec::new() }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `param`.
    pub(crate) fn bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        self.text.push('$');
        self.text.push_str(&self.params.len().to_string());
        self
    }

    /// Appends `(…)` with a placeholder for each of `params`, for `IN`.
    pub(crate) fn bind_list(&mut self, params: impl IntoIterator<Item = Param>) -> &mut Self {
        self.push("(");
        for (i, param) in params.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(param);
        }
        self.push(")")
    }
}

/// Binds every [`Param`] of `$params` to the sqlx query `$query`.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                $crate::sql::Param::Uuid(v) => query.bind(v),
                $crate::sql::Param::Int(v) => query.bind(v),
                $crate::sql::Param::Text(v) => query.bind(v),
                $crate::sql::Param::Bool(v) => query.bind(v),
                $crate::sql::Param::Time(v) => query.bind(v),
                $crate::sql::Param::Bytes(v) => query.bind(v),
            };
        }
        query
    }};
}
pub(crate) use bind_params;

/// How a backend wants a statement's text: SQLite binds `$N` by looking each
/// name up in a list (n² for n parameters), so it gets anonymous `?` where
/// the placeholders allow; PostgreSQL takes `$N` as they are.
pub(crate) trait Dialect {
    fn statement(text: String) -> String;
}

impl Dialect for sqlx::SqliteConnection {
    fn statement(text: String) -> String {
        crate::sqlite::anonymous_placeholders(text)
    }
}

impl Dialect for sqlx::SqlitePool {
    fn statement(text: String) -> String {
        crate::sqlite::anonymous_placeholders(text)
    }
}

impl Dialect for sqlx::PgConnection {
    fn statement(text: String) -> String {
        text
    }
}

impl Dialect for sqlx::PgPool {
    fn statement(text: String) -> String {
        text
    }
}

pub(crate) fn statement_for<C: Dialect>(_: &C, text: String) -> String {
    C::statement(text)
}

/// A row type that decodes from both backends.
pub(crate) trait AnyRow:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}

impl<T> AnyRow for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

impl crate::Db {
    pub(crate) async fn fetch_all_sql<T: AnyRow>(&self, sql: Sql) -> crate::Result<Vec<T>> {
        let rows = crate::backend::on_pool!(self, pool => {
            let query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(statement_for(pool, sql.text)));
            bind_params!(query, sql.params).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub(crate) async fn fetch_optional_sql<T: AnyRow>(&self, sql: Sql) -> crate::Result<Option<T>> {
        let row = crate::backend::on_pool!(self, pool => {
            let query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(statement_for(pool, sql.text)));
            bind_params!(query, sql.params).fetch_optional(pool).await?
        });
        Ok(row)
    }

    pub(crate) async fn fetch_page<T: AnyRow>(
        &self,
        mut sql: Sql,
        plan: &crate::page::PagePlan,
        alias: &str,
    ) -> crate::Result<Vec<T>> {
        plan.push_after(&mut sql, alias);
        plan.push_order_limit(&mut sql, alias);
        self.fetch_all_sql(sql).await
    }
}

impl crate::Tx {
    pub(crate) async fn fetch_all_sql<T: AnyRow>(&mut self, sql: Sql) -> crate::Result<Vec<T>> {
        let rows = crate::backend::on_tx!(self, conn => {
            let query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(statement_for(&*conn, sql.text)));
            bind_params!(query, sql.params).fetch_all(conn).await?
        });
        Ok(rows)
    }

    pub(crate) async fn fetch_optional_sql<T: AnyRow>(&mut self, sql: Sql) -> crate::Result<Option<T>> {
        let row = crate::backend::on_tx!(self, conn => {
            let query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(statement_for(&*conn, sql.text)));
            bind_params!(query, sql.params).fetch_optional(conn).await?
        });
        Ok(row)
    }

    pub(crate) async fn execute_sql(&mut self, sql: Sql) -> crate::Result<u64> {
        let done = crate::backend::on_tx!(self, conn => {
            let query = sqlx::query(sqlx::AssertSqlSafe(statement_for(&*conn, sql.text)));
            bind_params!(query, sql.params).execute(conn).await?.rows_affected()
        });
        Ok(done)
    }
}

/// A column value to write: `None` writes NULL.
pub(crate) type Value = Option<Param>;

/// A row to write: its columns, each with its value.
pub(crate) type Row<'a> = Vec<(&'a str, Value)>;

impl crate::Tx {
    /// Inserts one row. Synced tables get their version and change record from
    /// the capture triggers.
    pub(crate) async fn insert_row(&mut self, table: &str, values: Vec<(&str, Value)>) -> crate::Result<()> {
        self.insert_rows(table, vec![values]).await
    }

    /// Inserts many rows with the same columns, several per statement (the
    /// capture triggers still record one change per row).
    pub(crate) async fn insert_rows(&mut self, table: &str, rows: Vec<Row<'_>>) -> crate::Result<()> {
        self.execute_in_turn(insert_statements(table, rows.into_iter().map(Ok))).await?;
        Ok(())
    }

    /// Runs `statements` in order and stops at the first error. Each one is
    /// built (its rows, its text, its values bound) while the database runs
    /// the one before it: in a bulk write, building a statement takes about
    /// a third as long as running it, and the database would wait for it.
    pub(crate) async fn execute_in_turn(
        &mut self,
        mut statements: impl Iterator<Item = crate::Result<Sql>>,
    ) -> crate::Result<u64> {
        let rows = crate::backend::on_tx!(self, conn => {
            let text = dialect_of(&*conn);
            let build = |sql: crate::Result<Sql>| {
                sql.map(|sql| bind_params!(sqlx::query(sqlx::AssertSqlSafe(text(sql.text))), sql.params))
            };
            let mut rows = 0;
            let mut next = statements.next().map(build);
            while let Some(query) = next {
                // The first poll hands the statement to the database; the
                // next one is built while it runs.
                let (result, following) =
                    tokio::join!(query?.execute(&mut *conn), async { statements.next().map(build) });
                rows += result?.rows_affected();
                next = following;
            }
            rows
        });
        Ok(rows)
    }

    /// Inserts new rows of a synced table and records one change for each,
    /// exactly as the capture triggers would (a new version from the node's
    /// sequence, an `insert` entry in the log, its author), in the same
    /// transaction, but in bulk: the versions are reserved at once and the
    /// entries written many per statement, with capture off for the rows.
    /// Per row, the trigger's own update of the row's version was the
    /// largest part of an import's writing. For a transaction that captures
    /// locally (the default), such as an import's.
    ///
    /// `rows` are the rows of `ids`, in that order, each with its `id`
    /// column. A row is made only when it is sent, while the database
    /// writes the ones before: a row that cannot be made stops the writing
    /// with its error. SQLite gets multi-row statements
    /// ([`Tx::execute_in_turn`]); PostgreSQL one `COPY` for the rows and one
    /// for their entries, which reads them as they come.
    pub(crate) async fn insert_rows_recorded<'r>(
        &mut self,
        table: &str,
        ids: Vec<Uuid>,
        rows: impl ExactSizeIterator<Item = crate::Result<Row<'r>>>,
    ) -> crate::Result<()> {
        // Rows and ids are paired in order; a row without its id would be
        // written without a log entry, or an entry logged for no row.
        if rows.len() != ids.len() {
            let message = format!("{} rows for {} ids in {table}", rows.len(), ids.len());
            return Err(crate::DbError::Invalid { field: None, message });
        }
        if ids.is_empty() {
            return Ok(());
        }
        let versions = self.reserve_versions(ids.len()).await?;
        // Time-ordered ids (UUIDv7: the time in milliseconds, then 74 random
        // bits): the entries of a batch go side by side at the end of the
        // unique index on `change_id`, not into random pages all over it
        // (a third of the change log's share of a first import). One call
        // for every id's random bits, not one each.
        let millis = u64::try_from(crate::now().timestamp_millis()).unwrap_or(0);
        let mut random = vec![0u8; 10 * ids.len()];
        getrandom::fill(&mut random).map_err(|e| sqlx::Error::Io(std::io::Error::other(e.to_string())))?;
        let rows = rows.zip(versions.clone()).map(|(row, version)| {
            row.map(|mut row| {
                row.push(("version", Some(Param::Int(version))));
                row
            })
        });
        let table_name = table.to_owned();
        let entries = ids.into_iter().zip(versions).zip(random.chunks_exact(10).map(|bytes| {
            uuid::Builder::from_unix_timestamp_millis(millis, bytes.try_into().expect("10 bytes")).into_uuid()
        }));
        let entries = entries.map(move |((id, version), change_id)| {
            Ok(vec![
                ("change_id", Some(Param::Uuid(change_id))),
                ("table_name", Some(Param::Text(table_name.clone()))),
                ("row_id", Some(Param::Uuid(id))),
                ("op", Some(Param::Text("insert".to_owned()))),
                ("version", Some(Param::Int(version))),
            ])
        });
        self.set_capture(crate::Capture::Off).await?;
        if let crate::backend::TxInner::Postgres(tx) = self.inner_mut() {
            crate::postgres::copy_rows(tx, table, rows).await?;
            crate::postgres::copy_rows(tx, "sync_changes", entries).await?;
        } else {
            // The rows and then their log entries, as one run of statements.
            let statements = insert_statements(table, rows).chain(insert_statements("sync_changes", entries));
            self.execute_in_turn(statements).await?;
        }
        self.set_capture(crate::Capture::Local).await
    }

    /// Updates the row `id` (and its `updated_at`); `NotFound` if there is none.
    pub(crate) async fn update_row(
        &mut self,
        table: &str,
        id: uuid::Uuid,
        values: Vec<(&str, Value)>,
    ) -> crate::Result<()> {
        let mut sql = Sql::new(&format!("UPDATE {table} SET "));
        for (column, value) in values {
            sql.push(column).push(" = ");
            push_value(&mut sql, value);
            sql.push(", ");
        }
        sql.push("updated_at = ");
        sql.bind(Param::Time(crate::now()));
        sql.push(" WHERE id = ");
        sql.bind(Param::Uuid(id));
        match self.execute_sql(sql).await? {
            0 => Err(crate::DbError::NotFound),
            _ => Ok(()),
        }
    }

    /// Deletes the row `id`; `NotFound` if there is none.
    pub(crate) async fn delete_row(&mut self, table: &str, id: uuid::Uuid) -> crate::Result<()> {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE id = "));
        sql.bind(Param::Uuid(id));
        match self.execute_sql(sql).await? {
            0 => Err(crate::DbError::NotFound),
            _ => Ok(()),
        }
    }

    /// Reads back a row this transaction wrote (RETURNING would not show the
    /// version that SQLite's AFTER triggers assign).
    pub(crate) async fn reload<T: AnyRow>(
        &mut self,
        table: &str,
        columns: &str,
        id: uuid::Uuid,
    ) -> crate::Result<T> {
        let mut sql = Sql::new(&format!("SELECT {columns} FROM {table} WHERE id = "));
        sql.bind(Param::Uuid(id));
        self.fetch_optional_sql(sql).await?.ok_or(crate::DbError::NotFound)
    }
}

impl crate::Db {
    /// Reads the row `id` of `table`, if any.
    pub(crate) async fn get_row<T: AnyRow>(
        &self,
        table: &str,
        columns: &str,
        id: uuid::Uuid,
    ) -> crate::Result<Option<T>> {
        let mut sql = Sql::new(&format!("SELECT {columns} FROM {table} WHERE id = "));
        sql.bind(Param::Uuid(id));
        self.fetch_optional_sql(sql).await
    }
}

/// Multi-row `INSERT` statements for `rows` (all with the same columns),
/// each built only when asked for; the first row that cannot be made ends
/// them with its error. The first statements are small, so that the
/// database starts at once: each after doubles, up to as many rows as
/// [`MAX_PARAMS`] allows.
fn insert_statements<'a, R>(table: &str, rows: R) -> InsertStatements<R::IntoIter>
where
    R: IntoIterator<Item = crate::Result<Row<'a>>>,
{
    InsertStatements { table: table.to_owned(), rows: rows.into_iter(), next_rows: 32, failed: false }
}

/// See [`insert_statements`]. A type of its own, not a closure: a closure
/// over rows that borrow their column names makes the futures that hold it
/// fail to prove `Send`.
struct InsertStatements<I> {
    table: String,
    rows: I,
    next_rows: usize,
    failed: bool,
}

impl<'a, I: Iterator<Item = crate::Result<Row<'a>>>> Iterator for InsertStatements<I> {
    type Item = crate::Result<Sql>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let first = match self.rows.next()? {
            Ok(row) => row,
            Err(e) => return self.fail(e),
        };
        let names: Vec<&str> = first.iter().map(|(name, _)| *name).collect();
        let limit = self.next_rows.min((MAX_PARAMS / names.len().max(1)).max(1));
        self.next_rows = limit * 2;
        let mut sql = Sql::new(&format!("INSERT INTO {} ({}) VALUES ", self.table, names.join(", ")));
        push_row(&mut sql, first, true);
        for _ in 1..limit {
            match self.rows.next() {
                None => break,
                Some(Ok(row)) => {
                    debug_assert_eq!(row.iter().map(|(n, _)| *n).collect::<Vec<_>>(), names);
                    push_row(&mut sql, row, false);
                }
                Some(Err(e)) => return self.fail(e),
            }
        }
        Some(Ok(sql))
    }
}

impl<I> InsertStatements<I> {
    fn fail(&mut self, e: crate::DbError) -> Option<crate::Result<Sql>> {
        self.failed = true;
        Some(Err(e))
    }
}

fn push_row(sql: &mut Sql, row: Row<'_>, first: bool) {
    sql.push(if first { "(" } else { ", (" });
    for (i, (_, value)) in row.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        push_value(sql, value);
    }
    sql.push(")");
}

/// How `conn`'s backend wants a statement's text, without holding `conn`.
fn dialect_of<C: Dialect>(_: &C) -> fn(String) -> String {
    C::statement
}

pub(crate) fn push_value(sql: &mut Sql, value: Value) {
    match value {
        Some(param) => {
            sql.bind(param);
        }
        None => {
            sql.push("NULL");
        }
    }
}
