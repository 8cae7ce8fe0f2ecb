//! What the server remembers about apps between their requests (the
//! Subsonic API): passwords checked lately, since apps send one with every
//! request and an Argon2 check each time would cost tens of milliseconds,
//! what each user is playing now, and the artist index. In memory only: a
//! restart forgets them, which costs one password check, one "now playing"
//! and one read of the index.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use archive_db::{ArtistEntry, DataStamp, Db, DbError, User};

#[derive(Debug, Default)]
pub struct Apps {
    pub passwords: CheckedPasswords,
    pub now_playing: NowPlaying,
    pub artist_index: ArtistIndex,
}

/// Every artist with its album count (`getArtists`, `getIndexes`), kept
/// until the data changes. Apps ask for the whole index each time they
/// start or refresh, and reading 5,000 artists with their counts takes
/// about 10 ms; checking that nothing changed takes one small read. Any
/// write (a play too) makes the next request read it again, which costs
/// what an uncached read does.
#[derive(Debug, Default)]
pub struct ArtistIndex {
    kept: Mutex<Option<(DataStamp, KeptIndex)>>,
}

/// The index as last read.
#[derive(Debug, Clone)]
pub struct KeptIndex {
    pub entries: Arc<Vec<ArtistEntry>>,
    /// When it was read: nothing it shows has changed since (`getIndexes`'
    /// `lastModified`).
    pub read_at: chrono::DateTime<chrono::Utc>,
}

impl ArtistIndex {
    pub async fn get(&self, db: &Db) -> Result<KeptIndex, DbError> {
        // The stamp is taken before the read, so a commit during the read
        // only makes the next request read again.
        let stamp = db.data_stamp().await?;
        let mut after = None;
        if let Some((kept_at, kept)) = &*self.kept.lock().expect("not poisoned") {
            if *kept_at == stamp {
                return Ok(kept.clone());
            }
            after = Some(kept.read_at);
        }
        // Each new read is later than the last, even within a millisecond,
        // so that an app comparing times never misses a change.
        let now = archive_db::now();
        let read_at = after.map_or(now, |last| now.max(last + chrono::Duration::milliseconds(1)));
        let kept = KeptIndex { read_at, entries: Arc::new(db.artist_entries().await?) };
        *self.kept.lock().expect("not poisoned") = Some((stamp, kept.clone()));
        Ok(kept)
    }
}

/// How long a checked password is remembered.
const REMEMBER_FOR: Duration = Duration::from_secs(600);
/// Remembered passwords at most (when full, expired ones go, then all).
const REMEMBER_MAX: usize = 10_000;

/// Passwords checked lately, by a hash of (email, password, password hash).
#[derive(Debug, Default)]
pub struct CheckedPasswords {
    checked: Mutex<HashMap<[u8; 32], Instant>>,
}

impl CheckedPasswords {
    fn key(user: &User, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in [user.email.as_str(), password, user.password_hash.as_str()] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hasher.finalize().into()
    }

    pub fn remembers(&self, user: &User, password: &str) -> bool {
        let checked = self.checked.lock().expect("not poisoned");
        checked.get(&Self::key(user, password)).is_some_and(|at| at.elapsed() < REMEMBER_FOR)
    }

    pub fn remember(&self, user: &User, password: &str) {
        let mut checked = self.checked.lock().expect("not poisoned");
        if checked.len() >= REMEMBER_MAX {
            checked.retain(|_, at| at.elapsed() < REMEMBER_FOR);
            if checked.len() >= REMEMBER_MAX {
                checked.clear();
            }
        }
        checked.insert(Self::key(user, password), Instant::now());
    }
}

/// What each user is playing now, as `scrobble` with `submission=false` said.
#[derive(Debug, Default)]
pub struct NowPlaying {
    playing: Mutex<HashMap<Uuid, (Uuid, String, Instant)>>,
}

/// A song stays "now playing" this long after it was said to start.
const NOW_PLAYING_FOR: Duration = Duration::from_secs(30 * 60);

impl NowPlaying {
    pub fn started(&self, user: Uuid, song: Uuid, player: String) {
        let mut playing = self.playing.lock().expect("not poisoned");
        playing.retain(|_, (_, _, at)| at.elapsed() < NOW_PLAYING_FOR);
        playing.insert(user, (song, player, Instant::now()));
    }

    pub fn current(&self) -> Vec<(Uuid, Uuid, String, Duration)> {
        let playing = self.playing.lock().expect("not poisoned");
        playing
            .iter()
            .filter(|(_, (_, _, at))| at.elapsed() < NOW_PLAYING_FOR)
            .map(|(user, (song, player, at))| (*user, *song, player.clone(), at.elapsed()))
            .collect()
    }
}
