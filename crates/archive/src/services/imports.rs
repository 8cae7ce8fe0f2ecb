//! Imports of the library folders (started through the API, the web UI,
//! the watcher or the scan): one runs at a time, in the background, across
//! every process on the database; the most recent ones stay listed with
//! their progress and report.
//!
//! The folder must lie under one of the configured library roots
//! (`ARCHIVE_LIBRARY_ROOTS`), checked after resolving symbolic links and
//! `..`, so a request can never make Archive read elsewhere.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use archive_db::{ImportCounts, ImportEnd, ImportRun, NewImportRun};
use archive_media::{FileError, ImportReport, Progress, ProgressSnapshot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;
use uuid::Uuid;

use crate::services::ServiceResult;
use crate::state::AppState;

/// How many imports stay listed.
const KEEP: i64 = 20;
/// How often a running import notes its progress in the database.
const NOTE_EVERY: Duration = Duration::from_secs(1);
/// A running import not noted for this long belongs to a process that stopped.
const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// At most this many failed files are listed per import (all are counted and logged).
const FAILURES_LISTED: usize = 1000;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ImportRequestError {
    #[error("no library folder is configured; set ARCHIVE_LIBRARY_ROOTS")]
    NoRoots,
    #[error("{0} is not a folder under a library root")]
    OutsideRoots(String),
    #[error("an import is already running")]
    Busy,
}

/// Resolves `requested` (absolute, or relative to a root) to a folder under
/// one of `roots`, which are canonical.
pub fn resolve_under_roots(requested: &str, roots: &[PathBuf]) -> Result<PathBuf, ImportRequestError> {
    if roots.is_empty() {
        return Err(ImportRequestError::NoRoots);
    }
    let outside = || ImportRequestError::OutsideRoots(requested.to_owned());
    let candidates: Vec<PathBuf> = if Path::new(requested).is_absolute() {
        vec![PathBuf::from(requested)]
    } else {
        roots.iter().map(|root| root.join(requested)).collect()
    };
    candidates
        .into_iter()
        .filter_map(|c| std::fs::canonicalize(c).ok())
        .find(|c| c.is_dir() && roots.iter().any(|root| c.starts_with(root)))
        .ok_or_else(outside)
}

/// What started an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A moderator or admin, through the API or the Import page.
    Request(Uuid),
    /// Changes seen in the library folders (`ARCHIVE_WATCH`).
    Watch,
    /// The periodic scan (`ARCHIVE_SCAN_INTERVAL`).
    Scan,
    /// `archive import` on the command line.
    CommandLine,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Request(_) => "request",
            Trigger::Watch => "watch",
            Trigger::Scan => "scan",
            Trigger::CommandLine => "command line",
        }
    }
}

/// What the API and the pages show of an import.
#[derive(Debug, Serialize)]
pub struct ImportJobView {
    pub id: Uuid,
    /// The folders imported, separated by ", ".
    pub folder: String,
    /// request, watch, scan or command line
    pub trigger: &'static str,
    /// Who asked for it (none for the watcher, the scan and the command line).
    pub started_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    /// running, done or failed
    pub state: &'static str,
    pub progress: ProgressSnapshot,
    pub finished_at: Option<DateTime<Utc>>,
    /// Known files that are gone from disk (when done).
    pub missing: Option<u64>,
    /// The files that could not be imported, and why (the first 1000).
    pub failures: Vec<FileError>,
    /// The files imported with damage skipped, and what (the first 1000).
    pub warnings: Vec<FileError>,
    /// Why the whole import stopped (when failed).
    pub error: Option<String>,
}

impl ImportJobView {
    /// The view of `run` at `now`: a running import whose process stopped
    /// noting its progress shows as interrupted.
    fn of(run: ImportRun, now: DateTime<Utc>) -> ImportJobView {
        let interrupted = run.state == "running" && run.heartbeat_at < now - STALE_AFTER;
        let (state, error) = match run.state.as_str() {
            "running" if interrupted => ("failed", Some(archive_db::INTERRUPTED.to_owned())),
            "running" => ("running", None),
            "done" => ("done", None),
            _ => ("failed", run.error),
        };
        let files = |json: &str| serde_json::from_str::<Vec<FileError>>(json).unwrap_or_default();
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        ImportJobView {
            id: run.id,
            folder: run.folders.lines().collect::<Vec<_>>().join(", "),
            trigger: Trigger::kind_named(&run.trigger_kind),
            started_by: run.started_by,
            started_at: run.started_at,
            state,
            progress: ProgressSnapshot {
                seen: count(run.seen),
                imported: count(run.imported),
                skipped: count(run.skipped),
                failed: count(run.failed),
                files_per_second: run.files_per_second,
            },
            finished_at: if interrupted { Some(run.heartbeat_at) } else { run.finished_at },
            missing: run.missing.map(count),
            failures: files(&run.failures),
            warnings: files(&run.warnings),
            error,
        }
    }
}

impl Trigger {
    /// The kind stored for an import (`as_str`), as a static name.
    fn kind_named(kind: &str) -> &'static str {
        match kind {
            "watch" => "watch",
            "scan" => "scan",
            "command line" => "command line",
            _ => "request",
        }
    }
}

fn counts_of(progress: &ProgressSnapshot) -> ImportCounts {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    ImportCounts {
        seen: count(progress.seen),
        imported: count(progress.imported),
        skipped: count(progress.skipped),
        failed: count(progress.failed),
        files_per_second: progress.files_per_second,
    }
}

fn rate(progress: &ProgressSnapshot, elapsed: Duration) -> f64 {
    (progress.imported + progress.skipped + progress.failed) as f64 / elapsed.as_secs_f64().max(1e-3)
}

/// Starts importing `path` (a folder under a library root) for `user`:
/// the API's and the import page's way in.
pub async fn begin(state: &AppState, user: Uuid, path: &str) -> ServiceResult<StartedImport> {
    let folder = resolve_under_roots(path, &state.config().library_roots)?;
    // While the database cannot take writes, an import would fail every file.
    state.db.check_writes().await?;
    state.imports.start(vec![folder], Trigger::Request(user)).await
}

/// Files handled by imports, by outcome (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub imported: u64,
    pub skipped: u64,
    pub failed: u64,
}

impl FileCounts {
    fn add(&mut self, progress: &ProgressSnapshot) {
        self.imported += progress.imported;
        self.skipped += progress.skipped;
        self.failed += progress.failed;
    }
}

/// The imports of the library folders. They are recorded in the database,
/// so every process on it lists the same ones and one runs at a time
/// across them all; this process runs the ones it started.
pub struct ImportJobs {
    db: archive_db::Db,
    /// The progress of the import this process runs, if any.
    running_here: Mutex<Option<Arc<Progress>>>,
    /// The files of this process's finished imports (for metrics).
    finished_here: Mutex<FileCounts>,
    /// Told when an import of this process finishes (the background hasher waits on it).
    pub finished: Arc<tokio::sync::Notify>,
}

/// An import this process started.
pub struct StartedImport {
    pub id: Uuid,
    done: tokio::task::JoinHandle<()>,
}

impl StartedImport {
    /// Waits for the import to end.
    pub async fn finished(self) {
        let _ = self.done.await;
    }
}

impl ImportJobs {
    pub fn new(db: archive_db::Db) -> Self {
        ImportJobs {
            db,
            running_here: Mutex::new(None),
            finished_here: Mutex::new(FileCounts::default()),
            finished: Arc::default(),
        }
    }

    /// Starts importing `folders` in the background, unless an import is
    /// running (in any process on the database).
    pub async fn start(
        self: &Arc<Self>,
        folders: Vec<PathBuf>,
        trigger: Trigger,
    ) -> ServiceResult<StartedImport> {
        let id = self.record_start(&folders, trigger).await?.ok_or(ImportRequestError::Busy)?;
        let progress = Arc::new(Progress::default());
        let jobs = self.clone();
        let done = tokio::spawn(async move {
            // Recorded, and logged, inside.
            let _ = jobs.run(id, &folders, trigger, progress).await;
        });
        Ok(StartedImport { id, done })
    }

    /// Imports `folders` in this task once no other import runs (in any
    /// process on the database), recorded like the others: the command
    /// line's way, which shows `progress` on the terminal.
    pub async fn run_when_free(
        &self,
        folders: &[PathBuf],
        trigger: Trigger,
        progress: Arc<Progress>,
    ) -> ServiceResult<Result<ImportReport, archive_media::ImportError>> {
        loop {
            if let Some(id) = self.record_start(folders, trigger).await? {
                return Ok(self.run(id, folders, trigger, progress).await);
            }
            tokio::time::sleep(NOTE_EVERY).await;
        }
    }

    /// Records a new running import: its id, or `None` if another runs.
    async fn record_start(&self, folders: &[PathBuf], trigger: Trigger) -> ServiceResult<Option<Uuid>> {
        let listed = folders.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join("\n");
        let run = NewImportRun {
            id: Uuid::now_v7(),
            folders: &listed,
            trigger_kind: trigger.as_str(),
            started_by: match trigger {
                Trigger::Request(user) => Some(user),
                Trigger::Watch | Trigger::Scan | Trigger::CommandLine => None,
            },
            started_at: archive_db::now(),
        };
        let stale_before = run.started_at - STALE_AFTER;
        Ok(self.db.start_import_run(&run, stale_before, KEEP).await?.then_some(run.id))
    }

    /// Runs the recorded import `id`, noting its progress and then how it ended.
    async fn run(
        &self,
        id: Uuid,
        folders: &[PathBuf],
        trigger: Trigger,
        progress: Arc<Progress>,
    ) -> Result<ImportReport, archive_media::ImportError> {
        *self.running_here.lock().expect("imports lock") = Some(progress.clone());
        let folder = folders.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
        tracing::info!(%folder, trigger = trigger.as_str(), "import started");
        let import = archive_media::import(&self.db, folders, progress.clone());
        let result = self.noting_progress(id, &progress, import).await;
        self.record_end(id, &folder, &progress, &result).await;
        self.finished_here.lock().expect("imports lock").add(&progress.snapshot());
        *self.running_here.lock().expect("imports lock") = None;
        self.finished.notify_one();
        result
    }

    /// Runs `import`, noting its progress every [`NOTE_EVERY`] from a task
    /// of its own. A note needs the writer, which the import holds while it
    /// writes a batch: awaited beside the import in one task, the note would
    /// stop the import from being polled, and so from ever letting the
    /// writer go (each note then waited out the pool's timeout, and a large
    /// import ran ten times slower).
    async fn noting_progress<F: std::future::Future>(
        &self,
        id: Uuid,
        progress: &Arc<Progress>,
        import: F,
    ) -> F::Output {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (db, progress) = (self.db.clone(), progress.clone());
        let notes = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(NOTE_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = ticks.tick() => {}
                }
                if let Err(e) = db.note_import_progress(id, &counts_of(&progress.snapshot())).await {
                    tracing::warn!(error = %e, "could not note the import's progress");
                }
            }
        });
        let result = import.await;
        // The last note, if one is being written, ends before the import's end is recorded.
        let _ = stop.send(());
        let _ = notes.await;
        result
    }

    async fn record_end(
        &self,
        id: Uuid,
        folder: &str,
        progress: &Progress,
        result: &Result<ImportReport, archive_media::ImportError>,
    ) {
        let mut snapshot = progress.snapshot();
        let recorded = match result {
            Ok(report) => {
                tracing::info!(
                    %folder,
                    imported = report.imported,
                    skipped = report.skipped,
                    failed = report.failed.len(),
                    missing = report.missing,
                    "import finished"
                );
                snapshot.files_per_second = rate(&snapshot, report.elapsed);
                let listed = |files: &[FileError]| {
                    serde_json::to_string(&files[..files.len().min(FAILURES_LISTED)]).expect("plain strings")
                };
                let (failures, warnings) = (listed(&report.failed), listed(&report.warnings));
                let missing = i64::try_from(report.missing).unwrap_or(i64::MAX);
                let end = ImportEnd::Done { missing, failures: &failures, warnings: &warnings };
                self.db.finish_import_run(id, &counts_of(&snapshot), end).await
            }
            Err(e) => {
                tracing::error!(%folder, error = %e, "import failed");
                let error = e.to_string();
                self.db
                    .finish_import_run(id, &counts_of(&snapshot), ImportEnd::Failed { error: &error })
                    .await
            }
        };
        if let Err(e) = recorded {
            // Listed as interrupted once its notes are stale; the files are in.
            tracing::error!(%folder, error = %e, "could not record how the import ended");
        }
    }

    /// One import, running or recent.
    pub async fn get(&self, id: Uuid) -> ServiceResult<Option<ImportJobView>> {
        let now = archive_db::now();
        Ok(self.db.import_run(id).await?.map(|run| ImportJobView::of(run, now)))
    }

    /// The recent imports, most recent first.
    pub async fn list(&self) -> ServiceResult<Vec<ImportJobView>> {
        let now = archive_db::now();
        Ok(self.db.import_runs(KEEP).await?.into_iter().map(|run| ImportJobView::of(run, now)).collect())
    }

    /// Every file handled by this process's imports, running or done.
    pub fn file_totals(&self) -> FileCounts {
        let mut totals = *self.finished_here.lock().expect("imports lock");
        if let Some(progress) = &*self.running_here.lock().expect("imports lock") {
            totals.add(&progress.snapshot());
        }
        totals
    }

    /// How many imports this process runs now (zero or one).
    pub fn running_here(&self) -> usize {
        usize::from(self.running_here.lock().expect("imports lock").is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_folders_under_a_root_are_accepted() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("music");
        let outside = base.path().join("private");
        std::fs::create_dir_all(root.join("Artist/Album")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        let roots = vec![std::fs::canonicalize(&root).unwrap()];

        let inside = resolve_under_roots(root.join("Artist").to_str().unwrap(), &roots).unwrap();
        assert_eq!(inside, roots[0].join("Artist"));
        assert_eq!(resolve_under_roots("Artist/Album", &roots).unwrap(), roots[0].join("Artist/Album"));
        assert_eq!(resolve_under_roots(".", &roots).unwrap(), roots[0]);
        for bad in [
            outside.to_str().unwrap().to_owned(),
            format!("{}/../private", root.display()),
            "../private".to_owned(),
            "escape".to_owned(),
            "no-such-folder".to_owned(),
            "/".to_owned(),
        ] {
            assert_eq!(
                resolve_under_roots(&bad, &roots),
                Err(ImportRequestError::OutsideRoots(bad.clone())),
                "{bad}"
            );
        }
        assert_eq!(resolve_under_roots("Artist", &[]), Err(ImportRequestError::NoRoots));
    }

    #[tokio::test]
    async fn an_import_writing_a_long_batch_is_not_held_up_by_its_own_progress_notes() {
        archive_testkit::on_each_backend(|t| async move {
            let jobs = Arc::new(ImportJobs::new(t.db.clone()));
            let id = jobs.record_start(&[PathBuf::from("/music")], Trigger::CommandLine).await.unwrap();
            let id = id.expect("no other import runs");
            let progress = Arc::new(Progress::default());
            // Like a batch of the import: one transaction, open across a note's tick.
            let db = t.db.clone();
            let one_long_batch = async move {
                let mut tx = db.begin().await.unwrap();
                tx.insert_artist(archive_db::NewArtist { name: "Batch".into(), ..Default::default() })
                    .await
                    .unwrap();
                tokio::time::sleep(NOTE_EVERY * 2).await;
                tx.commit().await.unwrap();
            };
            // On SQLite a note waits for the writer; awaited in the import's
            // own task, it waited out the pool's 10 s timeout instead.
            let noted = jobs.noting_progress(id, &progress, one_long_batch);
            tokio::time::timeout(NOTE_EVERY * 5, noted).await.expect("the batch was held up by a note");
            let run = t.db.import_run(id).await.unwrap().expect("the import is listed");
            assert!(run.heartbeat_at > run.started_at, "its progress was noted while the batch ran");
        })
        .await;
    }
}
