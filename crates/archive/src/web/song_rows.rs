//! Songs as every list shows them: the song, who made it, the viewer's
//! favourite and rating, and whether its audio file is on this node (a song
//! that is not can be browsed, rated and put in playlists, but not played
//! here).

use std::collections::HashMap;

use uuid::Uuid;

use archive_db::{Song, SongCredits, SongMarks};

use super::{PageError, WebUser};
use crate::state::AppState;

/// A song as a list shows it.
pub(super) struct SongRow {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub album: String,
    pub duration: String,
    pub favourite: bool,
    /// 1 to 5, or 0 for none.
    pub rating: i64,
    /// Whether this node has the song's audio file.
    pub here: bool,
}

impl SongRow {
    fn new(song: &Song, credits: &SongCredits, marks: SongMarks, here: bool) -> SongRow {
        let name = |id: Option<Uuid>, names: &HashMap<Uuid, String>| {
            id.and_then(|id| names.get(&id).cloned()).unwrap_or_default()
        };
        SongRow {
            id: song.id.to_string(),
            title: song.title.clone(),
            artist: name(song.artist_id, &credits.artists),
            album: name(song.album_id, &credits.albums),
            duration: song.duration_ms.map(minutes_and_seconds).unwrap_or_default(),
            favourite: marks.favourite,
            rating: marks.rating.unwrap_or(0),
            here,
        }
    }
}

pub(super) fn minutes_and_seconds(ms: i64) -> String {
    let secs = ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Songs as a list shows them to `user` (four reads, whatever the number of songs).
pub(super) async fn song_rows(
    state: &AppState,
    user: &WebUser,
    songs: &[Song],
) -> Result<Vec<SongRow>, PageError> {
    let credits = state.db.song_credits(songs).await?;
    let ids: Vec<Uuid> = songs.iter().map(|s| s.id).collect();
    let marks = state.db.song_marks(user.user.id, &ids).await?;
    let here = state.db.songs_here(&ids).await?;
    Ok(songs
        .iter()
        .map(|s| {
            let song_marks = marks.get(&s.id).copied().unwrap_or_default();
            SongRow::new(s, &credits, song_marks, here.contains(&s.id))
        })
        .collect())
}
