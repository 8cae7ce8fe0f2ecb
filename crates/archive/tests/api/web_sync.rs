//! Settings, Settings → Archive Sync and the Sync Control Center over HTTP:
//! saving settings that are in force at once, locked settings, slave keys
//! made on a master and entered on a slave, "Test connection", a forced
//! sync, the controls and what the master shows of its slaves and conflicts.

use archive_db::{Backend, Role};
use archive_testkit::tls::TestCertificates;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{App, on_each_backend, on_each_backend_with};
use crate::sync::start_master;
use crate::web::{Browser, hidden_csrf};

/// The value of the `<input … id="{id}" … value="…">` of a page.
fn input_value(page: &str, id: &str) -> String {
    let at = page.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page[at..];
    let value = &rest[rest.find(r#"value=""#).unwrap() + 7..];
    value[..value.find('"').unwrap()].to_owned()
}

/// The colour of the health light of a Control Center page.
fn health(page: &str) -> String {
    let at = page.find(r#"id="sync-health""#).expect("the health light");
    let rest = &page[at..];
    let colour = &rest[rest.find(r#"data-colour=""#).unwrap() + 13..];
    colour[..colour.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn only_admins_open_the_settings_and_the_sync_control_center() {
    on_each_backend(|app| async move {
        for role in [Role::User, Role::Moderator] {
            let someone = app.user(role).await;
            let mut browser = Browser::new(&app);
            let home = browser.log_in(&someone.email).await;
            assert!(!home.contains(r#"href="/settings""#) && !home.contains(r#"href="/sync""#));
            for path in ["/settings", "/settings/sync", "/sync"] {
                assert_eq!(browser.get(path).await.status(), StatusCode::FORBIDDEN, "{role} {path}");
            }
            let csrf = hidden_csrf(&home);
            let refused = browser.post_form("/sync/emergency-stop", &[("csrf", &csrf)]).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        }
        let admin = app.user(Role::Admin).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&admin.email).await;
        assert!(home.contains(r#"href="/settings""#) && home.contains(r#"href="/sync""#));
        let center = browser.page("/sync").await;
        assert_eq!(health(&center), "grey", "a standalone node does not sync");
        assert!(center.contains("standalone: sync is off"));
    })
    .await;
}

#[tokio::test]
async fn the_site_name_is_a_shared_setting_shown_on_every_page() {
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
        let page = browser.page("/settings").await;
        assert_eq!(input_value(&page, "site_name"), "Archive");
        assert!(
            page.contains("PostgreSQL") || page.contains("SQLite"),
            "the page says what the server runs on"
        );

        let saved = browser
            .post_form(
                "/settings",
                &[("csrf", &csrf), ("site_name", "Family Music"), ("ARCHIVE_MAX_UPLOAD_MB", "300")],
            )
            .await;
        assert_eq!(saved.status(), StatusCode::OK);
        let page = saved.text().await.unwrap();
        assert!(
            page.contains("Settings saved.")
                && page.contains(r#"<a class="brand" href="/">Family Music</a>"#)
        );
        assert_eq!(app.db().shared_setting("site_name").await.unwrap().as_deref(), Some("Family Music"));
        let changes = archive_testkit::settled_changes(app.db()).await;
        assert!(
            changes.iter().any(|c| c.table_name == "shared_settings"),
            "a shared setting travels with sync"
        );
        let user = app.user(Role::User).await;
        let mut other = Browser::new(&app);
        assert!(other.log_in(&user.email).await.contains("<title>Songs · Family Music</title>"));
        assert!(browser.page("/upload").await.contains("up to 300 MiB each"), "the new limit is in force");

        let logged = archive_testkit::settled_changes(app.db()).await.len();
        let again = browser.post_form("/settings", &[("csrf", &csrf), ("site_name", "Family Music")]).await;
        assert_eq!(again.status(), StatusCode::OK);
        let now_logged = archive_testkit::settled_changes(app.db()).await.len();
        assert_eq!(now_logged, logged, "the same name again records no change to sync");

        let empty = browser.post_form("/settings", &[("csrf", &csrf), ("site_name", "  ")]).await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let too_big = browser
            .post_form("/settings", &[("csrf", &csrf), ("site_name", "Ok"), ("ARCHIVE_MAX_UPLOAD_MB", "0")])
            .await;
        assert_eq!(too_big.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(too_big.text().await.unwrap().contains("ARCHIVE_MAX_UPLOAD_MB is invalid"));
    })
    .await;
}

#[tokio::test]
async fn sync_settings_are_checked_stored_and_in_force_without_a_restart() {
    on_each_backend(|app| async move {
        let admin = app.user(Role::Admin).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
        let form = |interval: &'static str, url: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("ARCHIVE_ROLE", "slave".to_owned()),
                ("MASTER_ARCHIVE_URL", url.to_owned()),
                ("ARCHIVE_NODE_ID", "office".to_owned()),
                ("SYNC_INTERVAL", interval.to_owned()),
                ("SYNC_OPERATION_TIMEOUT", "60".to_owned()),
                ("SYNC_CONNECT_TIMEOUT", "5".to_owned()),
                ("SYNC_READ_TIMEOUT", "15".to_owned()),
                ("SYNC_FAILURE_THRESHOLD", "3".to_owned()),
                ("SYNC_CIRCUIT_TIMEOUT", "120".to_owned()),
                ("SYNC_FILES", "mirror".to_owned()),
                ("SYNC_FILES_MAX_GB", "2.5".to_owned()),
            ]
        };
        async fn post(browser: &mut Browser, fields: Vec<(&'static str, String)>) -> reqwest::Response {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post_form("/settings/sync", &fields).await
        }

        let out_of_range = post(&mut browser, form("30", "https://master.example")).await;
        assert_eq!(out_of_range.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = out_of_range.text().await.unwrap();
        assert!(
            text.contains("SYNC_INTERVAL is invalid") && text.contains("from 60 to 3600"),
            "names the range"
        );
        let plain = post(&mut browser, form("600", "http://master.example")).await;
        assert_eq!(plain.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(plain.text().await.unwrap().contains("SYNC_ALLOW_INSECURE"));
        assert!(app.db().node_setting("ARCHIVE_ROLE").await.unwrap().is_none(), "nothing was stored");

        let saved = post(&mut browser, form("600", "https://master.example")).await;
        assert_eq!(saved.status(), StatusCode::OK);
        assert!(saved.text().await.unwrap().contains("Sync settings saved and in force."));
        assert_eq!(app.db().node_setting("SYNC_INTERVAL").await.unwrap().as_deref(), Some("600"));
        assert_eq!(app.db().node_setting("SYNC_FILES").await.unwrap().as_deref(), Some("mirror"));
        assert_eq!(app.db().node_setting("SYNC_FILES_MAX_GB").await.unwrap().as_deref(), Some("2.5"));
        let enabled = app.db().node_setting("SYNC_ENABLED").await.unwrap();
        assert!(enabled.is_none(), "a default left alone (unticked) is not stored");
        // In force at once: the health check and the Control Center say so.
        let (_, health_check) = app.call(reqwest::Method::GET, "/api/v1/health", None, None).await;
        assert_eq!(
            (health_check["role"].as_str(), health_check["node_id"].as_str()),
            (Some("slave"), Some("office"))
        );
        let page = browser.page("/settings/sync").await;
        assert!(page.contains("No key is stored yet.") && page.contains("Test connection"));
        assert!(
            page.contains("Audio files kept from the master") && page.contains("value=\"2.5\""),
            "{page}"
        );
        let center = browser.page("/sync").await;
        assert!(center.contains("https://master.example") && center.contains("Force sync now"));
        assert_eq!(health(&center), "grey", "background sync is off");
    })
    .await;
}

#[tokio::test]
async fn a_setting_fixed_by_the_environment_is_shown_locked_and_is_not_changed() {
    on_each_backend_with(&[("SYNC_INTERVAL", "900".into())], |app| async move {
        let admin = app.user(Role::Admin).await;
        let mut browser = Browser::new(&app);
        let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
        let page = browser.page("/settings/sync").await;
        assert!(
            page.contains(r#"name="SYNC_INTERVAL" type="number" min="60" max="3600" value="900" disabled"#),
            "{page}"
        );
        assert!(page.contains("Locked: set by <code>SYNC_INTERVAL</code> in a command-line flag"));
        let saved = browser.post_form("/settings/sync", &[("csrf", &csrf), ("SYNC_INTERVAL", "120")]).await;
        assert_eq!(saved.status(), StatusCode::OK);
        assert!(
            app.db().node_setting("SYNC_INTERVAL").await.unwrap().is_none(),
            "a locked setting is not stored"
        );
    })
    .await;
}

/// A slave of `master` with the node id given and no key yet, trusting the
/// master's CA when `trusting` names it; background sync off.
async fn slave_of(master: &App, trusting: Option<&TestCertificates>, node_id: &str, backend: Backend) -> App {
    let mut settings = vec![
        ("ARCHIVE_ROLE", "slave".to_owned()),
        ("ARCHIVE_NODE_ID", node_id.to_owned()),
        ("MASTER_ARCHIVE_URL", master.base.clone()),
        ("SYNC_ENABLED", "false".to_owned()),
    ];
    if let Some(certificates) = trusting {
        settings.push(("MASTER_CA_CERT", certificates.ca_cert.display().to_string()));
    }
    App::start(backend, &settings).await
}

/// A browser logged in as a new admin of `app`, and its CSRF token.
async fn admin_browser(app: &App) -> (Browser, String) {
    let admin = app.user(Role::Admin).await;
    let mut browser = Browser::new(app);
    let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
    (browser, csrf)
}

#[tokio::test]
async fn a_key_made_on_the_masters_page_is_entered_on_the_slaves_and_sync_goes_green() {
    for backend in archive_testkit::backends() {
        let certificates = TestCertificates::new();
        let (master, master_admin) = start_master(backend, &certificates).await;
        let slave = slave_of(&master, Some(&certificates), "home", Backend::Sqlite).await;
        let artist = json!({"name": "Only On The Master"});
        let (status, _) = master.post("/api/v1/artists", &master_admin.token, artist).await;
        assert_eq!(status, StatusCode::CREATED);

        // On the master: generate a key for node "home"; it is shown once.
        let mut on_master = Browser::new(&master);
        let master_csrf = hidden_csrf(&on_master.log_in(&master_admin.email).await);
        let made = on_master
            .post_form(
                "/settings/sync/keys",
                &[("csrf", &master_csrf), ("name", "Home"), ("node_id", "home")],
            )
            .await;
        assert_eq!(made.status(), StatusCode::OK);
        let page = made.text().await.unwrap();
        let key = input_value(&page, "new-key-value");
        assert!(key.starts_with("arcsync_"), "{key}");
        let again = on_master.page("/settings/sync").await;
        assert!(!again.contains(&key), "the key is shown only once");
        let prefix = &key["arcsync_".len().."arcsync_".len() + 12];
        assert!(
            again.contains(&format!("<code>arcsync_{prefix}_…</code>")),
            "the list shows the key's prefix"
        );

        // On the slave: enter the key, test the connection, force a sync.
        let slave_admin = slave.user(Role::Admin).await;
        let mut on_slave = Browser::new(&slave);
        let slave_csrf = hidden_csrf(&on_slave.log_in(&slave_admin.email).await);
        let tested = on_slave.post_form("/settings/sync/test", &[("csrf", &slave_csrf)]).await;
        assert!(tested.text().await.unwrap().contains("no slave key is stored on this node"));
        let malformed = on_slave
            .post_form("/settings/sync/slave-key", &[("csrf", &slave_csrf), ("slave_key", "nope")])
            .await;
        assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let stored = on_slave
            .post_form("/settings/sync/slave-key", &[("csrf", &slave_csrf), ("slave_key", &key)])
            .await;
        assert_eq!(stored.status(), StatusCode::OK);
        assert!(stored.text().await.unwrap().contains("A key is stored: <code>arcsync_"));
        let sealed = slave.db().sync_state(archive::sync::keys::SEALED_KEY_STATE).await.unwrap().unwrap();
        assert!(!sealed.contains(&key[8..]), "stored encrypted");

        let tested =
            on_slave.post_form("/settings/sync/test", &[("csrf", &slave_csrf)]).await.text().await.unwrap();
        assert!(tested.contains("The connection works."), "{tested}");
        for step in ["Master reachable", "Certificate valid", "Slave key accepted"] {
            assert!(tested.contains(&format!(r#"class="check passed" data-step="{step}""#)), "{step}");
        }
        assert!(tested.contains("the master knows this node as home"));

        let before = on_slave.page("/sync").await;
        assert_eq!(health(&before), "grey", "background sync is off until enabled");
        let synced = on_slave.post_form("/sync/now", &[("csrf", &slave_csrf)]).await.text().await.unwrap();
        assert!(synced.contains("Synced: pushed"), "{synced}");
        assert!(slave.db().artist_by_name("Only On The Master").await.unwrap().is_some(), "the data arrived");

        // Joining: the slave's own admin never reached the master, and the
        // master's accounts replaced the slave's; its admin logs in there
        // with their account on the master.
        assert!(master.db().user_by_email(&slave_admin.email).await.unwrap().is_none());
        assert!(slave.db().user_by_email(&slave_admin.email).await.unwrap().is_none());
        let (status, _) = slave.get("/api/v1/me", &slave_admin.token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let mut on_slave = Browser::new(&slave);
        let slave_csrf = hidden_csrf(&on_slave.log_in(&master_admin.email).await);
        let slave_admin = crate::support::TestUser {
            id: master_admin.id,
            email: master_admin.email.clone(),
            token: slave.token_for(master_admin.id).await,
        };

        // The master lists the slave; after revoking its key, the slave's test says so.
        // A conflict: both sides rename the artist; the master's name stays,
        // and its Control Center shows both sides.
        let id = master.db().artist_by_name("Only On The Master").await.unwrap().unwrap().id;
        let path = format!("/api/v1/artists/{id}");
        let (status, _) =
            master.patch(&path, &master_admin.token, json!({"name": "Named On The Master"})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = slave.patch(&path, &slave_admin.token, json!({"name": "Named On The Slave"})).await;
        assert_eq!(status, StatusCode::OK);
        on_slave.post_form("/sync/now", &[("csrf", &slave_csrf)]).await;
        let center = on_master.page("/sync").await;
        let conflicts = &center[center.find("<h2>Conflicts</h2>").expect("a conflicts section")..];
        assert!(conflicts.contains("artists") && conflicts.contains("from home"), "{conflicts}");
        assert!(conflicts.contains("Named On The Slave") && conflicts.contains("Named On The Master"));

        // A master records its slaves' visits within a second or so.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !on_master.page("/sync").await.contains(r#"<tr data-node="home">"#) {
            assert!(std::time::Instant::now() < deadline, "the master does not show its slave");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // What its key sent today, against the day's quotas (the defaults).
        let center = on_master.page("/sync").await;
        let row = &center[center.find(r#"<tr data-node="home">"#).expect("the slave's row")..];
        let row = &row[..row.find("</tr>").expect("the row ends")];
        assert!(row.contains(" of 50000.0 MB; ") && row.contains(" of 2000000 changes"), "{row}");
        let key_id = master.db().slave_keys().await.unwrap()[0].id;
        let revoked = on_master
            .post_form(&format!("/settings/sync/keys/{key_id}/revoke"), &[("csrf", &master_csrf)])
            .await;
        assert!(revoked.text().await.unwrap().contains("The key is revoked"));
        let tested =
            on_slave.post_form("/settings/sync/test", &[("csrf", &slave_csrf)]).await.text().await.unwrap();
        assert!(tested.contains(r#"class="check failed" data-step="Slave key accepted""#), "{tested}");
        slave.stop().await;
        master.stop().await;
    }
}

#[tokio::test]
async fn regenerating_a_key_lets_the_old_one_expire() {
    let certificates = TestCertificates::new();
    let (master, admin) = start_master(Backend::Sqlite, &certificates).await;
    let mut browser = Browser::new(&master);
    let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
    let form = [("csrf", csrf.as_str()), ("name", "Home"), ("node_id", "home")];
    browser.post_form("/settings/sync/keys", &form).await;
    let page = browser
        .post_form(
            "/settings/sync/keys",
            &[("csrf", &csrf), ("name", "Home"), ("node_id", "home"), ("overlap_hours", "0")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("copy it now"));
    let keys = master.db().slave_keys().await.unwrap();
    let now = archive_db::now();
    assert_eq!(keys.iter().filter(|k| k.is_live(now)).count(), 1, "only the new key works");
    master.stop().await;
}

#[tokio::test]
async fn the_control_center_pauses_stops_and_clears_and_the_light_follows() {
    on_each_backend_with(
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("MASTER_ARCHIVE_URL", "https://127.0.0.1:9".into()),
            ("SYNC_ENABLED", "false".into()),
        ],
        |app| async move {
            let admin = app.user(Role::Admin).await;
            let mut browser = Browser::new(&app);
            let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
            let forged = browser.post_form("/sync/pause", &[("csrf", "forged")]).await;
            assert_eq!(forged.status(), StatusCode::FORBIDDEN);

            let paused = browser.post_form("/sync/pause", &[("csrf", &csrf)]).await;
            assert_eq!(paused.headers()["hx-push-url"], "/sync");
            let page = paused.text().await.unwrap();
            assert_eq!(health(&page), "yellow");
            assert!(
                page.contains("Sync is paused until you resume it.") && page.contains(">Resume</button>")
            );
            let stopped =
                browser.post_form("/sync/emergency-stop", &[("csrf", &csrf)]).await.text().await.unwrap();
            assert_eq!(health(&stopped), "red");
            assert!(stopped.contains(&admin.email), "who stopped it is shown");
            let refused = browser.post_form("/sync/now", &[("csrf", &csrf)]).await.text().await.unwrap();
            assert!(refused.contains("The sync did not happen") && refused.contains("emergency stop"));
            let cleared =
                browser.post_form("/sync/clear-stop", &[("csrf", &csrf)]).await.text().await.unwrap();
            assert_eq!(health(&cleared), "yellow", "still paused");
            let resumed = browser.post_form("/sync/resume", &[("csrf", &csrf)]).await.text().await.unwrap();
            assert_eq!(health(&resumed), "grey", "background sync is off");

            // A failing forced sync is recorded; clearing failed records forgets it.
            let failed = browser.post_form("/sync/now", &[("csrf", &csrf)]).await.text().await.unwrap();
            assert!(failed.contains("The sync did not happen"), "{failed}");
            assert!(failed.contains("<td>failure</td>"), "the attempt is listed");
            let cleared =
                browser.post_form("/sync/clear-failed", &[("csrf", &csrf)]).await.text().await.unwrap();
            assert!(!cleared.contains("<td>failure</td>") && cleared.contains("Failed records are cleared"));
            let unknown = browser.post_form("/sync/explode", &[("csrf", &csrf)]).await;
            assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        },
    )
    .await;
}

#[tokio::test]
async fn test_connection_tells_an_untrusted_certificate_apart_from_a_refused_key() {
    let certificates = TestCertificates::new();
    let (master, _) = start_master(Backend::Sqlite, &certificates).await;
    // No MASTER_CA_CERT: the master's certificate is from an unknown CA.
    let slave = slave_of(&master, None, "home", Backend::Sqlite).await;
    let (mut browser, csrf) = admin_browser(&slave).await;
    let made_up = format!("arcsync_{}_{}", "0".repeat(12), "a".repeat(64));
    browser.post_form("/settings/sync/slave-key", &[("csrf", &csrf), ("slave_key", &made_up)]).await;
    let page = browser.post_form("/settings/sync/test", &[("csrf", &csrf)]).await.text().await.unwrap();
    assert!(page.contains(r#"class="check passed" data-step="Master reachable""#), "{page}");
    assert!(page.contains(r#"class="check failed" data-step="Certificate valid""#), "{page}");
    assert!(page.contains(r#"class="check not_checked" data-step="Slave key accepted""#));
    slave.stop().await;

    // Trusting the CA, the made-up key is what fails.
    let slave = slave_of(&master, Some(&certificates), "home", Backend::Sqlite).await;
    let (mut browser, csrf) = admin_browser(&slave).await;
    browser.post_form("/settings/sync/slave-key", &[("csrf", &csrf), ("slave_key", &made_up)]).await;
    let page = browser.post_form("/settings/sync/test", &[("csrf", &csrf)]).await.text().await.unwrap();
    assert!(page.contains(r#"class="check passed" data-step="Certificate valid""#), "{page}");
    assert!(page.contains(r#"class="check failed" data-step="Slave key accepted""#), "{page}");
    slave.stop().await;
    master.stop().await;
}

#[tokio::test]
async fn turning_background_sync_on_starts_the_worker_without_a_restart() {
    let app = App::start(Backend::Sqlite, &[]).await;
    let admin = app.user(Role::Admin).await;
    let mut browser = Browser::new(&app);
    let csrf = hidden_csrf(&browser.log_in(&admin.email).await);
    let form = [
        ("csrf", csrf.as_str()),
        ("ARCHIVE_ROLE", "slave"),
        ("MASTER_ARCHIVE_URL", "https://127.0.0.1:9"),
        ("SYNC_ENABLED", "true"),
        ("SYNC_INTERVAL", "60"),
        ("SYNC_OPERATION_TIMEOUT", "10"),
        ("SYNC_CONNECT_TIMEOUT", "1"),
        ("SYNC_READ_TIMEOUT", "1"),
        ("SYNC_FAILURE_THRESHOLD", "5"),
        ("SYNC_CIRCUIT_TIMEOUT", "300"),
    ];
    assert_eq!(browser.post_form("/settings/sync", &form).await.status(), StatusCode::OK);
    // The worker's first cycle comes within 5 s of its start; with no key
    // and no master it fails, and the failure is recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.db().sync_attempts(10).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the worker did not start");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let center = browser.page("/sync").await;
    assert!(center.contains("<td>failure</td>"), "the worker's attempt is listed");
    app.stop().await;
}

#[tokio::test]
async fn test_connection_fails_a_key_bound_to_another_node() {
    let certificates = TestCertificates::new();
    let (master, master_admin) = start_master(Backend::Sqlite, &certificates).await;
    let (status, issued) = master
        .post("/api/v1/sync/keys", &master_admin.token, json!({"name": "Home", "node_id": "home"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let slave = slave_of(&master, Some(&certificates), "office", Backend::Sqlite).await;
    let (mut browser, csrf) = admin_browser(&slave).await;
    let key = issued["key"].as_str().unwrap();
    browser.post_form("/settings/sync/slave-key", &[("csrf", &csrf), ("slave_key", key)]).await;
    let page = browser.post_form("/settings/sync/test", &[("csrf", &csrf)]).await.text().await.unwrap();
    assert!(page.contains("The connection does not work yet"), "{page}");
    assert!(page.contains(r#"class="check failed" data-step="Slave key accepted""#));
    assert!(
        page.contains("it belongs to node home while this node&#39;s id is office")
            || page.contains("it belongs to node home while this node's id is office")
    );
    slave.stop().await;
    master.stop().await;
}
