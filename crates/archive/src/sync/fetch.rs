//! A slave fetching its master's audio files by hash. A download resumes
//! from what arrived before (the piece kept under the store's `.incoming`,
//! asked for with a range), is checked against its hash before it enters
//! the content store, and is fetched again whole, once, when it does not
//! match (bytes altered on the way, or a piece left by something else).
//! Nothing unchecked is ever served.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;
use uuid::Uuid;

use archive_db::sync::protocol::{FileObject, FileStatusOnMaster, FilesOperation};
use archive_db::{ContentOrigin, Db, DbError};
use archive_media::{MediaStore, StoreError};

use super::client::MasterClient;
use super::control::Signals;
use super::error::SyncError;
use super::files;
use super::keys::{self, Kek};
use crate::config::{Config, FilesPolicy, NodeRole};
use crate::state::AppState;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("no such song")]
    NoSong,
    #[error("this song's file has no known hash yet (the node that has it records it in the background)")]
    HashUnknown,
    #[error("the master does not hold this song's file")]
    NotOnMaster,
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A file now held here.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fetched {
    pub sha256: String,
    pub size: u64,
    /// Bytes that came from the master this time (0: held already).
    pub transferred: u64,
}

/// Fetches the file of song `song_id` from the master, unless this node
/// holds it already.
pub async fn fetch_song_file(state: &AppState, song_id: Uuid) -> Result<Fetched, FetchError> {
    let song = state.db.song(song_id).await?.ok_or(FetchError::NoSong)?;
    let sha256 = song.content_hash.ok_or(FetchError::HashUnknown)?;
    if let Some(held) = files::held(&state.db, &sha256).await? {
        return Ok(Fetched { sha256, size: held.size, transferred: 0 });
    }
    let client = client(&state.db, &state.config(), &state.sync_signals).await?;
    fetch_file(&state.db, &state.store, &client, &sha256).await
}

/// A client for the master, if this slave may fetch now (not stopped, not paused).
async fn client(db: &Db, config: &Config, signals: &Signals) -> Result<MasterClient, SyncError> {
    if config.role != NodeRole::Slave {
        return Err(SyncError::NotConfigured("this node is not a slave (ARCHIVE_ROLE=slave)"));
    }
    if let Some(hold) = signals.control(db).await?.hold() {
        return Err(SyncError::Stopped(hold));
    }
    let kek = Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())?;
    let key = keys::load_on_slave(db, &kek).await?.ok_or(SyncError::NoKey)?;
    MasterClient::new(&config.sync, key)
}

/// Whether a mirror pass runs in this process now.
static MIRRORING: AtomicBool = AtomicBool::new(false);
/// Files fetched per mirror pass at most; the next cycle starts the next pass.
const MIRROR_PASS: i64 = 500;

/// With `SYNC_FILES=mirror`, starts fetching in the background the files
/// of songs this node does not hold, newest songs first, until the quota
/// (`SYNC_FILES_MAX_GB`) would be passed; one pass at a time, between
/// cycles. A pass stops at the first failure (the next cycle's pass
/// retries) and as soon as sync is paused or stopped.
pub fn mirror_in_background(db: Db, config: Arc<Config>, signals: Arc<Signals>) {
    if config.sync.files != FilesPolicy::Mirror || MIRRORING.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async move {
        match mirror_pass(&db, &config, &signals).await {
            Ok(0) => {}
            Ok(fetched) => tracing::info!(target: "sync", fetched, "mirrored files from the master"),
            Err(error) => {
                tracing::warn!(target: "sync", %error, "mirroring files stopped; the next cycle goes on")
            }
        }
        MIRRORING.store(false, Ordering::Release);
    });
}

/// Downloads at once, at most, in a mirror pass.
const CONCURRENT_FETCHES: usize = 4;

/// One mirror pass, now (what [`mirror_in_background`] runs; the
/// benchmark calls it directly): how many files it fetched.
pub async fn mirror_pass(db: &Db, config: &Config, signals: &Signals) -> Result<u64, FetchError> {
    let wanted = db.songs_without_file_here(MIRROR_PASS).await?;
    if wanted.is_empty() {
        return Ok(0);
    }
    let store = MediaStore::new(&config.data_dir);
    let client = Arc::new(client(db, config, signals).await?);
    // One question for the whole pass: which of them the master holds, and their sizes.
    let objects = wanted.into_iter().map(|(sha256, size)| FileObject { sha256, size }).collect();
    let answer = client.files_batch(FilesOperation::Download, objects).await?;
    let mut used = db.content_bytes(ContentOrigin::Fetched).await?;
    let mut running = tokio::task::JoinSet::new();
    let mut pass = Pass::default();
    for object in answer.objects.into_iter().filter(|o| o.status == FileStatusOnMaster::Available) {
        if config.sync.files_max_bytes.is_some_and(|quota| used + object.size > quota) {
            tracing::info!(target: "sync", used, "the quota for fetched files is reached; mirroring stops");
            break;
        }
        if let Some(hold) = signals.control(db).await?.hold() {
            pass.failed(SyncError::Stopped(hold).into());
        }
        while running.len() >= CONCURRENT_FETCHES || (pass.error.is_some() && !running.is_empty()) {
            pass.settle(running.join_next().await.expect("a download is running"));
        }
        if pass.error.is_some() {
            break;
        }
        // Counted when it starts, so that downloads at once stay within the quota.
        used += object.size;
        let (db, store, client) = (db.clone(), store.clone(), client.clone());
        running.spawn(async move { download(&db, &store, &client, &object.sha256, object.size).await });
    }
    while let Some(done) = running.join_next().await {
        pass.settle(done);
    }
    match pass.error {
        Some(error) => Err(error),
        None => Ok(pass.fetched),
    }
}

/// What a mirror pass has done so far.
#[derive(Default)]
struct Pass {
    fetched: u64,
    /// The first failure: no download starts after it.
    error: Option<FetchError>,
}

impl Pass {
    fn settle(&mut self, done: Result<Result<Fetched, FetchError>, tokio::task::JoinError>) {
        match done {
            Ok(Ok(_)) => self.fetched += 1,
            // Another request fetches it now; the next pass sees it held.
            Ok(Err(FetchError::Store(StoreError::Busy))) => {}
            Ok(Err(error)) => self.failed(error),
            Err(panicked) => self.failed(StoreError::Io(std::io::Error::other(panicked)).into()),
        }
    }

    fn failed(&mut self, error: FetchError) {
        self.error.get_or_insert(error);
    }
}

/// Asks the master for the file `sha256`, then downloads it.
async fn fetch_file(
    db: &Db,
    store: &MediaStore,
    client: &MasterClient,
    sha256: &str,
) -> Result<Fetched, FetchError> {
    let object = FileObject { sha256: sha256.to_owned(), size: 0 };
    let answer = client.files_batch(FilesOperation::Download, vec![object]).await?;
    match answer.objects.first() {
        Some(object) if object.status == FileStatusOnMaster::Available => {
            download(db, store, client, sha256, object.size).await
        }
        _ => Err(FetchError::NotOnMaster),
    }
}

/// Downloads the file `sha256` of `size` bytes into the content store:
/// resumed, checked, and fetched again whole once if it does not match.
async fn download(
    db: &Db,
    store: &MediaStore,
    client: &MasterClient,
    sha256: &str,
    size: u64,
) -> Result<Fetched, FetchError> {
    let mut transferred = 0;
    for attempt in 0..2 {
        let mut part = store.open_part(sha256).await?;
        if part.received() > size {
            part.restart().await.map_err(StoreError::Io)?;
        }
        let mut response = client.file(sha256, part.received()).await?;
        if part.received() > 0 && response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
            // The whole file came instead of the rest of it.
            part.restart().await.map_err(StoreError::Io)?;
        }
        while let Some(chunk) = response.chunk().await.map_err(super::client::transport_error)? {
            if part.received() + chunk.len() as u64 > size {
                part.discard().await;
                let message = format!("the master sent more than the {size} bytes of {sha256}");
                return Err(SyncError::Protocol(message).into());
            }
            part.append(&chunk).await.map_err(StoreError::Io)?;
            transferred += chunk.len() as u64;
        }
        if part.received() < size {
            let message = format!("the download of {sha256} stopped at byte {} of {size}", part.received());
            return Err(SyncError::Unreachable(message).into());
        }
        match part.finish(store).await {
            Ok(stored) => {
                let path =
                    stored.path.to_str().ok_or_else(|| StoreError::Io(std::io::Error::other("not UTF-8")))?;
                let mut tx = db.begin().await?;
                tx.record_content_file(sha256, path, size as i64, ContentOrigin::Fetched).await?;
                tx.commit().await?;
                tracing::info!(target: "sync", sha256, size, transferred, "fetched a file from the master");
                return Ok(Fetched { sha256: sha256.to_owned(), size, transferred });
            }
            Err(StoreError::HashMismatch) if attempt == 0 => {
                tracing::warn!(target: "sync", sha256, "a fetched file did not match its hash; fetching it again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::HashMismatch.into())
}
