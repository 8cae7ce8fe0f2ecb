//! The library's upkeep in the background of `archive serve`:
//!
//! - **Following the library roots** (`ARCHIVE_WATCH`, on by default): a
//!   file added, changed, moved or deleted under a root is imported within
//!   seconds (`notify`: inotify on Linux). A burst of changes (an album
//!   copied in) is gathered until the roots are quiet for a moment, then
//!   imported as one job of the folders it touched.
//! - **A periodic scan** of every root (`ARCHIVE_SCAN_INTERVAL`, daily by
//!   default, first one interval after start-up) for what watching misses:
//!   network mounts, changes while the server was down, a watch limit hit.
//! - **The full SHA-256** of each file an import identified by a sample
//!   (`archive_media::hash_pending`), read at a bounded rate.
//! - **A slave's file transfers** (`sync::transfers::run`): the queue of
//!   audio files to fetch from the master, idle on other nodes.
//!
//! Imports started here go through the same [`ImportJobs`] as those started
//! on the Import page: one at a time (a change waits for a running import),
//! listed there with what started them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::services::ServiceError;
use crate::services::imports::{ImportJobs, ImportRequestError, Trigger};
use crate::state::AppState;

/// How long the hasher rests when it has nothing to do, unless an import
/// finishes first (`archive import` from the command line, in another
/// process, is seen this late at most).
const IDLE: Duration = Duration::from_secs(60);
/// A burst of changes ends when the roots have been quiet this long…
const QUIET: Duration = Duration::from_millis(1500);
/// …or this long after its first change, whichever comes first.
const LONGEST_BURST: Duration = Duration::from_secs(10);
/// How often an import waiting for another to finish looks again.
const BUSY_RETRY: Duration = Duration::from_millis(500);

/// The upkeep tasks of one server.
pub struct Upkeep {
    tasks: Vec<JoinHandle<()>>,
    /// Dropping the watcher stops the events.
    _watcher: Option<notify::RecommendedWatcher>,
}

/// How the roots are followed, for the Import page.
#[derive(Debug, Clone, Default)]
pub struct Following {
    /// The roots watched for changes.
    pub watched: Vec<PathBuf>,
    /// Why watching could not start (the roots are then only scanned).
    pub watch_error: Option<String>,
    /// How often every root is scanned (none without roots).
    pub scan_every: Option<Duration>,
    pub next_scan: Option<DateTime<Utc>>,
    pub last_change_imported: Option<DateTime<Utc>>,
}

/// [`Following`], shared between the tasks and the pages.
#[derive(Debug, Default)]
pub struct FollowingState(Mutex<Following>);

impl FollowingState {
    pub fn get(&self) -> Following {
        self.0.lock().expect("following lock").clone()
    }

    fn update(&self, change: impl FnOnce(&mut Following)) {
        change(&mut self.0.lock().expect("following lock"));
    }
}

impl Upkeep {
    pub fn start(state: &AppState) -> Upkeep {
        let config = state.config();
        let mut tasks = vec![
            tokio::spawn(hash_in_background(state.db.clone(), state.imports.clone())),
            tokio::spawn(crate::sync::transfers::run(state.clone())),
        ];
        let roots = config.library_roots.clone();
        let mut watcher = None;
        state.following.update(|f| *f = Following::default());
        if !roots.is_empty() {
            if config.watch {
                let (changes, received) = mpsc::unbounded_channel();
                match watch(&roots, changes) {
                    Ok(watching) => {
                        watcher = Some(watching);
                        state.following.update(|f| f.watched = roots.clone());
                        tasks.push(tokio::spawn(import_changes(state.clone(), roots.clone(), received)));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot watch the library folders; they are only scanned");
                        state.following.update(|f| f.watch_error = Some(e.to_string()));
                    }
                }
            }
            state.following.update(|f| f.scan_every = Some(config.scan_interval));
            tasks.push(tokio::spawn(scan_periodically(state.clone(), roots, config.scan_interval)));
        }
        Upkeep { tasks, _watcher: watcher }
    }

    /// Stops the tasks: a file being hashed is abandoned (its hash is
    /// computed again by the next server); an import already started runs
    /// to its end.
    pub async fn stop(self) {
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// One pass of background hashing, unless another process on the database
/// runs one (`Ok(None)`).
async fn hash_once(
    db: &archive_db::Db,
    unreadable: &mut archive_media::Unreadable,
) -> Result<archive_media::HashPass, archive_db::DbError> {
    let Some(_one_at_a_time) = db.try_lock_job(archive_db::Job::Hashing).await? else {
        return Ok(archive_media::HashPass::default());
    };
    archive_media::hash_pending(db, archive_media::BACKGROUND_RATE, unreadable).await
}

async fn hash_in_background(db: archive_db::Db, imports: Arc<ImportJobs>) {
    let mut unreadable = archive_media::Unreadable::default();
    loop {
        match hash_once(&db, &mut unreadable).await {
            Ok(pass) if pass.recorded + pass.differ > 0 => {
                tracing::info!(
                    recorded = pass.recorded,
                    differ = pass.differ,
                    skipped = pass.skipped,
                    "hashed files"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "hashing files in the background failed; trying again later")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(IDLE) => {}
            _ = imports.finished.notified() => {}
        }
    }
}

/// Watches every root; each event's paths go to `changes`.
fn watch(
    roots: &[PathBuf],
    changes: mpsc::UnboundedSender<PathBuf>,
) -> notify::Result<notify::RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
        Ok(event) if !event.kind.is_access() => {
            for path in event.paths {
                let _ = changes.send(path);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "watching the library folders"),
    })?;
    for root in roots {
        watcher.watch(root, RecursiveMode::Recursive)?;
    }
    Ok(watcher)
}

/// Gathers changes into bursts and imports the folders each burst touched.
async fn import_changes(state: AppState, roots: Vec<PathBuf>, mut changes: mpsc::UnboundedReceiver<PathBuf>) {
    while let Some(first) = changes.recv().await {
        // A file being written sends an event per block: each path once.
        let mut touched = std::collections::BTreeSet::from([first]);
        let ends = Instant::now() + LONGEST_BURST;
        loop {
            let quiet = tokio::time::sleep_until(ends.min(Instant::now() + QUIET));
            tokio::select! {
                next = changes.recv() => match next {
                    Some(path) => {
                        touched.insert(path);
                    }
                    None => break,
                },
                _ = quiet => break,
            }
        }
        let touched: Vec<PathBuf> = touched.into_iter().collect();
        let folders = folders_to_import(&roots, &touched);
        if folders.is_empty() {
            continue;
        }
        tracing::info!(
            changes = touched.len(),
            folders = folders.len(),
            "importing what changed in the library folders"
        );
        if import_when_free(&state, folders, Trigger::Watch).await {
            state.following.update(|f| f.last_change_imported = Some(archive_db::now()));
        }
    }
}

/// Imports every root every `interval`.
async fn scan_periodically(state: AppState, roots: Vec<PathBuf>, interval: Duration) {
    loop {
        let next = archive_db::now() + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
        state.following.update(|f| f.next_scan = Some(next));
        tokio::time::sleep(interval).await;
        tracing::info!("scanning the library folders");
        import_when_free(&state, roots.clone(), Trigger::Scan).await;
    }
}

/// Starts an import of `folders` once no other runs, and waits for it to
/// end (so that the next burst is imported after this one); whether it
/// ran.
async fn import_when_free(state: &AppState, folders: Vec<PathBuf>, trigger: Trigger) -> bool {
    loop {
        match state.imports.start(folders.clone(), trigger).await {
            Ok(import) => {
                import.finished().await;
                return true;
            }
            Err(ServiceError::Import(ImportRequestError::Busy)) => tokio::time::sleep(BUSY_RETRY).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot import what changed in the library folders");
                return false;
            }
        }
    }
}

/// The folders to import for changes at `paths`: each path's folder (the
/// path itself when it is a folder), or the nearest one still there when it
/// went away, under one of `roots` (canonical), and none inside another.
/// Changes to files that are not audio are left out, and so is a folder
/// that leads outside the roots through a symbolic link: the watcher reads
/// no more than an import started from the Import page may.
pub fn folders_to_import(roots: &[PathBuf], paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = Vec::new();
    for path in paths {
        let Some(root) = roots.iter().find(|root| path.starts_with(root)) else { continue };
        let is_dir = path.is_dir();
        if !is_dir && path.exists() && !archive_media::is_audio_path(path) {
            continue;
        }
        let mut folder: &Path = if is_dir { path } else { path.parent().unwrap_or(root) };
        while !folder.is_dir() && folder != root.as_path() {
            folder = folder.parent().unwrap_or(root);
        }
        match std::fs::canonicalize(folder) {
            Ok(real) if roots.iter().any(|root| real.starts_with(root)) => folders.push(real),
            _ => {
                tracing::debug!(folder = %folder.display(), "a change outside the library folders is left alone")
            }
        }
    }
    folders.sort();
    folders.dedup();
    let mut outermost: Vec<PathBuf> = Vec::new();
    for folder in folders {
        if !outermost.iter().any(|outer| folder.starts_with(outer)) {
            outermost.push(folder);
        }
    }
    outermost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_become_the_outermost_existing_folders_under_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap().join("music");
        std::fs::create_dir_all(root.join("A/One")).unwrap();
        std::fs::create_dir_all(root.join("B/Two")).unwrap();
        std::fs::write(root.join("B/Two/cover.jpg"), b"").unwrap();
        let roots = vec![root.clone()];
        let paths = [
            root.join("A/One/01 - Song.mp3"),
            root.join("A/One/02 - Song.mp3"),
            root.join("A"),
            root.join("B/Two/cover.jpg"),
            root.join("Gone/Album/03.flac"),
            dir.path().join("elsewhere/04.mp3"),
        ];
        assert_eq!(folders_to_import(&roots, &paths), vec![root.clone()], "a folder gone: the root");
        assert_eq!(folders_to_import(&roots, &paths[..3]), [root.join("A")]);
        assert_eq!(folders_to_import(&roots, &paths[..2]), [root.join("A/One")]);
        assert!(folders_to_import(&roots, &paths[3..4]).is_empty(), "a picture is not audio");

        // A link inside a root to a folder outside it leads nowhere.
        let outside = dir.path().join("private");
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        let through_link = [root.join("escape/05.mp3"), root.join("escape")];
        assert!(folders_to_import(&roots, &through_link).is_empty());
    }
}
