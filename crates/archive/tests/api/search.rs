//! `GET /api/v1/search`: ranked, prefix, accent-insensitive search over HTTP.

use archive_db::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{code, id, on_each_backend};

fn names(list: &Value, field: &str) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i[field].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn search_finds_songs_artists_and_albums_as_one_types() {
    on_each_backend(|app| async move {
        let moderator = app.user(Role::Moderator).await.token;
        let user = app.user(Role::User).await.token;
        let (_, artist) = app.post("/api/v1/artists", &moderator, json!({"name": "Beyoncé"})).await;
        let (_, album) = app
            .post("/api/v1/albums", &moderator, json!({"title": "Lemonade", "artist_id": id(&artist)}))
            .await;
        for title in ["Formation", "Hold Up", "Sorry"] {
            let body = json!({"title": title, "artist_id": id(&artist), "album_id": id(&album)});
            assert_eq!(app.post("/api/v1/songs", &moderator, body).await.0, StatusCode::CREATED);
        }

        let (status, found) = app.get("/api/v1/search?q=beyonce%20form", &user).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["query"], "beyonce form");
        assert_eq!(names(&found["songs"], "title"), ["Formation"]);
        assert!(names(&found["artists"], "name").is_empty(), "\"form\" is not in the artist's name");

        let (_, found) = app.get("/api/v1/search?q=BEYON", &user).await;
        assert_eq!(names(&found["artists"], "name"), ["Beyoncé"]);
        assert_eq!(names(&found["albums"], "title"), ["Lemonade"]);
        assert_eq!(found["songs"]["items"].as_array().unwrap().len(), 3);

        let (_, only_songs) = app.get("/api/v1/search?q=beyonce&type=song&limit=2", &user).await;
        assert!(only_songs.get("artists").is_none() && only_songs.get("albums").is_none());
        assert_eq!(only_songs["songs"]["items"].as_array().unwrap().len(), 2);
        assert_eq!(only_songs["songs"]["next_offset"], 2);
        let (_, rest) = app.get("/api/v1/search?q=beyonce&type=song&limit=2&offset=2", &user).await;
        assert_eq!(rest["songs"]["items"].as_array().unwrap().len(), 1);
        assert_eq!(rest["songs"]["next_offset"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn search_requests_are_checked() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await.token;
        for (query, field) in [
            ("", "q"),
            ("?q=x&type=playlist", "type"),
            ("?q=x&limit=0", "limit"),
            ("?q=x&limit=101", "limit"),
            ("?q=x&offset=-1", "offset"),
            ("?q=x&colour=red", "colour"),
        ] {
            let (status, body) = app.get(&format!("/api/v1/search{query}"), &user).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
            assert_eq!(code(&body), "invalid", "{query}");
            assert_eq!(body["error"]["field"], field, "{query}: {body}");
        }
    })
    .await;
}
