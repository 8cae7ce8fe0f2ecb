//! Sync beyond one master and one slave's happy path: several slaves editing
//! at random, a bootstrap killed half way, commits landing out of order on a
//! PostgreSQL master, and the same audio file imported on two nodes.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use archive_db::{Backend, Db, DbOptions, NewArtist, NewGenre, NewSong};
use archive_testkit::audio;
use archive_testkit::tls::TestCertificates;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::Command;
use uuid::Uuid;

use crate::media::{file_part, upload};
use crate::support::{App, TestUser, code};
use crate::sync::{Pair, start_master, start_slave};

/// One Archive instance of a test and an admin of it.
struct Node {
    name: String,
    app: App,
    admin: TestUser,
}

impl Node {
    async fn ids(&self, path: &str) -> Vec<String> {
        let (status, body) = self.app.get(path, &self.admin.token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    }

    async fn sync(&self) -> Value {
        let (status, report) = self.app.post("/api/v1/sync/now", &self.admin.token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{}: sync failed: {report}", self.name);
        report
    }
}

/// Names shared by every node, so that nodes create the same artist.
const ARTISTS: &[&str] = &["Can", "Neu!", "Faust", "Cluster", "Harmonia", "Popol Vuh"];

/// One random create, update or delete through `node`'s API. Only a name
/// already taken on that node may be refused (409).
async fn random_edit(node: &Node, rng: &mut fastrand::Rng, serial: &mut u32) {
    *serial += 1;
    let token = &node.admin.token;
    let songs = node.ids("/api/v1/songs?limit=500").await;
    let artists = node.ids("/api/v1/artists?limit=500").await;
    let pick = |rng: &mut fastrand::Rng, ids: &[String]| ids[rng.usize(..ids.len())].clone();
    let (what, (status, body)) = match rng.u8(..10) {
        0 | 1 => {
            let name = ARTISTS[rng.usize(..ARTISTS.len())];
            ("create artist", node.app.post("/api/v1/artists", token, json!({"name": name})).await)
        }
        5 | 6 if !songs.is_empty() => {
            let path = format!("/api/v1/songs/{}", pick(rng, &songs));
            let title = format!("{} edit {serial}", node.name);
            ("rename song", node.app.patch(&path, token, json!({"title": title})).await)
        }
        7 if !artists.is_empty() => {
            let path = format!("/api/v1/artists/{}", pick(rng, &artists));
            let name = format!("{} {}", ARTISTS[rng.usize(..ARTISTS.len())], rng.u8(..3));
            ("rename artist", node.app.patch(&path, token, json!({"name": name})).await)
        }
        8 if !songs.is_empty() => {
            ("delete song", node.app.delete(&format!("/api/v1/songs/{}", pick(rng, &songs)), token).await)
        }
        9 if !artists.is_empty() => (
            "delete artist",
            node.app.delete(&format!("/api/v1/artists/{}", pick(rng, &artists)), token).await,
        ),
        _ => {
            let artist =
                if artists.is_empty() || rng.bool() { Value::Null } else { pick(rng, &artists).into() };
            let title = format!("{} song {serial}", node.name);
            (
                "create song",
                node.app.post("/api/v1/songs", token, json!({"title": title, "artist_id": artist})).await,
            )
        }
    };
    let name_taken = status == StatusCode::CONFLICT && what.ends_with("artist");
    // Deleting from the library is an admin's, on the master (a slave
    // carries at most a moderator's rights).
    let master_only =
        status == StatusCode::CONFLICT && code(&body) == "master_only" && what.starts_with("delete");
    assert!(status.is_success() || name_taken || master_only, "{}: {what}: {status} {body}", node.name);
}

/// Pushes and pulls on `slave`, noting the change ids its push carries.
async fn sync_noting_pushes(slave: &Node, pushed: &mut Vec<(String, Uuid)>) {
    let outbox = slave.app.db().sync_outbox(100_000).await.unwrap();
    pushed.extend(outbox.changes.iter().map(|c| (slave.name.clone(), c.change_id)));
    slave.sync().await;
}

#[tokio::test]
async fn random_edits_on_a_master_and_two_slaves_converge_and_every_slave_change_is_accounted_for() {
    let backend = *archive_testkit::backends().last().unwrap();
    let seed = std::env::var("ARCHIVE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("seed {seed} (ARCHIVE_TEST_SEED={seed} repeats this run)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let certificates = TestCertificates::new();
    let (master_app, master_admin) = start_master(backend, &certificates).await;
    let mut slaves = Vec::new();
    for (name, slave_backend) in [("home", Backend::Sqlite), ("office", backend)] {
        let settings = [("SYNC_ENABLED", "false".to_owned())];
        let (app, admin, _) =
            start_slave(&master_app, &master_admin, &certificates, slave_backend, name, &settings).await;
        slaves.push(Node { name: name.into(), app, admin });
    }
    let master = Node { name: "main".into(), app: master_app, admin: master_admin };

    let mut pushed = Vec::new();
    let mut serial = 0;
    for _round in 0..8 {
        for node in [&master, &slaves[0], &slaves[1]] {
            for _ in 0..8 {
                random_edit(node, &mut rng, &mut serial).await;
            }
        }
        let first = rng.usize(..2);
        for slave in [&slaves[first], &slaves[1 - first]] {
            sync_noting_pushes(slave, &mut pushed).await;
        }
    }
    // Settle: each slave pushes what is left, then pulls what the other pushed.
    for _ in 0..2 {
        for slave in &slaves {
            sync_noting_pushes(slave, &mut pushed).await;
        }
    }

    let digest = master.app.db().sync_digest().await.unwrap();
    for slave in &slaves {
        assert_eq!(
            slave.app.db().sync_digest().await.unwrap(),
            digest,
            "{} differs from the master (seed {seed})",
            slave.name
        );
        assert_eq!(slave.app.db().unpushed_count().await.unwrap(), 0, "{}", slave.name);
    }
    assert!(!pushed.is_empty(), "the slaves pushed nothing (seed {seed})");
    let logged: HashSet<Uuid> =
        master.app.db().conflict_logs(100_000, 0).await.unwrap().into_iter().map(|c| c.change_id).collect();
    for (node, change_id) in &pushed {
        let receipt = master.app.db().push_receipt(*change_id).await.unwrap();
        let accounted = match receipt.as_deref() {
            Some("applied" | "merged") => true,
            Some(_) => logged.contains(change_id),
            None => false,
        };
        assert!(
            accounted,
            "{node}'s change {change_id}: receipt {receipt:?}, not in the conflict log (seed {seed})"
        );
    }
    for slave in slaves {
        slave.app.stop().await;
    }
    master.app.stop().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_archive");

/// A slave run only through the `archive` command, on its own data
/// directory (and PostgreSQL database).
struct CliSlave {
    dir: tempfile::TempDir,
    database_url: Option<String>,
    env: Vec<(&'static str, String)>,
}

impl CliSlave {
    fn new(backend: Backend, master: &App, certificates: &TestCertificates) -> CliSlave {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(archive_testkit::postgres_database(false).unwrap()),
        };
        let mut env = vec![
            ("ARCHIVE_DATA_DIR", dir.path().join("data").display().to_string()),
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "home".into()),
            ("MASTER_ARCHIVE_URL", master.base.clone()),
            ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
            ("ARCHIVE_LOG_LEVEL", "warn".into()),
        ];
        if let Some(url) = &database_url {
            env.push(("DATABASE_URL", url.clone()));
        }
        CliSlave { dir, database_url, env }
    }

    /// `archive args…` with this slave's settings. Run without blocking: the
    /// master serves on this test's runtime.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_remove("DATABASE_URL").envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.kill_on_drop(true);
        cmd
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "archive {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    async fn db(&self) -> Db {
        let options = DbOptions {
            database_url: self.database_url.clone(),
            sqlite_path: self.dir.path().join("data").join("archive.db"),
            max_connections: 2,
            ..Default::default()
        };
        Db::connect(&options).await.unwrap()
    }
}

/// Fills `db` with `artists` artists and `songs` songs spread over them.
async fn fill(db: &Db, artists: usize, songs: usize) {
    let mut tx = db.begin().await.unwrap();
    let mut ids = Vec::with_capacity(artists);
    for n in 0..artists {
        let artist = NewArtist { id: None, name: format!("Artist {n}"), biography: None };
        ids.push(tx.insert_artist(artist).await.unwrap().id);
    }
    for n in 0..songs {
        let song =
            NewSong { title: format!("Song {n}"), artist_id: Some(ids[n % artists]), ..Default::default() };
        tx.insert_song(song).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_bootstrap_killed_half_way_resumes_and_completes_without_duplicates() {
    let backend = *archive_testkit::backends().last().unwrap();
    let certificates = TestCertificates::new();
    let (master, master_admin) = start_master(backend, &certificates).await;
    let (artists, songs) = (3_000, 27_000);
    fill(master.db(), artists, songs).await;
    let digest = master.db().sync_digest().await.unwrap();

    for slave_backend in archive_testkit::backends() {
        eprintln!("-- slave on {}", slave_backend.name());
        let slave = CliSlave::new(slave_backend, &master, &certificates);
        let (status, issued) = master
            .post("/api/v1/sync/keys", &master_admin.token, json!({"name": "home", "node_id": "home"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        slave.run(&["sync", "set-key"], Some(issued["key"].as_str().unwrap())).await;
        let db = slave.db().await;

        // Killed (SIGKILL) once at least one page of songs is in.
        let mut first =
            slave.command(&["sync", "now"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let killed_at = loop {
            let progress: Option<Value> =
                db.sync_state("slave.bootstrap").await.unwrap().map(|v| serde_json::from_str(&v).unwrap());
            let in_songs = |p: &Value| p["tables"][p["table"].as_u64().unwrap() as usize] == "songs";
            if let Some(p) = progress.filter(|p| in_songs(p) && !p["after"].is_null()) {
                first.kill().await.unwrap();
                break p;
            }
            assert!(first.try_wait().unwrap().is_none(), "the bootstrap finished before it could be killed");
            assert!(Instant::now() < deadline, "no page of songs arrived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert!(
            db.sync_state("slave.bootstrap").await.unwrap().is_some(),
            "killed at {killed_at}, yet finished"
        );

        let out = slave.run(&["sync", "now"], None).await;
        assert!(out.contains("after a bootstrap"), "{out}");
        let pulled: u64 = out
            .split("pulled ")
            .nth(1)
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(pulled < (artists + songs) as u64, "the second run started over: {out}");
        assert_eq!(db.sync_digest().await.unwrap(), digest, "the slave differs from the master");
        db.close().await;
    }
    master.stop().await;
}

/// How many genres a node has.
async fn genres_on(app: &App) -> u64 {
    let digest = app.db().sync_digest().await.unwrap();
    digest.iter().find(|t| t.table == "genres").map(|t| t.rows as u64).unwrap()
}

#[tokio::test]
async fn commits_landing_out_of_order_on_a_postgresql_master_are_all_pulled_across_pages() {
    if !archive_testkit::backends().contains(&Backend::Postgres) {
        eprintln!("skipped: out-of-order commits are PostgreSQL's");
        return;
    }
    let pair = Pair::start(Backend::Postgres, Backend::Sqlite).await;
    pair.sync().await;
    let genre = |name: String| NewGenre { id: None, name };

    // The first writer takes its transaction id and stays open while a
    // later one commits more changes than a page holds.
    let mut early = pair.master.db().begin().await.unwrap();
    early.insert_genre(genre("Early 0".into())).await.unwrap();
    let mut late = pair.master.db().begin().await.unwrap();
    for n in 0..1_500 {
        late.insert_genre(genre(format!("Late {n}"))).await.unwrap();
    }
    late.commit().await.unwrap();
    pair.sync().await;
    assert_eq!(genres_on(&pair.slave).await, 0, "the later commit must wait behind the open one");

    for n in 1..1_201 {
        early.insert_genre(genre(format!("Early {n}"))).await.unwrap();
    }
    early.commit().await.unwrap();
    // Transactions of other tests on the same PostgreSQL server (in other
    // databases) also hold the horizon back for a moment, so a few cycles
    // may be needed.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while genres_on(&pair.slave).await < 2_701 && std::time::Instant::now() < deadline {
        pair.sync().await;
    }
    assert_eq!(genres_on(&pair.slave).await, 2_701);
    pair.assert_in_step().await;
    pair.stop().await;
}

#[tokio::test]
async fn the_same_audio_file_imported_on_master_and_slave_is_one_song_after_sync() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("same.mp3");
    audio::make(&mp3, audio::format("mp3"), &audio::full_tags("Twice", "Both Nodes", "Shared"), 1.0, 440);
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    pair.sync().await;
    for (app, token) in [(&pair.master, &pair.master_admin.token), (&pair.slave, &pair.slave_admin.token)] {
        let (status, body) =
            upload(app, token, reqwest::multipart::Form::new().part("file", file_part(&mp3))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    pair.sync().await;
    pair.sync().await;
    pair.assert_in_step().await;
    for (app, token) in [(&pair.master, &pair.master_admin.token), (&pair.slave, &pair.slave_admin.token)] {
        for (path, count) in [("/api/v1/songs", 1), ("/api/v1/artists", 1), ("/api/v1/albums", 1)] {
            let (_, body) = app.get(path, token).await;
            assert_eq!(body["items"].as_array().unwrap().len(), count, "{path}: {body}");
        }
    }
    pair.stop().await;
}
