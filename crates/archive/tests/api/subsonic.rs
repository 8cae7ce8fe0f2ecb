//! The Subsonic API at `/rest/`, as apps call it: the envelope in XML (read
//! as a namespaced document) and JSON, the ways to authenticate and every
//! error code, and browsing answered from the library, on both databases.

use archive_db::{NewAlbum, NewArtist, NewGenre, NewSong, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{App, PASSWORD, TestUser, on_each_backend};

const NAMESPACE: &str = "http://subsonic.org/restapi";

/// Calls `method` with `params` (and `u`/`p` of `user` unless `auth` is
/// given) as a GET: the HTTP status and the body.
async fn rest(app: &App, method: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let response = app.client.get(format!("{}/rest/{method}?{query}", app.base)).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn password_of(user: &TestUser) -> Vec<(&str, &str)> {
    vec![("u", user.email.as_str()), ("p", PASSWORD), ("c", "test"), ("v", "1.16.1")]
}

/// A JSON answer's `subsonic-response`.
async fn json_of(app: &App, method: &str, params: &[(&str, &str)]) -> Value {
    let mut all = params.to_vec();
    all.push(("f", "json"));
    let (status, body) = rest(app, method, &all).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let value: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method}: not JSON ({e}): {body}"));
    value["subsonic-response"].clone()
}

/// An XML answer, checked to be a `subsonic-response` in Subsonic's
/// namespace with the OpenSubsonic attributes; returns the text to parse again.
fn check_xml_envelope(body: &str, status: &str) {
    let document = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("not XML ({e}): {body}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "subsonic-response");
    assert_eq!(root.tag_name().namespace(), Some(NAMESPACE), "{body}");
    assert_eq!(root.attribute("status"), Some(status), "{body}");
    assert_eq!(root.attribute("version"), Some("1.16.1"));
    assert_eq!(root.attribute("type"), Some("archive"));
    assert!(root.attribute("serverVersion").is_some_and(|v| !v.is_empty()));
    assert_eq!(root.attribute("openSubsonic"), Some("true"));
}

/// The error code of a failed answer, in XML and in JSON (which must agree).
async fn error_code(app: &App, method: &str, params: &[(&str, &str)]) -> i64 {
    let (status, body) = rest(app, method, params).await;
    assert_eq!(status, StatusCode::OK, "errors are HTTP 200: {body}");
    check_xml_envelope(&body, "failed");
    let document = roxmltree::Document::parse(&body).unwrap();
    let error =
        document.root_element().children().find(|n| n.has_tag_name((NAMESPACE, "error"))).expect("an error");
    let code: i64 = error.attribute("code").unwrap().parse().unwrap();
    assert!(error.attribute("message").is_some_and(|m| !m.is_empty()));
    let json = json_of(app, method, params).await;
    assert_eq!(json["status"], "failed");
    assert_eq!(json["error"]["code"], code, "{json}");
    code
}

#[tokio::test]
async fn every_answer_is_a_namespaced_envelope_and_every_refusal_is_http_200_with_its_code() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let auth = password_of(&user);
        for method in ["ping", "ping.view"] {
            let (status, body) = rest(&app, method, &auth).await;
            assert_eq!(status, StatusCode::OK);
            check_xml_envelope(&body, "ok");
        }
        let json = json_of(&app, "ping", &auth).await;
        assert_eq!(
            (json["status"].as_str(), json["openSubsonic"].as_bool()),
            (Some("ok"), Some(true)),
            "{json}"
        );
        assert_eq!(json["version"], "1.16.1");
        // JSONP wraps the JSON in the callback named (and only a plain name).
        let mut jsonp = auth.clone();
        jsonp.extend([("f", "jsonp"), ("callback", "answer")]);
        let (_, body) = rest(&app, "ping", &jsonp).await;
        assert!(body.starts_with("answer({\"subsonic-response\":") && body.ends_with(");"), "{body}");
        // Some apps always POST, with the parameters as a form.
        let form: Vec<(&str, &str)> = auth.iter().copied().chain([("f", "json")]).collect();
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish();
        let posted = app
            .client
            .post(format!("{}/rest/ping.view", app.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let posted: Value = posted.json().await.unwrap();
        assert_eq!(posted["subsonic-response"]["status"], "ok", "{posted}");

        // Extensions answer without credentials, and list what is supported.
        let extensions = json_of(&app, "getOpenSubsonicExtensions", &[]).await;
        let names: Vec<&str> = extensions["openSubsonicExtensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"apiKeyAuthentication") && names.contains(&"formPost"), "{extensions}");
        assert_eq!(extensions["openSubsonicExtensions"][0]["versions"], json!([1]));

        let wrong = [("u", user.email.as_str()), ("p", "not the password")];
        assert_eq!(error_code(&app, "ping", &wrong).await, 40);
        let hex_password = format!("enc:{}", hex::encode(PASSWORD));
        let encoded = [("u", user.email.as_str()), ("p", hex_password.as_str()), ("f", "json")];
        assert_eq!(json_of(&app, "ping", &encoded).await["status"], "ok", "enc: and hex");
        assert_eq!(error_code(&app, "ping", &[]).await, 10, "no credentials at all");
        assert_eq!(error_code(&app, "ping", &[("u", &user.email)]).await, 10, "a user without a password");
        let token = [("u", user.email.as_str()), ("t", "26719a1196d2a940705a59634eb18eab"), ("s", "c19b2d")];
        assert_eq!(error_code(&app, "ping", &token).await, 41);
        let both = [("u", user.email.as_str()), ("apiKey", "arcsub_whatever")];
        assert_eq!(error_code(&app, "ping", &both).await, 43);
        assert_eq!(error_code(&app, "ping", &[("apiKey", "arcsub_not_a_key")]).await, 44);
        assert_eq!(error_code(&app, "getPodcasts", &auth).await, 0, "not offered: error 0, never a 404");
        let mut missing = auth.clone();
        missing.push(("username", "nobody@example.org"));
        assert_eq!(error_code(&app, "getUser", &missing).await, 50, "another user's account, not an admin");
        assert_eq!(error_code(&app, "getAlbum", &auth).await, 10, "getAlbum without id");
        let mut unknown = auth.clone();
        unknown.push(("id", "not-an-id"));
        assert_eq!(error_code(&app, "getAlbum", &unknown).await, 70);
    })
    .await;
}

#[tokio::test]
async fn an_api_key_is_made_shown_once_used_and_revoked_by_its_owner() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let (status, made) =
            app.post("/api/v1/me/subsonic-keys", &user.token, json!({"name": "Phone"})).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let key = made["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("arcsub_"));
        let (_, listed) = app.get("/api/v1/me/subsonic-keys", &user.token).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert!(listed.to_string().find(&key).is_none(), "the secret is never listed again");
        assert!(listed[0]["last_used_at"].is_null());

        let answer = json_of(&app, "getUser", &[("apiKey", &key), ("username", &user.email)]).await;
        assert_eq!(answer["user"]["username"], user.email, "{answer}");
        let info = json_of(&app, "tokenInfo", &[("apiKey", &key)]).await;
        assert_eq!(info["tokenInfo"]["username"], user.email, "{info}");
        assert_eq!(error_code(&app, "tokenInfo", &password_of(&user)).await, 42, "only for a key");
        let (_, listed) = app.get("/api/v1/me/subsonic-keys", &user.token).await;
        assert!(listed[0]["last_used_at"].is_string(), "its last use is shown: {listed}");
        // Uses within a minute move it once.
        json_of(&app, "ping", &[("apiKey", &key)]).await;
        let (_, again) = app.get("/api/v1/me/subsonic-keys", &user.token).await;
        assert_eq!(again[0]["last_used_at"], listed[0]["last_used_at"], "{again}");

        // Nobody else can revoke it; its owner can, at once.
        let other = app.user(Role::Admin).await;
        let path = format!("/api/v1/me/subsonic-keys/{}", made["record"]["id"].as_str().unwrap());
        assert_eq!(app.delete(&path, &other.token).await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.delete(&path, &user.token).await.0, StatusCode::NO_CONTENT);
        assert_eq!(error_code(&app, "ping", &[("apiKey", &key)]).await, 44);
    })
    .await;
}

/// The error code of a JSON answer to `ping` with `apiKey` from `address`
/// (through a trusted reverse proxy on loopback); `None` for success.
async fn api_key_ping_from(app: &App, address: &str, key: &str) -> Option<i64> {
    let url = format!("{}/rest/ping?f=json&apiKey={key}", app.base);
    let response = app.client.get(url).header("x-forwarded-for", address).send().await.unwrap();
    let answer: Value = response.json().await.unwrap();
    answer["subsonic-response"]["error"]["code"].as_i64()
}

#[tokio::test]
async fn bad_api_keys_never_refuse_a_good_key_and_one_address_guessing_is_stopped() {
    let settings = [("ARCHIVE_TRUSTED_PROXIES", "127.0.0.1, ::1".to_owned())];
    crate::support::on_each_backend_with(&settings, |app| async move {
        let user = app.user(Role::User).await;
        let (_, made) = app.post("/api/v1/me/subsonic-keys", &user.token, json!({"name": "Phone"})).await;
        let key = made["key"].as_str().unwrap().to_owned();
        // Sixty bad keys from twelve addresses: more than any account's limit.
        for n in 0..60 {
            let address = format!("192.0.2.{}", n / 5);
            assert_eq!(api_key_ping_from(&app, &address, "arcsub_guess").await, Some(44), "guess {n}");
        }
        assert_eq!(api_key_ping_from(&app, "198.51.100.9", &key).await, None, "the owner's key still works");
        // One address is stopped after ten bad keys; a good key from it still works.
        for _ in 0..10 {
            assert_eq!(api_key_ping_from(&app, "203.0.113.7", "arcsub_guess").await, Some(44));
        }
        let refused = api_key_ping_from(&app, "203.0.113.7", "arcsub_guess").await;
        assert_eq!(refused, Some(0), "refused, with a message saying how long to wait");
        assert_eq!(api_key_ping_from(&app, "203.0.113.7", &key).await, None, "a good key gets through");
    })
    .await;
}

/// Two artists, two albums and three songs, written as an import would.
async fn small_library(app: &App) -> (uuid::Uuid, uuid::Uuid, uuid::Uuid) {
    let mut tx = app.db().begin().await.unwrap();
    let artist = tx.insert_artist(NewArtist { name: "Björk".into(), ..Default::default() }).await.unwrap().id;
    let other = tx.insert_artist(NewArtist { name: "Can".into(), ..Default::default() }).await.unwrap().id;
    let genre = tx.insert_genre(NewGenre { name: "Art Pop".into(), ..Default::default() }).await.unwrap().id;
    let album = tx
        .insert_album(NewAlbum {
            title: "Homogenic".into(),
            artist_id: Some(artist),
            year: Some(1997),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    tx.insert_album(NewAlbum { title: "Tago Mago".into(), artist_id: Some(other), ..Default::default() })
        .await
        .unwrap();
    let mut first = None;
    for (track, title) in [(1, "Hunter"), (2, "Jóga & <Bachelorette>")] {
        let song = tx
            .insert_song(NewSong {
                title: title.into(),
                artist_id: Some(artist),
                album_id: Some(album),
                genre_id: Some(genre),
                track_number: Some(track),
                year: Some(1997),
                duration_ms: Some(250_500),
                format: Some("mp3".into()),
                file_size: Some(4_000_000),
                bitrate: Some(128),
                ..Default::default()
            })
            .await
            .unwrap();
        first.get_or_insert(song.id);
    }
    tx.commit().await.unwrap();
    (artist, album, first.unwrap())
}

#[tokio::test]
async fn browsing_answers_artists_albums_songs_and_genres_from_the_library_in_both_formats() {
    on_each_backend(|app| async move {
        let (artist, album, song) = small_library(&app).await;
        let user = app.user(Role::User).await;
        let auth = password_of(&user);
        let with = |extra: &[(&'static str, String)]| {
            let mut params: Vec<(String, String)> =
                auth.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
            params
        };
        let call = |method: &'static str, extra: Vec<(&'static str, String)>| {
            let params = with(&extra);
            let app = &app;
            async move {
                let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let json = json_of(app, method, &refs).await;
                assert_eq!(json["status"], "ok", "{method}: {json}");
                let (_, xml) = rest(app, method, &refs).await;
                check_xml_envelope(&xml, "ok");
                (json, xml)
            }
        };

        let (artists, xml) = call("getArtists", vec![]).await;
        let index = artists["artists"]["index"].as_array().unwrap();
        assert_eq!(index.iter().map(|i| i["name"].as_str().unwrap()).collect::<Vec<_>>(), ["B", "C"]);
        assert_eq!(index[0]["artist"][0]["name"], "Björk");
        assert_eq!(index[0]["artist"][0]["albumCount"], 1, "a number, not a string");
        let document = roxmltree::Document::parse(&xml).unwrap();
        let artist_element = document.descendants().find(|n| n.has_tag_name((NAMESPACE, "artist"))).unwrap();
        assert_eq!(artist_element.attribute("name"), Some("Björk"));

        let (found, _) = call("getArtist", vec![("id", artist.to_string())]).await;
        assert_eq!(found["artist"]["album"][0]["name"], "Homogenic", "{found}");
        assert_eq!(found["artist"]["album"][0]["songCount"], 2);

        let (found, xml) = call("getAlbum", vec![("id", album.to_string())]).await;
        let album_json = &found["album"];
        assert_eq!((album_json["year"].as_i64(), album_json["duration"].as_i64()), (Some(1997), Some(501)));
        let songs = album_json["song"].as_array().unwrap();
        assert_eq!(songs.len(), 2);
        assert_eq!(songs[0]["title"], "Hunter");
        assert_eq!(songs[0]["isDir"], false);
        assert_eq!((songs[0]["duration"].as_i64(), songs[0]["track"].as_i64()), (Some(250), Some(1)));
        assert_eq!(
            (songs[0]["suffix"].as_str(), songs[0]["contentType"].as_str()),
            (Some("mp3"), Some("audio/mpeg"))
        );
        assert_eq!(songs[0]["genre"], "Art Pop");
        assert_eq!(songs[0]["albumId"], album.to_string());
        // XML escapes what it must, and reads back exactly.
        let document = roxmltree::Document::parse(&xml).unwrap();
        let titles: Vec<&str> = document
            .descendants()
            .filter(|n| n.has_tag_name((NAMESPACE, "song")))
            .map(|n| n.attribute("title").unwrap())
            .collect();
        assert_eq!(titles, ["Hunter", "Jóga & <Bachelorette>"]);

        let (found, _) = call("getSong", vec![("id", song.to_string())]).await;
        assert_eq!(found["song"]["id"], song.to_string());

        let (genres, xml) = call("getGenres", vec![]).await;
        assert_eq!(genres["genres"]["genre"], json!([{"songCount": 2, "albumCount": 1, "value": "Art Pop"}]));
        let document = roxmltree::Document::parse(&xml).unwrap();
        let genre = document.descendants().find(|n| n.has_tag_name((NAMESPACE, "genre"))).unwrap();
        assert_eq!((genre.text(), genre.attribute("songCount")), (Some("Art Pop"), Some("2")));

        let (folders, _) = call("getMusicFolders", vec![]).await;
        assert_eq!(folders["musicFolders"]["musicFolder"][0]["id"], 1);
        let (license, _) = call("getLicense", vec![]).await;
        assert_eq!(license["license"]["valid"], true);
        let (me, _) = call("getUser", vec![("username", user.email.clone())]).await;
        assert_eq!(
            (me["user"]["adminRole"].as_bool(), me["user"]["streamRole"].as_bool()),
            (Some(false), Some(true))
        );
        assert_eq!(me["user"]["folder"], json!([1]));
    })
    .await;
}

/// Params with `u`/`p` of `user` and `f=json`, plus `extra`.
fn params_of<'a>(user: &'a TestUser, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = password_of(user);
    params.extend_from_slice(extra);
    params
}

/// A library of `albums` albums of `per_album` songs, over three artists,
/// the album years 2000 onwards and every song of genre "Rock" or "Jazz".
async fn library_of(app: &App, albums: usize, per_album: usize) -> Vec<uuid::Uuid> {
    let mut tx = app.db().begin().await.unwrap();
    let mut artists = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        artists
            .push(tx.insert_artist(NewArtist { name: name.into(), ..Default::default() }).await.unwrap().id);
    }
    let rock = tx.insert_genre(NewGenre { name: "Rock".into(), ..Default::default() }).await.unwrap().id;
    let jazz = tx.insert_genre(NewGenre { name: "Jazz".into(), ..Default::default() }).await.unwrap().id;
    let mut songs = Vec::new();
    for a in 0..albums {
        let album = tx
            .insert_album(NewAlbum {
                title: format!("Album {a:02}"),
                artist_id: Some(artists[a % 3]),
                year: Some(2000 + a as i64),
                ..Default::default()
            })
            .await
            .unwrap()
            .id;
        for t in 0..per_album {
            let song = NewSong {
                title: format!("Song {a:02}-{t:02}"),
                artist_id: Some(artists[a % 3]),
                album_id: Some(album),
                genre_id: Some(if a % 2 == 0 { rock } else { jazz }),
                track_number: Some(t as i64 + 1),
                duration_ms: Some(60_000),
                ..Default::default()
            };
            songs.push(tx.insert_song(song).await.unwrap().id);
        }
    }
    tx.commit().await.unwrap();
    songs
}

#[tokio::test]
async fn album_lists_of_every_type_and_an_empty_search3_walk_return_every_item_once() {
    on_each_backend(|app| async move {
        let songs = library_of(&app, 6, 5).await;
        let user = app.user(Role::User).await;
        let list = |kind: &'static str, extra: Vec<(&'static str, &'static str)>| {
            let user = &user;
            let app = &app;
            async move {
                let mut params = params_of(user, &[("type", kind), ("size", "500")]);
                params.extend(extra);
                let answer = json_of(app, "getAlbumList2", &params).await;
                assert_eq!(answer["status"], "ok", "{kind}: {answer}");
                let albums = answer["albumList2"]["album"].as_array().cloned().unwrap_or_default();
                albums.iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        let by_name = list("alphabeticalByName", vec![]).await;
        assert_eq!(by_name, (0..6).map(|a| format!("Album {a:02}")).collect::<Vec<_>>());
        assert_eq!(list("newest", vec![]).await.len(), 6);
        let mut random = list("random", vec![]).await;
        random.sort();
        assert_eq!(random, by_name, "random lists every album once");
        assert_eq!(
            list("byYear", vec![("fromYear", "2004"), ("toYear", "2002")]).await,
            ["Album 04", "Album 03", "Album 02"]
        );
        assert_eq!(list("byGenre", vec![("genre", "jazz")]).await, ["Album 01", "Album 03", "Album 05"]);
        assert_eq!(
            list("alphabeticalByArtist", vec![]).await[..2],
            ["Album 00", "Album 03"],
            "Alpha's albums first"
        );
        for kind in ["recent", "frequent", "highest", "starred"] {
            assert!(list(kind, vec![]).await.is_empty(), "{kind}: nothing played, rated or starred yet");
        }
        // Paging: size and offset.
        let page = json_of(
            &app,
            "getAlbumList",
            &params_of(&user, &[("type", "alphabeticalByName"), ("size", "2"), ("offset", "4")]),
        )
        .await;
        let names: Vec<&str> = page["albumList"]["album"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Album 04", "Album 05"]);
        assert_eq!(error_code(&app, "getAlbumList2", &params_of(&user, &[("type", "sideways")])).await, 0);
        assert_eq!(error_code(&app, "getAlbumList2", &password_of(&user)).await, 10);

        // Playing, rating and starring change what those lists say.
        let (three, first) = (songs[15].to_string(), songs[0].to_string());
        let scrobbled =
            json_of(&app, "scrobble", &params_of(&user, &[("id", &three), ("id", &three), ("id", &first)]))
                .await;
        assert_eq!(scrobbled["status"], "ok", "{scrobbled}");
        assert_eq!(list("frequent", vec![]).await, ["Album 03", "Album 00"]);
        assert_eq!(
            json_of(&app, "setRating", &params_of(&user, &[("id", &first), ("rating", "5")])).await["status"],
            "ok"
        );
        assert_eq!(list("highest", vec![]).await, ["Album 00"]);
        let album_three =
            json_of(&app, "getSong", &params_of(&user, &[("id", &three)])).await["song"]["albumId"]
                .as_str()
                .unwrap()
                .to_owned();
        let starred = json_of(&app, "star", &params_of(&user, &[("albumId", &album_three)])).await;
        assert_eq!(starred["status"], "ok", "{starred}");
        assert_eq!(list("starred", vec![]).await, ["Album 03"]);

        // An app copying the library: empty search3 pages until one is empty.
        let mut seen = std::collections::HashSet::new();
        let mut offset = 0;
        for _ in 0..100 {
            let offset_text = offset.to_string();
            let params = params_of(
                &user,
                &[
                    ("query", "\"\""),
                    ("songCount", "7"),
                    ("songOffset", &offset_text),
                    ("artistCount", "0"),
                    ("albumCount", "0"),
                ],
            );
            let page = json_of(&app, "search3", &params).await;
            let items = page["searchResult3"]["song"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            for song in &items {
                assert!(seen.insert(song["id"].as_str().unwrap().to_owned()), "a song came twice: {song}");
            }
            offset += items.len();
        }
        assert_eq!(seen.len(), songs.len(), "every song exactly once");
        let everything = json_of(
            &app,
            "search3",
            &params_of(
                &user,
                &[("query", ""), ("artistCount", "10"), ("albumCount", "10"), ("songCount", "0")],
            ),
        )
        .await;
        assert_eq!(everything["searchResult3"]["artist"].as_array().unwrap().len(), 3);
        assert_eq!(everything["searchResult3"]["album"].as_array().unwrap().len(), 6);
        assert_eq!(everything["searchResult3"]["song"], json!([]), "a list even when empty");

        // Words find what they name, kind by kind.
        let found = json_of(&app, "search3", &params_of(&user, &[("query", "Song 03-02")])).await;
        let titles: Vec<&str> = found["searchResult3"]["song"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["title"].as_str().unwrap())
            .collect();
        assert!(titles.contains(&"Song 03-02") && titles.len() <= 20, "{found}");
        let found = json_of(&app, "search2", &params_of(&user, &[("query", "gamma")])).await;
        assert_eq!(found["searchResult2"]["artist"][0]["name"], "Gamma", "{found}");
        let random =
            json_of(&app, "getRandomSongs", &params_of(&user, &[("size", "4"), ("genre", "Rock")])).await;
        let random = random["randomSongs"]["song"].as_array().unwrap();
        assert_eq!(random.len(), 4);
        assert!(random.iter().all(|s| s["genre"] == "Rock"));
    })
    .await;
}

#[tokio::test]
async fn stars_ratings_plays_and_playlists_made_in_an_app_are_ordinary_writes() {
    on_each_backend(|app| async move {
        let songs = library_of(&app, 1, 3).await;
        let (one, two, three) = (songs[0].to_string(), songs[1].to_string(), songs[2].to_string());
        let user = app.user(Role::User).await;
        let call = |method: &'static str, extra: Vec<(&'static str, String)>| {
            let (app, user) = (&app, &user);
            async move {
                let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let answer = json_of(app, method, &params_of(user, &extra)).await;
                assert_eq!(answer["status"], "ok", "{method}: {answer}");
                answer
            }
        };

        call("star", vec![("id", one.clone()), ("id", two.clone())]).await;
        call("unstar", vec![("id", two.clone())]).await;
        let starred = call("getStarred2", vec![]).await;
        let ids: Vec<&str> = starred["starred2"]["song"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [one.as_str()]);
        let marks = app.db().listening(user.id, songs[0]).await.unwrap();
        assert!(marks.favourite, "the same favourite as the web's");
        call("setRating", vec![("id", one.clone()), ("rating", "4".into())]).await;
        assert_eq!(app.db().listening(user.id, songs[0]).await.unwrap().rating, Some(4));
        call("setRating", vec![("id", one.clone()), ("rating", "0".into())]).await;
        assert_eq!(app.db().listening(user.id, songs[0]).await.unwrap().rating, None);
        assert_eq!(
            error_code(&app, "setRating", &params_of(&user, &[("id", &one), ("rating", "9")])).await,
            0
        );
        // A song says the caller starred and rated it.
        call("setRating", vec![("id", one.clone()), ("rating", "3".into())]).await;
        let song = &call("getSong", vec![("id", one.clone())]).await["song"];
        assert!(song["starred"].as_str().is_some_and(|t| t.starts_with("20")), "{song}");
        assert_eq!(song["userRating"], 3);
        let song = &call("getSong", vec![("id", two.clone())]).await["song"];
        assert!(song.get("starred").is_none() && song.get("userRating").is_none(), "{song}");

        // Albums and artists: by albumId and artistId, or by id as folder
        // browsing names them; all repeatable, all or nothing.
        let album = song["albumId"].as_str().unwrap().to_owned();
        let artist = song["artistId"].as_str().unwrap().to_owned();
        call("star", vec![("albumId", album.clone()), ("artistId", artist.clone())]).await;
        let starred = &call("getStarred2", vec![]).await["starred2"];
        assert_eq!(starred["album"][0]["id"], album.as_str(), "{starred}");
        assert_eq!(starred["artist"][0]["id"], artist.as_str(), "{starred}");
        assert!(starred["album"][0]["starred"].is_string() && starred["artist"][0]["starred"].is_string());
        let shown = &call("getAlbum", vec![("id", album.clone())]).await["album"];
        assert!(shown["starred"].is_string(), "{shown}");
        assert!(call("getArtist", vec![("id", artist.clone())]).await["artist"]["starred"].is_string());
        let missing = Uuid::new_v4().to_string();
        let refused = params_of(&user, &[("id", &two), ("albumId", &missing)]);
        assert_eq!(error_code(&app, "star", &refused).await, 70);
        assert!(
            call("getSong", vec![("id", two.clone())]).await["song"].get("starred").is_none(),
            "nothing starred"
        );
        call("unstar", vec![("id", album.clone()), ("artistId", artist.clone())]).await;
        let starred = &call("getStarred2", vec![]).await["starred2"];
        assert_eq!(
            (starred["album"].as_array().map(Vec::len), starred["artist"].as_array().map(Vec::len)),
            (Some(0), Some(0))
        );
        assert!(call("getAlbum", vec![("id", album.clone())]).await["album"].get("starred").is_none());
        call("star", vec![("id", album.clone())]).await;
        assert_eq!(call("getStarred", vec![]).await["starred"]["album"][0]["id"], album.as_str());

        // Every one of them is in the change log, in the user's name, to sync.
        let changes = archive_testkit::settled_changes(app.db()).await;
        for table in ["listening_data", "favourites"] {
            assert!(
                changes.iter().any(|c| c.table_name == table && c.author == Some(user.id)),
                "{table}: {changes:?}"
            );
        }

        // A play at a given time; "now playing" without counting a play.
        let at = "1700000000000";
        call("scrobble", vec![("id", three.clone()), ("time", at.into())]).await;
        let plays = plays_of(&app, user.id).await;
        assert_eq!(plays.len(), 1);
        assert_eq!(plays[0].played_at.timestamp_millis(), 1_700_000_000_000);
        call("scrobble", vec![("id", two.clone()), ("submission", "false".into())]).await;
        assert_eq!(plays_of(&app, user.id).await.len(), 1, "now playing is not a play");
        let playing = call("getNowPlaying", vec![]).await;
        let entry = &playing["nowPlaying"]["entry"][0];
        assert_eq!(
            (entry["id"].as_str(), entry["playerName"].as_str()),
            (Some(two.as_str()), Some("test")),
            "{playing}"
        );
        assert_eq!(entry["username"], user.email);

        // Playlists: made, read, changed, deleted; others' private ones stay hidden.
        let made = call(
            "createPlaylist",
            vec![("name", "Road".into()), ("songId", one.clone()), ("songId", two.clone())],
        )
        .await;
        let playlist = made["playlist"]["id"].as_str().unwrap().to_owned();
        assert_eq!(made["playlist"]["songCount"], 2);
        call(
            "updatePlaylist",
            vec![
                ("playlistId", playlist.clone()),
                ("name", "Road trip".into()),
                ("public", "true".into()),
                ("songIndexToRemove", "0".into()),
                ("songIdToAdd", three.clone()),
                ("songIdToAdd", three.clone()),
            ],
        )
        .await;
        let read = call("getPlaylist", vec![("id", playlist.clone())]).await;
        assert_eq!(
            (read["playlist"]["name"].as_str(), read["playlist"]["public"].as_bool()),
            (Some("Road trip"), Some(true))
        );
        let order: Vec<&str> =
            read["playlist"]["entry"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(order, [two.as_str(), three.as_str(), three.as_str()], "repeats kept, in order");
        let listed = call("getPlaylists", vec![]).await;
        assert_eq!(listed["playlists"]["playlist"][0]["songCount"], 3);

        let other = app.user(Role::User).await;
        let theirs = json_of(&app, "createPlaylist", &params_of(&other, &[("name", "Mine")])).await;
        let theirs = theirs["playlist"]["id"].as_str().unwrap().to_owned();
        assert_eq!(error_code(&app, "getPlaylist", &params_of(&user, &[("id", &theirs)])).await, 70);
        assert_eq!(
            error_code(&app, "deletePlaylist", &params_of(&other, &[("id", &playlist)])).await,
            50,
            "public, not theirs"
        );
        call("deletePlaylist", vec![("id", playlist.clone())]).await;
        assert_eq!(error_code(&app, "getPlaylist", &params_of(&user, &[("id", &playlist)])).await, 70);
    })
    .await;
}

#[tokio::test]
async fn stream_download_and_cover_art_serve_the_files_with_ranges_and_say_what_is_missing() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let dir = tempfile::tempdir().unwrap();
        let cover = dir.path().join("cover.png");
        archive_testkit::audio::make_png(&cover, "red");
        let path = dir.path().join("Covered.mp3");
        archive_testkit::audio::make_mp3_with_cover(&path, &cover, "Covered");
        let form = reqwest::multipart::Form::new().part("file", crate::media::file_part(&path));
        let (status, uploaded) = crate::media::upload(&app, &admin.token, form).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let song = uploaded["songs"][0]["id"].as_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        let query = |extra: &[(&str, &str)]| {
            let params = params_of(&admin, extra);
            form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
        };

        let url = format!("{}/rest/stream?{}", app.base, query(&[("id", &song), ("format", "raw")]));
        let whole = app.client.get(&url).send().await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert!(whole.bytes().await.unwrap().as_ref() == bytes.as_slice());
        let part = app.client.get(&url).header(reqwest::header::RANGE, "bytes=10-19").send().await.unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert!(part.bytes().await.unwrap().as_ref() == &bytes[10..20]);
        let (_, played) = app.get(&format!("/api/v1/songs/{song}"), &admin.token).await;
        assert!(plays_of(&app, admin.id).await.is_empty(), "streaming never counts a play: {played}");

        let url = format!("{}/rest/download.view?{}", app.base, query(&[("id", &song)]));
        let download = app.client.get(&url).send().await.unwrap();
        assert!(
            download.headers()[reqwest::header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );

        let album = uploaded["songs"][0]["album_id"].as_str().expect("an album").to_owned();
        let url = format!("{}/rest/getCoverArt?{}", app.base, query(&[("id", &album), ("size", "64")]));
        let art = app.client.get(&url).send().await.unwrap();
        assert_eq!(art.status(), StatusCode::OK);
        assert!(art.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("image/"));
        let image = art.bytes().await.unwrap();
        assert!(!image.is_empty());

        // A song that is not there is an error in the envelope, not a 404.
        let missing = uuid::Uuid::new_v4().to_string();
        assert_eq!(error_code(&app, "stream", &params_of(&admin, &[("id", &missing)])).await, 70);
        assert_eq!(error_code(&app, "getCoverArt", &params_of(&admin, &[("id", &missing)])).await, 70);
    })
    .await;
}

async fn plays_of(app: &App, user: uuid::Uuid) -> Vec<archive_db::RecentPlay> {
    let page = archive_db::PageRequest { limit: Some(100), ..Default::default() };
    app.db().recent_plays(user, &page).await.unwrap().items
}

#[tokio::test]
async fn a_star_made_in_an_app_on_a_slave_reaches_the_master_with_the_next_cycle() {
    for (master_backend, slave_backend) in crate::sync::pairs() {
        let pair = crate::sync::Pair::start(master_backend, slave_backend).await;
        let songs = library_of(&pair.master, 1, 1).await;
        pair.settle().await;
        let user = &pair.slave_admin;
        let song = songs[0].to_string();
        let starred = json_of(&pair.slave, "star", &params_of(user, &[("id", &song)])).await;
        assert_eq!(starred["status"], "ok", "the slave answers the app itself: {starred}");
        let album = pair.master.db().song(songs[0]).await.unwrap().unwrap().album_id.unwrap();
        let starred =
            json_of(&pair.slave, "star", &params_of(user, &[("albumId", &album.to_string())])).await;
        assert_eq!(starred["status"], "ok", "{starred}");
        pair.sync().await;
        assert!(
            pair.master.db().listening(user.id, songs[0]).await.unwrap().favourite,
            "the master has the song's star"
        );
        let on_master = pair.master.db().favourites_among(user.id, &[album]).await.unwrap();
        assert!(on_master.contains_key(&album), "the master has the album's star");
        // Unstarred on the master, the slave follows.
        let unstarred =
            json_of(&pair.master, "unstar", &params_of(user, &[("albumId", &album.to_string())])).await;
        assert_eq!(unstarred["status"], "ok", "{unstarred}");
        pair.sync().await;
        assert!(pair.slave.db().favourites_among(user.id, &[album]).await.unwrap().is_empty());
        pair.stop().await;
    }
}

#[tokio::test]
async fn folders_are_made_from_the_tags_and_what_archive_does_not_know_is_empty_not_an_error() {
    on_each_backend(|app| async move {
        let (artist, album, song) = small_library(&app).await;
        let user = app.user(Role::User).await;
        let indexes = json_of(&app, "getIndexes", &password_of(&user)).await;
        assert_eq!(indexes["indexes"]["index"][0]["artist"][0]["name"], "Björk", "{indexes}");
        assert!(indexes["indexes"]["lastModified"].is_i64());
        let artist_id = artist.to_string();
        let folder = json_of(&app, "getMusicDirectory", &params_of(&user, &[("id", &artist_id)])).await;
        let child = &folder["directory"]["child"][0];
        assert_eq!(
            (child["title"].as_str(), child["isDir"].as_bool()),
            (Some("Homogenic"), Some(true)),
            "{folder}"
        );
        assert_eq!(child["id"], album.to_string());
        let album_id = album.to_string();
        let folder = json_of(&app, "getMusicDirectory", &params_of(&user, &[("id", &album_id)])).await;
        assert_eq!(folder["directory"]["child"].as_array().unwrap().len(), 2);
        assert_eq!(folder["directory"]["parent"], artist_id);
        let (_, xml) = rest(&app, "getMusicDirectory", &params_of(&user, &[("id", &album_id)])).await;
        check_xml_envelope(&xml, "ok");

        for (method, element, id) in [
            ("getArtistInfo2", "artistInfo2", &artist_id),
            ("getAlbumInfo2", "albumInfo", &album_id),
            ("getSimilarSongs2", "similarSongs2", &song.to_string()),
            ("getTopSongs", "topSongs", &artist_id),
        ] {
            let answer = json_of(&app, method, &params_of(&user, &[("id", id), ("artist", "Björk")])).await;
            assert_eq!(answer["status"], "ok", "{method}: {answer}");
            assert!(answer[element].is_object(), "{method}: {answer}");
        }
        let missing = uuid::Uuid::new_v4().to_string();
        assert_eq!(error_code(&app, "getArtistInfo2", &params_of(&user, &[("id", &missing)])).await, 70);

        let by_genre =
            json_of(&app, "getSongsByGenre", &params_of(&user, &[("genre", "art pop"), ("count", "1")]))
                .await;
        assert_eq!(by_genre["songsByGenre"]["song"].as_array().unwrap().len(), 1, "{by_genre}");
        let none = json_of(&app, "getSongsByGenre", &params_of(&user, &[("genre", "Polka")])).await;
        assert_eq!(none["songsByGenre"]["song"], json!([]));

        let status = json_of(&app, "getScanStatus", &password_of(&user)).await;
        assert_eq!(
            (status["scanStatus"]["scanning"].as_bool(), status["scanStatus"]["count"].as_i64()),
            (Some(false), Some(2))
        );
        assert_eq!(
            error_code(&app, "startScan", &password_of(&user)).await,
            50,
            "a listener does not start scans"
        );
        let moderator = app.user(Role::Moderator).await;
        assert_eq!(
            error_code(&app, "startScan", &password_of(&moderator)).await,
            0,
            "no library folders set: said so"
        );
    })
    .await;
}

#[tokio::test]
async fn a_moderators_start_scan_imports_the_library_folders_as_the_import_page_does() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let library = tempfile::tempdir().unwrap();
    let tags = archive_testkit::audio::full_tags("Scanned", "Folder Band", "On Disk");
    archive_testkit::audio::make(
        &library.path().join("Scanned.mp3"),
        archive_testkit::audio::format("mp3"),
        &tags,
        1.0,
        440,
    );
    let roots = library.path().display().to_string();
    crate::support::on_each_backend_with(&[("ARCHIVE_LIBRARY_ROOTS", roots.clone())], |app| async move {
        let moderator = app.user(Role::Moderator).await;
        let started = json_of(&app, "startScan", &password_of(&moderator)).await;
        assert_eq!(started["status"], "ok", "{started}");
        assert!(started["scanStatus"]["scanning"].is_boolean());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let status = json_of(&app, "getScanStatus", &password_of(&moderator)).await;
            if status["scanStatus"]["scanning"] == false && status["scanStatus"]["count"] == 1 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the scan did not finish: {status}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let found = json_of(&app, "search3", &params_of(&moderator, &[("query", "Scanned")])).await;
        assert_eq!(found["searchResult3"]["song"][0]["title"], "Scanned", "{found}");
    })
    .await;
}

#[tokio::test]
async fn token_authentication_works_with_an_app_password_and_stops_when_it_is_revoked() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let (status, made) =
            app.post("/api/v1/me/subsonic-app-passwords", &user.token, json!({"name": "Symfonium"})).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let password = made["password"].as_str().unwrap().to_owned();
        assert_eq!(password.len(), 29, "24 letters in groups of four: {password}");
        let (_, listed) = app.get("/api/v1/me/subsonic-app-passwords", &user.token).await;
        assert!(!listed.to_string().contains(&password), "never listed again: {listed}");
        // Kept sealed with the node's key, never in the clear.
        let stored = app.db().subsonic_app_passwords(user.id).await.unwrap();
        assert!(!stored[0].sealed.contains(&password));

        let salt = "c19b2d";
        let token = hex::encode(<md5::Md5 as md5::Digest>::digest(format!("{password}{salt}").as_bytes()));
        let by_token = [("u", user.email.as_str()), ("t", token.as_str()), ("s", salt)];
        let answer = json_of(&app, "ping", &by_token).await;
        assert_eq!(answer["status"], "ok", "{answer}");
        let upper = token.to_uppercase();
        let shouting = [("u", user.email.as_str()), ("t", upper.as_str()), ("s", salt)];
        assert_eq!(json_of(&app, "ping", &shouting).await["status"], "ok", "hex in either case");
        let wrong = [("u", user.email.as_str()), ("t", token.as_str()), ("s", "another")];
        assert_eq!(error_code(&app, "ping", &wrong).await, 40);
        assert_eq!(
            error_code(&app, "ping", &[("u", user.email.as_str()), ("t", token.as_str())]).await,
            10,
            "no salt"
        );
        // The app password also works as a plain password.
        let plain = [("u", user.email.as_str()), ("p", password.as_str())];
        assert_eq!(json_of(&app, "ping", &plain).await["status"], "ok");
        let (_, listed) = app.get("/api/v1/me/subsonic-app-passwords", &user.token).await;
        assert!(listed[0]["last_used_at"].is_string(), "{listed}");

        let path = format!("/api/v1/me/subsonic-app-passwords/{}", made["record"]["id"].as_str().unwrap());
        assert_eq!(app.delete(&path, &user.token).await.0, StatusCode::NO_CONTENT);
        assert_eq!(error_code(&app, "ping", &by_token).await, 41, "no app password left: make one");
        assert_eq!(error_code(&app, "ping", &plain).await, 40, "revoked at once");
    })
    .await;
}

#[tokio::test]
async fn the_profile_page_makes_shows_once_and_revokes_app_passwords_and_keys() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let mut browser = crate::web::Browser::new(&app);
        browser.log_in(&user.email).await;
        let page = browser.page("/profile").await;
        assert!(page.contains("Subsonic apps") && page.contains("Make an app password"), "{page}");
        let csrf = crate::web::hidden_csrf(&page);
        let made = browser.post_form("/profile/app-passwords", &[("csrf", &csrf), ("name", "Phone")]).await;
        assert_eq!(made.status(), StatusCode::OK);
        let made = made.text().await.unwrap();
        let at = made.find("id=\"made-secret\"").expect("the new password is shown");
        let shown = &made[at..];
        let password = &shown[shown.find("<code>").unwrap() + 6..shown.find("</code>").unwrap()];
        let answer = json_of(&app, "ping", &[("u", &user.email), ("p", password)]).await;
        assert_eq!(answer["status"], "ok", "the shown password works: {answer}");
        let page = browser.page("/profile").await;
        assert!(page.contains("<td>Phone</td>") && !page.contains(password), "listed, never shown again");

        let key_page = browser.post_form("/profile/api-keys", &[("csrf", &csrf), ("name", "Laptop")]).await;
        let key_page = key_page.text().await.unwrap();
        assert!(key_page.contains("Your new API key") && key_page.contains("arcsub_"), "{key_page}");

        let id = app.db().subsonic_app_passwords(user.id).await.unwrap()[0].id;
        let revoked =
            browser.post_form(&format!("/profile/app-passwords/{id}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
        assert_eq!(error_code(&app, "ping", &[("u", &user.email), ("p", password)]).await, 40);
        let other = browser.post_form("/profile/nonsense", &[("csrf", &csrf), ("name", "x")]).await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

/// A Python with py-opensonic (PyPI): `ARCHIVE_PYSONIC`, else `python3` if
/// it has the library. `None` (the test skips) unless
/// `ARCHIVE_TEST_REQUIRE_PYSONIC=1`, as CI sets.
fn opensonic_python() -> Option<String> {
    let candidate = std::env::var("ARCHIVE_PYSONIC").unwrap_or_else(|_| "python3".to_owned());
    let has_library = std::process::Command::new(&candidate)
        .args(["-c", "import libopensonic"])
        .output()
        .is_ok_and(|out| out.status.success());
    if has_library {
        return Some(candidate);
    }
    assert!(
        std::env::var("ARCHIVE_TEST_REQUIRE_PYSONIC").as_deref() != Ok("1"),
        "py-opensonic is required (ARCHIVE_TEST_REQUIRE_PYSONIC=1) but {candidate} cannot import libopensonic"
    );
    eprintln!("skipped: py-opensonic is not installed (set ARCHIVE_PYSONIC to a Python that has it)");
    None
}

#[tokio::test]
async fn an_independent_client_library_walks_the_library_with_a_token_and_with_an_api_key() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let Some(python) = opensonic_python() else { return };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/clients/opensonic_walk.py");
    on_each_backend(|app| {
        let python = python.clone();
        async move {
            let user = app.user(Role::Moderator).await;
            let dir = tempfile::tempdir().unwrap();
            let mut form = reqwest::multipart::Form::new();
            for (i, title) in ["First Light", "Second Wind", "Third Rail"].iter().enumerate() {
                let path = dir.path().join(format!("{title}.mp3"));
                let tags = archive_testkit::audio::full_tags(title, "Walker", "Walked");
                archive_testkit::audio::make(
                    &path,
                    archive_testkit::audio::format("mp3"),
                    &tags,
                    1.0,
                    330 + 40 * i as u32,
                );
                form = form.part("file", crate::media::file_part(&path));
            }
            let (status, uploaded) = crate::media::upload(&app, &user.token, form).await;
            assert_eq!(status, StatusCode::CREATED, "{uploaded}");
            let (_, made) =
                app.post("/api/v1/me/subsonic-app-passwords", &user.token, json!({"name": "ci"})).await;
            let password = made["password"].as_str().unwrap().to_owned();
            let (_, made) = app.post("/api/v1/me/subsonic-keys", &user.token, json!({"name": "ci"})).await;
            let key = made["key"].as_str().unwrap().to_owned();
            let (host, port) = app.base.rsplit_once(':').unwrap();
            let out = tokio::process::Command::new(&python)
                .args([script, host, port, &user.email, &password, &key, "3"])
                .output()
                .await
                .unwrap();
            let said =
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "py-opensonic: {said}");
            assert!(said.contains("py-opensonic walked the library"), "{said}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_play_queue_carries_over_between_apps_and_lyrics_come_from_the_file() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    on_each_backend(|app| async move {
        let songs = library_of(&app, 1, 3).await;
        let user = app.user(Role::Moderator).await;
        let (one, two, three) = (songs[0].to_string(), songs[1].to_string(), songs[2].to_string());
        let empty = json_of(&app, "getPlayQueue", &password_of(&user)).await;
        assert_eq!(empty["status"], "ok");
        assert!(empty.get("playQueue").is_none(), "no queue saved yet: {empty}");
        let saved = json_of(
            &app,
            "savePlayQueue",
            &params_of(
                &user,
                &[("id", &three), ("id", &one), ("id", &three), ("current", &one), ("position", "61000")],
            ),
        )
        .await;
        assert_eq!(saved["status"], "ok", "{saved}");
        // Another app (another client name) asks for it.
        let mut other_app = params_of(&user, &[]);
        other_app.retain(|(k, _)| *k != "c");
        other_app.push(("c", "Desktop"));
        let queue = json_of(&app, "getPlayQueue", &other_app).await;
        let queue = &queue["playQueue"];
        let order: Vec<&str> =
            queue["entry"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(order, [three.as_str(), one.as_str(), three.as_str()]);
        assert_eq!(
            (queue["current"].as_str(), queue["position"].as_i64()),
            (Some(one.as_str()), Some(61000))
        );
        assert_eq!(queue["changedBy"], "test");
        let bad = params_of(&user, &[("id", &one), ("current", &two)]);
        assert_eq!(error_code(&app, "savePlayQueue", &bad).await, 0, "current must be in the queue");
        assert_eq!(json_of(&app, "savePlayQueue", &password_of(&user)).await["status"], "ok");
        assert!(
            json_of(&app, "getPlayQueue", &password_of(&user)).await.get("playQueue").is_none(),
            "cleared"
        );

        // Lyrics embedded in a file; none for a song without a file here.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Sung.flac");
        let mut tags = archive_testkit::audio::full_tags("Sung", "Singer", "Songs");
        tags.push(("lyrics", "First line\nSecond line"));
        archive_testkit::audio::make(&path, archive_testkit::audio::format("flac"), &tags, 1.0, 440);
        let form = reqwest::multipart::Form::new().part("file", crate::media::file_part(&path));
        let (status, uploaded) = crate::media::upload(&app, &user.token, form).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let sung = uploaded["songs"][0]["id"].as_str().unwrap().to_owned();
        let lyrics = json_of(&app, "getLyricsBySongId", &params_of(&user, &[("id", &sung)])).await;
        let structured = &lyrics["lyricsList"]["structuredLyrics"][0];
        assert_eq!(structured["synced"], false, "{lyrics}");
        assert_eq!(structured["line"], json!([{"value": "First line"}, {"value": "Second line"}]));
        let none = json_of(&app, "getLyricsBySongId", &params_of(&user, &[("id", &one)])).await;
        assert_eq!(none["lyricsList"]["structuredLyrics"], json!([]));
        let extensions = json_of(&app, "getOpenSubsonicExtensions", &[]).await;
        assert!(extensions.to_string().contains("songLyrics"));
    })
    .await;
}

/// Uploads a FLAC tone of `seconds` (silence at frequency 0) as `user`:
/// the song's id and the file's bytes.
async fn upload_flac(
    app: &App,
    user: &TestUser,
    name: &str,
    seconds: f64,
    frequency: u32,
) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.flac"));
    let tags = archive_testkit::audio::full_tags(name, "Quiet", "Rests");
    archive_testkit::audio::make(&path, archive_testkit::audio::format("flac"), &tags, seconds, frequency);
    let form = reqwest::multipart::Form::new().part("file", crate::media::file_part(&path));
    let (status, uploaded) = crate::media::upload(app, &user.token, form).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    (uploaded["songs"][0]["id"].as_str().unwrap().to_owned(), std::fs::read(&path).unwrap())
}

/// Reads an answer's audio back: its format, bit rate and length.
fn probe(bytes: &[u8], name: &str) -> archive_media::TrackInfo {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    archive_media::read_track(&path).unwrap_or_else(|e| panic!("{name} is not audio: {e}"))
}

#[tokio::test]
async fn stream_transcodes_to_the_rate_and_format_asked_and_caps_how_many_run_at_once() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let settings = [("ARCHIVE_TRANSCODE_LIMIT", "1".to_owned())];
    crate::support::on_each_backend_with(&settings, |app| async move {
        let user = app.user(Role::Moderator).await;
        // A tone of twenty seconds (its FLAC far above 96 kbit/s), and ten
        // minutes of silence: a small FLAC, but a long transcode.
        let (tone, tone_bytes) = upload_flac(&app, &user, "Tone", 20.0, 440).await;
        let (long, _) = upload_flac(&app, &user, "Long", 600.0, 0).await;
        let url = |song: &str, extra: &[(&str, &str)]| {
            let mut params = params_of(&user, &[("id", song)]);
            params.extend_from_slice(extra);
            let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
            format!("{}/rest/stream?{query}", app.base)
        };

        // A limit below the file's rate: an MP3 at that rate, without ranges.
        let mp3 = app.client.get(url(&tone, &[("maxBitRate", "96")])).send().await.unwrap();
        assert_eq!(mp3.status(), StatusCode::OK);
        assert_eq!(mp3.headers()[reqwest::header::CONTENT_TYPE], "audio/mpeg");
        assert_eq!(mp3.headers()[reqwest::header::ACCEPT_RANGES], "none");
        let info = probe(&mp3.bytes().await.unwrap(), "out.mp3");
        assert_eq!(info.format.name(), "mp3");
        assert!(info.bitrate.is_some_and(|k| (90..=100).contains(&k)), "{:?}", info.bitrate);
        let seconds = info.duration_ms.unwrap() as f64 / 1000.0;
        assert!((19.0..=21.0).contains(&seconds), "the whole song: {seconds}");

        // Another format by name, from the offset asked.
        let opus =
            app.client.get(url(&tone, &[("format", "opus"), ("timeOffset", "15")])).send().await.unwrap();
        assert_eq!(opus.headers()[reqwest::header::CONTENT_TYPE], "audio/ogg");
        let info = probe(&opus.bytes().await.unwrap(), "out.opus");
        assert_eq!(info.format.name(), "opus");
        let seconds = info.duration_ms.unwrap() as f64 / 1000.0;
        assert!((4.0..=6.0).contains(&seconds), "five seconds from 15 s: {seconds}");

        // raw never transcodes; a limit of 0 is none, so the file is sent as it is.
        for extra in [&[("format", "raw"), ("maxBitRate", "96")][..], &[("maxBitRate", "0")][..]] {
            let raw = app.client.get(url(&tone, extra)).send().await.unwrap();
            assert_eq!(raw.headers()[reqwest::header::CONTENT_TYPE], "audio/flac", "{extra:?}");
            assert!(raw.bytes().await.unwrap().as_ref() == tone_bytes.as_slice(), "{extra:?}");
        }

        // One transcode at most: a second waits its turn with 429, and the
        // slot comes back when the first app hangs up.
        let held =
            app.client.get(url(&long, &[("format", "mp3"), ("maxBitRate", "320")])).send().await.unwrap();
        assert_eq!(held.status(), StatusCode::OK);
        let refused = app.client.get(url(&tone, &[("format", "mp3")])).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key(reqwest::header::RETRY_AFTER));
        drop(held);
        let mut served = false;
        for _ in 0..100 {
            let again =
                app.client.get(url(&tone, &[("format", "mp3"), ("timeOffset", "19")])).send().await.unwrap();
            if again.status() == StatusCode::OK {
                served = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(served, "the slot came back within 10 s of the app hanging up");

        // A bad number is the app's mistake, said in the envelope.
        assert_eq!(
            error_code(&app, "stream", &params_of(&user, &[("id", &tone), ("maxBitRate", "-5")])).await,
            0
        );
        let extensions = json_of(&app, "getOpenSubsonicExtensions", &[]).await;
        assert!(extensions.to_string().contains("transcodeOffset"));
    })
    .await;
}

#[tokio::test]
async fn with_transcoding_off_stream_sends_the_original_whatever_the_app_asks() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let settings = [("ARCHIVE_TRANSCODE_LIMIT", "0".to_owned())];
    crate::support::on_each_backend_with(&settings, |app| async move {
        let user = app.user(Role::Moderator).await;
        let (song, original) = upload_flac(&app, &user, "Plain", 2.0, 440).await;
        let params = params_of(&user, &[("id", &song), ("format", "mp3"), ("maxBitRate", "64")]);
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let answer = app.client.get(format!("{}/rest/stream?{query}", app.base)).send().await.unwrap();
        assert_eq!(answer.headers()[reqwest::header::CONTENT_TYPE], "audio/flac");
        assert!(answer.bytes().await.unwrap().as_ref() == original.as_slice());
    })
    .await;
}

/// Every artist name in a `getArtists` answer.
async fn artist_names(app: &App, user: &TestUser) -> Vec<String> {
    let answer = json_of(app, "getArtists", &password_of(user)).await;
    let index = answer["artists"]["index"].as_array().cloned().unwrap_or_default();
    index
        .iter()
        .flat_map(|group| group["artist"].as_array().cloned().unwrap_or_default())
        .map(|artist| artist["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_artist_index_apps_read_follows_every_change_on_this_node_and_from_the_master() {
    on_each_backend(|app| async move {
        let moderator = app.user(Role::Moderator).await;
        assert!(artist_names(&app, &moderator).await.is_empty());
        let (_, made) = app.post("/api/v1/artists", &moderator.token, json!({"name": "Arrived"})).await;
        assert_eq!(artist_names(&app, &moderator).await, ["Arrived"], "a new artist shows at once");
        // getIndexes says when the index last changed, and leaves it out
        // for an app that has it already.
        let indexes = |since: Option<String>| {
            let (app, moderator) = (&app, &moderator);
            async move {
                let mut params = password_of(moderator);
                if let Some(since) = &since {
                    params.push(("ifModifiedSince", since.as_str()));
                }
                json_of(app, "getIndexes", &params).await["indexes"].clone()
            }
        };
        let first = indexes(None).await;
        let changed_at = first["lastModified"].as_i64().unwrap();
        assert_eq!(first["index"].as_array().map(Vec::len), Some(1), "{first}");
        let unchanged = indexes(Some(changed_at.to_string())).await;
        assert_eq!(unchanged["index"], json!([]), "nothing new since: {unchanged}");
        let id = made["id"].as_str().unwrap();
        app.patch(&format!("/api/v1/artists/{id}"), &moderator.token, json!({"name": "Renamed"})).await;
        assert_eq!(artist_names(&app, &moderator).await, ["Renamed"], "so does a new name");
        let after = indexes(Some(changed_at.to_string())).await;
        assert!(after["lastModified"].as_i64().unwrap() > changed_at, "{after}");
        assert_eq!(after["index"].as_array().map(Vec::len), Some(1), "the rename is news: {after}");
    })
    .await;
    for (master_backend, slave_backend) in crate::sync::pairs() {
        let pair = crate::sync::Pair::start(master_backend, slave_backend).await;
        let user = &pair.slave_admin;
        pair.settle().await;
        assert!(!artist_names(&pair.slave, user).await.contains(&"From Afar".to_owned()));
        let token = &pair.master_admin.token;
        let (status, made) = pair.master.post("/api/v1/artists", token, json!({"name": "From Afar"})).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        pair.sync().await;
        let after = artist_names(&pair.slave, user).await;
        assert!(after.contains(&"From Afar".to_owned()), "what the slave applied shows: {after:?}");
        pair.stop().await;
    }
}

/// Checks that an XML element says what a JSON object says, by Subsonic's
/// mapping: a scalar field is an attribute (its text the JSON value's), an
/// object one child element, an array repeated child elements, `value`
/// the element's text; every element in Subsonic's namespace.
fn same_in_both(path: &str, json: &Value, xml: roxmltree::Node) {
    assert_eq!(xml.tag_name().namespace(), Some(NAMESPACE), "{path}: namespace");
    let object = json.as_object().unwrap_or_else(|| panic!("{path}: not an object: {json}"));
    let children = |name: &str| -> Vec<roxmltree::Node> {
        xml.children().filter(|c| c.is_element() && c.tag_name().name() == name).collect()
    };
    for (key, value) in object {
        let here = format!("{path}/{key}");
        match value {
            Value::Object(_) => {
                let found = children(key);
                assert_eq!(found.len(), 1, "{here}: one element");
                same_in_both(&here, value, found[0]);
            }
            Value::Array(items) => {
                let found = children(key);
                assert_eq!(found.len(), items.len(), "{here}: as many elements as items");
                for (item, element) in items.iter().zip(found) {
                    match item {
                        Value::Object(_) => same_in_both(&here, item, element),
                        scalar => assert_eq!(element.text().unwrap_or(""), scalar_text(scalar), "{here}"),
                    }
                }
            }
            _ if key == "value" => assert_eq!(xml.text().unwrap_or(""), scalar_text(value), "{here}: text"),
            scalar => assert_eq!(xml.attribute(key.as_str()), Some(scalar_text(scalar).as_str()), "{here}"),
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn every_method_says_the_same_in_xml_and_json_with_typed_json_values() {
    on_each_backend(|app| async move {
        let (artist, album, song) = small_library(&app).await;
        let user = app.user(Role::Admin).await;
        let (artist, album, song) = (artist.to_string(), album.to_string(), song.to_string());
        let playlist =
            json_of(&app, "createPlaylist", &params_of(&user, &[("name", "Mix"), ("songId", &song)])).await;
        let playlist = playlist["playlist"]["id"].as_str().unwrap().to_owned();
        for (id_kind, method) in [("id", "star"), ("albumId", "star"), ("artistId", "star")] {
            let target = match id_kind {
                "albumId" => &album,
                "artistId" => &artist,
                _ => &song,
            };
            assert_eq!(json_of(&app, method, &params_of(&user, &[(id_kind, target)])).await["status"], "ok");
        }
        json_of(&app, "setRating", &params_of(&user, &[("id", &song), ("rating", "4")])).await;
        json_of(&app, "savePlayQueue", &params_of(&user, &[("id", &song), ("current", &song)])).await;
        let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("ping", vec![]),
            ("getLicense", vec![]),
            ("getMusicFolders", vec![]),
            ("getUser", vec![("username", &user.email)]),
            ("getArtists", vec![]),
            ("getArtist", vec![("id", &artist)]),
            ("getAlbum", vec![("id", &album)]),
            ("getSong", vec![("id", &song)]),
            ("getGenres", vec![]),
            ("getIndexes", vec![]),
            ("getMusicDirectory", vec![("id", &artist)]),
            ("getMusicDirectory", vec![("id", &album)]),
            ("getArtistInfo2", vec![("id", &artist)]),
            ("getAlbumInfo2", vec![("id", &album)]),
            ("getSimilarSongs2", vec![("id", &song)]),
            ("getTopSongs", vec![("artist", "Björk")]),
            ("getAlbumList2", vec![("type", "alphabeticalByName")]),
            ("getAlbumList", vec![("type", "starred")]),
            ("getSongsByGenre", vec![("genre", "Art Pop")]),
            ("getStarred2", vec![]),
            ("getStarred", vec![]),
            ("getNowPlaying", vec![]),
            ("getPlaylists", vec![]),
            ("getPlaylist", vec![("id", &playlist)]),
            ("getPlayQueue", vec![]),
            ("getLyricsBySongId", vec![("id", &song)]),
            ("getScanStatus", vec![]),
            ("search3", vec![("query", "")]),
            ("search2", vec![("query", "hunter")]),
            ("getOpenSubsonicExtensions", vec![]),
        ];
        for (method, extra) in calls {
            let params = params_of(&user, &extra);
            let json = json_of(&app, method, &params).await;
            assert_eq!(json["status"], "ok", "{method}: {json}");
            let (_, xml) = rest(&app, method, &params).await;
            check_xml_envelope(&xml, "ok");
            let document = roxmltree::Document::parse(&xml).unwrap();
            same_in_both(method, &json, document.root_element());
        }
        // Types an app parses: numbers and booleans are JSON numbers and booleans.
        let song = &json_of(&app, "getSong", &params_of(&user, &[("id", &song)])).await["song"];
        assert!(song["duration"].is_i64() && song["track"].is_i64() && song["isDir"].is_boolean(), "{song}");
        assert!(song["userRating"].is_i64() && song["starred"].is_string(), "{song}");
    })
    .await;
}

#[tokio::test]
async fn one_user_holds_at_most_half_the_transcodes_so_another_still_gets_one() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let settings = [("ARCHIVE_TRANSCODE_LIMIT", "2".to_owned())];
    crate::support::on_each_backend_with(&settings, |app| async move {
        let greedy = app.user(Role::Moderator).await;
        let other = app.user(Role::User).await;
        // Ten minutes of silence: a small file, but a long transcode.
        let (long, _) = upload_flac(&app, &greedy, "Long", 600.0, 0).await;
        let url = |user: &TestUser| {
            let params = params_of(user, &[("id", long.as_str()), ("format", "mp3"), ("maxBitRate", "320")]);
            let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
            format!("{}/rest/stream?{query}", app.base)
        };
        let held = app.client.get(url(&greedy)).send().await.unwrap();
        assert_eq!(held.status(), StatusCode::OK);
        let second = app.client.get(url(&greedy)).send().await.unwrap();
        assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS, "one of two is this user's share");
        assert!(second.text().await.unwrap().contains("your share"));
        let others = app.client.get(url(&other)).send().await.unwrap();
        assert_eq!(others.status(), StatusCode::OK, "another user still gets the second");
        drop((held, others));
    })
    .await;
}
