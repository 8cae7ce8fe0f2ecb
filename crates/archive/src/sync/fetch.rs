//! A slave fetching its master's audio files by hash. A download resumes
//! from what arrived before (the piece kept under the store's `.incoming`,
//! asked for with a range), is checked against its hash before it enters
//! the content store, and is fetched again whole, once, when it does not
//! match (bytes altered on the way, or a piece left by something else).
//! Nothing unchecked is ever served.

use thiserror::Error;
use uuid::Uuid;

use archive_db::{ContentOrigin, Db, DbError};
use archive_media::{MediaStore, StoreError, StoredFile};

use super::client::MasterClient;
use super::control::Signals;
use super::error::SyncError;
use super::keys::{self, Kek};
use super::transfers::Transfers;
use crate::config::{Config, NodeRole};
use crate::state::AppState;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("no such song")]
    NoSong,
    #[error("this song's file has no known hash yet (the node that has it records it in the background)")]
    HashUnknown,
    #[error("the master does not hold this song's file")]
    NotOnMaster,
    #[error("the quota for fetched files (SYNC_FILES_MAX_GB) is full of pinned files")]
    QuotaFull,
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

/// Fetches the file of song `song_id` from the master now, unless this
/// node holds it already (as a press of play would, within the quota).
pub async fn fetch_song_file(state: &AppState, song_id: Uuid) -> Result<Fetched, FetchError> {
    let song = state.db.song(song_id).await?.ok_or(FetchError::NoSong)?;
    let sha256 = song.content_hash.ok_or(FetchError::HashUnknown)?;
    super::transfers::fetch_now(state, &sha256).await
}

/// A client for the master, if this slave may fetch now (not stopped, not paused).
pub(crate) async fn client(db: &Db, config: &Config, signals: &Signals) -> Result<MasterClient, SyncError> {
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

/// Files up to this size, with no piece of them here, are received into
/// memory and kept in one step (see [`MediaStore::keep_whole`]); a cut-off
/// one is fetched again from its start.
const WHOLE_IN_MEMORY: u64 = 1024 * 1024;

/// Downloads the file `sha256` of `size` bytes into the content store:
/// resumed, checked, and fetched again whole once if it does not match.
pub(crate) async fn download(
    db: &Db,
    store: &MediaStore,
    client: &MasterClient,
    sha256: &str,
    size: u64,
    rate: Option<&Transfers>,
) -> Result<Fetched, FetchError> {
    // The hash comes from a song row the master sent: it names files here.
    if !archive_media::is_content_hash(sha256) {
        return Err(SyncError::Protocol(format!("{sha256:?} is not a SHA-256")).into());
    }
    if size <= WHOLE_IN_MEMORY && store.part_received(sha256).await == 0 {
        return download_whole(db, store, client, sha256, size, rate).await;
    }
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
            if let Some(transfers) = rate {
                transfers.count_received(chunk.len() as u64);
            }
        }
        if part.received() < size {
            let message = format!("the download of {sha256} stopped at byte {} of {size}", part.received());
            return Err(SyncError::Unreachable(message).into());
        }
        match part.finish(store).await {
            Ok(stored) => return record(db, &stored, transferred).await,
            Err(StoreError::HashMismatch) if attempt == 0 => mismatched(sha256),
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::HashMismatch.into())
}

/// [`download`] for a small file with no piece of it here.
async fn download_whole(
    db: &Db,
    store: &MediaStore,
    client: &MasterClient,
    sha256: &str,
    size: u64,
    rate: Option<&Transfers>,
) -> Result<Fetched, FetchError> {
    let mut transferred = 0;
    for attempt in 0..2 {
        let mut response = client.file(sha256, 0).await?;
        let mut bytes = Vec::with_capacity(size as usize);
        while let Some(chunk) = response.chunk().await.map_err(super::client::transport_error)? {
            if (bytes.len() + chunk.len()) as u64 > size {
                let message = format!("the master sent more than the {size} bytes of {sha256}");
                return Err(SyncError::Protocol(message).into());
            }
            bytes.extend_from_slice(&chunk);
            transferred += chunk.len() as u64;
            if let Some(transfers) = rate {
                transfers.count_received(chunk.len() as u64);
            }
        }
        if (bytes.len() as u64) < size {
            let message = format!("the download of {sha256} stopped at byte {} of {size}", bytes.len());
            return Err(SyncError::Unreachable(message).into());
        }
        match store.keep_whole(sha256, bytes).await {
            Ok(stored) => return record(db, &stored, transferred).await,
            Err(StoreError::HashMismatch) if attempt == 0 => mismatched(sha256),
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::HashMismatch.into())
}

fn mismatched(sha256: &str) {
    tracing::warn!(target: "sync", sha256, "a fetched file did not match its hash; fetching it again");
}

/// Records a fetched file as kept here, and takes it out of the queue, in
/// one transaction.
async fn record(db: &Db, stored: &StoredFile, transferred: u64) -> Result<Fetched, FetchError> {
    let path = stored.path.to_str().ok_or_else(|| StoreError::Io(std::io::Error::other("not UTF-8")))?;
    let (sha256, size) = (stored.content_hash.as_str(), stored.size);
    let mut tx = db.begin().await?;
    tx.record_content_file(sha256, path, size as i64, ContentOrigin::Fetched).await?;
    tx.finish_file_transfer(sha256).await?;
    tx.commit().await?;
    tracing::info!(target: "sync", sha256, size, transferred, "fetched a file from the master");
    Ok(Fetched { sha256: sha256.to_owned(), size, transferred })
}
