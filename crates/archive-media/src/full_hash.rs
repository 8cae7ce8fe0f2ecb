//! The SHA-256 of whole files, computed in the background after an import.
//!
//! An import reads a bounded sample of each large file ([`crate::identity`]);
//! the full hash, which file transfer keys on and which checks a file's
//! integrity, comes later: [`hash_pending`] reads the files whose song has no
//! hash yet, one at a time and at most at a given rate (so that playing and
//! importing stay quick on a disk), and records each hash through the
//! database's write path, where it syncs like any change.

use std::collections::HashSet;
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

/// Files that could not be read, as they were then (song, path, size,
/// time): left alone until they change, so that one unreadable file is
/// not read, and warned about, on every pass.
#[derive(Debug, Default)]
pub struct Unreadable(HashSet<(Uuid, String, i64, Option<DateTime<Utc>>)>);

impl Unreadable {
    fn key(file: &FileLocation) -> (Uuid, String, i64, Option<DateTime<Utc>>) {
        (file.song_id, file.path.clone(), file.file_size, file.modified_at)
    }
}

/// Hashes every present file whose song has no content hash yet, reading
/// at most `bytes_per_second`, and records the hashes. Files in
/// `unreadable` are skipped while they stay as they were; those that
/// cannot be read now are added to it.
pub async fn hash_pending(
    db: &Db,
    bytes_per_second: u64,
    unreadable: &mut Unreadable,
) -> Result<HashPass, DbError> {
    let mut pass = HashPass::default();
    let mut after: Option<Uuid> = None;
    loop {
        let files = db.files_without_content_hash(after, PAGE).await?;
        let Some(last) = files.last() else { break };
        after = Some(last.song_id);
        for file in files {
            if unreadable.0.contains(&Unreadable::key(&file)) {
                pass.skipped += 1;
                continue;
            }
            let hash = match hash_unchanged(&file, bytes_per_second).await {
                Hashed::Hash(hash) => hash,
                Hashed::Changed => {
                    pass.skipped += 1;
                    continue;
                }
                Hashed::Unreadable => {
                    unreadable.0.insert(Unreadable::key(&file));
                    pass.skipped += 1;
                    continue;
                }
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

/// What reading a file for its hash gave.
enum Hashed {
    Hash(String),
    /// Changed or gone since it was imported: the next import deals with it.
    Changed,
    Unreadable,
}

/// The file's hash, if it is still the file that was imported (same size
/// and modification time before and after reading it).
async fn hash_unchanged(file: &FileLocation, bytes_per_second: u64) -> Hashed {
    let (path, size, modified) = (file.path.clone(), file.file_size, file.modified_at);
    let same = move |path: &Path| {
        std::fs::metadata(path).ok().is_some_and(|meta| {
            let now_modified = meta.modified().ok().map(|t| DateTime::<Utc>::from(t).trunc_subsecs(6));
            i64::try_from(meta.len()).ok() == Some(size) && now_modified == modified
        })
    };
    let outcome = tokio::task::spawn_blocking(move || {
        let path = Path::new(&path);
        if !same(path) {
            return Hashed::Changed;
        }
        match hash_at_rate(path, Some(bytes_per_second)) {
            Ok(hash) if same(path) => Hashed::Hash(hash),
            Ok(_) => Hashed::Changed,
            Err(e) => {
                let path = path.display();
                tracing::warn!(%path, error = %e, "cannot read a file to hash it; it is left until it changes");
                Hashed::Unreadable
            }
        }
    })
    .await;
    outcome.unwrap_or(Hashed::Changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location_of(path: &Path) -> FileLocation {
        let meta = std::fs::metadata(path).unwrap();
        FileLocation {
            song_id: Uuid::nil(),
            path: path.to_str().unwrap().to_owned(),
            file_size: meta.len() as i64,
            modified_at: meta.modified().ok().map(|t| DateTime::<Utc>::from(t).trunc_subsecs(6)),
            source: archive_db::FileSource::Library,
            status: archive_db::FileStatus::Present,
            updated_at: archive_db::now(),
        }
    }

    #[tokio::test]
    async fn a_file_is_hashed_if_unchanged_and_one_that_cannot_be_read_is_told_apart_from_one_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("song.mp3");
        std::fs::write(&file, b"some bytes").unwrap();
        let location = location_of(&file);
        assert!(
            matches!(hash_unchanged(&location, u64::MAX).await, Hashed::Hash(h) if h == content_hash(&file).unwrap())
        );
        std::fs::write(&file, b"other, longer bytes").unwrap();
        assert!(matches!(hash_unchanged(&location, u64::MAX).await, Hashed::Changed));
        // A folder opens but cannot be read, even by root.
        let folder = dir.path().join("not a file.mp3");
        std::fs::create_dir(&folder).unwrap();
        assert!(matches!(hash_unchanged(&location_of(&folder), u64::MAX).await, Hashed::Unreadable));
    }
}
