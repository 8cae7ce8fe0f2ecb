//! Browsing by tags (ID3 in Subsonic's words): `getArtists`, `getArtist`,
//! `getAlbum`, `getSong`, `getGenres`. Ids are Archive's UUIDs; an album's
//! cover is asked for by the album's id. Every artist, album and song says
//! when the caller starred it (`starred`), and a song its `userRating`.

use std::collections::HashMap;

use archive_db::{AlbumEntry, ArtistEntry, Song};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::answer::Node;
use super::error::SubsonicError;
use super::{Answer, Call};

/// `getArtists`: every artist, grouped by the first letter of its name.
pub async fn artists(call: &Call) -> Answer {
    let (index, _) = artist_index(call).await?;
    let artists = Node::new().attr("ignoredArticles", "").list("index", index);
    Ok(Node::new().child("artists", artists))
}

/// Every artist in `index` elements, one per first letter (`getArtists`,
/// `getIndexes`), and when the index was last read (nothing in it has
/// changed since).
pub async fn artist_index(call: &Call) -> Result<(Vec<Node>, DateTime<Utc>), SubsonicError> {
    let starred = starred_by_caller(call, false).await?;
    let mut groups: Vec<(String, Vec<Node>)> = Vec::new();
    let kept = call.state.apps.artist_index.get(&call.state.db).await?;
    for artist in kept.entries.iter() {
        let letter = index_letter(&artist.name_key);
        let node = with_star(artist_node(artist), starred.get(&artist.id));
        match groups.last_mut() {
            Some((last, nodes)) if *last == letter => nodes.push(node),
            _ => groups.push((letter, vec![node])),
        }
    }
    let index = groups
        .into_iter()
        .map(|(name, artists)| Node::new().attr("name", name).list("artist", artists))
        .collect();
    Ok((index, kept.read_at))
}

/// Favourite albums or artists listed at most in `getStarred2`.
pub const STARRED_MAX: i64 = 1000;
/// Favourite albums or artists read at most to mark lists with them.
const MARKED_MAX: i64 = 100_000;

/// When the caller starred each album (`albums`) or artist they starred.
/// One read of their own favourites, which are few beside a page of 500
/// (an `IN` list of the page's ids cost more).
async fn starred_by_caller(call: &Call, albums: bool) -> Result<HashMap<Uuid, DateTime<Utc>>, SubsonicError> {
    Ok(call.state.db.favourites_of(call.user.id, albums, MARKED_MAX).await?.into_iter().collect())
}

/// `starred` (when the caller starred it) on a node, if they did.
fn with_star(node: Node, at: Option<&DateTime<Utc>>) -> Node {
    node.maybe("starred", at.map(|t| t.to_rfc3339()))
}

/// Artists as lists show them, with the caller's stars.
pub async fn artist_nodes(call: &Call, artists: Vec<ArtistEntry>) -> Result<Vec<Node>, SubsonicError> {
    let starred = starred_by_caller(call, false).await?;
    Ok(artists.iter().map(|a| with_star(artist_node(a), starred.get(&a.id))).collect())
}

/// Albums as lists show them, with the caller's stars.
pub async fn album_nodes(call: &Call, entries: &[AlbumEntry]) -> Result<Vec<Node>, SubsonicError> {
    let starred = starred_by_caller(call, true).await?;
    Ok(entries.iter().map(|e| with_star(album_node(e), starred.get(&e.album.id))).collect())
}

/// An artist as lists show it (`ArtistID3`).
fn artist_node(artist: &ArtistEntry) -> Node {
    Node::new()
        .attr("id", artist.id.to_string())
        .attr("name", artist.name.clone())
        .attr("albumCount", artist.album_count)
}

/// The index a name sorts under: its first letter, or `#`.
fn index_letter(name_key: &str) -> String {
    match name_key.chars().next() {
        Some(c) if c.is_alphabetic() => c.to_uppercase().collect(),
        _ => "#".to_owned(),
    }
}

/// `getArtist`: an artist and its albums.
pub async fn artist(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    let artist = call.state.db.artist(id).await?.ok_or(SubsonicError::NotFound("artist"))?;
    let albums = call.state.db.album_entries_of_artist(id).await?;
    let starred = call.state.db.favourites_among(call.user.id, &[id]).await?;
    let node = Node::new()
        .attr("id", artist.id.to_string())
        .attr("name", artist.name)
        .attr("albumCount", albums.len() as i64);
    let node = with_star(node, starred.get(&id)).list("album", album_nodes(call, &albums).await?);
    Ok(Node::new().child("artist", node))
}

/// An album as lists show it (`AlbumID3`).
fn album_node(entry: &AlbumEntry) -> Node {
    let album = &entry.album;
    Node::new()
        .attr("id", album.id.to_string())
        .attr("name", album.title.clone())
        .maybe("artist", entry.artist.clone())
        .maybe("artistId", album.artist_id.map(|a| a.to_string()))
        .attr("coverArt", album.id.to_string())
        .attr("songCount", entry.song_count)
        .attr("duration", entry.duration_ms / 1000)
        .attr("created", album.created_at.to_rfc3339())
        .maybe("year", album.year)
}

/// `getAlbum`: an album and its songs.
pub async fn album(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    let entry = call.state.db.album_entry(id).await?.ok_or(SubsonicError::NotFound("album"))?;
    let songs = call.state.db.album_songs(id).await?;
    let children = songs_nodes(call, &songs).await?;
    let album = album_nodes(call, std::slice::from_ref(&entry)).await?.remove(0);
    Ok(Node::new().child("album", album.list("song", children)))
}

/// `getSong`.
pub async fn song(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    let song = call.state.db.song(id).await?.ok_or(SubsonicError::NotFound("song"))?;
    let mut nodes = songs_nodes(call, std::slice::from_ref(&song)).await?;
    Ok(Node::new().child("song", nodes.remove(0)))
}

/// `getGenres`: every genre with its songs and albums counted.
pub async fn genres(call: &Call) -> Answer {
    let genres = call.state.db.genre_entries().await?;
    let nodes = genres
        .into_iter()
        .map(|g| Node::new().attr("songCount", g.song_count).attr("albumCount", g.album_count).text(g.name))
        .collect();
    Ok(Node::new().child("genres", Node::new().list("genre", nodes)))
}

/// Songs as Subsonic's `Child` elements, with the caller's star and
/// rating (four reads for any number of songs).
pub async fn songs_nodes(call: &Call, songs: &[Song]) -> Result<Vec<Node>, SubsonicError> {
    let credits = call.state.db.song_credits(songs).await?;
    let genre_ids: Vec<Uuid> = songs.iter().filter_map(|s| s.genre_id).collect();
    let genres = call.state.db.genre_names(&genre_ids).await?;
    let ids: Vec<Uuid> = songs.iter().map(|s| s.id).collect();
    let marks = call.state.db.song_marks(call.user.id, &ids).await?;
    Ok(songs
        .iter()
        .map(|s| {
            let node = song_node(s, &credits.artists, &credits.albums, &genres);
            let mark = marks.get(&s.id).copied().unwrap_or_default();
            let starred = mark.favourite.then_some(mark.changed_at).flatten();
            with_star(node, starred.as_ref()).maybe("userRating", mark.rating)
        })
        .collect())
}

fn song_node(
    song: &Song,
    artists: &HashMap<Uuid, String>,
    albums: &HashMap<Uuid, String>,
    genres: &HashMap<Uuid, String>,
) -> Node {
    let name = |id: Option<Uuid>, names: &HashMap<Uuid, String>| id.and_then(|id| names.get(&id).cloned());
    let (artist, album) = (name(song.artist_id, artists), name(song.album_id, albums));
    let format = song.format.as_deref().and_then(archive_media::AudioFormat::from_name);
    let suffix = format.map(|f| f.extension());
    // A path apps can show and sort by; Archive's own paths stay private.
    let path = format!(
        "{}/{}/{}.{}",
        artist.as_deref().unwrap_or("Unknown artist"),
        album.as_deref().unwrap_or("Unknown album"),
        song.title,
        suffix.unwrap_or("bin")
    );
    Node::new()
        .attr("id", song.id.to_string())
        .maybe("parent", song.album_id.map(|a| a.to_string()))
        .attr("isDir", false)
        .attr("title", song.title.clone())
        .maybe("album", album)
        .maybe("artist", artist)
        .maybe("track", song.track_number)
        .maybe("year", song.year)
        .maybe("genre", name(song.genre_id, genres))
        .maybe("coverArt", song.album_id.map(|a| a.to_string()))
        .maybe("size", song.file_size)
        .maybe("contentType", format.map(|f| f.mime_type()))
        .maybe("suffix", suffix)
        .maybe("duration", song.duration_ms.map(|ms| ms / 1000))
        .maybe("bitRate", song.bitrate)
        .maybe("samplingRate", song.sample_rate)
        .maybe("channelCount", song.channels)
        .attr("path", path)
        .attr("isVideo", false)
        .maybe("discNumber", song.disc_number)
        .attr("created", song.created_at.to_rfc3339())
        .maybe("albumId", song.album_id.map(|a| a.to_string()))
        .maybe("artistId", song.artist_id.map(|a| a.to_string()))
        .attr("type", "music")
        .attr("mediaType", "song")
}
