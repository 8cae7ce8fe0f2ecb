//! Marks and plays: `star` and `unstar`, `setRating`, `scrobble`,
//! `getStarred2` and `getStarred`, `getNowPlaying`. They are the same
//! writes as the JSON API's (a favourite, a rating, a play), made in the
//! caller's name, so a slave syncs them to its master like any other.
//!
//! Archive keeps favourites for songs: `star` with `albumId` or `artistId`
//! is refused with a message (error 0) until albums and artists can be
//! starred in the synced data.

use uuid::Uuid;

use super::answer::Node;
use super::browse::songs_nodes;
use super::error::SubsonicError;
use super::{Answer, Call};
use crate::services::library::write_as;

/// `star` (`favourite` true) and `unstar`: every `id` given (repeatable).
pub async fn star(call: &Call, favourite: bool) -> Answer {
    if call.params.get("albumId").is_some() || call.params.get("artistId").is_some() {
        return Err(SubsonicError::Generic(
            "Archive keeps favourites for songs: star the songs of the album or artist".into(),
        ));
    }
    let ids = song_ids(call, "id")?;
    if ids.is_empty() {
        return Err(SubsonicError::MissingParameter("id"));
    }
    let user = call.user.id;
    for id in ids {
        call.state.db.song(id).await?.ok_or(SubsonicError::NotFound("song"))?;
        write_as!(call.state, user, |tx| tx.set_favourite(user, id, favourite));
    }
    Ok(Node::new())
}

/// Every value of the repeatable parameter `name` as a song id.
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
const STARRED_MAX: i64 = 500;

/// `getStarred2` (`element` "starred2") and `getStarred` ("starred"): the
/// caller's favourite songs.
pub async fn starred(call: &Call, element: &'static str) -> Answer {
    let page = archive_db::PageRequest { limit: Some(STARRED_MAX), ..Default::default() };
    let songs = call.state.db.favourite_songs(call.user.id, &page).await?.items;
    let nodes = songs_nodes(call, &songs).await?.into_iter().map(|n| n.attr("starred", true)).collect();
    let result = Node::new().list("artist", Vec::new()).list("album", Vec::new()).list("song", nodes);
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
