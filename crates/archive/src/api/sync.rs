//! Sync over HTTP: the master's side of the protocol (slave-key routes) and
//! sync administration (admin routes). The protocol's messages are in
//! `crate::sync::protocol`; `docs/SYNC.md` describes them.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use archive_db::SYNCED_TABLES;
use archive_db::sync::digest::TableDigest;
use archive_db::sync::state::{ConflictLog, PeerStatus, SlaveKey};

use super::access::{CurrentUser, SlavePeer};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Params};
use crate::config::NodeRole;
use crate::state::AppState;
use crate::sync::control::{self, Control};
use crate::sync::keys;
use crate::sync::protocol::{
    ApplyRequest, ApplyResponse, BOOTSTRAP_REQUIRED, BootstrapStart, ChangesResponse, Cursor,
    MAX_BOOTSTRAP_PAGE, MAX_CHANGES_PAGE, MAX_PUSH, PROTOCOL, Ping, READ_ONLY_KEY,
};
use crate::sync::status::{SlaveView, SyncReport};

/// The master's protocol routes serve slaves only on a master, and not
/// while an operator has paused or stopped sync (the slave is asked to come
/// back later, which its worker honours without counting a failure).
async fn require_master(state: &AppState) -> ApiResult<()> {
    if state.config().role != NodeRole::Master {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_master",
            "this node is not a sync master (ARCHIVE_ROLE)",
        ));
    }
    let control = state.sync_signals.control(&state.db).await?;
    let (code, retry_after) = match (&control.emergency_stop, &control.paused) {
        (Some(_), _) => ("sync_stopped", 300),
        (None, Some(_)) => ("sync_paused", 60),
        (None, None) => return Ok(()),
    };
    let reason = control.hold().unwrap_or_default();
    let mut err =
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, format!("sync on the master: {reason}"));
    err.retry_after_secs = Some(retry_after);
    Err(err)
}

fn bootstrap_required(why: &str) -> ApiError {
    ApiError::new(StatusCode::GONE, BOOTSTRAP_REQUIRED, format!("{why}; copy the data again (bootstrap)"))
}

async fn head_cursor(state: &AppState) -> ApiResult<Cursor> {
    Ok(Cursor { epoch: state.db.sync_epoch().await?, position: state.db.sync_head().await? })
}

pub async fn ping(State(state): State<AppState>, peer: SlavePeer) -> ApiResult<Json<Ping>> {
    require_master(&state).await?;
    let head = head_cursor(&state).await?;
    note_seen(&state, &peer, |_| {});
    Ok(Json(Ping {
        protocol: PROTOCOL,
        node_id: state.config().node_id.clone(),
        epoch: head.epoch.clone(),
        head: head.encode(),
        your_node_id: peer.key.node_id.clone(),
        read_only: peer.key.read_only,
    }))
}

/// Checks a slave's cursor against this log: same epoch, not behind the
/// retention floor, not ahead of the head (a master restored from an older
/// backup).
async fn check_cursor(state: &AppState, text: &str) -> ApiResult<Cursor> {
    let cursor = Cursor::decode(text)
        .ok_or_else(|| ApiError::invalid(Some("cursor"), "cursor is not one this master gave"))?;
    let epoch = state.db.sync_epoch().await?;
    if cursor.epoch != epoch {
        return Err(bootstrap_required("the cursor is from another epoch of this master's log"));
    }
    if cursor.position < state.db.sync_retention_floor().await? {
        return Err(bootstrap_required("the cursor is older than the changes this master keeps"));
    }
    if cursor.position > state.db.sync_head().await? {
        return Err(bootstrap_required(
            "the cursor is ahead of this master's log (was it restored from a backup?)",
        ));
    }
    Ok(cursor)
}

pub async fn changes(
    State(state): State<AppState>,
    peer: SlavePeer,
    params: Params,
) -> ApiResult<Json<ChangesResponse>> {
    params.finish(&["cursor", "limit"])?;
    require_master(&state).await?;
    let text = params.text("cursor").ok_or_else(|| {
        ApiError::invalid(Some("cursor"), "cursor is required (from bootstrap or the last page)")
    })?;
    let limit = params.int("limit")?.unwrap_or(1000);
    if !(1..=MAX_CHANGES_PAGE).contains(&limit) {
        return Err(ApiError::invalid(Some("limit"), format!("limit must be from 1 to {MAX_CHANGES_PAGE}")));
    }
    let cursor = check_cursor(&state, &text).await?;
    let page = state.db.changes_for_peer(cursor.position, limit, &peer.key.node_id).await?;
    let next = Cursor { epoch: cursor.epoch, position: page.next };
    // Also counts changes held back behind a transaction still open (see
    // `protocol::ChangesResponse::remaining`).
    let remaining = state.db.changes_count_after(page.next).await?;
    tracing::debug!(target: "sync", node = %peer.key.node_id, rows = page.rows.len(), has_more = page.has_more, "served changes");
    let pulled = page.rows.len() as i64;
    let cursor_text = next.encode();
    let seen_cursor = cursor_text.clone();
    note_seen(&state, &peer, move |visit| {
        visit.pulled += pulled;
        visit.cursor = Some(seen_cursor);
        visit.lag = Some(remaining);
    });
    Ok(Json(ChangesResponse { rows: page.rows, cursor: cursor_text, has_more: page.has_more, remaining }))
}

pub async fn apply(
    State(state): State<AppState>,
    peer: SlavePeer,
    ApiJson(request): ApiJson<ApplyRequest>,
) -> ApiResult<Json<ApplyResponse>> {
    require_master(&state).await?;
    if peer.key.read_only {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            READ_ONLY_KEY,
            "this slave key is read-only: it pulls and never pushes",
        ));
    }
    if request.changes.len() > MAX_PUSH {
        return Err(ApiError::invalid(Some("changes"), format!("at most {MAX_PUSH} changes per push")));
    }
    let answer = state.db.apply_pushed(&peer.key.node_id, &request.changes).await?;
    tracing::debug!(target: "sync", node = %peer.key.node_id, changes = answer.outcomes.len(), "applied a push");
    state.metrics.record_received(&answer.outcomes);
    let pushed = answer.outcomes.len() as i64;
    note_seen(&state, &peer, move |visit| visit.pushed += pushed);
    Ok(Json(answer))
}

pub async fn bootstrap_start(
    State(state): State<AppState>,
    peer: SlavePeer,
) -> ApiResult<Json<BootstrapStart>> {
    require_master(&state).await?;
    let cursor = head_cursor(&state).await?;
    tracing::info!(target: "sync", node = %peer.key.node_id, "a slave starts a bootstrap");
    note_seen(&state, &peer, |_| {});
    Ok(Json(BootstrapStart {
        cursor: cursor.encode(),
        tables: SYNCED_TABLES.iter().map(|t| t.to_string()).collect(),
    }))
}

pub async fn bootstrap_page(
    State(state): State<AppState>,
    _peer: SlavePeer,
    ApiPath(table): ApiPath<String>,
    params: Params,
) -> ApiResult<Json<archive_db::sync::master::BootstrapPage>> {
    params.finish(&["after", "limit"])?;
    require_master(&state).await?;
    if !SYNCED_TABLES.contains(&table.as_str()) {
        return Err(ApiError::not_found("synced table"));
    }
    let limit = params.int("limit")?.unwrap_or(2000);
    if !(1..=MAX_BOOTSTRAP_PAGE).contains(&limit) {
        return Err(ApiError::invalid(
            Some("limit"),
            format!("limit must be from 1 to {MAX_BOOTSTRAP_PAGE}"),
        ));
    }
    Ok(Json(state.db.bootstrap_page(&table, params.uuid("after")?, limit).await?))
}

/// What a master learns from a slave's requests, gathered in memory and
/// written at most once a second per slave, off the request path: a poll
/// costs no write transaction of its own.
#[derive(Debug, Default)]
pub struct Visits {
    pending: std::sync::Mutex<HashMap<String, Visit>>,
}

#[derive(Debug, Default)]
struct Visit {
    seen_at: Option<chrono::DateTime<chrono::Utc>>,
    key_id: Option<uuid::Uuid>,
    pulled: i64,
    pushed: i64,
    cursor: Option<String>,
    lag: Option<i64>,
}

/// How long visits gather before they are written.
const VISIT_FLUSH_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

fn note_seen(state: &AppState, peer: &SlavePeer, update: impl FnOnce(&mut Visit)) {
    let node = peer.key.node_id.clone();
    let first = {
        let mut pending = state.sync_visits.pending.lock().expect("not poisoned");
        let first = !pending.contains_key(&node);
        let visit = pending.entry(node.clone()).or_default();
        visit.seen_at = Some(archive_db::now());
        visit.key_id = Some(peer.key.id);
        update(visit);
        first
    };
    if first {
        let (db, visits) = (state.db.clone(), state.sync_visits.clone());
        tokio::spawn(async move {
            tokio::time::sleep(VISIT_FLUSH_DELAY).await;
            let visit = visits.pending.lock().expect("not poisoned").remove(&node);
            if let Some(visit) = visit
                && let Err(e) = record_visit(&db, &node, visit).await
            {
                tracing::warn!(target: "sync", error = %e, "could not record a slave's visit");
            }
        });
    }
}

async fn record_visit(db: &archive_db::Db, node: &str, visit: Visit) -> Result<(), archive_db::DbError> {
    let _one_at_a_time = PEER_STATUS_LOCK.lock().await;
    let mut status = db
        .peer_status(node)
        .await?
        .unwrap_or_else(|| PeerStatus::new(node, archive_db::sync::state::PeerRole::Slave));
    status.last_seen_at = visit.seen_at.or(status.last_seen_at);
    status.key_id = visit.key_id.or(status.key_id);
    status.changes_pulled += visit.pulled;
    status.changes_pushed += visit.pushed;
    status.cursor = visit.cursor.or(status.cursor);
    status.lag_changes = visit.lag.or(status.lag_changes);
    db.save_peer_status(&status).await
}

/// Visits of slaves are recorded one at a time (read, change, write).
static PEER_STATUS_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// Administration

pub async fn digest(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let tables: Vec<TableDigest> = state.db.sync_digest().await?;
    Ok(Json(json!({ "node_id": state.config().node_id, "tables": tables })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    node_id: String,
    /// Rotation: the node's other keys stay valid this many hours, then expire.
    #[serde(default)]
    overlap_hours: Option<u32>,
    /// A key that pulls and never pushes.
    #[serde(default)]
    read_only: bool,
}

/// Issues a slave key (a master only); shared with the settings page.
pub(crate) async fn issue_key(
    state: &AppState,
    name: &str,
    node_id: &str,
    overlap_hours: Option<u32>,
    read_only: bool,
) -> ApiResult<keys::IssuedKey> {
    require_master(state).await?;
    if name.trim().is_empty() || node_id.trim().is_empty() {
        return Err(ApiError::invalid(None, "a slave key needs a name and the slave's node id"));
    }
    Ok(keys::create(&state.db, name, node_id, overlap_hours, read_only).await?)
}

pub async fn create_key(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = issue_key(&state, &new.name, &new.node_id, new.overlap_hours, new.read_only).await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": issued.secret, "record": issued.record }))))
}

pub async fn list_keys(State(state): State<AppState>) -> ApiResult<Json<Vec<SlaveKey>>> {
    Ok(Json(state.db.slave_keys().await?))
}

/// Revokes a slave key at once; shared with the settings page.
pub(crate) async fn revoke(state: &AppState, id: uuid::Uuid) -> ApiResult<()> {
    let mut tx = state.db.begin().await?;
    tx.revoke_slave_key(id).await?;
    tx.commit().await?;
    tracing::info!(target: "sync", %id, "slave key revoked");
    Ok(())
}

pub async fn revoke_key(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    revoke(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn conflicts(State(state): State<AppState>, params: Params) -> ApiResult<Json<Vec<ConflictLog>>> {
    params.finish(&["limit", "offset"])?;
    let limit = params.int("limit")?.unwrap_or(50);
    Ok(Json(state.db.conflict_logs(limit, params.int("offset")?.unwrap_or(0)).await?))
}

pub async fn slaves(State(state): State<AppState>) -> ApiResult<Json<Vec<SlaveView>>> {
    Ok(Json(crate::sync::status::slave_views(&state.db, &state.config()).await?))
}

pub async fn status(State(state): State<AppState>) -> ApiResult<Json<SyncReport>> {
    Ok(Json(crate::sync::status::report(&state.db, &state.config()).await?))
}

/// One sync cycle now (a slave), answered when done. It runs even when
/// paused or while the breaker is open (an operator asked); not during an
/// emergency stop. Shared with the Sync Control Center.
pub(crate) async fn force_sync(state: &AppState) -> ApiResult<crate::sync::engine::CycleReport> {
    use crate::sync::engine::SyncError;
    crate::sync::engine::run_cycle_now(&state.db, &state.config()).await.map_err(|e| match e {
        // This node's own set-up, not the master, is what is missing.
        SyncError::NotConfigured(_) | SyncError::NoKey | SyncError::KeyStore(_) => {
            ApiError::new(StatusCode::CONFLICT, "sync_not_configured", e.to_string())
        }
        SyncError::Stopped(_) => ApiError::new(StatusCode::CONFLICT, "sync_stopped", e.to_string()),
        other => ApiError::new(StatusCode::BAD_GATEWAY, "sync_failed", other.to_string()),
    })
}

/// `POST /api/v1/sync/now`.
pub async fn sync_now(State(state): State<AppState>) -> ApiResult<Json<crate::sync::engine::CycleReport>> {
    Ok(Json(force_sync(&state).await?))
}

/// What an admin can tell sync to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlAction {
    Pause,
    Resume,
    EmergencyStop,
    ClearStop,
    ClearFailed,
}

/// Changes the control state (kept across restarts) and tells this
/// process's worker and the master's copy at once. Shared with the Sync
/// Control Center; `by` is the admin's email.
pub(crate) async fn control_sync(state: &AppState, action: ControlAction, by: &str) -> ApiResult<Control> {
    let db = &state.db;
    let control = match action {
        ControlAction::Pause => control::pause(db, by).await?,
        ControlAction::Resume => control::resume(db).await?,
        ControlAction::EmergencyStop => control::emergency_stop(db, by).await?,
        ControlAction::ClearStop => control::clear_stop(db).await?,
        ControlAction::ClearFailed => {
            control::clear_failed(db).await?;
            control::read(db).await?
        }
    };
    state.sync_signals.changed(&control);
    Ok(control)
}

/// Carries out `action` and answers the new status.
async fn controlled(
    state: &AppState,
    caller: &CurrentUser,
    action: ControlAction,
) -> ApiResult<Json<SyncReport>> {
    control_sync(state, action, &caller.user.email).await?;
    Ok(Json(crate::sync::status::report(&state.db, &state.config()).await?))
}

pub async fn pause(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<SyncReport>> {
    controlled(&state, &caller, ControlAction::Pause).await
}

pub async fn resume(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<SyncReport>> {
    controlled(&state, &caller, ControlAction::Resume).await
}

pub async fn emergency_stop(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> ApiResult<Json<SyncReport>> {
    controlled(&state, &caller, ControlAction::EmergencyStop).await
}

pub async fn clear_stop(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<SyncReport>> {
    controlled(&state, &caller, ControlAction::ClearStop).await
}

pub async fn clear_failed(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Json<SyncReport>> {
    controlled(&state, &caller, ControlAction::ClearFailed).await
}
