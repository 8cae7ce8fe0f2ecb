//! Reading the change log (`sync_changes`) in log order.
//!
//! The capture triggers write the log; this module only reads it. A reader
//! that remembers the position of the last change it saw and asks for the
//! changes after it never skips a committed change (see [`LogPosition`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::backend::PoolRef;
use crate::error::{DbError, Result};
pub use crate::position::LogPosition;
use crate::sql::{MAX_PARAMS, Param, Sql};
use crate::{Backend, Db};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
}

impl ChangeOp {
    fn parse(s: &str) -> Result<ChangeOp> {
        match s {
            "insert" => Ok(ChangeOp::Insert),
            "update" => Ok(ChangeOp::Update),
            "delete" => Ok(ChangeOp::Delete),
            other => Err(DbError::invalid("op", format!("unknown change op {other:?}"))),
        }
    }
}

/// One recorded change to one row of a synced table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRecord {
    pub position: LogPosition,
    pub change_id: Uuid,
    pub table_name: String,
    pub row_id: Uuid,
    pub op: ChangeOp,
    /// The row's version before the change (none for inserts).
    pub base_version: Option<i64>,
    /// The row's version after the change (for deletes, the tombstone's).
    pub version: i64,
    /// The node the change came from; `None` for a change made here.
    pub origin: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// The user whose request made the change; `None` for the node itself
    /// (imports, the command line).
    pub author: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChangeRow {
    id: i64,
    xid: i64,
    change_id: Uuid,
    table_name: String,
    row_id: Uuid,
    op: String,
    base_version: Option<i64>,
    version: i64,
    origin: Option<String>,
    changed_at: DateTime<Utc>,
    author: Option<String>,
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = DbError;
    fn try_from(row: ChangeRow) -> Result<ChangeRecord> {
        Ok(ChangeRecord {
            position: LogPosition { xid: row.xid, id: row.id },
            change_id: row.change_id,
            table_name: row.table_name,
            row_id: row.row_id,
            op: ChangeOp::parse(&row.op)?,
            base_version: row.base_version,
            version: row.version,
            origin: row.origin,
            changed_at: row.changed_at,
            author: row.author.and_then(|a| a.parse().ok()),
        })
    }
}

impl Db {
    /// Up to `limit` committed changes after `after`, in log order.
    pub async fn changes_after(&self, after: LogPosition, limit: i64) -> Result<Vec<ChangeRecord>> {
        let rows: Vec<ChangeRow> = match self.pool_ref() {
            PoolRef::Sqlite(pool) => crate::sqlite::changes_after(pool, after, limit).await?,
            PoolRef::Postgres(pool) => crate::postgres::changes_after(pool, after, limit).await?,
        };
        rows.into_iter().map(ChangeRecord::try_from).collect()
    }

    /// The newest settled position in the log (see [`LogPosition`]).
    pub async fn log_head(&self) -> Result<LogPosition> {
        match self.pool_ref() {
            PoolRef::Sqlite(pool) => crate::sqlite::log_head(pool).await,
            PoolRef::Postgres(pool) => crate::postgres::log_head(pool).await,
        }
    }

    /// The furthest position written in the log, settled or not. The head
    /// never passes it; on PostgreSQL the head can dip below a position it
    /// reached a moment before (a transaction of another database on the
    /// server ending while it is worked out), the peak cannot.
    pub async fn log_peak(&self) -> Result<LogPosition> {
        match self.pool_ref() {
            // One writer at a time: every entry is settled once written.
            PoolRef::Sqlite(pool) => crate::sqlite::log_head(pool).await,
            PoolRef::Postgres(pool) => crate::postgres::log_peak(pool).await,
        }
    }

    /// How many changes lie after `after` (a reader's lag).
    pub async fn changes_count_after(&self, after: LogPosition) -> Result<i64> {
        match self.pool_ref() {
            PoolRef::Sqlite(pool) => crate::sqlite::count_after(pool, after).await,
            PoolRef::Postgres(pool) => crate::postgres::count_after(pool, after).await,
        }
    }

    /// How many changes the log holds.
    pub async fn change_count(&self) -> Result<i64> {
        let count = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sync_changes").fetch_one(pool).await?
        });
        Ok(count)
    }
}

impl crate::Tx {
    /// As [`Db::changes_after`], inside this transaction's snapshot.
    pub(crate) async fn changes_after(
        &mut self,
        after: LogPosition,
        limit: i64,
    ) -> Result<Vec<ChangeRecord>> {
        let rows: Vec<ChangeRow> = match self.inner_mut() {
            crate::backend::TxInner::Sqlite(t) => {
                crate::sqlite::changes_after(&mut **t, after, limit).await?
            }
            crate::backend::TxInner::Postgres(t) => {
                crate::postgres::changes_after(&mut **t, after, limit).await?
            }
        };
        rows.into_iter().map(ChangeRecord::try_from).collect()
    }
}

impl crate::Tx {
    /// Of the rows `ids` of `table`, those a reader at `upto` already has:
    /// every log entry for them lies at or before `upto`. A row with no
    /// entry at all (it predates the log) is not among them.
    pub(crate) async fn rows_settled_by(
        &mut self,
        table: &str,
        ids: &[Uuid],
        upto: LogPosition,
    ) -> Result<HashSet<Uuid>> {
        let mut settled = HashSet::new();
        for chunk in ids.chunks(MAX_PARAMS - 3) {
            let mut sql = Sql::new("SELECT row_id FROM sync_changes WHERE table_name = ");
            sql.bind(Param::Text(table.to_owned()));
            sql.push(" AND row_id IN ").bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            match self.backend() {
                Backend::Sqlite => crate::sqlite::push_settled_by(&mut sql, upto),
                Backend::Postgres => crate::postgres::push_settled_by(&mut sql, upto),
            }
            let rows: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
            settled.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(settled)
    }
}
