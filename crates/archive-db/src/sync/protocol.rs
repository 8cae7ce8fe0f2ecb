//! Every message of the sync protocol, and the cursor's format: one place
//! for what travels between a master and its slaves, used by the master's
//! handlers, the slave's client and the database's sync code alike. JSON
//! over HTTPS under `/api/v1/sync/`, responses gzip'd when the client
//! accepts it. `docs/SYNC.md` describes each exchange.
//!
//! Sync is state-based: what travels is a row as it is now (or a tombstone)
//! with the master's version, never an operation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tables::RowImage;
use crate::LogPosition;

/// The protocol's version; a master refuses slaves that speak another.
pub const PROTOCOL: u32 = 1;

/// The largest page of changes a slave may ask for.
pub const MAX_CHANGES_PAGE: i64 = 5000;
/// The largest push a master takes in one request.
pub const MAX_PUSH: usize = 1000;
/// The longest a master holds a `changes` request that asks to wait
/// (`wait=`, in seconds): below the 30 to 60 s after which common reverse
/// proxies and load balancers cut a silent request.
pub const MAX_CHANGES_WAIT_SECS: u64 = 25;
/// The largest bootstrap page.
pub const MAX_BOOTSTRAP_PAGE: i64 = 10_000;

/// A position in one master's log. Opaque to the slave: it is sent back as
/// it came. The epoch ties it to one history of the log; a master with a new
/// epoch sends the slave back to bootstrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub epoch: String,
    pub position: LogPosition,
}

/// Its text: hex of `epoch/xid:id`.
impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(format!("{}/{}", self.epoch, self.position)))
    }
}

/// A text that is not a cursor of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sync cursor")]
pub struct BadCursor;

impl FromStr for Cursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Cursor, BadCursor> {
        let raw = String::from_utf8(hex::decode(text).map_err(|_| BadCursor)?).map_err(|_| BadCursor)?;
        let (epoch, position) = raw.split_once('/').ok_or(BadCursor)?;
        Ok(Cursor { epoch: epoch.to_owned(), position: position.parse().map_err(|_| BadCursor)? })
    }
}

/// `GET /api/v1/sync/ping`: the cheap call (also the circuit breaker's probe).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {
    pub protocol: u32,
    pub node_id: String,
    pub epoch: String,
    /// The newest settled position, as a cursor.
    pub head: String,
    /// The node id the key presented is bound to.
    pub your_node_id: String,
    /// Whether the key presented is read-only (pulls, never pushes).
    #[serde(default)]
    pub read_only: bool,
}

/// `GET /api/v1/sync/changes?cursor=&limit=&wait=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangesResponse {
    pub rows: Vec<RowState>,
    /// Where the next page starts; the slave saves it with the rows.
    pub cursor: String,
    pub has_more: bool,
    /// Changes in the master's log after `cursor` (the slave's lag). With
    /// `has_more` false it can still be above zero: committed changes that
    /// the master holds back until an older transaction, still open, ends
    /// (PostgreSQL), so none is passed over.
    pub remaining: i64,
    /// How long ago, by the master's clock, the page's newest change was
    /// made (the slave adds its own time to apply it: the pull delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_change_age_ms: Option<i64>,
}

/// `POST /api/v1/sync/apply`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub changes: Vec<PushChange>,
}

/// `POST /api/v1/sync/apply`'s answer (see [`PushAnswer`]).
pub type ApplyResponse = PushAnswer;

/// `POST /api/v1/sync/bootstrap`: where a copy starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootstrapStart {
    /// The cursor to follow the log from once every table is copied. Taken
    /// before the copy: changes made meanwhile are in the copy or after it.
    pub cursor: String,
    /// Tables to copy, parents first.
    pub tables: Vec<String>,
}

/// The error code of a 403 to a push with a read-only key.
pub const READ_ONLY_KEY: &str = "read_only_key";

/// The error code of a 410: the slave's cursor cannot be continued.
pub const BOOTSTRAP_REQUIRED: &str = "bootstrap_required";

/// The error code of a 429 to a file upload: the slave key sent its day's
/// quota (`SYNC_UPLOAD_GB_PER_DAY`); `Retry-After` says when the next day starts.
pub const UPLOAD_QUOTA: &str = "upload_quota";

/// The error code of a 429 to a push: the slave key pushed its day's
/// changes (`SYNC_PUSH_CHANGES_PER_DAY`); `Retry-After` says when the next
/// day starts. The slave keeps its changes and goes on pulling.
pub const PUSH_QUOTA: &str = "push_quota";

/// The error code of a 507 to an upload: the node keeps that much of its disk
/// free (`ARCHIVE_MIN_FREE_GB`).
pub const INSUFFICIENT_STORAGE: &str = "insufficient_storage";

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

/// A page of one table for a bootstrap, in id order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapPage {
    pub rows: Vec<RowState>,
    /// The last id in this page (the next page starts after it).
    pub last_id: Option<Uuid>,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_from_its_text_and_nothing_else_is_one() {
        let cursor = Cursor { epoch: "e1".into(), position: LogPosition { xid: 5, id: 9 } };
        let text = cursor.to_string();
        assert_eq!(text.parse::<Cursor>(), Ok(cursor));
        for bad in ["", "zz", &hex::encode("no-slash"), &hex::encode("e1/5"), &hex::encode("e1/a:b")] {
            assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
        }
    }
}

/// The most objects one files batch may name.
pub const MAX_FILES_BATCH: usize = 1000;

/// `POST /api/v1/sync/files/batch`: which of these files the master holds
/// (to download them) or needs (to upload them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesBatch {
    pub operation: FilesOperation,
    pub objects: Vec<FileObject>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilesOperation {
    Download,
    Upload,
}

/// A file named by its content: the SHA-256 of its bytes (64 lowercase
/// hex digits) and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObject {
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilesBatchAnswer {
    pub objects: Vec<FileAnswer>,
}

/// What the master says of one file of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileAnswer {
    pub sha256: String,
    /// The size the master holds (download) or was told (upload).
    pub size: u64,
    pub status: FileStatusOnMaster,
    /// Where to download it (`available`) or upload it (`needed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// For `needed`: the bytes the master has received already from an
    /// interrupted upload; the next piece starts there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatusOnMaster {
    /// Download: the master holds it.
    Available,
    /// Download: the master does not hold it.
    Missing,
    /// Upload: the master holds it already; nothing to send.
    Present,
    /// Upload: send it.
    Needed,
}

/// The answer to a piece of an upload (`PATCH /api/v1/sync/files/{sha256}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadAnswer {
    pub status: UploadStatus,
    /// Bytes the master holds of the file now.
    pub received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    /// More is expected, from `received` on.
    Partial,
    /// The whole file arrived, hashed to its name, and is kept.
    Stored,
    /// The master held the file already; the body was not read.
    Present,
}
