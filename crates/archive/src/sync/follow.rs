//! A slave following its master live (`SYNC_LIVE`), between two cycles:
//! one long-poll always open for the master's changes, applied the moment
//! they come, and this node's own changes pushed about half a second after
//! they commit (a burst of edits goes up as one push).
//!
//! Following ends at the next cycle's time (the interval stays the safety
//! net) or at the first failure, which the worker then treats as a failed
//! cycle: breaker, backoff, `Retry-After`. It resumes after the next
//! successful cycle.

use std::time::Duration;

use tokio::time::{Instant, sleep, sleep_until};

use archive_db::Db;
use archive_db::sync::protocol::{ChangesResponse, MAX_CHANGES_WAIT_SECS};

use super::client::MasterClient;
use super::control::Signals;
use super::engine;
use super::error::SyncError;
use super::keys::{self, Kek};
use crate::config::Config;

/// How long each long-poll asks the master to wait.
pub const LONG_POLL_WAIT: Duration = Duration::from_secs(MAX_CHANGES_WAIT_SECS);
/// How long after word of a local commit the push goes: the edits that
/// follow it within this time go with it.
pub const PUSH_DEBOUNCE: Duration = Duration::from_millis(500);
/// Changes per page pulled live (as in a cycle).
const PAGE: i64 = 1000;

/// Follows the master until `until`: `Ok` when that time comes or the
/// master asks for a bootstrap (either way a full cycle is due), `Err` at
/// the first failure.
pub async fn follow(db: &Db, config: &Config, signals: &Signals, until: Instant) -> Result<(), SyncError> {
    let started = archive_db::now();
    let kek = Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())?;
    let key = keys::load_on_slave(db, &kek).await?.ok_or(SyncError::NoKey)?;
    let client = MasterClient::for_long_polls(&config.sync, key, LONG_POLL_WAIT)?;
    tracing::debug!(target: "sync", "following the master live");
    let result = match follow_with(db, config, signals, &client, until).await {
        Err(SyncError::BootstrapRequired) => Ok(()),
        other => other,
    };
    engine::end_live(db, started, result.as_ref().err()).await?;
    result
}

async fn follow_with(
    db: &Db,
    config: &Config,
    signals: &Signals,
    client: &MasterClient,
    until: Instant,
) -> Result<(), SyncError> {
    let step = config.sync.operation_timeout;
    let mut commits = db.log_commits().await?;
    commits.borrow_and_update();
    // A push the master held back (its quota for this key, or its disk)
    // waits for the next full cycle: pushed again at each local commit, it
    // would only be refused again.
    let mut pushes_held = false;
    // Whatever was committed since the cycle's push goes first.
    if db.unpushed_count().await? > 0 {
        let report = within(step, engine::push_live(db, client, std::time::Instant::now())).await?;
        pushes_held = report.push_held_back.is_some();
    }
    engine::note_live(db, |_| {}).await?;
    // When the next long-poll may go (see `unheld`).
    let mut not_before = Instant::now();
    loop {
        let Some(cursor) = engine::cursor(db).await? else { return Err(SyncError::BootstrapRequired) };
        let asked_at = not_before.max(Instant::now());
        let poll = async {
            sleep_until(asked_at).await;
            client.changes_waiting(&cursor, PAGE, LONG_POLL_WAIT).await
        };
        tokio::pin!(poll);
        loop {
            tokio::select! {
                answer = &mut poll => {
                    let received = std::time::Instant::now();
                    let page = answer?;
                    not_before = match unheld(&page, &cursor, asked_at) {
                        true => asked_at + LONG_POLL_WAIT,
                        false => Instant::now(),
                    };
                    let pulled = within(step, engine::pull_live(db, client, &cursor, page, received)).await?;
                    if let Some(pull) = pulled.filter(|p| p.pulled > 0) {
                        tracing::debug!(target: "sync", rows = pull.pulled, delay_ms = pull.delay_ms, "pulled live");
                        // New songs may be pinned or mirrored.
                        signals.files.notify_one();
                    } else {
                        engine::note_live(db, |_| {}).await?;
                    }
                    break;
                }
                changed = commits.changed() => {
                    if changed.is_err() {
                        return Err(SyncError::NotConfigured("the database's commit signal ended"));
                    }
                    if pushes_held {
                        continue;
                    }
                    let committed = std::time::Instant::now();
                    sleep(PUSH_DEBOUNCE).await;
                    commits.borrow_and_update();
                    let report = within(step, engine::push_live(db, client, committed)).await?;
                    pushes_held = report.push_held_back.is_some();
                    tracing::debug!(target: "sync", changes = report.pushed, held_back = pushes_held, "pushed live");
                }
                () = sleep_until(until) => return Ok(()),
            }
        }
    }
}

/// Whether the master answered "nothing new" without holding the request
/// (long-polls off there, or its cap reached): then the next one waits out
/// the rest of the wait, so that a master that holds nothing is not asked
/// again and again.
fn unheld(page: &ChangesResponse, cursor: &str, asked_at: Instant) -> bool {
    page.rows.is_empty() && page.cursor == cursor && asked_at.elapsed() < LONG_POLL_WAIT / 2
}

/// `step` under the operation timeout, as a cycle is.
async fn within<T>(
    limit: Duration,
    step: impl Future<Output = Result<T, SyncError>>,
) -> Result<T, SyncError> {
    tokio::time::timeout(limit, step).await.unwrap_or(Err(SyncError::Timeout))
}
