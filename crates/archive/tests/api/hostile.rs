//! Malformed input from a client that means harm: every answer is a 4xx
//! with a message, never a 5xx, on both databases.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{code, on_each_backend};

#[tokio::test]
async fn a_nul_character_anywhere_is_a_422_naming_the_field_never_a_500() {
    on_each_backend(|app| async move {
        let admin = app.user(archive_db::Role::Admin).await;
        let login = json!({"email": "a\u{0}b@example.org", "password": "whatever"});
        let (status, body) = app.call(Method::POST, "/api/v1/auth/login", None, Some(login)).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
            "{body}"
        );
        for (path, field) in
            [("/api/v1/artists", "name"), ("/api/v1/genres", "name"), ("/api/v1/playlists", "name")]
        {
            let (status, body) = app.post(path, &admin.token, json!({"name": "Nul\u{0}Name"})).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert_eq!(body["error"]["field"], field, "{path}: {body}");
        }
        let (status, body) = app.get("/api/v1/search?q=a%00b", &admin.token).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("q")),
            "{body}"
        );
        let key = json!({"name": "bad\u{0}", "node_id": "home"});
        let (status, body) = app.post("/api/v1/sync/keys", &admin.token, key).await;
        assert!(status.is_client_error(), "{status} {body}");
    })
    .await;
}

#[tokio::test]
async fn json_with_anything_after_the_value_is_a_400() {
    on_each_backend(|app| async move {
        let admin = app.user(archive_db::Role::Admin).await;
        let response = app
            .client
            .post(format!("{}/api/v1/genres", app.base))
            .bearer_auth(&admin.token)
            .header("content-type", "application/json")
            .body(r#"{"name": "Trailing"} {"name": "garbage"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(code(&body), "bad_request", "{body}");
        assert!(app.db().genres(&Default::default()).await.unwrap().items.is_empty(), "nothing was written");
    })
    .await;
}

#[tokio::test]
async fn a_hand_made_cursor_of_the_wrong_type_is_a_422() {
    on_each_backend(|app| async move {
        let admin = app.user(archive_db::Role::Admin).await;
        let forge = |json: serde_json::Value| hex::encode(json.to_string());
        let id = uuid::Uuid::new_v4();
        for (path, cursor) in [
            (
                "/api/v1/songs?sort=created_at",
                forge(json!({"s": "created_at", "o": "asc", "v": 42, "id": id})),
            ),
            (
                "/api/v1/songs?sort=created_at",
                forge(json!({"s": "created_at", "o": "asc", "v": "yesterday", "id": id})),
            ),
            ("/api/v1/artists", forge(json!({"s": "name", "o": "asc", "v": 7, "id": id}))),
            ("/api/v1/artists", forge(json!({"s": "name", "o": "asc", "v": "a\u{0}", "id": id}))),
            ("/api/v1/artists", "zz".to_owned()),
        ] {
            let separator = if path.contains('?') { '&' } else { '?' };
            let (status, body) = app.get(&format!("{path}{separator}cursor={cursor}"), &admin.token).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {cursor}: {body}");
            assert_eq!(body["error"]["field"], "cursor", "{body}");
        }
    })
    .await;
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_and_without_logging_in() {
    on_each_backend(|app| async move {
        let response = app.client.head(format!("{}/api/v1/health", app.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.bytes().await.unwrap().is_empty());
        let (status, _) = app.call(Method::HEAD, "/api/v1/songs", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}
