//! Logging in and out, refreshing and verifying tokens, and the throttle.

use archive_db::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{PASSWORD, code, on_each_backend, on_each_backend_with};

#[tokio::test]
async fn login_returns_a_token_that_works_until_logout() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": user.email.to_uppercase(), "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        assert!(body["expires_at"].is_string());
        assert_eq!(body["user"]["email"], user.email.as_str());
        assert!(body["user"].get("password_hash").is_none(), "the hash never leaves the server");

        let (status, body) = app.get("/api/v1/auth/verify", &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["user"]["id"], user.id.to_string());

        let (status, _) = app.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = app.get("/api/v1/auth/verify", &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&body), "unauthorized");
    })
    .await;
}

#[tokio::test]
async fn refresh_swaps_the_token_for_a_new_one() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let (status, body) = app.call(Method::POST, "/api/v1/auth/refresh", Some(&user.token), None).await;
        assert_eq!(status, StatusCode::OK);
        let new_token = body["token"].as_str().unwrap();
        assert_ne!(new_token, user.token);
        assert_eq!(app.get("/api/v1/auth/verify", new_token).await.0, StatusCode::OK);
        assert_eq!(app.get("/api/v1/auth/verify", &user.token).await.0, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn wrong_credentials_and_bad_tokens_are_refused() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        for body in [
            json!({"email": user.email, "password": "wrong password"}),
            json!({"email": "nobody@example.org", "password": PASSWORD}),
        ] {
            let (status, body) = app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(body["error"]["message"], "wrong email or password");
        }
        for header in ["arc_0000", "", "Basic abc"] {
            let resp = app
                .client
                .get(format!("{}/api/v1/me", app.base))
                .header("authorization", header)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        }
        let (status, body) =
            app.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "x"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "password");
    })
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let token = archive::auth::new_token();
        let mut tx = app.db().begin().await.unwrap();
        tx.insert_api_token(
            user.id,
            &archive::auth::hash_token(&token),
            archive_db::now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn repeated_failed_logins_for_one_account_are_rate_limited() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let attempt = |password: &'static str| {
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": user.email, "password": password})),
            )
        };
        for _ in 0..5 {
            assert_eq!(attempt("wrong password").await.0, StatusCode::UNAUTHORIZED);
        }
        let resp = app
            .client
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"email": user.email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after > 0 && retry_after <= 15 * 60);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "rate_limited");
    })
    .await;
}

#[tokio::test]
async fn many_failed_logins_from_one_address_are_rate_limited_across_accounts() {
    on_each_backend(|app| async move {
        let mut last = StatusCode::OK;
        for i in 0..21 {
            let body = json!({"email": format!("nobody{i}@example.org"), "password": "guess"});
            last = app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await.0;
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

/// A login from `address` (through a trusted reverse proxy on loopback).
async fn login_from(app: &crate::support::App, address: &str, email: &str, password: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_owner_logs_in_from_another_address_during_a_guessing_attack() {
    let settings = [("ARCHIVE_TRUSTED_PROXIES", "127.0.0.1, ::1".to_owned())];
    on_each_backend_with(&settings, |app| async move {
        let owner = app.user(Role::User).await;
        let mut answers = Vec::new();
        for _ in 0..8 {
            answers.push(login_from(&app, "203.0.113.7", &owner.email, "a guess").await);
        }
        assert_eq!(answers.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{answers:?}");
        assert_eq!(login_from(&app, "198.51.100.9", &owner.email, PASSWORD).await, StatusCode::OK);
        // The guesser's next try waits, even with the right password.
        assert_eq!(
            login_from(&app, "203.0.113.7", &owner.email, PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    on_each_backend(|app| async move {
        let owner = app.user(Role::User).await;
        // Without trusted proxies, a client that writes a new address into
        // the header each time is still one address.
        let mut last = StatusCode::OK;
        for n in 0..8 {
            last = login_from(&app, &format!("192.0.2.{n}"), &owner.email, "a guess").await;
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_login() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let change = json!({"password": "a brand new password", "current_password": "a guess"});
        let mut answers = Vec::new();
        for _ in 0..6 {
            answers.push(app.patch("/api/v1/me", &user.token, change.clone()).await.0);
        }
        assert_eq!(answers[0], StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answers.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{answers:?}");
        let right = json!({"password": "a brand new password", "current_password": PASSWORD});
        assert_eq!(app.patch("/api/v1/me", &user.token, right).await.0, StatusCode::TOO_MANY_REQUESTS);
        let login = json!({"email": user.email, "password": PASSWORD});
        let (status, _) = app.call(Method::POST, "/api/v1/auth/login", None, Some(login)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the same throttle as logins");
    })
    .await;
}
