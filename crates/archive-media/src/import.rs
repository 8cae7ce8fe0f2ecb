//! Importing folders of audio files, in place.
//!
//! 1. Walk each root and list the files with an audio extension.
//! 2. Skip those this node already has with the same size and modification
//!    time (re-importing an unchanged library is a walk and a lookup).
//! 3. Read the tags and the identity ([`identity::sample`]: at most a few
//!    hundred kilobytes of each file) of the rest on every core. The full
//!    SHA-256 of a large file is left to the background (`full_hash`).
//! 4. Write them in batches, each in one transaction through the database
//!    layer's write path (every row records its change). If a batch fails,
//!    its files are written one by one, so one bad file costs only itself.
//! 5. Mark the files that disappeared as missing.
//!
//! A file that cannot be read is reported with its error and skipped; nothing
//! is written for it, and the import goes on.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archive_db::{
    BackgroundCheckpoints, Db, DbError, FileLocation, ImportedSong, NewFileLocation, NewSong, Tx,
};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::full_hash::content_hash;
use crate::identity::{self, Sample};
use crate::tags::{MediaError, NameHint, TrackInfo, read_track_in_memory, read_track_with};

/// Extensions of the files an import looks at (the format itself is then
/// detected from the content).
const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "ogg", "oga", "opus", "spx", "m4a", "m4b", "mp4", "aac", "wav", "wave", "aif", "aiff",
    "aifc", "ape", "mpc", "wv",
];

/// Whether an import looks at the file at `path` (by its extension; the
/// format itself is then detected from the content).
pub fn is_audio_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// An import of this many files or more refreshes the database's
/// statistics at its end ([`Db::refresh_library_statistics`]).
const STATISTICS_AFTER: u64 = 1000;

/// From how many files to write a library import sets the song indexes
/// aside and builds them afterwards (see [`sets_indexes_aside`]).
const INDEXES_ASIDE_FROM: usize = 10_000;

/// Whether writing `files` files into a library of `songs` songs is quicker
/// with the indexes of `songs` built once at the end: building an index
/// sorts every row once, where keeping it up to date costs a search and an
/// insert into a random page per row and index (100k files on SQLite: 7.8 s
/// with the indexes, 5.5 s without, and 0.6 s to build them). Pays when the
/// import adds at least as many songs as the library has, such as a first
/// import; a few new files into a large library keep the indexes.
fn sets_indexes_aside(files: usize, songs: u64) -> bool {
    files >= INDEXES_ASIDE_FROM && files as u64 >= songs
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{path} is not a readable folder: {reason}")]
    Root { path: PathBuf, reason: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One file that could not be imported, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileError {
    pub path: String,
    pub error: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Audio files found.
    pub seen: u64,
    /// Files new or changed since the last import, now in the library.
    pub imported: u64,
    /// Files unchanged since the last import (or duplicates of another file).
    pub skipped: u64,
    pub failed: Vec<FileError>,
    /// Files imported although part of them was damaged and skipped (a bad
    /// tag frame, a metadata block of the wrong size), and what was skipped.
    pub warnings: Vec<FileError>,
    /// Files known from an earlier import that are gone from disk.
    pub missing: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Live counters of a running import (for a progress bar or the web UI).
#[derive(Debug)]
pub struct Progress {
    seen: AtomicU64,
    imported: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
    started: Instant,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProgressSnapshot {
    pub seen: u64,
    pub imported: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Files handled (imported, skipped or failed) per second so far.
    pub files_per_second: f64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            seen: AtomicU64::new(0),
            imported: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Progress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        let (imported, skipped, failed) = (
            self.imported.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        );
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        ProgressSnapshot {
            seen: self.seen.load(Ordering::Relaxed),
            imported,
            skipped,
            failed,
            files_per_second: (imported + skipped + failed) as f64 / secs,
        }
    }
}

/// A file found on disk.
struct Candidate {
    path: PathBuf,
    path_text: String,
    size: u64,
    modified: Option<DateTime<Utc>>,
    /// For an upload, the name its client gave it (`None`: a library file,
    /// named by its path).
    upload_name: Option<Option<String>>,
    /// The whole file's SHA-256, when the caller knows it already.
    known_hash: Option<String>,
}

impl Candidate {
    fn hint(&self) -> NameHint<'_> {
        match &self.upload_name {
            None => NameHint::Path,
            Some(name) => NameHint::Upload(name.as_deref()),
        }
    }
}

/// A file imported by itself (an upload): where it is, and the name its
/// client gave it, if any.
#[derive(Debug, Clone)]
pub struct NamedFile {
    pub path: PathBuf,
    pub client_name: Option<String>,
    /// The whole file's SHA-256, if known (the upload store computes it as
    /// the bytes arrive): the import then does not read the file again for it.
    pub content_hash: Option<String>,
}

/// A file read, ready to write. What only depends on the file itself (its
/// sampled id, the keys of its names) is made by the reading threads, on
/// every core, so that the writing side only looks things up.
struct Scanned {
    candidate: Candidate,
    info: TrackInfo,
    /// The id its identity sample gives (a file seen before, or imported
    /// before sampling, may keep another).
    sampled_id: Uuid,
    /// The SHA-256 of the whole file, when this import computed it (a small
    /// file, an upload, or a file that may be a song imported before sampling).
    full_hash: Option<String>,
    names: FileNames,
}

impl Scanned {
    fn new(candidate: Candidate, info: TrackInfo, sample: &Sample, full_hash: Option<String>) -> Scanned {
        let names = FileNames::of(&info);
        Scanned { candidate, info, sampled_id: identity::song_id(sample), full_hash, names }
    }
}

/// The artists, genre and album a file's tags name, as the keys the import
/// finds them by.
struct FileNames {
    artist: Option<NameKey>,
    album_artist: Option<NameKey>,
    genre: Option<NameKey>,
    album: Option<NameKey>,
}

impl FileNames {
    fn of(info: &TrackInfo) -> FileNames {
        let artist = |name: &String| NameKey::Artist(name.clone());
        FileNames {
            artist: info.artist.as_ref().map(artist),
            album_artist: info.album_artist.as_ref().map(artist),
            genre: info.genre.as_ref().map(|name| NameKey::Genre(name.clone())),
            album: info
                .album
                .as_ref()
                .map(|title| NameKey::Album(album_artist(info).cloned(), title.clone())),
        }
    }

    /// The key of the artist the album is by.
    fn album_by(&self) -> Option<&NameKey> {
        self.album_artist.as_ref().or(self.artist.as_ref())
    }
}

/// Songs imported before sampled identities, whose ids came from the
/// SHA-256 of the whole file: a file of the same size is hashed whole, and
/// if it is one of them, it keeps that song's id. So a library synced
/// between nodes before the change does not split when a node imports a
/// file it had not imported yet.
#[derive(Default)]
struct SongsBeforeSampling {
    sizes: HashSet<u64>,
    by_hash: HashMap<String, Uuid>,
}

impl SongsBeforeSampling {
    /// Those whose size is one of the candidates' (that are at new paths).
    async fn of(
        db: &Db,
        candidates: &VecDeque<Candidate>,
        known: &HashMap<String, FileLocation>,
    ) -> Result<Self, DbError> {
        let sizes: HashSet<i64> = candidates
            .iter()
            .filter(|c| !known.contains_key(&c.path_text))
            .filter_map(|c| i64::try_from(c.size).ok())
            .collect();
        let mut older = SongsBeforeSampling::default();
        if sizes.is_empty() {
            return Ok(older);
        }
        let sizes: Vec<i64> = sizes.into_iter().collect();
        for (id, hash, size) in db.hashed_songs_of_sizes(&sizes).await? {
            if identity::is_full_hash_id(id, &hash) {
                older.sizes.insert(size as u64);
                older.by_hash.insert(hash, id);
            }
        }
        Ok(older)
    }
}

/// Imports the audio files under `roots` into the library.
pub async fn import(
    db: &Db,
    roots: &[PathBuf],
    progress: Arc<Progress>,
) -> Result<ImportReport, ImportError> {
    // One import of the folders at a time, across every process on the
    // database (several `archive serve` processes act as one master).
    let _one_at_a_time = db.lock_job(archive_db::Job::LibraryImport).await?;
    // Indexes and keys an import set aside and could not build again (the
    // process was stopped) are built before anything else is written.
    db.restore_song_indexes().await?;
    db.restore_foreign_keys().await?;
    let started = Instant::now();
    let mut report = ImportReport::default();
    for root in roots {
        import_root(db, root, &progress, &mut report).await?;
    }
    if report.imported >= STATISTICS_AFTER
        && let Err(error) = db.refresh_library_statistics().await
    {
        // The import itself is done and committed; searches are only slower.
        tracing::warn!(%error, "could not refresh the planner's statistics after an import");
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

pub use archive_db::FileSource;

/// Imports uploaded files, kept in the content store: read, hashed and
/// written like files of a folder, without walking anything or marking
/// anything missing. Missing tags come from the name each client gave its
/// file, then "Unknown Artist" and "Unknown Album" (never from the store's
/// own path, which is the file's hash).
pub async fn import_uploads(
    db: &Db,
    files: &[NamedFile],
    progress: Arc<Progress>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut report = ImportReport::default();
    let mut known = HashMap::new();
    let mut to_read = VecDeque::new();
    for file in files {
        progress.seen.fetch_add(1, Ordering::Relaxed);
        report.seen += 1;
        let candidate = match candidate(&file.path) {
            Ok(candidate) => Candidate {
                upload_name: Some(file.client_name.clone()),
                known_hash: file.content_hash.clone(),
                ..candidate
            },
            Err(error) => {
                fail(&progress, &mut report, error);
                continue;
            }
        };
        if let Some(location) = db.file_location_by_path(&candidate.path_text).await? {
            known.insert(location.path.clone(), location);
        }
        if unchanged(&known, &candidate) {
            count(&progress, &mut report, 0, 1);
        } else {
            to_read.push_back(candidate);
        }
    }
    read_and_write(db, to_read, &known, FileSource::Upload, &progress, &mut report, None).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A file to import, with the size and modification time that tell later
/// imports whether it changed.
fn candidate(path: &Path) -> Result<Candidate, FileError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| FileError { path: path.display().to_string(), error: e.to_string() })?;
    candidate_with(path, &meta)
}

fn candidate_with(path: &Path, meta: &std::fs::Metadata) -> Result<Candidate, FileError> {
    let path_text = path.to_str().map(str::to_owned).ok_or_else(|| FileError {
        path: path.display().to_string(),
        error: "the path is not UTF-8".into(),
    })?;
    Ok(Candidate {
        path: path.to_owned(),
        path_text,
        size: meta.len(),
        modified: meta.modified().ok().map(|t| DateTime::<Utc>::from(t).trunc_subsecs(6)),
        upload_name: None,
        known_hash: None,
    })
}

async fn import_root(
    db: &Db,
    root: &Path,
    progress: &Arc<Progress>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let root_error = |reason: String| ImportError::Root { path: root.to_owned(), reason };
    let root = std::fs::canonicalize(root).map_err(|e| root_error(e.to_string()))?;
    if !root.is_dir() {
        return Err(root_error("not a folder".into()));
    }
    let prefix = format!("{}/", root.to_str().ok_or_else(|| root_error("the path is not UTF-8".into()))?);
    let known: HashMap<String, FileLocation> =
        db.file_locations_under(&prefix).await?.into_iter().map(|l| (l.path.clone(), l)).collect();

    let walk_root = root.clone();
    let (candidates, walk_errors) =
        tokio::task::spawn_blocking(move || walk(&walk_root)).await.expect("the folder walk does not panic");
    progress.seen.fetch_add(candidates.len() as u64 + walk_errors.len() as u64, Ordering::Relaxed);
    report.seen += candidates.len() as u64 + walk_errors.len() as u64;
    for error in walk_errors {
        fail(progress, report, error);
    }

    let on_disk: HashSet<String> = candidates.iter().map(|c| c.path_text.clone()).collect();
    let mut to_read = VecDeque::new();
    for candidate in candidates {
        if unchanged(&known, &candidate) {
            count(progress, report, 0, 1);
        } else {
            to_read.push_back(candidate);
        }
    }

    // A large import writes the log over and over: it is copied into the
    // database beside the writer, not inside its commits. Asked first: once
    // indexes are set aside, nothing may return before they are built again.
    let mut checkpoints = match to_read.len() > CHECKPOINTS_BESIDE_FROM {
        true => Some(db.checkpoints_in_background().await?),
        false => None,
    };
    // The library is counted only for an import large enough to qualify:
    // the watcher's imports of a few files skip the count.
    let aside = to_read.len() >= INDEXES_ASIDE_FROM
        && sets_indexes_aside(to_read.len(), db.song_count().await?)
        && set_indexes_aside(db).await?;
    let written =
        read_and_write(db, to_read, &known, FileSource::Library, progress, report, checkpoints.as_mut())
            .await;
    // Built again whatever the writing did: a failed import still leaves a
    // library that pages can browse by index.
    let restored = match aside {
        true => restore_indexes(db).await,
        false => Ok(()),
    };
    let finished = match checkpoints {
        Some(checkpoints) => checkpoints.finish().await,
        None => Ok(()),
    };
    written?;
    restored?;
    finished?;

    let gone: Vec<String> = known
        .values()
        .filter(|l| l.status == archive_db::FileStatus::Present && !on_disk.contains(&l.path))
        .map(|l| l.path.clone())
        .collect();
    if !gone.is_empty() {
        let mut tx = db.begin().await?;
        report.missing += tx.mark_files_missing(&gone).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Reads the candidates on every core and writes them in batches.
async fn read_and_write(
    db: &Db,
    to_read: VecDeque<Candidate>,
    known: &HashMap<String, FileLocation>,
    source: FileSource,
    progress: &Arc<Progress>,
    report: &mut ImportReport,
    checkpoints: Option<&mut BackgroundCheckpoints>,
) -> Result<(), ImportError> {
    let older = SongsBeforeSampling::of(db, &to_read, known).await?;
    // Into a library that was empty, songs are inserted without a lookup
    // each. One written meanwhile by someone else (an upload, a sync)
    // fails its batch, which is then written file by file, looking up.
    let batch_size = batch_size(db, to_read.len());
    let library_was_empty = to_read.len() > batch_size && db.song_count().await? == 0;
    let hash_whole =
        Arc::new(HashWhole { uploads: source == FileSource::Upload, sizes: older.sizes.clone() });
    let mut scanned = read_all(to_read, hash_whole, batch_size);
    let mut writer = Writer {
        db,
        known,
        older,
        source,
        written: HashSet::new(),
        names: NameCache::default(),
        checkpoints,
        library_was_empty,
    };
    let mut batch = Vec::with_capacity(batch_size);
    while let Some(result) = scanned.recv().await {
        match result {
            Ok(file) => {
                warn(report, &file.candidate.path_text, &file.info.warnings);
                batch.push(file)
            }
            Err((candidate, e)) => {
                fail(progress, report, FileError { path: candidate.path_text, error: e.to_string() })
            }
        }
        if batch.len() >= batch_size {
            writer.write_batch(std::mem::take(&mut batch), progress, report).await?;
        }
    }
    writer.write_batch(batch, progress, report).await
}

/// Files per batch for an import of `files`: the database's batch
/// ([`Db::import_batch_size`]), but at least two batches for `files` above
/// [`FEWEST_FILES_SPLIT`], so that the second is read while the first is
/// written (20k files in one batch of 20,000: 0.75–0.83 s, against
/// 0.72–0.78 s in two).
fn batch_size(db: &Db, files: usize) -> usize {
    db.import_batch_size().min(files.div_ceil(2).max(FEWEST_FILES_SPLIT))
}

/// An import of at most this many files is written in one batch.
const FEWEST_FILES_SPLIT: usize = 1000;

/// An import of more than this many files has its log copied into the
/// database in the background ([`Db::checkpoints_in_background`]); a
/// smaller one's log stays small.
const CHECKPOINTS_BESIDE_FROM: usize = 10_000;

/// Whether this node has the file already, with the same size and modification time.
fn unchanged(known: &HashMap<String, FileLocation>, candidate: &Candidate) -> bool {
    known.get(&candidate.path_text).is_some_and(|l| {
        l.status == archive_db::FileStatus::Present
            && l.file_size == candidate.size as i64
            && l.modified_at == candidate.modified
    })
}

/// A file imported although part of it was damaged and skipped.
fn warn(report: &mut ImportReport, path: &str, warnings: &[String]) {
    for warning in warnings {
        tracing::warn!(path, warning, "imported a file with damage skipped");
        report.warnings.push(FileError { path: path.to_owned(), error: warning.clone() });
    }
}

fn fail(progress: &Progress, report: &mut ImportReport, error: FileError) {
    tracing::warn!(path = %error.path, error = %error.error, "skipped a file that cannot be imported");
    progress.failed.fetch_add(1, Ordering::Relaxed);
    report.failed.push(error);
}

/// Sets aside what a bulk import writes faster without: the song indexes
/// and, on PostgreSQL, the foreign keys of songs and file locations.
async fn set_indexes_aside(db: &Db) -> Result<bool, DbError> {
    let indexes = db.set_song_indexes_aside().await?;
    // Indexes are already aside, so this must not return early: keys kept
    // only make the import slower.
    let foreign_keys = db.set_foreign_keys_aside().await.unwrap_or_else(|error| {
        tracing::warn!(%error, "foreign keys kept during a bulk import: they could not be set aside");
        0
    });
    if indexes + foreign_keys > 0 {
        tracing::info!(indexes, foreign_keys, "set aside for a bulk import; built again at its end");
    }
    Ok(indexes + foreign_keys > 0)
}

async fn restore_indexes(db: &Db) -> Result<(), DbError> {
    let started = Instant::now();
    let indexes = db.restore_song_indexes().await;
    let foreign_keys = db.restore_foreign_keys().await;
    let (indexes, foreign_keys) = (indexes?, foreign_keys?);
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(indexes, foreign_keys, elapsed_ms, "song indexes and foreign keys built again");
    Ok(())
}

/// Lists the audio files under `root` (by extension), in the order one
/// sorted walk lists them, and what could not be listed. The entries
/// directly under `root` are listed on one thread per core: listing a
/// library is mostly system calls (a folder read per folder, a `stat` per
/// file), and the whole import waits for the list.
fn walk(root: &Path) -> (Vec<Candidate>, Vec<FileError>) {
    let mut listed = Listed::default();
    let mut children = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).max_depth(1).sort_by_file_name() {
        match entry {
            Ok(entry) => children.push(entry),
            Err(e) => listed.failed(e),
        }
    }
    // Each child's list lands in its own slot, so that the whole list keeps
    // the walk's order whichever thread listed what.
    let slots: Vec<Mutex<Listed>> = children.iter().map(|_| Mutex::default()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(children.len());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(child) = children.get(i) else { break };
                    *slots[i].lock().expect("slot lock") = Listed::under(child);
                }
            });
        }
    });
    for slot in slots {
        let child = slot.into_inner().expect("slot lock");
        listed.files.extend(child.files);
        listed.errors.extend(child.errors);
    }
    (listed.files, listed.errors)
}

/// Audio files found by a walk, and what could not be listed.
#[derive(Default)]
struct Listed {
    files: Vec<Candidate>,
    errors: Vec<FileError>,
}

impl Listed {
    /// Everything under `entry`: itself if it is a file, its whole tree
    /// (sorted by name, symbolic links not followed) if it is a folder.
    fn under(entry: &walkdir::DirEntry) -> Listed {
        let mut listed = Listed::default();
        if !entry.file_type().is_dir() {
            listed.add(entry);
            return listed;
        }
        for found in walkdir::WalkDir::new(entry.path()).follow_links(false).sort_by_file_name() {
            match found {
                Ok(found) => listed.add(&found),
                Err(e) => listed.failed(e),
            }
        }
        listed
    }

    fn add(&mut self, entry: &walkdir::DirEntry) {
        let path = entry.path();
        if !entry.file_type().is_file() || !is_audio_path(path) {
            return;
        }
        match entry.metadata() {
            Ok(meta) => match candidate_with(path, &meta) {
                Ok(candidate) => self.files.push(candidate),
                Err(error) => self.errors.push(error),
            },
            Err(e) => self.errors.push(FileError { path: path.display().to_string(), error: e.to_string() }),
        }
    }

    fn failed(&mut self, e: walkdir::Error) {
        let path = e.path().map(|p| p.display().to_string()).unwrap_or_default();
        self.errors.push(FileError { path, error: e.to_string() });
    }
}

type ReadResult = Result<Scanned, (Candidate, MediaError)>;

/// Which files the readers hash whole, beyond the small ones a sample reads whole.
struct HashWhole {
    /// Uploads whose hash the caller did not give: they have just been read
    /// whole anyway, and a node offers its uploads to others by that hash.
    uploads: bool,
    /// The sizes of songs imported before sampling.
    sizes: HashSet<u64>,
}

/// Reads the files on one thread per core; results arrive in any order.
fn read_all(
    queue: VecDeque<Candidate>,
    hash_whole: Arc<HashWhole>,
    batch_size: usize,
) -> mpsc::Receiver<ReadResult> {
    // One batch waiting while one is written keeps both cores busy and memory bounded.
    let (sender, receiver) = mpsc::channel(batch_size);
    let queue = Arc::new(Mutex::new(queue));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    for _ in 0..workers {
        let queue = queue.clone();
        let sender = sender.clone();
        let hash_whole = hash_whole.clone();
        tokio::task::spawn_blocking(move || {
            loop {
                let Some(candidate) = queue.lock().expect("queue lock").pop_front() else { break };
                let result = match read_file(&candidate, &hash_whole) {
                    Ok((info, sample, full_hash)) => Ok(Scanned::new(candidate, info, &sample, full_hash)),
                    Err(e) => Err((candidate, e)),
                };
                if sender.blocking_send(result).is_err() {
                    break;
                }
            }
        });
    }
    receiver
}

/// Reads a file's tags and sample (and its full hash, if `hash_whole`
/// says so). A small file is read once, whole, and parsed from memory.
fn read_file(
    candidate: &Candidate,
    hash_whole: &HashWhole,
) -> Result<(TrackInfo, Sample, Option<String>), MediaError> {
    let small = match candidate.size <= identity::WHOLE_FILE_UP_TO {
        true => read_at_most(&candidate.path, identity::WHOLE_FILE_UP_TO, candidate.size)?,
        false => None,
    };
    let (mut info, sample) = match small {
        Some(bytes) => (
            read_track_in_memory(&bytes, &candidate.path, candidate.hint())?,
            identity::sample_in_memory(&bytes),
        ),
        None => (read_track_with(&candidate.path, candidate.hint())?, identity::sample(&candidate.path)?),
    };
    // Covers are served from the files when asked for; holding thousands of
    // them here would only cost memory.
    info.cover = None;
    let full_hash = match sample.full_hash.as_ref().or(candidate.known_hash.as_ref()) {
        Some(hash) => Some(hash.clone()),
        None if hash_whole.uploads || hash_whole.sizes.contains(&sample.size) => {
            Some(content_hash(&candidate.path)?)
        }
        None => None,
    };
    Ok((info, sample, full_hash))
}

/// The whole file, if it is at most `limit` bytes now: a file that grew
/// since it was listed (one being copied in) is never read into memory
/// past the limit, whatever its size. `listed` is its size when listed:
/// room for that much is taken at once (a buffer grown from nothing was
/// a third of the readers' system calls).
fn read_at_most(path: &Path, limit: u64, listed: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let room = usize::try_from(listed.min(limit) + 1).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(room);
    std::fs::File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Ids of the artists, albums and genres this import found or created, so
/// that each name costs one lookup per import, not one per file. Ids from a
/// transaction that has not committed yet are kept apart and forgotten if it
/// rolls back.
#[derive(Default)]
struct NameCache {
    committed: HashMap<NameKey, Uuid>,
    pending: HashMap<NameKey, Uuid>,
}

/// A name as a file's tags give it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NameKey {
    Artist(String),
    Genre(String),
    /// Album artist (or none) and title.
    Album(Option<String>, String),
}

/// Names to find or create, in the order first met.
#[derive(Default)]
struct Wanted {
    keys: Vec<NameKey>,
    listed: HashSet<NameKey>,
}

/// The name of the artist a file's album is by.
fn album_artist(info: &TrackInfo) -> Option<&String> {
    info.album_artist.as_ref().or(info.artist.as_ref())
}

impl NameCache {
    fn get(&self, key: &NameKey) -> Option<Uuid> {
        self.committed.get(key).or_else(|| self.pending.get(key)).copied()
    }

    /// The id of a name [`NameCache::resolve`] found.
    fn id(&self, key: &NameKey) -> Uuid {
        self.get(key).expect("every name of the batch was resolved")
    }

    /// Finds or creates every artist, genre and album the files name that
    /// this import has not met yet, in a few statements for the whole batch.
    async fn resolve(&mut self, tx: &mut Tx, files: &[Scanned]) -> Result<(), DbError> {
        let mut artists = Wanted::default();
        let mut genres = Wanted::default();
        for names in files.iter().map(|f| &f.names) {
            for key in [&names.artist, &names.album_artist].into_iter().flatten() {
                self.want(&mut artists, key);
            }
            if let Some(key) = &names.genre {
                self.want(&mut genres, key);
            }
        }
        let wanted = |keys: &[NameKey], id: fn(&str) -> Uuid| -> Vec<(String, Uuid)> {
            keys.iter()
                .map(|key| match key {
                    NameKey::Artist(name) | NameKey::Genre(name) => (name.clone(), id(name)),
                    NameKey::Album(..) => unreachable!("albums are resolved apart"),
                })
                .collect()
        };
        let ids = tx.ensure_artists(&wanted(&artists.keys, identity::artist_id)).await?;
        self.pending.extend(artists.keys.into_iter().zip(ids));
        let ids = tx.ensure_genres(&wanted(&genres.keys, identity::genre_id)).await?;
        self.pending.extend(genres.keys.into_iter().zip(ids));

        // Albums last: an album is found by its artist's id.
        let mut albums = Wanted::default();
        let mut new_albums = Vec::new();
        for file in files {
            let Some(key @ NameKey::Album(by, title)) = &file.names.album else { continue };
            if self.want(&mut albums, key) {
                new_albums.push(archive_db::NewAlbum {
                    id: Some(identity::album_id(by.as_deref(), title)),
                    title: title.clone(),
                    artist_id: file.names.album_by().map(|artist| self.id(artist)),
                    year: file.info.year,
                });
            }
        }
        let ids = tx.ensure_albums(new_albums).await?;
        self.pending.extend(albums.keys.into_iter().zip(ids));
        Ok(())
    }

    /// Adds `key` to `list` unless it is known or listed already; whether it was added.
    fn want(&self, list: &mut Wanted, key: &NameKey) -> bool {
        let new = self.get(key).is_none() && !list.listed.contains(key);
        if new {
            list.listed.insert(key.clone());
            list.keys.push(key.clone());
        }
        new
    }

    fn committed(&mut self) {
        self.committed.extend(self.pending.drain());
    }

    fn rolled_back(&mut self) {
        // The ids may be stale in any way now (a row deleted meanwhile): start over.
        self.pending.clear();
        self.committed.clear();
    }
}

/// Writes scanned files in batches.
struct Writer<'a> {
    db: &'a Db,
    known: &'a HashMap<String, FileLocation>,
    older: SongsBeforeSampling,
    source: FileSource,
    /// Songs written by this import, to skip a second file with the same content.
    written: HashSet<Uuid>,
    names: NameCache,
    /// Told of each commit, when the import copies the log in the background.
    checkpoints: Option<&'a mut BackgroundCheckpoints>,
    /// Whether the library had no songs when the import began.
    library_was_empty: bool,
}

/// What a batch wrote.
#[derive(Default)]
struct BatchOutcome {
    imported: u64,
    /// The same content as a file already imported in this run: skipped.
    duplicates: u64,
    songs: HashSet<Uuid>,
}

impl Writer<'_> {
    /// Writes a batch in one transaction; if that fails, file by file, so
    /// that a bad file costs only itself. An error that fails every write
    /// (a full disk, a database that is down) stops the import instead:
    /// going on would only fail every file that is left.
    async fn write_batch(
        &mut self,
        batch: Vec<Scanned>,
        progress: &Progress,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.try_write(&batch).await {
            Ok(outcome) => self.done(outcome, progress, report),
            Err(e) if e.is_unavailable() => return Err(e.into()),
            Err(e) => {
                tracing::info!(error = %e, "a batch failed; writing its files one by one");
                for file in batch {
                    let path = file.candidate.path_text.clone();
                    match self.try_write(std::slice::from_ref(&file)).await {
                        Ok(outcome) => self.done(outcome, progress, report),
                        Err(e) if e.is_unavailable() => return Err(e.into()),
                        Err(e) => fail(progress, report, FileError { path, error: e.to_string() }),
                    }
                }
            }
        }
        Ok(())
    }

    fn done(&mut self, outcome: BatchOutcome, progress: &Progress, report: &mut ImportReport) {
        if let Some(checkpoints) = self.checkpoints.as_mut() {
            checkpoints.after_commit();
        }
        self.written.extend(outcome.songs);
        count(progress, report, outcome.imported, outcome.duplicates);
    }

    async fn try_write(&mut self, files: &[Scanned]) -> Result<BatchOutcome, DbError> {
        let result = async {
            // References are checked at commit, once per artist, album and
            // genre, not by SQLite row by row (see `Db::begin_bulk`).
            let mut tx = self.db.begin_bulk().await?;
            self.names.resolve(&mut tx, files).await?;
            let mut outcome = BatchOutcome::default();
            let mut songs = Vec::with_capacity(files.len());
            let mut locations = Vec::with_capacity(files.len());
            for file in files {
                match self.prepare(file, &outcome.songs)? {
                    Some((song, location)) => {
                        outcome.songs.insert(location.song_id);
                        outcome.imported += 1;
                        songs.push(song);
                        locations.push(location);
                    }
                    None => outcome.duplicates += 1,
                }
            }
            let new_songs = files.len() > 1 && self.library_was_empty;
            match new_songs {
                true => tx.insert_new_songs(songs).await?,
                false => tx.upsert_songs(songs).await?,
            }
            // The import started with every location under its root, and
            // holds the import lock: paths it did not know have none. If one
            // has after all (an upload stored inside a library folder), the
            // batch fails and its files are written one by one, upserting.
            let new_paths =
                files.len() > 1 && files.iter().all(|f| !self.known.contains_key(&f.candidate.path_text));
            match (new_songs, new_paths) {
                (true, true) => tx.insert_locations_of_new_songs(&locations).await?,
                (false, true) => tx.insert_file_locations(&locations).await?,
                (_, false) => tx.upsert_file_locations(&locations).await?,
            }
            tx.commit().await?;
            Ok(outcome)
        }
        .await;
        match &result {
            Ok(_) => self.names.committed(),
            Err(_) => self.names.rolled_back(),
        }
        result
    }

    /// The file's song (with the ids of its artist, album and genre, which
    /// [`NameCache::resolve`] found) and location to write; `None` for a
    /// duplicate of a song already written by this import.
    fn prepare(
        &self,
        file: &Scanned,
        in_this_batch: &HashSet<Uuid>,
    ) -> Result<Option<(ImportedSong, NewFileLocation)>, DbError> {
        let info = &file.info;
        // A path seen before keeps its song, even if the file was re-tagged;
        // a new path takes the id its content gives.
        let known = self.known.get(&file.candidate.path_text);
        let before_sampling =
            || file.full_hash.as_ref().and_then(|hash| self.older.by_hash.get(hash)).copied();
        let song_id = known.map(|l| l.song_id).or_else(before_sampling).unwrap_or(file.sampled_id);
        if self.written.contains(&song_id) || in_this_batch.contains(&song_id) {
            tracing::info!(path = %file.candidate.path_text, "same content as another file of this import; skipped");
            return Ok(None);
        }
        let id = |key: &Option<NameKey>| key.as_ref().map(|key| self.names.id(key));
        let (artist_id, album_id, genre_id) =
            (id(&file.names.artist), id(&file.names.album), id(&file.names.genre));
        let size = i64::try_from(file.candidate.size).unwrap_or(i64::MAX);
        let song = NewSong {
            id: Some(song_id),
            title: info.title.clone(),
            artist_id,
            album_id,
            genre_id,
            track_number: info.track_number,
            disc_number: info.disc_number,
            year: info.year,
            duration_ms: info.duration_ms,
            format: Some(info.format.name().to_owned()),
            file_size: Some(size),
            bitrate: info.bitrate,
            sample_rate: info.sample_rate,
            channels: info.channels,
            content_hash: file.full_hash.clone(),
        };
        let bytes_changed =
            known.is_some_and(|l| l.file_size != size || l.modified_at != file.candidate.modified);
        let location = NewFileLocation {
            song_id,
            path: file.candidate.path_text.clone(),
            file_size: size,
            modified_at: file.candidate.modified,
            source: self.source,
        };
        Ok(Some((ImportedSong { song, bytes_changed }, location)))
    }
}

fn count(progress: &Progress, report: &mut ImportReport, imported: u64, skipped: u64) {
    progress.imported.fetch_add(imported, Ordering::Relaxed);
    progress.skipped.fetch_add(skipped, Ordering::Relaxed);
    report.imported += imported;
    report.skipped += skipped;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_import_at_least_as_large_as_the_library_and_of_many_files_sets_the_song_indexes_aside() {
        assert!(sets_indexes_aside(INDEXES_ASIDE_FROM, 0), "a first import of many files");
        assert!(sets_indexes_aside(50_000, 50_000), "doubling the library");
        assert!(!sets_indexes_aside(INDEXES_ASIDE_FROM - 1, 0), "a small first import keeps them");
        assert!(!sets_indexes_aside(20_000, 100_000), "a few new files into a large library keep them");
    }

    #[test]
    fn a_small_file_is_read_whole_and_one_that_grew_past_the_limit_is_not_read_into_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("song.mp3");
        std::fs::write(&path, vec![7u8; 100]).unwrap();
        assert_eq!(read_at_most(&path, 100, 100).unwrap(), Some(vec![7u8; 100]));
        // Grown since it was listed, within the limit: read whole all the same.
        assert_eq!(read_at_most(&path, 100, 10).unwrap(), Some(vec![7u8; 100]));
        std::fs::write(&path, vec![7u8; 101]).unwrap();
        assert_eq!(read_at_most(&path, 100, 100).unwrap(), None);
    }
}
