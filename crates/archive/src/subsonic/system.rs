//! `getLicense`, `getOpenSubsonicExtensions`, `getMusicFolders`, `getUser`.

use archive_db::Role;

use super::answer::{Node, Scalar};
use super::error::SubsonicError;
use super::{Answer, Call};
use crate::services::ServiceError;
use crate::services::imports::ImportRequestError;

/// Archive is free software: always licensed.
pub fn license() -> Node {
    Node::new().child("license", Node::new().attr("valid", true))
}

/// The OpenSubsonic extensions Archive supports, with their versions.
pub fn extensions() -> Node {
    let supported = [("apiKeyAuthentication", 1), ("formPost", 1), ("songLyrics", 1), ("transcodeOffset", 1)];
    let extensions = supported
        .iter()
        .map(|(name, version)| {
            Node::new().attr("name", *name).values("versions", vec![Scalar::Int(*version)])
        })
        .collect();
    Node::new().list("openSubsonicExtensions", extensions)
}

/// The id of Archive's one music folder: the whole library.
pub const MUSIC_FOLDER: i64 = 1;

pub fn music_folders() -> Node {
    let folder = Node::new().attr("id", MUSIC_FOLDER).attr("name", "Music");
    Node::new().child("musicFolders", Node::new().list("musicFolder", vec![folder]))
}

/// `tokenInfo` (OpenSubsonic `apiKeyAuthentication`): whose key this is.
pub fn token_info(call: &Call) -> Answer {
    if !call.by_api_key {
        return Err(SubsonicError::MechanismNotSupported("tokenInfo answers for an API key (apiKey)"));
    }
    Ok(Node::new().child("tokenInfo", Node::new().attr("username", call.user.email.clone())))
}

/// `getUser`: the caller, or (for an admin) anyone, by `username` (the email).
pub async fn user(call: &Call) -> Answer {
    let username = call.params.required("username")?;
    let user = if username.eq_ignore_ascii_case(&call.user.email) {
        call.user.clone()
    } else if call.user.role == Role::Admin {
        let account = username.trim().to_lowercase();
        call.state.db.user_by_email(&account).await?.ok_or(SubsonicError::NotFound("user"))?
    } else {
        return Err(SubsonicError::NotAuthorized("only an admin may look at other users".into()));
    };
    let (admin, adds_music) = (user.role == Role::Admin, user.role >= Role::Moderator);
    let node = Node::new()
        .attr("username", user.email.clone())
        .attr("email", user.email.clone())
        .attr("scrobblingEnabled", true)
        .attr("adminRole", admin)
        .attr("settingsRole", true)
        .attr("downloadRole", true)
        .attr("uploadRole", adds_music)
        .attr("playlistRole", true)
        .attr("coverArtRole", adds_music)
        .attr("commentRole", false)
        .attr("podcastRole", false)
        .attr("streamRole", true)
        .attr("jukeboxRole", false)
        .attr("shareRole", false)
        .attr("videoConversionRole", false)
        .values("folder", vec![Scalar::Int(MUSIC_FOLDER)]);
    Ok(Node::new().child("user", node))
}

/// `getScanStatus`: whether an import runs, and how many files it has
/// handled (or, between imports, how many songs the library has).
pub async fn scan_status(call: &Call) -> Answer {
    let running = call.state.imports.list().await?.into_iter().find(|job| job.state == "running");
    let (scanning, count) = match running {
        Some(job) => (true, (job.progress.imported + job.progress.skipped + job.progress.failed) as i64),
        None => (false, call.state.db.files_summary().await?.songs),
    };
    Ok(Node::new().child("scanStatus", Node::new().attr("scanning", scanning).attr("count", count)))
}

/// `startScan` (moderators and admins): imports every library root, as the
/// Import page does; one import at a time.
pub async fn start_scan(call: &Call) -> Answer {
    if call.user.role < Role::Moderator {
        return Err(SubsonicError::NotAuthorized("only moderators and admins start a scan".into()));
    }
    let roots = call.state.config().library_roots.clone();
    if roots.is_empty() {
        return Err(SubsonicError::Generic("no library folders are set (ARCHIVE_LIBRARY_ROOTS)".into()));
    }
    let trigger = crate::services::imports::Trigger::Request(call.user.id);
    match call.state.imports.start(roots, trigger).await {
        Ok(_) | Err(ServiceError::Import(ImportRequestError::Busy)) => scan_status(call).await,
        Err(other) => Err(other.into()),
    }
}
