//! Live sync between real servers: the master holds a slave's long-poll
//! until a change commits, and a slave with `SYNC_LIVE` (the default)
//! follows it between cycles and pushes its own edits within a second or
//! so, while `SYNC_INTERVAL` (300 s here) would take minutes.
//!
//! Waits are bounded polls. The worker's schedule around following (the
//! fallback to backoff, the breaker, a pause) is tested on controlled time
//! in `archive::sync::worker`.

use std::time::{Duration, Instant};

use archive_db::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, code};
use crate::sync::{Pair, create, pairs};

/// Far below `SYNC_INTERVAL` (300 s): only live sync can be this quick.
const LIVE_WITHIN: Duration = Duration::from_secs(5);

async fn status(app: &App, token: &str) -> Value {
    let (code, report) = app.get("/api/v1/sync/status", token).await;
    assert_eq!(code, StatusCode::OK, "{report}");
    report
}

/// Polls until `done` holds, for at most `within`; how long it took.
async fn until<F: Future<Output = bool>>(
    within: Duration,
    what: &str,
    mut done: impl FnMut() -> F,
) -> Duration {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < within, "gave up waiting for {what} after {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

async fn has_artist(app: &App, token: &str, name: &str) -> bool {
    let (_, artists) = app.get("/api/v1/artists?limit=200", token).await;
    artists["items"].as_array().is_some_and(|items| items.iter().any(|a| a["name"] == name))
}

/// A pair whose slave runs its worker with the defaults (live on).
async fn following_pair(master: Backend, slave: Backend) -> Pair {
    let pair = Pair::start_with(master, slave, &[("SYNC_ENABLED", "true".into())]).await;
    let token = pair.slave_admin.token.clone();
    until(Duration::from_secs(20), "the slave to follow live", || async {
        status(&pair.slave, &token).await["live"]["following"] == true
    })
    .await;
    pair
}

#[tokio::test]
async fn changes_cross_both_ways_within_seconds_while_the_slave_follows_live() {
    for (master_backend, slave_backend) in pairs() {
        eprintln!("-- master on {}, slave on {}", master_backend.name(), slave_backend.name());
        let pair = following_pair(master_backend, slave_backend).await;
        let (master_token, slave_token) = (pair.master_admin.token.clone(), pair.slave_admin.token.clone());

        // Master to slave: the held long-poll answers at the commit.
        create(&pair.master, &master_token, "/api/v1/artists", json!({"name": "Nina Simone"})).await;
        let down = until(LIVE_WITHIN, "the master's artist on the slave", || {
            has_artist(&pair.slave, &slave_token, "Nina Simone")
        })
        .await;

        // Slave to master: pushed about half a second after the commit.
        create(&pair.slave, &slave_token, "/api/v1/artists", json!({"name": "Alice Coltrane"})).await;
        let up = until(LIVE_WITHIN, "the slave's artist on the master", || {
            has_artist(&pair.master, &master_token, "Alice Coltrane")
        })
        .await;
        eprintln!("master to slave in {down:?}, slave to master in {up:?} (polled every 50 ms)");

        // Both delays are recorded, and the master counts a slave following.
        until(LIVE_WITHIN, "the delays in the status", || async {
            let live = &status(&pair.slave, &slave_token).await["live"];
            live["pull_delay_ms"].is_i64() && live["push_delay_ms"].is_i64()
        })
        .await;
        let live = status(&pair.slave, &slave_token).await["live"].clone();
        assert!(live["pull_delay_ms"].as_i64().unwrap() < 5000, "{live}");
        assert!(live["push_delay_ms"].as_i64().unwrap() >= 500, "the push waits for the debounce: {live}");
        // The master writes what it learns of a slave within a second or two.
        until(LIVE_WITHIN, "the master to count the slave as following", || async {
            status(&pair.master, &master_token).await["live"]["slaves_following"] == 1
        })
        .await;
        let master = status(&pair.master, &master_token).await;
        assert!(master["live"]["polls_held"].as_u64().unwrap() <= 2, "{master:#}");
        // The Sync Control Center says so on both nodes.
        let mut on_slave = crate::web::Browser::new(&pair.slave);
        on_slave.log_in(&pair.slave_admin.email).await;
        let page = on_slave.page("/sync").await;
        assert!(page.contains(r#"<dd id="sync-live">yes</dd>"#), "{page}");
        assert!(page.contains("Last changes from the master</dt><dd>"), "{page}");
        let mut on_master = crate::web::Browser::new(&pair.master);
        on_master.log_in(&pair.master_admin.email).await;
        let page = on_master.page("/sync").await;
        assert!(page.contains("Slaves following live: 1; long-polls held now:"), "{page}");
        // Nothing was left for the interval.
        pair.assert_in_step().await;
        pair.stop().await;
    }
}

/// The master's head cursor, asked with the slave key.
async fn head(pair: &Pair) -> String {
    let (code_, ping) = pair.master.get("/api/v1/sync/ping", &pair.key).await;
    assert_eq!(code_, StatusCode::OK, "{ping}");
    ping["head"].as_str().unwrap().to_owned()
}

/// A server's address and the test client, to call it from other tasks.
#[derive(Clone)]
struct Caller {
    base: String,
    client: reqwest::Client,
}

impl Caller {
    fn of(app: &App) -> Caller {
        Caller { base: app.base.clone(), client: app.client.clone() }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)).bearer_auth(token)).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body)).await
    }
}

/// `GET /changes` with the slave key: the answer and how long it took.
async fn changes(app: &Caller, key: &str, cursor: &str, wait: u64) -> (StatusCode, Value, Duration) {
    let start = Instant::now();
    let path = format!("/api/v1/sync/changes?cursor={}&limit=100&wait={wait}", urlencode(cursor));
    let (code_, body) = app.get(&path, key).await;
    (code_, body, start.elapsed())
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_long_poll_is_held_until_a_change_commits_or_the_wait_ends() {
    for backend in archive_testkit::backends() {
        eprintln!("-- master on {}", backend.name());
        let pair = Pair::start(backend, Backend::Sqlite).await;
        let cursor = head(&pair).await;

        // Nothing new: an empty page once the wait ends, at the same cursor.
        let (code_, page, took) = changes(&Caller::of(&pair.master), &pair.key, &cursor, 1).await;
        assert_eq!(code_, StatusCode::OK, "{page}");
        assert_eq!(page["rows"], json!([]));
        assert_eq!(page["cursor"], cursor.as_str());
        assert!(took >= Duration::from_millis(950), "answered before the wait ended: {took:?}");

        // A change committed while the request is held answers it at once.
        let master = Caller::of(&pair.master);
        let token = pair.master_admin.token.clone();
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (code_, genre) = master.post("/api/v1/genres", &token, json!({"name": "Jazz"})).await;
            assert_eq!(code_, StatusCode::CREATED, "{genre}");
        });
        let (code_, page, took) = changes(&Caller::of(&pair.master), &pair.key, &cursor, 20).await;
        writer.await.unwrap();
        assert_eq!(code_, StatusCode::OK, "{page}");
        assert!(took < Duration::from_secs(5), "held for {took:?} after the commit");
        let rows = page["rows"].as_array().unwrap();
        assert!(rows.iter().any(|r| r["table"] == "genres" && r["row"]["name"] == "Jazz"), "{page:#}");
        assert!(page["newest_change_age_ms"].is_i64(), "{page:#}");

        // A wait longer than the master holds a request is refused.
        let (code_, body, _) = changes(&Caller::of(&pair.master), &pair.key, &cursor, 26).await;
        assert_eq!((code_, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}");
        pair.stop().await;
    }
}

#[tokio::test]
async fn held_long_polls_are_capped_overall_and_per_slave() {
    let certificates = archive_testkit::tls::TestCertificates::new();
    let (master, admin) = crate::sync::start_master(Backend::Sqlite, &certificates).await;
    let mut master = master;
    master.restart(&[("SYNC_MAX_LIVE_POLLS", "3".into())]).await;
    let token = admin.token.clone();
    let mut keys = Vec::new();
    for node in ["home", "office"] {
        let (code_, issued) =
            master.post("/api/v1/sync/keys", &token, json!({"name": node, "node_id": node})).await;
        assert_eq!(code_, StatusCode::CREATED, "{issued}");
        keys.push(issued["key"].as_str().unwrap().to_owned());
    }
    let (_, ping) = master.get("/api/v1/sync/ping", &keys[0]).await;
    let cursor = ping["head"].as_str().unwrap().to_owned();

    // One slave holds two requests at most: its third is answered at once.
    let hold = |key: String| {
        let (master, cursor) = (Caller::of(&master), cursor.clone());
        tokio::spawn(async move { changes(&master, &key, &cursor, 4).await })
    };
    let held = [hold(keys[0].clone()), hold(keys[0].clone())];
    until(Duration::from_secs(5), "two held requests", || async {
        status(&master, &token).await["live"]["polls_held"] == 2
    })
    .await;
    let (code_, page, took) = changes(&Caller::of(&master), &keys[0], &cursor, 4).await;
    assert_eq!((code_, page["rows"].clone()), (StatusCode::OK, json!([])), "{page}");
    assert!(took < Duration::from_secs(2), "a third request of one slave was held: {took:?}");

    // The other slave takes the last place; beyond the cap, nothing is held.
    let third = hold(keys[1].clone());
    until(Duration::from_secs(5), "three held requests", || async {
        status(&master, &token).await["live"]["polls_held"] == 3
    })
    .await;
    let (code_, _, took) = changes(&Caller::of(&master), &keys[1], &cursor, 4).await;
    assert_eq!(code_, StatusCode::OK);
    assert!(took < Duration::from_secs(2), "a request beyond the cap was held: {took:?}");

    for request in held.into_iter().chain([third]) {
        let (code_, _, took) = request.await.unwrap();
        assert_eq!(code_, StatusCode::OK);
        assert!(took >= Duration::from_millis(3900), "a held request ended early: {took:?}");
    }
    assert_eq!(status(&master, &token).await["live"]["polls_held"], 0, "every place is given back");
    master.stop().await;
}

#[tokio::test]
async fn a_pause_on_the_master_answers_held_long_polls_at_once() {
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    let cursor = head(&pair).await;
    let (master, key) = (Caller::of(&pair.master), pair.key.clone());
    let held = tokio::spawn(async move { changes(&master, &key, &cursor, 20).await });
    let token = pair.master_admin.token.clone();
    until(Duration::from_secs(5), "a held request", || async {
        status(&pair.master, &token).await["live"]["polls_held"] == 1
    })
    .await;
    let (code_, _) = pair.master.post("/api/v1/sync/pause", &token, json!({})).await;
    assert_eq!(code_, StatusCode::OK);
    let (code_, _, took) = held.await.unwrap();
    assert_eq!(code_, StatusCode::OK);
    assert!(took < Duration::from_secs(10), "held on for {took:?} after the pause");
    // The next request meets the pause.
    let (code_, body, _) =
        changes(&Caller::of(&pair.master), &pair.key, &head_while_paused(&pair).await, 20).await;
    assert_eq!(code_, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    pair.stop().await;
}

/// The cursor from the master's database (its protocol refuses while paused).
async fn head_while_paused(pair: &Pair) -> String {
    let db = pair.master.db();
    let cursor = archive_db::sync::protocol::Cursor {
        epoch: db.sync_epoch().await.unwrap(),
        position: db.sync_head().await.unwrap(),
    };
    cursor.to_string()
}

#[tokio::test]
async fn a_slave_with_sync_live_off_waits_for_its_interval() {
    let pair = Pair::start_with(
        Backend::Sqlite,
        Backend::Sqlite,
        &[("SYNC_ENABLED", "true".into()), ("SYNC_LIVE", "false".into())],
    )
    .await;
    let token = pair.slave_admin.token.clone();
    until(Duration::from_secs(20), "the first cycle", || async {
        status(&pair.slave, &token).await["master"]["successes"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    create(&pair.master, &pair.master_admin.token, "/api/v1/artists", json!({"name": "Nina Simone"})).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!has_artist(&pair.slave, &token, "Nina Simone").await, "arrived without live sync");
    let report = status(&pair.slave, &token).await;
    assert_eq!(report["live"]["following"], false, "{report:#}");
    assert_eq!(report["live"]["enabled"], false, "{report:#}");
    pair.stop().await;
}

#[tokio::test]
async fn a_poll_at_an_idle_head_still_sees_the_next_commit() {
    for backend in archive_testkit::backends() {
        eprintln!("-- master on {}", backend.name());
        let pair = Pair::start(backend, Backend::Sqlite).await;
        let master = Caller::of(&pair.master);
        let cursor = head(&pair).await;
        // Polls at the head: the master learns that nothing lies after it,
        // and answers the next ones without asking its database.
        for _ in 0..3 {
            let (code_, page, _) = changes(&master, &pair.key, &cursor, 0).await;
            assert_eq!((code_, page["rows"].clone()), (StatusCode::OK, json!([])), "{page}");
        }
        create(&pair.master, &pair.master_admin.token, "/api/v1/genres", json!({"name": "Jazz"})).await;
        // The commit makes it forget that at once on SQLite (in process),
        // and as soon as PostgreSQL's word of it arrives.
        let within = match backend {
            Backend::Sqlite => Duration::ZERO,
            Backend::Postgres => Duration::from_secs(2),
        };
        let start = Instant::now();
        loop {
            let (_, page, _) = changes(&master, &pair.key, &cursor, 0).await;
            if page["rows"].as_array().is_some_and(|rows| !rows.is_empty()) {
                break;
            }
            assert!(start.elapsed() <= within, "the new genre is not served: {page}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pair.stop().await;
    }
}

#[tokio::test]
async fn on_postgresql_master_processes_on_one_database_act_as_one_master() {
    if !archive_testkit::backends().contains(&Backend::Postgres) {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    }
    let certificates = archive_testkit::tls::TestCertificates::new();
    let (first, admin) = crate::sync::start_master(Backend::Postgres, &certificates).await;
    // A second `archive serve` on the same database, as behind a load balancer.
    let second = App::start_on(
        first.test_db.another_process().await,
        &crate::sync::master_settings(&certificates),
        Some(&certificates.ca_cert),
    )
    .await;
    let token = admin.token.clone();
    let (code_, issued) =
        first.post("/api/v1/sync/keys", &token, json!({"name": "home", "node_id": "home"})).await;
    assert_eq!(code_, StatusCode::CREATED, "{issued}");
    let key = issued["key"].as_str().unwrap().to_owned();
    let (_, ping) = second.get("/api/v1/sync/ping", &key).await;
    let cursor = ping["head"].as_str().unwrap().to_owned();

    // A long-poll held by the second process…
    let held = {
        let (second, key, cursor) = (Caller::of(&second), key.clone(), cursor.clone());
        tokio::spawn(async move { changes(&second, &key, &cursor, 20).await })
    };
    until(Duration::from_secs(5), "a request held by the second process", || async {
        status(&second, &token).await["live"]["polls_held"] == 1
    })
    .await;
    // …answers a commit made through the first.
    create(&first, &token, "/api/v1/genres", json!({"name": "Jazz"})).await;
    let (code_, page, took) = held.await.unwrap();
    assert_eq!(code_, StatusCode::OK, "{page}");
    assert!(took < Duration::from_secs(10), "woken after {took:?}");
    let rows = page["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["table"] == "genres"), "{page:#}");

    // What each process learns of the slave adds up in one record.
    let (_, page) = first.get(&format!("/api/v1/sync/changes?cursor={}", urlencode(&cursor)), &key).await;
    let pulled = page["rows"].as_array().unwrap().len() + rows.len();
    until(Duration::from_secs(5), "both visits in the master's record", || async {
        let (_, slaves) = first.get("/api/v1/sync/slaves", &token).await;
        slaves[0]["changes_pulled"].as_u64() == Some(pulled as u64) && slaves[0]["following_live"] == true
    })
    .await;
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn a_slave_does_not_hammer_a_master_that_holds_no_long_poll() {
    let (master, slave, _) =
        master_with_a_following_slave(Backend::Sqlite, &[("SYNC_MAX_LIVE_POLLS", "0".into())]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Answered at once, each "nothing new" makes the slave wait out the
    // rest of the 25 s before it asks again.
    let polls = requests_to(&master, "/api/v1/sync/changes").await;
    assert!((1.0..=4.0).contains(&polls), "{polls} requests for changes in about 3 s");
    slave.stop().await;
    master.stop().await;
}

/// A master on `backend` with `settings` on top of a master's (metrics
/// on), and a SQLite slave of it that follows live; the slave's admin.
async fn master_with_a_following_slave(
    backend: Backend,
    settings: &[(&'static str, String)],
) -> (App, App, crate::support::TestUser) {
    let certificates = archive_testkit::tls::TestCertificates::new();
    let mut all = crate::sync::master_settings(&certificates);
    all.push(("ARCHIVE_METRICS", "true".into()));
    all.extend(settings.iter().cloned());
    let master = App::start_trusting(backend, &all, Some(&certificates.ca_cert)).await;
    let admin = master.user(archive_db::Role::Admin).await;
    let (slave, slave_admin, _) = crate::sync::start_slave(
        &master,
        &admin,
        &certificates,
        Backend::Sqlite,
        "home",
        &[("SYNC_ENABLED", "true".into())],
    )
    .await;
    until(Duration::from_secs(20), "the slave to follow", || async {
        status(&slave, &slave_admin.token).await["live"]["following"] == true
    })
    .await;
    (master, slave, slave_admin)
}

/// Requests `master` answered on the API route `route`, by its `/metrics`.
async fn requests_to(master: &App, route: &str) -> f64 {
    let metrics = master.client.get(format!("{}/metrics", master.base)).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let route = format!("route=\"{route}\"");
    text.lines()
        .filter(|l| l.starts_with("archive_http_requests_total") && l.contains(&route))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn on_sqlite_a_change_written_by_another_process_reaches_polls_at_an_idle_head_within_seconds() {
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    let master = Caller::of(&pair.master);
    let cursor = head(&pair).await;
    // `archive import` from the command line while the server runs: a
    // writer of its own, whose commits this process does not hear of.
    let other = pair.master.test_db.another_process().await;
    let mut tx = other.db.begin().await.unwrap();
    tx.insert_artist(archive_db::NewArtist { name: "Alice Coltrane".into(), ..Default::default() })
        .await
        .unwrap();
    // Polls at the head keep coming while it writes; the idle head must not
    // outlive its 5 s however often it is asked for.
    let (_, page, _) = changes(&master, &pair.key, &cursor, 0).await;
    assert_eq!(page["rows"], json!([]), "{page}");
    tx.commit().await.unwrap();
    until(Duration::from_secs(10), "the other process's artist in a poll", || async {
        let (_, page, _) = changes(&master, &pair.key, &cursor, 0).await;
        page["rows"].as_array().is_some_and(|rows| rows.iter().any(|r| r["table"] == "artists"))
    })
    .await;
    other.db.close().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_slave_that_hangs_up_on_a_held_long_poll_gives_its_place_back_by_the_end_of_the_wait() {
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    let cursor = head(&pair).await;
    let token = pair.master_admin.token.clone();
    let path = format!("/api/v1/sync/changes?cursor={}&wait=3", urlencode(&cursor));
    // The client gives up after half a second and drops its connection.
    let hung_up = pair
        .master
        .client
        .get(format!("{}{path}", pair.master.base))
        .bearer_auth(&pair.key)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(hung_up.is_err_and(|e| e.is_timeout()), "the request was not held");
    until(Duration::from_secs(8), "the place to be given back", || async {
        status(&pair.master, &token).await["live"]["polls_held"] == 0
    })
    .await;
    pair.stop().await;
}

#[tokio::test]
async fn a_long_poll_held_with_a_key_that_is_then_revoked_gets_nothing_more() {
    for backend in archive_testkit::backends() {
        eprintln!("-- master on {}", backend.name());
        let pair = Pair::start(backend, Backend::Sqlite).await;
        let cursor = head(&pair).await;
        let token = pair.master_admin.token.clone();
        let held = {
            let (master, key, cursor) = (Caller::of(&pair.master), pair.key.clone(), cursor.clone());
            tokio::spawn(async move { changes(&master, &key, &cursor, 20).await })
        };
        until(Duration::from_secs(5), "a held request", || async {
            status(&pair.master, &token).await["live"]["polls_held"] == 1
        })
        .await;
        let (_, keys) = pair.master.get("/api/v1/sync/keys", &token).await;
        let key_id = keys[0]["id"].as_str().unwrap().to_owned();
        let (code_, _) = pair.master.delete(&format!("/api/v1/sync/keys/{key_id}"), &token).await;
        assert_eq!(code_, StatusCode::NO_CONTENT);
        // What the master writes after the revocation never reaches the key.
        create(&pair.master, &token, "/api/v1/genres", json!({"name": "Jazz"})).await;
        let (code_, page, _) = held.await.unwrap();
        assert_eq!(code_, StatusCode::OK, "{page}");
        assert_eq!(page["rows"], json!([]), "a revoked key received changes: {page:#}");
        let (code_, body, _) = changes(&Caller::of(&pair.master), &pair.key, &cursor, 20).await;
        assert_eq!(code_, StatusCode::UNAUTHORIZED, "{body}");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_long_poll_held_across_a_revocation_made_by_another_process_gets_nothing_more() {
    for backend in archive_testkit::backends() {
        eprintln!("-- master on {}", backend.name());
        let pair = Pair::start(backend, Backend::Sqlite).await;
        let cursor = head(&pair).await;
        let token = pair.master_admin.token.clone();
        let held = {
            let (master, key, cursor) = (Caller::of(&pair.master), pair.key.clone(), cursor.clone());
            tokio::spawn(async move { changes(&master, &key, &cursor, 20).await })
        };
        until(Duration::from_secs(5), "a held request", || async {
            status(&pair.master, &token).await["live"]["polls_held"] == 1
        })
        .await;
        // `archive sync key revoke` from the command line: the server is not told.
        let other = pair.master.test_db.another_process().await;
        let key_id = other.db.slave_keys().await.unwrap()[0].id;
        let mut tx = other.db.begin().await.unwrap();
        tx.revoke_slave_key(key_id).await.unwrap();
        tx.commit().await.unwrap();
        create(&pair.master, &token, "/api/v1/genres", json!({"name": "Jazz"})).await;
        let (code_, page, _) = held.await.unwrap();
        assert_eq!(code_, StatusCode::OK, "{page}");
        assert_eq!(page["rows"], json!([]), "a revoked key received changes: {page:#}");
        assert_eq!(page["cursor"], cursor.as_str(), "{page:#}");
        other.db.close().await;
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_push_the_master_holds_back_waits_for_the_next_cycle_instead_of_following_each_commit() {
    for backend in archive_testkit::backends() {
        // More free space than any test machine has: the master takes no push.
        let (master, slave, slave_admin) =
            master_with_a_following_slave(backend, &[("ARCHIVE_MIN_FREE_GB", "1000000".into())]).await;
        let pushes = || requests_to(&master, "/api/v1/sync/apply");
        // Four local edits, each after the last one's push would have gone.
        for n in 0..4 {
            let name = format!("Kept {n}");
            let (status, made) =
                slave.post("/api/v1/playlists", &slave_admin.token, json!({"name": name})).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
            if n == 0 {
                until(Duration::from_secs(10), "the first push", || async { pushes().await >= 1.0 }).await;
            } else {
                tokio::time::sleep(archive::sync::follow::PUSH_DEBOUNCE * 3).await;
            }
        }
        assert_eq!(pushes().await, 1.0, "{backend:?}: one refused push, then none until the next cycle");
        assert_eq!(slave.db().unpushed_count().await.unwrap(), 4, "the edits are kept for the next cycle");
        let following = status(&slave, &slave_admin.token).await["live"]["following"].clone();
        assert_eq!(following, true, "pulls still follow");
        slave.stop().await;
        master.stop().await;
    }
}
