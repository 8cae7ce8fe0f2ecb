//! [`LogPosition`]: where a reader is in the change log, and its text form
//! (`xid:id`), which sync's cursors and the compaction floor carry. A leaf
//! module: the dialect modules read positions without knowing the log's
//! record types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A position in the change log, ordered by `(xid, id)`.
///
/// On SQLite `xid` is always 0 and `id` (AUTOINCREMENT, one writer) is in
/// commit order. On PostgreSQL ids are allocated before commit, so `id` alone
/// could pass over a transaction that commits late; there the position leads
/// with the writing transaction's id and readers never read past the oldest
/// transaction still running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogPosition {
    pub xid: i64,
    pub id: i64,
}

impl LogPosition {
    /// Before the first change.
    pub const START: LogPosition = LogPosition { xid: 0, id: 0 };
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.xid, self.id)
    }
}

/// A text that is not `xid:id`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a log position (xid:id): {0:?}")]
pub struct BadPosition(String);

impl FromStr for LogPosition {
    type Err = BadPosition;

    fn from_str(text: &str) -> Result<LogPosition, BadPosition> {
        let bad = || BadPosition(text.chars().take(64).collect());
        let (xid, id) = text.split_once(':').ok_or_else(bad)?;
        Ok(LogPosition { xid: xid.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_from_its_text() {
        let position = LogPosition { xid: 7_000_000_001, id: 42 };
        assert_eq!(position.to_string(), "7000000001:42");
        assert_eq!("7000000001:42".parse::<LogPosition>(), Ok(position));
        for bad in ["", "1", "1:", ":2", "a:b", "1:2:3"] {
            assert!(bad.parse::<LogPosition>().is_err(), "{bad:?}");
        }
    }
}
