//! The Sync Control Center (admins): this node's sync health in its colour
//! with the reason, the controls (pause, resume, emergency stop, clear it,
//! force a sync now, clear failed records), recent attempts, and on a
//! master its slaves and the conflict log with both sides of each conflict.
//!
//! Everything shown is read locally (`sync::status`), so the page is as fast
//! with the master down as with it up. The controls go through the same
//! functions as the API's (`api::sync`). The status part refreshes itself
//! every few seconds.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use archive_db::sync::state::{ConflictLog, PeerStatus, SyncAttempt};

use super::forms::{CsrfForm, NoFields};
use super::{AdminUser, Frame, Notice, PageError, render, sentence};
use crate::services::sync_admin::{ControlAction, control_sync, force_sync};
use crate::state::AppState;
use crate::sync::status::{self, Health, SlaveView, SyncReport};

/// How many conflicts the page lists (the newest).
const CONFLICTS_SHOWN: i64 = 50;

fn moment(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "never".into())
}

/// A health indicator: its colour's name and why.
struct Light {
    colour: &'static str,
    reason: String,
}

impl From<&Health> for Light {
    fn from(health: &Health) -> Light {
        Light { colour: health.colour.as_str(), reason: health.reason.clone() }
    }
}

/// A slave's view of its master.
struct MasterView {
    last_success: String,
    last_attempt: String,
    failures_in_a_row: i64,
    circuit: String,
    next_attempt: String,
    last_error: Option<String>,
}

impl From<&PeerStatus> for MasterView {
    fn from(status: &PeerStatus) -> MasterView {
        MasterView {
            last_success: moment(status.last_success_at),
            last_attempt: moment(status.last_attempt_at),
            failures_in_a_row: status.consecutive_failures,
            circuit: status.breaker_state.as_str().replace('_', "-"),
            next_attempt: moment(status.next_attempt_at),
            last_error: status.last_error.clone(),
        }
    }
}

struct AttemptRow {
    started: String,
    took: String,
    pulled: i64,
    pushed: i64,
    outcome: String,
    error: String,
}

impl From<&SyncAttempt> for AttemptRow {
    fn from(a: &SyncAttempt) -> AttemptRow {
        let took = a
            .finished_at
            .map(|end| format!("{:.1} s", (end - a.started_at).num_milliseconds() as f64 / 1000.0))
            .unwrap_or_default();
        AttemptRow {
            started: moment(Some(a.started_at)),
            took,
            pulled: a.pulled,
            pushed: a.pushed,
            outcome: a.outcome.to_string(),
            error: a.error.clone().unwrap_or_default(),
        }
    }
}

struct SlaveRow {
    node_id: String,
    key: String,
    last_seen: String,
    lag: String,
    pulled: i64,
    pushed: i64,
    /// Songs whose file the slave holds, of the master's.
    files: String,
    /// It follows live (held a long-poll lately).
    live: bool,
    /// File bytes and changes its key sent today, of their daily quotas.
    sent_today: String,
    light: Light,
}

impl SlaveRow {
    fn new(s: &SlaveView, songs: i64, quotas: &crate::config::SyncConfig) -> SlaveRow {
        SlaveRow {
            node_id: s.status.node_id.clone(),
            key: s.key_name.clone().unwrap_or_default(),
            last_seen: moment(s.status.last_seen_at),
            lag: s.status.lag_changes.map(|l| format!("{l} changes")).unwrap_or_else(|| "unknown".into()),
            pulled: s.status.changes_pulled,
            pushed: s.status.changes_pushed,
            files: s.status.files_here.map_or_else(|| "unknown".into(), |n| format!("{n} of {songs}")),
            live: s.following_live,
            sent_today: match (s.uploaded_today, s.pushed_today) {
                (Some(sent), Some(pushed)) => format!(
                    "{} of {}; {pushed} of {} changes",
                    megabytes(sent),
                    megabytes(quotas.upload_bytes_per_day),
                    quotas.push_changes_per_day
                ),
                _ => "unknown".into(),
            },
            light: Light::from(&s.health),
        }
    }
}

struct ConflictRow {
    at: String,
    node_id: String,
    table: String,
    row_id: String,
    resolution: String,
    reason: String,
    slave_side: String,
    master_side: String,
}

/// One side of a conflict as readable JSON, or what its absence means.
fn side(row: Option<&str>, absent: &str) -> String {
    match row {
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| text.to_owned()),
        None => absent.to_owned(),
    }
}

impl From<&ConflictLog> for ConflictRow {
    fn from(c: &ConflictLog) -> ConflictRow {
        ConflictRow {
            at: moment(Some(c.created_at)),
            node_id: c.node_id.clone(),
            table: c.table_name.clone(),
            row_id: c.row_id.to_string(),
            resolution: c.resolution.as_str().replace('_', " "),
            reason: c.reason.clone(),
            slave_side: side(c.slave_row.as_deref(), "(the slave deleted it)"),
            master_side: side(c.master_row.as_deref(), "(the master had no such row)"),
        }
    }
}

#[derive(Template)]
#[template(path = "sync.html")]
struct ControlCenter {
    frame: Frame,
    notice: Option<Notice>,
    role: &'static str,
    node_id: String,
    enabled: bool,
    master_url: Option<String>,
    light: Light,
    paused: bool,
    stopped: bool,
    key_refused: bool,
    unpushed: i64,
    master: Option<MasterView>,
    attempts: Vec<AttemptRow>,
    slaves: Vec<SlaveRow>,
    conflicts: Vec<ConflictRow>,
    files: FilesView,
    live: LiveView,
}

/// Live sync, in words.
struct LiveView {
    /// A slave: whether it follows live; a master: how many slaves do.
    following: String,
    pull_delay: String,
    push_delay: String,
}

impl From<&status::SyncReport> for LiveView {
    fn from(report: &status::SyncReport) -> Self {
        let live = &report.live;
        let delay =
            |ms: Option<i64>| ms.map_or_else(String::new, |ms| format!("{ms} ms after they were made"));
        let following = match report.role {
            crate::config::NodeRole::Master => {
                let held =
                    live.polls_held.map_or_else(String::new, |n| format!("; long-polls held now: {n}"));
                format!("Slaves following live: {}{held}", live.slaves_following)
            }
            _ if !live.enabled => "no: off (SYNC_LIVE)".into(),
            _ if live.following => "yes".into(),
            _ => "no: between cycles on the interval".into(),
        };
        LiveView { following, pull_delay: delay(live.pull_delay_ms), push_delay: delay(live.push_delay_ms) }
    }
}

/// The "Audio files" part of the page.
struct FilesView {
    policy: &'static str,
    here: String,
    fetched: String,
    queue: String,
    rate: String,
    failed: Vec<FailedRow>,
}

struct FailedRow {
    file: String,
    attempts: i64,
    next: String,
    reason: String,
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl From<&status::FilesReport> for FilesView {
    fn from(files: &status::FilesReport) -> Self {
        let summary = &files.summary;
        let quota = match files.quota_bytes {
            Some(quota) => format!(" of a {} quota", megabytes(quota)),
            None => " (no quota)".to_owned(),
        };
        FilesView {
            policy: files.policy,
            here: format!("{} of {} songs", summary.songs_here, summary.songs),
            fetched: format!("{} files, {}{quota}", summary.fetched_files, megabytes(summary.fetched_bytes)),
            queue: format!("{} waiting, {} of them failing", summary.queued, summary.failing),
            rate: files.transfer_rate.map_or_else(String::new, |r| format!("{}/s", megabytes(r as u64))),
            failed: files
                .failed
                .iter()
                .map(|t| FailedRow {
                    file: t.sha256.chars().take(12).collect(),
                    attempts: t.attempts,
                    next: t.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    reason: t.last_error.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

async fn page(state: &AppState, admin: &AdminUser, notice: Option<Notice>) -> Result<Response, PageError> {
    let config = state.config();
    let report: SyncReport = status::server_report(state).await?;
    let conflicts = match config.role {
        crate::config::NodeRole::Master => state.db.conflict_logs(CONFLICTS_SHOWN, 0).await?,
        _ => Vec::new(),
    };
    render(&ControlCenter {
        frame: Frame::of(&admin.0),
        notice,
        role: report.role.as_str(),
        node_id: report.node_id.clone(),
        enabled: report.enabled,
        master_url: report.master_url.clone(),
        light: Light::from(&report.health),
        paused: report.control.paused.is_some(),
        stopped: report.control.emergency_stop.is_some(),
        key_refused: report.control.key_refused.is_some(),
        unpushed: report.unpushed,
        master: report.master.as_ref().map(MasterView::from),
        attempts: report.recent_attempts.iter().map(AttemptRow::from).collect(),
        slaves: report
            .slaves
            .iter()
            .map(|s| SlaveRow::new(s, report.files.summary.songs, &config.sync))
            .collect(),
        conflicts: conflicts.iter().map(ConflictRow::from).collect(),
        files: FilesView::from(&report.files),
        live: LiveView::from(&report),
    })
}

pub async fn control_center(State(state): State<AppState>, admin: AdminUser) -> Result<Response, PageError> {
    page(&state, &admin, None).await
}

/// The page after a control, at its own address in the browser's history.
async fn after(
    state: &AppState,
    admin: &AdminUser,
    status: StatusCode,
    notice: Notice,
) -> Result<Response, PageError> {
    let mut response = (status, page(state, admin, Some(notice)).await?).into_response();
    response.headers_mut().insert("hx-push-url", HeaderValue::from_static("/sync"));
    Ok(response)
}

/// Pause, resume, emergency stop, clear stop, clear failed records.
pub async fn control(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(action): Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let (action, done) = match action.as_str() {
        "pause" => (ControlAction::Pause, "Sync is paused until you resume it."),
        "resume" => (ControlAction::Resume, "Sync is resumed."),
        "emergency-stop" => {
            (ControlAction::EmergencyStop, "Emergency stop: all sync has stopped until you clear it.")
        }
        "clear-stop" => (ControlAction::ClearStop, "The emergency stop is cleared."),
        "clear-failed" => {
            (ControlAction::ClearFailed, "Failed records are cleared and the circuit is closed.")
        }
        _ => return Err(PageError::NotFound("sync control")),
    };
    control_sync(&state, action, &admin.0.user.email).await?;
    after(&state, &admin, StatusCode::OK, Notice { ok: true, text: done.into() }).await
}

/// One sync cycle now (a slave), answered when it is done.
pub async fn sync_now(
    State(state): State<AppState>,
    admin: AdminUser,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let (status, notice) = match force_sync(&state).await {
        Ok(done) => {
            let mut text = format!("Synced: pushed {} changes, pulled {}.", done.pushed, done.pulled);
            if done.not_applied > 0 {
                text.push_str(&format!(
                    " {} pushed changes lost to the master's version (see the master's conflict log).",
                    done.not_applied
                ));
            }
            if done.bootstrapped {
                text.push_str(" This node first copied the master's data.");
            }
            (StatusCode::OK, Notice { ok: true, text })
        }
        // Sync's own refusals and failures are said on the page; the
        // database's failures are an error page.
        Err(e) => match PageError::from(e) {
            PageError::Refused { status, message }
                if status.is_client_error() || status == StatusCode::BAD_GATEWAY =>
            {
                let text = format!("The sync did not happen: {}", sentence(&message));
                (StatusCode::OK, Notice { ok: false, text })
            }
            other => return Err(other),
        },
    };
    after(&state, &admin, status, notice).await
}
