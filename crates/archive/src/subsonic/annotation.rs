//! Marks and plays: `star` and `unstar`, `setRating`, `scrobble`,
//! `getStarred2` and `getStarred`, `getNowPlaying`. They are the same
//! writes as the JSON API's (a favourite, a rating, a play), made in the
//! caller's name, so a slave syncs them to its master like any other.
//! A song's star is its favourite (`listening_data`); albums and artists
//! have their own (`favourites`), synced the same way.

use archive_db::Favourite;
use uuid::Uuid;

use super::answer::Node;
use super::browse::{STARRED_MAX, album_nodes, artist_nodes, songs_nodes};
use super::error::SubsonicError;
use super::{Answer, Call};
use crate::services::library::write_as;

/// What one `star` names.
enum Starred {
    Song(Uuid),
    Other(Favourite),
}

/// `star` (`starred` true) and `unstar`: every `id` (a song, or in folder
/// browsing an album or an artist), `albumId` and `artistId` given (each
/// repeatable). Nothing is written unless every one is found.
pub async fn star(call: &Call, starred: bool) -> Answer {
    let db = &call.state.db;
    let mut targets = Vec::new();
    for id in call.params.ids("id")? {
        let target = if db.song(id).await?.is_some() {
            Starred::Song(id)
        } else if db.album(id).await?.is_some() {
            Starred::Other(Favourite::Album(id))
        } else if db.artist(id).await?.is_some() {
            Starred::Other(Favourite::Artist(id))
        } else {
            return Err(SubsonicError::NotFound("song, album or artist"));
        };
        targets.push(target);
    }
    for id in call.params.ids("albumId")? {
        db.album(id).await?.ok_or(SubsonicError::NotFound("album"))?;
        targets.push(Starred::Other(Favourite::Album(id)));
    }
    for id in call.params.ids("artistId")? {
        db.artist(id).await?.ok_or(SubsonicError::NotFound("artist"))?;
        targets.push(Starred::Other(Favourite::Artist(id)));
    }
    if targets.is_empty() {
        return Err(SubsonicError::MissingParameter("id"));
    }
    let user = call.user.id;
    for target in targets {
        match target {
            Starred::Song(id) => write_as!(call.state, user, |tx| tx.set_favourite(user, id, starred)),
            Starred::Other(what) => {
                write_as!(call.state, user, |tx| tx.set_favourite_of(user, what, starred))
            }
        }
    }
    Ok(Node::new())
}

/// Every value of the repeatable parameter `name` as a song id (`scrobble`).
fn song_ids(call: &Call, name: &'static str) -> Result<Vec<Uuid>, SubsonicError> {
    call.params.all(name).map(|v| v.parse().map_err(|_| SubsonicError::NotFound("song"))).collect()
}

/// `setRating`: 1 to 5 stars, or 0 to remove the rating.
pub async fn set_rating(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    let rating = call.params.int("rating")?.ok_or(SubsonicError::MissingParameter("rating"))?;
    let rating = match rating {
        0 => None,
        1..=5 => Some(rating),
        _ => return Err(SubsonicError::BadParameter { name: "rating", message: "0 to 5".into() }),
    };
    call.state.db.song(id).await?.ok_or(SubsonicError::NotFound("song"))?;
    let user = call.user.id;
    write_as!(call.state, user, |tx| tx.set_rating(user, id, rating));
    Ok(Node::new())
}

/// `scrobble`: with `submission` true (the default), a play of each `id`
/// at its `time` (milliseconds since 1970; now when not given); with
/// false, what the caller is playing now.
pub async fn scrobble(call: &Call) -> Answer {
    let ids = song_ids(call, "id")?;
    if ids.is_empty() {
        return Err(SubsonicError::MissingParameter("id"));
    }
    let submission = call.params.get("submission").is_none_or(|v| v != "false");
    let times: Vec<&str> = call.params.all("time").collect();
    for (i, id) in ids.iter().enumerate() {
        call.state.db.song(*id).await?.ok_or(SubsonicError::NotFound("song"))?;
        if !submission {
            let player = call.params.get("c").unwrap_or("").to_owned();
            call.state.apps.now_playing.started(call.user.id, *id, player);
            continue;
        }
        let at = match times.get(i).map(|t| t.parse::<i64>()) {
            None => archive_db::now(),
            Some(Ok(ms)) => {
                chrono::DateTime::from_timestamp_millis(ms).ok_or(SubsonicError::BadParameter {
                    name: "time",
                    message: "milliseconds since 1970".into(),
                })?
            }
            Some(Err(_)) => {
                return Err(SubsonicError::BadParameter {
                    name: "time",
                    message: "milliseconds since 1970".into(),
                });
            }
        };
        let user = call.user.id;
        write_as!(call.state, user, |tx| tx.record_play(user, *id, at));
    }
    Ok(Node::new())
}

/// Favourite songs listed at most.
const STARRED_SONGS_MAX: i64 = 500;

/// `getStarred2` (`element` "starred2") and `getStarred` ("starred"): the
/// caller's favourite artists and albums (newest star first) and songs.
pub async fn starred(call: &Call, element: &'static str) -> Answer {
    let db = &call.state.db;
    let user = call.user.id;
    let ids = |rows: Vec<(Uuid, _)>| rows.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    let artist_ids = ids(db.favourites_of(user, false, STARRED_MAX).await?);
    let album_ids = ids(db.favourites_of(user, true, STARRED_MAX).await?);
    let artists = artist_nodes(call, db.artist_entries_by_ids(&artist_ids).await?).await?;
    let albums = album_nodes(call, &db.album_entries(&album_ids).await?).await?;
    let page = archive_db::PageRequest { limit: Some(STARRED_SONGS_MAX), ..Default::default() };
    let songs = songs_nodes(call, &db.favourite_songs(user, &page).await?.items).await?;
    let result = Node::new().list("artist", artists).list("album", albums).list("song", songs);
    Ok(Node::new().child(element, result))
}

/// `getNowPlaying`: what every user of this node is playing now.
pub async fn now_playing(call: &Call) -> Answer {
    let mut entries = Vec::new();
    for (user, song, player, since) in call.state.apps.now_playing.current() {
        let (Some(user), Some(song)) = (call.state.db.user(user).await?, call.state.db.song(song).await?)
        else {
            continue;
        };
        let mut nodes = songs_nodes(call, std::slice::from_ref(&song)).await?;
        let entry = nodes
            .remove(0)
            .attr("username", user.email)
            .attr("minutesAgo", (since.as_secs() / 60) as i64)
            .attr("playerId", 0)
            .attr("playerName", player);
        entries.push(entry);
    }
    Ok(Node::new().child("nowPlaying", Node::new().list("entry", entries)))
}
