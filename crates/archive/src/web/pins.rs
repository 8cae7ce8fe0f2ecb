//! The "Pin for offline use" button on song, album and playlist pages of a
//! slave (`services::pins`). Other nodes show no button: a master holds
//! every file it can play, and has nowhere to fetch the rest from.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use archive_db::PinKind;

use super::forms::CsrfForm;
use super::{PageError, WebUser, render};
use crate::config::NodeRole;
use crate::services::pins;
use crate::state::AppState;

/// The button's state.
pub(super) struct PinButton {
    pub kind: PinKind,
    pub id: Uuid,
    pub pinned: bool,
}

impl PinButton {
    /// The button for a page of `kind` `id`, on a slave.
    pub(super) async fn for_page(
        state: &AppState,
        user: &WebUser,
        kind: PinKind,
        id: Uuid,
    ) -> Result<Option<PinButton>, PageError> {
        if state.config().role != NodeRole::Slave {
            return Ok(None);
        }
        let pinned = state.db.is_pinned(user.user.id, kind, id).await?;
        Ok(Some(PinButton { kind, id, pinned }))
    }
}

#[derive(Template)]
#[template(path = "pin_button.html")]
struct PinButtonFragment {
    pin: PinButton,
}

#[derive(Deserialize)]
pub struct PinForm {
    pinned: bool,
}

async fn set(
    state: &AppState,
    user: &WebUser,
    kind: PinKind,
    id: Uuid,
    pinned: bool,
) -> Result<Response, PageError> {
    let pin = match pinned {
        true => pins::pin(state, &user.user, kind, id).await?,
        false => pins::unpin(state, &user.user, kind, id).await?,
    };
    render(&PinButtonFragment { pin: PinButton { kind, id, pinned: pin.pinned } })
}

pub async fn pin_song(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PinForm>,
) -> Result<Response, PageError> {
    set(&state, &user, PinKind::Song, id, form.pinned).await
}

pub async fn pin_album(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PinForm>,
) -> Result<Response, PageError> {
    set(&state, &user, PinKind::Album, id, form.pinned).await
}

pub async fn pin_playlist(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PinForm>,
) -> Result<Response, PageError> {
    set(&state, &user, PinKind::Playlist, id, form.pinned).await
}
