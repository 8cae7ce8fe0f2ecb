//! Sync administration, shared by the admin API and the sync pages: slave
//! keys (a master), a cycle now (a slave), and pause, resume and emergency
//! stop (either).

use archive_db::sync::state::SlaveKey;

use super::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::sync::control::{self, Control};
use crate::sync::engine::{self, CycleReport, SyncError};
use crate::sync::fetch::{self, FetchError, Fetched};
use crate::sync::keys;
use crate::sync::master::require_master;

/// Issues a slave key (a master only). Its secret is in the answer, once.
pub async fn issue_key(
    state: &AppState,
    name: &str,
    node_id: &str,
    overlap_hours: Option<u32>,
    read_only: bool,
) -> ServiceResult<keys::IssuedKey> {
    require_master(state).await?;
    if name.trim().is_empty() || node_id.trim().is_empty() {
        return Err(ServiceError::Invalid {
            field: None,
            message: "a slave key needs a name and the slave's node id".into(),
        });
    }
    Ok(keys::create(&state.db, name, node_id, overlap_hours, read_only).await?)
}

/// The slave keys a master has issued.
pub async fn keys(state: &AppState) -> ServiceResult<Vec<SlaveKey>> {
    Ok(state.db.slave_keys().await?)
}

/// Revokes a slave key at once.
pub async fn revoke(state: &AppState, id: uuid::Uuid) -> ServiceResult<()> {
    let mut tx = state.db.begin().await?;
    tx.revoke_slave_key(id).await?;
    tx.commit().await?;
    tracing::info!(target: "sync", %id, "slave key revoked");
    // A request held with that key must not receive what comes next: every
    // held request answers now, and the next ones meet the revocation.
    state.live_polls.end_all();
    Ok(())
}

/// One sync cycle now (a slave), answered when done. It runs even when
/// paused or while the breaker is open (an operator asked); not during an
/// emergency stop.
pub async fn force_sync(state: &AppState) -> ServiceResult<CycleReport> {
    let config = state.config();
    let report = engine::run_cycle_now(&state.db, &config).await.map_err(sync_failure)?;
    state.sync_signals.files.notify_one();
    Ok(report)
}

fn sync_failure(e: SyncError) -> ServiceError {
    match e {
        // This node's own set-up, not the master, is what is missing.
        SyncError::NotConfigured(_) | SyncError::NoKey | SyncError::KeyStore(_) => {
            ServiceError::SyncNotConfigured(e.to_string())
        }
        SyncError::Stopped(_) => ServiceError::SyncStopped(e.to_string()),
        other => ServiceError::SyncFailed(other.to_string()),
    }
}

/// Fetches a song's audio file from the master now (a slave), unless this
/// node holds it already.
pub async fn fetch_song_file(state: &AppState, song_id: uuid::Uuid) -> ServiceResult<Fetched> {
    fetch::fetch_song_file(state, song_id).await.map_err(|e| match e {
        FetchError::NoSong => ServiceError::NotFound("song"),
        e @ (FetchError::HashUnknown | FetchError::NotOnMaster | FetchError::QuotaFull) => {
            ServiceError::Conflict(e.to_string())
        }
        FetchError::Sync(e) => sync_failure(e),
        FetchError::Store(e) => ServiceError::SyncFailed(e.to_string()),
        FetchError::Db(e) => ServiceError::Db(e),
    })
}

/// What an admin can tell sync to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAction {
    Pause,
    Resume,
    EmergencyStop,
    ClearStop,
    ClearFailed,
}

/// Changes the control state (kept across restarts) and tells this
/// process's worker and the master's copy at once; `by` is the admin's email.
pub async fn control_sync(state: &AppState, action: ControlAction, by: &str) -> ServiceResult<Control> {
    let db = &state.db;
    let control = match action {
        ControlAction::Pause => control::pause(db, by).await?,
        ControlAction::Resume => control::resume(db).await?,
        ControlAction::EmergencyStop => control::emergency_stop(db, by).await?,
        ControlAction::ClearStop => control::clear_stop(db).await?,
        ControlAction::ClearFailed => {
            control::clear_failed(db).await?;
            control::read(db).await?
        }
    };
    state.sync_signals.changed(&control);
    // Held long-polls answer now: the slaves' next requests meet the change.
    state.live_polls.end_all();
    Ok(control)
}
