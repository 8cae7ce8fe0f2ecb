//! User management by admins, and each user's own account.

use archive_db::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{PASSWORD, code, id, on_each_backend};

#[tokio::test]
async fn admins_create_read_update_and_delete_users() {
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let t = &admin.token;
        let (status, user) =
            app.post("/api/v1/users", t, json!({"email": "New@Example.org", "name": "New", "role": "moderator", "password": "long enough"})).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        assert_eq!(user["email"], "new@example.org");
        assert_eq!(user["role"], "moderator");
        assert!(user.get("password_hash").is_none());
        let path = format!("/api/v1/users/{}", id(&user));

        let (status, body) = app.post("/api/v1/users", t, json!({"email": "new@example.org", "name": "Again", "role": "user", "password": "long enough"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, body) = app.post("/api/v1/users", t, json!({"email": "x@example.org", "name": "X", "role": "owner", "password": "long enough"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "role");
        let (status, body) = app.post("/api/v1/users", t, json!({"email": "y@example.org", "name": "Y", "role": "user", "password": "short"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "password");
        let (status, body) = app.post("/api/v1/users", t, json!({"email": "not-an-email", "name": "Z", "role": "user", "password": "long enough"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "email");

        let (status, updated) = app.patch(&path, t, json!({"role": "user", "name": "Renamed"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(updated["role"], "user");
        assert_eq!(app.get(&path, t).await.1["name"], "Renamed");
        let (_, list) = app.get("/api/v1/users", t).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);

        let login = json!({"email": "new@example.org", "password": "long enough"});
        assert_eq!(app.call(Method::POST, "/api/v1/auth/login", None, Some(login)).await.0, StatusCode::OK);
        assert_eq!(app.delete(&path, t).await.0, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path, t).await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_deleted() {
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let path = format!("/api/v1/users/{}", admin.id);
        let (status, body) = app.patch(&path, &admin.token, json!({"role": "user"})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(code(&body), "conflict");
        assert_eq!(app.delete(&path, &admin.token).await.0, StatusCode::CONFLICT);
        assert_eq!(app.get("/api/v1/me", &admin.token).await.1["role"], "admin");
        let second = app.user(Role::Admin).await;
        assert_eq!(app.patch(&path, &second.token, json!({"role": "user"})).await.0, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn an_admin_password_reset_ends_the_users_sessions() {
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let user = app.user(Role::User).await;
        let (status, _) = app
            .patch(&format!("/api/v1/users/{}", user.id), &admin.token, json!({"password": "a new password"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(app.get("/api/v1/me", &user.token).await.0, StatusCode::UNAUTHORIZED);
        let login = json!({"email": user.email, "password": "a new password"});
        assert_eq!(app.call(Method::POST, "/api/v1/auth/login", None, Some(login)).await.0, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn users_edit_their_own_name_and_password() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let (status, me) = app.patch("/api/v1/me", &user.token, json!({"name": "Me"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["name"], "Me");
        let (status, body) = app
            .patch(
                "/api/v1/me",
                &user.token,
                json!({"password": "another password", "current_password": "wrong"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "current_password");
        let (status, body) = app
            .patch(
                "/api/v1/me",
                &user.token,
                json!({"password": "another password", "current_password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let new_token = body["token"].as_str().expect("a new token after a password change");
        assert_eq!(app.get("/api/v1/me", &user.token).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/me", new_token).await.0, StatusCode::OK);
        let (status, _) = app.patch("/api/v1/me", new_token, json!({"role": "admin"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no one promotes themselves");
    })
    .await;
}
