//! What an operator has told sync to do, kept in `sync_state` so that it
//! holds across restarts and between the CLI and a running server: paused,
//! emergency stop, and (set by the worker itself) "the master refused our
//! key". Also the in-process signals that reach a running worker at once.
//!
//! - **Pause** (yellow): the worker skips its scheduled cycles; a forced
//!   cycle still runs. On a master, slaves are asked to come back later.
//! - **Emergency stop** (red): nothing runs, not even a forced cycle, and a
//!   running cycle is cancelled; on a master, slaves are refused. Only
//!   `clear-stop` lifts it.
//! - **Key refused** (red): the master answered 401; the worker stops trying
//!   until an operator sets a new key, resumes, clears the stop, or forces a
//!   cycle that succeeds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use archive_db::{Db, DbError};

use super::engine::MASTER_PEER;

/// The `sync_state` key holding [`Control`] as JSON.
const CONTROL: &str = "control";

/// Who set a flag, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub at: DateTime<Utc>,
    /// Who or what: an admin's email, `command line`, or the reason the worker stopped.
    pub by: String,
}

impl Mark {
    pub fn now(by: &str) -> Mark {
        Mark { at: archive_db::now(), by: by.to_owned() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub paused: Option<Mark>,
    pub emergency_stop: Option<Mark>,
    /// The master refused this slave's key (the message is in `by`).
    pub key_refused: Option<Mark>,
}

impl Control {
    /// Why a scheduled cycle must not run now, if it must not.
    pub fn hold(&self) -> Option<String> {
        if let Some(stop) = &self.emergency_stop {
            return Some(format!("emergency stop since {} (by {})", stop.at.format("%F %T UTC"), stop.by));
        }
        if let Some(refused) = &self.key_refused {
            return Some(format!("the master refused the slave key: {}; set a new key", refused.by));
        }
        self.paused.as_ref().map(|p| format!("paused since {} (by {})", p.at.format("%F %T UTC"), p.by))
    }
}

pub async fn read(db: &Db) -> Result<Control, DbError> {
    Ok(db.sync_state(CONTROL).await?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

async fn change(db: &Db, edit: impl FnOnce(&mut Control)) -> Result<Control, DbError> {
    let mut tx = db.begin().await?;
    let mut control: Control =
        tx.sync_state(CONTROL).await?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    edit(&mut control);
    let text = serde_json::to_string(&control).expect("plain data serialises");
    tx.set_sync_state(CONTROL, Some(&text)).await?;
    tx.commit().await?;
    Ok(control)
}

pub async fn pause(db: &Db, by: &str) -> Result<Control, DbError> {
    tracing::info!(target: "sync", by, "sync paused");
    change(db, |c| c.paused = c.paused.take().or_else(|| Some(Mark::now(by)))).await
}

/// Lifts a pause and a key refusal (not an emergency stop).
pub async fn resume(db: &Db) -> Result<Control, DbError> {
    tracing::info!(target: "sync", "sync resumed");
    change(db, |c| {
        c.paused = None;
        c.key_refused = None;
    })
    .await
}

pub async fn emergency_stop(db: &Db, by: &str) -> Result<Control, DbError> {
    tracing::warn!(target: "sync", by, "sync emergency stop");
    change(db, |c| c.emergency_stop = c.emergency_stop.take().or_else(|| Some(Mark::now(by)))).await
}

/// Lifts an emergency stop and a key refusal (a pause stays).
pub async fn clear_stop(db: &Db) -> Result<Control, DbError> {
    tracing::info!(target: "sync", "sync emergency stop cleared");
    change(db, |c| {
        c.emergency_stop = None;
        c.key_refused = None;
    })
    .await
}

/// Set by the worker when the master refuses the key (401).
pub async fn key_refused(db: &Db, message: &str) -> Result<Control, DbError> {
    change(db, |c| c.key_refused = Some(Mark::now(message))).await
}

/// A new key was set, or a cycle succeeded: the refusal no longer stands.
pub async fn clear_key_refusal(db: &Db) -> Result<(), DbError> {
    if read(db).await?.key_refused.is_some() {
        change(db, |c| c.key_refused = None).await?;
    }
    Ok(())
}

/// Clears the record of failures: the failed attempts in the list, the
/// consecutive-failure count and last error, and the circuit breaker (closed).
pub async fn clear_failed(db: &Db) -> Result<u64, DbError> {
    let removed = db.delete_failed_sync_attempts().await?;
    if let Some(mut status) = db.peer_status(MASTER_PEER).await? {
        status.consecutive_failures = 0;
        status.last_error = None;
        status.breaker_state = archive_db::sync::state::BreakerState::Closed;
        status.breaker_opened_at = None;
        db.save_peer_status(&status).await?;
    }
    tracing::info!(target: "sync", removed, "failed sync records cleared");
    Ok(removed)
}

/// Signals to a worker in this process, and a short-lived copy of
/// [`Control`] for the master's hot path. Changes made by another process
/// (the CLI) reach the worker when it next reads [`Control`], and the
/// master's copy within a second.
#[derive(Debug, Default)]
pub struct Signals {
    /// Look at the control state now (resume, clear stop, clear failed).
    pub wake: Notify,
    /// Emergency stop: cancel a running cycle now (`notify_waiters`: only a
    /// cycle running at that moment is cancelled).
    pub stop: Notify,
    /// The file transfer queue has work: look at it now.
    pub files: Notify,
    cached: std::sync::Mutex<Option<(std::time::Instant, Control)>>,
    /// Counts the changes made in this process, so that a read that began
    /// before one is not kept as the copy after it.
    changes: std::sync::atomic::AtomicU64,
}

/// How long the master serves slaves from its copy of [`Control`].
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl Signals {
    /// The control state, read at most once a second.
    pub async fn control(&self, db: &Db) -> Result<Control, DbError> {
        if let Some((at, control)) = self.cached.lock().expect("not poisoned").as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return Ok(control.clone());
        }
        let changes = self.changes.load(std::sync::atomic::Ordering::Acquire);
        let control = read(db).await?;
        let mut cached = self.cached.lock().expect("not poisoned");
        // A change made while this read ran (a resume) must not be hidden
        // for a second behind the state from before it.
        if self.changes.load(std::sync::atomic::Ordering::Acquire) == changes {
            *cached = Some((std::time::Instant::now(), control.clone()));
        }
        Ok(control)
    }

    /// This process changed the control state: drop the copy, tell the worker.
    pub fn changed(&self, control: &Control) {
        self.changes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        *self.cached.lock().expect("not poisoned") = None;
        if control.emergency_stop.is_some() {
            self.stop.notify_waiters();
        } else {
            self.wake.notify_one();
            self.files.notify_one();
        }
    }
}
