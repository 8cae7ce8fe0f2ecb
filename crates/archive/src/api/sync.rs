//! Sync over HTTP: the master's protocol routes (by slave key) and the
//! admin routes. Thin: the master's side is `sync::master`, administration
//! `services::sync_admin`, the messages `archive_db::sync::protocol`; `docs/SYNC.md`
//! describes them.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use archive_db::sync::digest::TableDigest;
use archive_db::sync::protocol::BootstrapPage;
use archive_db::sync::protocol::{
    ApplyRequest, ApplyResponse, BootstrapStart, ChangesResponse, MAX_CHANGES_WAIT_SECS, Ping,
};
use archive_db::sync::state::{ConflictLog, SlaveKey};

use super::access::{CurrentUser, SlavePeer};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Params};
use crate::services::sync_admin::{self as admin, ControlAction};
use crate::state::AppState;
use crate::sync::engine::CycleReport;
use crate::sync::master;
use crate::sync::status::{SlaveView, SyncReport};

pub async fn ping(State(state): State<AppState>, peer: SlavePeer) -> ApiResult<Json<Ping>> {
    Ok(Json(master::ping(&state, &peer.key).await?))
}

// The arguments are used where they are, not moved into locals: a moved
// copy would sit in the future beside the original through a held long-poll.
pub async fn changes(
    state: State<AppState>,
    peer: SlavePeer,
    params: Params,
) -> ApiResult<Json<ChangesResponse>> {
    params.finish(&["cursor", "limit", "files_here", "wait"])?;
    let limit = params.int("limit")?.unwrap_or(1000);
    let files_here = params.int("files_here")?.filter(|n| *n >= 0);
    let wait = match params.int("wait")? {
        None => Duration::ZERO,
        Some(seconds) => Duration::from_secs(u64::try_from(seconds).map_err(|_| {
            ApiError::invalid(Some("wait"), format!("wait must be from 0 to {MAX_CHANGES_WAIT_SECS} seconds"))
        })?),
    };
    let cursor = params.text("cursor");
    Ok(Json(master::changes(&state.0, &peer.key, cursor.as_deref(), limit, files_here, wait).await?))
}

pub async fn apply(
    State(state): State<AppState>,
    peer: SlavePeer,
    ApiJson(request): ApiJson<ApplyRequest>,
) -> ApiResult<Json<ApplyResponse>> {
    Ok(Json(master::apply_to_the_end(state, peer.key, request.changes).await?))
}

pub async fn bootstrap_start(
    State(state): State<AppState>,
    peer: SlavePeer,
) -> ApiResult<Json<BootstrapStart>> {
    Ok(Json(master::bootstrap_start(&state, &peer.key).await?))
}

pub async fn bootstrap_page(
    State(state): State<AppState>,
    _peer: SlavePeer,
    ApiPath(table): ApiPath<String>,
    params: Params,
) -> ApiResult<Json<BootstrapPage>> {
    params.finish(&["after", "limit"])?;
    let limit = params.int("limit")?.unwrap_or(2000);
    Ok(Json(master::bootstrap_page(&state, &table, params.uuid("after")?, limit).await?))
}

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

pub async fn create_key(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = admin::issue_key(&state, &new.name, &new.node_id, new.overlap_hours, new.read_only).await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": issued.secret, "record": issued.record }))))
}

pub async fn list_keys(State(state): State<AppState>) -> ApiResult<Json<Vec<SlaveKey>>> {
    Ok(Json(admin::keys(&state).await?))
}

pub async fn revoke_key(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    admin::revoke(&state, id).await?;
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
    Ok(Json(crate::sync::status::server_report(&state).await?))
}

/// `POST /api/v1/sync/now`.
pub async fn sync_now(State(state): State<AppState>) -> ApiResult<Json<CycleReport>> {
    Ok(Json(admin::force_sync(&state).await?))
}

/// Carries out `action` and answers the new status.
async fn controlled(
    state: &AppState,
    caller: &CurrentUser,
    action: ControlAction,
) -> ApiResult<Json<SyncReport>> {
    admin::control_sync(state, action, &caller.user.email).await?;
    Ok(Json(crate::sync::status::server_report(state).await?))
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
