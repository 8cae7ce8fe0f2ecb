//! The synced tables as data: their columns and how a row travels between
//! nodes (a JSON object of column values; the version travels beside it).
//!
//! Sync is state-based: a change sends the row as it is, so one generic
//! reader and writer over these descriptions serve every table. A test
//! compares them with the live schema of both databases.

use serde_json::{Map, Value as Json};
use sqlx::Row as _;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::sql::{Param, Sql, Value, push_value};

/// A column's type, the same on both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Uuid,
    Text,
    Int,
    Bool,
    Time,
}

#[derive(Debug)]
pub(crate) struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// The table this column refers to, for foreign keys.
    pub references: Option<&'static str>,
    /// A secret (a password hash): it travels to slaves, which need it to
    /// log their users in while the master is away, but no log or page
    /// ever shows it.
    pub secret: bool,
}

/// A row to write: its id, the master's version and its columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredRef<'a> {
    pub id: Uuid,
    pub version: i64,
    pub image: &'a RowImage,
    /// The image's column values, if read already ([`SyncTable::column_values`]).
    pub values: Option<&'a [Value]>,
}

/// Appends `rows` to an `INSERT … VALUES ` as tuples of their columns and version.
fn push_rows(sql: &mut Sql, table: &SyncTable, rows: &[StoredRef<'_>]) -> Result<()> {
    for (r, row) in rows.iter().enumerate() {
        sql.push(if r == 0 { "(" } else { ", (" });
        let values = match row.values {
            Some(values) => values.to_vec(),
            None => table.column_values(row.id, row.image)?,
        };
        for value in values {
            push_value(sql, value);
            sql.push(", ");
        }
        sql.bind(Param::Int(row.version));
        sql.push(")");
    }
    Ok(())
}

/// From how many rows a page of a master's rows is written column by column
/// where it differs (on SQLite; see `Tx::store_what_differs`): below it,
/// the statements it takes cost more than they save.
const SET_WHAT_DIFFERS_FROM: usize = 50;

/// Groups of indexed columns that one row's bit mask can tell apart (see
/// `Tx::store_what_differs`); a table with more is upserted whole.
const MAX_GROUPS: usize = 63;

/// A synced table: `id` first, `version` not listed (it travels beside the row).
#[derive(Debug)]
pub(crate) struct SyncTable {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The unique natural key two nodes can both create (merged by sync).
    pub natural_key: Option<&'static str>,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, nullable: false, references: None, secret: false }
}
const fn opt(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, nullable: true, references: None, secret: false }
}
const fn fk(name: &'static str, table: &'static str, nullable: bool) -> Column {
    Column { name, kind: Kind::Uuid, nullable, references: Some(table), secret: false }
}
const fn secret(name: &'static str) -> Column {
    Column { name, kind: Text, nullable: false, references: None, secret: true }
}

use Kind::{Bool, Int, Text, Time};

const ID: Column = col("id", Kind::Uuid);
const CREATED: Column = col("created_at", Time);
const UPDATED: Column = col("updated_at", Time);

/// Parents before children, as [`crate::SYNCED_TABLES`].
pub(crate) const TABLES: &[SyncTable] = &[
    SyncTable {
        name: "users",
        columns: &[
            ID,
            col("email", Text),
            col("name", Text),
            col("role", Text),
            secret("password_hash"),
            CREATED,
            UPDATED,
        ],
        natural_key: Some("email"),
    },
    SyncTable {
        name: "artists",
        columns: &[ID, col("name", Text), col("name_key", Text), opt("biography", Text), CREATED, UPDATED],
        natural_key: Some("name_key"),
    },
    SyncTable {
        name: "genres",
        columns: &[ID, col("name", Text), col("name_key", Text), CREATED, UPDATED],
        natural_key: Some("name_key"),
    },
    SyncTable {
        name: "albums",
        columns: &[
            ID,
            col("title", Text),
            col("title_key", Text),
            fk("artist_id", "artists", true),
            opt("year", Int),
            col("natural_key", Text),
            CREATED,
            UPDATED,
        ],
        natural_key: Some("natural_key"),
    },
    SyncTable {
        name: "songs",
        columns: &[
            ID,
            col("title", Text),
            col("title_key", Text),
            fk("artist_id", "artists", true),
            fk("album_id", "albums", true),
            fk("genre_id", "genres", true),
            opt("track_number", Int),
            opt("disc_number", Int),
            opt("year", Int),
            opt("duration_ms", Int),
            opt("format", Text),
            opt("file_size", Int),
            opt("bitrate", Int),
            opt("sample_rate", Int),
            opt("channels", Int),
            opt("content_hash", Text),
            CREATED,
            UPDATED,
        ],
        natural_key: None,
    },
    SyncTable {
        name: "playlists",
        columns: &[
            ID,
            fk("owner_id", "users", false),
            col("name", Text),
            opt("description", Text),
            col("is_public", Bool),
            CREATED,
            UPDATED,
        ],
        natural_key: None,
    },
    SyncTable {
        name: "playlist_entries",
        columns: &[
            ID,
            fk("playlist_id", "playlists", false),
            fk("song_id", "songs", false),
            CREATED,
            UPDATED,
            col("sort_key", Text),
        ],
        natural_key: None,
    },
    SyncTable {
        name: "listening_data",
        columns: &[
            ID,
            fk("user_id", "users", false),
            fk("song_id", "songs", false),
            col("favourite", Bool),
            opt("rating", Int),
            CREATED,
            UPDATED,
        ],
        natural_key: None,
    },
    SyncTable {
        name: "favourites",
        columns: &[
            ID,
            fk("user_id", "users", false),
            fk("album_id", "albums", true),
            fk("artist_id", "artists", true),
            CREATED,
            UPDATED,
        ],
        natural_key: None,
    },
    SyncTable {
        name: "plays",
        columns: &[ID, fk("user_id", "users", false), fk("song_id", "songs", false), col("played_at", Time)],
        natural_key: None,
    },
    SyncTable {
        name: "shared_settings",
        columns: &[ID, col("key", Text), col("value", Text), CREATED, UPDATED],
        natural_key: Some("key"),
    },
];

/// A row's column values as they travel: `{column: value}`, without `version`.
pub type RowImage = Map<String, Json>;

pub(crate) fn table(name: &str) -> Result<&'static SyncTable> {
    TABLES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| DbError::invalid("table", format!("table: {name:?} is not a synced table")))
}

/// The position of a table in parent-before-child order.
pub(crate) fn rank(name: &str) -> usize {
    TABLES.iter().position(|t| t.name == name).unwrap_or(usize::MAX)
}

impl SyncTable {
    pub(crate) fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!("{}, version", names.join(", "))
    }

    /// The tables and columns that refer to this table.
    pub(crate) fn children(&self) -> impl Iterator<Item = (&'static SyncTable, &'static Column)> + '_ {
        TABLES.iter().flat_map(move |t| {
            t.columns.iter().filter(move |c| c.references == Some(self.name)).map(move |c| (t, c))
        })
    }

    /// Checks an incoming row image and turns it into values to bind, in
    /// column order. Every column must be present with the right type; the
    /// `id` must be the row's.
    pub(crate) fn values(&self, id: Uuid, row: &RowImage) -> Result<Vec<(&'static str, Value)>> {
        let mut values = Vec::with_capacity(self.columns.len());
        let mut known = 0;
        for column in self.columns {
            let json = match row.get(column.name) {
                Some(json) => {
                    known += 1;
                    json
                }
                None => &Json::Null,
            };
            let value = to_param(column, json)?;
            if column.name == "id" && value != Some(Param::Uuid(id)) {
                return Err(DbError::invalid("id", format!("id: the row's id is not {id}")));
            }
            values.push((column.name, value));
        }
        // Every key is a column when as many keys as columns were found:
        // searching every key among the columns (up to 400 comparisons a
        // song) is left for a row that has an unknown one.
        if known != row.len()
            && let Some(unknown) = row.keys().find(|k| !self.columns.iter().any(|c| c.name == k.as_str()))
        {
            return Err(DbError::invalid(
                unknown.clone(),
                format!("{unknown}: not a column of {}", self.name),
            ));
        }
        Ok(values)
    }

    /// [`Self::values`] without the column names, in the table's column order.
    pub(crate) fn column_values(&self, id: Uuid, row: &RowImage) -> Result<Vec<Value>> {
        Ok(self.values(id, row)?.into_iter().map(|(_, value)| value).collect())
    }
}

fn to_param(column: &Column, json: &Json) -> Result<Value> {
    let wrong = |what: &str| DbError::invalid(column.name, format!("{}: expected {what}", column.name));
    if json.is_null() {
        return if column.nullable { Ok(None) } else { Err(wrong("a value, not null")) };
    }
    let param = match column.kind {
        Kind::Uuid => Param::Uuid(json.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| wrong("a UUID"))?),
        Kind::Text => {
            let text = json.as_str().ok_or_else(|| wrong("a string"))?;
            Param::Text(crate::library::storable(column.name, text)?.to_owned())
        }
        Kind::Int => Param::Int(json.as_i64().ok_or_else(|| wrong("an integer"))?),
        Kind::Bool => Param::Bool(json.as_bool().ok_or_else(|| wrong("true or false"))?),
        Kind::Time => Param::Time(
            json.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| wrong("an RFC 3339 time"))?
                .with_timezone(&chrono::Utc),
        ),
    };
    Ok(Some(param))
}

/// A row image as the conflict log keeps it: JSON without the secret
/// columns.
pub(crate) fn shown(table: &str, image: &RowImage) -> String {
    let mut image = image.clone();
    if let Ok(table) = self::table(table) {
        for column in table.columns.iter().filter(|c| c.secret) {
            image.remove(column.name);
        }
    }
    Json::Object(image).to_string()
}

/// A checked value as it travels in a row image.
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        None => Json::Null,
        Some(Param::Uuid(id)) => Json::String(id.to_string()),
        Some(Param::Int(n)) => Json::from(*n),
        Some(Param::Text(text)) => Json::String(text.clone()),
        Some(Param::Bool(b)) => Json::Bool(*b),
        Some(Param::Time(t)) => Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        Some(Param::Bytes(bytes)) => Json::String(hex::encode(bytes)),
    }
}

/// A row read from the database: its image and version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredRow {
    pub id: Uuid,
    pub version: i64,
    pub image: RowImage,
}

/// Decodes one column of a database row into JSON.
macro_rules! decode_column {
    ($row:expr, $column:expr) => {{
        let name = $column.name;
        let value: Json = match $column.kind {
            Kind::Uuid => $row.try_get::<Option<Uuid>, _>(name)?.map(|v| Json::String(v.to_string())).into(),
            Kind::Text => $row.try_get::<Option<String>, _>(name)?.into(),
            Kind::Int => $row.try_get::<Option<i64>, _>(name)?.into(),
            Kind::Bool => $row.try_get::<Option<bool>, _>(name)?.into(),
            Kind::Time => $row
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(name)?
                .map(|t| Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
                .into(),
        };
        value
    }};
}

impl crate::Tx {
    /// The rows of `table` with these ids (those that exist), in no order.
    pub(crate) async fn sync_rows(&mut self, table: &SyncTable, ids: &[Uuid]) -> Result<Vec<StoredRow>> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(crate::sql::MAX_PARAMS) {
            let mut sql =
                Sql::new(&format!("SELECT {} FROM {} WHERE id IN ", table.column_list(), table.name));
            sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            rows.extend(self.sync_rows_sql(table, sql).await?);
        }
        Ok(rows)
    }

    /// Rows of `table` by the SQL given (which selects `column_list()`).
    pub(crate) async fn sync_rows_sql(&mut self, table: &SyncTable, sql: Sql) -> Result<Vec<StoredRow>> {
        let rows = crate::backend::on_tx!(self, conn => {
            let query = sqlx::query(sqlx::AssertSqlSafe(sql.text.clone()));
            let raw = crate::sql::bind_params!(query, sql.params.clone()).fetch_all(conn).await?;
            let mut rows = Vec::with_capacity(raw.len());
            for row in &raw {
                let mut image = RowImage::new();
                for column in table.columns {
                    image.insert(column.name.to_owned(), decode_column!(row, column));
                }
                rows.push(StoredRow {
                    id: row.try_get("id")?,
                    version: row.try_get("version")?,
                    image,
                });
            }
            rows
        });
        Ok(rows)
    }

    /// One row of `table`, if it exists.
    pub(crate) async fn sync_row(&mut self, table: &SyncTable, id: Uuid) -> Result<Option<StoredRow>> {
        Ok(self.sync_rows(table, &[id]).await?.pop())
    }

    /// Writes a row as the master sent it, version included (capture must be
    /// off). An existing row is only overwritten by a newer version, unless
    /// `force` (the master's answer to a push, over a local version).
    pub(crate) async fn store_row(
        &mut self,
        table: &SyncTable,
        id: Uuid,
        version: i64,
        image: &RowImage,
        force: bool,
    ) -> Result<()> {
        self.store_rows(table, &[StoredRef { id, version, image, values: None }], force).await
    }

    /// [`Self::store_row`] for many rows of one table, several per statement
    /// (each statement is a round trip to the database, which costs more
    /// than the write itself). The ids must be distinct. On an error some
    /// statements may have run: callers wrap this in a savepoint.
    pub(crate) async fn store_rows(
        &mut self,
        table: &SyncTable,
        rows: &[StoredRef<'_>],
        force: bool,
    ) -> Result<()> {
        if !force
            && rows.len() >= SET_WHAT_DIFFERS_FROM
            && let Some(groups) = self.indexed_groups(table).await?
            && groups.len() < MAX_GROUPS
        {
            return self.store_what_differs(table, rows, &groups).await;
        }
        let per_row = table.columns.len() + 1;
        for chunk in rows.chunks((crate::sql::MAX_PARAMS / per_row).max(1)) {
            let mut sql = Sql::new(&format!("INSERT INTO {} ({}) VALUES ", table.name, table.column_list()));
            push_rows(&mut sql, table, chunk)?;
            sql.push(" ON CONFLICT (id) DO UPDATE SET ");
            for column in table.columns.iter().skip(1) {
                sql.push(&format!("{0} = excluded.{0}, ", column.name));
            }
            sql.push("version = excluded.version");
            if !force {
                sql.push(&format!(" WHERE {}.version < excluded.version", table.name));
            }
            self.execute_sql(sql).await?;
        }
        Ok(())
    }

    /// On SQLite, the columns of `table` that indexes hold, in groups that
    /// share no index (the columns of one index, or of indexes sharing a
    /// column, are one group; `id` never changes and is left out); `None`
    /// on PostgreSQL, whose updates leave an index alone when its columns
    /// keep their values.
    async fn indexed_groups(&mut self, table: &SyncTable) -> Result<Option<Vec<Vec<String>>>> {
        let indexes = match self.inner_mut() {
            crate::backend::TxInner::Sqlite(t) => crate::sqlite::index_columns(t, table.name).await?,
            crate::backend::TxInner::Postgres(_) => return Ok(None),
        };
        let mut groups: Vec<Vec<String>> = Vec::new();
        for index in indexes {
            let mut merged: Vec<String> = index.into_iter().filter(|c| c != "id").collect();
            groups.retain(|group| {
                let shares = group.iter().any(|c| merged.contains(c));
                if shares {
                    let more: Vec<String> = group.iter().filter(|c| !merged.contains(c)).cloned().collect();
                    merged.extend(more);
                }
                !shares
            });
            if !merged.is_empty() {
                groups.push(merged);
            }
        }
        Ok(Some(groups))
    }

    /// [`Self::store_rows`] for a page of a master's rows on SQLite, which
    /// rewrites the entries of every index whose columns a statement sets,
    /// changed or not: a master's edit usually changes a column or two, and
    /// an upsert setting all of them cost three to four times as much
    /// (PERFORMANCE.md). The rows go into a temporary table, where one pass
    /// over the table notes each row's place in it (its `rowid`), whether it
    /// is older there, and which groups of indexed columns differ; new rows
    /// are inserted; then each group is set only in the rows where it
    /// differs, and the other columns and the version last, always under the
    /// same rule as the upsert: only over an older version. Each row is
    /// found by its id once; the updates after find it by `rowid`.
    async fn store_what_differs(
        &mut self,
        table: &SyncTable,
        rows: &[StoredRef<'_>],
        groups: &[Vec<String>],
    ) -> Result<()> {
        let (name, columns) = (table.name, table.column_list());
        let staged = format!("temp.staged_{name}");
        // `place`: the row's rowid here (none: a new row); `newer`: whether
        // it replaces an older version; `differs`: bit k for group k.
        self.execute_sql(Sql::new(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS staged_{name} AS \
             SELECT {columns}, NULL AS place, 0 AS newer, 0 AS differs FROM main.{name} WHERE false"
        )))
        .await?;
        self.execute_sql(Sql::new(&format!("DELETE FROM {staged}"))).await?;
        let per_row = table.columns.len() + 1;
        for chunk in rows.chunks((crate::sql::MAX_PARAMS / per_row).max(1)) {
            let mut sql = Sql::new(&format!("INSERT INTO {staged} ({columns}) VALUES "));
            push_rows(&mut sql, table, chunk)?;
            self.execute_sql(sql).await?;
        }
        let differs: Vec<String> = groups
            .iter()
            .enumerate()
            .map(|(k, group)| {
                let any: Vec<String> = group.iter().map(|c| format!("here.{c} IS NOT i.{c}")).collect();
                format!("(({}) << {k})", any.join(" OR "))
            })
            .collect();
        let differs = if differs.is_empty() { "0".to_owned() } else { differs.join(" | ") };
        self.execute_sql(Sql::new(&format!(
            "UPDATE {staged} AS i SET place = here.rowid, newer = here.version < i.version, differs = {differs} \
             FROM main.{name} AS here WHERE here.id = i.id"
        )))
        .await?;
        self.execute_sql(Sql::new(&format!(
            "INSERT INTO {name} ({columns}) SELECT {columns} FROM {staged} WHERE place IS NULL"
        )))
        .await?;
        let newer = format!("FROM {staged} AS i WHERE i.newer AND {name}.rowid = i.place");
        for (k, group) in groups.iter().enumerate() {
            let set: Vec<String> = group.iter().map(|c| format!("{c} = i.{c}")).collect();
            self.execute_sql(Sql::new(&format!(
                "UPDATE {name} SET {} {newer} AND i.differs & {}",
                set.join(", "),
                1_i64 << k
            )))
            .await?;
        }
        let indexed = |c: &&Column| groups.iter().any(|g| g.iter().any(|i| i == c.name));
        let rest: Vec<&Column> = table.columns.iter().skip(1).filter(|c| !indexed(c)).collect();
        let mut set: Vec<String> = rest.iter().map(|c| format!("{0} = i.{0}", c.name)).collect();
        set.push("version = i.version".to_owned());
        self.execute_sql(Sql::new(&format!("UPDATE {name} SET {} {newer}", set.join(", ")))).await?;
        self.execute_sql(Sql::new(&format!("DELETE FROM {staged}"))).await?;
        Ok(())
    }

    /// Writes a row unless one with its id is here already. A row here with
    /// the same natural key keeps it (a merge answered in the same push
    /// settles the two). Returns whether the row was written.
    pub(crate) async fn store_row_if_absent(
        &mut self,
        table: &SyncTable,
        id: Uuid,
        version: i64,
        image: &RowImage,
    ) -> Result<bool> {
        let mut sql = Sql::new(&format!("INSERT INTO {} ({}) VALUES (", table.name, table.column_list()));
        for (_, value) in table.values(id, image)? {
            push_value(&mut sql, value);
            sql.push(", ");
        }
        sql.bind(Param::Int(version));
        sql.push(") ON CONFLICT (id) DO NOTHING");
        self.savepoint("SAVEPOINT").await?;
        match self.execute_sql(sql).await {
            Ok(written) => {
                self.savepoint("RELEASE SAVEPOINT").await?;
                Ok(written > 0)
            }
            Err(DbError::Duplicate(_)) => {
                self.savepoint("ROLLBACK TO SAVEPOINT").await?;
                self.savepoint("RELEASE SAVEPOINT").await?;
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    /// Deletes a row if its version is not newer than `version` (capture off).
    pub(crate) async fn remove_row(&mut self, table: &SyncTable, id: Uuid, version: i64) -> Result<()> {
        self.remove_rows(table, &[(id, version)]).await
    }

    /// [`Self::remove_row`] for many `(id, version)` pairs of one table.
    pub(crate) async fn remove_rows(&mut self, table: &SyncTable, rows: &[(Uuid, i64)]) -> Result<()> {
        for chunk in rows.chunks(crate::sql::MAX_PARAMS / 2) {
            let mut sql = Sql::new(&format!("DELETE FROM {} WHERE ", table.name));
            for (r, (id, version)) in chunk.iter().enumerate() {
                sql.push(if r == 0 { "(id = " } else { " OR (id = " });
                sql.bind(Param::Uuid(*id));
                sql.push(" AND version <= ");
                sql.bind(Param::Int(*version));
                sql.push(")");
            }
            self.execute_sql(sql).await?;
        }
        Ok(())
    }

    /// Runs `SAVEPOINT`, `RELEASE` or `ROLLBACK TO` (the same on both databases).
    pub(crate) async fn savepoint(&mut self, statement: &str) -> Result<()> {
        let sql = sqlx::AssertSqlSafe(format!("{statement} sync_change"));
        crate::backend::on_tx!(self, conn => { sqlx::query(sql).execute(conn).await?; });
        Ok(())
    }
}
