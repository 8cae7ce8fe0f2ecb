//! `GET /api/v1/search?q=`: songs, artists and albums matching a query.
//!
//! Every word of `q` is matched as a prefix, case and accents aside, and all
//! words must match; results are ranked best first. `type` picks the kinds
//! (`song`, `artist`, `album`, comma-separated; all by default); `limit` (1 to
//! 100, default 20) and `offset` page each kind separately, and each kind
//! says the `next_offset` of its next page.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use archive_db::{Album, Artist, SearchPage, SearchRequest, Song};

use super::error::{ApiError, ApiResult};
use super::extract::Params;
use crate::state::AppState;

#[derive(Serialize)]
pub struct SearchResults {
    query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    songs: Option<SearchPage<Song>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artists: Option<SearchPage<Artist>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    albums: Option<SearchPage<Album>>,
}

const KINDS: &[&str] = &["song", "artist", "album"];

pub async fn search(State(state): State<AppState>, params: Params) -> ApiResult<Json<SearchResults>> {
    params.finish(&["q", "type", "limit", "offset"])?;
    let query = params.text("q").ok_or_else(|| ApiError::invalid(Some("q"), "q is required"))?;
    let kinds: Vec<String> = match params.text("type") {
        None => KINDS.iter().map(|k| k.to_string()).collect(),
        Some(list) => list.split(',').map(|k| k.trim().to_owned()).collect(),
    };
    if let Some(unknown) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            Some("type"),
            format!("unknown type {unknown:?}; known: {}", KINDS.join(", ")),
        ));
    }
    let request = SearchRequest {
        query: query.clone(),
        limit: params.int("limit")?.unwrap_or(20),
        offset: params.int("offset")?.unwrap_or(0),
    };
    let wants = |kind: &str| kinds.iter().any(|k| k == kind);
    let (db, request) = (&state.db, &request);
    // The kinds are searched at once, each on its own connection: an answer
    // takes as long as the slowest kind, not the three one after another.
    let (songs, artists, albums) = tokio::try_join!(
        async move { if wants("song") { db.search_songs(request).await.map(Some) } else { Ok(None) } },
        async move { if wants("artist") { db.search_artists(request).await.map(Some) } else { Ok(None) } },
        async move { if wants("album") { db.search_albums(request).await.map(Some) } else { Ok(None) } },
    )?;
    Ok(Json(SearchResults { songs, artists, albums, query }))
}
