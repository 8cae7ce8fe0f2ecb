//! Playlists: `getPlaylists`, `getPlaylist`, `createPlaylist`,
//! `updatePlaylist`, `deletePlaylist`, under the same rules as the JSON
//! API's (`services::playlists`): everyone sees their own and public ones,
//! owners and admins change them.

use uuid::Uuid;

use archive_db::{
    NewPlaylist, PageRequest, Playlist, PlaylistEntry, PlaylistFilter, PlaylistPatch, Role, SortOrder,
};

use super::answer::Node;
use super::browse::songs_nodes;
use super::error::SubsonicError;
use super::{Answer, Call};
use crate::services::library::write_as;
use crate::services::playlists::{add_song, editable, visible};

/// Playlists listed at most, and entries read at most from one playlist.
const PLAYLISTS_MAX: i64 = 500;
const ENTRIES_MAX: usize = 10_000;

/// A playlist without its songs.
async fn playlist_node(
    call: &Call,
    playlist: &Playlist,
    entries: &[PlaylistEntry],
) -> Result<Node, SubsonicError> {
    let owner = call.state.db.user(playlist.owner_id).await?.map(|u| u.email).unwrap_or_default();
    let songs = call.state.db.songs_by_ids(&entries.iter().map(|e| e.song_id).collect::<Vec<_>>()).await?;
    let duration: i64 = songs.iter().filter_map(|s| s.duration_ms).sum::<i64>() / 1000;
    Ok(Node::new()
        .attr("id", playlist.id.to_string())
        .attr("name", playlist.name.clone())
        .maybe("comment", playlist.description.clone())
        .attr("owner", owner)
        .attr("public", playlist.is_public)
        .attr("songCount", entries.len() as i64)
        .attr("duration", duration)
        .attr("created", playlist.created_at.to_rfc3339())
        .attr("changed", playlist.updated_at.to_rfc3339()))
}

/// Every entry of a playlist, in order.
async fn all_entries(call: &Call, id: Uuid) -> Result<Vec<PlaylistEntry>, SubsonicError> {
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest { limit: Some(500), cursor, order: SortOrder::Asc, ..Default::default() };
        let mut found = call.state.db.playlist_entries(id, &page).await?;
        entries.append(&mut found.items);
        cursor = found.next_cursor;
        if cursor.is_none() || entries.len() >= ENTRIES_MAX {
            return Ok(entries);
        }
    }
}

/// `getPlaylists`: the caller's and public playlists; an admin may ask for
/// another user's (`username`).
pub async fn list(call: &Call) -> Answer {
    let mut filter = PlaylistFilter { owner_id: None, visible_to: Some(call.user.id) };
    if let Some(username) = call.params.get("username")
        && !username.eq_ignore_ascii_case(&call.user.email)
    {
        if call.user.role != Role::Admin {
            return Err(SubsonicError::NotAuthorized(
                "only an admin may list another user's playlists".into(),
            ));
        }
        let owner = call.state.db.user_by_email(&username.trim().to_lowercase()).await?;
        let owner = owner.ok_or(SubsonicError::NotFound("user"))?;
        filter = PlaylistFilter { owner_id: Some(owner.id), visible_to: None };
    }
    let page = PageRequest { limit: Some(PLAYLISTS_MAX), ..Default::default() };
    let playlists = call.state.db.playlists(&filter, &page).await?.items;
    let mut nodes = Vec::with_capacity(playlists.len());
    for playlist in &playlists {
        let entries = all_entries(call, playlist.id).await?;
        nodes.push(playlist_node(call, playlist, &entries).await?);
    }
    Ok(Node::new().child("playlists", Node::new().list("playlist", nodes)))
}

/// A playlist with its songs in order (repeats kept).
async fn full(call: &Call, playlist: &Playlist) -> Answer {
    let entries = all_entries(call, playlist.id).await?;
    let songs = call.state.db.songs_by_ids(&entries.iter().map(|e| e.song_id).collect::<Vec<_>>()).await?;
    let nodes = songs_nodes(call, &songs).await?;
    let node = playlist_node(call, playlist, &entries).await?.list("entry", nodes);
    Ok(Node::new().child("playlist", node))
}

/// `getPlaylist`.
pub async fn get(call: &Call) -> Answer {
    let playlist = visible(&call.state, &call.user, call.params.id("id")?).await?;
    full(call, &playlist).await
}

/// `createPlaylist`: a new playlist `name` with the songs `songId`, or
/// (with `playlistId`) that playlist's songs replaced by them.
pub async fn create(call: &Call) -> Answer {
    let songs: Vec<Uuid> = call.params.ids("songId")?;
    let user = call.user.id;
    let playlist = match call.params.get("playlistId") {
        Some(_) => {
            let playlist = editable(&call.state, &call.user, call.params.id("playlistId")?).await?;
            for entry in all_entries(call, playlist.id).await? {
                write_as!(call.state, user, |tx| tx.remove_playlist_entry(playlist.id, entry.id));
            }
            playlist
        }
        None => {
            let name = call.params.required("name")?.to_owned();
            let new = NewPlaylist { owner_id: user, name, description: None, is_public: false };
            write_as!(call.state, user, |tx| tx.insert_playlist(new))
        }
    };
    for song in songs {
        add_song(&call.state, &call.user, playlist.id, song, None).await?;
    }
    full(call, &playlist).await
}

/// `updatePlaylist`: its name, comment and public flag, songs added at the
/// end (`songIdToAdd`) and removed by their index before the change
/// (`songIndexToRemove`).
pub async fn update(call: &Call) -> Answer {
    let id = call.params.id("playlistId")?;
    editable(&call.state, &call.user, id).await?;
    let user = call.user.id;
    let patch = PlaylistPatch {
        name: call.params.get("name").map(str::to_owned),
        description: call.params.get("comment").map(|c| Some(c.to_owned()).filter(|c| !c.is_empty())),
        is_public: call.params.get("public").map(|p| p == "true"),
    };
    if patch.name.is_some() || patch.description.is_some() || patch.is_public.is_some() {
        write_as!(call.state, user, |tx| tx.update_playlist(id, patch));
    }
    let mut removed: Vec<usize> = Vec::new();
    for index in call.params.all("songIndexToRemove") {
        let index = index.parse().map_err(|_| SubsonicError::BadParameter {
            name: "songIndexToRemove",
            message: "a song's index in the playlist".into(),
        })?;
        removed.push(index);
    }
    if !removed.is_empty() {
        let entries = all_entries(call, id).await?;
        removed.sort_unstable();
        removed.dedup();
        for index in removed.into_iter().rev() {
            let entry = entries.get(index).ok_or(SubsonicError::NotFound("playlist entry"))?;
            write_as!(call.state, user, |tx| tx.remove_playlist_entry(id, entry.id));
        }
    }
    for song in call.params.ids("songIdToAdd")? {
        add_song(&call.state, &call.user, id, song, None).await?;
    }
    Ok(Node::new())
}

/// `deletePlaylist`.
pub async fn delete(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    editable(&call.state, &call.user, id).await?;
    let user = call.user.id;
    write_as!(call.state, user, |tx| tx.delete_playlist(id));
    Ok(Node::new())
}
