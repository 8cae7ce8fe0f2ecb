//! What the sync engine needs from the database, on both sides.
//!
//! - [`master`]: serving the change log as row states (pages of changes,
//!   bootstrap pages), applying a slave's pushed changes with "master wins",
//!   compaction.
//! - [`slave`]: the outbox of local changes, recording push outcomes, and
//!   applying the master's pages with the cursor in the same transaction.
//! - [`protocol`]: every message that travels between the two, and the
//!   cursor's format.
//! - [`state`]: the engine's own node-local tables (state values, slave keys,
//!   conflict log, status tracking, attempts); [`digest`]: per-table checksums;
//!   `upload_quota`: the file bytes and changes each slave key sent the master today.
//!
//! Sync is state-based: what travels is a row as it is now (or a tombstone)
//! with the master's version, never an operation, so applying twice or out
//! of order is harmless. See `docs/SYNC.md`.

mod boundary;
pub mod digest;
pub mod master;
pub mod protocol;
pub mod slave;
pub mod state;
pub(crate) mod tables;
mod upload_quota;

pub use protocol::{BootstrapPage, PushAnswer, PushChange, PushOutcome, PushStatus, RowState};
pub use slave::MasterRows;
pub use tables::RowImage;

/// The columns a row image of `table` carries, in order (empty for a table
/// that is not synced). For the test that holds them to the live schema.
pub fn row_columns(table: &str) -> Vec<String> {
    tables::table(table).map(|t| t.columns.iter().map(|c| c.name.to_owned()).collect()).unwrap_or_default()
}
