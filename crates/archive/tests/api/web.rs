//! The web pages over HTTP: logging in and out with a session cookie and
//! CSRF tokens, the songs page and its search, assets, and the JSON API
//! called with the session.

use archive_db::{NewAlbum, NewArtist, NewGenre, NewSong, Role};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::support::{App, PASSWORD, on_each_backend};

/// A browser without a cookie jar: cookies are carried by hand, redirects
/// are not followed, so the tests see each answer.
pub(crate) struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(app: &App) -> Browser {
        let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &app.ca_pem {
            client = client.tls_certs_only([reqwest::Certificate::from_pem(pem).unwrap()]);
        }
        let client = client.build().unwrap();
        Browser { client, base: app.base.clone(), cookies: Vec::new() }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// Takes the cookies an answer sets (an empty value deletes one).
    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Opens the login page and logs in; returns the home page's HTML.
    pub async fn log_in(&mut self, email: &str) -> String {
        let page = self.get("/login").await.text().await.unwrap();
        let csrf = hidden_csrf(&page);
        let response =
            self.post_form("/login", &[("email", email), ("password", PASSWORD), ("csrf", &csrf)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/");
        let home = self.get("/").await;
        assert_eq!(home.status(), StatusCode::OK);
        home.text().await.unwrap()
    }

    /// A request as htmx makes it from a page: the form body, the CSRF
    /// header (when given) and `HX-Target`.
    pub async fn htmx_post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        csrf: Option<&str>,
        target: &str,
    ) -> reqwest::Response {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("HX-Request", "true")
            .header("HX-Target", target)
            .body(body);
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request.send().await.unwrap()
    }

    /// A page's HTML, asserting it answered 200.
    pub async fn page(&mut self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }
}

/// The value of the first `name="csrf"` hidden field of a page.
pub(crate) fn hidden_csrf(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("the page has a CSRF field");
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn pages_send_a_visitor_without_a_session_to_the_login_page() {
    on_each_backend(|app| async move {
        app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let response = browser.get("/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/login");
        let login = browser.get("/login").await;
        assert_eq!(login.status(), StatusCode::OK);
        let html = login.text().await.unwrap();
        assert!(
            html.contains(r#"<label for="email">Email</label>"#)
                && html.contains(r#"<label for="password">"#)
        );
    })
    .await;
}

#[tokio::test]
async fn logging_in_sets_an_http_only_same_site_session_and_a_wrong_password_does_not() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.get("/login").await.text().await.unwrap());

        let wrong = browser
            .post_form("/login", &[("email", &user.email), ("password", "nope"), ("csrf", &csrf)])
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(browser.cookie("archive_session").is_none());
        assert!(wrong.text().await.unwrap().contains("Wrong email or password."));

        let forged = browser
            .post_form("/login", &[("email", &user.email), ("password", PASSWORD), ("csrf", "forged")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a login form without its CSRF token is refused");
        assert!(browser.cookie("archive_session").is_none());

        let right = browser
            .post_form("/login", &[("email", &user.email), ("password", PASSWORD), ("csrf", &csrf)])
            .await;
        assert_eq!(right.status(), StatusCode::SEE_OTHER);
        let set: Vec<&str> =
            right.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
        let session = set.iter().find(|c| c.starts_with("archive_session=")).expect("a session cookie");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(session.contains(attribute), "{session}");
        }
        assert!(browser.cookie("archive_session").is_some());
    })
    .await;
}

#[tokio::test]
async fn the_home_page_lists_songs_with_their_artist_and_searches_them() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let artist =
            tx.insert_artist(NewArtist { name: "Nina Simone".into(), ..Default::default() }).await.unwrap();
        for title in ["Feeling Good", "Sinnerman", "<script>alert(1)</script>"] {
            let song = NewSong {
                title: title.into(),
                artist_id: Some(artist.id),
                duration_ms: Some(185_000),
                ..Default::default()
            };
            tx.insert_song(song).await.unwrap();
        }
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        assert!(home.contains("Feeling Good") && home.contains("Sinnerman") && home.contains("Nina Simone"));
        assert!(home.contains("3:05"), "durations are shown as minutes and seconds");
        assert!(!home.contains("<script>alert(1)</script>"), "titles are escaped");
        assert!(home.contains("&#60;script&#62;") || home.contains("&lt;script&gt;"));
        assert!(home.contains(r#"<audio id="audio""#), "every page has the player");

        // Instant search asks for the list alone.
        let found = browser
            .client
            .get(format!("{}/?q=sinner", browser.base))
            .header(COOKIE, browser.cookie_header())
            .header("HX-Request", "true")
            .header("HX-Target", "song-list")
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), StatusCode::OK);
        let list = found.text().await.unwrap();
        assert!(list.starts_with(r#"<section id="song-list""#), "{list}");
        assert!(list.contains("Sinnerman") && !list.contains("Feeling Good"));
        let none = browser.get("/?q=zzzz").await.text().await.unwrap();
        assert!(none.contains("No song matches"));
    })
    .await;
}

#[tokio::test]
async fn the_api_takes_the_session_cookie_but_changes_need_the_csrf_token() {
    on_each_backend(|app| async move {
        let user = app.user(Role::Moderator).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        let csrf = hidden_csrf(&home);
        let session = browser.cookie_header();
        let api = format!("{}/api/v1/artists", app.base);

        let listed = browser.client.get(&api).header(COOKIE, &session).send().await.unwrap();
        assert_eq!(listed.status(), StatusCode::OK, "reading with the cookie is allowed");
        let refused = browser
            .client
            .post(&api)
            .header(COOKIE, &session)
            .json(&json!({"name": "Can"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "a change without the CSRF header is refused");
        let created = browser
            .client
            .post(&api)
            .header(COOKIE, &session)
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"name": "Can"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    })
    .await;
}

#[tokio::test]
async fn logging_out_needs_the_csrf_token_and_ends_the_session() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        let session = browser.cookie("archive_session").unwrap();

        let forged = browser.post_form("/logout", &[("csrf", "forged")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(browser.get("/").await.status(), StatusCode::OK, "still logged in");

        let out = browser.post_form("/logout", &[("csrf", &hidden_csrf(&home))]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert!(browser.cookie("archive_session").is_none(), "the cookie is cleared");
        // The old session no longer opens pages or the API.
        browser.cookies.push(("archive_session".into(), session));
        assert_eq!(browser.get("/").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(browser.get("/api/v1/songs").await.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn assets_come_from_the_binary_with_long_cache_lifetimes_and_pages_are_never_cached() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        let at = home.find("/assets/app.js?v=").expect("the page links its script");
        let link = &home[at..at + home[at..].find('"').unwrap()];
        let script = browser.get(link).await;
        assert_eq!(script.status(), StatusCode::OK);
        assert_eq!(script.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert!(script.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
        assert_eq!(browser.get("/assets/htmx-2.0.11.min.js").await.status(), StatusCode::OK);
        assert_eq!(browser.get("/assets/nothing.js").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(browser.get("/").await.headers()[CACHE_CONTROL], "no-store");
    })
    .await;
}

#[tokio::test]
async fn artists_albums_and_genres_have_list_and_detail_pages() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let artist = tx
            .insert_artist(NewArtist {
                name: "Alice Coltrane".into(),
                biography: Some("Harpist.".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let album = tx
            .insert_album(NewAlbum {
                title: "Journey in Satchidananda".into(),
                artist_id: Some(artist.id),
                year: Some(1971),
                ..Default::default()
            })
            .await
            .unwrap();
        let genre = tx.insert_genre(NewGenre { id: None, name: "Spiritual Jazz".into() }).await.unwrap();
        for (track, title) in [(2, "Shiva-Loka"), (1, "Journey in Satchidananda")] {
            let song = NewSong {
                title: title.into(),
                artist_id: Some(artist.id),
                album_id: Some(album.id),
                genre_id: Some(genre.id),
                track_number: Some(track),
                ..Default::default()
            };
            tx.insert_song(song).await.unwrap();
        }
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        for link in [r#"href="/artists""#, r#"href="/albums""#, r#"href="/genres""#] {
            assert!(home.contains(link), "the navigation links {link}");
        }

        let artists = browser.get("/artists").await.text().await.unwrap();
        assert!(artists.contains(&format!(r#"<a href="/artists/{}">Alice Coltrane</a>"#, artist.id)));
        let page = browser.get(&format!("/artists/{}", artist.id)).await.text().await.unwrap();
        assert!(
            page.contains("Harpist.")
                && page.contains("Journey in Satchidananda")
                && page.contains("Shiva-Loka")
        );
        assert!(page.contains(&format!("/api/v1/albums/{}/cover", album.id)), "albums show their cover");
        // A thumbnail for a 160-pixel tile (320 for sharp screens), never the full scan.
        assert!(page.contains(&format!("/api/v1/albums/{}/cover?size=320", album.id)), "{page}");

        let albums = browser.get("/albums").await.text().await.unwrap();
        assert!(albums.contains("Journey in Satchidananda") && albums.contains("Alice Coltrane · 1971"));
        let page = browser.get(&format!("/albums/{}", album.id)).await.text().await.unwrap();
        let (first, second) = (
            page.find(">Journey in Satchidananda</a></td>").unwrap(),
            page.find(">Shiva-Loka</a></td>").unwrap(),
        );
        assert!(first < second, "an album's songs are in track order");

        let genres = browser.get("/genres").await.text().await.unwrap();
        assert!(genres.contains("Spiritual Jazz"));
        let page = browser.get(&format!("/genres/{}", genre.id)).await.text().await.unwrap();
        assert!(page.contains("Shiva-Loka"));

        for path in ["/artists/", "/albums/", "/genres/"] {
            let missing = browser.get(&format!("{path}{}", uuid::Uuid::new_v4())).await;
            assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{path}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_admin_manages_users_on_the_users_page_and_others_cannot_open_it() {
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&admin.email).await;
        assert!(home.contains(r#"href="/admin/users""#), "admins see the link");
        let csrf = hidden_csrf(&home);

        // Create.
        let form = [
            ("csrf", csrf.as_str()),
            ("name", "Rosa"),
            ("email", "rosa@example.org"),
            ("role", "user"),
            ("password", PASSWORD),
        ];
        let created = browser.post_form("/admin/users", &form).await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        let page = browser.get("/admin/users").await.text().await.unwrap();
        assert!(page.contains("rosa@example.org"));
        let again = browser.post_form("/admin/users", &form).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert!(again.text().await.unwrap().contains("A user with this email exists."));
        let forged = [
            ("csrf", "forged"),
            ("name", "X"),
            ("email", "x@example.org"),
            ("role", "user"),
            ("password", PASSWORD),
        ];
        assert_eq!(browser.post_form("/admin/users", &forged).await.status(), StatusCode::FORBIDDEN);

        // The new user logs in, sees no admin link, and is refused the page.
        let mut rosa = Browser::new(&app);
        let rosa_home = rosa.log_in("rosa@example.org").await;
        assert!(!rosa_home.contains(r#"href="/admin/users""#));
        assert_eq!(rosa.get("/admin/users").await.status(), StatusCode::FORBIDDEN);

        // Promote, reset the password (which ends her sessions), delete.
        let rosa_id = app.db().user_by_email("rosa@example.org").await.unwrap().unwrap().id;
        let path = format!("/admin/users/{rosa_id}");
        let changed = browser
            .post_form(
                &path,
                &[("csrf", &csrf), ("role", "moderator"), ("password", "another long password")],
            )
            .await;
        assert_eq!(changed.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.db().user(rosa_id).await.unwrap().unwrap().role, Role::Moderator);
        assert_eq!(rosa.get("/").await.status(), StatusCode::SEE_OTHER, "a new password ends her session");
        let deleted = browser.post_form(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
        assert!(app.db().user(rosa_id).await.unwrap().is_none());

        // The last admin stays an admin.
        let me = format!("/admin/users/{}", admin.id);
        let demoted = browser.post_form(&me, &[("csrf", &csrf), ("role", "user")]).await;
        assert_eq!(demoted.status(), StatusCode::CONFLICT);
        assert!(demoted.text().await.unwrap().contains("The last admin cannot be demoted."));
    })
    .await;
}

#[tokio::test]
async fn everyone_changes_their_own_name_and_password_on_the_profile_page() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        assert!(home.contains(r#"<a href="/profile">"#), "the name in the header leads to the profile");
        let csrf = hidden_csrf(&home);
        let mut other_session = Browser::new(&app);
        other_session.log_in(&user.email).await;

        let saved = browser.post_form("/profile", &[("csrf", &csrf), ("name", "Renamed Person")]).await;
        assert_eq!(saved.headers()[LOCATION], "/profile?saved=name");
        let page = browser.get("/profile?saved=name").await.text().await.unwrap();
        assert!(page.contains("Your name is saved.") && page.contains(r#"value="Renamed Person""#));

        let wrong =
            [("csrf", csrf.as_str()), ("current_password", "not it"), ("password", "a brand new password")];
        let refused = browser.post_form("/profile/password", &wrong).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("The current password is wrong"));

        let right =
            [("csrf", csrf.as_str()), ("current_password", PASSWORD), ("password", "a brand new password")];
        let changed = browser.post_form("/profile/password", &right).await;
        assert_eq!(changed.status(), StatusCode::SEE_OTHER);
        assert_eq!(browser.get("/profile").await.status(), StatusCode::OK, "this browser has a new session");
        assert_eq!(other_session.get("/").await.status(), StatusCode::SEE_OTHER, "other sessions have ended");
    })
    .await;
}

#[tokio::test]
async fn a_song_is_marked_a_favourite_from_any_list_and_shows_on_the_favourites_page() {
    on_each_backend(|app| async move {
        let mut tx = app.db().begin().await.unwrap();
        let song =
            tx.insert_song(NewSong { title: "Lilac Wine".into(), ..Default::default() }).await.unwrap();
        tx.insert_song(NewSong { title: "Other".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        assert!(
            home.contains(&format!(r#"id="fav-{}""#, song.id)) && home.contains(r#"aria-pressed="false""#)
        );
        let csrf = hidden_csrf(&home);
        let (client, url, cookies) = (
            browser.client.clone(),
            format!("{}/songs/{}/favourite", browser.base, song.id),
            browser.cookie_header(),
        );
        let toggle = |csrf: Option<String>, favourite: &'static str| {
            let mut request = client
                .post(&url)
                .header(COOKIE, &cookies)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("HX-Request", "true")
                .body(format!("favourite={favourite}"));
            if let Some(csrf) = csrf {
                request = request.header("X-CSRF-Token", csrf);
            }
            request.send()
        };
        assert_eq!(
            toggle(None, "true").await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "the CSRF header is needed"
        );
        let marked = toggle(Some(csrf.clone()), "true").await.unwrap();
        assert_eq!(marked.status(), StatusCode::OK);
        let button = marked.text().await.unwrap();
        assert!(button.starts_with("<button") && button.contains(r#"aria-pressed="true""#), "{button}");

        let favourites = browser.get("/favourites").await.text().await.unwrap();
        assert!(favourites.contains("Lilac Wine") && !favourites.contains(">Other<"));
        assert!(app.db().listening(user.id, song.id).await.unwrap().favourite);

        toggle(Some(csrf), "false").await.unwrap();
        let favourites = browser.get("/favourites").await.text().await.unwrap();
        assert!(!favourites.contains("Lilac Wine"));
    })
    .await;
}

#[tokio::test]
async fn recently_and_most_played_pages_list_the_users_own_plays() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let other = app.user(Role::User).await;
        let mut tx = app.db().begin().await.unwrap();
        let often = tx.insert_song(NewSong { title: "Often".into(), ..Default::default() }).await.unwrap();
        let once = tx.insert_song(NewSong { title: "Once".into(), ..Default::default() }).await.unwrap();
        tx.insert_song(NewSong { title: "Never".into(), ..Default::default() }).await.unwrap();
        let start = archive_db::now() - chrono::Duration::hours(1);
        for (n, song) in [often.id, often.id, often.id, once.id].into_iter().enumerate() {
            tx.record_play(user.id, song, start + chrono::Duration::minutes(n as i64)).await.unwrap();
        }
        tx.record_play(other.id, once.id, start).await.unwrap();
        tx.commit().await.unwrap();
        let mut browser = Browser::new(&app);
        browser.log_in(&user.email).await;

        let recent = browser.get("/recent").await.text().await.unwrap();
        let (first, later) =
            (recent.find(">Once</a></td>").unwrap(), recent.find(">Often</a></td>").unwrap());
        assert!(first < later, "newest first");
        assert_eq!(recent.matches(">Often</a></td>").count(), 3, "each play is listed");
        assert!(!recent.contains(">Never</a></td>"));

        let most = browser.get("/most-played").await.text().await.unwrap();
        let (top, next) = (most.find(">Often</a></td>").unwrap(), most.find(">Once</a></td>").unwrap());
        assert!(top < next, "the most played first");
        assert_eq!(most.matches(">Often</a></td>").count(), 1);
    })
    .await;
}

#[tokio::test]
async fn pages_and_the_api_send_security_headers_and_pages_carry_no_inline_script_or_style() {
    on_each_backend(|app| async move {
        let admin = app.user(archive_db::Role::Admin).await;
        let mut browser = Browser::new(&app);
        browser.log_in(&admin.email).await;
        for path in
            ["/", "/albums", "/artists", "/playlists", "/settings", "/settings/sync", "/sync", "/profile"]
        {
            let response = browser.get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers().clone();
            let policy = headers["content-security-policy"].to_str().unwrap();
            assert!(
                policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"),
                "{policy}"
            );
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["x-frame-options"], "DENY");
            assert!(headers.contains_key("referrer-policy"));
            let page = response.text().await.unwrap().to_lowercase();
            for inline in
                [" onclick=", " onerror=", " onload=", " onchange=", " style=\"", "<style", "javascript:"]
            {
                assert!(!page.contains(inline), "{path} has {inline}");
            }
            assert!(!page.contains("<script>"), "{path} has an inline script");
        }
        let response = app.client.get(format!("{}/api/v1/health", app.base)).send().await.unwrap();
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    })
    .await;
}
