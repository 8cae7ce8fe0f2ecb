//! [`AppState`]: what every request handler, page and background task of
//! one server shares. Built once at start-up (`serve::Server::start`).

use crate::auth::Throttles;
use crate::config::{Config, LiveConfig};
use crate::metrics::Metrics;
use crate::services::imports::ImportJobs;
use std::sync::Arc;

/// Shared by every request: a handle, one pointer wide, so that the many
/// copies a request carries (each middleware and handler keeps one while a
/// long-poll is held) cost little.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

/// What an [`AppState`] points to.
pub struct SharedState {
    pub db: archive_db::Db,
    /// Read with [`AppState::config`]; replaced when an admin saves settings.
    config: Arc<LiveConfig>,
    /// Failed logins, wrong current passwords and bad keys, counted in the
    /// database for every process on it.
    pub throttles: Arc<Throttles>,
    pub imports: Arc<ImportJobs>,
    pub store: archive_media::MediaStore,
    /// Cover thumbnails, kept under the data directory.
    pub thumbnails: archive_media::Thumbnails,
    /// The sync worker's signals and the master's copy of the control state.
    pub sync_signals: Arc<crate::sync::control::Signals>,
    /// Slaves' visits waiting to be recorded (a master).
    pub sync_visits: Arc<crate::sync::master::Visits>,
    /// Slaves' long-polls held now (a master).
    pub live_polls: Arc<crate::sync::long_poll::LivePolls>,
    /// Sync's background task (the worker or compaction), restarted when
    /// the sync settings change.
    pub sync_background: Arc<crate::sync::worker::Background>,
    /// The shared site name, cached briefly (every page shows it).
    pub site_name: Arc<crate::settings::SiteName>,
    /// This server's metrics (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// How the library folders are followed (watched, scanned).
    pub following: Arc<crate::upkeep::FollowingState>,
    /// A slave's file transfers running in this process.
    pub transfers: Arc<crate::sync::transfers::Transfers>,
    /// What apps' earlier requests left (passwords checked lately, now playing).
    pub apps: Arc<crate::services::apps::Apps>,
    /// The transcodes running for apps.
    pub transcoder: Arc<crate::services::transcode::Transcoder>,
}

impl AppState {
    pub fn new(db: archive_db::Db, config: Config) -> Self {
        AppState(Arc::new(SharedState {
            throttles: Arc::new(Throttles::new(db.clone())),
            imports: Arc::new(ImportJobs::new(db.clone())),
            db,
            store: archive_media::MediaStore::new(&config.data_dir),
            thumbnails: archive_media::Thumbnails::new(&config.data_dir),
            sync_signals: Arc::default(),
            sync_visits: Arc::default(),
            live_polls: Arc::default(),
            sync_background: Arc::default(),
            site_name: Arc::default(),
            config: Arc::new(LiveConfig::new(config)),
            metrics: Arc::default(),
            following: Arc::default(),
            transfers: Arc::default(),
            apps: Arc::default(),
            transcoder: Arc::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

impl AppState {
    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config.get()
    }

    /// Puts a new configuration in force (after settings were saved).
    pub fn replace_config(&self, config: Config) -> Arc<Config> {
        self.config.replace(config)
    }
}
