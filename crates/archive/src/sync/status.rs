//! What a node reports about its sync, read locally (never from the master):
//! its role, the health colour and why, its view of the master (a slave) or
//! of its slaves (a master), and the recent attempts.

use serde::Serialize;

use archive_db::Db;
use archive_db::sync::state::{PeerStatus, SyncAttempt};

use super::engine::MASTER_PEER;
use crate::config::{Config, NodeRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Green,
    Yellow,
    Red,
    Grey,
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub colour: Colour,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub role: NodeRole,
    pub node_id: String,
    pub enabled: bool,
    pub master_url: Option<String>,
    pub health: Health,
    /// A slave's record of its master.
    pub master: Option<PeerStatus>,
    /// Local changes not yet pushed (a slave).
    pub unpushed: i64,
    /// A master's slaves.
    pub slaves: Vec<PeerStatus>,
    pub recent_attempts: Vec<SyncAttempt>,
}

pub async fn report(db: &Db, config: &Config) -> Result<SyncReport, archive_db::DbError> {
    let master = match config.role {
        NodeRole::Slave => db.peer_status(MASTER_PEER).await?,
        _ => None,
    };
    let slaves = match config.role {
        NodeRole::Master => db.peers("slave").await?,
        _ => Vec::new(),
    };
    Ok(SyncReport {
        role: config.role,
        node_id: config.node_id.clone(),
        enabled: config.sync.enabled,
        master_url: config.sync.master_url.clone(),
        health: health(config, master.as_ref()),
        unpushed: if config.role == NodeRole::Slave { db.unpushed_count().await? } else { 0 },
        master,
        slaves,
        recent_attempts: db.sync_attempts(20).await?,
    })
}

fn health(config: &Config, master: Option<&PeerStatus>) -> Health {
    let say = |colour, reason: &str| Health { colour, reason: reason.to_owned() };
    match config.role {
        NodeRole::Standalone => return say(Colour::Grey, "standalone: sync is off"),
        NodeRole::Master => return say(Colour::Green, "master: serving slaves"),
        NodeRole::Slave => {}
    }
    if !config.sync.enabled {
        return say(Colour::Grey, "sync is disabled (SYNC_ENABLED)");
    }
    let Some(status) = master else { return say(Colour::Yellow, "no sync has run yet") };
    if status.consecutive_failures >= i64::from(config.sync.failure_threshold) {
        return Health {
            colour: Colour::Red,
            reason: format!("failing: {}", status.last_error.as_deref().unwrap_or("unknown error")),
        };
    }
    if status.consecutive_failures > 0 {
        return Health {
            colour: Colour::Yellow,
            reason: format!(
                "the last attempt failed: {}",
                status.last_error.as_deref().unwrap_or("unknown error")
            ),
        };
    }
    let fresh = config.sync.interval * 2 + config.sync.operation_timeout;
    match status.last_success_at {
        Some(at) if (archive_db::now() - at).to_std().is_ok_and(|age| age <= fresh) => {
            say(Colour::Green, "in step with the master")
        }
        _ => say(Colour::Yellow, "delayed: no recent successful sync"),
    }
}
