//! The slave's side: its outbox of local changes, taking the master's answer
//! to a push, and applying the master's pages with the cursor in the same
//! transaction. All writes here run with capture off: what the master sent
//! is never recorded as a new local change (no echo).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use super::tables::{self, RowImage, StoredRef, SyncTable};
use super::{PushAnswer, PushChange, PushOutcome, RowState};
use crate::backend::on_tx;
use crate::error::{DbError, Result};
use crate::sql::{Param, Sql, Value};
use crate::{Capture, Db, Tx};

/// Local changes to push, one per row (its present state), parents first,
/// deletes after, children first.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    pub changes: Vec<PushChange>,
    /// The log entries each pushed change stands for, by change id.
    entries: HashMap<Uuid, Vec<i64>>,
    /// Entries that need no push (a row created and deleted before any push).
    settled: Vec<i64>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.settled.is_empty()
    }

    /// How many log entries this outbox covers.
    pub fn entry_count(&self) -> usize {
        self.entries.values().map(Vec::len).sum::<usize>() + self.settled.len()
    }
}

/// What applying a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub written: u64,
    pub deleted: u64,
    /// Rows left alone because they have a local change not yet pushed (the
    /// push decides them) or could not be written (logged).
    pub skipped: u64,
}

/// A page of the master's rows, with each written row's columns already
/// read from its JSON image (parsed, checked, made ready to bind). Reading
/// them was the largest part of the engine task's work in a steady pull,
/// and the writer waited for it; a page made where it is fetched, while
/// the writer applies the page before it, leaves the writer the writing.
#[derive(Debug)]
pub struct MasterRows {
    rows: Vec<RowState>,
    /// Per row, its column values; `None` for a tombstone, a table this
    /// node does not have, or an image that does not read cleanly (read
    /// again at the write, which deals with its error).
    values: Vec<Option<Vec<Value>>>,
}

impl MasterRows {
    pub fn new(rows: Vec<RowState>) -> Self {
        let values = rows
            .iter()
            .map(|state| {
                let (Ok(table), Some(image)) = (tables::table(&state.table), &state.row) else { return None };
                table.column_values(state.id, image).ok()
            })
            .collect();
        Self { rows, values }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A row of the master's and its column values, if read ahead.
type Incoming<'a> = (&'a RowState, Option<&'a [Value]>);

/// One row's unpushed log entries.
struct RowEntries {
    base_version: Option<i64>,
    change_id: Uuid,
    author: Option<Uuid>,
    entries: Vec<i64>,
}

#[derive(sqlx::FromRow)]
struct PendingEntry {
    id: i64,
    change_id: Uuid,
    table_name: String,
    row_id: Uuid,
    base_version: Option<i64>,
    author: Option<String>,
}

/// Tables a slave never pushes: accounts are the master's alone, so a
/// slave's own accounts (a node that joined a master) stay behind and the
/// master's replace them at the bootstrap.
const NEVER_PUSHED: &[&str] = &["users"];

impl Db {
    /// Up to `limit` unpushed log entries, as one change per row.
    pub async fn sync_outbox(&self, limit: i64) -> Result<Outbox> {
        let mut tx = self.begin_read().await?;
        let mut sql = Sql::new(
            "SELECT id, change_id, table_name, row_id, base_version, author FROM sync_changes \
             WHERE pushed_at IS NULL ORDER BY id LIMIT ",
        );
        sql.bind(Param::Int(limit));
        let pending: Vec<PendingEntry> = tx.fetch_all_sql(sql).await?;
        let mut outbox = Outbox::default();
        // Per row: the first entry's base (the master version the local
        // edits started from), the last entry's change id and author.
        let mut rows: BTreeMap<(String, Uuid), RowEntries> = BTreeMap::new();
        for entry in pending {
            if NEVER_PUSHED.contains(&entry.table_name.as_str()) {
                outbox.settled.push(entry.id);
                continue;
            }
            let slot = rows.entry((entry.table_name, entry.row_id)).or_insert(RowEntries {
                base_version: entry.base_version,
                change_id: entry.change_id,
                author: None,
                entries: Vec::new(),
            });
            slot.change_id = entry.change_id;
            slot.author = entry.author.and_then(|a| a.parse().ok());
            slot.entries.push(entry.id);
        }
        let mut by_table: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for (table, id) in rows.keys() {
            by_table.entry(table.clone()).or_default().push(*id);
        }
        let mut present: HashMap<(String, Uuid), RowImage> = HashMap::new();
        for (name, ids) in &by_table {
            let Ok(table) = tables::table(name) else { continue };
            for row in tx.sync_rows(table, ids).await? {
                present.insert((name.clone(), row.id), row.image);
            }
        }
        tx.commit().await?;
        for ((table, id), RowEntries { base_version, change_id, author, entries }) in rows {
            let row = present.remove(&(table.clone(), id));
            if row.is_none() && base_version.is_none() {
                outbox.settled.extend(entries);
                continue;
            }
            outbox.entries.insert(change_id, entries);
            outbox.changes.push(PushChange { change_id, table, id, base_version, row, author });
        }
        outbox.changes.sort_by_key(|c| match c.row {
            Some(_) => (0, tables::rank(&c.table)),
            None => (1, usize::MAX - tables::rank(&c.table)),
        });
        Ok(outbox)
    }

    /// Marks every local change as settled without pushing it, for a slave
    /// whose key is read-only: it pulls and never pushes, so its own edits
    /// stay here until the master's state of those rows replaces them.
    /// Returns how many log entries were settled.
    pub async fn settle_unpushed(&self) -> Result<u64> {
        let mut tx = self.begin().await?;
        let settled = on_tx!(tx, conn => {
            sqlx::query("UPDATE sync_changes SET pushed_at = $1 WHERE pushed_at IS NULL")
                .bind(crate::now())
                .execute(conn)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(settled)
    }

    /// How many local changes wait to be pushed.
    pub async fn unpushed_count(&self) -> Result<i64> {
        let count = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sync_changes WHERE pushed_at IS NULL")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// Takes the master's answer to a push: marks the entries pushed, writes
    /// the parents it names that are not here, and makes each row what the
    /// master says it is now, unless it was changed again here meanwhile
    /// (then that newer change is pushed next, based on the master's version).
    pub async fn record_push_outcomes(&self, outbox: &Outbox, answer: &PushAnswer) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.set_capture(Capture::Off).await?;
        tx.mark_pushed(&outbox.settled).await?;
        for parent in &answer.parents {
            let (Ok(table), Some(image)) = (tables::table(&parent.table), &parent.row) else { continue };
            tx.store_row_if_absent(table, parent.id, parent.version, image).await?;
        }
        let changes: HashMap<Uuid, &PushChange> = outbox.changes.iter().map(|c| (c.change_id, c)).collect();
        // Rows written parents first, then rows deleted children first: the
        // end states of one push fit together only in that order.
        let mut outcomes: Vec<&PushOutcome> = answer.outcomes.iter().collect();
        outcomes.sort_by_key(|o| match o.state.row {
            Some(_) => (0, tables::rank(&o.state.table)),
            None => (1, usize::MAX - tables::rank(&o.state.table)),
        });
        for outcome in &outcomes {
            if let Some(entries) = outbox.entries.get(&outcome.change_id) {
                tx.mark_pushed(entries).await?;
            }
        }
        // Rows changed here again since the outbox was read.
        let unpushed = tx.unpushed_rows().await?;
        for outcome in outcomes {
            let Some(change) = changes.get(&outcome.change_id) else { continue };
            let Ok(table) = tables::table(&change.table) else { continue };
            if let Some(later) = tx.first_unpushed(table.name, change.id).await? {
                let base = if outcome.state.row.is_some() { outcome.state.version } else { 0 };
                on_tx!(tx, conn => {
                    sqlx::query("UPDATE sync_changes SET base_version = $1 WHERE id = $2")
                        .bind(base)
                        .bind(later)
                        .execute(conn)
                        .await?;
                });
                continue;
            }
            if outcome.winner_id != change.id {
                tx.merge_into(table, change.id, &outcome.state).await?;
            } else {
                tx.write_master_row(table, &outcome.state, &unpushed, true).await?;
            }
        }
        tx.commit().await
    }

    /// Applies a page of the master's rows and saves `cursor` under
    /// `cursor_key` in the same transaction.
    pub async fn apply_master_rows(
        &self,
        rows: &MasterRows,
        cursor_key: &str,
        cursor: &str,
    ) -> Result<Applied> {
        retried_with_care(|care| async move {
            let mut tx = self.begin().await?;
            tx.set_capture(Capture::Off).await?;
            let applied = tx.apply_rows(&rows.rows, &rows.values, care).await?;
            tx.set_sync_state(cursor_key, Some(cursor)).await?;
            tx.commit().await?;
            Ok(applied)
        })
        .await
    }

    /// Applies a bootstrap page of `table` (ids after `after`, up to the
    /// page's last id, or to the end if it is the last page), removes the
    /// local rows in that range that the master does not have, and saves
    /// `progress` under `progress_key`, all in one transaction.
    pub async fn apply_bootstrap_rows(
        &self,
        table: &str,
        after: Option<Uuid>,
        page: &super::BootstrapPage,
        progress_key: &str,
        progress: &str,
    ) -> Result<Applied> {
        let table = tables::table(table)?;
        retried_with_care(|care| async move {
            let mut tx = self.begin().await?;
            tx.set_capture(Capture::Off).await?;
            let mut applied = tx.apply_rows(&page.rows, &[], care).await?;
            applied.deleted += tx.remove_absent(table, after, page).await?;
            tx.set_sync_state(progress_key, Some(progress)).await?;
            tx.commit().await?;
            Ok(applied)
        })
        .await
    }
}

/// The rows of `states` that are written (not tombstones), as stored.
fn stored_refs<'a>(states: &[Incoming<'a>]) -> Vec<StoredRef<'a>> {
    states
        .iter()
        .filter_map(|(s, values)| {
            s.row.as_ref().map(|image| StoredRef { id: s.id, version: s.version, image, values: *values })
        })
        .collect()
}

/// How a page of the master's rows is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Care {
    /// Each table's rows at once, with no savepoint: a row that does not go
    /// in cleanly fails the whole page.
    Quick,
    /// Each table's rows under a savepoint, and when they do not go in
    /// cleanly, one by one, so that each is dealt with.
    Careful,
}

/// Runs `apply` quickly first and, when a row did not go in cleanly (its
/// transaction dropped, nothing of it kept), again with care. Almost every
/// page goes in cleanly, and a savepoint makes SQLite copy every page a
/// write touches into its statement journal (7% of a steady apply).
async fn retried_with_care<F, Fut>(apply: F) -> Result<Applied>
where
    F: Fn(Care) -> Fut,
    Fut: std::future::Future<Output = Result<Applied>>,
{
    match apply(Care::Quick).await {
        Err(DbError::Duplicate(_) | DbError::MissingReference(_) | DbError::Invalid { .. }) => {
            apply(Care::Careful).await
        }
        done => done,
    }
}

impl Tx {
    async fn mark_pushed(&mut self, entries: &[i64]) -> Result<()> {
        let now = crate::now();
        for chunk in entries.chunks(crate::sql::MAX_PARAMS) {
            let mut sql = Sql::new("UPDATE sync_changes SET pushed_at = ");
            sql.bind(Param::Time(now));
            sql.push(" WHERE id IN ").bind_list(chunk.iter().map(|id| Param::Int(*id)));
            self.execute_sql(sql).await?;
        }
        Ok(())
    }

    async fn first_unpushed(&mut self, table: &str, id: Uuid) -> Result<Option<i64>> {
        let first = on_tx!(self, conn => {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT min(id) FROM sync_changes WHERE table_name = $1 AND row_id = $2 AND pushed_at IS NULL",
            )
            .bind(table)
            .bind(id)
            .fetch_one(conn)
            .await?
        });
        Ok(first)
    }

    async fn unpushed_rows(&mut self) -> Result<HashSet<(String, Uuid)>> {
        let rows: Vec<(String, Uuid)> = on_tx!(self, conn => {
            sqlx::query_as("SELECT DISTINCT table_name, row_id FROM sync_changes WHERE pushed_at IS NULL")
                .fetch_all(conn)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Makes a row what `state` says: written (`force`: whatever the local
    /// version) or deleted.
    async fn take_state(&mut self, table: &SyncTable, state: &RowState, force: bool) -> Result<()> {
        match &state.row {
            Some(image) => self.store_row(table, state.id, state.version, image, force).await,
            None => {
                let version = if force { i64::MAX } else { state.version };
                self.remove_row(table, state.id, version).await
            }
        }
    }

    /// Tombstones first (children first), then rows (parents first). Rows
    /// with an unpushed local change are left for the push to decide. Each
    /// run of one table's writes or deletes goes in as few statements as
    /// the parameter limit allows. `values` holds the rows' column values
    /// where they were read ahead (see [`MasterRows`]).
    async fn apply_rows(
        &mut self,
        rows: &[RowState],
        values: &[Option<Vec<Value>>],
        care: Care,
    ) -> Result<Applied> {
        let unpushed = self.unpushed_rows().await?;
        let mut applied = Applied::default();
        let incoming: Vec<Incoming<'_>> = rows
            .iter()
            .enumerate()
            .map(|(i, state)| (state, values.get(i).and_then(|v| v.as_deref())))
            .collect();
        for run in
            incoming.chunk_by(|(a, _), (b, _)| a.table == b.table && a.row.is_some() == b.row.is_some())
        {
            let Ok(table) = tables::table(&run[0].0.table) else {
                applied.skipped += run.len() as u64;
                continue;
            };
            let (theirs, mine): (Vec<Incoming<'_>>, Vec<Incoming<'_>>) =
                run.iter().partition(|(s, _)| !unpushed.contains(&(table.name.to_owned(), s.id)));
            applied.skipped += mine.len() as u64;
            if run[0].0.row.is_none() {
                let doomed: Vec<(Uuid, i64)> = theirs.iter().map(|(s, _)| (s.id, s.version)).collect();
                self.remove_rows(table, &doomed).await?;
                applied.deleted += doomed.len() as u64;
            } else {
                let written = match care {
                    Care::Quick => {
                        let rows = stored_refs(&theirs);
                        self.store_rows(table, &rows, false).await?;
                        rows.len() as u64
                    }
                    Care::Careful => self.write_master_rows(table, &theirs, &unpushed).await?,
                };
                applied.written += written;
                applied.skipped += theirs.len() as u64 - written;
            }
        }
        Ok(applied)
    }

    /// Writes rows of one table from the master, all at once when they go in
    /// cleanly; when they do not (a natural key held locally, a missing
    /// parent, an invalid image), one by one so that each is dealt with.
    /// Returns how many were written.
    async fn write_master_rows(
        &mut self,
        table: &SyncTable,
        states: &[Incoming<'_>],
        unpushed: &HashSet<(String, Uuid)>,
    ) -> Result<u64> {
        let rows = stored_refs(states);
        if rows.is_empty() {
            return Ok(0);
        }
        self.savepoint("SAVEPOINT").await?;
        match self.store_rows(table, &rows, false).await {
            Ok(()) => {
                self.savepoint("RELEASE SAVEPOINT").await?;
                return Ok(rows.len() as u64);
            }
            Err(DbError::Duplicate(_) | DbError::MissingReference(_) | DbError::Invalid { .. }) => {
                self.savepoint("ROLLBACK TO SAVEPOINT").await?;
                self.savepoint("RELEASE SAVEPOINT").await?;
            }
            Err(other) => return Err(other),
        }
        let mut written = 0;
        for (state, _) in states {
            if self.write_master_row(table, state, unpushed, false).await? {
                written += 1;
            }
        }
        Ok(written)
    }

    /// Writes one row from the master (`force`: whatever the local version).
    /// A local row holding the same natural key (renamed on the master, its
    /// new state arriving later) is moved aside first.
    async fn write_master_row(
        &mut self,
        table: &SyncTable,
        state: &RowState,
        unpushed: &HashSet<(String, Uuid)>,
        force: bool,
    ) -> Result<bool> {
        for attempt in 0..2 {
            self.savepoint("SAVEPOINT").await?;
            match self.take_state(table, state, force).await {
                Ok(()) => {
                    self.savepoint("RELEASE SAVEPOINT").await?;
                    return Ok(true);
                }
                Err(
                    err @ (DbError::Duplicate(_) | DbError::MissingReference(_) | DbError::Invalid { .. }),
                ) => {
                    self.savepoint("ROLLBACK TO SAVEPOINT").await?;
                    self.savepoint("RELEASE SAVEPOINT").await?;
                    let holder = match (&err, attempt) {
                        (DbError::Duplicate(_), 0) => self.natural_key_holder(table, state).await?,
                        _ => None,
                    };
                    match holder {
                        Some(holder) if !unpushed.contains(&(table.name.to_owned(), holder)) => {
                            self.displace(table, holder).await?;
                        }
                        _ => {
                            tracing::warn!(target: "sync", table = table.name, id = %state.id, error = %err,
                                "a row from the master could not be written; left for the next bootstrap");
                            return Ok(false);
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Ok(false)
    }

    async fn natural_key_holder(&mut self, table: &SyncTable, state: &RowState) -> Result<Option<Uuid>> {
        let (Some(key), Some(image)) = (table.natural_key, &state.row) else { return Ok(None) };
        let Some(value) = image.get(key).and_then(|v| v.as_str()) else { return Ok(None) };
        let mut sql = Sql::new(&format!("SELECT id FROM {} WHERE {key} = ", table.name));
        sql.bind(Param::Text(value.to_owned()));
        sql.push(" AND id <> ");
        sql.bind(Param::Uuid(state.id));
        let found: Option<(Uuid,)> = self.fetch_optional_sql(sql).await?;
        Ok(found.map(|(id,)| id))
    }

    /// Frees a row's natural key (its final state arrives later).
    async fn displace(&mut self, table: &SyncTable, id: Uuid) -> Result<()> {
        let Some(key) = table.natural_key else { return Ok(()) };
        let mut sql = Sql::new(&format!("UPDATE {} SET {key} = {key} || ", table.name));
        sql.bind(Param::Text(format!(" ~{}", id.simple())));
        sql.push(" WHERE id = ");
        sql.bind(Param::Uuid(id));
        self.execute_sql(sql).await?;
        Ok(())
    }

    /// The master merged the local row `loser` into `winner`: the winner is
    /// written, whatever referred to the loser refers to the winner, and the
    /// loser goes.
    async fn merge_into(&mut self, table: &SyncTable, loser: Uuid, winner: &RowState) -> Result<()> {
        if winner.row.is_some() {
            self.displace(table, loser).await?;
            self.take_state(table, winner, true).await?;
            for (child, column) in table.children() {
                let mut sql = Sql::new(&format!("UPDATE {} SET {} = ", child.name, column.name));
                sql.bind(Param::Uuid(winner.id));
                sql.push(&format!(" WHERE {} = ", column.name));
                sql.bind(Param::Uuid(loser));
                self.savepoint("SAVEPOINT").await?;
                match self.execute_sql(sql).await {
                    Ok(_) => self.savepoint("RELEASE SAVEPOINT").await?,
                    // Both records had the same child (one rating of a song
                    // per user): the winner's stays.
                    Err(DbError::Duplicate(_)) => {
                        self.savepoint("ROLLBACK TO SAVEPOINT").await?;
                        self.savepoint("RELEASE SAVEPOINT").await?;
                        let mut sql =
                            Sql::new(&format!("DELETE FROM {} WHERE {} = ", child.name, column.name));
                        sql.bind(Param::Uuid(loser));
                        self.execute_sql(sql).await?;
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        self.remove_row(table, loser, i64::MAX).await
    }

    /// Deletes local rows of `table` in the page's id range that the page
    /// does not hold (the master has none of them), except unpushed ones.
    async fn remove_absent(
        &mut self,
        table: &SyncTable,
        after: Option<Uuid>,
        page: &super::BootstrapPage,
    ) -> Result<u64> {
        let mut sql = Sql::new(&format!("SELECT id FROM {} WHERE 1 = 1", table.name));
        if let Some(after) = after {
            sql.push(" AND id > ");
            sql.bind(Param::Uuid(after));
        }
        if let (true, Some(last)) = (page.has_more, page.last_id) {
            sql.push(" AND id <= ");
            sql.bind(Param::Uuid(last));
        }
        let local: Vec<(Uuid,)> = self.fetch_all_sql(sql).await?;
        let on_master: HashSet<Uuid> = page.rows.iter().map(|r| r.id).collect();
        let unpushed = self.unpushed_rows().await?;
        let absent: Vec<(Uuid, i64)> = local
            .into_iter()
            .filter(|(id,)| !on_master.contains(id) && !unpushed.contains(&(table.name.to_owned(), *id)))
            .map(|(id,)| (id, i64::MAX))
            .collect();
        self.remove_rows(table, &absent).await?;
        Ok(absent.len() as u64)
    }
}
