//! Who may see and change a playlist: everyone sees their own and public
//! ones, owners (and admins) change them. A playlist the viewer may not
//! see is reported as not found. The API and the pages share these rules.

use uuid::Uuid;

use archive_db::{Playlist, PlaylistEntry, Role, User};

use super::library::write_as;
use super::{ServiceError, ServiceResult};
use crate::state::AppState;

/// The playlist if `viewer` may see it: their own, a public one, or any for an admin.
pub async fn visible(state: &AppState, viewer: &User, id: Uuid) -> ServiceResult<Playlist> {
    match state.db.playlist(id).await? {
        Some(p) if p.is_public || p.owner_id == viewer.id || viewer.role == Role::Admin => Ok(p),
        _ => Err(ServiceError::NotFound("playlist")),
    }
}

/// The playlist if `editor` may change it: the owner or an admin.
pub async fn editable(state: &AppState, editor: &User, id: Uuid) -> ServiceResult<Playlist> {
    let playlist = visible(state, editor, id).await?;
    if may_edit(editor, &playlist) {
        Ok(playlist)
    } else {
        Err(ServiceError::Forbidden("only the owner or an admin can change this playlist".into()))
    }
}

pub fn may_edit(editor: &User, playlist: &Playlist) -> bool {
    playlist.owner_id == editor.id || editor.role == Role::Admin
}

/// Adds a song to a playlist the editor may change.
pub async fn add_song(
    state: &AppState,
    editor: &User,
    id: Uuid,
    song_id: Uuid,
    position: Option<i64>,
) -> ServiceResult<PlaylistEntry> {
    editable(state, editor, id).await?;
    if state.db.song(song_id).await?.is_none() {
        return Err(ServiceError::invalid("song_id", "no song has this id"));
    }
    Ok(write_as!(state, editor.id, |tx| tx.add_playlist_entry(id, song_id, position)))
}
