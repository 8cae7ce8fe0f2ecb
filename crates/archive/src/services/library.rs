//! Writes to the library on behalf of a user, and what a slave leaves to
//! its master.

use super::{ServiceError, ServiceResult};
use crate::config::NodeRole;
use crate::state::AppState;

/// Runs one write in its own transaction, on behalf of the user `$author`
/// (every change it records names them; see `Db::begin_as`). The error of
/// each step converts with `?` into the caller's error type.
macro_rules! write_as {
    ($state:expr, $author:expr, |$tx:ident| $body:expr) => {{
        let mut $tx = $state.db.begin_as($author).await?;
        let value = $body.await?;
        $tx.commit().await?;
        value
    }};
}
pub(crate) use write_as;

/// On a slave, what only an admin may do to synced data (deleting from the
/// library, the shared settings) is done on the master: a slave's push
/// carries at most a moderator's rights (see docs/SYNC.md).
pub fn master_only(state: &AppState, what: &str) -> ServiceResult<()> {
    let config = state.config();
    if config.role != NodeRole::Slave {
        return Ok(());
    }
    let master = config.sync.master_url.as_deref().unwrap_or("the master");
    Err(ServiceError::MasterOnly(format!("{what} is done on the master ({master}); this node is its slave")))
}
