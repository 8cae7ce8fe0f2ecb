//! Changing settings while the server runs (the web UI's Settings pages).
//!
//! Node settings (this server's: its sync role and timeouts, the upload
//! limit) are stored in `node_settings`, checked exactly as at start-up,
//! and put in force at once: the configuration is replaced whole, and the
//! sync worker restarted when a sync setting changed. A setting given by
//! the environment or a flag is locked: it wins over the database, so
//! storing it would change nothing.
//!
//! Shared settings (synced to every node) are the site name and the like;
//! they live in `shared_settings`, written through the change log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archive_db::{Db, DbError};

use crate::config::{self, Config, ConfigError, Source};
use crate::state::AppState;

/// Why settings were not changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{var} is set by {} and cannot be changed here", source_name(*.set_by))]
    Locked { var: &'static str, set_by: Source },
    #[error("{0} cannot be changed while Archive runs")]
    NotStored(&'static str),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("{0}")]
    Shared(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the settings are saved, but the sync worker did not restart: {0}")]
    Restart(DbError),
}

/// Where a locked setting's value comes from, in words.
pub fn source_name(source: Source) -> &'static str {
    match source {
        Source::Flag => "a command-line flag",
        Source::Environment => "the environment",
        Source::Database | Source::Default => "the database",
    }
}

/// Whether `var` is fixed by the environment or a flag in `config`.
pub fn locked(config: &Config, var: &str) -> Option<Source> {
    config.resolved.source(var).filter(|s| matches!(s, Source::Flag | Source::Environment))
}

/// Stores `changes` (a value, or `None` to go back to the default) and puts
/// the resulting configuration in force. Nothing is stored unless every
/// value, and the configuration they make together, is valid.
pub async fn save(
    state: &AppState,
    changes: &[(&'static str, Option<String>)],
) -> Result<Arc<Config>, SettingsError> {
    // One save at a time: each reads what is in force and replaces it whole.
    let _one_at_a_time = SAVING.lock().await;
    let current = state.config();
    let mut stored = stored_node_settings(&state.db).await?;
    let mut writes = Vec::with_capacity(changes.len());
    for (var, value) in changes {
        let setting = config::setting(var);
        if !setting.stored {
            return Err(SettingsError::NotStored(setting.var));
        }
        if let Some(source) = locked(&current, var) {
            return Err(SettingsError::Locked { var: setting.var, set_by: source });
        }
        let value = match value.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(setting.check(text)?),
        };
        // What is in force already is not stored again: a default left
        // alone stays a default.
        let unchanged = match &value {
            Some(v) => current.resolved.get(var) == Some(v.as_str()),
            None => current.resolved.source(var) != Some(Source::Database),
        };
        if unchanged {
            continue;
        }
        match &value {
            Some(v) => stored.insert(setting.var.to_owned(), v.clone()),
            None => stored.remove(setting.var),
        };
        writes.push((setting.var, value));
    }
    let next = current.with_stored(&stored)?;
    let mut tx = state.db.begin().await?;
    for (var, value) in &writes {
        match value {
            Some(v) => tx.set_node_setting(var, v).await?,
            None => tx.delete_node_setting(var).await?,
        }
    }
    tx.commit().await?;
    let sync_changed =
        (next.role, &next.node_id, &next.sync) != (current.role, &current.node_id, &current.sync);
    let next = state.replace_config(next);
    tracing::info!(settings = ?writes.iter().map(|(var, _)| *var).collect::<Vec<_>>(), "settings saved");
    if sync_changed {
        state
            .sync_background
            .start(&state.db, next.clone(), state.sync_signals.clone())
            .await
            .map_err(SettingsError::Restart)?;
        // SYNC_FILES or its quota may have changed: the file queue plans again.
        state.sync_signals.files.notify_one();
    }
    Ok(next)
}

/// Saves run one at a time (in this process, which is where the
/// configuration they replace lives).
static SAVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The node settings stored in the database that Archive knows (keys are
/// the variable names).
pub async fn stored_node_settings(db: &Db) -> Result<BTreeMap<String, String>, DbError> {
    let known: Vec<&str> = config::SETTINGS.iter().filter(|s| s.stored).map(|s| s.var).collect();
    Ok(db.node_settings().await?.into_iter().filter(|(k, _)| known.contains(&k.as_str())).collect())
}

/// The shared setting naming this Archive in page titles and the header.
pub const SITE_NAME: &str = "site_name";
/// The site name when none is set.
pub const DEFAULT_SITE_NAME: &str = "Archive";
const MAX_SITE_NAME: usize = 100;

/// A site name as it would be stored, or why it cannot be.
pub fn check_site_name(name: &str) -> Result<String, SettingsError> {
    let name = archive_db::normalize::clean(name);
    if name.is_empty() || name.chars().count() > MAX_SITE_NAME {
        return Err(SettingsError::Shared(format!("the site name must be 1 to {MAX_SITE_NAME} characters")));
    }
    Ok(name)
}

/// Sets the site name (shared: every node shows it after sync). The same
/// name again writes nothing, so no change travels to the other nodes.
/// On a slave the name is the master's: shared settings are changed by an
/// admin there (a slave's push carries at most a moderator's rights).
pub async fn save_site_name(state: &AppState, by: uuid::Uuid, name: &str) -> Result<(), SettingsError> {
    let name = check_site_name(name)?;
    let current = state.db.shared_setting(SITE_NAME).await?;
    if current.as_deref().unwrap_or(DEFAULT_SITE_NAME) == name {
        return Ok(());
    }
    if state.config().role == crate::config::NodeRole::Slave {
        return Err(SettingsError::Shared(
            "the site name is set on the master; this node is its slave".into(),
        ));
    }
    let mut tx = state.db.begin_as(by).await?;
    tx.set_shared_setting(SITE_NAME, &name).await?;
    tx.commit().await?;
    state.site_name.forget();
    Ok(())
}

/// The site name, read from the database at most every few seconds (every
/// page shows it; a new name pulled by sync shows within that time).
#[derive(Debug, Default)]
pub struct SiteName {
    cached: Mutex<Option<(Instant, Arc<str>)>>,
}

const SITE_NAME_FOR: Duration = Duration::from_secs(5);

impl SiteName {
    pub async fn get(&self, db: &Db) -> Arc<str> {
        if let Some((at, name)) = self.cached.lock().expect("not poisoned").as_ref()
            && at.elapsed() < SITE_NAME_FOR
        {
            return name.clone();
        }
        let name: Arc<str> = match db.shared_setting(SITE_NAME).await {
            Ok(Some(name)) => name.into(),
            Ok(None) => DEFAULT_SITE_NAME.into(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the site name");
                DEFAULT_SITE_NAME.into()
            }
        };
        *self.cached.lock().expect("not poisoned") = Some((Instant::now(), name.clone()));
        name
    }

    /// Drops the cached name (this process just changed it).
    pub fn forget(&self) {
        *self.cached.lock().expect("not poisoned") = None;
    }
}
