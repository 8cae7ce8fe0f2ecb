//! The sync protocol's messages, shared by the master's handlers and the
//! slave's client. JSON over HTTPS under `/api/v1/sync/`, responses gzip'd
//! when the client accepts it. `docs/SYNC.md` describes each exchange.

use serde::{Deserialize, Serialize};

use archive_db::{LogPosition, PushChange, RowState};

/// The protocol's version; a master refuses slaves that speak another.
pub const PROTOCOL: u32 = 1;

/// The largest page of changes a slave may ask for.
pub const MAX_CHANGES_PAGE: i64 = 5000;
/// The largest push a master takes in one request.
pub const MAX_PUSH: usize = 1000;
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

impl Cursor {
    pub fn encode(&self) -> String {
        hex::encode(format!("{}/{}", self.epoch, self.position))
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = String::from_utf8(hex::decode(text).ok()?).ok()?;
        let (epoch, position) = raw.split_once('/')?;
        Some(Cursor { epoch: epoch.to_owned(), position: position.parse().ok()? })
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

/// `GET /api/v1/sync/changes?cursor=&limit=`.
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
}

/// `POST /api/v1/sync/apply`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub changes: Vec<PushChange>,
}

/// `POST /api/v1/sync/apply`'s answer (see [`archive_db::PushAnswer`]).
pub type ApplyResponse = archive_db::PushAnswer;

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
