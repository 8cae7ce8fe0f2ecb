//! What every process on one database sees alike: failed attempts at
//! secrets, the addresses accounts logged in from, the imports, and the
//! bytes each slave key uploaded today.

use archive_db::{AttemptSubject, INTERRUPTED, ImportCounts, ImportEnd, NewImportRun};
use archive_testkit::on_each_backend;
use chrono::TimeDelta;
use uuid::Uuid;

const ADDRESS: AttemptSubject = AttemptSubject { scope: "login/address", subject: "203.0.113.7" };
const ACCOUNT: AttemptSubject = AttemptSubject { scope: "login/account", subject: "owner@example.org" };

#[tokio::test]
async fn failures_recorded_by_one_process_are_counted_by_another() {
    on_each_backend(|t| async move {
        let other = t.another_process().await;
        t.db.record_failures(&[ADDRESS, ACCOUNT], 1000).await.unwrap();
        t.db.record_failures(&[ADDRESS], 1000).await.unwrap();
        other.db.record_failures(&[ADDRESS], 1004).await.unwrap();

        let counts = other.db.failures_since(&[ADDRESS, ACCOUNT], 990).await.unwrap();
        assert_eq!((counts[0].failures, counts[0].first_minute), (3, 1000));
        assert_eq!((counts[1].failures, counts[1].first_minute), (1, 1000));
        // Minutes before the window do not count.
        let later = t.db.failures_since(&[ADDRESS], 1001).await.unwrap();
        assert_eq!((later[0].failures, later[0].first_minute), (1, 1004));
        // Another scope with the same subject is another count.
        let pair = AttemptSubject { scope: "login/pair", subject: "203.0.113.7" };
        assert_eq!(t.db.failures_since(&[pair], 0).await.unwrap()[0].failures, 0);

        other.db.forget_failures(ADDRESS).await.unwrap();
        assert_eq!(t.db.failures_since(&[ADDRESS, ACCOUNT], 0).await.unwrap()[0].failures, 0);
        assert_eq!(
            t.db.failures_since(&[ACCOUNT], 0).await.unwrap()[0].failures,
            1,
            "only the one forgotten"
        );
        other.db.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_sweep_drops_old_failures_and_old_logins_only() {
    on_each_backend(|t| async move {
        let now = archive_db::now();
        t.db.record_failures(&[ADDRESS], 100).await.unwrap();
        t.db.record_failures(&[ACCOUNT], 200).await.unwrap();
        t.db.remember_login("owner@example.org", "198.51.100.9", now - TimeDelta::days(40)).await.unwrap();
        t.db.remember_login("owner@example.org", "192.0.2.1", now).await.unwrap();
        assert!(
            t.db.logged_in_from("owner@example.org", "192.0.2.1", now - TimeDelta::days(30)).await.unwrap()
        );
        assert!(
            !t.db.logged_in_from("owner@example.org", "10.0.0.1", now - TimeDelta::days(30)).await.unwrap()
        );

        assert_eq!(t.db.sweep_attempts(150, now - TimeDelta::days(30)).await.unwrap(), 2);
        assert_eq!(t.db.failures_since(&[ADDRESS], 0).await.unwrap()[0].failures, 0);
        assert_eq!(t.db.failures_since(&[ACCOUNT], 0).await.unwrap()[0].failures, 1);
        let since = now - TimeDelta::days(60);
        assert!(!t.db.logged_in_from("owner@example.org", "198.51.100.9", since).await.unwrap());
        assert!(t.db.logged_in_from("owner@example.org", "192.0.2.1", since).await.unwrap());
    })
    .await;
}

fn run(id: Uuid, started_at: chrono::DateTime<chrono::Utc>) -> NewImportRun<'static> {
    NewImportRun { id, folders: "/music", trigger_kind: "scan", started_by: None, started_at }
}

#[tokio::test]
async fn one_import_runs_at_a_time_across_processes_until_its_process_stops_noting_progress() {
    on_each_backend(|t| async move {
        let other = t.another_process().await;
        let now = archive_db::now();
        let stale_before = now - TimeDelta::seconds(30);
        let first = Uuid::now_v7();
        assert!(t.db.start_import_run(&run(first, now), stale_before, 20).await.unwrap());
        let second = Uuid::now_v7();
        assert!(
            !other.db.start_import_run(&run(second, now), stale_before, 20).await.unwrap(),
            "two at once"
        );

        let counts = ImportCounts { seen: 10, imported: 7, skipped: 2, failed: 1, files_per_second: 5.0 };
        t.db.note_import_progress(first, &counts).await.unwrap();
        let seen = other.db.import_run(first).await.unwrap().expect("listed by the other process");
        assert_eq!((seen.state.as_str(), seen.imported, seen.files_per_second), ("running", 7, 5.0));

        // Its process died: an import started once its notes are stale marks it interrupted.
        let later = now + TimeDelta::minutes(5);
        assert!(
            other.db.start_import_run(&run(second, later), later - TimeDelta::seconds(30), 20).await.unwrap()
        );
        let dead = t.db.import_run(first).await.unwrap().unwrap();
        assert_eq!((dead.state.as_str(), dead.error.as_deref()), ("failed", Some(INTERRUPTED)));

        let failures = r#"[{"path":"/music/bad.mp3","error":"no audio"}]"#;
        let end = ImportEnd::Done { missing: 3, failures, warnings: "[]" };
        other.db.finish_import_run(second, &counts, end).await.unwrap();
        let runs = t.db.import_runs(10).await.unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![second, first], "newest first");
        assert_eq!((runs[0].state.as_str(), runs[0].missing), ("done", Some(3)));
        assert_eq!(runs[0].failures, failures);
        other.db.close().await;
    })
    .await;
}

#[tokio::test]
async fn only_the_most_recent_imports_stay_listed() {
    on_each_backend(|t| async move {
        let start = archive_db::now() - TimeDelta::hours(1);
        let mut ids = Vec::new();
        for n in 0..5 {
            let id = Uuid::now_v7();
            let at = start + TimeDelta::minutes(n);
            assert!(t.db.start_import_run(&run(id, at), start - TimeDelta::hours(1), 3).await.unwrap());
            let end = ImportEnd::Failed { error: "stopped" };
            t.db.finish_import_run(id, &ImportCounts::default(), end).await.unwrap();
            ids.push(id);
        }
        let listed: Vec<Uuid> = t.db.import_runs(100).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(listed, vec![ids[4], ids[3], ids[2]]);
    })
    .await;
}

#[tokio::test]
async fn slaves_visits_written_together_add_up_per_slave_and_keep_what_a_visit_left_unset() {
    use archive_db::sync::state::{PeerRole, SlaveVisit};
    on_each_backend(|t| async move {
        let visit = |node: &str, pulled: i64, cursor: Option<&str>| SlaveVisit {
            node_id: node.to_owned(),
            seen_at: Some(archive_db::now()),
            pulled,
            cursor: cursor.map(str::to_owned),
            ..SlaveVisit::default()
        };
        t.db.record_slave_visits(&[visit("home", 3, Some("c1")), visit("office", 5, Some("c9"))])
            .await
            .unwrap();
        // A later flush (or another process's) adds to the counts; an unset cursor keeps the last one.
        t.db.record_slave_visits(&[visit("home", 4, None)]).await.unwrap();
        t.db.record_slave_visits(&[]).await.unwrap();

        let peers = t.db.peers(PeerRole::Slave).await.unwrap();
        let seen: Vec<(&str, i64, Option<&str>)> =
            peers.iter().map(|p| (p.node_id.as_str(), p.changes_pulled, p.cursor.as_deref())).collect();
        assert_eq!(seen, [("home", 7, Some("c1")), ("office", 5, Some("c9"))]);
    })
    .await;
}

/// A slave key's record, stored.
async fn slave_key(db: &archive_db::Db, node_id: &str) -> Uuid {
    let key = archive_db::sync::state::SlaveKey {
        id: Uuid::now_v7(),
        name: node_id.to_owned(),
        node_id: node_id.to_owned(),
        key_prefix: node_id.to_owned(),
        key_hash: vec![0; 32],
        created_at: archive_db::now(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
        read_only: false,
    };
    let mut tx = db.begin().await.unwrap();
    tx.create_slave_key(&key).await.unwrap();
    tx.commit().await.unwrap();
    key.id
}

#[tokio::test]
async fn each_slave_keys_upload_bytes_are_counted_by_every_process_within_its_days_quota() {
    on_each_backend(|t| async move {
        let other = t.another_process().await;
        let (home, office) = (slave_key(&t.db, "home").await, slave_key(&t.db, "office").await);
        let day = "2026-12-07";

        assert!(t.db.take_upload_bytes(home, day, 600, 1000).await.unwrap());
        assert!(other.db.take_upload_bytes(home, day, 400, 1000).await.unwrap(), "exactly the quota");
        assert!(!t.db.take_upload_bytes(home, day, 1, 1000).await.unwrap(), "one byte past it");
        assert_eq!(other.db.uploaded_bytes(home, day).await.unwrap(), 1000);
        // Another key has its own quota.
        assert!(t.db.take_upload_bytes(office, day, 1000, 1000).await.unwrap());

        // A piece that brought less than was counted gives the rest back.
        other.db.give_back_upload_bytes(home, day, 300).await.unwrap();
        assert!(
            !t.db.take_upload_bytes(home, day, 301, 1000).await.unwrap(),
            "a refused piece counts nothing"
        );
        assert!(t.db.take_upload_bytes(home, day, 300, 1000).await.unwrap());
        assert_eq!(t.db.uploaded_bytes(home, day).await.unwrap(), 1000);

        // A new day starts from nothing, and the key's earlier days are dropped.
        assert!(t.db.take_upload_bytes(home, "2026-12-08", 1000, 1000).await.unwrap());
        assert_eq!(t.db.uploaded_bytes(home, day).await.unwrap(), 0);
        assert_eq!(t.db.uploaded_bytes(office, day).await.unwrap(), 1000, "not another key's");
        // A process whose clock is a little behind near midnight does not
        // wipe the new day's count.
        assert!(other.db.take_upload_bytes(home, day, 1, 1000).await.unwrap());
        assert_eq!(t.db.uploaded_bytes(home, "2026-12-08").await.unwrap(), 1000);
        other.db.close().await;
    })
    .await;
}

#[tokio::test]
async fn each_slave_keys_pushed_changes_are_counted_apart_from_its_bytes_within_their_days_quota() {
    on_each_backend(|t| async move {
        let other = t.another_process().await;
        let (home, office) = (slave_key(&t.db, "home").await, slave_key(&t.db, "office").await);
        let day = "2026-12-07";

        assert!(t.db.take_upload_bytes(home, day, 5000, 5000).await.unwrap(), "its bytes are used up");
        assert!(t.db.take_pushed_changes(home, day, 1500, 2000).await.unwrap(), "its changes are not");
        assert!(other.db.take_pushed_changes(home, day, 500, 2000).await.unwrap(), "exactly the quota");
        assert!(!t.db.take_pushed_changes(home, day, 1, 2000).await.unwrap(), "one past it");
        assert_eq!(other.db.pushed_changes(home, day).await.unwrap(), 2000);
        assert_eq!(other.db.uploaded_bytes(home, day).await.unwrap(), 5000, "bytes apart");
        assert!(t.db.take_pushed_changes(office, day, 2000, 2000).await.unwrap(), "another key's own");

        // A push that failed gives its count back.
        other.db.give_back_pushed_changes(home, day, 500).await.unwrap();
        assert!(!t.db.take_pushed_changes(home, day, 501, 2000).await.unwrap());
        assert!(t.db.take_pushed_changes(home, day, 500, 2000).await.unwrap());

        // A new day starts from nothing.
        assert!(t.db.take_pushed_changes(home, "2026-12-08", 2000, 2000).await.unwrap());
        assert_eq!(t.db.pushed_changes(home, day).await.unwrap(), 0);
        other.db.close().await;
    })
    .await;
}
