//! Clients that hold connections hostage (slow headers, slow bodies, idle
//! keep-alives, floods) are cut off or kept waiting, and the server keeps
//! answering everyone else, on both databases.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{App, on_each_backend_with};

async fn connect(app: &App) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes);
/// what it sent, and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn slow_headers_slow_bodies_and_idle_connections_are_cut_off() {
    let settings = [("ARCHIVE_HEADER_TIMEOUT", "1".to_owned()), ("ARCHIVE_BODY_TIMEOUT", "1".to_owned())];
    on_each_backend_with(&settings, |app| async move {
        // Headers that never finish.
        let mut slow_headers = connect(&app).await;
        slow_headers.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: archive\r\n").await.unwrap();
        let (_, closed) = read_until_closed(&mut slow_headers, Duration::from_secs(5)).await;
        assert!(closed, "a client that never finished its headers is still connected");

        // A body that promised 1,000 bytes and sent one.
        let mut slow_body = connect(&app).await;
        slow_body
            .write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: archive\r\nContent-Type: application/json\r\n\
                  Content-Length: 1000\r\n\r\n{",
            )
            .await
            .unwrap();
        let (answer, closed) = read_until_closed(&mut slow_body, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(closed, "the slow body's connection is still open");

        // A kept-alive connection left idle after its request.
        let mut idle = connect(&app).await;
        idle.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: archive\r\n\r\n").await.unwrap();
        let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(closed, "an idle kept-alive connection is still open");
    })
    .await;
}

#[tokio::test]
async fn health_answers_quickly_while_500_idle_connections_are_open() {
    on_each_backend_with(&[], |app| async move {
        let mut idle = Vec::new();
        for n in 0..500 {
            let mut stream = connect(&app).await;
            if n % 2 == 0 {
                // Half send half a request; half send nothing at all.
                stream.write_all(b"GET /api/v1/health HTTP/1.1\r\n").await.unwrap();
            }
            idle.push(stream);
        }
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let response = app.client.get(format!("{}/api/v1/health", app.base)).send().await.unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK);
            times.push(started.elapsed());
        }
        times.sort();
        assert!(times[times.len() / 2] < Duration::from_millis(100), "median {:?}", times[times.len() / 2]);
        assert!(times[times.len() - 1] < Duration::from_secs(1), "slowest {:?}", times[times.len() - 1]);
        drop(idle);
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_their_turn_and_are_then_served() {
    let settings = [("ARCHIVE_MAX_CONNECTIONS", "8".to_owned()), ("ARCHIVE_HEADER_TIMEOUT", "2".to_owned())];
    on_each_backend_with(&settings, |app| async move {
        let mut hogs = Vec::new();
        for _ in 0..8 {
            hogs.push(connect(&app).await);
        }
        // The ninth client is queued, not refused: it is served once the
        // idle ones have been cut off.
        let started = Instant::now();
        let response = app.client.get(format!("{}/api/v1/health", app.base)).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_secs(1), "served before a place was free");
        for mut hog in hogs {
            let (_, closed) = read_until_closed(&mut hog, Duration::from_secs(5)).await;
            assert!(closed);
        }
    })
    .await;
}

#[tokio::test]
async fn an_upload_of_more_files_than_the_limit_is_refused_before_it_costs_a_descriptor_each() {
    let settings = [("ARCHIVE_MAX_UPLOAD_FILES", "3".to_owned())];
    on_each_backend_with(&settings, |app| async move {
        let moderator = app.user(archive_db::Role::Moderator).await;
        let mut form = reqwest::multipart::Form::new();
        for n in 0..50 {
            form =
                form.part("file", reqwest::multipart::Part::bytes(Vec::new()).file_name(format!("{n}.mp3")));
        }
        let response = app
            .client
            .post(format!("{}/api/v1/songs", app.base))
            .bearer_auth(&moderator.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_many_files", "{body}");
    })
    .await;
}
