//! Imports of server-side folders, started through the API (moderators and
//! admins): `POST /api/v1/imports` with `{"path"}` starts one in the
//! background (202), `GET /api/v1/imports` lists recent ones, and
//! `GET /api/v1/imports/{id}` is the progress endpoint: files seen, imported,
//! skipped and failed, the rate, and when done the per-file failures.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::services::imports::{self, ImportJobView};

use super::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Params};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// A folder under a library root: absolute, or relative to a root.
    path: String,
}

#[derive(Serialize)]
pub struct ImportList {
    items: Vec<ImportJobView>,
    /// The folders imports may read.
    library_roots: Vec<String>,
}

pub async fn start(
    State(state): State<AppState>,
    caller: CurrentUser,
    ApiJson(body): ApiJson<ImportBody>,
) -> ApiResult<(StatusCode, Json<ImportJobView>)> {
    let started = imports::begin(&state, caller.user.id, &body.path).await?;
    let job = state.imports.get(started.id).await?.ok_or_else(|| ApiError::not_found("import"))?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

pub async fn list(State(state): State<AppState>, params: Params) -> ApiResult<Json<ImportList>> {
    params.finish(&[])?;
    Ok(Json(ImportList {
        items: state.imports.list().await?,
        library_roots: state.config().library_roots.iter().map(|r| r.display().to_string()).collect(),
    }))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ImportJobView>> {
    state.imports.get(id).await?.map(Json).ok_or_else(|| ApiError::not_found("import"))
}
