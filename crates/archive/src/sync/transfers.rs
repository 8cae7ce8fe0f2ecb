//! The slave's queue of files to fetch from the master, and the worker that
//! empties it.
//!
//! The queue is the `file_transfers` table, so it survives a restart: a
//! press of play, a pin and mirroring all queue a hash, and the worker
//! fetches the most urgent due files, a few at a time, one transfer per
//! hash. A download that stops half way leaves its piece under `.incoming`
//! and resumes from it on the next attempt (`fetch::download`). A failure
//! puts the file's next attempt off (doubling, up to an hour); a master that
//! cannot be reached ends the round. Pause holds the queue (running
//! transfers finish), an emergency stop cancels running transfers at once.
//!
//! Fetched files count against `SYNC_FILES_MAX_GB`. A play or a pin makes
//! room by evicting the least recently played fetched files that no pin
//! keeps; mirroring only fills the room there is. A node's own imports,
//! uploads and received files are never evicted.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use archive_db::sync::protocol::{FileObject, FileStatusOnMaster, FilesOperation};
use archive_db::{ContentOrigin, Db, DbError, FileTransfer, TransferReason};
use archive_media::StoreError;

use super::client::MasterClient;
use super::error::SyncError;
use super::fetch::{self, FetchError, Fetched};
use crate::config::{Config, FilesPolicy, NodeRole};
use crate::state::AppState;

/// Downloads at once, at most.
pub const CONCURRENT_TRANSFERS: usize = 4;
/// Hashes asked about in one round (one batch question to the master).
const ROUND: i64 = 500;
/// Files queued by one planning pass, at most (mirroring a large library
/// queues it a slice at a time).
const PLAN: i64 = 1000;
/// With nothing due, the queue is looked at again after this long anyway.
const IDLE: Duration = Duration::from_secs(60);
/// The first retry waits this long; each failure doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// What this process knows of its transfers beyond the queue table.
#[derive(Debug, Default)]
pub struct Transfers {
    /// Hashes being fetched now (one transfer per hash).
    busy: Mutex<HashSet<String>>,
    /// Bytes of downloads running now: counted against the quota before they land.
    reserved: AtomicU64,
    /// Bytes received, and since when, for the transfer rate.
    received: Mutex<RateWindow>,
}

#[derive(Debug)]
struct RateWindow {
    since: Instant,
    bytes: u64,
    /// The rate of the last full window, bytes per second.
    last: f64,
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow { since: Instant::now(), bytes: 0, last: 0.0 }
    }
}

/// The rate is measured over windows of this length.
const RATE_WINDOW: Duration = Duration::from_secs(5);

impl Transfers {
    /// Bytes per second received from the master, over the last few seconds.
    pub fn rate(&self) -> f64 {
        let window = self.received.lock().expect("not poisoned");
        if window.since.elapsed() > RATE_WINDOW * 2 { 0.0 } else { window.last }
    }

    /// Hashes being fetched now.
    pub fn busy(&self) -> Vec<String> {
        self.busy.lock().expect("not poisoned").iter().cloned().collect()
    }

    pub(crate) fn count_received(&self, bytes: u64) {
        let mut window = self.received.lock().expect("not poisoned");
        window.bytes += bytes;
        let elapsed = window.since.elapsed();
        if elapsed >= RATE_WINDOW {
            window.last = window.bytes as f64 / elapsed.as_secs_f64();
            window.bytes = 0;
            window.since = Instant::now();
        }
    }

    /// Claims `sha256` for one transfer; `None` if another runs already.
    fn claim(&self, sha256: &str) -> Option<Claim<'_>> {
        self.busy.lock().expect("not poisoned").insert(sha256.to_owned()).then(|| Claim {
            transfers: self,
            sha256: sha256.to_owned(),
            reserved: 0,
        })
    }
}

/// One running transfer: releases its hash and its reserved bytes when dropped.
struct Claim<'a> {
    transfers: &'a Transfers,
    sha256: String,
    reserved: u64,
}

impl Claim<'_> {
    fn reserve(&mut self, bytes: u64) {
        self.transfers.reserved.fetch_add(bytes, Ordering::AcqRel);
        self.reserved += bytes;
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.transfers.reserved.fetch_sub(self.reserved, Ordering::AcqRel);
        self.transfers.busy.lock().expect("not poisoned").remove(&self.sha256);
    }
}

/// Whether this node fetches files at all now.
fn fetching(config: &Config) -> bool {
    config.role == NodeRole::Slave && config.sync.files != FilesPolicy::Off
}

/// Queues the file `sha256` and wakes the worker.
pub async fn queue(state: &AppState, sha256: &str, size: u64, reason: TransferReason) -> Result<(), DbError> {
    let mut tx = state.db.begin().await?;
    tx.queue_file_transfer(sha256, size, reason).await?;
    tx.commit().await?;
    state.sync_signals.files.notify_one();
    Ok(())
}

/// Whether the sync worker's breaker is open: the master failed to answer
/// again and again lately, so a play does not wait to find that out again.
pub async fn master_known_unreachable(db: &Db) -> Result<bool, DbError> {
    let status = db.peer_status(super::engine::MASTER_PEER).await?;
    Ok(status.is_some_and(|s| s.breaker_state == archive_db::sync::state::BreakerState::Open))
}

/// The worker: runs for the life of the server, idle unless this node is a
/// slave that fetches files. Woken by `Signals::files` (a play, a pin, a
/// finished cycle, an operator's resume), otherwise when the next retry is
/// due, and at least once a minute.
pub async fn run(state: AppState) {
    loop {
        let config = state.config();
        let mut pause = IDLE;
        if fetching(&config) {
            match drain(&state).await {
                Ok(fetched) => {
                    if fetched > 0 {
                        tracing::info!(target: "sync", fetched, "fetched files from the master");
                    }
                    pause = until_next_due(&state.db).await;
                }
                // Held, or the master is away: wait to be woken (resume, a
                // cycle that succeeded, a play) or for a minute, not less.
                Err(error) => tracing::info!(target: "sync", %error, "file transfers wait"),
            }
        }
        tokio::select! {
            _ = state.sync_signals.files.notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

async fn until_next_due(db: &Db) -> Duration {
    match db.next_file_transfer_at().await {
        Ok(Some(at)) => (at - archive_db::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(Duration::from_millis(100), IDLE),
        _ => IDLE,
    }
}

/// Plans (pins, and everything with `mirror`), then fetches every due file
/// in the queue: how many files arrived. Stops early when the master cannot
/// be reached, when sync is held, and at once on an emergency stop.
pub async fn drain(state: &AppState) -> Result<u64, FetchError> {
    let mut fetched = 0;
    loop {
        let config = state.config();
        if !fetching(&config) {
            return Ok(fetched);
        }
        plan(&state.db, &config, &state.transfers).await?;
        let due = state.db.due_file_transfers(archive_db::now(), &state.transfers.busy(), ROUND).await?;
        if due.is_empty() {
            return Ok(fetched);
        }
        let client = fetch::client(&state.db, &config, &state.sync_signals).await?;
        let round = tokio::select! {
            round = fetch_round(state, &config, &client, due) => round?,
            _ = state.sync_signals.stop.notified() => {
                return Err(SyncError::Stopped("emergency stop".to_owned()).into());
            }
        };
        fetched += round;
        if round == 0 {
            // Everything due failed or waits: the next attempts are in the future.
            return Ok(fetched);
        }
    }
}

/// Queues what pins keep and, with `mirror`, what fits in the quota; drops
/// what no song needs any more.
async fn plan(db: &Db, config: &Config, transfers: &Transfers) -> Result<(), DbError> {
    let pinned = db.pinned_files_wanted(PLAN).await?;
    let mut wanted: Vec<(String, u64, TransferReason)> =
        pinned.into_iter().map(|(hash, size)| (hash, size, TransferReason::Pin)).collect();
    if config.sync.files == FilesPolicy::Mirror {
        let mut room = match config.sync.files_max_bytes {
            Some(quota) => quota.saturating_sub(used(db, transfers).await?),
            None => u64::MAX,
        };
        for (hash, size) in db.songs_without_file_here(PLAN).await? {
            if size > room {
                break;
            }
            room -= size;
            wanted.push((hash, size, TransferReason::Mirror));
        }
    }
    let mut tx = db.begin().await?;
    tx.drop_orphan_file_transfers().await?;
    for (hash, size, reason) in &wanted {
        tx.queue_file_transfer(hash, *size, *reason).await?;
    }
    tx.commit().await
}

/// Bytes the quota counts now: fetched files, and downloads running.
async fn used(db: &Db, transfers: &Transfers) -> Result<u64, DbError> {
    Ok(db.content_bytes(ContentOrigin::Fetched).await? + transfers.reserved.load(Ordering::Acquire))
}

/// One batch question for `due`, then their downloads, a few at a time.
async fn fetch_round(
    state: &AppState,
    config: &Config,
    client: &MasterClient,
    due: Vec<FileTransfer>,
) -> Result<u64, FetchError> {
    let objects = due.iter().map(|t| FileObject { sha256: t.sha256.clone(), size: 0 }).collect();
    let answer = client.files_batch(FilesOperation::Download, objects).await?;
    let mut starts = Vec::new();
    for (transfer, object) in due.into_iter().zip(answer.objects) {
        if object.sha256 != transfer.sha256 {
            return Err(SyncError::Protocol("the master answered about other files than asked".into()).into());
        }
        match object.status {
            FileStatusOnMaster::Available => starts.push((transfer, object.size)),
            _ => failed(&state.db, &transfer, "the master does not hold this file (yet)").await?,
        }
    }
    let mut fetched = 0;
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut starts = starts.into_iter();
    loop {
        while running.len() < CONCURRENT_TRANSFERS {
            let Some((transfer, size)) = starts.next() else { break };
            if let Some(hold) = state.sync_signals.control(&state.db).await?.hold() {
                return Err(SyncError::Stopped(hold).into());
            }
            running.push(transfer_one(state, config, client, transfer, size));
        }
        let Some(done) = futures_util::StreamExt::next(&mut running).await else { break };
        match done {
            Ok(true) => fetched += 1,
            Ok(false) => {}
            // The master is gone: the rest would fail the same way.
            Err(error) => return Err(error),
        }
    }
    Ok(fetched)
}

/// Fetches one queued file: `Ok(true)` when it arrived, `Ok(false)` when it
/// failed (recorded, retried later) or was left (no room, another transfer).
async fn transfer_one(
    state: &AppState,
    config: &Config,
    client: &MasterClient,
    transfer: FileTransfer,
    size: u64,
) -> Result<bool, FetchError> {
    let Some(mut claim) = state.transfers.claim(&transfer.sha256) else { return Ok(false) };
    if !make_room(state, config, &transfer, size).await? {
        // Mirroring only fills the room there is; a later plan queues it again.
        let mut tx = state.db.begin().await?;
        tx.finish_file_transfer(&transfer.sha256).await?;
        tx.commit().await?;
        return Ok(false);
    }
    claim.reserve(size);
    let result =
        fetch::download(&state.db, &state.store, client, &transfer.sha256, size, Some(&state.transfers))
            .await;
    drop(claim);
    match result {
        Ok(_) => Ok(true),
        // Another process fetches it now; the next round sees it held.
        Err(FetchError::Store(StoreError::Busy)) => Ok(false),
        Err(FetchError::Sync(error @ (SyncError::Unreachable(_) | SyncError::Timeout))) => {
            failed(&state.db, &transfer, &error.to_string()).await?;
            Err(error.into())
        }
        Err(error) => {
            failed(&state.db, &transfer, &error.to_string()).await?;
            Ok(false)
        }
    }
}

/// Fetches the file `sha256` now, outside the queue's order (an operator
/// asked), unless this node holds it already; within the quota as a play.
pub async fn fetch_now(state: &AppState, sha256: &str) -> Result<Fetched, FetchError> {
    if let Some(held) = super::files::held(&state.db, sha256).await? {
        return Ok(Fetched { sha256: sha256.to_owned(), size: held.size, transferred: 0 });
    }
    let config = state.config();
    let client = fetch::client(&state.db, &config, &state.sync_signals).await?;
    let object = FileObject { sha256: sha256.to_owned(), size: 0 };
    let answer = client.files_batch(FilesOperation::Download, vec![object]).await?;
    let size = match answer.objects.first() {
        Some(object) if object.status == FileStatusOnMaster::Available => object.size,
        _ => return Err(FetchError::NotOnMaster),
    };
    let mut claim = state.transfers.claim(sha256).ok_or(StoreError::Busy)?;
    let transfer = FileTransfer {
        sha256: sha256.to_owned(),
        size,
        reason: TransferReason::Play,
        attempts: 0,
        next_attempt_at: archive_db::now(),
        last_error: None,
        created_at: archive_db::now(),
    };
    if !make_room(state, &config, &transfer, size).await? {
        return Err(FetchError::QuotaFull);
    }
    claim.reserve(size);
    let fetched =
        fetch::download(&state.db, &state.store, &client, sha256, size, Some(&state.transfers)).await?;
    drop(claim);
    Ok(fetched)
}

/// Records a failed attempt; the next waits twice as long as the last.
async fn failed(db: &Db, transfer: &FileTransfer, error: &str) -> Result<(), DbError> {
    let backoff = FIRST_BACKOFF.saturating_mul(1 << transfer.attempts.clamp(0, 16)).min(MAX_BACKOFF);
    let retry_at = archive_db::now() + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::MAX);
    tracing::info!(target: "sync", sha256 = transfer.sha256, error, "a file transfer failed; it is retried later");
    let mut tx = db.begin().await?;
    tx.fail_file_transfer(&transfer.sha256, error, retry_at).await?;
    tx.commit().await
}

/// Makes room for `size` more fetched bytes under the quota: whether there
/// is room now. A play or a pin evicts the least recently played unpinned
/// fetched files; mirroring evicts nothing.
async fn make_room(
    state: &AppState,
    config: &Config,
    transfer: &FileTransfer,
    size: u64,
) -> Result<bool, FetchError> {
    let Some(quota) = config.sync.files_max_bytes else { return Ok(true) };
    let used = used(&state.db, &state.transfers).await?;
    if used + size <= quota {
        return Ok(true);
    }
    if transfer.reason == TransferReason::Mirror {
        return Ok(false);
    }
    let freed = evict(&state.db, used + size - quota).await?;
    if used.saturating_sub(freed.bytes) + size <= quota {
        return Ok(true);
    }
    Err(FetchError::QuotaFull)
}

/// What an eviction freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    pub files: u64,
    pub bytes: u64,
}

/// `archive sync files evict`: evicts fetched files that no pin keeps until
/// the fetched files are within the quota, or (`all`) every one of them.
pub async fn evict_to_quota(db: &Db, config: &Config, all: bool) -> Result<Evicted, DbError> {
    let used = db.content_bytes(ContentOrigin::Fetched).await?;
    let excess = match (all, config.sync.files_max_bytes) {
        (true, _) => u64::MAX,
        (false, Some(quota)) => used.saturating_sub(quota),
        (false, None) => 0,
    };
    if excess == 0 {
        return Ok(Evicted::default());
    }
    evict(db, excess).await
}

/// Evicts fetched files that no pin keeps, least recently played first,
/// until at least `bytes` are freed or none is left.
pub async fn evict(db: &Db, bytes: u64) -> Result<Evicted, DbError> {
    let mut freed = Evicted::default();
    while freed.bytes < bytes {
        let candidates = db.evictable_files(50).await?;
        if candidates.is_empty() {
            break;
        }
        for (sha256, size, path) in candidates {
            let mut tx = db.begin().await?;
            tx.forget_content_file(&sha256).await?;
            tx.commit().await?;
            // Forgotten first: a file that is not recorded is never served.
            if let Err(e) = tokio::fs::remove_file(&path).await
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(target: "sync", path, error = %e, "cannot delete an evicted file");
            }
            tracing::info!(target: "sync", sha256, size, "evicted a fetched file to keep within the quota");
            freed.bytes += size;
            freed.files += 1;
            if freed.bytes >= bytes {
                break;
            }
        }
    }
    Ok(freed)
}
