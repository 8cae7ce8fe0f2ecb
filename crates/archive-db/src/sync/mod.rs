//! What the sync engine needs from the database, on both sides.
//!
//! - [`master`]: serving the change log as row states (pages of changes,
//!   bootstrap pages), applying a slave's pushed changes with "master wins",
//!   compaction.
//! - [`slave`]: the outbox of local changes, recording push outcomes, and
//!   applying the master's pages with the cursor in the same transaction.
//! - [`state`]: the engine's own node-local tables (state values, slave keys,
//!   conflict log, status tracking, attempts); [`digest`]: per-table checksums.
//!
//! Sync is state-based: what travels is a row as it is now (or a tombstone)
//! with the master's version, never an operation, so applying twice or out
//! of order is harmless. See `docs/SYNC.md`.

mod boundary;
pub mod digest;
pub mod master;
pub mod slave;
pub mod state;
pub(crate) mod tables;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use tables::RowImage;

/// A row as the master has it: its image, or a tombstone if it is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowState {
    pub table: String,
    pub id: Uuid,
    /// The master's version of the row (for a tombstone, the delete's).
    pub version: i64,
    /// The columns; `None` for a deleted row.
    pub row: Option<RowImage>,
}

/// One local change a slave pushes: the row as it is now on the slave
/// (`None` if deleted) and the master version it was based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushChange {
    /// Minted by the slave when the change was recorded; the idempotency key.
    pub change_id: Uuid,
    pub table: String,
    pub id: Uuid,
    /// The master's version the change started from; `None` for a row the
    /// master has never seen (created on the slave).
    pub base_version: Option<i64>,
    pub row: Option<RowImage>,
    /// The user whose request made the change on the slave; `None` for the
    /// slave node itself (imports). The master judges the change by this
    /// user's rights as it knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Uuid>,
}

/// What the master did with one pushed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// Written on the master; it reaches every other slave.
    Applied,
    /// The master's row moved on (or was deleted) since the base version:
    /// the master's state stands, and both sides are in the conflict log.
    Conflict,
    /// The slave created a record whose natural key the master already has:
    /// the two are one record now, the master's (`winner_id`).
    Merged,
    /// Invalid (unknown table, wrong value, missing reference) or not
    /// allowed to its author (see `boundary`): logged and acknowledged so
    /// it cannot block the queue.
    Rejected,
    /// Seen before (a retried push): nothing done again.
    Duplicate,
}

impl PushStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PushStatus::Applied => "applied",
            PushStatus::Conflict => "conflict",
            PushStatus::Merged => "merged",
            PushStatus::Rejected => "rejected",
            PushStatus::Duplicate => "duplicate",
        }
    }
}

/// The master's answer for one pushed change, with the row's state on the
/// master after the whole push, which the slave takes as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushOutcome {
    pub change_id: Uuid,
    pub status: PushStatus,
    /// The record the change ended up in (differs from the pushed id after a merge).
    pub winner_id: Uuid,
    /// The master's state of `winner_id` now; a tombstone if it has none.
    pub state: RowState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The master's answer to a push: an outcome per change, in order, and the
/// parents the outcomes' rows refer to, which the slave writes first where
/// it does not have them (a row the master kept may name a parent created
/// after the slave's last pull).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushAnswer {
    pub outcomes: Vec<PushOutcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<RowState>,
}

/// The columns a row image of `table` carries, in order (empty for a table
/// that is not synced). For the test that holds them to the live schema.
pub fn row_columns(table: &str) -> Vec<String> {
    tables::table(table).map(|t| t.columns.iter().map(|c| c.name.to_owned()).collect()).unwrap_or_default()
}
