//! Where a song's sound is, as every list and page tells it: on this node
//! (its own file, or one kept from the master), on the master (a slave
//! plays it through and keeps it), or nowhere this node can reach. The
//! pages and the API share these words.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use archive_db::{DbError, Song};

use crate::config::{FilesPolicy, NodeRole};
use crate::state::AppState;

/// Where a song's file is, seen from this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Whereabouts {
    /// This node's own file: imported, uploaded, or sent by a slave.
    Here,
    /// Fetched from the master and kept here.
    FetchedHere,
    /// On the master: playing streams it through, and keeps it.
    OnMaster,
    /// On the master, which cannot be reached now.
    MasterUnreachable,
    /// Not on this node, and this node does not fetch it.
    Elsewhere,
}

impl Whereabouts {
    /// Whether pressing play plays it.
    pub fn playable(self) -> bool {
        matches!(self, Whereabouts::Here | Whereabouts::FetchedHere | Whereabouts::OnMaster)
    }

    /// A few words for a list.
    pub fn label(self) -> &'static str {
        match self {
            Whereabouts::Here => "here",
            Whereabouts::FetchedHere => "kept from the master",
            Whereabouts::OnMaster => "on the master",
            Whereabouts::MasterUnreachable => "master unreachable",
            Whereabouts::Elsewhere => "Not available here",
        }
    }

    /// A sentence for a page.
    pub fn sentence(self) -> &'static str {
        match self {
            Whereabouts::Here => "Here: this server's own file.",
            Whereabouts::FetchedHere => "Here: fetched from the master and kept.",
            Whereabouts::OnMaster => {
                "On the master: it plays from there, and is kept here after the first play."
            }
            Whereabouts::MasterUnreachable => "On the master, which cannot be reached now.",
            Whereabouts::Elsewhere => "Not available here: the file is on another node.",
        }
    }
}

/// A song's sound on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sound {
    pub whereabouts: Whereabouts,
    /// Some user pinned it (the song, its album or a playlist holding it) on this node.
    pub pinned: bool,
}

/// The sound of each of `songs` (five reads, whatever the number of songs).
pub async fn sounds(state: &AppState, songs: &[Song]) -> Result<HashMap<Uuid, Sound>, DbError> {
    let ids: Vec<Uuid> = songs.iter().map(|s| s.id).collect();
    let here = state.db.songs_here(&ids).await?;
    let fetched: HashSet<Uuid> = state.db.songs_fetched(&ids).await?.into_iter().collect();
    let pinned: HashSet<Uuid> = state.db.pinned_songs(&ids).await?.into_iter().collect();
    let config = state.config();
    let fetches = config.role == NodeRole::Slave && config.sync.files != FilesPolicy::Off;
    let master_down = fetches
        && songs.iter().any(|s| !here.contains(&s.id))
        && crate::sync::transfers::master_known_unreachable(&state.db).await?;
    Ok(songs
        .iter()
        .map(|song| {
            let whereabouts = if fetched.contains(&song.id) {
                Whereabouts::FetchedHere
            } else if here.contains(&song.id) {
                Whereabouts::Here
            } else if !fetches || song.content_hash.is_none() {
                Whereabouts::Elsewhere
            } else if master_down {
                Whereabouts::MasterUnreachable
            } else {
                Whereabouts::OnMaster
            };
            (song.id, Sound { whereabouts, pinned: pinned.contains(&song.id) })
        })
        .collect())
}
