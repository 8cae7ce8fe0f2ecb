//! A user's own listening data on the pages: favourites, recently and most played.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::forms::CsrfForm;
use super::pages::{CursorQuery, SongPage, next_link};
use super::song_rows::song_rows;
use super::{Frame, PageError, WebUser, render};
use crate::services::library::write_as;
use crate::state::AppState;

pub async fn favourites(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let page = state.db.favourite_songs(user.user.id, &params.page()).await?;
    render(&SongPage {
        frame: Frame::of(&user),
        heading: "Favourites".into(),
        listening_tabs: true,
        genre: None,
        query: "",
        songs: song_rows(&state, &user, &page.items).await?,
        next: next_link("/favourites", page.next_cursor),
    })
}

/// What the favourite button shows.
struct FavouriteState {
    id: Uuid,
    title: String,
    favourite: bool,
}

#[derive(Template)]
#[template(path = "favourite_button.html")]
struct FavouriteButton {
    song: FavouriteState,
}

#[derive(Deserialize)]
pub struct FavouriteForm {
    favourite: bool,
}

/// Marks or unmarks a favourite (an htmx request, with the CSRF header) and
/// answers with the button in its new state.
pub async fn set_favourite(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<FavouriteForm>,
) -> Result<Response, PageError> {
    let song = state.db.song(id).await?.ok_or(PageError::NotFound("song"))?;
    write_as!(state, user.user.id, |tx| tx.set_favourite(user.user.id, id, form.favourite));
    render(&FavouriteButton { song: FavouriteState { id, title: song.title, favourite: form.favourite } })
}

/// What the rating menu shows.
struct RatingState {
    id: Uuid,
    title: String,
    /// 1 to 5, or 0 for none.
    rating: i64,
}

#[derive(Template)]
#[template(path = "rating_select.html")]
struct RatingSelect {
    song: RatingState,
}

#[derive(Deserialize)]
pub struct RatingForm {
    /// 1 to 5, or empty to clear.
    #[serde(default)]
    rating: String,
}

/// Rates a song or clears the rating (an htmx request, with the CSRF
/// header) and answers with the menu in its new state.
pub async fn set_rating(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<RatingForm>,
) -> Result<Response, PageError> {
    let rating = match form.rating.trim() {
        "" => None,
        text => {
            Some(text.parse::<i64>().map_err(|_| PageError::BadRequest("A rating is 1 to 5 stars.".into()))?)
        }
    };
    let song = state.db.song(id).await?.ok_or(PageError::NotFound("song"))?;
    write_as!(state, user.user.id, |tx| tx.set_rating(user.user.id, id, rating));
    render(&RatingSelect { song: RatingState { id, title: song.title, rating: rating.unwrap_or(0) } })
}

/// The user's plays, newest first (a song played twice is listed twice).
pub async fn recent(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let plays = state.db.recent_plays(user.user.id, &params.page()).await?;
    let ids: Vec<Uuid> = plays.items.iter().map(|p| p.song_id).collect();
    let songs = state.db.songs_by_ids(&ids).await?;
    render(&SongPage {
        frame: Frame::of(&user),
        heading: "Recently played".into(),
        listening_tabs: true,
        genre: None,
        query: "",
        songs: song_rows(&state, &user, &songs).await?,
        next: next_link("/recent", plays.next_cursor),
    })
}

/// The user's most played songs (the top 100).
pub async fn most_played(State(state): State<AppState>, user: WebUser) -> Result<Response, PageError> {
    let counts = state.db.most_played(user.user.id, 100, 0).await?;
    let ids: Vec<Uuid> = counts.iter().map(|c| c.song_id).collect();
    let songs = state.db.songs_by_ids(&ids).await?;
    render(&SongPage {
        frame: Frame::of(&user),
        heading: "Most played".into(),
        listening_tabs: true,
        genre: None,
        query: "",
        songs: song_rows(&state, &user, &songs).await?,
        next: None,
    })
}
