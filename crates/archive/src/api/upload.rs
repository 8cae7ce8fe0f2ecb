//! `POST /api/v1/songs`: JSON creates a song's metadata (see `library`);
//! `multipart/form-data` uploads one or more audio files.
//!
//! An upload is all or nothing: every file is received into the store's
//! temporary area while it is counted against `ARCHIVE_MAX_UPLOAD_MB` (413
//! past it) and checked to be audio from its content (415 otherwise, naming
//! the file); only when every file passed are they kept in the store and
//! imported through the same path as a folder import.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use archive_db::Song;
use archive_media::{FileError, NamedFile, Progress, StoreError};

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use crate::state::AppState;

/// JSON bodies on this route are limited like everywhere else; only uploads are large.
const JSON_LIMIT: usize = 1024 * 1024;

pub async fn create_or_upload(
    State(state): State<AppState>,
    caller: super::CurrentUser,
    req: Request,
) -> ApiResult<Response> {
    let multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if multipart {
        return Ok(upload(state, req).await?.into_response());
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, JSON_LIMIT)));
    let body = ApiJson::from_request(req, &state).await?;
    Ok(super::library::create_song(State(state), caller, body).await?.into_response())
}

#[derive(Serialize)]
pub struct UploadResult {
    /// The songs of the uploaded files, in upload order.
    songs: Vec<Song>,
    imported: u64,
    /// Files whose content was already in the library.
    skipped: u64,
    failed: Vec<FileError>,
    /// Files imported with damage skipped (a bad tag frame…), and what.
    warnings: Vec<FileError>,
}

fn too_large(limit: u64) -> ApiError {
    StoreError::TooLarge { limit }.into()
}

/// The store's errors as the API answers them, a file too large naming the
/// whole upload's limit (each file is received against what is left of it).
fn store_error(limit: u64) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::TooLarge { .. } => too_large(limit),
        e => e.into(),
    }
}

fn multipart_error(limit: u64) -> impl Fn(MultipartError) -> ApiError {
    move |e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
        _ if super::extract::is_body_timeout(&e) => super::extract::body_timeout(),
        _ => ApiError::bad_request(format!("the multipart body is malformed: {}", e.body_text())),
    }
}

async fn upload(state: AppState, req: Request) -> ApiResult<(StatusCode, Json<UploadResult>)> {
    // While the database cannot take writes, nothing is received at all.
    state.db.check_writes().await?;
    let limit = state.config().max_upload_bytes;
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    // Room for the whole body, before any of it is read.
    state.store.check_room(declared.unwrap_or(limit), state.config().min_free_bytes).await?;
    let mut multipart = Multipart::from_request(req, &state)
        .await
        .map_err(|e| ApiError::bad_request(format!("the multipart body is malformed: {}", e.body_text())))?;
    let max_files = state.config().max_upload_files;
    let mut received = Vec::new();
    let mut total = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error(limit))? {
        if received.len() == max_files {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_files",
                format!("an upload takes at most {max_files} files (ARCHIVE_MAX_UPLOAD_FILES)"),
            ));
        }
        let Some(name) = field.file_name().map(str::to_owned) else {
            let field_name = field.name().unwrap_or("").to_owned();
            return Err(ApiError::invalid(
                Some(&field_name),
                format!("{field_name:?} is not a file; an upload takes files only"),
            ));
        };
        let mut incoming = state.store.receive(&name, limit - total).await.map_err(store_error(limit))?;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error(limit))? {
            incoming.write(&chunk).await.map_err(store_error(limit))?;
        }
        total += incoming.size();
        received.push(incoming);
    }
    if received.is_empty() {
        return Err(ApiError::invalid(Some("file"), "the upload has no files"));
    }
    let mut checked = Vec::with_capacity(received.len());
    for incoming in received {
        checked.push(incoming.check().await.map_err(store_error(limit))?);
    }
    let mut stored = Vec::with_capacity(checked.len());
    for file in checked {
        stored.push(file.keep(&state.store).await.map_err(store_error(limit))?);
    }
    let files: Vec<_> = stored
        .iter()
        .map(|f| NamedFile {
            path: f.path.clone(),
            client_name: Some(f.client_name.clone()),
            content_hash: Some(f.content_hash.clone()),
        })
        .collect();
    let report = archive_media::import_uploads(&state.db, &files, Arc::new(Progress::default()))
        .await
        .map_err(|e| match e {
            archive_media::ImportError::Db(e) => ApiError::from(e),
            other => ApiError::internal(other),
        })?;
    let mut songs = Vec::new();
    for file in &stored {
        let song_id = state.db.file_location_by_path(file.path.to_str().unwrap_or_default()).await?;
        if let Some(song) = match song_id {
            Some(location) => state.db.song(location.song_id).await?,
            None => None,
        } {
            songs.push(song);
        }
    }
    tracing::info!(files = stored.len(), bytes = total, imported = report.imported, "upload stored");
    state.metrics.record_upload(report.imported, report.skipped, report.failed.len() as u64);
    let result = UploadResult {
        songs,
        imported: report.imported,
        skipped: report.skipped,
        failed: by_client_name(report.failed, &stored),
        warnings: by_client_name(report.warnings, &stored),
    };
    Ok((StatusCode::CREATED, Json(result)))
}

/// Files named as their client named them, not by their place in the store.
fn by_client_name(errors: Vec<FileError>, stored: &[archive_media::StoredFile]) -> Vec<FileError> {
    errors
        .into_iter()
        .map(|mut error| {
            if let Some(file) = stored.iter().find(|f| f.path.to_str() == Some(error.path.as_str())) {
                error.path = file.client_name.clone();
            }
            error
        })
        .collect()
}
