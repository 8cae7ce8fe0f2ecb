//! A database that cannot be reached at start-up is reported at once, with
//! the cause a person can act on (not a pool's timeout).

use std::time::{Duration, Instant};

use archive_db::{ConnectError, Db, DbError, DbOptions};

async fn connect(url: String) -> DbError {
    let options = DbOptions { database_url: Some(url), max_connections: 2, ..Default::default() };
    match Db::connect(&options).await {
        Ok(_) => panic!("connected to a database that should not be there"),
        Err(e) => e,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn a_port_where_nothing_listens_is_reported_at_once_as_refused() {
    let port = free_port();
    let started = Instant::now();
    let error = connect(format!("postgres://archive@127.0.0.1:{port}/archive")).await;
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(
        matches!(&error, DbError::Connect(ConnectError::Refused(place)) if place.contains(&port.to_string())),
        "{error:?}"
    );
    assert!(error.to_string().contains("connection refused"), "{error}");
}

#[tokio::test]
async fn a_socket_folder_without_a_server_is_reported_as_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = connect(format!("postgres://archive@localhost/archive?host={}", dir.path().display())).await;
    assert!(matches!(error, DbError::Connect(ConnectError::Refused(_))), "{error:?}");
}

#[tokio::test]
async fn a_database_that_does_not_exist_on_a_running_server_is_named() {
    let Some(url) = archive_testkit::postgres_database(false) else { return };
    // The same server, another database name.
    let (before, after) = url.split_once('?').unwrap();
    let server = before.rsplit_once('/').unwrap().0;
    let error = connect(format!("{server}/no_such_database?{after}")).await;
    assert!(
        matches!(&error, DbError::Connect(ConnectError::DatabaseMissing(name)) if name == "no_such_database"),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not exist"), "{error}");
}

#[tokio::test]
async fn a_host_name_that_does_not_resolve_is_named() {
    // `.invalid` never resolves (RFC 2606).
    let error = connect("postgres://archive@archive-test-no-such-host.invalid:5432/archive".into()).await;
    assert!(
        matches!(&error, DbError::Connect(ConnectError::UnknownHost(host)) if host == "archive-test-no-such-host.invalid"),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not resolve"), "{error}");
}

#[tokio::test]
async fn on_postgresql_archives_connections_cost_index_reads_as_cached_reads() {
    let Some(t) = archive_testkit::TestDb::new(archive_db::Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let mut tx = t.db.begin_read().await.unwrap();
    let matching =
        tx.execute_unchecked("SELECT 1 WHERE current_setting('random_page_cost') = '1.1'").await.unwrap();
    assert_eq!(matching, 1, "the session's random_page_cost is not 1.1");
}

#[tokio::test]
async fn on_postgresql_a_random_page_cost_given_in_the_url_stands() {
    let Some(t) = archive_testkit::TestDb::new(archive_db::Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let url = t.options.database_url.clone().expect("a PostgreSQL URL");
    let separator = if url.contains('?') { '&' } else { '?' };
    let options = DbOptions {
        database_url: Some(format!("{url}{separator}options=-c%20random_page_cost%3D3")),
        max_connections: 2,
        ..Default::default()
    };
    let db = Db::connect(&options).await.unwrap();
    let mut tx = db.begin_read().await.unwrap();
    let matching =
        tx.execute_unchecked("SELECT 1 WHERE current_setting('random_page_cost') = '3'").await.unwrap();
    assert_eq!(matching, 1, "the URL's random_page_cost was overridden");
    drop(tx);
    db.close().await;
}
