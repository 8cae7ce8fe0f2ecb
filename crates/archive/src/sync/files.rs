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
use archive_db::{ContentFile, ContentOrigin, Db, DbError, SweepDue};
use archive_media::StoreError;

use super::master::{MasterError, PIECES_RUNNING, require_master, to_the_end};
use crate::state::AppState;

#[derive(Debug, Error)]
pub enum FilesError {
    #[error(transparent)]
    Master(#[from] MasterError),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("this upload continues at byte {received}, not {offset}")]
    WrongOffset { offset: u64, received: u64 },
    #[error(
        "the file is larger than the limit of {limit} bytes (ARCHIVE_MAX_UPLOAD_MB, or a slave key's \
         daily SYNC_UPLOAD_GB_PER_DAY)"
    )]
    TooLarge { limit: u64 },
    #[error(
        "this slave key has {left} of its {quota} bytes of files for today left \
         (SYNC_UPLOAD_GB_PER_DAY), too few for what it sends; more are taken in \
         {retry_after_secs} s, when the next day (UTC) starts"
    )]
    QuotaUsed { left: u64, quota: u64, retry_after_secs: u64 },
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

/// How long a file a slave sent waits for a song that names it, after it
/// arrived or an upload batch last named it, before the master removes it.
/// A slave sends a song's file just before the song (and names it again at
/// every cycle while the push is held back), so a file still unclaimed
/// after this is junk, or its song was deleted.
pub const UNCLAIMED_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// However often a batch names it: a key cannot keep its junk for ever by
/// asking about it. A batch that names such a file removes it at once and
/// answers `needed`: sent again, it waits anew.
pub const UNCLAIMED_AT_MOST: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// Not within this of a batch that named it, though: the push follows.
const PUSH_FOLLOWS_WITHIN: chrono::TimeDelta = chrono::TimeDelta::days(1);
/// The most files one sweep removes; the next sweep (an hour later) goes on.
const SWEEP_AT_MOST: usize = 10_000;

/// What a sweep of unclaimed files removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub files: u64,
    pub bytes: u64,
}

impl Swept {
    fn add(&mut self, more: Swept) {
        self.files += more.files;
        self.bytes += more.bytes;
    }
}

/// Removes, as of `now`, the files slaves sent that no song names by its
/// `content_hash` and that waited [`UNCLAIMED_FOR`] (or arrived
/// [`UNCLAIMED_AT_MOST`] ago): a master's hourly upkeep. Each is forgotten
/// in the database first, so that a file not recorded is never served, and
/// only if it is still due and still no song names it.
pub async fn sweep_unclaimed(db: &Db, now: DateTime<Utc>) -> Result<Swept, DbError> {
    let due = SweepDue {
        not_asked_since: now - UNCLAIMED_FOR,
        arrived_before: now - UNCLAIMED_AT_MOST,
        asked_since: now - PUSH_FOLLOWS_WITHIN,
    };
    let mut swept = Swept::default();
    let mut looked = 0;
    while looked < SWEEP_AT_MOST {
        let unclaimed = db.unclaimed_received_files(due, None, 100).await?;
        if unclaimed.is_empty() {
            break;
        }
        looked += unclaimed.len();
        swept.add(remove_unclaimed(db, unclaimed, due).await?);
    }
    Ok(swept)
}

/// Removes the files among `hashes` that came [`UNCLAIMED_AT_MOST`] ago
/// and that no song names, as an upload batch names them: the batch then
/// answers `needed`, and the file, sent again, waits anew.
async fn remove_expired_among(db: &Db, hashes: &[String]) -> Result<Swept, DbError> {
    if hashes.is_empty() {
        return Ok(Swept::default());
    }
    let now = archive_db::now();
    let due = SweepDue {
        // However lately it was asked for: only its age counts here.
        not_asked_since: DateTime::<Utc>::UNIX_EPOCH,
        arrived_before: now - UNCLAIMED_AT_MOST,
        asked_since: now + chrono::TimeDelta::seconds(1),
    };
    let expired = db.unclaimed_received_files(due, Some(hashes), i64::MAX).await?;
    remove_unclaimed(db, expired, due).await
}

/// Forgets each of `files` (if still `due` and unclaimed), then deletes it.
async fn remove_unclaimed(db: &Db, files: Vec<ContentFile>, due: SweepDue) -> Result<Swept, DbError> {
    let mut swept = Swept::default();
    for file in files {
        let mut tx = db.begin().await?;
        let forgotten = tx.forget_unclaimed_file(&file.sha256, due).await?;
        tx.commit().await?;
        if !forgotten {
            continue;
        }
        if let Err(error) = tokio::fs::remove_file(&file.path).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(target: "sync", path = file.path, %error, "cannot delete an unclaimed file");
        }
        swept.files += 1;
        swept.bytes += u64::try_from(file.size).unwrap_or(0);
    }
    Ok(swept)
}

/// The download path of a file.
fn href(sha256: &str) -> String {
    format!("/api/v1/sync/files/{sha256}")
}

/// The UTC day that uploads count against, and the seconds until the next one.
pub(crate) fn upload_day() -> (String, u64) {
    let now = Utc::now();
    let next = (now.date_naive() + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN).and_utc();
    let seconds = u64::try_from((next - now).num_seconds()).unwrap_or(0).max(1);
    (now.format("%Y-%m-%d").to_string(), seconds)
}

/// Refuses an upload batch when not one of the files it needs fits in what
/// is left of the key's quota today, so that the slave sends nothing it
/// would be refused. A file larger than the whole quota does not count:
/// its pieces are refused for good (413), and its song goes without it.
async fn check_quota_left(state: &AppState, key: &SlaveKey, objects: &[FileAnswer]) -> FilesResult<()> {
    let quota = state.config().sync.upload_bytes_per_day;
    let limit = largest_file(state);
    let smallest_needed = objects
        .iter()
        .filter(|o| o.status == FileStatusOnMaster::Needed && o.size <= limit)
        .map(|o| o.size.saturating_sub(o.received.unwrap_or(0)))
        .min();
    let Some(smallest_needed) = smallest_needed else { return Ok(()) };
    let (day, retry_after_secs) = upload_day();
    let left = quota.saturating_sub(state.db.uploaded_bytes(key.id, &day).await?);
    match smallest_needed > left {
        true => Err(FilesError::QuotaUsed { left, quota, retry_after_secs }),
        false => Ok(()),
    }
}

/// The largest file a slave may send: no more than one upload may be
/// (`ARCHIVE_MAX_UPLOAD_MB`), nor than a key may send in a day.
fn largest_file(state: &AppState) -> u64 {
    let config = state.config();
    config.max_upload_bytes.min(config.sync.upload_bytes_per_day)
}

/// A piece of an upload counted against its key's quota for the day before
/// its bytes are read; what does not arrive is given back.
struct CountedPiece {
    key_id: uuid::Uuid,
    day: String,
    counted: u64,
}

impl CountedPiece {
    /// Counts up to `bytes` against the key's day, or refuses the piece.
    async fn take(state: &AppState, key: &SlaveKey, bytes: u64) -> FilesResult<CountedPiece> {
        let quota = state.config().sync.upload_bytes_per_day;
        let (day, retry_after_secs) = upload_day();
        match state.db.take_upload_bytes(key.id, &day, bytes, quota).await? {
            true => Ok(CountedPiece { key_id: key.id, day, counted: bytes }),
            false => {
                let left = quota.saturating_sub(state.db.uploaded_bytes(key.id, &day).await?);
                Err(FilesError::QuotaUsed { left, quota, retry_after_secs })
            }
        }
    }

    /// Gives back what was counted and did not arrive.
    async fn settle(self, state: &AppState, arrived: u64) {
        let unused = self.counted.saturating_sub(arrived);
        if unused == 0 {
            return;
        }
        if let Err(error) = state.db.give_back_upload_bytes(self.key_id, &self.day, unused).await {
            // The key is then held to a little less than its quota today.
            tracing::warn!(target: "sync", %error, unused, "could not give back an upload's uncounted bytes");
        }
    }
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
    if request.operation == FilesOperation::Upload {
        // The files a slave is about to push songs for wait a week again;
        // noted before the answers, so that the sweep cannot take a file
        // between a `present` and the push that names it. One too old to
        // wait again goes now, and is asked for anew.
        let hashes: Vec<String> = request.objects.iter().map(|o| o.sha256.clone()).collect();
        remove_expired_among(&state.db, &hashes).await?;
        let mut tx = state.db.begin().await?;
        tx.received_files_wanted(&hashes).await?;
        tx.commit().await?;
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
    if request.operation == FilesOperation::Upload {
        check_quota_left(state, key, &objects).await?;
    }
    Ok(FilesBatchAnswer { objects })
}

/// Where a piece of an upload goes: its first byte's place in the file
/// (`Upload-Offset`), the whole file's size (`Upload-Length`), and the
/// piece's own size when its framing fixes it (a `Content-Length` body; a
/// chunked one may bring any size, whatever headers it also carries).
#[derive(Debug, Clone, Copy)]
pub struct PieceOf {
    pub offset: u64,
    pub length: u64,
    pub size: Option<u64>,
}

impl PieceOf {
    /// The most bytes the piece can bring: no more than the rest of the file.
    fn most_bytes(self) -> u64 {
        let rest = self.length.saturating_sub(self.offset);
        self.size.map_or(rest, |size| size.min(rest))
    }
}

/// [`receive`] in a task of its own, which owns the body until it hands it
/// back with the answer: a slave that hangs up mid-piece ends the body, not
/// the task, so what arrived is kept and what did not is given back to the
/// key's quota. (A handler is dropped with its connection, and could stop
/// between counting a piece and giving back what never came.)
pub async fn receive_to_the_end<B>(
    state: AppState,
    key: SlaveKey,
    sha256: String,
    piece: PieceOf,
    mut body: B,
) -> (FilesResult<UploadAnswer>, B)
where
    B: hyper::body::Body<Data = hyper::body::Bytes> + Unpin + Send + Default + 'static,
    B::Error: Send,
{
    let receiving = to_the_end(&PIECES_RUNNING, async move {
        let answer = receive(&state, &key, &sha256, piece, &mut body).await;
        (answer, body)
    });
    match receiving.await {
        Ok(done) => done,
        Err(stopped) => (Err(stopped.into()), B::default()),
    }
}

/// One piece of a slave's upload: `body` holds the bytes of the file from
/// `piece.offset`, of `piece.length` bytes in all. The piece is appended to
/// what was received before; the last one is checked against the hash and
/// kept. Before any byte is read, the piece must fit in the key's quota for
/// the day and leave the disk its free space.
pub async fn receive<B>(
    state: &AppState,
    key: &SlaveKey,
    sha256: &str,
    piece: PieceOf,
    body: &mut B,
) -> FilesResult<UploadAnswer>
where
    B: hyper::body::Body<Data = hyper::body::Bytes> + Unpin,
{
    require_master(state).await?;
    if key.read_only {
        return Err(MasterError::ReadOnlyKey.into());
    }
    let config = state.config();
    let limit = largest_file(state);
    if piece.length > limit {
        return Err(FilesError::TooLarge { limit });
    }
    if let Some(held) = held(&state.db, sha256).await? {
        return Ok(UploadAnswer { status: UploadStatus::Present, received: held.size });
    }
    state.store.check_room(piece.most_bytes(), config.min_free_bytes).await?;
    let counted = CountedPiece::take(state, key, piece.most_bytes()).await?;
    let mut arrived = 0;
    let answer = receive_piece(state, key, sha256, piece, body, &mut arrived).await;
    counted.settle(state, arrived).await;
    answer
}

/// The bytes of one piece, appended to the file's part; `arrived` counts them.
async fn receive_piece<B>(
    state: &AppState,
    key: &SlaveKey,
    sha256: &str,
    piece: PieceOf,
    body: &mut B,
    arrived: &mut u64,
) -> FilesResult<UploadAnswer>
where
    B: hyper::body::Body<Data = hyper::body::Bytes> + Unpin,
{
    let PieceOf { offset, length, .. } = piece;
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
        // Never more than was counted against the quota and the disk.
        if *arrived + chunk.len() as u64 > piece.most_bytes() {
            let message = format!("more bytes than the piece's size of {}", piece.most_bytes());
            return Err(FilesError::Invalid { field: "Content-Length", message });
        }
        part.append(&chunk).await.map_err(StoreError::Io)?;
        *arrived += chunk.len() as u64;
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
