//! `GET /metrics`: off unless `ARCHIVE_METRICS` is on, behind its token when
//! one is set, and counting what the node does by route template (never by
//! a path a client made up).

use std::collections::BTreeMap;

use archive_db::Role;
use archive_testkit::audio;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{App, on_each_backend, on_each_backend_with};
use crate::sync::Pair;

fn metrics_on() -> Vec<(&'static str, String)> {
    vec![("ARCHIVE_METRICS", "true".into())]
}

/// A scrape: each sample's name and labels, and its value.
struct Scrape {
    text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    async fn of(app: &App) -> Scrape {
        let response = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = response.text().await.unwrap();
        let samples =
            text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(parse_sample).collect();
        Scrape { text, samples }
    }

    /// The value of the sample `name` whose labels include `labels`; 0 when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).is_some_and(|x| x == v)))
            .map(|(_, _, v)| *v)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} matches several samples");
        found.first().copied().unwrap_or(0.0)
    }
}

fn parse_sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let (head, value) = line.rsplit_once(' ').expect("a sample has a value");
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number in {line:?}"));
    let (name, labels) = match head.split_once('{') {
        None => (head.to_owned(), BTreeMap::new()),
        Some((name, rest)) => {
            let labels = rest
                .trim_end_matches('}')
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels)
        }
    };
    (name, labels, value)
}

#[tokio::test]
async fn metrics_are_off_unless_archive_metrics_is_set() {
    on_each_backend(|app| async move {
        let response = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.text().await.unwrap().contains("ARCHIVE_METRICS"));
    })
    .await;
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    on_each_backend_with(&metrics_on(), |app| async move {
        let token = app.user(Role::User).await.token;
        let before = Scrape::of(&app).await;
        let health = [("route", "/api/v1/health"), ("method", "GET"), ("status", "200")];
        let song = [("route", "/api/v1/songs/{id}"), ("method", "GET"), ("status", "404")];
        let unmatched = [("route", "unmatched"), ("status", "404")];
        for _ in 0..3 {
            app.client.get(format!("{}/api/v1/health", app.base)).send().await.unwrap();
        }
        let made_up = uuid::Uuid::new_v4().to_string();
        for _ in 0..2 {
            let (status, _) = app.get(&format!("/api/v1/songs/{made_up}"), &token).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        app.client.get(format!("{}/no/such/{made_up}", app.base)).send().await.unwrap();

        let after = Scrape::of(&app).await;
        let grew = |labels: &[(&str, &str)]| {
            after.value("archive_http_requests_total", labels)
                - before.value("archive_http_requests_total", labels)
        };
        assert_eq!(grew(&health), 3.0);
        assert_eq!(grew(&song), 2.0);
        assert_eq!(grew(&unmatched), 1.0);
        assert!(!after.text.contains(&made_up), "a path a client made up became a label");
        let timed = [("route", "/api/v1/health"), ("method", "GET")];
        assert!(after.value("archive_http_request_duration_seconds_count", &timed) >= 3.0);
        assert!(
            after.value(
                "archive_http_request_duration_seconds_bucket",
                &[("route", "/api/v1/health"), ("le", "+Inf")]
            ) >= 3.0
        );

        assert_eq!(after.value("archive_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
        assert_eq!(after.value("archive_role", &[("role", "standalone")]), 1.0);
        assert_eq!(after.value("archive_role", &[("role", "master")]), 0.0);
        let pools: f64 = ["read", "write", "main"]
            .iter()
            .map(|p| after.value("archive_db_connections_max", &[("pool", p)]))
            .sum();
        assert!(pools >= 2.0, "{}", after.text);
        if app.test_db.backend() == archive_db::Backend::Sqlite {
            // The bulk writer is reported too, and open only while an import runs.
            assert_eq!(after.value("archive_db_connections_max", &[("pool", "bulk")]), 1.0, "{}", after.text);
            let open = after.value("archive_db_connections", &[("pool", "bulk"), ("state", "idle")])
                + after.value("archive_db_connections", &[("pool", "bulk"), ("state", "busy")]);
            assert_eq!(open, 0.0, "{}", after.text);
        }
        assert!(after.text.contains("# TYPE archive_http_requests_total counter"));
    })
    .await;
}

#[tokio::test]
async fn a_metrics_token_when_set_is_required_as_a_bearer_token() {
    let settings =
        [("ARCHIVE_METRICS", "true".into()), ("ARCHIVE_METRICS_TOKEN", "scrape-me-0123456789".into())];
    on_each_backend_with(&settings, |app| async move {
        let url = format!("{}/metrics", app.base);
        let none = app.client.get(&url).send().await.unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        let wrong = app.client.get(&url).bearer_auth("scrape-me-0123456788").send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        // A user's API token is not the metrics token.
        let user = app.user(Role::Admin).await.token;
        let as_user = app.client.get(&url).bearer_auth(user).send().await.unwrap();
        assert_eq!(as_user.status(), StatusCode::UNAUTHORIZED);
        let right = app.client.get(&url).bearer_auth("scrape-me-0123456789").send().await.unwrap();
        assert_eq!(right.status(), StatusCode::OK);
        assert!(right.text().await.unwrap().contains("archive_build_info"));
    })
    .await;
}

#[tokio::test]
async fn imported_and_uploaded_files_are_counted_by_outcome() {
    if !audio::ffmpeg_available() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("music");
    for (i, title) in ["One", "Two"].iter().enumerate() {
        let path = root.join(format!("Band/Record/0{} - {title}.mp3", i + 1));
        audio::make(
            &path,
            audio::format("mp3"),
            &audio::full_tags(title, "Band", "Record"),
            0.5,
            440 + i as u32,
        );
    }
    std::fs::write(root.join("Band/Record/03 - Broken.mp3"), b"not audio at all").unwrap();
    let upload = base.path().join("upload.mp3");
    audio::make(&upload, audio::format("mp3"), &audio::full_tags("Sent", "Uploader", "Up"), 0.5, 660);
    let mut settings = metrics_on();
    settings.push(("ARCHIVE_LIBRARY_ROOTS", std::fs::canonicalize(&root).unwrap().display().to_string()));
    on_each_backend_with(&settings, |app| {
        let upload = upload.clone();
        async move {
            let token = app.user(Role::Moderator).await.token;
            let (status, job) = app.post("/api/v1/imports", &token, json!({"path": "Band"})).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{job}");
            crate::media::finished_import(&app, &token, job["id"].as_str().unwrap()).await;
            let part =
                reqwest::multipart::Part::bytes(std::fs::read(&upload).unwrap()).file_name("upload.mp3");
            let response = app
                .client
                .post(format!("{}/api/v1/songs", app.base))
                .bearer_auth(&token)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);

            let scrape = Scrape::of(&app).await;
            assert_eq!(scrape.value("archive_import_files_total", &[("outcome", "imported")]), 2.0);
            assert_eq!(scrape.value("archive_import_files_total", &[("outcome", "failed")]), 1.0);
            assert_eq!(scrape.value("archive_imports_running", &[]), 0.0);
            assert_eq!(scrape.value("archive_upload_files_total", &[("outcome", "imported")]), 1.0);
        }
    })
    .await;
}

#[tokio::test]
async fn a_slave_shows_its_cycles_and_a_master_its_slaves_and_what_they_pushed() {
    for backend in archive_testkit::backends() {
        let mut pair = Pair::start_with(
            backend,
            backend,
            &[("SYNC_ENABLED", "false".into()), ("ARCHIVE_METRICS", "true".into())],
        )
        .await;
        pair.master.restart(&[("ARCHIVE_METRICS", "true".into())]).await;
        // The slave follows the master to its new address.
        pair.slave.restart(&[("MASTER_ARCHIVE_URL", pair.master.base.clone())]).await;
        let (status, _) = pair
            .slave
            .post("/api/v1/genres", &pair.slave_admin.token, json!({"name": "Pushed from home"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        pair.settle().await;

        let slave = Scrape::of(&pair.slave).await;
        assert!(slave.value("archive_sync_cycles_total", &[("outcome", "success")]) >= 1.0, "{}", slave.text);
        assert_eq!(slave.value("archive_sync_cycles_total", &[("outcome", "failure")]), 0.0);
        assert!(slave.value("archive_sync_changes_pushed_total", &[]) >= 1.0);
        assert!(slave.value("archive_sync_changes_pulled_total", &[]) >= 1.0);
        assert_eq!(slave.value("archive_sync_breaker_state", &[("state", "closed")]), 1.0);
        assert_eq!(slave.value("archive_sync_breaker_state", &[("state", "open")]), 0.0);
        assert_eq!(slave.value("archive_sync_unpushed_changes", &[]), 0.0);
        let lag = slave.value("archive_sync_lag_seconds", &[]);
        assert!((0.0..60.0).contains(&lag), "lag {lag}");
        assert_eq!(slave.value("archive_role", &[("role", "slave")]), 1.0);

        // A master records its slaves' visits at most once a second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let master = loop {
            let master = Scrape::of(&pair.master).await;
            if master.value("archive_sync_slaves", &[("health", "green")]) > 0.0 {
                break master;
            }
            assert!(std::time::Instant::now() < deadline, "the slave was never seen: {}", master.text);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(master.value("archive_sync_slaves", &[("health", "green")]), 1.0, "{}", master.text);
        assert!(master.value("archive_sync_received_changes_total", &[("outcome", "applied")]) >= 1.0);
        assert!(master.value("archive_sync_slave_last_seen_timestamp_seconds", &[("node_id", "home")]) > 0.0);
        assert_eq!(master.value("archive_sync_held", &[("reason", "paused")]), 0.0);
        pair.stop().await;
    }
}
