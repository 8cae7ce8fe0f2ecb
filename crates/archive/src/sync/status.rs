//! What a node reports about its sync, read locally (never from the master):
//! its role, the health colour and why, its view of the master (a slave) or
//! of its slaves (a master), and the recent attempts.

use serde::Serialize;

use archive_db::sync::state::{PeerStatus, SlaveKey, SyncAttempt};
use archive_db::{Db, FileTransfer, FilesSummary};

use super::control::{self, Control};
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

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
            Colour::Grey => "grey",
        }
    }
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
    /// Paused, emergency stop, key refused: who and since when.
    pub control: Control,
    /// A slave's record of its master (with the breaker's state and the next attempt).
    pub master: Option<PeerStatus>,
    /// Local changes not yet pushed (a slave).
    pub unpushed: i64,
    /// A master's slaves.
    pub slaves: Vec<SlaveView>,
    pub recent_attempts: Vec<SyncAttempt>,
    /// Where the library's audio files are, and (a slave) what comes from the master.
    pub files: FilesReport,
    /// Live sync: a slave's following, a master's slaves that follow.
    pub live: LiveReport,
}

/// Live sync as this node sees it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveReport {
    /// `SYNC_LIVE` (a slave).
    pub enabled: bool,
    /// A slave: it follows its master live now (a long-poll answered lately).
    pub following: bool,
    /// A slave: how long the last changes pulled took from the master's
    /// commit to this node's, and those pushed from this node's commit to
    /// the master's answer (milliseconds).
    pub pull_delay_ms: Option<i64>,
    pub push_delay_ms: Option<i64>,
    /// A master: slaves that held a long-poll lately (all of this master's processes).
    pub slaves_following: usize,
    /// A master: long-polls this process holds now (`None`: not known to
    /// this process, such as the command line).
    pub polls_held: Option<usize>,
}

/// A peer marked live within this follows live: a long-poll is answered
/// at least every 25 s, and the mark is written within a second or two.
const LIVE_FRESH: std::time::Duration = std::time::Duration::from_secs(40);

/// Whether a live mark is recent enough to say the peer follows live now.
pub fn is_live(live_at: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    live_at.is_some_and(|at| (archive_db::now() - at).to_std().is_ok_and(|age| age <= LIVE_FRESH))
}

/// Audio files on this node, and a slave's transfers.
#[derive(Debug, Clone, Serialize)]
pub struct FilesReport {
    /// `SYNC_FILES` (what a slave keeps of its master's files).
    pub policy: &'static str,
    #[serde(flatten)]
    pub summary: FilesSummary,
    /// `SYNC_FILES_MAX_GB` in bytes, if set.
    pub quota_bytes: Option<u64>,
    /// Bytes per second coming from the master now (`None`: not known to
    /// this process, such as the command line).
    pub transfer_rate: Option<f64>,
    /// Files whose last transfer failed, with the reason, soonest retry first.
    pub failed: Vec<FileTransfer>,
}

/// Failed transfers listed at most.
const FAILED_SHOWN: i64 = 20;

async fn files_report(db: &Db, config: &Config) -> Result<FilesReport, archive_db::DbError> {
    Ok(FilesReport {
        policy: config.sync.files.as_str(),
        summary: db.files_summary().await?,
        quota_bytes: config.sync.files_max_bytes,
        transfer_rate: None,
        failed: db.failed_file_transfers(FAILED_SHOWN).await?,
    })
}

/// [`report`] as a running server gives it, with its transfer rate.
pub async fn server_report(state: &crate::state::AppState) -> Result<SyncReport, archive_db::DbError> {
    let mut report = report(&state.db, &state.config()).await?;
    report.files.transfer_rate = Some(state.transfers.rate());
    if report.role == NodeRole::Master {
        report.live.polls_held = Some(state.live_polls.held());
    }
    Ok(report)
}

/// A master's view of one slave.
#[derive(Debug, Clone, Serialize)]
pub struct SlaveView {
    #[serde(flatten)]
    pub status: PeerStatus,
    /// The name of the key it last used.
    pub key_name: Option<String>,
    pub health: Health,
    /// It held a long-poll lately: it follows live.
    pub following_live: bool,
    /// Bytes of audio files its key sent today (UTC), against
    /// `SYNC_UPLOAD_GB_PER_DAY`; none for a slave whose key is gone.
    pub uploaded_today: Option<u64>,
    /// Changes its key pushed today (UTC), against
    /// `SYNC_PUSH_CHANGES_PER_DAY`; none for a slave whose key is gone.
    pub pushed_today: Option<u64>,
}

pub async fn report(db: &Db, config: &Config) -> Result<SyncReport, archive_db::DbError> {
    let control = control::read(db).await?;
    let master = match config.role {
        NodeRole::Slave => db.peer_status(MASTER_PEER).await?,
        _ => None,
    };
    let slaves = match config.role {
        NodeRole::Master => slave_views(db, config).await?,
        _ => Vec::new(),
    };
    Ok(SyncReport {
        role: config.role,
        node_id: config.node_id.clone(),
        enabled: config.sync.enabled,
        master_url: config.sync.master_url.clone(),
        health: health(config, &control, master.as_ref()),
        control,
        unpushed: if config.role == NodeRole::Slave { db.unpushed_count().await? } else { 0 },
        live: LiveReport {
            enabled: config.role == NodeRole::Slave && config.sync.live,
            following: master.as_ref().is_some_and(|m| is_live(m.live_at)),
            pull_delay_ms: master.as_ref().and_then(|m| m.pull_delay_ms),
            push_delay_ms: master.as_ref().and_then(|m| m.push_delay_ms),
            slaves_following: slaves.iter().filter(|s| s.following_live).count(),
            polls_held: None,
        },
        master,
        slaves,
        recent_attempts: db.sync_attempts(20).await?,
        files: files_report(db, config).await?,
    })
}

pub async fn slave_views(db: &Db, config: &Config) -> Result<Vec<SlaveView>, archive_db::DbError> {
    let keys = db.slave_keys().await?;
    let (today, _) = super::files::upload_day();
    let mut views = Vec::new();
    for status in db.peers(archive_db::sync::state::PeerRole::Slave).await? {
        let key = keys.iter().find(|k| Some(k.id) == status.key_id);
        let (uploaded_today, pushed_today) = match key {
            Some(key) => (
                Some(db.uploaded_bytes(key.id, &today).await?),
                Some(db.pushed_changes(key.id, &today).await?),
            ),
            None => (None, None),
        };
        views.push(SlaveView {
            key_name: key.map(|k| k.name.clone()),
            health: slave_health(config, &status, key),
            following_live: is_live(status.live_at),
            uploaded_today,
            pushed_today,
            status,
        });
    }
    Ok(views)
}

fn say(colour: Colour, reason: impl Into<String>) -> Health {
    Health { colour, reason: reason.into() }
}

fn health(config: &Config, control: &Control, master: Option<&PeerStatus>) -> Health {
    match config.role {
        NodeRole::Standalone => say(Colour::Grey, "standalone: sync is off"),
        NodeRole::Master => master_health(control),
        NodeRole::Slave => slave_own_health(config, control, master),
    }
}

fn master_health(control: &Control) -> Health {
    if control.emergency_stop.is_some() {
        return say(Colour::Red, format!("{}: slaves are refused", control.hold().unwrap_or_default()));
    }
    if control.paused.is_some() {
        return say(
            Colour::Yellow,
            format!("{}: slaves are asked to come back later", control.hold().unwrap_or_default()),
        );
    }
    say(Colour::Green, "master: serving slaves")
}

fn slave_own_health(config: &Config, control: &Control, master: Option<&PeerStatus>) -> Health {
    // What an operator set (or a refused key) says more than "disabled".
    if let Some(hold) = control.hold() {
        let only_paused = control.emergency_stop.is_none() && control.key_refused.is_none();
        return say(if only_paused { Colour::Yellow } else { Colour::Red }, hold);
    }
    if !config.sync.enabled {
        return say(Colour::Grey, "sync is disabled (SYNC_ENABLED)");
    }
    let Some(status) = master else { return say(Colour::Yellow, "no sync has run yet") };
    let last_error = status.last_error.as_deref().unwrap_or("unknown error");
    if status.breaker_state == archive_db::sync::state::BreakerState::Open {
        let until =
            status.next_attempt_at.map(|at| format!(" until {}", at.format("%F %T UTC"))).unwrap_or_default();
        return say(
            Colour::Red,
            format!("circuit open{until} after {} failures: {last_error}", status.consecutive_failures),
        );
    }
    if status.consecutive_failures >= i64::from(config.sync.failure_threshold) {
        return say(Colour::Red, format!("failing: {last_error}"));
    }
    if status.consecutive_failures > 0 {
        return say(Colour::Yellow, format!("the last attempt failed: {last_error}"));
    }
    match status.last_success_at {
        Some(_) if is_live(status.live_at) => say(Colour::Green, "following the master live"),
        Some(at) if is_recent(config, at) => say(Colour::Green, "in step with the master"),
        _ => say(Colour::Yellow, "delayed: no recent successful sync"),
    }
}

/// Within two intervals and a cycle's time: the worker is keeping up.
fn is_recent(config: &Config, at: chrono::DateTime<chrono::Utc>) -> bool {
    let fresh = config.sync.interval * 2 + config.sync.operation_timeout;
    (archive_db::now() - at).to_std().is_ok_and(|age| age <= fresh)
}

/// A master's judgement of a slave, from its visits (this master's own
/// `SYNC_INTERVAL` is taken as the slaves' too).
fn slave_health(config: &Config, status: &PeerStatus, key: Option<&SlaveKey>) -> Health {
    if let Some(key) = key
        && !key.is_live(archive_db::now())
    {
        return say(Colour::Red, format!("its key \"{}\" is revoked or expired", key.name));
    }
    let Some(seen) = status.last_seen_at else { return say(Colour::Grey, "never seen") };
    let since = format!("last seen {}", seen.format("%F %T UTC"));
    if is_recent(config, seen) {
        return match status.lag_changes {
            Some(lag) if lag > 0 => say(Colour::Green, format!("catching up: {lag} changes behind")),
            _ => say(Colour::Green, "in step"),
        };
    }
    if (archive_db::now() - seen).num_hours() < 24 {
        return say(Colour::Yellow, format!("delayed: {since}"));
    }
    say(Colour::Red, format!("silent: {since}"))
}
