//! A song's page, editing songs, albums, artists and genres (moderators)
//! and deleting them (admins), and the first start's admin account.

use archive_db::{NewAlbum, NewArtist, NewFileLocation, NewGenre, NewSong, Role};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::support::{PASSWORD, on_each_backend};
use crate::web::{Browser, hidden_csrf};

#[tokio::test]
async fn a_songs_page_shows_what_is_known_and_where_it_is() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let artist =
            tx.insert_artist(NewArtist { name: "Nina Simone".into(), ..Default::default() }).await.unwrap();
        let song = NewSong {
            title: "Sinnerman".into(),
            artist_id: Some(artist.id),
            track_number: Some(5),
            year: Some(1965),
            duration_ms: Some(622_000),
            format: Some("flac".into()),
            sample_rate: Some(44_100),
            ..Default::default()
        };
        let song = tx.insert_song(song).await.unwrap();
        let location = NewFileLocation {
            song_id: song.id,
            path: "/music/nina/05 Sinnerman.flac".into(),
            file_size: 40_000_000,
            modified_at: None,
            source: archive_db::FileSource::Library,
        };
        tx.upsert_file_locations(&[location]).await.unwrap();
        tx.commit().await.unwrap();

        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        assert!(
            home.contains(&format!(r#"<a href="/songs/{}">Sinnerman</a>"#, song.id)),
            "titles link to the song"
        );
        let page = browser.page(&format!("/songs/{}", song.id)).await;
        for fact in [
            "<dt>Track</dt><dd>5</dd>",
            "<dt>Year</dt><dd>1965</dd>",
            "<dt>Length</dt><dd>10:22</dd>",
            "44100 Hz",
        ] {
            assert!(page.contains(fact), "{fact}");
        }
        assert!(
            page.contains(&format!("/api/v1/songs/{}/download", song.id)),
            "a file here can be downloaded"
        );
        assert!(!page.contains("/music/nina/"), "where the file lies is for moderators");
        assert!(!page.contains("Edit the song"), "users do not edit");

        let moderator = app.user(Role::Moderator).await;
        let mut browser = Browser::new(&app);
        browser.log_in(&moderator.email).await;
        let page = browser.page(&format!("/songs/{}", song.id)).await;
        assert!(page.contains("/music/nina/05 Sinnerman.flac") && page.contains("Edit the song"));
        assert!(!page.contains("Delete the song"), "only admins delete");
        assert_eq!(
            browser.get(&format!("/songs/{}", uuid::Uuid::new_v4())).await.status(),
            StatusCode::NOT_FOUND
        );
    })
    .await;
}

#[tokio::test]
async fn a_moderator_edits_a_song_and_names_typed_find_or_make_their_records() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let song = tx.insert_song(NewSong { title: "Untitled".into(), ..Default::default() }).await.unwrap();
        let existing = tx
            .insert_artist(NewArtist { name: "Alice Coltrane".into(), ..Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut refused = Browser::new(&app);
        let user_csrf = hidden_csrf(&refused.log_in(&user.email).await);
        let path = format!("/songs/{}", song.id);
        let tried = refused.post_form(&path, &[("csrf", &user_csrf), ("title", "Mine")]).await;
        assert_eq!(tried.status(), StatusCode::FORBIDDEN);

        let moderator = app.user(Role::Moderator).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&moderator.email).await);
        let form = [
            ("csrf", csrf.as_str()),
            ("title", "Journey in Satchidananda"),
            ("artist", "alice  coltrane"),
            ("album", "Journey in Satchidananda"),
            ("genre", "Spiritual Jazz"),
            ("track", "1"),
            ("disc", ""),
            ("year", "1971"),
        ];
        let saved = browser.post_form(&path, &form).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let song = app.db().song(song.id).await.unwrap().unwrap();
        assert_eq!(song.title, "Journey in Satchidananda");
        assert_eq!(song.artist_id, Some(existing.id), "an artist of that name is found, whatever its case");
        let album = app.db().album(song.album_id.expect("an album")).await.unwrap().unwrap();
        assert_eq!((album.artist_id, album.year), (Some(existing.id), Some(1971)));
        assert_eq!(
            album.id,
            archive_media::identity::album_id(Some("alice  coltrane"), "Journey in Satchidananda")
        );
        let genre = app.db().genre(song.genre_id.expect("a genre")).await.unwrap().unwrap();
        assert_eq!(
            genre.id,
            archive_media::identity::genre_id("Spiritual Jazz"),
            "the id an import would give"
        );
        assert_eq!((song.track_number, song.disc_number, song.year), (Some(1), None, Some(1971)));

        let bad = browser.post_form(&path, &[("csrf", &csrf), ("title", "X"), ("year", "soon")]).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.text().await.unwrap().contains("The year must be a whole number"));
        let empty = browser.post_form(&path, &[("csrf", &csrf), ("title", "  ")]).await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.db().song(song.id).await.unwrap().unwrap().title,
            "Journey in Satchidananda",
            "unchanged"
        );
        // Emptied fields clear the song's artist, album and genre.
        let cleared = browser.post_form(&path, &[("csrf", &csrf), ("title", "Bare")]).await;
        assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
        let bare = app.db().song(song.id).await.unwrap().unwrap();
        assert_eq!((bare.artist_id, bare.album_id, bare.genre_id), (None, None, None));
    })
    .await;
}

#[tokio::test]
async fn albums_artists_and_genres_are_edited_by_moderators_and_deleted_by_admins() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let artist = tx.insert_artist(NewArtist { name: "Can".into(), ..Default::default() }).await.unwrap();
        let other = tx.insert_artist(NewArtist { name: "Neu!".into(), ..Default::default() }).await.unwrap();
        let album = tx
            .insert_album(NewAlbum {
                title: "Tago Mago".into(),
                artist_id: Some(artist.id),
                ..Default::default()
            })
            .await
            .unwrap();
        let genre = tx.insert_genre(NewGenre { id: None, name: "Krautrock".into() }).await.unwrap();
        let song = NewSong {
            title: "Halleluhwah".into(),
            album_id: Some(album.id),
            genre_id: Some(genre.id),
            ..Default::default()
        };
        let song = tx.insert_song(song).await.unwrap();
        tx.commit().await.unwrap();

        let moderator = app.user(Role::Moderator).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&moderator.email).await);
        let page = browser.page(&format!("/albums/{}", album.id)).await;
        assert!(page.contains("Edit the album") && !page.contains("Delete the album"));
        let saved = browser
            .post_form(
                &format!("/albums/{}", album.id),
                &[("csrf", &csrf), ("title", "Tago Mago"), ("artist", "Can"), ("year", "1971")],
            )
            .await;
        assert_eq!(saved.headers()[LOCATION], format!("/albums/{}", album.id).as_str());
        assert_eq!(app.db().album(album.id).await.unwrap().unwrap().year, Some(1971));

        let artist_path = format!("/artists/{}", artist.id);
        let renamed = browser
            .post_form(&artist_path, &[("csrf", &csrf), ("name", "The Can"), ("biography", "Cologne.")])
            .await;
        assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
        assert!(browser.page(&artist_path).await.contains("Cologne."));
        let clash = browser.post_form(&artist_path, &[("csrf", &csrf), ("name", "neu!")]).await;
        assert_eq!(clash.status(), StatusCode::CONFLICT);
        assert!(clash.text().await.unwrap().contains("Another artist has that name."));
        assert_eq!(app.db().artist(other.id).await.unwrap().unwrap().name, "Neu!");

        let genre_path = format!("/genres/{}", genre.id);
        assert!(browser.page(&genre_path).await.contains("Edit the genre"));
        browser.post_form(&genre_path, &[("csrf", &csrf), ("name", "Kosmische")]).await;
        assert_eq!(app.db().genre(genre.id).await.unwrap().unwrap().name, "Kosmische");
        let refused = browser.post_form(&format!("{genre_path}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "moderators do not delete");

        let admin = app.user(Role::Admin).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
        assert!(browser.page(&genre_path).await.contains("Delete the genre"));
        for (path, then) in [
            (format!("{genre_path}/delete"), "/genres"),
            (format!("/albums/{}/delete", album.id), "/albums"),
            (format!("{artist_path}/delete"), "/artists"),
        ] {
            let deleted = browser.post_form(&path, &[("csrf", &csrf)]).await;
            assert_eq!(deleted.headers()[LOCATION], then, "{path}");
        }
        let kept = app.db().song(song.id).await.unwrap().expect("songs stay");
        assert_eq!((kept.album_id, kept.genre_id), (None, None));
        let deleted = browser.post_form(&format!("/songs/{}/delete", song.id), &[("csrf", &csrf)]).await;
        assert_eq!(deleted.headers()[LOCATION], "/");
        assert!(app.db().song(song.id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn on_a_first_start_the_login_page_offers_to_create_the_first_admin() {
    on_each_backend(|app| async move {
        let mut browser = Browser::new(&app);
        let login = browser.get("/login").await;
        assert_eq!(login.headers()[LOCATION], "/setup", "no users yet");
        let page = browser.page("/setup").await;
        assert!(page.contains("Create the admin account"));
        let csrf = hidden_csrf(&page);
        let forged = browser
            .post_form(
                "/setup",
                &[("csrf", "forged"), ("name", "Eve"), ("email", "eve@example.org"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let weak = browser
            .post_form(
                "/setup",
                &[("csrf", &csrf), ("name", "Ada"), ("email", "ada@example.org"), ("password", "short")],
            )
            .await;
        assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(weak.text().await.unwrap().contains("Password must have at least 8 characters."));

        let made = browser
            .post_form(
                "/setup",
                &[("csrf", &csrf), ("name", "Ada"), ("email", "ada@example.org"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(made.headers()[LOCATION], "/");
        assert!(browser.page("/").await.contains(r#"href="/admin/users""#), "logged in as an admin");
        assert_eq!(app.db().user_by_email("ada@example.org").await.unwrap().unwrap().role, Role::Admin);

        // Once anyone exists, the set-up is closed.
        let mut late = Browser::new(&app);
        assert_eq!(late.get("/setup").await.headers()[LOCATION], "/login");
        let login = late.page("/login").await;
        let csrf = hidden_csrf(&login);
        let again = late
            .post_form(
                "/setup",
                &[("csrf", &csrf), ("name", "Mallory"), ("email", "m@example.org"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(again.status(), StatusCode::FORBIDDEN);
        assert!(app.db().user_by_email("m@example.org").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn editing_a_compilations_track_keeps_it_on_its_album() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let various = tx
            .insert_artist(NewArtist { name: "Various Artists".into(), ..Default::default() })
            .await
            .unwrap();
        let nina =
            tx.insert_artist(NewArtist { name: "Nina Simone".into(), ..Default::default() }).await.unwrap();
        let album =
            NewAlbum { title: "Jazz Greats".into(), artist_id: Some(various.id), ..Default::default() };
        let album = tx.insert_album(album).await.unwrap();
        let song = NewSong {
            title: "Sinnerman".into(),
            artist_id: Some(nina.id),
            album_id: Some(album.id),
            ..Default::default()
        };
        let song = tx.insert_song(song).await.unwrap();
        tx.commit().await.unwrap();
        let moderator = app.user(Role::Moderator).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&moderator.email).await);
        let form = [
            ("csrf", csrf.as_str()),
            ("title", "Sinnerman"),
            ("artist", "Nina Simone"),
            ("album", "jazz greats"),
            ("track", "7"),
        ];
        assert_eq!(
            browser.post_form(&format!("/songs/{}", song.id), &form).await.status(),
            StatusCode::SEE_OTHER
        );
        let edited = app.db().song(song.id).await.unwrap().unwrap();
        assert_eq!(
            (edited.album_id, edited.track_number),
            (Some(album.id), Some(7)),
            "same album, new track number"
        );
    })
    .await;
}

#[tokio::test]
async fn a_slave_without_accounts_does_not_offer_to_create_an_admin() {
    let app = crate::support::App::start(
        archive_db::Backend::Sqlite,
        &[("ARCHIVE_ROLE", "slave".into()), ("SYNC_ENABLED", "false".into())],
    )
    .await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/setup").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("its accounts come from the master"));
    app.stop().await;
}
