//! Playlists on the pages over HTTP: making one, adding songs from the
//! picker, reordering and removing, editing, and who may see and change it.

use archive_db::{NewSong, PageRequest, Role};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use uuid::Uuid;

use crate::support::{App, on_each_backend};
use crate::web::{Browser, hidden_csrf};

async fn songs(app: &App, titles: &[&str]) -> Vec<Uuid> {
    let mut tx = app.db().begin().await.unwrap();
    let mut ids = Vec::new();
    for title in titles {
        ids.push(tx.insert_song(NewSong { title: (*title).into(), ..Default::default() }).await.unwrap().id);
    }
    tx.commit().await.unwrap();
    ids
}

/// The song ids of a playlist, in order.
async fn order(app: &App, playlist: Uuid) -> Vec<Uuid> {
    let page = PageRequest { limit: Some(500), ..Default::default() };
    app.db().playlist_entries(playlist, &page).await.unwrap().items.into_iter().map(|e| e.song_id).collect()
}

/// The id in a `/playlists/{id}` redirect.
fn created_id(response: &reqwest::Response) -> Uuid {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap();
    location.strip_prefix("/playlists/").expect("a playlist's page").parse().unwrap()
}

#[tokio::test]
async fn a_user_makes_a_playlist_adds_songs_from_the_picker_and_reorders_them() {
    on_each_backend(|app| async move {
        let ids = songs(&app, &["One", "Two", "Three"]).await;
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        let csrf = hidden_csrf(&home);
        assert!(home.contains(r#"href="/playlists""#), "the navigation links the playlists");

        // A new playlist from the picker, with its first song.
        let picker = browser.page(&format!("/playlists/picker?song={}", ids[0])).await;
        assert!(
            picker.starts_with(r#"<div id="picker-list">"#) && picker.contains("You have no playlists yet.")
        );
        let made = browser
            .htmx_post(
                "/playlists",
                &[("csrf", &csrf), ("name", "Road trip"), ("song_id", &ids[0].to_string())],
                None,
                "picker-list",
            )
            .await;
        assert_eq!(made.status(), StatusCode::OK);
        assert!(made.text().await.unwrap().contains("Added to Road trip."));
        let playlist = app.db().playlists(&Default::default(), &PageRequest::default()).await.unwrap().items;
        assert_eq!(playlist.len(), 1);
        let playlist = playlist[0].id;

        // The picker now offers it; a song is added with the CSRF header.
        let picker = browser.page(&format!("/playlists/picker?song={}", ids[1])).await;
        assert!(picker.contains(&format!(r#"hx-post="/playlists/{playlist}/entries""#)));
        let add = format!("/playlists/{playlist}/entries");
        for song in [ids[1], ids[2]] {
            let added =
                browser.htmx_post(&add, &[("song_id", &song.to_string())], Some(&csrf), "picker-list").await;
            assert_eq!(added.status(), StatusCode::OK);
        }
        let forged = browser.htmx_post(&add, &[("song_id", &ids[0].to_string())], None, "picker-list").await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token, no change");
        assert_eq!(order(&app, playlist).await, ids);

        let page = browser.page(&format!("/playlists/{playlist}")).await;
        assert!(
            page.contains("<h1>Road trip</h1>") && page.contains("3 songs") && page.contains("Play playlist")
        );
        assert!(page.contains(r#"draggable="true""#), "the owner can drag to reorder");

        // Move "Three" to the top, then remove "One".
        let entries = app.db().playlist_entries(playlist, &PageRequest::default()).await.unwrap().items;
        let moved = browser
            .post_form(
                &format!("/playlists/{playlist}/entries/{}/move", entries[2].id),
                &[("csrf", &csrf), ("position", "0"), ("cursor", "")],
            )
            .await;
        assert_eq!(moved.status(), StatusCode::SEE_OTHER);
        assert_eq!(order(&app, playlist).await, [ids[2], ids[0], ids[1]]);
        let removed = browser
            .post_form(&format!("/playlists/{playlist}/entries/{}/delete", entries[0].id), &[("csrf", &csrf)])
            .await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        assert_eq!(order(&app, playlist).await, [ids[2], ids[1]]);
        let page = browser.page(&format!("/playlists/{playlist}")).await;
        let (three, two) = (page.find(">Three</a></td>").unwrap(), page.find(">Two</a></td>").unwrap());
        assert!(three < two, "the page shows the new order");
        assert!(page.contains(r#"aria-label="Move Three up" disabled"#), "the first cannot move up");
    })
    .await;
}

#[tokio::test]
async fn the_owner_renames_describes_publishes_and_deletes_a_playlist() {
    on_each_backend(|app| async move {
        let owner = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&owner.email).await;
        let csrf = hidden_csrf(&home);
        let made =
            browser.post_form("/playlists", &[("csrf", &csrf), ("name", "Draft"), ("description", "")]).await;
        let id = created_id(&made);
        assert!(!app.db().playlist(id).await.unwrap().unwrap().is_public, "private unless ticked");
        let empty = browser.post_form("/playlists", &[("csrf", &csrf), ("name", "  ")]).await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let saved = browser
            .post_form(
                &format!("/playlists/{id}"),
                &[("csrf", &csrf), ("name", "Sunday"), ("description", "Slow songs."), ("is_public", "on")],
            )
            .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let playlist = app.db().playlist(id).await.unwrap().unwrap();
        assert_eq!(
            (playlist.name.as_str(), playlist.description.as_deref(), playlist.is_public),
            ("Sunday", Some("Slow songs."), true)
        );
        let list = browser.page("/playlists").await;
        assert!(
            list.contains(&format!(r#"<a href="/playlists/{id}">Sunday</a>"#)) && list.contains("Everyone")
        );

        let forged = browser.post_form(&format!("/playlists/{id}/delete"), &[("csrf", "forged")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let deleted = browser.post_form(&format!("/playlists/{id}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(deleted.headers()[LOCATION], "/playlists");
        assert!(app.db().playlist(id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn others_see_a_public_playlist_without_changing_it_and_never_see_a_private_one() {
    on_each_backend(|app| async move {
        let ids = songs(&app, &["Song"]).await;
        let owner = app.user(Role::User).await;
        let mut owner_browser = Browser::new(&app);
        let csrf = hidden_csrf(&owner_browser.log_in(&owner.email).await);
        let public = created_id(
            &owner_browser
                .post_form("/playlists", &[("csrf", &csrf), ("name", "Open"), ("is_public", "on")])
                .await,
        );
        let private =
            created_id(&owner_browser.post_form("/playlists", &[("csrf", &csrf), ("name", "Closed")]).await);

        let other = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let other_csrf = hidden_csrf(&browser.log_in(&other.email).await);
        let list = browser.page("/playlists").await;
        assert!(list.contains(">Open</a>") && !list.contains(">Closed</a>"));
        let page = browser.page(&format!("/playlists/{public}")).await;
        assert!(!page.contains("Edit the playlist") && !page.contains(r#"draggable="true""#));
        assert_eq!(browser.get(&format!("/playlists/{private}")).await.status(), StatusCode::NOT_FOUND);
        let picker = browser.page(&format!("/playlists/picker?song={}", ids[0])).await;
        assert!(!picker.contains(&public.to_string()), "the picker offers only one's own playlists");

        let add = browser
            .htmx_post(
                &format!("/playlists/{public}/entries"),
                &[("song_id", &ids[0].to_string())],
                Some(&other_csrf),
                "picker-list",
            )
            .await;
        assert_eq!(add.status(), StatusCode::FORBIDDEN);
        let rename = browser
            .post_form(&format!("/playlists/{public}"), &[("csrf", &other_csrf), ("name", "Mine now")])
            .await;
        assert_eq!(rename.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.db().playlist(public).await.unwrap().unwrap().name, "Open");

        // An admin may change anyone's.
        let admin = app.user(Role::Admin).await;
        let mut admin_browser = Browser::new(&app);
        let admin_csrf = hidden_csrf(&admin_browser.log_in(&admin.email).await);
        assert!(admin_browser.page(&format!("/playlists/{private}")).await.contains("Edit the playlist"));
        let renamed = admin_browser
            .post_form(&format!("/playlists/{private}"), &[("csrf", &admin_csrf), ("name", "Tidied")])
            .await;
        assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    })
    .await;
}
