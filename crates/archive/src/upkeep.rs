//! The library's upkeep in the background of `archive serve`: the full
//! SHA-256 of every file an import identified by a sample
//! (`archive_media::full_hash`), read at a bounded rate, one file at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::services::imports::ImportJobs;

/// How long the hasher rests when it has nothing to do, unless an import
/// finishes first (`archive import` from the command line, in another
/// process, is seen this late at most).
const IDLE: Duration = Duration::from_secs(60);

/// The upkeep tasks of one server.
pub struct Upkeep {
    hashing: JoinHandle<()>,
}

impl Upkeep {
    pub fn start(db: archive_db::Db, imports: Arc<ImportJobs>) -> Upkeep {
        Upkeep { hashing: tokio::spawn(hash_in_background(db, imports)) }
    }

    /// Stops the tasks: a file being hashed is abandoned, and a hash not
    /// yet recorded is computed again by the next server.
    pub async fn stop(self) {
        self.hashing.abort();
        let _ = self.hashing.await;
    }
}

async fn hash_in_background(db: archive_db::Db, imports: Arc<ImportJobs>) {
    loop {
        match archive_media::hash_pending(&db, archive_media::BACKGROUND_RATE).await {
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
