//! Master-slave sync between real servers on loopback: a master serving
//! HTTPS with a certificate from a throwaway CA and a slave that trusts that
//! CA, each on its own database, on every pair of available backends. Cycles are started through the slave's API (`POST /sync/now`).

use archive_db::{Backend, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use archive_testkit::tls::TestCertificates;

use crate::support::{App, TestUser, code, id};

pub struct Pair {
    pub master: App,
    pub slave: App,
    pub master_admin: TestUser,
    pub slave_admin: TestUser,
    /// The slave key the master issued.
    pub key: String,
    /// The master serves HTTPS with a certificate from this throwaway CA.
    _certificates: TestCertificates,
}

impl Pair {
    /// A master serving HTTPS and a slave that trusts its CA. The slave's
    /// background worker is off (`SYNC_ENABLED=false`): cycles run when a test asks.
    pub async fn start(master_backend: Backend, slave_backend: Backend) -> Pair {
        Self::start_with(master_backend, slave_backend, &[("SYNC_ENABLED", "false".into())]).await
    }

    /// As [`Pair::start`], with the slave's `settings` on top.
    pub async fn start_with(
        master_backend: Backend,
        slave_backend: Backend,
        slave_settings: &[(&'static str, String)],
    ) -> Pair {
        Self::start_configured(master_backend, slave_backend, &[], slave_settings).await
    }

    /// As [`Pair::start_with`], with the master's `settings` on top too.
    pub async fn start_configured(
        master_backend: Backend,
        slave_backend: Backend,
        master_settings: &[(&'static str, String)],
        slave_settings: &[(&'static str, String)],
    ) -> Pair {
        let certificates = TestCertificates::new();
        let (master, master_admin) = start_master_with(master_backend, &certificates, master_settings).await;
        let (slave, slave_admin, key) =
            start_slave(&master, &master_admin, &certificates, slave_backend, "home", slave_settings).await;
        Pair { master, slave, master_admin, slave_admin, key, _certificates: certificates }
    }

    /// The CA certificate the slave trusts for the master.
    pub fn ca_cert(&self) -> &std::path::Path {
        &self._certificates.ca_cert
    }

    /// Another slave of the same master, on `backend`: (server, its admin).
    pub async fn second_slave(&self, backend: Backend, node_id: &str) -> (App, TestUser) {
        let settings = [("SYNC_ENABLED", "false".into())];
        let (slave, admin, _) =
            start_slave(&self.master, &self.master_admin, &self._certificates, backend, node_id, &settings)
                .await;
        (slave, admin)
    }

    /// The master's first listed slave (`GET /api/v1/sync/slaves`) once
    /// `ready` says it is as awaited: visits are written within a second.
    /// Fails after 10 s.
    pub async fn first_slave_when(&self, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, slaves) = self.master.get("/api/v1/sync/slaves", &self.master_admin.token).await;
            if ready(&slaves[0]) {
                return slaves[0].clone();
            }
            assert!(std::time::Instant::now() < deadline, "{slaves}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// How many changes the master counted against the slave's key today
    /// (once the master has seen the slave).
    pub async fn pushed_today(&self) -> u64 {
        let slave = self.first_slave_when(|slave| slave["pushed_today"].is_u64()).await;
        slave["pushed_today"].as_u64().expect("checked")
    }

    /// Runs one cycle on the slave and returns its report.
    pub async fn sync(&self) -> Value {
        let (status, report) = self.slave.post("/api/v1/sync/now", &self.slave_admin.token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "sync failed: {report}");
        report
    }

    /// Runs cycles until one pulls something (at most 50, 100 ms apart) and
    /// returns its report. On a PostgreSQL master a change made just before
    /// can come a cycle late: a transaction still open in its database holds
    /// the log's horizon back (SYNC.md), and a master that found its log idle
    /// answers "nothing new" without a query until PostgreSQL's notification
    /// of the commit reaches it, a moment after the commit. It is never
    /// skipped.
    pub async fn sync_until_pulled(&self) -> Value {
        for _ in 0..50 {
            let report = self.sync().await;
            if report["pulled"] != 0 {
                return report;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the master's change never reached the slave");
    }

    /// Runs cycles until one pulls nothing (at most 20). On PostgreSQL a
    /// bootstrap's cursor can trail rows its copy already holds, while
    /// a transaction still open in the master's database holds the log's
    /// horizon back; those rows come again, harmlessly, in a later cycle.
    /// Tests that count what a cycle pulls settle first.
    pub async fn settle(&self) {
        for _ in 0..20 {
            if self.sync().await["pulled"] == 0 {
                return;
            }
        }
        panic!("the slave never caught up with the master");
    }

    pub async fn assert_in_step(&self) {
        let master = self.master.db().sync_digest().await.unwrap();
        let slave = self.slave.db().sync_digest().await.unwrap();
        assert_eq!(master, slave, "the two nodes' data differ");
    }

    pub async fn stop(self) {
        self.slave.stop().await;
        self.master.stop().await;
    }
}

/// A master's settings: node id `main`, HTTPS with `certificates`.
pub fn master_settings(certificates: &TestCertificates) -> Vec<(&'static str, String)> {
    vec![
        ("ARCHIVE_ROLE", "master".into()),
        ("ARCHIVE_NODE_ID", "main".into()),
        ("ARCHIVE_TLS_CERT", certificates.server_cert.display().to_string()),
        ("ARCHIVE_TLS_KEY", certificates.server_key.display().to_string()),
    ]
}

/// A master (node id `main`) serving HTTPS with a certificate from
/// `certificates`' CA, and an admin of it.
pub async fn start_master(backend: Backend, certificates: &TestCertificates) -> (App, TestUser) {
    start_master_with(backend, certificates, &[]).await
}

/// As [`start_master`], with `settings` on top.
pub async fn start_master_with(
    backend: Backend,
    certificates: &TestCertificates,
    settings: &[(&'static str, String)],
) -> (App, TestUser) {
    let mut all = master_settings(certificates);
    all.extend(settings.iter().cloned());
    let master = App::start_trusting(backend, &all, Some(&certificates.ca_cert)).await;
    assert!(master.base.starts_with("https://"), "{}", master.base);
    let admin = master.user(Role::Admin).await;
    (master, admin)
}

/// A slave of `master` with the node id given, trusting the master's CA,
/// holding a key the master issued for it (returned), with `settings` on top.
pub async fn start_slave(
    master: &App,
    master_admin: &TestUser,
    certificates: &TestCertificates,
    backend: Backend,
    node_id: &str,
    settings: &[(&'static str, String)],
) -> (App, TestUser, String) {
    let mut all = vec![
        ("ARCHIVE_ROLE", "slave".into()),
        ("ARCHIVE_NODE_ID", node_id.to_owned()),
        ("MASTER_ARCHIVE_URL", master.base.clone()),
        ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
    ];
    all.extend(settings.iter().cloned());
    let slave = App::start(backend, &all).await;
    let admin = seed_account(master, &slave, master_admin).await;
    let (status, issued) = master
        .post("/api/v1/sync/keys", &master_admin.token, json!({"name": node_id, "node_id": node_id}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let key = issued["key"].as_str().unwrap().to_owned();
    let kek = archive::sync::keys::Kek::load(slave.data_dir.path(), None).unwrap();
    archive::sync::keys::store_on_slave(slave.db(), &kek, &key).await.unwrap();
    (slave, admin, key)
}

/// The master's account `user` on `slave`, as the slave holds it after a
/// sync (accounts are the master's), with a token of the slave's own.
pub async fn seed_account(master: &App, slave: &App, user: &TestUser) -> TestUser {
    let users = master.db().bootstrap_page("users", None, 10_000).await.unwrap();
    let row = users.rows.into_iter().find(|r| r.id == user.id).expect("the master has the account");
    let rows = archive_db::sync::MasterRows::new(vec![row]);
    slave.db().apply_master_rows(&rows, "test.seeded_accounts", "-").await.unwrap();
    TestUser { id: user.id, email: user.email.clone(), token: slave.token_for(user.id).await }
}

/// A user of `role` made on the master and held by the slave too.
pub async fn shared_user(pair: &Pair, role: Role) -> (TestUser, TestUser) {
    let on_master = pair.master.user(role).await;
    let on_slave = seed_account(&pair.master, &pair.slave, &on_master).await;
    (on_master, on_slave)
}

/// Every (master, slave) pair of available backends.
pub fn pairs() -> Vec<(Backend, Backend)> {
    let backends = archive_testkit::backends();
    let mut pairs = Vec::new();
    for m in &backends {
        for s in &backends {
            pairs.push((*m, *s));
        }
    }
    pairs
}

pub async fn create(app: &App, token: &str, path: &str, body: Value) -> String {
    let (status, created) = app.post(path, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
    id(&created)
}

#[tokio::test]
async fn a_fresh_slave_copies_the_master_then_follows_its_changes() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        let token = &pair.master_admin.token;
        let artist = create(&pair.master, token, "/api/v1/artists", json!({"name": "Nina Simone"})).await;
        let mut songs = Vec::new();
        for n in 0..30 {
            songs.push(
                create(
                    &pair.master,
                    token,
                    "/api/v1/songs",
                    json!({"title": format!("Song {n}"), "artist_id": artist}),
                )
                .await,
            );
        }
        let first = pair.sync().await;
        assert_eq!(first["bootstrapped"], true, "{first}");
        pair.assert_in_step().await;
        let (status, song) =
            pair.slave.get(&format!("/api/v1/songs/{}", songs[3]), &pair.slave_admin.token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(song["title"], "Song 3");

        // Updates and deletes on the master arrive; a second cycle is not a bootstrap.
        pair.master.patch(&format!("/api/v1/songs/{}", songs[0]), token, json!({"title": "Renamed"})).await;
        let (status, _) = pair.master.delete(&format!("/api/v1/songs/{}", songs[1]), token).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let second = pair.sync().await;
        assert_eq!(second["bootstrapped"], false, "{second}");
        pair.assert_in_step().await;
        let (_, song) = pair.slave.get(&format!("/api/v1/songs/{}", songs[0]), &pair.slave_admin.token).await;
        assert_eq!(song["title"], "Renamed");
        let (status, _) =
            pair.slave.get(&format!("/api/v1/songs/{}", songs[1]), &pair.slave_admin.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Nothing new: the slave's own changes do not come back to it as new ones.
        let third = pair.sync().await;
        assert_eq!(third["pulled"], 0, "{third}");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_bootstrap_leaves_the_slaves_search_index_in_one_piece() {
    // FTS5 keeps a segment per commit and merges them as they pile up; a
    // bootstrap's many commits would leave that merge to a later pull.
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    let token = &pair.master_admin.token;
    for n in 0..5 {
        create(&pair.master, token, "/api/v1/songs", json!({"title": format!("Master tune {n}")})).await;
    }
    // Songs the slave had before it joined, each in its own commit.
    let slave = pair.slave.db();
    for n in 0..5 {
        let mut tx = slave.begin().await.unwrap();
        tx.insert_song(archive_db::NewSong { title: format!("Home tune {n}"), ..Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert!(archive_testkit::song_search_segments(slave).await >= 5);

    let report = pair.sync().await;
    assert_eq!(report["bootstrapped"], true, "{report}");
    pair.assert_in_step().await;
    assert_eq!(archive_testkit::song_search_segments(slave).await, 1, "merged after the bootstrap");
    let tunes = slave
        .search_songs(&archive_db::SearchRequest { query: "tune".into(), limit: 20, offset: 0 })
        .await
        .unwrap();
    assert_eq!(tunes.items.len(), 10, "the master's songs and the ones pushed from home");
    pair.stop().await;
}

#[tokio::test]
async fn a_slaves_changes_reach_the_master_without_echo() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        pair.sync().await;
        let token = &pair.slave_admin.token;
        let genre = create(&pair.slave, token, "/api/v1/genres", json!({"name": "Field recordings"})).await;
        let song =
            create(&pair.slave, token, "/api/v1/songs", json!({"title": "Rain", "genre_id": genre})).await;
        pair.slave.patch(&format!("/api/v1/songs/{song}"), token, json!({"title": "Rain, later"})).await;
        let report = pair.sync().await;
        assert!(report["pushed"].as_u64().unwrap() >= 2, "{report}");
        assert_eq!(report["not_applied"], 0, "{report}");
        pair.assert_in_step().await;
        let (status, on_master) =
            pair.master.get(&format!("/api/v1/songs/{song}"), &pair.master_admin.token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(on_master["title"], "Rain, later");
        assert_eq!(on_master["genre_id"], genre.as_str());
        // A cycle with nothing new moves nothing either way.
        let quiet = pair.sync().await;
        assert_eq!((quiet["pushed"].as_u64(), quiet["pulled"].as_u64()), (Some(0), Some(0)), "{quiet}");
        assert_eq!(pair.slave.db().unpushed_count().await.unwrap(), 0);
        pair.stop().await;
    }
}

#[tokio::test]
async fn when_both_sides_edit_a_song_the_master_wins_and_the_conflict_is_logged() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        let song =
            create(&pair.master, &pair.master_admin.token, "/api/v1/songs", json!({"title": "Original"}))
                .await;
        pair.sync().await;
        pair.master
            .patch(&format!("/api/v1/songs/{song}"), &pair.master_admin.token, json!({"title": "Master's"}))
            .await;
        pair.slave
            .patch(&format!("/api/v1/songs/{song}"), &pair.slave_admin.token, json!({"title": "Slave's"}))
            .await;
        let report = pair.sync().await;
        assert_eq!(report["not_applied"], 1, "{report}");
        pair.assert_in_step().await;
        for app in [&pair.master, &pair.slave] {
            let token = if std::ptr::eq(app, &pair.master) {
                &pair.master_admin.token
            } else {
                &pair.slave_admin.token
            };
            let (_, body) = app.get(&format!("/api/v1/songs/{song}"), token).await;
            assert_eq!(body["title"], "Master's");
        }
        let (_, conflicts) = pair.master.get("/api/v1/sync/conflicts", &pair.master_admin.token).await;
        let conflicts = conflicts.as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let entry = &conflicts[0];
        assert_eq!(entry["node_id"], "home");
        assert_eq!(entry["resolution"], "master_wins");
        assert!(entry["slave_row"].as_str().unwrap().contains("Slave's"));
        assert!(entry["master_row"].as_str().unwrap().contains("Master's"));
        pair.stop().await;
    }
}

#[tokio::test]
async fn what_a_pushed_delete_does_to_other_rows_on_the_master_reaches_the_slave_that_pushed_it() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        let (owner_on_master, owner_on_slave) = shared_user(&pair, Role::User).await;
        let token = &pair.master_admin.token;
        let song = create(&pair.master, token, "/api/v1/songs", json!({"title": "Oscillations"})).await;
        let playlist =
            create(&pair.master, &owner_on_master.token, "/api/v1/playlists", json!({"name": "Mine"})).await;
        pair.sync().await;
        // An entry the slave has not pulled yet goes with the playlist on
        // the master when the slave's delete of the playlist arrives there
        // (adding an entry changes that entry only, so the delete stands).
        let entries = format!("/api/v1/playlists/{playlist}/entries");
        create(&pair.master, &owner_on_master.token, &entries, json!({"song_id": song})).await;
        let (status, _) =
            pair.slave.delete(&format!("/api/v1/playlists/{playlist}"), &owner_on_slave.token).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let report = pair.sync().await;
        assert_eq!(report["not_applied"], 0, "{report}");
        pair.assert_in_step().await;
        let (status, _) = pair.master.get(&entries, &owner_on_master.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        pair.stop().await;
    }
}

#[tokio::test]
async fn two_nodes_adding_to_the_top_of_one_playlist_both_keep_their_songs_in_one_order() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        let (owner_on_master, owner_on_slave) = shared_user(&pair, Role::User).await;
        let token = &pair.master_admin.token;
        let mut songs = Vec::new();
        for title in ["First", "From the master", "From the slave"] {
            songs.push(create(&pair.master, token, "/api/v1/songs", json!({"title": title})).await);
        }
        let playlist =
            create(&pair.master, &owner_on_master.token, "/api/v1/playlists", json!({"name": "Shared"}))
                .await;
        let entries = format!("/api/v1/playlists/{playlist}/entries");
        create(&pair.master, &owner_on_master.token, &entries, json!({"song_id": songs[0]})).await;
        pair.sync().await;
        let top = |song: &str| json!({"song_id": song, "position": 0});
        create(&pair.master, &owner_on_master.token, &entries, top(&songs[1])).await;
        create(&pair.slave, &owner_on_slave.token, &entries, top(&songs[2])).await;
        let report = pair.sync().await;
        assert_eq!(report["not_applied"], 0, "{report}");
        pair.settle().await;
        pair.assert_in_step().await;
        let song_ids = |page: Value| -> Vec<String> {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["song_id"].as_str().unwrap().to_owned())
                .collect()
        };
        let on_master = song_ids(pair.master.get(&entries, &owner_on_master.token).await.1);
        let on_slave = song_ids(pair.slave.get(&entries, &owner_on_slave.token).await.1);
        assert_eq!(on_master.len(), 3, "{on_master:?}");
        assert_eq!(on_master, on_slave, "one order on both nodes");
        assert_eq!(on_master[2], songs[0], "both went in above the first song");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_conflict_whose_master_row_names_a_parent_the_slave_lacks_ends_in_step() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        let token = &pair.master_admin.token;
        let song = create(&pair.master, token, "/api/v1/songs", json!({"title": "Untitled"})).await;
        pair.sync().await;
        let album = create(&pair.master, token, "/api/v1/albums", json!({"title": "New Album"})).await;
        pair.master.patch(&format!("/api/v1/songs/{song}"), token, json!({"album_id": album})).await;
        pair.slave
            .patch(&format!("/api/v1/songs/{song}"), &pair.slave_admin.token, json!({"title": "Mine"}))
            .await;
        let report = pair.sync().await;
        assert_eq!(report["not_applied"], 1, "{report}");
        pair.assert_in_step().await;
        let (_, body) = pair.slave.get(&format!("/api/v1/songs/{song}"), &pair.slave_admin.token).await;
        assert_eq!(
            (body["title"].as_str(), body["album_id"].as_str()),
            (Some("Untitled"), Some(album.as_str()))
        );
        pair.stop().await;
    }
}

#[tokio::test]
async fn the_same_name_created_on_both_nodes_becomes_one_record() {
    for (m, s) in pairs() {
        eprintln!("-- master on {}, slave on {}", m.name(), s.name());
        let pair = Pair::start(m, s).await;
        pair.sync().await;
        let on_master =
            create(&pair.master, &pair.master_admin.token, "/api/v1/artists", json!({"name": "Björk"})).await;
        let on_slave =
            create(&pair.slave, &pair.slave_admin.token, "/api/v1/artists", json!({"name": "björk"})).await;
        let song = create(
            &pair.slave,
            &pair.slave_admin.token,
            "/api/v1/songs",
            json!({"title": "Joga", "artist_id": on_slave}),
        )
        .await;
        pair.sync().await;
        pair.assert_in_step().await;
        for (app, token) in [(&pair.master, &pair.master_admin.token), (&pair.slave, &pair.slave_admin.token)]
        {
            let (_, body) = app.get(&format!("/api/v1/songs/{song}"), token).await;
            assert_eq!(body["artist_id"], on_master.as_str(), "the song points at the master's artist");
            let (status, _) = app.get(&format!("/api/v1/artists/{on_slave}"), token).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_repeated_push_is_applied_once() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    let change_id = uuid::Uuid::new_v4();
    let artist_id = uuid::Uuid::new_v4();
    let now = archive_db::now().to_rfc3339();
    let body = json!({"changes": [{
        "change_id": change_id, "table": "artists", "id": artist_id, "base_version": null,
        "row": {"id": artist_id, "name": "Can", "name_key": "can", "biography": null, "created_at": now, "updated_at": now}
    }]});
    let mut versions = Vec::new();
    for expected in ["applied", "duplicate", "duplicate"] {
        let (status, answer) = pair
            .master
            .call(reqwest::Method::POST, "/api/v1/sync/apply", Some(&pair.key), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let outcome = &answer["outcomes"][0];
        assert_eq!(outcome["status"], expected, "{outcome}");
        versions.push(outcome["state"]["version"].as_i64().unwrap());
    }
    assert!(versions.windows(2).all(|w| w[0] == w[1]), "{versions:?}");
    let changes = archive_testkit::settled_changes(pair.master.db()).await;
    let recorded = changes.iter().filter(|c| c.row_id == artist_id).count();
    assert_eq!(recorded, 1, "one change recorded for three pushes");
    pair.stop().await;
}

#[tokio::test]
async fn wrong_revoked_and_user_keys_are_refused_with_401() {
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    let ping = |key: String| {
        let master = &pair.master;
        async move { master.call(reqwest::Method::GET, "/api/v1/sync/ping", Some(&key), None).await }
    };
    let (status, body) = ping(pair.key.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["your_node_id"], "home");
    let (status, body) = ping(forged_key(&pair.key)).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "invalid_slave_key"));
    let (status, _) = ping(pair.master_admin.token.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Rotation without overlap: the new key works, the old one has expired.
    let (status, rotated) = pair
        .master
        .post(
            "/api/v1/sync/keys",
            &pair.master_admin.token,
            json!({"name": "home 2", "node_id": "home", "overlap_hours": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    let (status, body) = ping(pair.key.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");
    let (status, body) = ping(new_key.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, keys) = pair.master.get("/api/v1/sync/keys", &pair.master_admin.token).await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(keys.as_array().unwrap().iter().all(|k| k.get("key_hash").is_none()), "the hash is never shown");
    let key_id = rotated["record"]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        pair.master.delete(&format!("/api/v1/sync/keys/{key_id}"), &pair.master_admin.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = ping(new_key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"));
    // The slave's cycle fails and says why.
    let (status, report) = pair.slave.post("/api/v1/sync/now", &pair.slave_admin.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(report["error"]["message"].as_str().unwrap().contains("refused the slave key"), "{report}");

    // Failed attempts with well-formed keys are limited per address (ten in
    // 15 minutes; some failed above): refused with 401 until the limit, then 429.
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..10 {
        last = ping(forged_key(&pair.key)).await;
        if last.0 != StatusCode::UNAUTHORIZED {
            break;
        }
    }
    assert_eq!((last.0, code(&last.1)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "{}", last.1);
    pair.stop().await;
}

#[tokio::test]
async fn a_slave_behind_a_new_epoch_bootstraps_again() {
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    let token = &pair.master_admin.token;
    create(&pair.master, token, "/api/v1/genres", json!({"name": "Dub"})).await;
    pair.sync().await;
    pair.master.db().renew_sync_epoch().await.unwrap();
    create(&pair.master, token, "/api/v1/genres", json!({"name": "Ska"})).await;
    let report = pair.sync().await;
    assert_eq!(report["bootstrapped"], true, "{report}");
    pair.assert_in_step().await;
    pair.stop().await;
}

#[tokio::test]
async fn more_changes_than_a_page_holds_all_arrive() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    pair.settle().await;
    // 2,500 changes: more than two pulled pages (1,000 each).
    let mut tx = pair.master.db().begin().await.unwrap();
    for n in 0..2500 {
        tx.insert_genre(archive_db::NewGenre { id: None, name: format!("Genre {n}") }).await.unwrap();
    }
    tx.commit().await.unwrap();
    let report = pair.sync().await;
    assert_eq!(report["pulled"], 2500, "{report}");
    pair.assert_in_step().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_large_page_of_edits_lands_exactly_and_the_slaves_search_follows() {
    // A SQLite slave writes a page of 50 rows or more column by column where
    // it differs: renamed titles, moved albums, cleared years, new rows and
    // genre names passed round in a ring (each takes the next one's name,
    // which a row-at-a-time write must set aside first) all land as on the master.
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    let master = pair.master.db();
    let mut tx = master.begin().await.unwrap();
    let mut genres = Vec::new();
    for n in 0..60 {
        genres.push(
            tx.insert_genre(archive_db::NewGenre { id: None, name: format!("Genre {n}") }).await.unwrap().id,
        );
    }
    let album = |title: &str| archive_db::NewAlbum { title: title.into(), ..Default::default() };
    let first = tx.insert_album(album("First")).await.unwrap().id;
    let second = tx.insert_album(album("Second")).await.unwrap().id;
    let mut songs = Vec::new();
    for n in 0..120 {
        let song = archive_db::NewSong {
            title: format!("Song {n}"),
            album_id: Some(first),
            genre_id: Some(genres[n % 60]),
            year: Some(1990 + n as i64 % 10),
            ..Default::default()
        };
        songs.push(tx.insert_song(song).await.unwrap().id);
    }
    tx.commit().await.unwrap();
    pair.sync().await;
    pair.assert_in_step().await;

    let mut tx = master.begin().await.unwrap();
    for (n, id) in songs.iter().enumerate() {
        let patch = match n % 3 {
            0 => archive_db::SongPatch { title: Some(format!("Renamed tune {n}")), ..Default::default() },
            1 => {
                archive_db::SongPatch { album_id: Some(Some(second)), year: Some(None), ..Default::default() }
            }
            _ => continue,
        };
        tx.update_song(*id, patch).await.unwrap();
    }
    for (n, genre) in genres.iter().enumerate() {
        // Set aside first, then take the next one's name.
        let patch = archive_db::GenrePatch { name: Some(format!("Genre {n} moving")) };
        tx.update_genre(*genre, patch).await.unwrap();
    }
    for (n, genre) in genres.iter().enumerate() {
        let patch = archive_db::GenrePatch { name: Some(format!("Genre {}", (n + 1) % 60)) };
        tx.update_genre(*genre, patch).await.unwrap();
    }
    for n in 0..60 {
        let song = archive_db::NewSong {
            title: format!("New song {n}"),
            album_id: Some(second),
            ..Default::default()
        };
        tx.insert_song(song).await.unwrap();
    }
    tx.commit().await.unwrap();
    let report = pair.sync().await;
    assert!(report["pulled"].as_u64().unwrap() >= 200, "{report}");
    pair.assert_in_step().await;
    for table in ["genres", "songs"] {
        let rows =
            |db: archive_db::Db| async move { db.bootstrap_page(table, None, 1000).await.unwrap().rows };
        assert_eq!(
            rows(pair.slave.db().clone()).await,
            rows(master.clone()).await,
            "{table}: every column as on the master"
        );
    }
    let slave = pair.slave.db();
    let found = |query: &str| archive_db::SearchRequest { query: query.into(), limit: 100, offset: 0 };
    let renamed = slave.search_songs(&found("renamed tune")).await.unwrap();
    assert_eq!(renamed.items.len(), 40, "the search index follows the new titles");
    let old = slave.search_songs(&found("song 3")).await.unwrap();
    assert!(
        old.items.iter().all(|s| !s.title.starts_with("Song 3 ") && s.title != "Song 3"),
        "old titles are gone"
    );
    pair.stop().await;
}

#[tokio::test]
async fn a_row_arrives_with_a_parent_whose_only_log_entry_lies_beyond_the_page() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    pair.sync().await;
    let token = &pair.master_admin.token;
    // The album's entry falls in the first page; its artist's newest entry,
    // after compaction its only one, in the second.
    let artist = create(&pair.master, token, "/api/v1/artists", json!({"name": "Late"})).await;
    create(&pair.master, token, "/api/v1/albums", json!({"title": "Early", "artist_id": artist})).await;
    let mut tx = pair.master.db().begin().await.unwrap();
    for n in 0..1200 {
        tx.insert_genre(archive_db::NewGenre { id: None, name: format!("Genre {n}") }).await.unwrap();
    }
    tx.commit().await.unwrap();
    let (status, body) =
        pair.master.patch(&format!("/api/v1/artists/{artist}"), token, json!({"name": "Later"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let compaction = pair.master.db().compact_change_log(chrono::Duration::days(30)).await.unwrap();
    assert_eq!(compaction.superseded, 1, "{compaction:?}");

    let report = pair.sync().await;
    assert_eq!(report["bootstrapped"], false, "{report}");
    pair.assert_in_step().await;
    pair.stop().await;
}

/// A page whose rows go in cleanly only one by one (two artists traded
/// names: each new name is the other's old one) is written again with care,
/// the first attempt leaving nothing behind.
#[tokio::test]
async fn two_artists_that_trade_names_on_the_master_trade_them_on_the_slave() {
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start(master_backend, slave_backend).await;
        let token = &pair.master_admin.token;
        let alpha = create(&pair.master, token, "/api/v1/artists", json!({"name": "Alpha"})).await;
        let beta = create(&pair.master, token, "/api/v1/artists", json!({"name": "Beta"})).await;
        pair.settle().await;

        for (artist, name) in [(&alpha, "Interim"), (&beta, "Alpha"), (&alpha, "Beta")] {
            let (status, body) =
                pair.master.patch(&format!("/api/v1/artists/{artist}"), token, json!({"name": name})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let report = pair.sync().await;
        assert_eq!(report["pulled"], 2, "{master_backend:?} to {slave_backend:?}: {report}");
        let slave_token = &pair.slave_admin.token;
        for (artist, name) in [(&alpha, "Beta"), (&beta, "Alpha")] {
            let (status, body) = pair.slave.get(&format!("/api/v1/artists/{artist}"), slave_token).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["name"], name, "{master_backend:?} to {slave_backend:?}: {body}");
        }
        pair.assert_in_step().await;
        pair.stop().await;
    }
}

#[tokio::test]
async fn an_edited_song_travels_alone_when_the_slave_has_its_parents() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    let token = &pair.master_admin.token;
    let artist = create(&pair.master, token, "/api/v1/artists", json!({"name": "Nico"})).await;
    let album =
        create(&pair.master, token, "/api/v1/albums", json!({"title": "Chelsea Girl", "artist_id": artist}))
            .await;
    let genre = create(&pair.master, token, "/api/v1/genres", json!({"name": "Folk"})).await;
    let song = create(
        &pair.master,
        token,
        "/api/v1/songs",
        json!({"title": "These Days", "artist_id": artist, "album_id": album, "genre_id": genre}),
    )
    .await;
    pair.settle().await;

    let (status, body) = pair
        .master
        .patch(&format!("/api/v1/songs/{song}"), token, json!({"title": "These Days (mono)"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = pair.sync_until_pulled().await;
    assert_eq!(report["pulled"], 1, "only the song, not its album, artist and genre again: {report}");
    pair.assert_in_step().await;
    pair.stop().await;
}

/// A well-formed key that is not `key`.
fn forged_key(key: &str) -> String {
    let last = if key.ends_with('0') { '1' } else { '0' };
    format!("{}{last}", &key[..key.len() - 1])
}

#[tokio::test]
async fn a_slave_that_does_not_trust_the_masters_certificate_refuses_to_sync() {
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    // A second slave with the same key, but without MASTER_CA_CERT: the
    // master's certificate comes from a CA it has never heard of.
    let untrusting = App::start(
        Backend::Sqlite,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "home".into()),
            ("SYNC_ENABLED", "false".into()),
            ("MASTER_ARCHIVE_URL", pair.master.base.clone()),
        ],
    )
    .await;
    let admin = untrusting.user(Role::Admin).await;
    let kek = archive::sync::keys::Kek::load(untrusting.data_dir.path(), None).unwrap();
    archive::sync::keys::store_on_slave(untrusting.db(), &kek, &pair.key).await.unwrap();

    let (status, body) = untrusting.post("/api/v1/sync/now", &admin.token, json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_GATEWAY, "sync_failed"), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "the error names the certificate: {message}");
    let (_, report) = untrusting.get("/api/v1/sync/status", &admin.token).await;
    assert_eq!(report["master"]["failures"], 1, "{report}");
    assert_eq!(report["master"]["successes"], 0, "{report}");

    // The slave that trusts the CA syncs over the same HTTPS.
    pair.sync().await;
    untrusting.stop().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_slave_behind_the_retention_horizon_bootstraps_again() {
    for (m, s) in pairs() {
        let pair = Pair::start(m, s).await;
        let token = &pair.master_admin.token;
        create(&pair.master, token, "/api/v1/artists", json!({"name": "Kept"})).await;
        pair.sync().await;

        // A delete the slave has not pulled, then compaction past it.
        let gone = create(&pair.master, token, "/api/v1/artists", json!({"name": "Gone"})).await;
        let (status, _) = pair.master.delete(&format!("/api/v1/artists/{gone}"), token).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let compaction = pair.master.db().compact_change_log(chrono::Duration::zero()).await.unwrap();
        assert_eq!(compaction.expired_tombstones, 1);

        let report = pair.sync().await;
        assert_eq!(report["bootstrapped"], true, "{m:?}/{s:?}: {report}");
        pair.assert_in_step().await;
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_cycle_waits_for_changes_held_back_behind_an_open_transaction_on_the_master() {
    if !archive_testkit::backends().contains(&Backend::Postgres) {
        eprintln!("skipped: the read horizon is PostgreSQL's");
        return;
    }
    let pair = Pair::start(Backend::Postgres, Backend::Sqlite).await;
    let token = &pair.master_admin.token;
    let song = create(&pair.master, token, "/api/v1/songs", json!({"title": "Doomed"})).await;
    pair.settle().await;

    // A transaction that started writing first and is still open holds the
    // master's log horizon below the delete committed after it.
    let mut holder = pair.master.db().begin().await.unwrap();
    holder.set_sync_state("test.holder", Some("open")).await.unwrap();
    let (status, _) = pair.master.delete(&format!("/api/v1/songs/{song}"), token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        holder.commit().await.unwrap();
    });

    // The cycle, started while the delete is held back, still brings it.
    let report = pair.sync().await;
    release.await.unwrap();
    assert_eq!(report["pulled"], 1, "{report}");
    pair.assert_in_step().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_song_uploaded_on_a_slave_reaches_the_master_with_its_sound_and_then_a_second_slave() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start(master_backend, slave_backend).await;
        pair.settle().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("From Home.mp3");
        let tags = archive_testkit::audio::full_tags("From Home", "Slave Band", "Uploaded");
        archive_testkit::audio::make(&path, archive_testkit::audio::format("mp3"), &tags, 2.0, 523);
        // And a file larger than one piece of an upload (8 MiB): 55 s of WAV.
        let long = dir.path().join("Long Take.wav");
        let tags = archive_testkit::audio::full_tags("Long Take", "Slave Band", "Uploaded");
        archive_testkit::audio::make(&long, archive_testkit::audio::format("wav"), &tags, 55.0, 262);
        assert!(std::fs::metadata(&long).unwrap().len() > 8 * 1024 * 1024);
        let form = reqwest::multipart::Form::new()
            .part("file", crate::media::file_part(&path))
            .part("file", crate::media::file_part(&long));
        let (status, uploaded) = crate::media::upload(&pair.slave, &pair.slave_admin.token, form).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");

        let report = pair.sync().await;
        assert_eq!(report["files_uploaded"], 2, "the files went up before their songs: {report}");
        for (title, file) in [("From%20Home", &path), ("Long%20Take", &long)] {
            let search = format!("/api/v1/search?q={title}&type=song");
            let (_, found) = pair.master.get(&search, &pair.master_admin.token).await;
            let song =
                found["songs"]["items"][0]["id"].as_str().expect("the song reached the master").to_owned();
            let url = format!("{}/api/v1/songs/{song}/stream", pair.master.base);
            let played =
                pair.master.client.get(url).bearer_auth(&pair.master_admin.token).send().await.unwrap();
            assert_eq!(played.status(), StatusCode::OK, "the master plays the slave's song");
            assert!(played.bytes().await.unwrap().as_ref() == std::fs::read(file).unwrap(), "the same bytes");
        }

        // Nothing is sent twice: the next cycle finds the master holding it.
        let report = pair.sync().await;
        assert_eq!(report["files_uploaded"], 0, "{report}");

        // A second slave gets the song from the master, and plays it.
        let (office, office_admin) = pair.second_slave(slave_backend, "office").await;
        let (status, report) = office.post("/api/v1/sync/now", &office_admin.token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let (_, found) = office.get("/api/v1/search?q=From%20Home&type=song", &office_admin.token).await;
        let song =
            found["songs"]["items"][0]["id"].as_str().expect("the song reached the second slave").to_owned();
        let url = format!("{}/api/v1/songs/{song}/stream", office.base);
        let played = office.client.get(url).bearer_auth(&office_admin.token).send().await.unwrap();
        assert_eq!(played.status(), StatusCode::OK, "the second slave plays it through the master");
        assert!(played.bytes().await.unwrap().as_ref() == std::fs::read(&path).unwrap(), "the same bytes");
        office.stop().await;
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_slave_whose_daily_upload_quota_is_used_keeps_its_songs_back_and_still_pulls() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let make = |title: &str, seconds: f64, frequency: u32| {
        let path = dir.path().join(format!("{title}.mp3"));
        let tags = archive_testkit::audio::full_tags(title, "Quota Band", "Daily");
        archive_testkit::audio::make(&path, archive_testkit::audio::format("mp3"), &tags, seconds, frequency);
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes.len() as u64, hex::encode(sha2::Sha256::digest(&bytes)))
    };
    let (fits, first, _) = make("Fits", 2.0, 440);
    // Then a short song and a longer one whose file the slave would send
    // first in the order of their hashes: it must send the short one first.
    let (short, long) = (1..20)
        .map(|n| (make("Short", 1.0, 600 + n), make("Long", 3.0, 900 + n)))
        .find(|(short, long)| long.2 < short.2)
        .expect("one pair of the twenty in that order");
    // The first file, then the short one, fit in a day; the long one does not.
    let quota = format!("{}", (first + short.1 + (long.1 - short.1) / 2) as f64 / 1e9);
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start_configured(
            master_backend,
            slave_backend,
            &[("SYNC_UPLOAD_GB_PER_DAY", quota.clone())],
            &[("SYNC_ENABLED", "false".into())],
        )
        .await;
        pair.settle().await;
        let upload = |path: &std::path::Path| {
            let form = reqwest::multipart::Form::new().part("file", crate::media::file_part(path));
            crate::media::upload(&pair.slave, &pair.slave_admin.token, form)
        };
        let (status, uploaded) = upload(&fits).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let report = pair.sync().await;
        assert_eq!(report["files_uploaded"], 1, "within the quota: {report}");
        // The master shows what the key sent today.
        pair.first_slave_when(|slave| slave["uploaded_today"] == first).await;

        for path in [&short.0, &long.0] {
            let (status, uploaded) = upload(path).await;
            assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        }
        let (status, playlist) = pair
            .master
            .post("/api/v1/playlists", &pair.master_admin.token, json!({"name": "Made on the master"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{playlist}");
        let report = pair.sync().await;
        let held_back = report["push_held_back"].as_str().unwrap_or_default();
        assert!(held_back.contains("SYNC_UPLOAD_GB_PER_DAY"), "the push waits and says why: {report}");
        assert_eq!(
            (report["files_uploaded"].as_u64(), report["pushed"].as_u64()),
            (Some(1), Some(0)),
            "the short file went first, and the push waits for the long one: {report}"
        );
        assert!(report["pulled"].as_u64().unwrap() >= 1, "pulls go on: {report}");
        let (_, found) = pair.slave.get("/api/v1/playlists", &pair.slave_admin.token).await;
        assert!(found.to_string().contains("Made on the master"), "{found}");

        // The song is not on the master without its sound, and stays to push.
        let (_, found) = pair.master.get("/api/v1/search?q=Short&type=song", &pair.master_admin.token).await;
        assert_eq!(found["songs"]["items"].as_array().map(Vec::len), Some(0), "{found}");
        assert!(pair.slave.db().unpushed_count().await.unwrap() > 0, "kept for a later cycle");
        let (_, status) = pair.slave.get("/api/v1/sync/status", &pair.slave_admin.token).await;
        let last = &status["recent_attempts"][0];
        assert_eq!(last["outcome"], "success", "{last}");
        assert!(last["error"].as_str().unwrap_or_default().contains("push held back"), "listed: {last}");
        pair.stop().await;
    }
}

/// Makes a playlist on the master, runs a cycle on the slave, and checks
/// that the slave held its push back naming `setting`, kept changes for a
/// later cycle, and still pulled the master's playlist. Returns the report.
async fn a_cycle_holds_the_push_back_and_pulls(pair: &Pair, setting: &str) -> Value {
    let (status, made) = pair
        .master
        .post("/api/v1/playlists", &pair.master_admin.token, json!({"name": "Made on the master"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let report = pair.sync().await;
    let held_back = report["push_held_back"].as_str().unwrap_or_default();
    assert!(held_back.contains(setting), "the push waits and says why: {report}");
    assert!(report["pulled"].as_u64().unwrap() >= 1, "pulls go on: {report}");
    let (_, found) = pair.slave.get("/api/v1/playlists", &pair.slave_admin.token).await;
    assert!(found.to_string().contains("Made on the master"), "{found}");
    assert!(pair.slave.db().unpushed_count().await.unwrap() > 0, "kept for a later cycle");
    report
}

#[tokio::test]
async fn a_slave_whose_master_is_short_of_disk_keeps_its_changes_back_and_still_pulls() {
    for (master_backend, slave_backend) in pairs() {
        // More free space than any test machine has: the master takes no push.
        let pair = Pair::start_configured(
            master_backend,
            slave_backend,
            &[("ARCHIVE_MIN_FREE_GB", "1000000".into())],
            &[("SYNC_ENABLED", "false".into())],
        )
        .await;
        pair.settle().await;
        let (status, made) = pair
            .slave
            .post("/api/v1/playlists", &pair.slave_admin.token, json!({"name": "Made on the slave"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let report = a_cycle_holds_the_push_back_and_pulls(&pair, "ARCHIVE_MIN_FREE_GB").await;
        assert_eq!(report["pushed"], 0, "{report}");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_slave_past_its_daily_push_quota_keeps_the_rest_back_and_still_pulls() {
    use archive_db::sync::protocol::MAX_PUSH;
    for (master_backend, slave_backend) in pairs() {
        // The smallest quota there is: one whole push.
        let pair = Pair::start_configured(
            master_backend,
            slave_backend,
            &[("SYNC_PUSH_CHANGES_PER_DAY", MAX_PUSH.to_string())],
            &[("SYNC_ENABLED", "false".into())],
        )
        .await;
        pair.settle().await;
        let before = pair.pushed_today().await;
        // One change more than the quota, made on the slave.
        let mut tx = pair.slave.db().begin().await.unwrap();
        for n in 0..=MAX_PUSH {
            let list = archive_db::NewPlaylist {
                owner_id: pair.slave_admin.id,
                name: format!("Slave list {n}"),
                description: None,
                is_public: false,
            };
            tx.insert_playlist(list).await.unwrap();
        }
        tx.commit().await.unwrap();
        a_cycle_holds_the_push_back_and_pulls(&pair, "SYNC_PUSH_CHANGES_PER_DAY").await;
        // Whole pushes only, to the quota and no further.
        let counted = pair.pushed_today().await;
        assert!(counted <= MAX_PUSH as u64, "{before} then {counted}");
        // Asked directly, the master says when the key may push again.
        let push = json!({"changes": (0..=MAX_PUSH - counted as usize).map(|_| json!({
            "change_id": uuid::Uuid::new_v4(), "table": "playlists", "id": uuid::Uuid::new_v4(),
            "base_version": null, "row": null,
        })).collect::<Vec<_>>()});
        let url = format!("{}/api/v1/sync/apply", pair.master.base);
        let refused = pair.master.client.post(url).bearer_auth(&pair.key).json(&push).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry_after), "until the next UTC day: {retry_after}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(code(&body), "push_quota", "{body}");
        assert_eq!(pair.pushed_today().await, counted, "a refused push counts nothing");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_push_whose_slave_hangs_up_midway_is_applied_to_its_end_and_counted_once() {
    // On PostgreSQL only: a lock on `artists` holds the push's apply after
    // the push is counted against the key (another table), so that the
    // slave hangs up while the master is applying. SQLite's one writer
    // would hold the count too.
    if !archive_testkit::backends().contains(&Backend::Postgres) {
        eprintln!("skipped: needs PostgreSQL");
        return;
    }
    let pair =
        Pair::start_configured(Backend::Postgres, Backend::Sqlite, &[], &[("SYNC_ENABLED", "false".into())])
            .await;
    pair.settle().await;
    let before = pair.pushed_today().await;
    let now = archive_db::now().to_rfc3339();
    let ids: Vec<uuid::Uuid> = (0..20).map(|_| uuid::Uuid::new_v4()).collect();
    let push = json!({"changes": ids.iter().enumerate().map(|(n, id)| json!({
        "change_id": uuid::Uuid::new_v4(), "table": "artists", "id": id, "base_version": null,
        "row": {"id": id, "name": format!("Away {n}"), "name_key": format!("away {n}"),
                "biography": null, "created_at": now, "updated_at": now},
    })).collect::<Vec<_>>()});

    let mut lock = pair.master.db().begin().await.unwrap();
    lock.execute_unchecked("LOCK TABLE artists IN EXCLUSIVE MODE").await.unwrap();
    let url = format!("{}/api/v1/sync/apply", pair.master.base);
    let hung_up = pair
        .master
        .client
        .post(url)
        .bearer_auth(&pair.key)
        .json(&push)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(hung_up.as_ref().is_err_and(|e| e.is_timeout()), "{hung_up:?}");
    assert_eq!(pair.pushed_today().await, before + 20, "counted before it was applied");
    // Give the server the moment to see the connection closed before the lock goes.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    lock.rollback().await.unwrap();

    // Applied to its end all the same: every artist, counted once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let names = pair.master.db().artist_entries().await.unwrap();
        let arrived = ids.iter().filter(|id| names.iter().any(|a| a.id == **id)).count();
        if arrived == ids.len() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{arrived} of the 20 artists applied");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pair.pushed_today().await, before + 20, "the push counts once");
    pair.stop().await;
}

#[tokio::test]
async fn a_slave_fetches_a_masters_file_resuming_what_arrived_and_refetching_what_does_not_match() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        // SYNC_FILES=off: nothing is fetched on play, only when an admin asks.
        let settings = [("SYNC_ENABLED", "false".into()), ("SYNC_FILES", "off".into())];
        let pair = Pair::start_with(master_backend, slave_backend, &settings).await;
        let songs = songs_on_master(&pair, &["Whole", "Resumed", "Spoiled", "Held Back"]).await;
        pair.settle().await;
        let token = &pair.slave_admin.token;
        let stream = |song: &str| {
            let url = format!("{}/api/v1/songs/{song}/stream", pair.slave.base);
            pair.slave.client.get(url).bearer_auth(token).send()
        };
        let fetch =
            |song: &str| pair.slave.post("/api/v1/sync/files/fetch", token, json!({ "song_id": song }));

        // Not here until fetched; then here, the same bytes.
        let (song, bytes) = &songs[0];
        assert_eq!(stream(song).await.unwrap().status(), StatusCode::NOT_FOUND);
        let (status, fetched) = fetch(song).await;
        assert_eq!(status, StatusCode::OK, "{fetched}");
        assert_eq!(fetched["transferred"], bytes.len(), "{fetched}");
        let played = stream(song).await.unwrap();
        assert_eq!(played.status(), StatusCode::OK);
        assert!(played.bytes().await.unwrap().as_ref() == bytes.as_slice());
        let (_, again) = fetch(song).await;
        assert_eq!(again["transferred"], 0, "held already: {again}");

        // A download cut off half way (its first half is in the store's
        // incoming piece) resumes: only the rest comes over.
        let incoming = pair.slave.data_dir.path().join("media").join(".incoming");
        std::fs::create_dir_all(&incoming).unwrap();
        let (song, bytes) = &songs[1];
        let half = bytes.len() / 2;
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        std::fs::write(incoming.join(format!("{hash}.part")), &bytes[..half]).unwrap();
        let (status, fetched) = fetch(song).await;
        assert_eq!(status, StatusCode::OK, "{fetched}");
        assert_eq!(fetched["transferred"], bytes.len() - half, "only the rest came: {fetched}");
        assert!(stream(song).await.unwrap().bytes().await.unwrap().as_ref() == bytes.as_slice());

        // A piece whose bytes are wrong (altered on the way) makes a file that
        // does not match its hash: it is thrown away and fetched again whole.
        let (song, bytes) = &songs[2];
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        std::fs::write(incoming.join(format!("{hash}.part")), vec![0u8; half]).unwrap();
        let (status, fetched) = fetch(song).await;
        assert_eq!(status, StatusCode::OK, "{fetched}");
        assert_eq!(fetched["transferred"], bytes.len() - half + bytes.len(), "{fetched}");
        assert!(stream(song).await.unwrap().bytes().await.unwrap().as_ref() == bytes.as_slice());

        // Fetching stops with sync.
        let (status, _) = pair.slave.post("/api/v1/sync/pause", token, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = fetch(&songs[3].0).await;
        assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "sync_stopped"), "{body}");
        let (status, body) = fetch(&uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        pair.stop().await;
    }
}

/// Songs uploaded on the master, oldest first: (id, bytes).
pub async fn songs_on_master(pair: &Pair, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut songs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let path = dir.path().join(format!("{name}.mp3"));
        let tags = archive_testkit::audio::full_tags(name, "Master Band", "On The Master");
        archive_testkit::audio::make(
            &path,
            archive_testkit::audio::format("mp3"),
            &tags,
            2.0,
            300 + 50 * i as u32,
        );
        let form = reqwest::multipart::Form::new().part("file", crate::media::file_part(&path));
        let (status, uploaded) = crate::media::upload(&pair.master, &pair.master_admin.token, form).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let song = uploaded["songs"][0]["id"].as_str().expect("one song").to_owned();
        songs.push((song, std::fs::read(&path).unwrap()));
        // Distinct creation times: mirroring goes newest first.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    songs
}

#[tokio::test]
async fn a_mirroring_slave_fetches_every_file_newest_first_until_its_quota() {
    if !archive_testkit::audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        // First without a quota: every file comes.
        let settings = [("SYNC_ENABLED", "false".into()), ("SYNC_FILES", "mirror".into())];
        let pair = Pair::start_with(master_backend, slave_backend, &settings).await;
        let songs = songs_on_master(&pair, &["Oldest", "Middle", "Newest"]).await;
        let ids: Vec<uuid::Uuid> = songs.iter().map(|(id, _)| id.parse().unwrap()).collect();
        // While sync is paused, cycles an admin forces still run, but no file is fetched.
        let token = &pair.slave_admin.token;
        assert_eq!(pair.slave.post("/api/v1/sync/pause", token, json!({})).await.0, StatusCode::OK);
        pair.settle().await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(pair.slave.db().songs_here(&ids).await.unwrap().is_empty(), "paused: nothing fetched");
        assert_eq!(pair.slave.post("/api/v1/sync/resume", token, json!({})).await.0, StatusCode::OK);
        pair.sync().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while pair.slave.db().songs_here(&ids).await.unwrap().len() < ids.len() {
            assert!(std::time::Instant::now() < deadline, "the slave did not mirror every file");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        pair.stop().await;

        // Then with a quota that holds the two newest files and not the
        // third (the same files again: the encoder's output is the same).
        let quota = songs[1].1.len() + songs[2].1.len() + songs[0].1.len() / 2;
        let settings = [
            ("SYNC_ENABLED", "false".into()),
            ("SYNC_FILES", "mirror".into()),
            ("SYNC_FILES_MAX_GB", format!("{}", quota as f64 / 1e9)),
        ];
        let pair = Pair::start_with(master_backend, slave_backend, &settings).await;
        let songs = songs_on_master(&pair, &["Oldest", "Middle", "Newest"]).await;
        pair.settle().await;
        let ids: Vec<uuid::Uuid> = songs.iter().map(|(id, _)| id.parse().unwrap()).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while pair.slave.db().songs_here(&ids[1..]).await.unwrap().len() < 2 {
            assert!(std::time::Instant::now() < deadline, "the slave did not mirror the newest files");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        pair.sync().await; // another pass: the quota still stops it
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(
            !pair.slave.db().songs_here(&ids[..1]).await.unwrap().contains(&ids[0]),
            "the oldest is past the quota"
        );
        let used = pair.slave.db().content_bytes(archive_db::ContentOrigin::Fetched).await.unwrap();
        assert!(used as usize <= quota, "{used} bytes fetched, quota {quota}");
        pair.stop().await;
    }
}
