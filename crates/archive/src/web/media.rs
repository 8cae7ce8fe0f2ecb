//! Adding music (moderators and admins): uploading files from the browser,
//! and importing folders on the server with live progress.
//!
//! The upload page sends each file to the API's `POST /api/v1/songs` on its
//! own (the script in `app.js`), so one bad file is reported beside the
//! others instead of refusing them all. Imports go through the same
//! function as the API's (`api::imports::begin`): the folder must lie under
//! a library root, and one import runs at a time.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::CsrfForm;
use super::{Frame, ModeratorUser, PageError, render};
use crate::services::imports::ImportJobView;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage {
    frame: Frame,
    limit_mib: u64,
}

pub async fn upload(State(state): State<AppState>, user: ModeratorUser) -> Result<Response, PageError> {
    render(&UploadPage {
        frame: Frame::of(&user.0),
        limit_mib: state.config().max_upload_bytes / (1024 * 1024),
    })
}

/// An import as its pages show it.
struct ImportRow {
    id: Uuid,
    folder: String,
    /// What started it, in a few words.
    started_by: &'static str,
    started: String,
    running: bool,
    /// What happened, in a few words.
    summary: String,
    seen: u64,
    handled: u64,
    imported: u64,
    skipped: u64,
    failed: u64,
    missing: Option<u64>,
    rate: String,
    failures: Vec<(String, String)>,
    /// Files imported with damage skipped, and what.
    warnings: Vec<(String, String)>,
    error: Option<String>,
}

impl From<ImportJobView> for ImportRow {
    fn from(job: ImportJobView) -> ImportRow {
        let p = &job.progress;
        let handled = p.imported + p.skipped + p.failed;
        let summary = match (job.state, &job.error) {
            ("running", _) => format!("Importing: {handled} of {} files found so far", p.seen),
            (_, Some(_)) => "The import stopped".to_owned(),
            _ => format!("Done: {} imported, {} already known, {} failed", p.imported, p.skipped, p.failed),
        };
        ImportRow {
            id: job.id,
            folder: job.folder,
            started_by: match job.trigger {
                "watch" => "Changes in the folders",
                "scan" => "The periodic scan",
                "command line" => "archive import, on the command line",
                _ => "A moderator or admin",
            },
            started: job.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            running: job.state == "running",
            summary,
            seen: p.seen,
            handled,
            imported: p.imported,
            skipped: p.skipped,
            failed: p.failed,
            missing: job.missing,
            rate: format!("{:.0}", p.files_per_second),
            failures: job.failures.into_iter().map(|f| (f.path, f.error)).collect(),
            warnings: job.warnings.into_iter().map(|f| (f.path, f.error)).collect(),
            error: job.error,
        }
    }
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    frame: Frame,
    roots: Vec<String>,
    following: FollowingView,
    imports: Vec<ImportRow>,
    folder: String,
    error: Option<String>,
}

/// How the library folders are followed, as the Import page says it.
struct FollowingView {
    /// The folders watched, if any.
    watched: Option<String>,
    watch_error: Option<String>,
    /// "every 24 hours"
    scan_every: Option<String>,
    next_scan: Option<String>,
    last_change_imported: Option<String>,
}

impl FollowingView {
    fn of(following: &crate::upkeep::Following) -> FollowingView {
        let when = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let joined = following.watched.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ");
        FollowingView {
            watched: (!following.watched.is_empty()).then_some(joined),
            watch_error: following.watch_error.clone(),
            scan_every: following.scan_every.map(|every| match every.as_secs() {
                s if s % 3600 == 0 => format!("every {} hours", s / 3600),
                s if s % 60 == 0 => format!("every {} minutes", s / 60),
                s => format!("every {s} seconds"),
            }),
            next_scan: following.next_scan.as_ref().map(when),
            last_change_imported: following.last_change_imported.as_ref().map(when),
        }
    }
}

async fn imports_page(
    state: &AppState,
    user: &ModeratorUser,
    folder: String,
    error: Option<String>,
) -> Result<ImportsPage, PageError> {
    Ok(ImportsPage {
        frame: Frame::of(&user.0),
        roots: state.config().library_roots.iter().map(|r| r.display().to_string()).collect(),
        following: FollowingView::of(&state.following.get()),
        imports: state.imports.list().await?.into_iter().map(ImportRow::from).collect(),
        folder,
        error,
    })
}

/// The library folders, a form to import one, and the recent imports.
pub async fn imports(State(state): State<AppState>, user: ModeratorUser) -> Result<Response, PageError> {
    render(&imports_page(&state, &user, String::new(), None).await?)
}

#[derive(Deserialize)]
pub struct ImportForm {
    folder: String,
}

pub async fn start_import(
    State(state): State<AppState>,
    user: ModeratorUser,
    CsrfForm(form): CsrfForm<ImportForm>,
) -> Result<Response, PageError> {
    match crate::services::imports::begin(&state, user.0.user.id, form.folder.trim()).await {
        Ok(job) => Ok(Redirect::to(&format!("/imports/{}", job.id)).into_response()),
        Err(e) => {
            let (status, message) = PageError::from(e).said_on_the_form()?;
            let page = imports_page(&state, &user, form.folder, Some(message)).await?;
            Ok((status, render(&page)?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    frame: Frame,
    job: ImportRow,
}

/// One import: its progress while it runs (the page polls itself), then
/// its report with every file that failed and why.
pub async fn import(
    State(state): State<AppState>,
    user: ModeratorUser,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let job = state.imports.get(id).await?.ok_or(PageError::NotFound("import"))?;
    render(&ImportPage { frame: Frame::of(&user.0), job: job.into() })
}
