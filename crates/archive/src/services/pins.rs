//! Pins: a user keeps a song, an album or a playlist on this node for
//! offline use. On a slave that fetches files, the queue brings pinned
//! files here in the background and the quota never evicts them; on a
//! master every file is here already and a pin only records the wish.
//! A playlist can be pinned by whoever may see it.

use serde::Serialize;
use uuid::Uuid;

use archive_db::{PinKind, User};

use super::{ServiceError, ServiceResult};
use crate::state::AppState;

/// A pin as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PinState {
    pub kind: PinKind,
    pub id: Uuid,
    pub pinned: bool,
}

/// Pins `id` for `user` (pinning again changes nothing).
pub async fn pin(state: &AppState, user: &User, kind: PinKind, id: Uuid) -> ServiceResult<PinState> {
    require_target(state, user, kind, id).await?;
    let mut tx = state.db.begin().await?;
    tx.pin(user.id, kind, id).await?;
    tx.commit().await?;
    // The transfer queue plans again: the pinned files are queued.
    state.sync_signals.files.notify_one();
    Ok(PinState { kind, id, pinned: true })
}

/// Removes `user`'s pin; the files stay until the quota needs the room.
pub async fn unpin(state: &AppState, user: &User, kind: PinKind, id: Uuid) -> ServiceResult<PinState> {
    let mut tx = state.db.begin().await?;
    tx.unpin(user.id, kind, id).await?;
    tx.commit().await?;
    Ok(PinState { kind, id, pinned: false })
}

/// The song, album or playlist must exist (and the playlist be visible to `user`).
async fn require_target(state: &AppState, user: &User, kind: PinKind, id: Uuid) -> ServiceResult<()> {
    let found = match kind {
        PinKind::Song => state.db.song(id).await?.is_some(),
        PinKind::Album => state.db.album(id).await?.is_some(),
        PinKind::Playlist => return super::playlists::visible(state, user, id).await.map(|_| ()),
    };
    match found {
        true => Ok(()),
        false => Err(ServiceError::NotFound(kind.as_str())),
    }
}
