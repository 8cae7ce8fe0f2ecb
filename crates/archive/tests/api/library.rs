//! Artists, genres, albums and songs through the API: create, read, update,
//! delete, lists, filters and validation.

use archive_db::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, code, id, on_each_backend};

/// Create, read, update and delete one resource, and its list.
async fn crud(
    app: &App,
    token: &str,
    admin: &str,
    resource: &str,
    create: Value,
    update: Value,
    field: &str,
) {
    let base = format!("/api/v1/{resource}");
    let (status, created) = app.post(&base, token, create.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{resource}: {created}");
    let item = format!("{base}/{}", id(&created));
    assert!(created["version"].as_i64().unwrap() > 0);

    let (status, read) = app.get(&item, token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read[field], created[field]);

    let (status, updated) = app.patch(&item, token, update.clone()).await;
    assert_eq!(status, StatusCode::OK, "{resource}: {updated}");
    for (key, value) in update.as_object().unwrap() {
        assert_eq!(&updated[key], value, "{resource}.{key}");
    }
    assert!(updated["version"].as_i64() > created["version"].as_i64(), "the version moves on");

    let (status, list) = app.get(&base, token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list["items"].as_array().unwrap().iter().any(|i| i["id"] == created["id"]));

    let (status, _) = app.delete(&item, admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&item, token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "not_found");
    assert_eq!(app.delete(&item, admin).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_library_resource_supports_create_read_update_delete() {
    on_each_backend(|app| async move {
        let moderator = app.user(Role::Moderator).await.token;
        let admin = app.user(Role::Admin).await.token;
        crud(
            &app,
            &moderator,
            &admin,
            "artists",
            json!({"name": "Nina Simone"}),
            json!({"name": "Nina", "biography": "Singer"}),
            "name",
        )
        .await;
        crud(
            &app,
            &moderator,
            &admin,
            "genres",
            json!({"name": "Jazz"}),
            json!({"name": "Soul Jazz"}),
            "name",
        )
        .await;
        let (_, artist) = app.post("/api/v1/artists", &moderator, json!({"name": "Miles Davis"})).await;
        crud(
            &app,
            &moderator,
            &admin,
            "albums",
            json!({"title": "Kind of Blue", "artist_id": artist["id"], "year": 1959}),
            json!({"title": "Kind of Blue (Legacy)", "year": null}),
            "title",
        )
        .await;
        crud(
            &app,
            &moderator,
            &admin,
            "songs",
            json!({"title": "So What", "artist_id": artist["id"], "track_number": 1, "duration_ms": 562000}),
            json!({"title": "So What (take 2)", "track_number": 2, "artist_id": null}),
            "title",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn an_album_comes_with_its_songs_in_disc_and_track_order() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        let (_, album) = app.post("/api/v1/albums", &m, json!({"title": "Double"})).await;
        for (title, disc, track) in [
            ("c", json!(2), json!(1)),
            ("b", json!(1), json!(2)),
            ("a", json!(1), json!(1)),
            ("loose", Value::Null, Value::Null),
        ] {
            let body =
                json!({"title": title, "album_id": album["id"], "disc_number": disc, "track_number": track});
            assert_eq!(app.post("/api/v1/songs", &m, body).await.0, StatusCode::CREATED);
        }
        let (status, body) = app.get(&format!("/api/v1/albums/{}", id(&album)), &m).await;
        assert_eq!(status, StatusCode::OK);
        let titles: Vec<&str> =
            body["songs"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["a", "b", "c", "loose"]);
        assert_eq!(body["title"], "Double");
    })
    .await;
}

#[tokio::test]
async fn song_lists_filter_by_artist_album_genre_and_year() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        let (_, artist) = app.post("/api/v1/artists", &m, json!({"name": "A"})).await;
        let (_, genre) = app.post("/api/v1/genres", &m, json!({"name": "G"})).await;
        let (_, album) = app.post("/api/v1/albums", &m, json!({"title": "T", "artist_id": artist["id"]})).await;
        app.post("/api/v1/songs", &m, json!({"title": "match", "artist_id": artist["id"], "album_id": album["id"], "genre_id": genre["id"], "year": 2001})).await;
        app.post("/api/v1/songs", &m, json!({"title": "other", "year": 1999})).await;
        for query in [
            format!("artist_id={}", id(&artist)),
            format!("album_id={}", id(&album)),
            format!("genre_id={}", id(&genre)),
            "year=2001".to_owned(),
        ] {
            let (status, body) = app.get(&format!("/api/v1/songs?{query}"), &m).await;
            assert_eq!(status, StatusCode::OK);
            let titles: Vec<&str> = body["items"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
            assert_eq!(titles, ["match"], "{query}");
        }
        let (_, body) = app.get(&format!("/api/v1/albums?artist_id={}", id(&artist)), &m).await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn lists_page_with_cursors_and_offsets_and_sort_both_ways() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        for i in 0..7 {
            app.post("/api/v1/genres", &m, json!({"name": format!("Genre {i}")})).await;
        }
        let mut names = Vec::new();
        let mut path = "/api/v1/genres?limit=3".to_owned();
        loop {
            let (status, body) = app.get(&path, &m).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["limit"], 3);
            names.extend(
                body["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_owned()),
            );
            match body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/genres?limit=3&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(names, (0..7).map(|i| format!("Genre {i}")).collect::<Vec<_>>());

        let (_, body) = app.get("/api/v1/genres?limit=2&offset=5", &m).await;
        let page: Vec<&str> =
            body["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(page, ["Genre 5", "Genre 6"]);
        assert!(body["next_cursor"].is_null());

        let (_, body) = app.get("/api/v1/genres?limit=1&order=desc", &m).await;
        assert_eq!(body["items"][0]["name"], "Genre 6");
        let (_, body) = app.get("/api/v1/genres?sort=created_at&order=asc&limit=1", &m).await;
        assert_eq!(body["items"][0]["name"], "Genre 0");
        let (_, body) = app.get("/api/v1/genres?offset=100", &m).await;
        assert_eq!(body["items"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn bad_paging_and_filter_parameters_get_422_naming_the_parameter() {
    on_each_backend(|app| async move {
        let t = app.user(Role::User).await.token;
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("limit=ten", "limit"),
            ("offset=-1", "offset"),
            ("order=sideways", "order"),
            ("sort=password", "sort"),
            ("cursor=nonsense", "cursor"),
            ("artist_id=42", "artist_id"),
            ("year=old", "year"),
            ("colour=red", "colour"),
        ] {
            let (status, body) = app.get(&format!("/api/v1/songs?{query}"), &t).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
            assert_eq!(body["error"]["field"], field, "{query}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_bodies_get_clear_errors() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        for (body, field) in [
            (json!({"name": 5}), "name"),
            (json!({"name": "A", "colour": "red"}), "colour"),
            (json!({}), "name"),
            (json!({"name": "   "}), "name"),
            (json!({"name": "A", "biography": ["not", "text"]}), "biography"),
        ] {
            let (status, resp) = app.post("/api/v1/artists", &m, body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
            assert_eq!(resp["error"]["field"], field, "{body}: {resp}");
            assert!(!resp["error"]["message"].as_str().unwrap().is_empty());
        }
        let (status, resp) = app.post("/api/v1/songs", &m, json!({"title": "x", "year": 99999})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(resp["error"]["field"], "year");
        let (status, resp) =
            app.post("/api/v1/songs", &m, json!({"title": "x", "album_id": uuid::Uuid::new_v4()})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{resp}");

        let resp = app
            .client
            .post(format!("{}/api/v1/artists", app.base))
            .bearer_auth(&m)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let resp = app
            .client
            .post(format!("{}/api/v1/artists", app.base))
            .bearer_auth(&m)
            .body("name=A")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (status, resp) = app.get("/api/v1/artists/not-a-uuid", &m).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{resp}");
        assert_eq!(app.get("/api/v1/no-such-thing", &m).await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn duplicate_artist_names_conflict_whatever_their_case_and_spacing() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        assert_eq!(
            app.post("/api/v1/artists", &m, json!({"name": "The Beatles"})).await.0,
            StatusCode::CREATED
        );
        let (status, body) = app.post("/api/v1/artists", &m, json!({"name": "  the   BEATLES "})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(code(&body), "conflict");
    })
    .await;
}

#[tokio::test]
async fn deleting_an_artist_keeps_its_songs() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        let admin = app.user(Role::Admin).await.token;
        let (_, artist) = app.post("/api/v1/artists", &m, json!({"name": "Gone"})).await;
        let (_, song) =
            app.post("/api/v1/songs", &m, json!({"title": "Stays", "artist_id": artist["id"]})).await;
        assert_eq!(
            app.delete(&format!("/api/v1/artists/{}", id(&artist)), &admin).await.0,
            StatusCode::NO_CONTENT
        );
        let (status, body) = app.get(&format!("/api/v1/songs/{}", id(&song)), &m).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["artist_id"].is_null());
        assert!(body["version"].as_i64() > song["version"].as_i64(), "the change to the song is recorded");
    })
    .await;
}

#[tokio::test]
async fn health_reports_status_version_role_and_node() {
    on_each_backend(|app| async move {
        let (status, body) = app.call(reqwest::Method::GET, "/api/v1/health", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["role"], "standalone");
        assert_eq!(body["checks"]["database"], "ok");
        assert!(body["version"].is_string() && body["node_id"].is_string());
    })
    .await;
}
