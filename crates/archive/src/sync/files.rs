//! Audio files between nodes, the master's side: which files it holds (by
//! the SHA-256 of their bytes), and receiving a slave's file in pieces.
//! Serving the bytes is `api::stream` (ranges, `If-Range`, a strong ETag).
//!
//! A node holds the bytes of hash H when a song with `content_hash` H has a
//! present file location whose size and modification time on disk are
//! still those recorded (a file re-written in place is not offered under its
//! old hash), or when H is in `content_files` (a file another node sent).

use std::path::PathBuf;

use chrono::{DateTime, SubsecRound, Utc};
use http_body_util::BodyExt;
use thiserror::Error;

use archive_db::sync::protocol::{
    FileAnswer, FileStatusOnMaster, FilesBatch, FilesBatchAnswer, FilesOperation, MAX_FILES_BATCH,
    UploadAnswer, UploadStatus,
};
use archive_db::sync::state::SlaveKey;
use archive_db::{ContentOrigin, Db, DbError};
use archive_media::StoreError;

use super::master::{MasterError, require_master};
use crate::state::AppState;

#[derive(Debug, Error)]
pub enum FilesError {
    #[error(transparent)]
    Master(#[from] MasterError),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("this upload continues at byte {received}, not {offset}")]
    WrongOffset { offset: u64, received: u64 },
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

type FilesResult<T> = Result<T, FilesError>;

/// Where a file's bytes are on this node.
#[derive(Debug, Clone)]
pub struct Held {
    pub path: PathBuf,
    pub size: u64,
}

/// The SHA-256 of a file as the protocol writes it: 64 lowercase hex digits.
pub fn parse_hash(field: &'static str, text: &str) -> FilesResult<String> {
    let valid = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match valid {
        true => Ok(text.to_owned()),
        false => {
            Err(FilesError::Invalid { field, message: format!("{field} must be 64 lowercase hex digits") })
        }
    }
}

/// Where this node holds the bytes whose SHA-256 is `sha256`, checked on disk.
pub async fn held(db: &Db, sha256: &str) -> Result<Option<Held>, DbError> {
    if let Some(file) = db.content_file(sha256).await?
        && let Ok(meta) = tokio::fs::metadata(&file.path).await
        && meta.len() as i64 == file.size
    {
        return Ok(Some(Held { path: file.path.into(), size: meta.len() }));
    }
    if let Some(location) = db.located_file_with_hash(sha256).await?
        && let Ok(meta) = tokio::fs::metadata(&location.path).await
    {
        let modified = meta.modified().ok().map(|t| DateTime::<Utc>::from(t).trunc_subsecs(6));
        if meta.len() as i64 == location.file_size && modified == location.modified_at {
            return Ok(Some(Held { path: location.path.into(), size: meta.len() }));
        }
    }
    Ok(None)
}

/// The download path of a file.
fn href(sha256: &str) -> String {
    format!("/api/v1/sync/files/{sha256}")
}

/// `POST /api/v1/sync/files/batch`.
pub async fn batch(state: &AppState, key: &SlaveKey, request: FilesBatch) -> FilesResult<FilesBatchAnswer> {
    require_master(state).await?;
    if request.operation == FilesOperation::Upload && key.read_only {
        return Err(MasterError::ReadOnlyKey.into());
    }
    if request.objects.len() > MAX_FILES_BATCH {
        let message = format!("a batch names at most {MAX_FILES_BATCH} files");
        return Err(FilesError::Invalid { field: "objects", message });
    }
    let mut objects = Vec::with_capacity(request.objects.len());
    for object in request.objects {
        let sha256 = parse_hash("sha256", &object.sha256)?;
        let answer = match (request.operation, held(&state.db, &sha256).await?) {
            (FilesOperation::Download, Some(held)) => FileAnswer {
                href: Some(href(&sha256)),
                size: held.size,
                status: FileStatusOnMaster::Available,
                sha256,
                received: None,
            },
            (FilesOperation::Download, None) => FileAnswer {
                size: object.size,
                status: FileStatusOnMaster::Missing,
                sha256,
                href: None,
                received: None,
            },
            (FilesOperation::Upload, Some(_)) => FileAnswer {
                size: object.size,
                status: FileStatusOnMaster::Present,
                sha256,
                href: None,
                received: None,
            },
            (FilesOperation::Upload, None) => FileAnswer {
                href: Some(href(&sha256)),
                received: Some(state.store.part_received(&sha256).await),
                size: object.size,
                status: FileStatusOnMaster::Needed,
                sha256,
            },
        };
        objects.push(answer);
    }
    Ok(FilesBatchAnswer { objects })
}

/// One piece of a slave's upload: `body` holds the bytes of the file from
/// `offset`, of `length` bytes in all. The piece is appended to what was
/// received before; the last one is checked against the hash and kept.
pub async fn receive<B>(
    state: &AppState,
    key: &SlaveKey,
    sha256: &str,
    offset: u64,
    length: u64,
    mut body: B,
) -> FilesResult<UploadAnswer>
where
    B: hyper::body::Body<Data = hyper::body::Bytes> + Unpin,
{
    require_master(state).await?;
    if key.read_only {
        return Err(MasterError::ReadOnlyKey.into());
    }
    let limit = state.config().max_upload_bytes;
    if length > limit {
        return Err(FilesError::TooLarge { limit });
    }
    if let Some(held) = held(&state.db, sha256).await? {
        return Ok(UploadAnswer { status: UploadStatus::Present, received: held.size });
    }
    let mut part = state.store.open_part(sha256).await?;
    if part.received() != offset {
        return Err(FilesError::WrongOffset { offset, received: part.received() });
    }
    while let Some(frame) = body.frame().await {
        // A sender that goes away keeps what arrived: it resumes from there.
        let Ok(frame) = frame else { break };
        let Ok(chunk) = frame.into_data() else { continue };
        if part.received() + chunk.len() as u64 > length {
            let message = format!("more bytes than the Upload-Length of {length}");
            return Err(FilesError::Invalid { field: "Upload-Length", message });
        }
        part.append(&chunk).await.map_err(StoreError::Io)?;
    }
    if part.received() < length {
        return Ok(UploadAnswer { status: UploadStatus::Partial, received: part.received() });
    }
    let stored = part.finish(&state.store).await?;
    let path = stored
        .path
        .to_str()
        .ok_or_else(|| StoreError::Io(std::io::Error::other("a store path that is not UTF-8")))?;
    let mut tx = state.db.begin().await?;
    tx.record_content_file(sha256, path, stored.size as i64, ContentOrigin::Received).await?;
    tx.commit().await?;
    tracing::info!(target: "sync", sha256, bytes = stored.size, node = %key.node_id, "received a file from a slave");
    Ok(UploadAnswer { status: UploadStatus::Stored, received: stored.size })
}
