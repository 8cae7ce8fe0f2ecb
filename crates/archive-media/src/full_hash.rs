//! The SHA-256 of whole files, computed in the background after an import.
//!
//! An import reads a bounded sample of each large file ([`crate::identity`]);
//! the full hash, which file transfer keys on and which checks a file's
//! integrity, comes later: [`hash_pending`] reads the files whose song has no
//! hash yet, one at a time and at most at a given rate (so that playing and
//! importing stay quick on a disk), and records each hash through the
//! database's write path, where it syncs like any change.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use archive_db::{Db, DbError, FileLocation, HashRecorded};
use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The rate `archive serve` hashes at: a fraction of what a disk reads, so
/// that whatever else the node does is not slowed.
pub const BACKGROUND_RATE: u64 = 64 * 1024 * 1024;

/// Files fetched from the database at a time.
const PAGE: i64 = 64;

/// SHA-256 of the file's bytes, as lower-case hex, read in blocks.
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    hash_at_rate(path, None)
}

/// SHA-256 of the file's bytes, reading at most `bytes_per_second` when given.
fn hash_at_rate(path: &Path, bytes_per_second: Option<u64>) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let started = Instant::now();
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        read += n as u64;
        if let Some(rate) = bytes_per_second {
            let due = Duration::from_secs_f64(read as f64 / rate.max(1) as f64);
            if let Some(early) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(early);
            }
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What a pass of [`hash_pending`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HashPass {
    /// Hashes recorded.
    pub recorded: u64,
    /// Files whose bytes differ from the hash their song already has.
    pub differ: u64,
    /// Files that changed or went away since they were imported (the next
    /// import deals with them), or that could not be read.
    pub skipped: u64,
}

/// Hashes every present file whose song has no content hash yet, reading
/// at most `bytes_per_second`, and records the hashes.
pub async fn hash_pending(db: &Db, bytes_per_second: u64) -> Result<HashPass, DbError> {
    let mut pass = HashPass::default();
    let mut after: Option<Uuid> = None;
    loop {
        let files = db.files_without_content_hash(after, PAGE).await?;
        let Some(last) = files.last() else { break };
        after = Some(last.song_id);
        for file in files {
            let Some(hash) = hash_unchanged(&file, bytes_per_second).await else {
                pass.skipped += 1;
                continue;
            };
            let mut tx = db.begin().await?;
            let recorded = tx.record_content_hash(file.song_id, &hash).await?;
            tx.commit().await?;
            match recorded {
                HashRecorded::Recorded => pass.recorded += 1,
                HashRecorded::Differs { recorded } => {
                    tracing::warn!(
                        path = %file.path, song = %file.song_id, file_hash = %hash, song_hash = %recorded,
                        "this file is not the bytes its song was imported from (same sampled identity)"
                    );
                    pass.differ += 1;
                }
                HashRecorded::AlreadyKnown | HashRecorded::NoSong => pass.skipped += 1,
            }
        }
    }
    Ok(pass)
}

/// The file's hash, if it is still the file that was imported (same size
/// and modification time before and after reading it).
async fn hash_unchanged(file: &FileLocation, bytes_per_second: u64) -> Option<String> {
    let (path, size, modified) = (file.path.clone(), file.file_size, file.modified_at);
    let same = move |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        let now_modified = meta.modified().ok().map(|t| DateTime::<Utc>::from(t).trunc_subsecs(6));
        (i64::try_from(meta.len()).ok() == Some(size) && now_modified == modified).then_some(())
    };
    let outcome = tokio::task::spawn_blocking(move || {
        let path = Path::new(&path);
        same(path)?;
        let hash = hash_at_rate(path, Some(bytes_per_second))
            .inspect_err(
                |e| tracing::warn!(path = %path.display(), error = %e, "cannot read a file to hash it"),
            )
            .ok()?;
        same(path)?;
        Some(hash)
    })
    .await;
    outcome.ok().flatten()
}
