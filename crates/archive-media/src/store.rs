//! The upload store: uploaded audio files, kept under the data directory by
//! their content (`media/ab/abcdef….ext`, named by SHA-256).
//!
//! An upload is written to a temporary file in the store while it is hashed
//! and counted; it is checked to be audio from its content; only then is it
//! moved to its name. Whatever goes wrong, the temporary file is removed, so
//! a refused or broken upload leaves nothing behind.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::io::AsyncWriteExt;

use crate::tags::{AudioFormat, MediaError, read_track};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{name} is not audio: {reason}")]
    NotAudio { name: String, reason: String },
    #[error("{name} is damaged: {reason}")]
    Damaged { name: String, reason: String },
    #[error("the file's bytes do not have the SHA-256 they were sent as")]
    HashMismatch,
    #[error("this file is being received already")]
    Busy,
    #[error("{0} files are being received already; finish or abandon one first")]
    TooManyParts(usize),
    /// Writing would leave less free space on the disk than the node keeps.
    #[error("the disk would keep less than {keep_free} bytes free (it has {free}); the upload is not stored")]
    LowOnSpace { free: u64, keep_free: u64 },
    #[error("cannot store the upload: {0}")]
    Io(#[from] std::io::Error),
}

/// Files received in pieces from other nodes at once, at most: each holds
/// disk until it is finished, so a stolen slave key cannot fill the disk
/// with abandoned halves. A piece untouched for a day is abandoned.
pub const MAX_PARTS: usize = 16;
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whether `text` is a content hash as the store names files: a SHA-256 in
/// 64 hex digits. Anything else must never become part of a path.
pub fn is_content_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A file kept in the store.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub path: PathBuf,
    pub content_hash: String,
    pub size: u64,
    pub format: AudioFormat,
    /// The name the client gave the file: a hint for missing tags, never a path.
    pub client_name: String,
}

/// The store under a data directory.
/// Creates a folder (and its parents) readable by its owner only; files
/// come in as temporary files, which are too, and keep that when kept.
async fn private_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).await
}

#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
}

impl MediaStore {
    pub fn new(data_dir: &Path) -> MediaStore {
        MediaStore { root: data_dir.join("media") }
    }

    /// Where the file of this hash and format is kept (its folder created).
    async fn path_for(&self, sha256: &str, format: AudioFormat) -> std::io::Result<PathBuf> {
        let dir = self.root.join(&sha256[..2]);
        private_dir(&dir).await?;
        Ok(dir.join(format!("{sha256}.{}", format.extension())))
    }

    /// Bytes that an unprivileged writer may still write on the disk that
    /// holds the store.
    pub async fn free_bytes(&self) -> std::io::Result<u64> {
        let root = self.root.clone();
        let free = tokio::task::spawn_blocking(move || {
            // The store's folder is made with its first file; the data
            // directory it is in is on the same disk.
            let dir = match root.exists() {
                true => root.as_path(),
                false => root.parent().unwrap_or(&root),
            };
            let stats = rustix::fs::statvfs(dir)?;
            Ok::<_, std::io::Error>(stats.f_bavail.saturating_mul(stats.f_frsize))
        });
        free.await.map_err(std::io::Error::other)?
    }

    /// Refuses to take `bytes` more when that would leave less than
    /// `keep_free` bytes free on the store's disk (nothing is kept free
    /// when it is 0): an upload never fills the disk the database is on.
    pub async fn check_room(&self, bytes: u64, keep_free: u64) -> Result<(), StoreError> {
        if keep_free == 0 {
            return Ok(());
        }
        let free = self.free_bytes().await?;
        match free >= bytes.saturating_add(keep_free) {
            true => Ok(()),
            false => Err(StoreError::LowOnSpace { free, keep_free }),
        }
    }

    /// Bytes received so far of the file whose SHA-256 is `sha256` (0 if none).
    pub async fn part_received(&self, sha256: &str) -> u64 {
        let path = self.root.join(".incoming").join(format!("{sha256}.part"));
        tokio::fs::metadata(path).await.map_or(0, |m| m.len())
    }

    /// Keeps a whole small file received into memory (`bytes`, sent as the
    /// file whose SHA-256 is `sha256`): checked against its hash and to be
    /// audio, then written, synced and renamed into the store, all in one
    /// blocking call. Each step through `tokio::fs` is a hand-off to another
    /// thread; a small file took a dozen of them, which cost more than the
    /// writing (mirroring 10,000 small files).
    pub async fn keep_whole(&self, sha256: &str, bytes: Vec<u8>) -> Result<StoredFile, StoreError> {
        assert!(is_content_hash(sha256), "a SHA-256 in hex");
        let (root, sha256) = (self.root.clone(), sha256.to_owned());
        tokio::task::spawn_blocking(move || keep_whole(&root, sha256, &bytes))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
    }

    /// Opens the piece received so far of the file whose SHA-256 is
    /// `sha256` (64 lowercase hex digits), creating it empty. Only one
    /// request at a time holds a piece, across processes (a file lock):
    /// another gets [`StoreError::Busy`].
    pub async fn open_part(&self, sha256: &str) -> Result<Part, StoreError> {
        assert!(is_content_hash(sha256), "a SHA-256 in hex");
        let incoming = self.root.join(".incoming");
        private_dir(&incoming).await?;
        let path = incoming.join(format!("{sha256}.part"));
        let opened = tokio::task::spawn_blocking(move || open_locked_part(&incoming, path)).await;
        let (file, path) = opened.map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        let received = file.metadata()?.len();
        Ok(Part { file: tokio::fs::File::from_std(file), path, sha256: sha256.to_owned(), received })
    }

    /// Starts receiving one file called `name` by its client (for messages,
    /// and as a hint for missing tags), of at most
    /// `limit` bytes.
    pub async fn receive(&self, name: &str, limit: u64) -> Result<Incoming, StoreError> {
        let incoming = self.root.join(".incoming");
        private_dir(&incoming).await?;
        let temp = tempfile::Builder::new().suffix(".part").tempfile_in(&incoming)?;
        let (file, temp) = temp.into_parts();
        Ok(Incoming {
            file: tokio::fs::File::from_std(file),
            temp,
            hasher: Sha256::new(),
            size: 0,
            limit,
            name: name.to_owned(),
        })
    }
}

/// A file being received. Dropping it removes what was written.
pub struct Incoming {
    file: tokio::fs::File,
    temp: tempfile::TempPath,
    hasher: Sha256,
    size: u64,
    limit: u64,
    name: String,
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(StoreError::TooLarge { limit: self.limit });
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Checks from the content that the file is audio. Nothing is kept yet.
    pub async fn check(mut self) -> Result<Checked, StoreError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        drop(self.file);
        let content_hash = hex::encode(self.hasher.finalize());
        let (temp, name) = (self.temp, self.name);
        let (format, temp) = audio_format(temp, &name).await?;
        Ok(Checked { temp, content_hash, size: self.size, format, client_name: name })
    }
}

/// The audio format of the file at `path`, from its content (`name` for
/// messages), and the path back. On an error the path is dropped (a
/// temporary file with it).
async fn audio_format<P: AsRef<Path> + Send + 'static>(
    path: P,
    name: &str,
) -> Result<(AudioFormat, P), StoreError> {
    let (format, path) =
        tokio::task::spawn_blocking(move || (read_track(path.as_ref()).map(|t| t.format), path))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
    Ok((format.map_err(|e| not_audio(e, name))?, path))
}

/// Why the file called `name` cannot be kept, from its reader's error.
fn not_audio(error: MediaError, name: &str) -> StoreError {
    match error {
        MediaError::Empty | MediaError::NotAudio => {
            StoreError::NotAudio { name: name.to_owned(), reason: error.to_string() }
        }
        MediaError::Damaged(reason) => StoreError::Damaged { name: name.to_owned(), reason },
        MediaError::Io(e) => StoreError::Io(e),
    }
}

/// A received file known to be audio, not yet in the store. Dropping it
/// removes it.
pub struct Checked {
    temp: tempfile::TempPath,
    content_hash: String,
    size: u64,
    format: AudioFormat,
    client_name: String,
}

impl Checked {
    /// Moves the file to its name in the store (if the same content is
    /// there already, that copy stays and this one goes).
    pub async fn keep(self, store: &MediaStore) -> Result<StoredFile, StoreError> {
        let path = store.path_for(&self.content_hash, self.format).await?;
        if !tokio::fs::try_exists(&path).await? {
            self.temp.persist(&path).map_err(|e| StoreError::Io(e.error))?;
        }
        Ok(StoredFile {
            path,
            content_hash: self.content_hash,
            size: self.size,
            format: self.format,
            client_name: self.client_name,
        })
    }
}

fn keep_whole(root: &Path, sha256: String, bytes: &[u8]) -> Result<StoredFile, StoreError> {
    use std::io::Write;
    use std::os::unix::fs::DirBuilderExt;
    if hex::encode(Sha256::digest(bytes)) != sha256 {
        return Err(StoreError::HashMismatch);
    }
    let name = Path::new(&sha256);
    let format = crate::tags::read_track_in_memory(bytes, name, crate::tags::NameHint::Path)
        .map_err(|e| not_audio(e, &sha256))?
        .format;
    let mut folders = std::fs::DirBuilder::new();
    folders.recursive(true).mode(0o700);
    let (incoming, dir) = (root.join(".incoming"), root.join(&sha256[..2]));
    folders.create(&incoming)?;
    folders.create(&dir)?;
    let mut temp = tempfile::Builder::new().suffix(".part").tempfile_in(&incoming)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    let path = dir.join(format!("{sha256}.{}", format.extension()));
    temp.persist(&path).map_err(|e| StoreError::Io(e.error))?;
    Ok(StoredFile {
        path,
        content_hash: sha256,
        size: bytes.len() as u64,
        format,
        client_name: String::new(),
    })
}

/// Opens (or creates, if fewer than [`MAX_PARTS`] are open) a piece file
/// and locks it. Pieces abandoned for a day are removed first.
fn open_locked_part(incoming: &Path, path: PathBuf) -> Result<(std::fs::File, PathBuf), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if !path.exists() {
        let mut parts = 0;
        for entry in std::fs::read_dir(incoming)?.flatten() {
            let name = entry.file_name();
            let is_part = name.to_str().is_some_and(|n| n.len() == 69 && n.ends_with(".part"));
            if !is_part {
                continue;
            }
            let idle = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
            if idle.is_some_and(|idle| idle > ABANDONED_AFTER) {
                let _ = std::fs::remove_file(entry.path());
            } else {
                parts += 1;
            }
        }
        if parts >= MAX_PARTS {
            return Err(StoreError::TooManyParts(parts));
        }
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).read(true).mode(0o600).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok((file, path)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Io(e)),
    }
}

/// A file arriving in pieces from another node, named by the SHA-256 it
/// must have: `.incoming/<sha256>.part`, appended to by each request and
/// kept between them, so an interrupted transfer resumes where it stopped.
/// It enters the store only once its bytes hash to its name.
pub struct Part {
    file: tokio::fs::File,
    path: PathBuf,
    sha256: String,
    received: u64,
}

impl Part {
    /// Bytes received so far (where the next piece starts).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Empties the piece, to receive the file again from its start.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.file.set_len(0).await?;
        self.received = 0;
        Ok(())
    }

    /// Appends a chunk; it is on its way to the disk when this returns
    /// (flushed), so a request cut off after it keeps it.
    pub async fn append(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.write_all(chunk).await?;
        self.file.flush().await?;
        self.received += chunk.len() as u64;
        Ok(())
    }

    /// Checks the whole file's SHA-256 and that it is audio, then moves it
    /// into the store. A file that fails either check is removed: the
    /// sender starts again from nothing.
    pub async fn finish(mut self, store: &MediaStore) -> Result<StoredFile, StoreError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let path = self.path.clone();
        let hashed = tokio::task::spawn_blocking(move || crate::full_hash::content_hash(&path))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        if hashed != self.sha256 {
            self.discard().await;
            return Err(StoreError::HashMismatch);
        }
        let format = match audio_format(self.path.clone(), &self.sha256).await {
            Ok((format, _)) => format,
            Err(e) => {
                self.discard().await;
                return Err(e);
            }
        };
        let kept = store.path_for(&self.sha256, format).await?;
        tokio::fs::rename(&self.path, &kept).await?;
        Ok(StoredFile {
            path: kept,
            content_hash: self.sha256,
            size: self.received,
            format,
            client_name: String::new(),
        })
    }

    /// Removes what was received.
    pub async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}
