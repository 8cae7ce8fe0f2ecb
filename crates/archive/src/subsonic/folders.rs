//! Browsing by folders, as older apps do (DSub, Amperfy, Tempo):
//! `getIndexes` and `getMusicDirectory`. Archive keeps no folder tree to
//! show (files may live anywhere, or only on another node), so the folders
//! are made from the tags: artist, then album, then songs. Ids are the
//! artists' and albums' own.

use super::answer::Node;
use super::browse::{artist_index, songs_nodes};
use super::error::SubsonicError;
use super::{Answer, Call};

/// `getIndexes`: every artist as a folder, grouped by first letter.
/// `lastModified` is when the index was last read (after any change to the
/// synced data; a restart reads it again), and with `ifModifiedSince` at
/// or after it the answer leaves the artists out, as nothing changed.
pub async fn indexes(call: &Call) -> Answer {
    let (mut index, read_at) = artist_index(call).await?;
    let last_modified = read_at.timestamp_millis();
    if call.params.int("ifModifiedSince")?.is_some_and(|since| since >= last_modified) {
        index.clear();
    }
    let indexes = Node::new()
        .attr("lastModified", last_modified)
        .attr("ignoredArticles", "")
        .list("shortcut", Vec::new())
        .list("index", index)
        .list("child", Vec::new());
    Ok(Node::new().child("indexes", indexes))
}

/// `getMusicDirectory`: an artist's folder (its albums) or an album's (its songs).
pub async fn directory(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    let db = &call.state.db;
    if let Some(artist) = db.artist(id).await? {
        let albums = db.album_entries_of_artist(id).await?;
        let children = albums
            .iter()
            .map(|entry| {
                Node::new()
                    .attr("id", entry.album.id.to_string())
                    .attr("parent", artist.id.to_string())
                    .attr("isDir", true)
                    .attr("title", entry.album.title.clone())
                    .attr("album", entry.album.title.clone())
                    .attr("artist", artist.name.clone())
                    .maybe("year", entry.album.year)
                    .attr("coverArt", entry.album.id.to_string())
                    .attr("created", entry.album.created_at.to_rfc3339())
            })
            .collect();
        let directory =
            Node::new().attr("id", id.to_string()).attr("name", artist.name).list("child", children);
        return Ok(Node::new().child("directory", directory));
    }
    let album = db.album(id).await?.ok_or(SubsonicError::NotFound("directory"))?;
    let songs = db.album_songs(id).await?;
    let directory = Node::new()
        .attr("id", id.to_string())
        .maybe("parent", album.artist_id.map(|a| a.to_string()))
        .attr("name", album.title)
        .list("child", songs_nodes(call, &songs).await?);
    Ok(Node::new().child("directory", directory))
}

/// `getArtistInfo2`, `getArtistInfo`, `getAlbumInfo2`, `getAlbumInfo`,
/// `getSimilarSongs2`, `getSimilarSongs`, `getTopSongs`: valid and empty,
/// since Archive knows no biographies, similarities or charts. The item
/// asked about must exist.
pub async fn nothing_known(call: &Call, element: &'static str) -> Answer {
    if let Some(id) = call.params.get("id") {
        let id = id.parse().map_err(|_| SubsonicError::NotFound("item"))?;
        let db = &call.state.db;
        let known =
            db.artist(id).await?.is_some() || db.album(id).await?.is_some() || db.song(id).await?.is_some();
        if !known {
            return Err(SubsonicError::NotFound("item"));
        }
    }
    let body = match element {
        "similarSongs2" | "similarSongs" | "topSongs" => Node::new().list("song", Vec::new()),
        "artistInfo2" | "artistInfo" => Node::new().list("similarArtist", Vec::new()),
        _ => Node::new(),
    };
    Ok(Node::new().child(element, body))
}
