//! The sync worker in a real `Server` and the operator's controls: a slave
//! keeping in step by itself, pause and emergency stop (kept across
//! restarts), a master asking slaves to come back later, a refused key, and
//! the fail-safe promise: a master that never answers or answers garbage
//! does not disturb the slave's own API, and the failure is recorded.
//!
//! Waits are bounded polls; the worker's timing itself (interval, backoff,
//! breaker) is tested on controlled time in `archive::sync::worker`.

use std::time::Duration;

use archive_db::{Backend, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{App, code};
use crate::sync::{Pair, create};

/// The master on PostgreSQL where it is available, as the issue asks.
fn master_backend() -> Backend {
    *archive_testkit::backends().last().expect("SQLite at least")
}

async fn status(app: &App, token: &str) -> Value {
    let (code, report) = app.get("/api/v1/sync/status", token).await;
    assert_eq!(code, StatusCode::OK, "{report}");
    report
}

/// Polls the slave's status until `done` holds, for at most `seconds`.
async fn wait_for_status(app: &App, token: &str, seconds: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let report = status(app, token).await;
        if done(&report) {
            return report;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting; last status: {report:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn successes(report: &Value) -> i64 {
    report["master"]["successes"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_slave_with_sync_enabled_keeps_in_step_by_itself() {
    let mut pair = Pair::start(master_backend(), Backend::Sqlite).await;
    let token = pair.master_admin.token.clone();
    create(&pair.master, &token, "/api/v1/artists", json!({"name": "Nina Simone"})).await;

    // With its key set, the slave starts with the worker on: the first cycle
    // comes within five seconds, and the next one is scheduled.
    pair.slave.restart(&[("SYNC_ENABLED", "true".into())]).await;
    let report = wait_for_status(&pair.slave, &pair.slave_admin.token, 20, |r| {
        successes(r) >= 1 && r["master"]["next_attempt_at"].is_string()
    })
    .await;
    pair.assert_in_step().await;
    assert_eq!(report["health"]["colour"], "green", "{report:#}");
    assert_eq!(report["master"]["breaker_state"], "closed");

    // The master sees the slave (its visits are written within a second):
    // when, which key, healthy.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let slaves = loop {
        let (_, slaves) = pair.master.get("/api/v1/sync/slaves", &token).await;
        if slaves[0]["last_seen_at"].is_string() || tokio::time::Instant::now() > deadline {
            break slaves;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let home = &slaves[0];
    assert_eq!(home["node_id"], "home", "{slaves:#}");
    assert_eq!(home["key_name"], "home");
    assert_eq!(home["health"]["colour"], "green", "{slaves:#}");
    assert!(home["last_seen_at"].is_string());
    pair.stop().await;
}

#[tokio::test]
async fn a_pause_is_kept_across_a_restart_and_the_worker_waits_until_resumed() {
    let mut pair = Pair::start(master_backend(), Backend::Sqlite).await;
    create(&pair.master, &pair.master_admin.token, "/api/v1/genres", json!({"name": "Jazz"})).await;
    let token = pair.slave_admin.token.clone();
    let (code_, paused) = pair.slave.post("/api/v1/sync/pause", &token, json!({})).await;
    assert_eq!(code_, StatusCode::OK, "{paused}");
    assert_eq!(paused["control"]["paused"]["by"], pair.slave_admin.email.as_str());

    // Restarted with the worker on: still paused, so no cycle runs.
    pair.slave.restart(&[("SYNC_ENABLED", "true".into())]).await;
    let report = status(&pair.slave, &token).await;
    assert_eq!(report["health"]["colour"], "yellow", "{report:#}");
    assert!(report["health"]["reason"].as_str().unwrap().starts_with("paused"), "{report:#}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(status(&pair.slave, &token).await["master"], Value::Null, "no cycle ran while paused");

    // Resume wakes the worker at once.
    let (code_, _) = pair.slave.post("/api/v1/sync/resume", &token, json!({})).await;
    assert_eq!(code_, StatusCode::OK);
    wait_for_status(&pair.slave, &token, 20, |r| successes(r) >= 1).await;
    pair.assert_in_step().await;
    pair.stop().await;
}

#[tokio::test]
async fn an_emergency_stop_survives_a_restart_and_refuses_even_forced_cycles() {
    let mut pair = Pair::start(master_backend(), Backend::Sqlite).await;
    let token = pair.slave_admin.token.clone();
    let (code_, stopped) = pair.slave.post("/api/v1/sync/emergency-stop", &token, json!({})).await;
    assert_eq!(code_, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["health"]["colour"], "red");

    pair.slave.restart(&[]).await;
    let report = status(&pair.slave, &token).await;
    assert_eq!(report["health"]["colour"], "red", "{report:#}");
    assert_eq!(report["control"]["emergency_stop"]["by"], pair.slave_admin.email.as_str());
    let (code_, body) = pair.slave.post("/api/v1/sync/now", &token, json!({})).await;
    assert_eq!((code_, code(&body)), (StatusCode::CONFLICT, "sync_stopped"), "{body}");
    // Resume does not lift an emergency stop; clear-stop does.
    pair.slave.post("/api/v1/sync/resume", &token, json!({})).await;
    let (code_, _) = pair.slave.post("/api/v1/sync/now", &token, json!({})).await;
    assert_eq!(code_, StatusCode::CONFLICT);
    let (code_, cleared) = pair.slave.post("/api/v1/sync/clear-stop", &token, json!({})).await;
    assert_eq!(code_, StatusCode::OK);
    assert_eq!(cleared["control"]["emergency_stop"], Value::Null);
    pair.sync().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_paused_or_stopped_master_asks_its_slaves_to_come_back_later() {
    let pair = Pair::start(master_backend(), Backend::Sqlite).await;
    let (master, token) = (&pair.master, &pair.master_admin.token);
    let slave_sync = || pair.slave.post("/api/v1/sync/now", &pair.slave_admin.token, json!({}));

    let (_, paused) = master.post("/api/v1/sync/pause", token, json!({})).await;
    assert_eq!(paused["health"]["colour"], "yellow", "{paused:#}");
    let (code_, body) = slave_sync().await;
    assert_eq!(code_, StatusCode::BAD_GATEWAY);
    assert!(body["error"]["message"].as_str().unwrap().contains("retry after 60 s"), "{body}");

    let (_, stopped) = master.post("/api/v1/sync/emergency-stop", token, json!({})).await;
    assert_eq!(stopped["health"]["colour"], "red", "{stopped:#}");
    let (_, body) = slave_sync().await;
    assert!(body["error"]["message"].as_str().unwrap().contains("retry after 300 s"), "{body}");

    master.post("/api/v1/sync/clear-stop", token, json!({})).await;
    master.post("/api/v1/sync/resume", token, json!({})).await;
    pair.sync().await;
    let report = status(&pair.slave, &pair.slave_admin.token).await;
    assert_eq!(report["master"]["failures"], 2, "both refusals were recorded as failures");
    pair.stop().await;
}

#[tokio::test]
async fn a_refused_key_stops_the_worker_until_an_operator_acts() {
    let mut pair = Pair::start(master_backend(), Backend::Sqlite).await;
    let (master, token) = (&pair.master, pair.master_admin.token.clone());
    let (_, keys) = master.get("/api/v1/sync/keys", &token).await;
    let key_id = keys[0]["id"].as_str().unwrap().to_owned();
    master.delete(&format!("/api/v1/sync/keys/{key_id}"), &token).await;

    pair.slave.restart(&[("SYNC_ENABLED", "true".into())]).await;
    let slave_token = pair.slave_admin.token.clone();
    let report =
        wait_for_status(&pair.slave, &slave_token, 20, |r| r["control"]["key_refused"].is_object()).await;
    assert_eq!(report["health"]["colour"], "red", "{report:#}");
    assert!(report["health"]["reason"].as_str().unwrap().contains("refused the slave key"), "{report:#}");

    // The operator issues a new key and stores it; resume wakes the worker.
    let (_, issued) =
        pair.master.post("/api/v1/sync/keys", &token, json!({"name": "home 2", "node_id": "home"})).await;
    let kek = archive::sync::keys::Kek::load(pair.slave.data_dir.path(), None).unwrap();
    archive::sync::keys::store_on_slave(pair.slave.db(), &kek, issued["key"].as_str().unwrap())
        .await
        .unwrap();
    pair.slave.post("/api/v1/sync/resume", &slave_token, json!({})).await;
    let report = wait_for_status(&pair.slave, &slave_token, 20, |r| successes(r) >= 1).await;
    assert_eq!(report["control"]["key_refused"], Value::Null);
    assert_eq!(report["health"]["colour"], "green", "{report:#}");
    pair.stop().await;
}

/// A "master" that accepts connections and never says a word.
async fn silent_master() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (url, task)
}

/// A "master" that answers every request with 200 and a body that is not JSON.
async fn garbage_master() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let body = "<html>not the sync protocol</html>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, task)
}

/// A slave of `master_url` with one song of its own and a well-formed key.
async fn slave_of(master_url: &str) -> (App, String) {
    let slave = App::start(
        Backend::Sqlite,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "home".into()),
            ("SYNC_ENABLED", "false".into()),
            ("MASTER_ARCHIVE_URL", master_url.to_owned()),
            ("SYNC_ALLOW_INSECURE", "true".into()),
            ("SYNC_CONNECT_TIMEOUT", "1".into()),
            ("SYNC_READ_TIMEOUT", "1".into()),
        ],
    )
    .await;
    let admin = slave.user(Role::Admin).await;
    create(&slave, &admin.token, "/api/v1/songs", json!({"title": "Local song"})).await;
    let kek = archive::sync::keys::Kek::load(slave.data_dir.path(), None).unwrap();
    let key = format!("arcsync_{}_{}", "a".repeat(12), "b".repeat(64));
    archive::sync::keys::store_on_slave(slave.db(), &kek, &key).await.unwrap();
    (slave, admin.token)
}

/// While a cycle against a bad master is in flight, the slave's own API
/// answers as usual; the cycle fails, and is recorded as a failure.
async fn assert_fail_safe(master_url: &str, expected_error: &str) {
    let (slave, token) = slave_of(master_url).await;
    let digest_before = slave.db().sync_digest().await.unwrap();
    let cycle = {
        let (client, url, token) =
            (slave.client.clone(), format!("{}/api/v1/sync/now", slave.base), token.clone());
        tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({})).send().await })
    };
    for _ in 0..5 {
        let answered = tokio::time::timeout(Duration::from_secs(5), slave.get("/api/v1/songs", &token)).await;
        let (code_, songs) = answered.expect("the slave's API answers while sync hangs");
        assert_eq!(code_, StatusCode::OK);
        assert_eq!(songs["items"][0]["title"], "Local song", "{songs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = tokio::time::timeout(Duration::from_secs(30), cycle).await.unwrap().unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(expected_error), "{message}");

    let report = status(&slave, &token).await;
    assert_eq!(
        (report["master"]["failures"].as_i64(), report["master"]["successes"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(report["recent_attempts"][0]["outcome"], "failure", "{report:#}");
    assert_eq!(report["health"]["colour"], "grey", "sync is disabled on this slave: {report:#}");
    assert_eq!(slave.db().sync_digest().await.unwrap(), digest_before, "no local data changed");

    // Clearing the failed records forgets them.
    let (code_, cleared) = slave.post("/api/v1/sync/clear-failed", &token, json!({})).await;
    assert_eq!(code_, StatusCode::OK);
    assert_eq!(cleared["master"]["consecutive_failures"], 0, "{cleared:#}");
    assert_eq!(cleared["master"]["last_error"], Value::Null);
    assert!(cleared["recent_attempts"].as_array().unwrap().is_empty(), "{cleared:#}");
    slave.stop().await;
}

#[tokio::test]
async fn a_master_that_never_answers_does_not_disturb_the_slave() {
    let (url, master) = silent_master().await;
    assert_fail_safe(&url, "did not answer in time").await;
    master.abort();
}

#[tokio::test]
async fn a_master_that_answers_garbage_does_not_disturb_the_slave() {
    let (url, master) = garbage_master().await;
    assert_fail_safe(&url, "protocol").await;
    master.abort();
}
