//! Songs as every list shows them: the song, who made it, the viewer's
//! favourite and rating, and where its sound is (`services::sound`): a
//! song that cannot be played here can still be browsed, rated and put in
//! playlists.

use std::collections::HashMap;

use uuid::Uuid;

use archive_db::{Song, SongCredits, SongMarks};

use super::{PageError, WebUser};
use crate::services::sound::{self, Sound, Whereabouts};
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
    /// Whether pressing play plays it (here, or through from the master).
    pub playable: bool,
    /// Where its sound is, in a few words (empty: this node's own file) and a sentence.
    pub sound: &'static str,
    pub sound_detail: &'static str,
    /// Pinned for offline use on this node.
    pub pinned: bool,
}

impl SongRow {
    fn new(song: &Song, credits: &SongCredits, marks: SongMarks, sound: Sound) -> SongRow {
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
            playable: sound.whereabouts.playable(),
            sound: match sound.whereabouts {
                Whereabouts::Here => "",
                other => other.label(),
            },
            sound_detail: sound.whereabouts.sentence(),
            pinned: sound.pinned,
        }
    }
}

pub(super) fn minutes_and_seconds(ms: i64) -> String {
    let secs = ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Songs as a list shows them to `user` (a few reads, whatever the number of songs).
pub(super) async fn song_rows(
    state: &AppState,
    user: &WebUser,
    songs: &[Song],
) -> Result<Vec<SongRow>, PageError> {
    let credits = state.db.song_credits(songs).await?;
    let ids: Vec<Uuid> = songs.iter().map(|s| s.id).collect();
    let marks = state.db.song_marks(user.user.id, &ids).await?;
    let sounds = sound::sounds(state, songs).await?;
    Ok(songs
        .iter()
        .map(|s| {
            let song_marks = marks.get(&s.id).copied().unwrap_or_default();
            let sound = sounds
                .get(&s.id)
                .copied()
                .unwrap_or(Sound { whereabouts: Whereabouts::Elsewhere, pinned: false });
            SongRow::new(s, &credits, song_marks, sound)
        })
        .collect())
}
