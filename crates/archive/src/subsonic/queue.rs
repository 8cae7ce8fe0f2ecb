//! `getPlayQueue` and `savePlayQueue` (a user's queue, kept on this node so
//! that another app carries on where one stopped), and `getLyricsBySongId`
//! (the lyrics a song's file carries in its tags).

use archive_media::embedded_lyrics;

use super::answer::Node;
use super::browse::songs_nodes;
use super::error::SubsonicError;
use super::{Answer, Call};

/// `getPlayQueue`: the caller's saved queue, or an empty answer if none.
pub async fn get(call: &Call) -> Answer {
    let Some(queue) = call.state.db.play_queue(call.user.id).await? else { return Ok(Node::new()) };
    let songs = call.state.db.songs_by_ids(&queue.song_ids).await?;
    let entries = songs_nodes(call, &songs).await?;
    let node = Node::new()
        .maybe("current", queue.current_id.map(|id| id.to_string()))
        .attr("position", queue.position_ms)
        .attr("username", call.user.email.clone())
        .attr("changed", queue.changed_at.to_rfc3339())
        .attr("changedBy", queue.changed_by)
        .list("entry", entries);
    Ok(Node::new().child("playQueue", node))
}

/// `savePlayQueue`: the songs `id` (repeatable; none clears the queue),
/// the one playing (`current`, one of them) and where in it (`position`, ms).
pub async fn save(call: &Call) -> Answer {
    let ids = call.params.ids("id")?;
    let current = match call.params.get("current") {
        None | Some("") => None,
        Some(_) => Some(call.params.id("current")?),
    };
    if current.is_some_and(|c| !ids.contains(&c)) {
        return Err(SubsonicError::BadParameter {
            name: "current",
            message: "must be one of the queue's songs".into(),
        });
    }
    let found = call.state.db.songs_by_ids(&ids).await?;
    if found.len() != ids.len() {
        return Err(SubsonicError::NotFound("song"));
    }
    let position = call.params.int("position")?.unwrap_or(0);
    let app = call.params.get("c").unwrap_or("an app");
    let mut tx = call.state.db.begin().await?;
    tx.save_play_queue(call.user.id, &ids, current, position, app).await?;
    tx.commit().await?;
    Ok(Node::new())
}

/// `getLyricsBySongId` (OpenSubsonic `songLyrics`): the file's embedded
/// lyrics, unsynchronised, as one line per line; none when the file has
/// none or is not on this node.
pub async fn lyrics(call: &Call) -> Answer {
    let id = call.params.id("id")?;
    let song = call.state.db.song(id).await?.ok_or(SubsonicError::NotFound("song"))?;
    let path = crate::api::stream::located_file(&call.state, &song)
        .await
        .map_err(|e| SubsonicError::Generic(e.message))?
        .map(|(path, _)| path);
    let text = match path {
        Some(path) => tokio::task::spawn_blocking(move || embedded_lyrics(&path))
            .await
            .map_err(|_| SubsonicError::Internal)?
            .unwrap_or_else(|e| {
                tracing::info!(song = %id, error = %e, "lyrics could not be read");
                None
            }),
        None => None,
    };
    let lists = match text {
        None => Vec::new(),
        Some(text) => {
            let lines = text.lines().map(|line| Node::new().text(line)).collect();
            vec![Node::new().attr("lang", "und").attr("synced", false).list("line", lines)]
        }
    };
    Ok(Node::new().child("lyricsList", Node::new().list("structuredLyrics", lists)))
}
