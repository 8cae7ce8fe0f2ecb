//! Lists and search: `getAlbumList2` and `getAlbumList` (every type),
//! `getRandomSongs`, `search3` and `search2`. An empty `search3` query lists
//! everything, a page per kind, in a stable order: apps copy their offline
//! library that way.

use archive_db::{AlbumOrder, SearchRequest};

use super::answer::Node;
use super::browse::{album_nodes, artist_nodes, songs_nodes};
use super::error::SubsonicError;
use super::{Answer, Call};

/// `getAlbumList2` (`element` "albumList2") and `getAlbumList` ("albumList").
pub async fn album_list(call: &Call, element: &'static str) -> Answer {
    let params = &call.params;
    let kind = params.required("type")?;
    let user = call.user.id;
    let order = match kind {
        "newest" => AlbumOrder::Newest,
        "alphabeticalByName" => AlbumOrder::ByName,
        "alphabeticalByArtist" => AlbumOrder::ByArtist,
        "random" => AlbumOrder::Random,
        "recent" => AlbumOrder::Recent(user),
        "frequent" => AlbumOrder::Frequent(user),
        "highest" => AlbumOrder::Highest(user),
        "starred" => AlbumOrder::Starred(user),
        "byYear" => AlbumOrder::ByYear {
            from: params.int("fromYear")?.unwrap_or(0),
            to: params.int("toYear")?.unwrap_or(9999),
        },
        "byGenre" => AlbumOrder::ByGenre(params.required("genre")?.to_owned()),
        other => {
            return Err(SubsonicError::BadParameter {
                name: "type",
                message: format!("unknown list type {other}"),
            });
        }
    };
    let size = params.int("size")?.unwrap_or(10);
    let offset = params.int("offset")?.unwrap_or(0);
    let albums = call.state.db.album_list(&order, size, offset).await?;
    let nodes = album_nodes(call, &albums)
        .await?
        .into_iter()
        .zip(&albums)
        .map(|(node, a)| node.attr("isDir", true).attr("title", a.album.title.clone()))
        .collect();
    Ok(Node::new().child(element, Node::new().list("album", nodes)))
}

/// `getRandomSongs`: `size` songs (10 by default, 500 at most), optionally
/// of a `genre` and between `fromYear` and `toYear`.
pub async fn random_songs(call: &Call) -> Answer {
    let params = &call.params;
    let size = params.int("size")?.unwrap_or(10);
    let songs = call
        .state
        .db
        .random_songs(size, params.get("genre"), params.int("fromYear")?, params.int("toYear")?)
        .await?;
    let nodes = songs_nodes(call, &songs).await?;
    Ok(Node::new().child("randomSongs", Node::new().list("song", nodes)))
}

/// Results per kind at most for a search with words (what the search index pages by).
const SEARCH_PAGE_MAX: i64 = archive_db::SEARCH_LIMIT_MAX;

/// `search3` (`element` "searchResult3") and `search2` ("searchResult2").
pub async fn search(call: &Call, element: &'static str) -> Answer {
    let params = &call.params;
    let query = params.get("query").unwrap_or("").trim();
    // Some apps send two quotes for "everything".
    let query = if query == "\"\"" { "" } else { query };
    let count = |name: &'static str| -> Result<(i64, i64), SubsonicError> {
        let count = params.int(&format!("{name}Count"))?.unwrap_or(20).clamp(0, 500);
        let offset = params.int(&format!("{name}Offset"))?.unwrap_or(0).max(0);
        Ok((count, offset))
    };
    let ((artists, artist_offset), (albums, album_offset), (songs, song_offset)) =
        (count("artist")?, count("album")?, count("song")?);
    let db = &call.state.db;
    let (artist_nodes, album_nodes, song_nodes) = if query.is_empty() {
        let artist_list =
            if artists > 0 { db.artist_entries_page(artists, artist_offset).await? } else { Vec::new() };
        let album_list = if albums > 0 {
            db.album_list(&AlbumOrder::ByName, albums, album_offset).await?
        } else {
            Vec::new()
        };
        let song_list = if songs > 0 { db.songs_in_id_order(songs, song_offset).await? } else { Vec::new() };
        (
            artist_nodes(call, artist_list).await?,
            album_nodes(call, &album_list).await?,
            songs_nodes(call, &song_list).await?,
        )
    } else {
        let request = |limit: i64, offset: i64| SearchRequest {
            query: query.to_owned(),
            limit: limit.clamp(1, SEARCH_PAGE_MAX),
            offset: offset.min(archive_db::SEARCH_OFFSET_MAX),
        };
        let artist_ids: Vec<uuid::Uuid> = match artists {
            0 => Vec::new(),
            n => {
                db.search_artists(&request(n, artist_offset)).await?.items.into_iter().map(|a| a.id).collect()
            }
        };
        let album_ids: Vec<uuid::Uuid> = match albums {
            0 => Vec::new(),
            n => db.search_albums(&request(n, album_offset)).await?.items.into_iter().map(|a| a.id).collect(),
        };
        let song_list = match songs {
            0 => Vec::new(),
            n => db.search_songs(&request(n, song_offset)).await?.items,
        };
        (
            artist_nodes(call, db.artist_entries_by_ids(&artist_ids).await?).await?,
            album_nodes(call, &db.album_entries(&album_ids).await?).await?,
            songs_nodes(call, &song_list).await?,
        )
    };
    let result = Node::new().list("artist", artist_nodes).list("album", album_nodes).list("song", song_nodes);
    Ok(Node::new().child(element, result))
}

/// `getSongsByGenre`: `count` songs (10 by default, 500 at most) of a genre
/// from `offset`, by title.
pub async fn songs_by_genre(call: &Call) -> Answer {
    let params = &call.params;
    let genre = params.required("genre")?;
    let db = &call.state.db;
    let songs = match db.genre_id_by_name(genre).await? {
        None => Vec::new(),
        Some(genre_id) => {
            let filter = archive_db::SongFilter { genre_id: Some(genre_id), ..Default::default() };
            let page = archive_db::PageRequest {
                limit: Some(params.int("count")?.unwrap_or(10).clamp(1, 500)),
                offset: Some(params.int("offset")?.unwrap_or(0).max(0)),
                ..Default::default()
            };
            db.songs(&filter, &page).await?.items
        }
    };
    let nodes = songs_nodes(call, &songs).await?;
    Ok(Node::new().child("songsByGenre", Node::new().list("song", nodes)))
}
