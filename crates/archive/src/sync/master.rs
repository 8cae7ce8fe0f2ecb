//! The master's side of the protocol, apart from HTTP: whether this node
//! serves slaves now, the cursors it hands out and takes back, the pages of
//! changes and rows, applying a push, and the record of each slave's
//! visits. `api::sync` is the thin HTTP layer over it; the slave's side is
//! `engine`. The database work is `archive_db::sync::master`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use archive_db::sync::master::ChangesPage;
use archive_db::sync::protocol::BootstrapPage;
use archive_db::sync::protocol::{
    ApplyResponse, BootstrapStart, ChangesResponse, Cursor, MAX_BOOTSTRAP_PAGE, MAX_CHANGES_PAGE,
    MAX_CHANGES_WAIT_SECS, MAX_PUSH, PROTOCOL, Ping, PushChange,
};
use archive_db::sync::state::{SlaveKey, SlaveVisit as Visit};
use archive_db::{Db, DbError, SYNCED_TABLES};

use super::long_poll;
use crate::config::NodeRole;
use crate::state::AppState;

/// Why the master does not serve a slave's request.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("this node is not a sync master (ARCHIVE_ROLE)")]
    NotMaster,
    /// An operator paused sync (`stopped`: an emergency stop): come back later.
    #[error("sync on the master: {reason}")]
    Held { stopped: bool, reason: String },
    /// The slave cannot continue from its cursor: it copies the data again.
    #[error("{0}; copy the data again (bootstrap)")]
    BootstrapRequired(&'static str),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("this slave key is read-only: it pulls and never pushes")]
    ReadOnlyKey,
    #[error("synced table not found")]
    UnknownTable,
    /// The master keeps its disk's free space (`ARCHIVE_MIN_FREE_GB`).
    #[error(transparent)]
    LowOnSpace(archive_media::StoreError),
    #[error(
        "this slave key has {left} of its {quota} changes for today left \
         (SYNC_PUSH_CHANGES_PER_DAY), too few for a push of {pushed}; more are taken in \
         {retry_after_secs} s, when the next day (UTC) starts"
    )]
    PushQuotaUsed { pushed: u64, left: u64, quota: u64, retry_after_secs: u64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

type MasterResult<T> = Result<T, MasterError>;

/// The master's protocol serves slaves only on a master, and not while an
/// operator has paused or stopped sync (the slave is asked to come back
/// later, which its worker honours without counting a failure).
pub async fn require_master(state: &AppState) -> MasterResult<()> {
    if state.config().role != NodeRole::Master {
        return Err(MasterError::NotMaster);
    }
    let control = state.sync_signals.control(&state.db).await?;
    if control.emergency_stop.is_none() && control.paused.is_none() {
        return Ok(());
    }
    let stopped = control.emergency_stop.is_some();
    Err(MasterError::Held { stopped, reason: control.hold().unwrap_or_default() })
}

async fn head_cursor(db: &Db) -> MasterResult<Cursor> {
    Ok(Cursor { epoch: db.sync_epoch().await?, position: db.sync_head().await? })
}

/// `ping`: who this master is, where its log stands, and what the key may do.
pub async fn ping(state: &AppState, key: &SlaveKey) -> MasterResult<Ping> {
    require_master(state).await?;
    let head = head_cursor(&state.db).await?;
    note_seen(state, key, |_| {});
    Ok(Ping {
        protocol: PROTOCOL,
        node_id: state.config().node_id.clone(),
        epoch: head.epoch.clone(),
        head: head.to_string(),
        your_node_id: key.node_id.clone(),
        read_only: key.read_only,
    })
}

/// Whether `key` is still valid (not revoked, not expired) now.
async fn still_live(db: &Db, key: &SlaveKey) -> MasterResult<bool> {
    let now = archive_db::now();
    Ok(db.slave_key_by_prefix(&key.key_prefix).await?.is_some_and(|k| k.id == key.id && k.is_live(now)))
}

fn parse_cursor(text: &str) -> MasterResult<Cursor> {
    text.parse().map_err(|_| MasterError::Invalid {
        field: "cursor",
        message: "cursor is not one this master gave".into(),
    })
}

/// Checks a slave's cursor against this log: same epoch, not behind the
/// retention floor, not ahead of the head (a master restored from an older
/// backup).
async fn check_cursor(db: &Db, cursor: Cursor) -> MasterResult<Cursor> {
    if cursor.epoch != db.sync_epoch().await? {
        return Err(MasterError::BootstrapRequired("the cursor is from another epoch of this master's log"));
    }
    if cursor.position < db.sync_retention_floor().await? {
        return Err(MasterError::BootstrapRequired("the cursor is older than the changes this master keeps"));
    }
    if cursor.position > db.sync_ceiling().await? {
        return Err(MasterError::BootstrapRequired(
            "the cursor is ahead of this master's log (was it restored from a backup?)",
        ));
    }
    Ok(cursor)
}

/// A page of changes after `cursor` (as row states), for the slave `key`;
/// with none, the request waits up to `wait` for some (see `long_poll`).
pub async fn changes(
    state: &AppState,
    key: &SlaveKey,
    cursor: Option<&str>,
    limit: i64,
    files_here: Option<i64>,
    wait: Duration,
) -> MasterResult<ChangesResponse> {
    Box::pin(require_master(state)).await?;
    let text = cursor.ok_or_else(|| MasterError::Invalid {
        field: "cursor",
        message: "cursor is required (from bootstrap or the last page)".into(),
    })?;
    if !(1..=MAX_CHANGES_PAGE).contains(&limit) {
        return Err(MasterError::Invalid {
            field: "limit",
            message: format!("limit must be from 1 to {MAX_CHANGES_PAGE}"),
        });
    }
    if wait > Duration::from_secs(MAX_CHANGES_WAIT_SECS) {
        return Err(MasterError::Invalid {
            field: "wait",
            message: format!("wait must be from 0 to {MAX_CHANGES_WAIT_SECS} seconds"),
        });
    }
    // Subscribed before anything is read: a commit from here on moves it.
    let mut commits = Box::pin(state.db.log_commits()).await?;
    let parsed = parse_cursor(text)?;
    let idle = long_poll::at_idle_head(&state.live_polls, &mut commits, &parsed);
    let cursor = match idle {
        // It stood at the head, which has not moved: it is still valid.
        true => parsed,
        false => Box::pin(check_cursor(&state.db, parsed)).await?,
    };
    let waiting = long_poll::Waiting {
        db: &state.db,
        polls: &state.live_polls,
        cap: state.config().sync.max_live_polls,
        on_hold: Box::new(|| note_seen(state, key, |visit| visit.live_at = Some(archive_db::now()))),
    };
    // `remaining` also counts changes held back behind a transaction still
    // open (see `ChangesResponse::remaining`).
    let long_poll::Answer { mut page, remaining } =
        long_poll::changes(waiting, commits, &cursor, idle, limit, &key.node_id, wait).await?;
    if !wait.is_zero() && !page.rows.is_empty() && !Box::pin(still_live(&state.db, key)).await? {
        // Revoked while the request was held, from the command line or
        // another process (this one ends held requests itself): nothing
        // made since goes out; the next request meets the revocation.
        page =
            ChangesPage { rows: Vec::new(), next: cursor.position, has_more: false, newest_change_at: None };
    }
    let next = Cursor { epoch: cursor.epoch, position: page.next };
    let newest_change_age_ms =
        page.newest_change_at.map(|at| (archive_db::now() - at).num_milliseconds().max(0));
    tracing::debug!(target: "sync", node = %key.node_id, rows = page.rows.len(), has_more = page.has_more, "served changes");
    let pulled = page.rows.len() as i64;
    let cursor_text = next.to_string();
    let seen_cursor = cursor_text.clone();
    note_seen(state, key, move |visit| {
        visit.pulled += pulled;
        visit.cursor = Some(seen_cursor);
        visit.lag = Some(remaining);
        visit.files_here = files_here.or(visit.files_here);
    });
    Ok(ChangesResponse {
        rows: page.rows,
        cursor: cursor_text,
        has_more: page.has_more,
        remaining,
        newest_change_age_ms,
    })
}

/// [`apply`] in a task of its own, which runs to its end even when the
/// slave hangs up mid-push. A handler is dropped with its connection: its
/// transaction would roll back while the push stayed counted against the
/// key's quota, and the slave's next try would count it again.
pub async fn apply_to_the_end(
    state: AppState,
    key: SlaveKey,
    changes: Vec<PushChange>,
) -> MasterResult<ApplyResponse> {
    to_the_end(&PUSHES_RUNNING, async move { apply(&state, &key, &changes).await }).await?
}

/// Pushes applied at once (see [`to_the_end`]): each needs the database's
/// writer, so more would only wait there.
pub(crate) static PUSHES_RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(64);

/// Upload pieces received at once (see [`to_the_end`]): as many as the
/// connections a master takes by default (`ARCHIVE_MAX_CONNECTIONS`); a
/// piece's task ends soon after its connection, with its body. Apart from
/// pushes, so that slow uploads never hold a push back.
pub(crate) static PIECES_RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(512);

/// Runs `work` in a task of its own, to its end even when the request that
/// asked for it is dropped with its connection. At most as many as `room`
/// has permits run at once; the others wait in their request, so that a
/// client sending work and hanging up at once (a stolen key) cannot pile up
/// more of it than that, however many connections it opens and drops.
pub(crate) async fn to_the_end<T: Send + 'static>(
    room: &'static tokio::sync::Semaphore,
    work: impl Future<Output = T> + Send + 'static,
) -> MasterResult<T> {
    let room = room.acquire().await.expect("the semaphore is never closed");
    let running = tokio::spawn(async move {
        let _room = room;
        work.await
    });
    match running.await {
        Ok(done) => Ok(done),
        Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
        // Only a runtime shutting down cancels it.
        Err(_) => Err(MasterError::Held { stopped: false, reason: "the master is shutting down".into() }),
    }
}

/// Applies a slave's push ("master wins"; see `archive_db::sync::master`).
async fn apply(state: &AppState, key: &SlaveKey, changes: &[PushChange]) -> MasterResult<ApplyResponse> {
    require_master(state).await?;
    if key.read_only {
        return Err(MasterError::ReadOnlyKey);
    }
    if changes.len() > MAX_PUSH {
        return Err(MasterError::Invalid {
            field: "changes",
            message: format!("at most {MAX_PUSH} changes per push"),
        });
    }
    // A push grows the database: not onto a disk with less than its floor free.
    if let Err(low) = state.store.check_room(0, state.config().min_free_bytes).await {
        return Err(MasterError::LowOnSpace(low));
    }
    let (day, pushed) = take_push_quota(state, key, changes.len() as u64).await?;
    let answer = match state.db.apply_pushed(&key.node_id, changes).await {
        Ok(answer) => answer,
        Err(error) => {
            // Nothing was applied: the push does not count.
            if let Err(error) = state.db.give_back_pushed_changes(key.id, &day, pushed).await {
                tracing::warn!(target: "sync", %error, pushed, "could not give back a failed push's count");
            }
            return Err(error.into());
        }
    };
    tracing::debug!(target: "sync", node = %key.node_id, changes = answer.outcomes.len(), "applied a push");
    state.metrics.record_received(&answer.outcomes);
    let pushed = answer.outcomes.len() as i64;
    note_seen(state, key, move |visit| visit.pushed += pushed);
    Ok(answer)
}

/// Counts a push whole against its key's changes for today
/// (`SYNC_PUSH_CHANGES_PER_DAY`), or refuses it: a read-write key, stolen,
/// grows the database only that fast. Returns the day and the count taken.
async fn take_push_quota(state: &AppState, key: &SlaveKey, pushed: u64) -> MasterResult<(String, u64)> {
    let quota = state.config().sync.push_changes_per_day;
    let (day, retry_after_secs) = crate::sync::files::upload_day();
    if state.db.take_pushed_changes(key.id, &day, pushed, quota).await? {
        return Ok((day, pushed));
    }
    let left = quota.saturating_sub(state.db.pushed_changes(key.id, &day).await?);
    Err(MasterError::PushQuotaUsed { pushed, left, quota, retry_after_secs })
}

/// Where a slave's copy of the data starts.
pub async fn bootstrap_start(state: &AppState, key: &SlaveKey) -> MasterResult<BootstrapStart> {
    require_master(state).await?;
    let cursor = head_cursor(&state.db).await?;
    tracing::info!(target: "sync", node = %key.node_id, "a slave starts a bootstrap");
    note_seen(state, key, |_| {});
    Ok(BootstrapStart {
        cursor: cursor.to_string(),
        tables: SYNCED_TABLES.iter().map(|t| t.to_string()).collect(),
    })
}

/// One page of one table's rows, after the row `after`.
pub async fn bootstrap_page(
    state: &AppState,
    table: &str,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> MasterResult<BootstrapPage> {
    require_master(state).await?;
    if !SYNCED_TABLES.contains(&table) {
        return Err(MasterError::UnknownTable);
    }
    if !(1..=MAX_BOOTSTRAP_PAGE).contains(&limit) {
        return Err(MasterError::Invalid {
            field: "limit",
            message: format!("limit must be from 1 to {MAX_BOOTSTRAP_PAGE}"),
        });
    }
    Ok(state.db.bootstrap_page(table, after, limit).await?)
}

/// What a master learns from slaves' requests, gathered in memory and
/// written at most once a second, every slave's in one transaction, off the
/// request path: a poll costs no write transaction of its own, and
/// thousands of slaves renewing long-polls cost one a second.
#[derive(Debug, Default)]
pub struct Visits {
    pending: std::sync::Mutex<HashMap<String, Visit>>,
}

/// How long visits gather before they are written.
const VISIT_FLUSH_DELAY: Duration = Duration::from_secs(1);

fn note_seen(state: &AppState, key: &SlaveKey, update: impl FnOnce(&mut Visit)) {
    let node = key.node_id.clone();
    let first = {
        let mut pending = state.sync_visits.pending.lock().expect("not poisoned");
        let first = pending.is_empty();
        let visit = pending
            .entry(node.clone())
            .or_insert_with(|| Visit { node_id: node.clone(), ..Visit::default() });
        visit.seen_at = Some(archive_db::now());
        visit.key_id = Some(key.id);
        update(visit);
        first
    };
    if first {
        let (db, visits): (Db, Arc<Visits>) = (state.db.clone(), state.sync_visits.clone());
        tokio::spawn(async move {
            tokio::time::sleep(VISIT_FLUSH_DELAY).await;
            let gathered = std::mem::take(&mut *visits.pending.lock().expect("not poisoned"));
            let gathered: Vec<Visit> = gathered.into_values().collect();
            if let Err(e) = db.record_slave_visits(&gathered).await {
                tracing::warn!(target: "sync", error = %e, slaves = gathered.len(), "could not record slaves' visits");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn work_run_to_its_end_is_capped_at_its_rooms_permits_running_at_once() {
        static ROOM: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let calls: Vec<_> = (0..16 + 8)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(to_the_end(&ROOM, async move {
                    most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for call in calls {
            call.await.expect("no panic").expect("not cancelled");
        }
        assert_eq!(most.load(Ordering::SeqCst), 16, "16 at once, the other 8 after");
    }
}
