//! The trust boundary of sync, tried as an attacker holding a slave key
//! would: pushes straight to a real master's `POST /api/v1/sync/apply`, on
//! each database. A slave key is not an admin key: accounts are never
//! written by a push, every value passes the API's checks, and every change
//! is judged by its author's rights on the master.

use archive_db::Role;
use archive_testkit::tls::TestCertificates;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{App, PASSWORD, TestUser, code};
use crate::sync::{create, start_master};

/// A master (serving HTTPS), an admin of it, and a slave key it issued.
struct Master {
    app: App,
    admin: TestUser,
    key: String,
    _certificates: TestCertificates,
}

impl Master {
    async fn start(backend: archive_db::Backend, read_only: bool) -> Master {
        let certificates = TestCertificates::new();
        let (app, admin) = start_master(backend, &certificates).await;
        let body = json!({"name": "home", "node_id": "home", "read_only": read_only});
        let (status, issued) = app.post("/api/v1/sync/keys", &admin.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        let key = issued["key"].as_str().unwrap().to_owned();
        Master { app, admin, key, _certificates: certificates }
    }

    /// Pushes `changes` with the slave key; the outcomes, in order.
    async fn push(&self, changes: Vec<Value>) -> Vec<Value> {
        let body = json!({ "changes": changes });
        let (status, answer) =
            self.app.call(Method::POST, "/api/v1/sync/apply", Some(&self.key), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["outcomes"].as_array().unwrap().clone()
    }

    /// The master's row `id` of `table` as sync sends it: (version, image).
    async fn row(&self, table: &str, id: &str) -> Option<(i64, Value)> {
        let page = self.app.db().bootstrap_page(table, None, 10_000).await.unwrap();
        let id: Uuid = id.parse().unwrap();
        page.rows.into_iter().find(|r| r.id == id).map(|r| (r.version, Value::Object(r.row.unwrap())))
    }

    async fn login(&self, email: &str, password: &str) -> StatusCode {
        let body = json!({"email": email, "password": password});
        self.app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await.0
    }
}

/// A pushed change: the row as the slave claims it, based on `base`.
fn change(table: &str, id: &str, base: Option<i64>, row: Option<Value>, author: Option<Uuid>) -> Value {
    json!({
        "change_id": Uuid::new_v4(), "table": table, "id": id, "base_version": base, "row": row,
        "author": author,
    })
}

fn status(outcome: &Value) -> &str {
    outcome["status"].as_str().unwrap_or("")
}

fn now() -> String {
    archive_db::now().to_rfc3339()
}

#[tokio::test]
async fn a_slave_key_cannot_create_promote_take_over_or_delete_accounts() {
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let m = Master::start(backend, false).await;
        let victim = m.app.user(Role::User).await;
        let victim_id = victim.id.to_string();
        let admin_id = m.admin.id.to_string();
        let (version, row) = m.row("users", &victim_id).await.unwrap();

        // Promote a user to admin.
        let mut promoted = row.clone();
        promoted["role"] = json!("admin");
        let outcome =
            &m.push(vec![change("users", &victim_id, Some(version), Some(promoted), None)]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        assert!(outcome["reason"].as_str().unwrap().contains("accounts are changed on the master only"));
        let (_, me) = m.app.get("/api/v1/me", &victim.token).await;
        assert_eq!(me["role"], "user");

        // Take over an account by replacing its password hash.
        let known = archive::auth::hash_password("the attacker knows this".into()).await.unwrap();
        let mut taken = row.clone();
        taken["password_hash"] = json!(known);
        let outcome = &m.push(vec![change("users", &victim_id, Some(version), Some(taken), None)]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        assert_eq!(m.login(&victim.email, "the attacker knows this").await, StatusCode::UNAUTHORIZED);
        assert_eq!(m.login(&victim.email, PASSWORD).await, StatusCode::OK);

        // Insert a new admin with a hash the attacker knows.
        let intruder = Uuid::now_v7().to_string();
        let new_admin = json!({
            "id": intruder, "email": "intruder@example.org", "name": "Intruder", "role": "admin",
            "password_hash": known, "created_at": now(), "updated_at": now(),
        });
        let outcome = &m.push(vec![change("users", &intruder, None, Some(new_admin), None)]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        assert_eq!(
            m.login("intruder@example.org", "the attacker knows this").await,
            StatusCode::UNAUTHORIZED
        );

        // Delete every admin.
        let (admin_version, _) = m.row("users", &admin_id).await.unwrap();
        let outcome = &m.push(vec![change("users", &admin_id, Some(admin_version), None, None)]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        assert_eq!(m.app.db().count_admins().await.unwrap(), 1);

        // Each refusal is in the conflict log, and no secret is.
        let (_, conflicts) = m.app.get("/api/v1/sync/conflicts", &m.admin.token).await;
        let conflicts = conflicts.as_array().unwrap();
        assert_eq!(conflicts.iter().filter(|c| c["resolution"] == "rejected").count(), 4, "{conflicts:?}");
        let shown = serde_json::to_string(conflicts).unwrap();
        assert!(!shown.contains("password_hash") && !shown.contains("$argon2"), "{shown}");
        m.app.stop().await;
    }
}

#[tokio::test]
async fn pushed_values_pass_the_same_checks_as_the_api() {
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let m = Master::start(backend, false).await;
        let artist = |name: &str, key: &str, biography: Option<String>| {
            let id = Uuid::now_v7().to_string();
            let row = json!({
                "id": id, "name": name, "name_key": key, "biography": biography,
                "created_at": now(), "updated_at": now(),
            });
            (id.clone(), change("artists", &id, None, Some(row), None))
        };
        let (huge_id, huge) = artist("Verbose", "verbose", Some("x".repeat(5 * 1024 * 1024)));
        let (nul_id, nul) = artist("Nul\u{0}Band", "nul\u{0}band", None);
        let (forged_id, forged) = artist("  The   Real  Name ", "someone else's key", None);
        let (good_id, good) = artist("Good Neighbour", "good neighbour", None);
        // A key that is no column, in a row that leaves out a nullable one.
        let stranger_id = Uuid::now_v7().to_string();
        let stranger_row = json!({
            "id": stranger_id, "name": "Stranger", "name_key": "stranger", "owner": "someone",
            "created_at": now(), "updated_at": now(),
        });
        let stranger = change("artists", &stranger_id, None, Some(stranger_row), None);
        let outcomes = m.push(vec![huge, nul, forged, good, stranger]).await;
        assert_eq!(status(&outcomes[4]), "rejected", "{}", outcomes[4]);
        assert!(outcomes[4]["reason"].as_str().unwrap().contains("owner: not a column of artists"));
        assert!(m.row("artists", &stranger_id).await.is_none());
        assert_eq!(status(&outcomes[0]), "rejected", "{}", outcomes[0]);
        assert!(outcomes[0]["reason"].as_str().unwrap().contains("biography is longer than"));
        assert_eq!(status(&outcomes[1]), "rejected", "{}", outcomes[1]);
        assert!(outcomes[1]["reason"].as_str().unwrap().contains("NUL"));
        assert_eq!(status(&outcomes[2]), "applied", "{}", outcomes[2]);
        assert_eq!(status(&outcomes[3]), "applied", "a bad change beside it rolls back nothing");
        assert!(m.row("artists", &huge_id).await.is_none());
        assert!(m.row("artists", &nul_id).await.is_none());
        assert!(m.row("artists", &good_id).await.is_some());
        // The master computes natural keys and cleans names itself.
        let (_, stored) = m.row("artists", &forged_id).await.unwrap();
        assert_eq!(
            (stored["name"].as_str(), stored["name_key"].as_str()),
            (Some("The Real Name"), Some("the real name"))
        );

        // Numbers in range; a listening row only under its deterministic id.
        let song = create(&m.app, &m.admin.token, "/api/v1/songs", json!({"title": "Checked"})).await;
        let (version, mut row) = m.row("songs", &song).await.unwrap();
        row["year"] = json!(123_456);
        let outcome = &m.push(vec![change("songs", &song, Some(version), Some(row), None)]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        let listening = |id: &str, rating: i64| {
            json!({
                "id": id, "user_id": m.admin.id, "song_id": song, "favourite": true, "rating": rating,
                "created_at": now(), "updated_at": now(),
            })
        };
        let random_id = Uuid::new_v4().to_string();
        let outcomes = m
            .push(vec![change(
                "listening_data",
                &random_id,
                None,
                Some(listening(&random_id, 5)),
                Some(m.admin.id),
            )])
            .await;
        assert_eq!(status(&outcomes[0]), "rejected", "{}", outcomes[0]);

        // A favourite album or artist: only under its deterministic id, one of the two.
        let album = create(&m.app, &m.admin.token, "/api/v1/albums", json!({"title": "Starred"})).await;
        let artist = create(&m.app, &m.admin.token, "/api/v1/artists", json!({"name": "Starred"})).await;
        let favourite = |id: &str, album: Option<&str>, artist: Option<&str>| {
            json!({
                "id": id, "user_id": m.admin.id, "album_id": album, "artist_id": artist,
                "created_at": now(), "updated_at": now(),
            })
        };
        let album_uuid: Uuid = album.parse().unwrap();
        let right = archive_db::Favourite::Album(album_uuid).row_id(m.admin.id).to_string();
        let cases = [
            ("a random id", random_id.clone(), favourite(&random_id, Some(&album), None), "rejected"),
            (
                "both an album and an artist",
                right.clone(),
                favourite(&right, Some(&album), Some(&artist)),
                "rejected",
            ),
            ("its own id", right.clone(), favourite(&right, Some(&album), None), "applied"),
        ];
        for (name, id, row, expected) in cases {
            let outcome =
                &m.push(vec![change("favourites", &id, None, Some(row), Some(m.admin.id))]).await[0];
            assert_eq!(status(outcome), expected, "{name}: {outcome}");
        }
        m.app.stop().await;
    }
}

#[tokio::test]
async fn a_pushed_change_is_judged_by_its_authors_rights_on_the_master() {
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let m = Master::start(backend, false).await;
        let user = m.app.user(Role::User).await;
        let other = m.app.user(Role::User).await;
        let moderator = m.app.user(Role::Moderator).await;
        let new_genre = |name: &str| {
            let id = Uuid::now_v7().to_string();
            let row = json!({"id": id, "name": name, "name_key": name.to_lowercase(), "created_at": now(), "updated_at": now()});
            (id, row)
        };

        // Library: a moderator (or the node itself) edits, a user may not,
        // a stranger may not, and no one deletes through a push.
        let cases = [
            ("by a moderator", Some(moderator.id), "applied"),
            ("by the node", None, "applied"),
            ("by a user", Some(user.id), "rejected"),
            ("by a stranger", Some(Uuid::new_v4()), "rejected"),
        ];
        for (name, author, expected) in cases {
            let (id, row) = new_genre(name);
            let outcome = &m.push(vec![change("genres", &id, None, Some(row), author)]).await[0];
            assert_eq!(status(outcome), expected, "{name}: {outcome}");
        }
        let genre = create(&m.app, &m.admin.token, "/api/v1/genres", json!({"name": "Kept"})).await;
        let (version, _) = m.row("genres", &genre).await.unwrap();
        let outcome = &m.push(vec![change("genres", &genre, Some(version), None, Some(m.admin.id))]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        assert!(m.row("genres", &genre).await.is_some());

        // Shared settings are an admin's, on the master.
        let setting = Uuid::new_v4().to_string();
        let row = json!({"id": setting, "key": "site_name", "value": "Owned", "created_at": now(), "updated_at": now()});
        let outcome =
            &m.push(vec![change("shared_settings", &setting, None, Some(row), Some(m.admin.id))]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");

        // Playlists: the owner and admins change them; no one else, and the owner stays.
        let playlist = create(&m.app, &user.token, "/api/v1/playlists", json!({"name": "Private"})).await;
        let (version, row) = m.row("playlists", &playlist).await.unwrap();
        let renamed = |name: &str| {
            let mut row = row.clone();
            row["name"] = json!(name);
            row
        };
        let outcome = &m
            .push(vec![change(
                "playlists",
                &playlist,
                Some(version),
                Some(renamed("Mine now")),
                Some(other.id),
            )])
            .await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        let mut stolen = row.clone();
        stolen["owner_id"] = json!(other.id);
        let outcome = &m
            .push(vec![change("playlists", &playlist, Some(version), Some(stolen), Some(user.id))])
            .await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        let outcome = &m
            .push(vec![change(
                "playlists",
                &playlist,
                Some(version),
                Some(renamed("Tidied")),
                Some(m.admin.id),
            )])
            .await[0];
        assert_eq!(status(outcome), "applied", "{outcome}");
        let entry = Uuid::now_v7().to_string();
        let song = create(&m.app, &m.admin.token, "/api/v1/songs", json!({"title": "Listened"})).await;
        let entry_row = json!({"id": entry, "playlist_id": playlist, "song_id": song, "sort_key": "i", "created_at": now(), "updated_at": now()});
        let outcome = &m
            .push(vec![change("playlist_entries", &entry, None, Some(entry_row.clone()), Some(other.id))])
            .await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        let outcome =
            &m.push(vec![change("playlist_entries", &entry, None, Some(entry_row), Some(user.id))]).await[0];
        assert_eq!(status(outcome), "applied", "{outcome}");

        // Listening data and plays are a user's own; a play is never changed.
        let play = Uuid::now_v7().to_string();
        let play_row = json!({"id": play, "user_id": user.id, "song_id": song, "played_at": now()});
        let outcome =
            &m.push(vec![change("plays", &play, None, Some(play_row.clone()), Some(other.id))]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        let outcome = &m.push(vec![change("plays", &play, None, Some(play_row), Some(user.id))]).await[0];
        assert_eq!(status(outcome), "applied", "{outcome}");
        let (version, _) = m.row("plays", &play).await.unwrap();
        let outcome = &m.push(vec![change("plays", &play, Some(version), None, Some(user.id))]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");

        // So is a favourite album: another user may not star it for them.
        let album = create(&m.app, &m.admin.token, "/api/v1/albums", json!({"title": "Loved"})).await;
        let favourite = archive_db::Favourite::Album(album.parse().unwrap()).row_id(user.id).to_string();
        let row = json!({"id": favourite, "user_id": user.id, "album_id": album, "artist_id": null, "created_at": now(), "updated_at": now()});
        let outcome =
            &m.push(vec![change("favourites", &favourite, None, Some(row.clone()), Some(other.id))]).await[0];
        assert_eq!(status(outcome), "rejected", "{outcome}");
        let outcome =
            &m.push(vec![change("favourites", &favourite, None, Some(row), Some(user.id))]).await[0];
        assert_eq!(status(outcome), "applied", "{outcome}");
        m.app.stop().await;
    }
}

#[tokio::test]
async fn a_read_only_key_pulls_and_never_pushes() {
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let m = Master::start(backend, true).await;
        let (status, ping) = m.app.call(Method::GET, "/api/v1/sync/ping", Some(&m.key), None).await;
        assert_eq!((status, ping["read_only"].as_bool()), (StatusCode::OK, Some(true)), "{ping}");
        let id = Uuid::now_v7().to_string();
        let row = json!({"id": id, "name": "Pushed", "name_key": "pushed", "created_at": now(), "updated_at": now()});
        let body = json!({"changes": [change("genres", &id, None, Some(row), None)]});
        let (status, answer) = m.app.call(Method::POST, "/api/v1/sync/apply", Some(&m.key), Some(body)).await;
        assert_eq!((status, code(&answer)), (StatusCode::FORBIDDEN, "read_only_key"), "{answer}");
        assert!(m.row("genres", &id).await.is_none());
        // It still pulls: a bootstrap's start, then the log from its cursor.
        let (status, start) = m.app.call(Method::POST, "/api/v1/sync/bootstrap", Some(&m.key), None).await;
        assert_eq!(status, StatusCode::OK, "{start}");
        let changes = format!("/api/v1/sync/changes?cursor={}", start["cursor"].as_str().unwrap());
        let (status, page) = m.app.call(Method::GET, &changes, Some(&m.key), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        m.app.stop().await;
    }
}

#[tokio::test]
async fn a_slave_with_a_read_only_key_follows_the_master_and_keeps_its_own_changes() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = crate::sync::Pair::start(backend, archive_db::Backend::Sqlite).await;
    let body = json!({"name": "home, read-only", "node_id": "home", "read_only": true});
    let (status, issued) = pair.master.post("/api/v1/sync/keys", &pair.master_admin.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let kek = archive::sync::keys::Kek::load(pair.slave.data_dir.path(), None).unwrap();
    archive::sync::keys::store_on_slave(pair.slave.db(), &kek, issued["key"].as_str().unwrap())
        .await
        .unwrap();
    pair.sync().await;
    create(&pair.slave, &pair.slave_admin.token, "/api/v1/genres", json!({"name": "Only Here"})).await;
    create(&pair.master, &pair.master_admin.token, "/api/v1/genres", json!({"name": "From The Master"}))
        .await;
    pair.sync_until_pulled().await;
    let genre = |app: &App, name: &str| {
        let db = app.db().clone();
        let name = name.to_owned();
        async move { db.genres(&Default::default()).await.unwrap().items.iter().any(|g| g.name == name) }
    };
    assert!(genre(&pair.slave, "From The Master").await, "the slave pulls");
    assert!(!genre(&pair.master, "Only Here").await, "the slave never pushes");
    assert!(genre(&pair.slave, "Only Here").await, "its own change stays on it");
    assert_eq!(pair.slave.db().unpushed_count().await.unwrap(), 0, "nothing waits to be pushed");
    pair.stop().await;
}

#[tokio::test]
async fn a_valid_slave_key_still_syncs_after_fifty_bad_keys_from_the_same_address() {
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let m = Master::start(backend, false).await;
        let (prefix, _) = m.key.rsplit_once('_').unwrap();
        let mut refused = Vec::new();
        for n in 0..50 {
            let forged = format!("{prefix}_{:064x}", n);
            refused.push(m.app.call(Method::GET, "/api/v1/sync/ping", Some(&forged), None).await.0);
        }
        assert!(
            refused.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(refused.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "bad keys are limited per address");
        let (status, ping) = m.app.call(Method::GET, "/api/v1/sync/ping", Some(&m.key), None).await;
        assert_eq!(status, StatusCode::OK, "the valid key gets through: {ping}");
        m.app.stop().await;
    }
}

#[tokio::test]
async fn a_cursor_at_a_written_change_is_not_called_ahead_of_the_log_while_an_older_transaction_holds_the_head_back()
 {
    if !archive_testkit::backends().contains(&archive_db::Backend::Postgres) {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    }
    let m = Master::start(archive_db::Backend::Postgres, false).await;
    let db = m.app.db();
    // An older transaction of the master's, still open, holds the log's
    // head back behind a change committed after it: the head then sits
    // behind a position a slave may hold (the head dips so for a moment when
    // another database's transaction ends while it is worked out).
    let mut older = db.begin().await.unwrap();
    older
        .insert_artist(archive_db::NewArtist { name: "Still open".into(), ..Default::default() })
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    tx.insert_artist(archive_db::NewArtist { name: "Committed after".into(), ..Default::default() })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let cursor = archive_db::sync::protocol::Cursor {
        epoch: db.sync_epoch().await.unwrap(),
        position: db.sync_ceiling().await.unwrap(),
    };
    assert!(cursor.position > db.sync_head().await.unwrap());

    let changes = format!("/api/v1/sync/changes?cursor={cursor}");
    let (status, page) = m.app.call(Method::GET, &changes, Some(&m.key), None).await;
    assert_eq!(status, StatusCode::OK, "not sent back to bootstrap: {page}");
    older.rollback().await.unwrap();
    m.app.stop().await;
}
