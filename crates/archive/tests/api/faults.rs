//! Faults that are not the client's: a database out of space, a database
//! server that goes away. Writes fail with a clear 503 (never a 500), reads
//! go on where they can, health says which check fails, and once the cause
//! is gone the next write succeeds, without a restart.

use std::time::{Duration, Instant};

use archive_db::Role;
use archive_testkit::{OwnPostgres, TestDb};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, code};

async fn health(app: &App) -> (StatusCode, Value) {
    app.call(reqwest::Method::GET, "/api/v1/health", None, None).await
}

/// Calls `health` until it answers `expected` (at most 20 s: the write
/// probe's answer stands for 2 s, a database server takes a moment).
async fn health_becomes(app: &App, expected: StatusCode) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = health(app).await;
        if status == expected {
            return body;
        }
        assert!(Instant::now() < deadline, "health never answered {expected}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_full_sqlite_database_refuses_writes_clearly_and_heals_once_space_is_freed() {
    let app = App::start_on(TestDb::sqlite_nearly_full(60).await, &[], None).await;
    let admin = app.user(Role::Admin).await;
    let biography = "a long story ".repeat(300);
    let mut made = Vec::new();
    let full = loop {
        assert!(made.len() < 2000, "the database never filled up");
        let body = json!({"name": format!("Artist {}", made.len()), "biography": biography});
        let (status, answer) = app.post("/api/v1/artists", &admin.token, body).await;
        match status {
            StatusCode::CREATED => made.push(answer["id"].as_str().unwrap().to_owned()),
            _ => break (status, answer),
        }
    };
    assert_eq!(full.0, StatusCode::SERVICE_UNAVAILABLE, "{}", full.1);
    assert!(full.1["error"]["message"].as_str().unwrap().contains("disk is full"), "{}", full.1);

    // Every later write of the kind says the same (the writer connection is
    // not left inside the failed transaction); reads go on; health names
    // the check.
    for n in 0..3 {
        let body = json!({"name": format!("Refused {n}"), "biography": biography});
        let (status, body) = app.post("/api/v1/artists", &admin.token, body).await;
        assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"), "{body}");
    }
    let (status, _) = app.get("/api/v1/artists", &admin.token).await;
    assert_eq!(status, StatusCode::OK);
    let body = health_becomes(&app, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    assert!(body["checks"]["writes"].as_str().unwrap().contains("disk is full"), "{body}");
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(vec![0u8; 1024]).file_name("song.mp3"));
    let upload = app
        .client
        .post(format!("{}/api/v1/songs", app.base))
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::SERVICE_UNAVAILABLE, "uploads are refused while writes fail");

    // Space is freed: the next write succeeds, and health follows.
    for id in made.iter().take(20) {
        let (status, body) = app.delete(&format!("/api/v1/artists/{id}"), &admin.token).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let body = json!({"name": "Accepted", "biography": biography});
    let (status, body) = app.post("/api/v1/artists", &admin.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    health_becomes(&app, StatusCode::OK).await;
    app.stop().await;
}

#[tokio::test]
async fn a_postgresql_server_that_stops_and_starts_again_under_a_running_archive_is_survived() {
    let Some(server) = OwnPostgres::start() else { return };
    let app = App::start_on(TestDb::on_own_postgres(&server).await, &[], None).await;
    let admin = app.user(Role::Admin).await;
    let (status, _) = app.post("/api/v1/genres", &admin.token, json!({"name": "Before"})).await;
    assert_eq!(status, StatusCode::CREATED);

    server.stop();
    let (status, body) = app.post("/api/v1/genres", &admin.token, json!({"name": "During"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, body) = app.get("/api/v1/genres", &admin.token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let body = health_becomes(&app, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(body["checks"]["database"].as_str().unwrap().starts_with("failing"), "{body}");

    server.start_again().unwrap();
    health_becomes(&app, StatusCode::OK).await;
    let (status, body) = app.post("/api/v1/genres", &admin.token, json!({"name": "After"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}
