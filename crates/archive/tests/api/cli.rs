//! The `archive` command line, run as a real process.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use archive_db::Backend;

const BIN: &str = env!("CARGO_BIN_EXE_archive");

/// Where a test's `archive` commands keep their database.
struct Target {
    _dir: tempfile::TempDir,
    args: Vec<String>,
}

fn targets() -> Vec<Target> {
    archive_testkit::backends()
        .into_iter()
        .map(|backend| {
            let dir = tempfile::tempdir().unwrap();
            let mut args = vec!["--data-dir".to_owned(), dir.path().join("data").display().to_string()];
            if backend == Backend::Postgres {
                args.push("--database-url".into());
                args.push(archive_testkit::postgres_database(false).unwrap());
            }
            Target { _dir: dir, args }
        })
        .collect()
}

/// The imports recorded in `target`'s database, newest first.
fn import_runs_of(target: &Target) -> Vec<archive_db::ImportRun> {
    let flag = |name: &str| target.args.iter().position(|a| a == name).map(|i| target.args[i + 1].clone());
    let data_dir = PathBuf::from(flag("--data-dir").expect("a data dir"));
    let options = archive_db::DbOptions::new(flag("--database-url"), &data_dir, 2);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = archive_db::Db::connect(&options).await.unwrap();
        let runs = db.import_runs(10).await.unwrap();
        db.close().await;
        runs
    })
}

fn archive(target: &Target, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(&target.args).args(args).env_remove("ARCHIVE_PASSWORD").env("ARCHIVE_LOG_LEVEL", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // The process may exit before reading (a usage error): a broken pipe is fine.
        let _ = input.write_all(text.as_bytes());
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_covers_every_command_and_the_environment() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in [
        "serve",
        "db",
        "user",
        "healthcheck",
        "SYNC_INTERVAL",
        "ARCHIVE_DATA_DIR",
        "DATABASE_URL",
        "ARCHIVE_PASSWORD",
    ] {
        assert!(help.contains(word), "--help mentions {word}");
    }
    for sub in [&["serve", "--help"][..], &["db", "backup", "--help"], &["user", "create", "--help"]] {
        let out = Command::new(BIN).args(sub).output().unwrap();
        assert!(out.status.success(), "{sub:?}");
        assert!(!text(&out.stdout).trim().is_empty());
    }
}

#[test]
fn users_are_created_from_the_environment_or_standard_input_and_listed() {
    for target in targets() {
        let out = archive(
            &target,
            &["user", "create", "--email", "Ada@Example.org", "--name", "Ada", "--role", "admin"],
            &[("ARCHIVE_PASSWORD", "analytical engine")],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("ada@example.org"));
        let out = archive(
            &target,
            &["user", "create", "--email", "bob@example.org", "--name", "Bob", "--role", "user"],
            &[],
            Some("bobs password\n"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));

        let out = archive(&target, &["user", "list"], &[], None);
        let list = text(&out.stdout);
        assert!(list.contains("ada@example.org") && list.contains("admin"), "{list}");
        assert!(list.contains("bob@example.org"), "{list}");

        let out = archive(
            &target,
            &["user", "create", "--email", "ada@example.org", "--name", "Ada", "--role", "user"],
            &[("ARCHIVE_PASSWORD", "analytical engine")],
            None,
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));

        let out = archive(
            &target,
            &["user", "create", "--email", "c@example.org", "--name", "C", "--role", "user"],
            &[],
            Some("short\n"),
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("at least 8"));
        let out = archive(
            &target,
            &["user", "create", "--email", "d@example.org", "--name", "D", "--role", "owner"],
            &[],
            Some("long enough\n"),
        );
        assert_eq!(out.status.code(), Some(2), "clap refuses an unknown role");
    }
}

#[test]
fn db_status_migrate_and_backup_work() {
    for target in targets() {
        let out = archive(&target, &["db", "status"], &[], None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("pending"), "{}", text(&out.stdout));
        let out = archive(&target, &["db", "migrate"], &[], None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let status = text(&archive(&target, &["db", "status"], &[], None).stdout);
        assert!(
            status.contains("0001") && status.contains("applied") && !status.contains("pending"),
            "{status}"
        );

        let backup = target._dir.path().join("backup.db");
        let out = archive(&target, &["db", "backup", backup.to_str().unwrap()], &[], None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(backup.exists() && std::fs::metadata(&backup).unwrap().len() > 0);
        let out = archive(&target, &["db", "backup", backup.to_str().unwrap()], &[], None);
        assert_eq!(out.status.code(), Some(1), "an existing file is never overwritten");
    }
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable_and_range() {
    let target = targets().remove(0);
    for (var, value, expected) in [
        ("SYNC_INTERVAL", "5", "from 60 to 3600"),
        ("SYNC_OPERATION_TIMEOUT", "1000", "from 10 to 300"),
        ("ARCHIVE_ROLE", "boss", "standalone, master, slave"),
    ] {
        let out = archive(&target, &["db", "status"], &[(var, value)], None);
        assert_eq!(out.status.code(), Some(1), "{var}");
        let err = text(&out.stderr);
        assert!(err.contains(var) && err.contains(expected), "{err}");
    }
    let out = archive(&target, &["serve", "--bind", "nowhere"], &[], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ARCHIVE_BIND"));
}

/// A running `archive serve`; killed if the test fails before stopping it.
struct Serving {
    child: std::process::Child,
    base: String,
    lines: Vec<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `archive serve` on a free port and reads its address from stderr.
fn serve(target: &Target) -> Serving {
    serve_with(target, &[])
}

fn serve_with(target: &Target, env: &[(&str, &str)]) -> Serving {
    let child = Command::new(BIN)
        .args(&target.args)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("ARCHIVE_LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut serving = Serving { child, base: String::new(), lines: Vec::new() };
    let mut reader = BufReader::new(serving.child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "serve exited early: {:?}", serving.lines);
        let address = line.trim().strip_prefix("listening on ").map(str::to_owned);
        serving.lines.push(line);
        if let Some(address) = address {
            serving.base = address;
            return serving;
        }
        assert!(Instant::now() < deadline, "serve did not start");
    }
}

/// Sends SIGTERM and expects a clean exit.
fn stop(mut serving: Serving) {
    Command::new("kill").args(["-TERM", &serving.child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = serving.child.try_wait().unwrap() {
            assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sync_commands_issue_keys_and_pause_stop_and_report_locally() {
    for target in targets() {
        let master = [("ARCHIVE_ROLE", "master")];
        let out = archive(
            &target,
            &["sync", "key", "generate", "--name", "home", "--node-id", "home"],
            &master,
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let key = text(&out.stdout)
            .lines()
            .find(|l| l.starts_with("arcsync_"))
            .expect("the key is printed")
            .to_owned();
        let listed = archive(&target, &["sync", "key", "list"], &master, None);
        assert!(
            text(&listed.stdout).contains("home") && !text(&listed.stdout).contains(&key),
            "shown only once"
        );
        let kiosk = ["sync", "key", "generate", "--name", "kiosk", "--node-id", "kiosk", "--read-only"];
        let out = archive(&target, &kiosk, &master, None);
        assert!(out.status.success() && text(&out.stderr).contains("read-only"), "{}", text(&out.stderr));
        let listed = text(&archive(&target, &["sync", "key", "list"], &master, None).stdout);
        let kiosk_line = listed.lines().find(|l| l.contains("kiosk")).expect("listed");
        assert!(kiosk_line.contains("read-only"), "{kiosk_line}");

        // Accounts are the master's: a slave's command line does not make them.
        let slave = [("ARCHIVE_ROLE", "slave"), ("MASTER_ARCHIVE_URL", "https://127.0.0.1:9")];
        let user = ["user", "create", "--email", "a@example.org", "--name", "A", "--role", "admin"];
        let refused = archive(&target, &user, &slave, Some("a long enough password\n"));
        assert!(!refused.status.success() && text(&refused.stderr).contains("made on the master"));

        // The same database as a slave (enough for the local commands).
        let stored = archive(&target, &["sync", "set-key"], &slave, Some(&key));
        assert!(stored.status.success(), "{}", text(&stored.stderr));
        let status = |target: &Target| -> serde_json::Value {
            let out = archive(target, &["sync", "status"], &slave, None);
            assert!(out.status.success(), "{}", text(&out.stderr));
            serde_json::from_slice(&out.stdout).expect("status is JSON")
        };
        assert!(archive(&target, &["sync", "pause"], &slave, None).status.success());
        let report = status(&target);
        assert_eq!(report["control"]["paused"]["by"], "command line", "{report:#}");
        assert_eq!(report["health"]["colour"], "yellow");

        assert!(archive(&target, &["sync", "emergency-stop"], &slave, None).status.success());
        assert_eq!(status(&target)["health"]["colour"], "red");
        let refused = archive(&target, &["sync", "now"], &slave, None);
        assert!(!refused.status.success());
        assert!(text(&refused.stderr).contains("emergency stop"), "{}", text(&refused.stderr));

        assert!(archive(&target, &["sync", "clear-stop"], &slave, None).status.success());
        assert!(archive(&target, &["sync", "resume"], &slave, None).status.success());
        assert_eq!(
            status(&target)["control"],
            serde_json::json!({"paused": null, "emergency_stop": null, "key_refused": null})
        );
        // Nothing listens on port 9: the cycle fails, and is recorded.
        let failed = archive(&target, &["sync", "now"], &slave, None);
        assert!(!failed.status.success());
        assert_eq!(status(&target)["master"]["failures"], 1);
        let cleared = archive(&target, &["sync", "clear-failed"], &slave, None);
        assert!(text(&cleared.stdout).contains("cleared 1 failed attempts"), "{}", text(&cleared.stdout));
        assert_eq!(status(&target)["master"]["consecutive_failures"], 0);
    }
}

#[tokio::test]
async fn serve_answers_says_once_how_to_create_an_admin_and_stops_on_sigterm() {
    for target in targets() {
        let serving = serve(&target);
        let hints = serving.lines.iter().filter(|l| l.contains("archive user create")).count();
        assert_eq!(hints, 1, "{:?}", serving.lines);
        let url = format!("{}/api/v1/health", serving.base);
        let health: serde_json::Value = {
            archive::sync::install_crypto_provider();
            reqwest::get(url)
        }
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(health["status"], "ok");
        stop(serving);

        let create = ["user", "create", "--email", "a@example.org", "--name", "A", "--role", "admin"];
        let out = archive(&target, &create, &[("ARCHIVE_PASSWORD", "long enough")], None);
        assert!(out.status.success());
        let serving = serve(&target);
        let hinted = serving.lines.iter().any(|l| l.contains("archive user create"));
        assert!(!hinted, "no hint once an admin exists");
        stop(serving);
    }
}

#[tokio::test]
async fn serve_speaks_https_with_the_configured_certificate_and_refuses_a_bad_one() {
    let certs = archive_testkit::tls::TestCertificates::new();
    let target = &targets()[0];
    let (cert, key) = (certs.server_cert.display().to_string(), certs.server_key.display().to_string());
    let serving = serve_with(target, &[("ARCHIVE_TLS_CERT", &cert), ("ARCHIVE_TLS_KEY", &key)]);
    assert!(serving.base.starts_with("https://127.0.0.1:"), "{}", serving.base);
    archive::sync::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certs.ca_cert).unwrap()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let health: serde_json::Value =
        client.get(format!("{}/api/v1/health", serving.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let plain = serving.base.replace("https://", "http://");
    assert!(reqwest::get(format!("{plain}/api/v1/health")).await.is_err(), "no plain HTTP on a TLS port");
    stop(serving);

    // A key file that is not a key stops start-up, naming the variable.
    let out = Command::new(BIN)
        .args(&target.args)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .envs([("ARCHIVE_TLS_CERT", cert.as_str()), ("ARCHIVE_TLS_KEY", cert.as_str())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("ARCHIVE_TLS_KEY"), "{}", text(&out.stderr));
}

#[test]
fn healthcheck_exits_0_while_the_local_server_answers_and_1_once_it_is_gone() {
    let certs = archive_testkit::tls::TestCertificates::new();
    let (cert, key) = (certs.server_cert.display().to_string(), certs.server_key.display().to_string());
    for tls in [false, true] {
        let target = &targets()[0];
        let tls_env: &[(&str, &str)] =
            if tls { &[("ARCHIVE_TLS_CERT", &cert), ("ARCHIVE_TLS_KEY", &key)] } else { &[] };
        let serving = serve_with(target, tls_env);
        // The address comes from ARCHIVE_BIND, as the server's own does; the
        // scheme from whether TLS is configured.
        let bind = serving.base.split("://").nth(1).unwrap().to_owned();
        let mut env = vec![("ARCHIVE_BIND", bind.as_str())];
        env.extend_from_slice(tls_env);
        let out = archive(target, &["healthcheck"], &env, None);
        assert_eq!(out.status.code(), Some(0), "tls {tls}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("healthy"), "{}", text(&out.stdout));
        stop(serving);

        let started = Instant::now();
        let out = archive(target, &["healthcheck", "--timeout", "2"], &env, None);
        assert_eq!(out.status.code(), Some(1), "tls {tls}: nothing answers any more");
        assert!(text(&out.stderr).contains("no answer"), "{}", text(&out.stderr));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn a_database_url_where_nothing_listens_fails_at_once_saying_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://archive@127.0.0.1:{port}/archive");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--data-dir", &dir.path().display().to_string(), "db", "status"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let err = text(&out.stderr);
    assert!(err.contains("DATABASE_URL") && err.contains("connection refused"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn import_reads_folders_reports_failures_and_skips_unchanged_files_next_time() {
    let ffmpeg = Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success());
    if !ffmpeg {
        assert_ne!(std::env::var("ARCHIVE_TEST_REQUIRE_FFMPEG").as_deref(), Ok("1"), "ffmpeg is required");
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    for target in targets() {
        let music = target._dir.path().join("music/Artist/Album");
        std::fs::create_dir_all(&music).unwrap();
        for (name, freq) in [("01 - One.flac", 440), ("02 - Two.flac", 550)] {
            let out = Command::new("ffmpeg")
                .args(["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"])
                .arg(format!("sine=frequency={freq}:duration=0.5"))
                .arg(music.join(name))
                .output()
                .unwrap();
            assert!(out.status.success());
        }
        std::fs::write(music.join("03 - Broken.mp3"), b"not audio at all").unwrap();
        let root = target._dir.path().join("music");
        let out = archive(&target, &["import", root.to_str().unwrap()], &[], None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("imported 2, unchanged 0, failed 1"), "{stdout}");
        assert!(stdout.contains("03 - Broken.mp3"), "{stdout}");
        let again = text(&archive(&target, &["import", root.to_str().unwrap()], &[], None).stdout);
        assert!(again.contains("imported 0, unchanged 2, failed 1"), "{again}");
        // Recorded as the server's imports are, so its Import page lists them.
        let runs = import_runs_of(&target);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!(runs.iter().all(|r| r.trigger_kind == "command line" && r.state == "done"), "{runs:?}");
        assert_eq!((runs[0].skipped, runs[0].failed), (2, 1));
        assert!(runs[0].failures.contains("03 - Broken.mp3"), "{}", runs[0].failures);
        let out = archive(&target, &["import", "/no/such/folder"], &[], None);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("/no/such/folder"));
    }
}
