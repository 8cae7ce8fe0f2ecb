//! The master's side: serving its change log as row states, bootstrap
//! pages, applying pushed changes ("master wins"), and compaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::boundary;
use super::state::{ConflictLog, Resolution};
use super::tables::{self, RowImage, StoredRow, SyncTable};
use super::{BootstrapPage, PushAnswer, PushChange, PushOutcome, PushStatus, RowState};
use crate::backend::on_tx;
use crate::changes::{ChangeOp, LogPosition};
use crate::error::{DbError, Result};
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

/// A page of the log for one slave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesPage {
    /// The rows changed in this part of the log, as they are now, parents
    /// before children (tombstones children first, before everything).
    pub rows: Vec<RowState>,
    /// Where the next page starts.
    pub next: LogPosition,
    /// Whether more changes may wait after `next`.
    pub has_more: bool,
    /// When the newest change of the page was made (the master's clock).
    pub newest_change_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a compaction removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Compaction {
    /// Entries for rows that have a newer entry (safe to drop at any time:
    /// a reader gets the row's state from the newer one).
    pub superseded: u64,
    /// Tombstones older than the retention; readers behind them re-bootstrap.
    pub expired_tombstones: u64,
    pub receipts: u64,
}

const EPOCH: &str = "master.epoch";
const FLOOR: &str = "master.retention_floor";

impl Db {
    /// This log's epoch: a random id, the same as long as positions in this
    /// log keep their meaning. A reader whose cursor names another epoch
    /// must bootstrap.
    pub async fn sync_epoch(&self) -> Result<String> {
        if let Some(epoch) = self.sync_state(EPOCH).await? {
            return Ok(epoch);
        }
        let mut tx = self.begin().await?;
        let epoch = match tx.sync_state(EPOCH).await? {
            Some(epoch) => epoch,
            None => {
                let epoch = Uuid::new_v4().simple().to_string();
                tx.set_sync_state(EPOCH, Some(&epoch)).await?;
                epoch
            }
        };
        tx.commit().await?;
        Ok(epoch)
    }

    /// Starts a new epoch: every slave bootstraps at its next pull. For a
    /// master restored from a backup, whose positions no longer mean what
    /// its slaves remember.
    pub async fn renew_sync_epoch(&self) -> Result<String> {
        let epoch = Uuid::new_v4().simple().to_string();
        self.set_sync_state(EPOCH, Some(&epoch)).await?;
        Ok(epoch)
    }

    /// The oldest position a reader may still continue from: compaction
    /// removed tombstones before it.
    pub async fn sync_retention_floor(&self) -> Result<LogPosition> {
        Ok(self.sync_state(FLOOR).await?.and_then(|v| v.parse().ok()).unwrap_or(LogPosition::START))
    }

    /// Where a new reader of this master's log starts, and the furthest a
    /// reader can be: the log's head, or the retention floor when compaction
    /// removed the newest entries (expired tombstones) so the head fell behind it.
    pub async fn sync_head(&self) -> Result<LogPosition> {
        Ok(self.log_head().await?.max(self.sync_retention_floor().await?))
    }

    /// The furthest a cursor this master handed out can be: the log's peak
    /// (see [`Db::log_peak`]), or the retention floor. Unlike the head, it
    /// never falls below a position given a moment before.
    pub async fn sync_ceiling(&self) -> Result<LogPosition> {
        Ok(self.log_peak().await?.max(self.sync_retention_floor().await?))
    }

    /// The outcome this master recorded for a pushed change (`applied`,
    /// `merged`, `conflict`, `rejected`), if it has seen the change and not
    /// yet compacted its receipt away.
    pub async fn push_receipt(&self, change_id: Uuid) -> Result<Option<String>> {
        let mut tx = self.begin_read().await?;
        let status = tx.receipt(change_id).await?;
        tx.commit().await?;
        Ok(status)
    }

    /// The next page of the log after `after` for the slave `peer`: up to
    /// `limit` log entries, each turned into its row's present state. Rows
    /// whose latest change came from `peer` itself are left out (no echo).
    pub async fn changes_for_peer(&self, after: LogPosition, limit: i64, peer: &str) -> Result<ChangesPage> {
        let mut tx = self.begin_read().await?;
        let entries = tx.changes_after(after, limit).await?;
        let has_more = entries.len() as i64 == limit;
        let next = entries.last().map_or(after, |e| e.position);
        let newest_change_at = entries.iter().map(|e| e.changed_at).max();
        // The newest entry per row in this page decides (the log is in order).
        let mut newest: BTreeMap<(usize, Uuid), (i64, Option<String>, ChangeOp)> = BTreeMap::new();
        for entry in &entries {
            let key = (tables::rank(&entry.table_name), entry.row_id);
            newest.insert(key, (entry.version, entry.origin.clone(), entry.op));
        }
        let mut by_table: BTreeMap<usize, Vec<Uuid>> = BTreeMap::new();
        for (rank, id) in newest.keys() {
            by_table.entry(*rank).or_default().push(*id);
        }
        let mut rows = Vec::new();
        let mut tombstones = Vec::new();
        let mut sent: HashSet<(usize, Uuid)> = HashSet::new();
        for (rank, ids) in by_table {
            let Some(table) = tables::TABLES.get(rank) else { continue };
            let mut found: HashMap<Uuid, StoredRow> =
                tx.sync_rows(table, &ids).await?.into_iter().map(|r| (r.id, r)).collect();
            for id in ids {
                let (version, origin, _) = &newest[&(rank, id)];
                // Taken out, not borrowed: the row's image moves into the page.
                match found.remove(&id) {
                    // The peer already has this exact state: it pushed it.
                    Some(row) if origin.as_deref() == Some(peer) && row.version == *version => {}
                    Some(row) => {
                        sent.insert((rank, id));
                        rows.push(state_of(table, row));
                    }
                    None if origin.as_deref() == Some(peer) => {}
                    None => tombstones.push(RowState {
                        table: table.name.into(),
                        id,
                        version: *version,
                        row: None,
                    }),
                }
            }
        }
        let parents = tx.missing_parents(&rows, &mut sent, Some(next)).await?;
        tx.commit().await?;
        tombstones.sort_by_key(|t| std::cmp::Reverse(tables::rank(&t.table)));
        let mut ordered = tombstones;
        ordered.extend(parents);
        ordered.extend(rows);
        Ok(ChangesPage { rows: ordered, next, has_more, newest_change_at })
    }

    /// Up to `limit` rows of `table` with ids after `after`, in id order.
    pub async fn bootstrap_page(
        &self,
        table: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<BootstrapPage> {
        let table = tables::table(table)?;
        let mut sql = Sql::new(&format!("SELECT {} FROM {}", table.column_list(), table.name));
        if let Some(after) = after {
            sql.push(" WHERE id > ");
            sql.bind(Param::Uuid(after));
        }
        sql.push(" ORDER BY id LIMIT ");
        sql.bind(Param::Int(limit));
        let mut tx = self.begin_read().await?;
        let stored = tx.sync_rows_sql(table, sql).await?;
        tx.commit().await?;
        let has_more = stored.len() as i64 == limit;
        Ok(BootstrapPage {
            last_id: stored.last().map(|r| r.id),
            rows: stored.into_iter().map(|r| state_of(table, r)).collect(),
            has_more,
        })
    }

    /// Applies a slave's pushed changes, in order, in one transaction. Each
    /// change gets an outcome; only a failure of the database itself fails
    /// the whole push (then nothing of it is kept, and the slave retries it).
    ///
    /// The log entry of each row a change wrote directly carries `node` as
    /// its origin, so that the row is not sent back to that slave; what the
    /// database did on its own (a deleted artist's songs losing their
    /// artist) is recorded as the master's change, which every slave pulls.
    pub async fn apply_pushed(&self, node: &str, changes: &[PushChange]) -> Result<PushAnswer> {
        let mut tx = self.begin().await?;
        let mut has_aliases = tx.has_aliases().await?;
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in changes {
            let outcome = tx.apply_one_pushed(node, change, has_aliases).await?;
            // Later changes of this push may name the record just merged.
            has_aliases |= outcome.status == PushStatus::Merged;
            outcomes.push(outcome);
        }
        // A later change of the push (deleting a parent) may have changed a
        // row an earlier one answered for: the answer is the state at the end.
        for outcome in &mut outcomes {
            outcome.state = tx.present_state(&outcome.state.table, outcome.winner_id).await?;
        }
        let states: Vec<RowState> = outcomes.iter().map(|o| o.state.clone()).collect();
        let mut sent: HashSet<(usize, Uuid)> =
            states.iter().map(|s| (tables::rank(&s.table), s.id)).collect();
        let parents = tx.missing_parents(&states, &mut sent, None).await?;
        tx.commit().await?;
        Ok(PushAnswer { outcomes, parents })
    }

    /// Removes superseded log entries, tombstones older than `retention`
    /// (moving the retention floor past them) and old push receipts.
    pub async fn compact_change_log(&self, retention: chrono::Duration) -> Result<Compaction> {
        let horizon = crate::now() - retention;
        let mut tx = self.begin().await?;
        let superseded = on_tx!(tx, conn => {
            sqlx::query(
                "DELETE FROM sync_changes WHERE EXISTS (SELECT 1 FROM sync_changes newer \
                 WHERE newer.table_name = sync_changes.table_name AND newer.row_id = sync_changes.row_id \
                 AND newer.id > sync_changes.id)",
            )
            .execute(conn)
            .await?
            .rows_affected()
        });
        let xid = match tx.backend() {
            crate::Backend::Sqlite => crate::sqlite::XID_AS_INT,
            crate::Backend::Postgres => crate::postgres::XID_AS_INT,
        };
        let expired_sql =
            format!("SELECT {xid}, id FROM sync_changes WHERE op = 'delete' AND changed_at < $1");
        let expired: Vec<(i64, i64)> = on_tx!(tx, conn => {
            sqlx::query_as(sqlx::AssertSqlSafe(expired_sql.clone())).bind(horizon).fetch_all(conn).await?
        });
        let mut floor = self.sync_retention_floor().await?;
        for (xid, id) in &expired {
            floor = floor.max(LogPosition { xid: *xid, id: *id });
            on_tx!(tx, conn => {
                sqlx::query("DELETE FROM sync_changes WHERE id = $1").bind(id).execute(conn).await?;
            });
        }
        if !expired.is_empty() {
            tx.set_sync_state(FLOOR, Some(&floor.to_string())).await?;
        }
        let receipts = on_tx!(tx, conn => {
            sqlx::query("DELETE FROM sync_receipts WHERE created_at < $1")
                .bind(horizon)
                .execute(conn)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(Compaction { superseded, expired_tombstones: expired.len() as u64, receipts })
    }
}

fn state_of(table: &SyncTable, row: StoredRow) -> RowState {
    RowState { table: table.name.into(), id: row.id, version: row.version, row: Some(row.image) }
}

/// The conflict log's entry for a pushed change that did not stand as
/// pushed: both sides (secrets left out), and what became of it.
fn conflict_entry(
    node: &str,
    change: &PushChange,
    row_id: Uuid,
    master: Option<(i64, &RowImage)>,
    resolution: Resolution,
    reason: &str,
) -> ConflictLog {
    ConflictLog {
        id: Uuid::now_v7(),
        change_id: change.change_id,
        node_id: node.into(),
        table_name: change.table.chars().take(64).collect(),
        row_id,
        base_version: change.base_version,
        master_version: master.map(|(version, _)| version),
        slave_row: change.row.as_ref().map(|r| tables::shown(&change.table, r)),
        master_row: master.map(|(_, image)| tables::shown(&change.table, image)),
        resolution,
        reason: reason.into(),
        created_at: crate::now(),
    }
}

/// Whether two images are the same record, creation and update times aside.
fn same_content(a: &RowImage, b: &RowImage) -> bool {
    let strip = |r: &RowImage| {
        let mut r = r.clone();
        r.remove("created_at");
        r.remove("updated_at");
        r
    };
    strip(a) == strip(b)
}

impl Tx {
    /// The parents (and their parents) that `rows` refer to and that a
    /// slave may not have, leaving out those in `sent`. After reading the
    /// log up to `upto`, a slave has every parent whose entries all lie at
    /// or before it; a row's present state may name a parent whose entry
    /// lies beyond (compaction keeps only a row's newest entry, so its
    /// creation may be gone). With no `upto`, every parent is sent.
    async fn missing_parents(
        &mut self,
        rows: &[RowState],
        sent: &mut HashSet<(usize, Uuid)>,
        upto: Option<LogPosition>,
    ) -> Result<Vec<RowState>> {
        let mut wanted: BTreeMap<usize, Vec<Uuid>> = BTreeMap::new();
        let mut queue: Vec<RowState> = rows.to_vec();
        let mut parents = Vec::new();
        while !queue.is_empty() {
            for state in queue.drain(..) {
                let (Ok(table), Some(image)) = (tables::table(&state.table), &state.row) else { continue };
                for column in table.columns.iter().filter(|c| c.references.is_some()) {
                    let parent = column.references.expect("filtered");
                    let Some(id) =
                        image.get(column.name).and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
                    else {
                        continue;
                    };
                    let key = (tables::rank(parent), id);
                    if sent.insert(key) {
                        wanted.entry(key.0).or_default().push(id);
                    }
                }
            }
            for (rank, ids) in std::mem::take(&mut wanted) {
                let table = &tables::TABLES[rank];
                let ids: Vec<Uuid> = match upto {
                    Some(upto) => {
                        let delivered = self.rows_settled_by(table.name, &ids, upto).await?;
                        ids.into_iter().filter(|id| !delivered.contains(id)).collect()
                    }
                    None => ids,
                };
                for row in self.sync_rows(table, &ids).await? {
                    queue.push(state_of(table, row));
                }
            }
            parents.extend(queue.iter().cloned());
        }
        parents.sort_by_key(|p| tables::rank(&p.table));
        Ok(parents)
    }

    async fn has_aliases(&mut self) -> Result<bool> {
        let any = on_tx!(self, conn => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM (SELECT 1 FROM sync_aliases LIMIT 1) a")
                .fetch_one(conn)
                .await?
        });
        Ok(any > 0)
    }

    /// The record `id` of `table` was merged into, or `id` itself.
    async fn resolve_alias(&mut self, table: &str, id: Uuid) -> Result<Uuid> {
        let winner = on_tx!(self, conn => {
            sqlx::query_scalar::<_, Uuid>("SELECT winner_id FROM sync_aliases WHERE table_name = $1 AND alias_id = $2")
                .bind(table)
                .bind(id)
                .fetch_optional(conn)
                .await?
        });
        Ok(winner.unwrap_or(id))
    }

    /// Points a pushed row's references at the records its parents were merged into.
    async fn rewrite_references(&mut self, table: &SyncTable, image: &mut RowImage) -> Result<()> {
        for column in table.columns.iter().filter(|c| c.references.is_some()) {
            let parent = column.references.expect("filtered");
            let Some(id) =
                image.get(column.name).and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok())
            else {
                continue;
            };
            let winner = self.resolve_alias(parent, id).await?;
            if winner != id {
                image.insert(column.name.into(), winner.to_string().into());
            }
        }
        Ok(())
    }

    /// Marks the newest log entry of a row as written by `node`'s push.
    async fn stamp_origin(&mut self, table: &str, id: Uuid, node: &str) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query(
                "UPDATE sync_changes SET origin = $1 WHERE id = \
                 (SELECT max(id) FROM sync_changes WHERE table_name = $2 AND row_id = $3)",
            )
            .bind(node)
            .bind(table)
            .bind(id)
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    async fn receipt(&mut self, change_id: Uuid) -> Result<Option<String>> {
        let status = on_tx!(self, conn => {
            sqlx::query_scalar::<_, String>("SELECT status FROM sync_receipts WHERE change_id = $1")
                .bind(change_id)
                .fetch_optional(conn)
                .await?
        });
        Ok(status)
    }

    async fn store_receipt(&mut self, node: &str, outcome: &PushOutcome) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO sync_receipts (change_id, node_id, status, new_version, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(outcome.change_id)
            .bind(node)
            .bind(outcome.status.as_str())
            .bind(outcome.state.row.as_ref().map(|_| outcome.state.version))
            .bind(crate::now())
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    /// The master's state of a row now (a tombstone with version 0 if it has none).
    async fn present_state(&mut self, table: &str, id: Uuid) -> Result<RowState> {
        let row = match tables::table(table) {
            Ok(t) => self.sync_row(t, id).await?.map(|r| state_of(t, r)),
            Err(_) => None,
        };
        Ok(row.unwrap_or(RowState { table: table.into(), id, version: 0, row: None }))
    }

    async fn apply_one_pushed(
        &mut self,
        node: &str,
        change: &PushChange,
        has_aliases: bool,
    ) -> Result<PushOutcome> {
        if let Some(status) = self.receipt(change.change_id).await? {
            let winner = self.resolve_alias(&change.table, change.id).await?;
            return Ok(PushOutcome {
                change_id: change.change_id,
                status: PushStatus::Duplicate,
                winner_id: winner,
                state: self.present_state(&change.table, winner).await?,
                reason: Some(format!("already received ({status})")),
            });
        }
        self.savepoint("SAVEPOINT").await?;
        let decided = match tables::table(&change.table) {
            Ok(table) => self.decide_pushed(node, table, change, has_aliases).await,
            Err(e) => Err(e),
        };
        let outcome = match decided {
            Ok(outcome) => {
                self.savepoint("RELEASE SAVEPOINT").await?;
                outcome
            }
            Err(
                err @ (DbError::Invalid { .. }
                | DbError::Forbidden(_)
                | DbError::MissingReference(_)
                | DbError::Duplicate(_)),
            ) => {
                self.savepoint("ROLLBACK TO SAVEPOINT").await?;
                self.savepoint("RELEASE SAVEPOINT").await?;
                self.reject(node, change, err.to_string()).await?
            }
            Err(other) => return Err(other),
        };
        self.store_receipt(node, &outcome).await?;
        Ok(outcome)
    }

    async fn decide_pushed(
        &mut self,
        node: &str,
        table: &'static SyncTable,
        change: &PushChange,
        has_aliases: bool,
    ) -> Result<PushOutcome> {
        let id = if has_aliases { self.resolve_alias(table.name, change.id).await? } else { change.id };
        let mut image = change.row.clone();
        if let Some(image) = image.as_mut() {
            if has_aliases {
                self.rewrite_references(table, image).await?;
            }
            image.insert("id".into(), id.to_string().into());
        }
        let current = self.sync_row(table, id).await?;
        // The trust boundary: the author's rights first, then the values.
        self.authorise_pushed(table, change.author, current.as_ref(), image.as_ref()).await?;
        if let Some(pushed) = image.as_mut() {
            table.values(id, pushed)?;
            *pushed = boundary::checked_image(table, id, pushed)?;
        }
        let base = change.base_version;
        let conflict = |reason: String| (PushStatus::Conflict, reason);
        let (status, reason) = match (&image, &current) {
            (Some(image), None) if base.is_none() => {
                if let Some(winner) = self.same_natural_key(table, id, image).await? {
                    return self.merge(node, table, change, winner).await;
                }
                self.insert_row(table.name, table.values(id, image)?).await?;
                self.stamp_origin(table.name, id, node).await?;
                (PushStatus::Applied, String::new())
            }
            (Some(_), None) => conflict("deleted on the master".into()),
            (Some(image), Some(current)) if base == Some(current.version) => {
                self.update_pushed(table, id, current.version, image).await?;
                self.stamp_origin(table.name, id, node).await?;
                (PushStatus::Applied, String::new())
            }
            (Some(image), Some(current)) if base.is_none() && same_content(image, &current.image) => {
                (PushStatus::Applied, String::new())
            }
            (Some(_), Some(current)) => conflict(format!(
                "changed on the master (version {}) since version {base:?}",
                current.version
            )),
            (None, None) => (PushStatus::Applied, String::new()),
            (None, Some(current)) if base == Some(current.version) => {
                self.delete_row(table.name, id).await?;
                self.stamp_origin(table.name, id, node).await?;
                (PushStatus::Applied, String::new())
            }
            (None, Some(current)) => conflict(format!(
                "changed on the master (version {}) since version {base:?}",
                current.version
            )),
        };
        if status == PushStatus::Conflict {
            return self.not_applied(node, change, id, id, Resolution::MasterWins, reason).await;
        }
        let state = self.present_state(table.name, id).await?;
        Ok(PushOutcome { change_id: change.change_id, status, winner_id: id, state, reason: None })
    }

    /// The answer to a pushed change that did not stand as pushed, with its
    /// entry in the conflict log: both sides, the master's as it stands now
    /// (the row `winner` holds), and what became of the change.
    async fn not_applied(
        &mut self,
        node: &str,
        change: &PushChange,
        row_id: Uuid,
        winner: Uuid,
        resolution: Resolution,
        reason: String,
    ) -> Result<PushOutcome> {
        let state = self.present_state(&change.table, winner).await?;
        let master = state.row.as_ref().map(|r| (state.version, r));
        self.log_conflict(&conflict_entry(node, change, row_id, master, resolution, &reason)).await?;
        let status = match resolution {
            Resolution::MasterWins => PushStatus::Conflict,
            Resolution::Merged => PushStatus::Merged,
            Resolution::Rejected => PushStatus::Rejected,
        };
        Ok(PushOutcome {
            change_id: change.change_id,
            status,
            winner_id: winner,
            state,
            reason: Some(reason),
        })
    }

    /// The id of another row with the same natural key as `image`, if any.
    async fn same_natural_key(
        &mut self,
        table: &SyncTable,
        id: Uuid,
        image: &RowImage,
    ) -> Result<Option<Uuid>> {
        let Some(key) = table.natural_key else { return Ok(None) };
        let Some(value) = image.get(key).and_then(|v| v.as_str()) else { return Ok(None) };
        let mut sql = Sql::new(&format!("SELECT id FROM {} WHERE {key} = ", table.name));
        sql.bind(Param::Text(value.to_owned()));
        sql.push(" AND id <> ");
        sql.bind(Param::Uuid(id));
        let found: Option<(Uuid,)> = self.fetch_optional_sql(sql).await?;
        Ok(found.map(|(id,)| id))
    }

    /// The slave created a record the master has under another id: they
    /// become one, the master's. Later changes naming the slave's id are
    /// rewritten to the master's.
    async fn merge(
        &mut self,
        node: &str,
        table: &SyncTable,
        change: &PushChange,
        winner: Uuid,
    ) -> Result<PushOutcome> {
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO sync_aliases (table_name, alias_id, winner_id, node_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (table_name, alias_id) DO NOTHING",
            )
            .bind(table.name)
            .bind(change.id)
            .bind(winner)
            .bind(node)
            .bind(crate::now())
            .execute(conn)
            .await?;
        });
        let reason = format!("same {} as {winner}", table.natural_key.unwrap_or("key"));
        self.not_applied(node, change, change.id, winner, Resolution::Merged, reason).await
    }

    async fn update_pushed(
        &mut self,
        table: &SyncTable,
        id: Uuid,
        base: i64,
        image: &RowImage,
    ) -> Result<()> {
        let mut sql = Sql::new(&format!("UPDATE {} SET ", table.name));
        for (i, (column, value)) in table.values(id, image)?.into_iter().skip(1).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(column).push(" = ");
            crate::sql::push_value(&mut sql, value);
        }
        sql.push(" WHERE id = ");
        sql.bind(Param::Uuid(id));
        sql.push(" AND version = ");
        sql.bind(Param::Int(base));
        self.execute_sql(sql).await?;
        Ok(())
    }

    async fn reject(&mut self, node: &str, change: &PushChange, reason: String) -> Result<PushOutcome> {
        tracing::info!(target: "sync", node, table = %change.table, id = %change.id, %reason, "pushed change rejected");
        self.not_applied(node, change, change.id, change.id, Resolution::Rejected, reason).await
    }
}
