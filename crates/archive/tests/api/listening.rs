//! Plays, favourites and ratings are per user.

use archive_db::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{id, on_each_backend};

#[tokio::test]
async fn plays_favourites_and_ratings_are_kept_per_user() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        let alice = app.user(Role::User).await.token;
        let bob = app.user(Role::User).await.token;
        let (_, one) = app.post("/api/v1/songs", &m, json!({"title": "One"})).await;
        let (_, two) = app.post("/api/v1/songs", &m, json!({"title": "Two"})).await;
        let (one, two) = (id(&one), id(&two));

        for _ in 0..3 {
            let (status, play) =
                app.call(Method::POST, &format!("/api/v1/songs/{one}/play"), Some(&alice), None).await;
            assert_eq!(status, StatusCode::CREATED);
            assert_eq!(play["song_id"], one.as_str());
        }
        app.call(Method::POST, &format!("/api/v1/songs/{two}/play"), Some(&alice), None).await;
        assert_eq!(
            app.call(Method::PUT, &format!("/api/v1/songs/{one}/favourite"), Some(&alice), None).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.call(
                Method::PUT,
                &format!("/api/v1/songs/{one}/rating"),
                Some(&alice),
                Some(json!({"rating": 5}))
            )
            .await
            .0,
            StatusCode::NO_CONTENT
        );

        let (status, data) = app.get(&format!("/api/v1/songs/{one}/listening"), &alice).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(data["play_count"], 3);
        assert_eq!(data["favourite"], true);
        assert_eq!(data["rating"], 5);
        assert!(data["last_played_at"].is_string());

        let (_, theirs) = app.get(&format!("/api/v1/songs/{one}/listening"), &bob).await;
        assert_eq!(theirs["play_count"], 0);
        assert_eq!(theirs["favourite"], false);
        assert!(theirs["rating"].is_null());

        let (_, favourites) = app.get("/api/v1/me/favourites", &alice).await;
        assert_eq!(favourites["items"][0]["id"], one.as_str());
        let (_, most) = app.get("/api/v1/me/most-played", &alice).await;
        assert_eq!(most["items"][0]["song_id"], one.as_str());
        assert_eq!(most["items"][0]["play_count"], 3);
        let (_, recent) = app.get("/api/v1/me/recently-played?limit=2", &alice).await;
        assert_eq!(recent["items"][0]["song_id"], two.as_str());
        assert!(recent["next_cursor"].is_string());

        app.call(Method::DELETE, &format!("/api/v1/songs/{one}/favourite"), Some(&alice), None).await;
        app.call(
            Method::PUT,
            &format!("/api/v1/songs/{one}/rating"),
            Some(&alice),
            Some(json!({"rating": null})),
        )
        .await;
        let (_, data) = app.get(&format!("/api/v1/songs/{one}/listening"), &alice).await;
        assert_eq!(data["favourite"], false);
        assert!(data["rating"].is_null());

        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/api/v1/songs/{one}/rating"),
                Some(&alice),
                Some(json!({"rating": 6})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "rating");
        let missing = uuid::Uuid::new_v4();
        assert_eq!(
            app.call(Method::POST, &format!("/api/v1/songs/{missing}/play"), Some(&alice), None).await.0,
            StatusCode::NOT_FOUND
        );
    })
    .await;
}
