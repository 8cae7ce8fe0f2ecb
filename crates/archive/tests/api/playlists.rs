//! Playlists: ownership, visibility, and ordered entries.

use archive_db::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, id, on_each_backend};

async fn song(app: &App, token: &str, title: &str) -> String {
    id(&app.post("/api/v1/songs", token, json!({"title": title})).await.1)
}

async fn order(app: &App, token: &str, playlist: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/api/v1/playlists/{playlist}/entries"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    for (i, e) in items.iter().enumerate() {
        assert_eq!(e["position"], i as i64, "positions are dense");
    }
    items.iter().map(|e| e["song_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_user_builds_reorders_and_trims_a_playlist() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        let user = app.user(Role::User).await;
        let t = &user.token;
        let (a, b, c) = (song(&app, &m, "a").await, song(&app, &m, "b").await, song(&app, &m, "c").await);

        let (status, playlist) =
            app.post("/api/v1/playlists", t, json!({"name": "Road trip", "description": "Long drive"})).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(playlist["owner_id"], user.id.to_string());
        assert_eq!(playlist["is_public"], false);
        let p = id(&playlist);
        let entries = format!("/api/v1/playlists/{p}/entries");
        let mut entry_ids = Vec::new();
        for s in [&a, &b, &c] {
            let (status, entry) = app.post(&entries, t, json!({"song_id": s})).await;
            assert_eq!(status, StatusCode::CREATED, "{entry}");
            entry_ids.push(id(&entry));
        }
        assert_eq!(order(&app, t, &p).await, [a.clone(), b.clone(), c.clone()]);

        // Move c to the front, insert a second a at position 1, remove b.
        let (status, moved) =
            app.patch(&format!("{entries}/{}", entry_ids[2]), t, json!({"position": 0})).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        assert_eq!(moved["position"], 0);
        app.post(&entries, t, json!({"song_id": a, "position": 1})).await;
        assert_eq!(order(&app, t, &p).await, [c.clone(), a.clone(), a.clone(), b.clone()]);
        assert_eq!(app.delete(&format!("{entries}/{}", entry_ids[1]), t).await.0, StatusCode::NO_CONTENT);
        assert_eq!(order(&app, t, &p).await, [c.clone(), a.clone(), a.clone()]);

        let (status, renamed) = app
            .patch(
                &format!("/api/v1/playlists/{p}"),
                t,
                json!({"name": "Trip", "is_public": true, "description": null}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(renamed["name"], "Trip");
        assert_eq!(renamed["description"], Value::Null);

        let (status, body) = app.post(&entries, t, json!({"song_id": uuid::Uuid::new_v4()})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "song_id");
        let (status, _) =
            app.patch(&format!("{entries}/{}", uuid::Uuid::new_v4()), t, json!({"position": 0})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        assert_eq!(app.delete(&format!("/api/v1/playlists/{p}"), t).await.0, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/api/v1/playlists/{p}"), t).await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn others_see_public_playlists_only_and_never_change_them() {
    on_each_backend(|app| async move {
        let owner = app.user(Role::User).await.token;
        let other = app.user(Role::Moderator).await.token;
        let admin = app.user(Role::Admin).await.token;
        let (_, private) = app.post("/api/v1/playlists", &owner, json!({"name": "Secret"})).await;
        let (_, public) =
            app.post("/api/v1/playlists", &owner, json!({"name": "Shared", "is_public": true})).await;
        let (private, public) = (id(&private), id(&public));

        assert_eq!(app.get(&format!("/api/v1/playlists/{private}"), &other).await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/playlists/{public}"), &other).await.0, StatusCode::OK);
        let (_, list) = app.get("/api/v1/playlists", &other).await;
        let names: Vec<&str> =
            list["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Shared"]);
        let (status, _) =
            app.patch(&format!("/api/v1/playlists/{public}"), &other, json!({"name": "Mine now"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(app.delete(&format!("/api/v1/playlists/{public}"), &other).await.0, StatusCode::FORBIDDEN);

        // Admins see and manage every playlist.
        let (_, list) = app.get("/api/v1/playlists", &admin).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert_eq!(
            app.patch(&format!("/api/v1/playlists/{private}"), &admin, json!({"name": "Renamed"})).await.0,
            StatusCode::OK
        );
    })
    .await;
}
