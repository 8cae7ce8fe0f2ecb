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
    #[error("cannot store the upload: {0}")]
    Io(#[from] std::io::Error),
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
        let (format, temp) = tokio::task::spawn_blocking(move || (read_track(&temp).map(|t| t.format), temp))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        let format = format.map_err(|e| match e {
            MediaError::Empty | MediaError::NotAudio => {
                StoreError::NotAudio { name: name.clone(), reason: e.to_string() }
            }
            MediaError::Damaged(reason) => StoreError::Damaged { name: name.clone(), reason },
            MediaError::Io(e) => StoreError::Io(e),
        })?;
        Ok(Checked { temp, content_hash, size: self.size, format, client_name: name })
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
        let dir = store.root.join(&self.content_hash[..2]);
        private_dir(&dir).await?;
        let path = dir.join(format!("{}.{}", self.content_hash, self.format.extension()));
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
