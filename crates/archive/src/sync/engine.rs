//! One sync cycle of a slave: push its local changes, then pull the
//! master's (bootstrapping first when it has no usable cursor). Every page
//! is applied in one local transaction together with the cursor or the
//! bootstrap progress, so a cycle cut off anywhere resumes where it was.
//! No local transaction is held across a network call.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use archive_db::sync::MasterRows;
use archive_db::sync::protocol::{
    ChangesResponse, FileObject, FileStatusOnMaster, FilesOperation, MAX_FILES_BATCH, UploadStatus,
};
use archive_db::sync::state::{AttemptOutcome, PeerRole, PeerStatus, SyncAttempt};
use archive_db::{Db, DbError, PushChange};

use super::client::MasterClient;
pub use super::error::SyncError;
use super::files;
use super::keys::{self, Kek};
use crate::config::{Config, NodeRole};

/// What one cycle did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CycleReport {
    pub pushed: u64,
    /// Pushed changes that lost to the master's state (conflicts, merges, rejections).
    pub not_applied: u64,
    pub pulled: u64,
    pub bootstrapped: bool,
    /// Audio files sent to the master before the songs that need them.
    #[serde(default)]
    pub files_uploaded: u64,
    /// Why this node's changes waited for a later cycle: the master took no
    /// more of their files (its upload quota for this key, or its disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_held_back: Option<String>,
}

/// Local changes per push request.
const PUSH_BATCH: i64 = 500;
/// Changes per pulled page.
const PULL_PAGE: i64 = 1000;
/// Rows per bootstrap page.
const BOOTSTRAP_PAGE: i64 = 5000;
/// Bounds on one cycle's loops; whatever is left waits for the next cycle.
const MAX_PUSH_BATCHES: usize = 200;
const MAX_PULL_PAGES: usize = 1000;
/// Waits for changes held back on the master, per cycle: at most 2 s in all.
const MAX_SETTLE_WAITS: u32 = 20;
const SETTLE_WAIT: Duration = Duration::from_millis(100);

/// State keys (in `sync_state`).
const CURSOR: &str = "slave.cursor";
const BOOTSTRAP: &str = "slave.bootstrap";

/// Where a bootstrap is: the cursor to follow afterwards, the table being
/// copied (index in the master's list) and the last id copied of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BootstrapProgress {
    cursor: String,
    tables: Vec<String>,
    table: usize,
    after: Option<Uuid>,
}

/// One cycle against `client`.
pub async fn run_cycle(db: &Db, client: &MasterClient) -> Result<CycleReport, SyncError> {
    let mut report = CycleReport::default();
    push(db, client, &mut report).await?;
    if db.sync_state(CURSOR).await?.is_none() || db.sync_state(BOOTSTRAP).await?.is_some() {
        bootstrap(db, client, &mut report).await?;
    }
    match pull(db, client, &mut report).await {
        Err(SyncError::BootstrapRequired) => {
            tracing::warn!(target: "sync", "the master asks for a new bootstrap");
            db.set_sync_state(CURSOR, None).await?;
            bootstrap(db, client, &mut report).await?;
            pull(db, client, &mut report).await?;
        }
        other => other?,
    }
    Ok(report)
}

async fn push(db: &Db, client: &MasterClient, report: &mut CycleReport) -> Result<(), SyncError> {
    for _ in 0..MAX_PUSH_BATCHES {
        let outbox = db.sync_outbox(PUSH_BATCH).await?;
        if outbox.is_empty() {
            break;
        }
        let answer = if outbox.changes.is_empty() {
            archive_db::PushAnswer::default()
        } else {
            let uploaded = upload_files(db, client, &outbox.changes).await?;
            report.files_uploaded += uploaded.sent;
            // Songs go up with their files: these wait, and pulls go on.
            if let Some(reason) = uploaded.refused {
                tracing::warn!(target: "sync", %reason, "the master takes no more files now; this node's changes wait");
                report.push_held_back = Some(reason);
                return Ok(());
            }
            match client.apply(&outbox.changes).await {
                Err(SyncError::ReadOnlyKey) => {
                    // Nothing goes up: the master's state replaces this
                    // node's own edits as those rows change there.
                    let settled = db.settle_unpushed().await?;
                    tracing::info!(target: "sync", settled, "read-only key: local changes stay on this node");
                    return Ok(());
                }
                // The master takes no changes now (its disk is nearly full, or
                // this key pushed its day's quota): the push waits, pulls go on.
                Err(SyncError::NotTakenNow(reason)) => {
                    tracing::warn!(target: "sync", %reason, "the master takes no changes now; this node's changes wait");
                    report.push_held_back = Some(reason);
                    return Ok(());
                }
                other => other?,
            }
        };
        if answer.outcomes.len() != outbox.changes.len() {
            return Err(SyncError::Protocol(format!(
                "pushed {} changes, the master answered for {}",
                outbox.changes.len(),
                answer.outcomes.len()
            )));
        }
        db.record_push_outcomes(&outbox, &answer).await?;
        let outcomes = answer.outcomes;
        report.pushed += outcomes.len() as u64;
        report.not_applied += outcomes
            .iter()
            .filter(|o| {
                !matches!(o.status, archive_db::PushStatus::Applied | archive_db::PushStatus::Duplicate)
            })
            .count() as u64;
        tracing::debug!(target: "sync", changes = outcomes.len(), "pushed");
    }
    Ok(())
}

/// The largest piece of a file sent in one request.
const UPLOAD_PIECE: u64 = 8 * 1024 * 1024;

/// Sends the master the audio files of the songs about to be pushed that
/// it does not hold yet (by their `content_hash`), so that it never lists a
/// song of this node it cannot play. An upload cut off resumes where the
/// master says it stopped. A file the master refuses for good (too large
/// for it, not audio to it) is logged and its song pushed without it; a
/// song whose hash is not known yet goes without its file, which follows
/// with the change that records the hash. A master that takes no more files
/// for now (its daily quota for this key, or its disk's free space) answers
/// [`SyncError::NotTakenNow`]: the push waits, and [`Uploaded`] says why.
async fn upload_files(db: &Db, client: &MasterClient, changes: &[PushChange]) -> Result<Uploaded, SyncError> {
    let hashes: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.table == "songs")
        .filter_map(|c| c.row.as_ref()?.get("content_hash")?.as_str())
        .collect();
    let mut here = Vec::new();
    for hash in hashes {
        if let Some(held) = files::held(db, hash).await? {
            here.push((hash.to_owned(), held));
        }
    }
    let mut sent = 0;
    for chunk in here.chunks(MAX_FILES_BATCH) {
        let objects =
            chunk.iter().map(|(sha256, held)| FileObject { sha256: sha256.clone(), size: held.size });
        let answer = match client.files_batch(FilesOperation::Upload, objects.collect()).await {
            // A read-only key sends nothing; the push settles its changes.
            Err(SyncError::ReadOnlyKey) => return Ok(Uploaded { sent, refused: None }),
            Err(SyncError::NotTakenNow(why)) => return Ok(Uploaded { sent, refused: Some(why) }),
            other => other?,
        };
        let mut needed: Vec<_> = answer
            .objects
            .iter()
            .zip(chunk)
            .filter(|(object, _)| object.status == FileStatusOnMaster::Needed)
            .collect();
        // Smallest first: the master answers a batch when the smallest file
        // it needs fits in what is left of this key's quota for the day.
        needed.sort_by_key(|(object, (_, held))| held.size.saturating_sub(object.received.unwrap_or(0)));
        for (object, (sha256, held)) in needed {
            match upload_file(client, sha256, held, object.received.unwrap_or(0)).await {
                Ok(()) => sent += 1,
                Err(UploadError::Local(error)) => {
                    tracing::warn!(target: "sync", sha256, %error, "cannot read a file to send; its song goes without it");
                }
                Err(UploadError::Sync(SyncError::Status { status, message }))
                    if (400..500).contains(&status) && status != 409 =>
                {
                    tracing::warn!(target: "sync", sha256, status, message, "the master refused a file; its song goes without it");
                }
                Err(UploadError::Sync(SyncError::NotTakenNow(why))) => {
                    return Ok(Uploaded { sent, refused: Some(why) });
                }
                Err(UploadError::Sync(error)) => return Err(error),
            }
        }
    }
    Ok(Uploaded { sent, refused: None })
}

/// What went up before a push.
struct Uploaded {
    /// Files sent.
    sent: u64,
    /// Why the master took no more for now, if it did not.
    refused: Option<String>,
}

enum UploadError {
    /// This node's copy could not be read.
    Local(std::io::Error),
    Sync(SyncError),
}

impl From<SyncError> for UploadError {
    fn from(error: SyncError) -> Self {
        UploadError::Sync(error)
    }
}

/// Sends one file in pieces from `offset` on, until the master has it.
async fn upload_file(
    client: &MasterClient,
    sha256: &str,
    held: &files::Held,
    mut offset: u64,
) -> Result<(), UploadError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(&held.path).await.map_err(UploadError::Local)?;
    file.seek(std::io::SeekFrom::Start(offset)).await.map_err(UploadError::Local)?;
    loop {
        let mut piece = vec![0; held.size.saturating_sub(offset).min(UPLOAD_PIECE) as usize];
        file.read_exact(&mut piece).await.map_err(UploadError::Local)?;
        let answer = client.upload_piece(sha256, offset, held.size, piece).await?;
        match answer.status {
            UploadStatus::Stored | UploadStatus::Present => return Ok(()),
            UploadStatus::Partial if answer.received > offset && answer.received < held.size => {
                offset = answer.received;
            }
            UploadStatus::Partial => {
                let message =
                    format!("sent {sha256} up to byte {offset}, and the master has {}", answer.received);
                return Err(SyncError::Protocol(message).into());
            }
        }
    }
}

async fn pull(db: &Db, client: &MasterClient, report: &mut CycleReport) -> Result<(), SyncError> {
    let cursor = db.sync_state(CURSOR).await?.ok_or(SyncError::BootstrapRequired)?;
    let files_here = db.files_summary().await?.songs_here;
    let page = client.changes(&cursor, PULL_PAGE, Some(files_here)).await?;
    pull_from(db, client, page, report).await
}

/// Applies `page`, then the pages after it.
async fn pull_from(
    db: &Db,
    client: &MasterClient,
    page: ChangesResponse,
    report: &mut CycleReport,
) -> Result<(), SyncError> {
    let mut page = Pulled::new(page);
    let mut settle_waits = 0;
    // A pull of several pages writes the log as fast as an import does: it
    // is copied into the database beside the writer, not inside the
    // commit of whichever page crosses the writer's threshold.
    let mut checkpoints = match page.meta.has_more {
        true => Some(db.checkpoints_in_background().await?),
        false => None,
    };
    for _ in 0..MAX_PULL_PAGES {
        // The next page is fetched while this one is applied: the master's
        // work and the slave's overlap instead of taking turns. The fetch is
        // a task of its own, so that decoding a page never holds up the
        // statements of the apply (each waits for this task to send it):
        // 16,400-18,800 changes/s became 18,900-19,600. Fetching two pages
        // ahead measured no better (the two cores are busy). The task also
        // reads the rows' columns ahead (`Pulled`).
        let fetch_next = page.meta.has_more.then(|| {
            let (client, cursor) = (client.clone(), page.meta.cursor.clone());
            NextPage(tokio::spawn(
                async move { client.changes(&cursor, PULL_PAGE, None).await.map(Pulled::new) },
            ))
        });
        let applied = db.apply_master_rows(&page.rows, CURSOR, &page.meta.cursor).await?;
        if let Some(checkpoints) = checkpoints.as_mut() {
            checkpoints.after_commit();
        }
        let next = match fetch_next {
            Some(fetch) => Some(fetch.join().await),
            None => None,
        };
        report.pulled += page.rows.len() as u64;
        tracing::debug!(target: "sync", rows = page.rows.len(), written = applied.written,
            deleted = applied.deleted, skipped = applied.skipped, remaining = page.meta.remaining, "pulled a page");
        if let Some(next) = next {
            page = next?;
            continue;
        }
        // Committed changes the master holds back behind a transaction still
        // open there (PostgreSQL): wait briefly, so that a cycle brings what
        // was committed before it started. Whatever is still held back waits
        // for the next cycle.
        if page.meta.remaining > 0 && settle_waits < MAX_SETTLE_WAITS {
            settle_waits += 1;
            tokio::time::sleep(SETTLE_WAIT).await;
            page = Pulled::new(client.changes(&page.meta.cursor, PULL_PAGE, None).await?);
            continue;
        }
        break;
    }
    if let Some(checkpoints) = checkpoints {
        checkpoints.finish().await?;
    }
    Ok(())
}

/// A page of changes, its rows read for the write ahead of it (see
/// [`MasterRows`]).
struct Pulled {
    /// The page without its rows.
    meta: ChangesResponse,
    rows: MasterRows,
}

impl Pulled {
    fn new(mut page: ChangesResponse) -> Self {
        let rows = MasterRows::new(std::mem::take(&mut page.rows));
        Self { meta: page, rows }
    }
}

/// The next page's fetch, running on its own; stopped if the page is no
/// longer wanted (the apply failed first).
struct NextPage(tokio::task::JoinHandle<Result<Pulled, SyncError>>);

impl NextPage {
    async fn join(mut self) -> Result<Pulled, SyncError> {
        match (&mut self.0).await {
            Ok(page) => page,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // Cancelled: the runtime is shutting down.
                Err(_) => Err(SyncError::Stopped("the process is shutting down".into())),
            },
        }
    }
}

impl Drop for NextPage {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn bootstrap(db: &Db, client: &MasterClient, report: &mut CycleReport) -> Result<(), SyncError> {
    let mut progress = match db.sync_state(BOOTSTRAP).await?.and_then(|v| serde_json::from_str(&v).ok()) {
        Some(progress) => progress,
        None => {
            let start = client.bootstrap_start().await?;
            tracing::info!(target: "sync", "bootstrap: copying the master's data");
            let progress =
                BootstrapProgress { cursor: start.cursor, tables: start.tables, table: 0, after: None };
            db.set_sync_state(BOOTSTRAP, Some(&to_json(&progress))).await?;
            progress
        }
    };
    while let Some(table) = progress.tables.get(progress.table).cloned() {
        let page = client.bootstrap_page(&table, progress.after, BOOTSTRAP_PAGE).await?;
        let after = progress.after;
        if page.has_more {
            progress.after = page.last_id;
        } else {
            progress.table += 1;
            progress.after = None;
        }
        db.apply_bootstrap_rows(&table, after, &page, BOOTSTRAP, &to_json(&progress)).await?;
        report.pulled += page.rows.len() as u64;
    }
    let mut tx = db.begin().await?;
    tx.set_sync_state(CURSOR, Some(&progress.cursor)).await?;
    tx.set_sync_state(BOOTSTRAP, None).await?;
    tx.commit().await?;
    report.bootstrapped = true;
    tracing::info!(target: "sync", "bootstrap complete; following the master's log");
    compact_search_index(db).await;
    Ok(())
}

/// Merges the search index that the bootstrap wrote in many commits (see
/// [`Db::compact_search_index`]). The bootstrap stands either way: a
/// failure only leaves the merging to FTS5's own pace.
async fn compact_search_index(db: &Db) {
    let started = std::time::Instant::now();
    match db.compact_search_index().await {
        Ok(()) => tracing::info!(target: "sync", elapsed_ms = started.elapsed().as_millis() as u64,
            "search index merged after the bootstrap"),
        Err(error) => {
            tracing::warn!(target: "sync", %error, "could not merge the search index after the bootstrap")
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// Whether this node has copied its master's data (a bootstrap finished):
/// from then on its accounts are the master's.
pub async fn has_joined(db: &Db) -> Result<bool, DbError> {
    Ok(db.sync_state(CURSOR).await?.is_some())
}

/// One cycle at a time per process (the worker, `sync now`, the API).
static CYCLE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The peer name a slave records its master's status under.
pub const MASTER_PEER: &str = "master";

/// Runs one cycle now with this node's configuration and stored key, under
/// the operation timeout, and records it (attempt, status).
pub async fn run_cycle_now(db: &Db, config: &Config) -> Result<CycleReport, SyncError> {
    if config.role != NodeRole::Slave {
        return Err(SyncError::NotConfigured("this node is not a slave (ARCHIVE_ROLE=slave)"));
    }
    if let Some(stop) = super::control::read(db).await?.emergency_stop {
        return Err(SyncError::Stopped(format!(
            "emergency stop since {} (by {}); clear it first",
            stop.at.format("%F %T UTC"),
            stop.by
        )));
    }
    let _one_at_a_time = CYCLE_LOCK.lock().await;
    let started = archive_db::now();
    let result = async {
        let kek = Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())?;
        let key = keys::load_on_slave(db, &kek).await?;
        let client = MasterClient::new(&config.sync, key.ok_or(SyncError::NoKey)?)?;
        match tokio::time::timeout(config.sync.operation_timeout, run_cycle(db, &client)).await {
            Ok(result) => result,
            Err(_) => Err(SyncError::Timeout),
        }
    }
    .await;
    record(db, started, result.as_ref()).await?;
    if result.is_ok() {
        super::control::clear_key_refusal(db).await?;
    }
    result
}

/// The cursor a live pull asks from (`None`: bootstrap first).
pub(super) async fn cursor(db: &Db) -> Result<Option<String>, DbError> {
    if db.sync_state(BOOTSTRAP).await?.is_some() {
        return Ok(None);
    }
    db.sync_state(CURSOR).await
}

/// Changes pulled live, and how long the newest took to come.
pub(super) struct LivePull {
    pub pulled: u64,
    pub delay_ms: Option<i64>,
}

/// Applies `page`, which a long-poll from `polled_from` brought, and the
/// pages after it, one cycle at a time with the others. `None` if the
/// cursor moved on meanwhile (a forced cycle): the page is stale.
pub(super) async fn pull_live(
    db: &Db,
    client: &MasterClient,
    polled_from: &str,
    page: ChangesResponse,
    received: std::time::Instant,
) -> Result<Option<LivePull>, SyncError> {
    let _one_at_a_time = CYCLE_LOCK.lock().await;
    if cursor(db).await?.as_deref() != Some(polled_from) {
        return Ok(None);
    }
    let age_ms = page.newest_change_age_ms;
    let mut report = CycleReport::default();
    pull_from(db, client, page, &mut report).await?;
    // The master's clock says how long the change waited there; this
    // node's, how long it took here. Clocks are never compared.
    let delay_ms = age_ms.map(|age| age.max(0) + received.elapsed().as_millis() as i64);
    let pulled = report.pulled;
    note_live(db, |status| {
        status.changes_pulled += pulled as i64;
        if pulled > 0 {
            status.pull_delay_ms = delay_ms.or(status.pull_delay_ms);
        }
    })
    .await?;
    Ok(Some(LivePull { pulled, delay_ms }))
}

/// Pushes this node's changes now (after a local commit, while following
/// live), one cycle at a time with the others. `committed` is when word of
/// the first of them came: the push delay runs from there.
pub(super) async fn push_live(
    db: &Db,
    client: &MasterClient,
    committed: std::time::Instant,
) -> Result<CycleReport, SyncError> {
    let _one_at_a_time = CYCLE_LOCK.lock().await;
    let mut report = CycleReport::default();
    push(db, client, &mut report).await?;
    if report.pushed > 0 {
        let delay_ms = committed.elapsed().as_millis() as i64;
        let pushed = report.pushed as i64;
        note_live(db, |status| {
            status.changes_pushed += pushed;
            status.push_delay_ms = Some(delay_ms);
        })
        .await?;
    }
    Ok(report)
}

/// Records in the master's status row that this node follows live now
/// (and whatever `update` adds); live following is a success.
pub(super) async fn note_live(db: &Db, update: impl FnOnce(&mut PeerStatus)) -> Result<(), DbError> {
    let mut status =
        db.peer_status(MASTER_PEER).await?.unwrap_or_else(|| PeerStatus::new(MASTER_PEER, PeerRole::Master));
    let now = archive_db::now();
    status.live_at = Some(now);
    status.last_success_at = Some(now);
    status.consecutive_failures = 0;
    status.last_error = None;
    update(&mut status);
    status.cursor = db.sync_state(CURSOR).await?;
    db.save_peer_status(&status).await
}

/// Records that this node no longer follows live, and why if it failed
/// (a failure counts as a failed attempt, as a cycle's does).
pub(super) async fn end_live(
    db: &Db,
    started: chrono::DateTime<chrono::Utc>,
    failure: Option<&SyncError>,
) -> Result<(), DbError> {
    if let Some(error) = failure {
        record(db, started, Err(error)).await?;
    }
    if let Some(mut status) = db.peer_status(MASTER_PEER).await? {
        status.live_at = None;
        db.save_peer_status(&status).await?;
    }
    Ok(())
}

/// Records a cycle's outcome in the attempts list and the master's status row.
async fn record(
    db: &Db,
    started: chrono::DateTime<chrono::Utc>,
    result: Result<&CycleReport, &SyncError>,
) -> Result<(), DbError> {
    let now = archive_db::now();
    let mut status =
        db.peer_status(MASTER_PEER).await?.unwrap_or_else(|| PeerStatus::new(MASTER_PEER, PeerRole::Master));
    status.attempts += 1;
    status.last_attempt_at = Some(now);
    let (outcome, pulled, pushed, error) = match result {
        Ok(report) => {
            status.successes += 1;
            status.consecutive_failures = 0;
            status.last_success_at = Some(now);
            status.last_error = None;
            status.changes_pulled += report.pulled as i64;
            status.changes_pushed += report.pushed as i64;
            // A push held back is no failure, but the attempts list says why.
            let held_back = report.push_held_back.as_ref().map(|why| format!("push held back: {why}"));
            (AttemptOutcome::Success, report.pulled as i64, report.pushed as i64, held_back)
        }
        Err(e) => {
            status.failures += 1;
            status.consecutive_failures += 1;
            status.last_failure_at = Some(now);
            status.last_error = Some(e.to_string());
            tracing::warn!(target: "sync", error = %e, "sync cycle failed");
            (AttemptOutcome::Failure, 0, 0, Some(e.to_string()))
        }
    };
    status.cursor = db.sync_state(CURSOR).await?;
    db.save_peer_status(&status).await?;
    db.record_sync_attempt(&SyncAttempt {
        id: Uuid::now_v7(),
        node_id: MASTER_PEER.into(),
        started_at: started,
        finished_at: Some(now),
        outcome,
        pulled,
        pushed,
        error,
    })
    .await
}
