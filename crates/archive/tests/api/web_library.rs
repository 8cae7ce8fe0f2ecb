//! The library's pages over HTTP: sorting and filtering lists, the rating
//! on every song row, and songs whose file is not on this node.

use archive_db::{NewFileLocation, NewGenre, NewSong, Role};
use reqwest::StatusCode;

use crate::support::on_each_backend;
use crate::web::{Browser, hidden_csrf};

/// The titles of a page's song rows, in order.
fn titles(page: &str) -> Vec<String> {
    page.split(r#"<td class="title">"#)
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find("</a>").unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_songs_page_sorts_and_filters_by_genre_and_year_and_keeps_them_across_pages() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let jazz = tx.insert_genre(NewGenre { id: None, name: "Jazz".into() }).await.unwrap();
        let folk = tx.insert_genre(NewGenre { id: None, name: "Folk".into() }).await.unwrap();
        for (title, genre, year) in [
            ("Alpha", jazz.id, 1959),
            ("Bravo", folk.id, 1965),
            ("Charlie", jazz.id, 1965),
            ("Delta", jazz.id, 1970),
        ] {
            let song = NewSong {
                title: title.into(),
                genre_id: Some(genre),
                year: Some(year),
                ..Default::default()
            };
            tx.insert_song(song).await.unwrap();
        }
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        assert_eq!(titles(&home), ["Alpha", "Bravo", "Charlie", "Delta"], "by title by default");
        assert!(home.contains(r#"<option value="-title">Title, Z to A</option>"#));
        assert!(
            home.contains(&format!(r#"<option value="{}">Jazz</option>"#, jazz.id)),
            "genres are offered"
        );

        let reversed = browser.page("/?sort=-title").await;
        assert_eq!(titles(&reversed), ["Delta", "Charlie", "Bravo", "Alpha"]);
        assert!(reversed.contains(r#"<option value="-title" selected>"#), "the chosen sort stays chosen");

        let jazz_page = browser.page(&format!("/?genre={}", jazz.id)).await;
        assert_eq!(titles(&jazz_page), ["Alpha", "Charlie", "Delta"]);
        let jazz_1965 = browser.page(&format!("/?genre={}&year=1965", jazz.id)).await;
        assert_eq!(titles(&jazz_1965), ["Charlie"]);
        let none = browser.page("/?year=2001").await;
        assert!(titles(&none).is_empty() && none.contains("No songs here."));

        assert_eq!(browser.get("/?sort=loudness").await.status(), StatusCode::BAD_REQUEST);
        let bad_year = browser.get("/?year=soon").await;
        assert_eq!(bad_year.status(), StatusCode::BAD_REQUEST);
        assert!(bad_year.text().await.unwrap().contains("“soon” is not a year."));

        let albums = browser.page("/albums?sort=-created_at&year=1965").await;
        assert!(albums.contains("No albums from that year."));
        let artists = browser.page("/artists?sort=-name").await;
        assert!(artists.contains(r#"<option value="-name" selected>"#));
    })
    .await;
}

#[tokio::test]
async fn the_next_page_link_keeps_the_sort_and_filters() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        for n in 0..55 {
            let song = NewSong { title: format!("Song {n:02}"), year: Some(1999), ..Default::default() };
            tx.insert_song(song).await.unwrap();
        }
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        browser.log_in(&user.email).await;
        let first = browser.page("/?sort=-title&year=1999").await.replace("&#38;", "&amp;");
        assert_eq!(titles(&first).len(), 50);
        assert_eq!(titles(&first)[0], "Song 54");
        let at = first
            .find(r#"<a href="/?sort=-title&amp;year=1999&amp;cursor="#)
            .expect("a next link with the sort");
        let href = &first[at + 9..];
        let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
        let second = browser.page(&href).await;
        assert_eq!(titles(&second), ["Song 04", "Song 03", "Song 02", "Song 01", "Song 00"]);
    })
    .await;
}

#[tokio::test]
async fn a_song_is_rated_from_its_row_and_the_rating_shows_in_every_list() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let song =
            tx.insert_song(NewSong { title: "Strange Fruit".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        let csrf = hidden_csrf(&home);
        assert!(home.contains(&format!(r#"id="rating-{}""#, song.id)));
        let path = format!("/songs/{}/rating", song.id);
        let target = format!("rating-{}", song.id);

        let refused = browser.htmx_post(&path, &[("rating", "4")], None, &target).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "the CSRF header is needed");
        let rated = browser.htmx_post(&path, &[("rating", "4")], Some(&csrf), &target).await;
        assert_eq!(rated.status(), StatusCode::OK);
        let select = rated.text().await.unwrap();
        assert!(
            select.starts_with("<select") && select.contains(r#"<option value="4" selected>"#),
            "{select}"
        );
        assert_eq!(app.db().listening(user.id, song.id).await.unwrap().rating, Some(4));
        let home = browser.page("/").await;
        assert!(home.contains(r#"<option value="4" selected>"#), "the list shows the rating");

        let too_high = browser.htmx_post(&path, &[("rating", "7")], Some(&csrf), &target).await;
        assert_eq!(too_high.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.db().listening(user.id, song.id).await.unwrap().rating, Some(4), "nothing changed");

        let cleared = browser.htmx_post(&path, &[("rating", "")], Some(&csrf), &target).await;
        assert_eq!(cleared.status(), StatusCode::OK);
        assert_eq!(app.db().listening(user.id, song.id).await.unwrap().rating, None);
    })
    .await;
}

#[tokio::test]
async fn a_song_whose_file_is_not_on_this_node_is_listed_as_not_available_here() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let here = tx.insert_song(NewSong { title: "Here".into(), ..Default::default() }).await.unwrap();
        let elsewhere =
            tx.insert_song(NewSong { title: "Elsewhere".into(), ..Default::default() }).await.unwrap();
        let location = NewFileLocation {
            song_id: here.id,
            path: "/music/here.mp3".into(),
            file_size: 1,
            modified_at: None,
            source: archive_db::FileSource::Library,
        };
        tx.upsert_file_locations(&[location]).await.unwrap();
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        let row = |id: uuid::Uuid| {
            let at = home.find(&format!(r#"<tr data-song="{id}""#)).unwrap();
            home[at..at + home[at..].find("</tr>").unwrap()].to_owned()
        };
        let playable = row(here.id);
        assert!(
            playable.contains("data-playable")
                && playable.contains("data-play")
                && playable.contains("data-queue")
        );
        let absent = row(elsewhere.id);
        assert!(absent.contains("Not available here"), "{absent}");
        assert!(
            !absent.contains("data-playable")
                && !absent.contains("data-play")
                && !absent.contains("data-queue")
        );
        assert!(absent.contains("/playlists/picker?song="), "it can still go in a playlist");
    })
    .await;
}
