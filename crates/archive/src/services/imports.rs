//! Imports started through the API (and the web UI): one runs at a time, in
//! the background; the most recent ones stay listed with their progress and
//! report until the server stops.
//!
//! The folder must lie under one of the configured library roots
//! (`ARCHIVE_LIBRARY_ROOTS`), checked after resolving symbolic links and
//! `..`, so a request can never make Archive read elsewhere.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use archive_media::{FileError, ImportReport, Progress, ProgressSnapshot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;
use uuid::Uuid;

use crate::services::ServiceResult;
use crate::state::AppState;

/// How many finished imports stay listed.
const KEEP: usize = 20;
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
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Request(_) => "request",
            Trigger::Watch => "watch",
            Trigger::Scan => "scan",
        }
    }
}

/// One import of this server: of a folder someone asked for, or of what
/// changed in the library folders.
pub struct ImportJob {
    pub id: Uuid,
    /// The folders imported, in order (one, unless changes touched several).
    pub folders: Vec<PathBuf>,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    progress: Arc<Progress>,
    outcome: Mutex<Option<Outcome>>,
}

enum Outcome {
    Done { report: ImportReport, finished_at: DateTime<Utc> },
    Failed { error: String, finished_at: DateTime<Utc> },
}

/// What the API shows of an import.
#[derive(Debug, Serialize)]
pub struct ImportJobView {
    pub id: Uuid,
    /// The folders imported, separated by ", ".
    pub folder: String,
    /// request, watch or scan
    pub trigger: &'static str,
    /// Who asked for it (none for the watcher and the scan).
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

impl ImportJob {
    pub fn view(&self) -> ImportJobView {
        let mut progress = self.progress.snapshot();
        let outcome = self.outcome.lock().expect("import outcome lock");
        let (state, finished_at, missing, failures, warnings, error) = match &*outcome {
            None => ("running", None, None, Vec::new(), Vec::new(), None),
            Some(Outcome::Done { report, finished_at }) => {
                progress.files_per_second = rate(&progress, report.elapsed);
                let failures = report.failed.iter().take(FAILURES_LISTED).cloned().collect();
                let warnings = report.warnings.iter().take(FAILURES_LISTED).cloned().collect();
                ("done", Some(*finished_at), Some(report.missing), failures, warnings, None)
            }
            Some(Outcome::Failed { error, finished_at }) => {
                ("failed", Some(*finished_at), None, Vec::new(), Vec::new(), Some(error.clone()))
            }
        };
        ImportJobView {
            id: self.id,
            folder: self.folders.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
            trigger: self.trigger.as_str(),
            started_by: match self.trigger {
                Trigger::Request(user) => Some(user),
                Trigger::Watch | Trigger::Scan => None,
            },
            started_at: self.started_at,
            state,
            progress,
            finished_at,
            missing,
            failures,
            warnings,
            error,
        }
    }

    pub fn running(&self) -> bool {
        self.outcome.lock().expect("import outcome lock").is_none()
    }
}

fn rate(progress: &ProgressSnapshot, elapsed: Duration) -> f64 {
    (progress.imported + progress.skipped + progress.failed) as f64 / elapsed.as_secs_f64().max(1e-3)
}

/// Starts importing `path` (a folder under a library root) for `user`:
/// the API's and the import page's way in.
pub async fn begin(state: &AppState, user: Uuid, path: &str) -> ServiceResult<Arc<ImportJob>> {
    let folder = resolve_under_roots(path, &state.config().library_roots)?;
    // While the database cannot take writes, an import would fail every file.
    state.db.check_writes().await?;
    Ok(state.imports.start(state.db.clone(), vec![folder], Trigger::Request(user))?)
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

/// The imports of this server process.
#[derive(Default)]
pub struct ImportJobs {
    jobs: Mutex<Vec<Arc<ImportJob>>>,
    /// The files of imports no longer listed, so totals never go down.
    forgotten: Mutex<FileCounts>,
    /// Told when an import finishes (the background hasher waits on it).
    pub finished: Arc<tokio::sync::Notify>,
}

impl ImportJobs {
    /// Starts importing `folders` in the background, unless an import is running.
    pub fn start(
        &self,
        db: archive_db::Db,
        folders: Vec<PathBuf>,
        trigger: Trigger,
    ) -> Result<Arc<ImportJob>, ImportRequestError> {
        let mut jobs = self.jobs.lock().expect("import jobs lock");
        if jobs.iter().any(|j| j.running()) {
            return Err(ImportRequestError::Busy);
        }
        let job = Arc::new(ImportJob {
            id: Uuid::now_v7(),
            folders,
            trigger,
            started_at: archive_db::now(),
            progress: Arc::new(Progress::default()),
            outcome: Mutex::new(None),
        });
        jobs.push(job.clone());
        if jobs.len() > KEEP {
            let finished = jobs.iter().position(|j| !j.running());
            if let Some(oldest) = finished {
                let forgotten = jobs.remove(oldest);
                self.forgotten.lock().expect("import totals lock").add(&forgotten.progress.snapshot());
            }
        }
        let running = job.clone();
        let finished = self.finished.clone();
        tokio::spawn(async move {
            let folder = running.view().folder;
            tracing::info!(%folder, trigger = running.trigger.as_str(), "import started");
            let result = archive_media::import(&db, &running.folders, running.progress.clone()).await;
            let finished_at = archive_db::now();
            let outcome = match result {
                Ok(report) => {
                    tracing::info!(
                        %folder,
                        imported = report.imported,
                        skipped = report.skipped,
                        failed = report.failed.len(),
                        missing = report.missing,
                        "import finished"
                    );
                    Outcome::Done { report, finished_at }
                }
                Err(e) => {
                    tracing::error!(%folder, error = %e, "import failed");
                    Outcome::Failed { error: e.to_string(), finished_at }
                }
            };
            *running.outcome.lock().expect("import outcome lock") = Some(outcome);
            finished.notify_one();
        });
        Ok(job)
    }

    pub fn get(&self, id: Uuid) -> Option<Arc<ImportJob>> {
        self.jobs.lock().expect("import jobs lock").iter().find(|j| j.id == id).cloned()
    }

    /// Every file handled by this process's imports, running or done.
    pub fn file_totals(&self) -> FileCounts {
        let jobs = self.jobs.lock().expect("import jobs lock");
        let mut totals = *self.forgotten.lock().expect("import totals lock");
        for job in jobs.iter() {
            totals.add(&job.progress.snapshot());
        }
        totals
    }

    /// How many imports are running now (zero or one).
    pub fn running(&self) -> usize {
        self.jobs.lock().expect("import jobs lock").iter().filter(|j| j.running()).count()
    }

    /// The imports, most recent first.
    pub fn list(&self) -> Vec<Arc<ImportJob>> {
        self.jobs.lock().expect("import jobs lock").iter().rev().cloned().collect()
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
}
