//! The database layer's contract, on SQLite and on PostgreSQL.

mod capture;
mod checkpoints;
mod commits;
mod compaction;
mod connect;
mod jobs;
mod lists;
mod locations;
mod log_order;
mod references;
mod schema;
mod search;
mod shared_state;
mod sync_apply;
mod tidy;
mod transfers;

use archive_db::{Db, NewAlbum, NewArtist, NewGenre, NewPlaylist, NewSong, NewUser, Role, Tx};
use uuid::Uuid;

/// Where an imported file of `song_id` is (100 bytes, from a library).
pub fn location(song_id: Uuid, path: &str) -> archive_db::NewFileLocation {
    archive_db::NewFileLocation {
        song_id,
        path: path.into(),
        file_size: 100,
        modified_at: None,
        source: archive_db::FileSource::Library,
    }
}

/// One row in every synced table, with the parents they need.
pub struct Fixture {
    pub user: Uuid,
    pub artist: Uuid,
    pub genre: Uuid,
    pub album: Uuid,
    pub song: Uuid,
    pub playlist: Uuid,
    pub entry: Uuid,
    pub play: Uuid,
}

pub async fn user(tx: &mut Tx, email: &str, role: Role) -> Uuid {
    tx.insert_user(NewUser { email: email.into(), name: "Test".into(), role, password_hash: "x".into() })
        .await
        .unwrap()
        .id
}

pub async fn fixture(db: &Db) -> Fixture {
    let mut tx = db.begin().await.unwrap();
    let user = user(&mut tx, "owner@example.org", Role::User).await;
    let artist =
        tx.insert_artist(NewArtist { name: "Nina Simone".into(), ..Default::default() }).await.unwrap().id;
    let genre = tx.insert_genre(NewGenre { name: "Jazz".into(), ..Default::default() }).await.unwrap().id;
    let album = tx
        .insert_album(NewAlbum {
            title: "Pastel Blues".into(),
            artist_id: Some(artist),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    let song = tx
        .insert_song(NewSong {
            title: "Sinnerman".into(),
            artist_id: Some(artist),
            album_id: Some(album),
            genre_id: Some(genre),
            track_number: Some(5),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    let playlist = tx
        .insert_playlist(NewPlaylist {
            owner_id: user,
            name: "Mine".into(),
            description: None,
            is_public: false,
        })
        .await
        .unwrap()
        .id;
    let entry = tx.add_playlist_entry(playlist, song, None).await.unwrap().id;
    tx.set_favourite(user, song, true).await.unwrap();
    let play = tx.record_play(user, song, archive_db::now()).await.unwrap().id;
    tx.set_shared_setting("site_name", "\"Archive\"").await.unwrap();
    tx.commit().await.unwrap();
    Fixture { user, artist, genre, album, song, playlist, entry, play }
}

pub use archive_testkit::settled_changes;
