//! `POST` and `DELETE /api/v1/{songs,albums,playlists}/{id}/pin`: a user's
//! pins for offline use on this node (`services::pins`).

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use archive_db::PinKind;

use super::CurrentUser;
use super::error::ApiResult;
use super::extract::ApiPath;
use crate::services::pins::{self, PinState};
use crate::state::AppState;

/// A pin and an unpin handler for one kind.
macro_rules! pin_handlers {
    ($pin:ident, $unpin:ident, $kind:expr) => {
        pub async fn $pin(
            State(state): State<AppState>,
            caller: CurrentUser,
            ApiPath(id): ApiPath<Uuid>,
        ) -> ApiResult<Json<PinState>> {
            Ok(Json(pins::pin(&state, &caller.user, $kind, id).await?))
        }

        pub async fn $unpin(
            State(state): State<AppState>,
            caller: CurrentUser,
            ApiPath(id): ApiPath<Uuid>,
        ) -> ApiResult<Json<PinState>> {
            Ok(Json(pins::unpin(&state, &caller.user, $kind, id).await?))
        }
    };
}

pin_handlers!(pin_song, unpin_song, PinKind::Song);
pin_handlers!(pin_album, unpin_album, PinKind::Album);
pin_handlers!(pin_playlist, unpin_playlist, PinKind::Playlist);
