//! Test support: real databases, made and thrown away by the tests.
//!
//! SQLite databases live in temporary directories. PostgreSQL runs as one
//! throwaway cluster per test process (initdb into a temporary directory,
//! listening only on a Unix socket there), with a fresh database per test,
//! cloned from a migrated template. As root, the server runs as the
//! `postgres` user (initdb refuses root). A watchdog stops the server and
//! deletes its directory when the test process ends.
//!
//! Where PostgreSQL is not installed, PostgreSQL tests print that they are
//! skipped, unless `ARCHIVE_TEST_REQUIRE_PG=1`, which makes that a failure.

pub mod audio;
pub mod tls;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use archive_db::{Backend, Db, DbOptions};

/// A database for one test; dropped with its files (SQLite) when the test ends.
pub struct TestDb {
    pub db: Db,
    pub options: DbOptions,
    dir: Option<Arc<tempfile::TempDir>>,
}

impl TestDb {
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// A fresh, migrated database on `backend`; `None` if that backend is not
    /// available here (and not required).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let test_db = match backend {
            Backend::Sqlite => Self::empty(backend).await?,
            Backend::Postgres => Self::postgres(postgres_database(true)?).await,
        };
        test_db.db.migrate().await.expect("migrations apply");
        Some(test_db)
    }

    async fn postgres(url: String) -> TestDb {
        let options = DbOptions {
            database_url: Some(url),
            sqlite_path: PathBuf::new(),
            max_connections: 5,
            ..Default::default()
        };
        let db = Db::connect(&options).await.expect("connect to the test PostgreSQL");
        TestDb { db, options, dir: None }
    }

    /// A fresh, migrated SQLite database that may grow only `extra_pages`
    /// pages (of 4 KiB) more: then it fails writes as a full disk does.
    pub async fn sqlite_nearly_full(extra_pages: u32) -> TestDb {
        let open = TestDb::new(Backend::Sqlite).await.expect("SQLite is always available");
        let pages = open.db.size_bytes().await.expect("the database's size") / 4096;
        open.db.close().await;
        let options =
            DbOptions { sqlite_page_limit: Some(pages as u32 + extra_pages), ..open.options.clone() };
        let db = Db::connect(&options).await.expect("reopen SQLite with a page limit");
        TestDb { db, options, dir: open.dir }
    }

    /// A fresh, migrated database on a PostgreSQL server of its own.
    pub async fn on_own_postgres(server: &OwnPostgres) -> TestDb {
        let name = format!("own_{}", std::process::id());
        server.cluster.psql(&format!("CREATE DATABASE {name}"));
        let test_db = Self::postgres(server.cluster.url(&name)).await;
        test_db.db.migrate().await.expect("migrations apply");
        test_db
    }

    /// The same database through a connection pool of its own, as another
    /// process on it would have (several `archive serve` processes on one
    /// PostgreSQL database).
    pub async fn another_process(&self) -> TestDb {
        let db = Db::connect(&self.options).await.expect("connect to the same database again");
        TestDb { db, options: self.options.clone(), dir: self.dir.clone() }
    }

    /// A fresh database with no migrations applied.
    pub async fn empty(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let options = DbOptions {
                    database_url: None,
                    sqlite_path: dir.path().join("archive.db"),
                    max_connections: 4,
                    ..Default::default()
                };
                let db = Db::connect(&options).await.expect("open SQLite");
                Some(TestDb { db, options, dir: Some(Arc::new(dir)) })
            }
            Backend::Postgres => Some(Self::postgres(postgres_database(false)?).await),
        }
    }
}

/// The whole change log as a reader sees it once every committed change is
/// readable. On PostgreSQL a reader stops before any transaction still open
/// in the cluster, including other tests' transactions in other databases,
/// so this polls (for at most 20 s) until the reader has caught up.
pub async fn settled_changes(db: &Db) -> Vec<archive_db::ChangeRecord> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let committed = db.change_count().await.unwrap();
        let changes = db.changes_after(archive_db::LogPosition::START, 1_000_000).await.unwrap();
        if changes.len() as i64 == committed {
            return changes;
        }
        assert!(Instant::now() < deadline, "the change log did not settle");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many segments SQLite's song search index (FTS5) is in: one or more
/// per commit that wrote it, until merged. Panics on PostgreSQL, whose index
/// has none.
pub async fn song_search_segments(db: &Db) -> u64 {
    assert_eq!(db.backend(), Backend::Sqlite, "only FTS5 keeps segments");
    let mut tx = db.begin().await.unwrap();
    tx.execute_unchecked("CREATE TEMP TABLE segments (id INTEGER)").await.unwrap();
    let segments = tx
        .execute_unchecked("INSERT INTO temp.segments SELECT DISTINCT segid FROM search_song_fts_idx")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    segments
}

/// The backends to run a test on: SQLite always, PostgreSQL when available.
pub fn backends() -> Vec<Backend> {
    let mut list = vec![Backend::Sqlite];
    if postgres_cluster().is_some() {
        list.push(Backend::Postgres);
    }
    list
}

/// Runs `test` once per available backend, each time on a fresh migrated database.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDb::new(backend).await.expect("backend is available");
        eprintln!("-- on {}", backend.name());
        // A test closure that only uses `t.db` captures only that field, so the
        // directory is kept alive here until the test is done.
        let keep_dir = db.dir.clone();
        test(db).await;
        drop(keep_dir);
    }
}

/// Whether tests must fail instead of skipping when PostgreSQL is missing.
pub fn postgres_required() -> bool {
    std::env::var("ARCHIVE_TEST_REQUIRE_PG").is_ok_and(|v| v == "1")
}

/// A URL to a new PostgreSQL database: a copy of the migrated template, or
/// empty. `None` when PostgreSQL is not available and not required.
pub fn postgres_database(migrated: bool) -> Option<String> {
    let cluster = postgres_cluster()?;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let template = if migrated { "archive_template" } else { "template0" };
    cluster.psql(&format!("CREATE DATABASE {name} TEMPLATE {template}"));
    Some(cluster.url(&name))
}

struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@localhost/{database}?host={}", self.dir.display())
    }

    fn psql(&self, sql: &str) {
        let out = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn postgres_cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| match start_cluster() {
            Ok(cluster) => Some(cluster),
            Err(why) if postgres_required() => {
                panic!("ARCHIVE_TEST_REQUIRE_PG=1 but PostgreSQL cannot start: {why}")
            }
            Err(why) => {
                eprintln!("skipping PostgreSQL tests: {why}");
                None
            }
        })
        .as_ref()
}

fn find_pg_bin(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let versioned =
        ["17", "16", "15"].iter().map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin/{name}")));
    on_path.into_iter().chain(versioned).find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs `program` as the `postgres` user when we are root (initdb and the
/// server refuse to run as root), or as ourselves otherwise.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A PostgreSQL server of one test's own, which the test may stop and start
/// again (the shared one serves every test of the process). It is stopped
/// and removed when dropped, or when the test process ends.
pub struct OwnPostgres {
    cluster: Cluster,
    pg_ctl: PathBuf,
}

impl OwnPostgres {
    /// `None` where PostgreSQL is not installed (and not required).
    pub fn start() -> Option<OwnPostgres> {
        match Self::try_start() {
            Ok(server) => Some(server),
            Err(why) if postgres_required() => {
                panic!("ARCHIVE_TEST_REQUIRE_PG=1 but PostgreSQL cannot start: {why}")
            }
            Err(why) => {
                eprintln!("skipped: PostgreSQL cannot start: {why}");
                None
            }
        }
    }

    fn try_start() -> Result<OwnPostgres, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("archive-own-pg-{}-{n}", std::process::id()));
        let data = init_cluster(&dir)?;
        let pg_ctl = find_pg_bin("pg_ctl").ok_or("pg_ctl not found")?;
        // Once this process is gone, the watchdog stops the server and removes its files.
        let prefix = if is_root() { "setpriv --reuid=postgres --regid=postgres --clear-groups " } else { "" };
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 0.5; done; \
             {prefix}{pg_ctl} stop -D {data} -m immediate >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = pg_ctl.display(),
            data = data.display(),
            dir = dir.display(),
        );
        run_detached(&script).map_err(|e| format!("start the watchdog: {e}"))?;
        let server = OwnPostgres { cluster: Cluster { dir }, pg_ctl };
        server.start_again()?;
        Ok(server)
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.cluster.dir.join("data");
        let options = format!(
            "-k {} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c max_connections=50",
            self.cluster.dir.display()
        );
        let out = as_server_user(&self.pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(["-l"])
            .arg(self.cluster.dir.join("server.log"))
            .args(["-o", &options, "-w", "-t", "30"])
            .args(args)
            .output()
            .map_err(|e| format!("run pg_ctl: {e}"))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!("pg_ctl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr))),
        }
    }

    /// Stops the server (fast: open connections are cut).
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]).expect("stop PostgreSQL");
    }

    /// Starts the server again after [`OwnPostgres::stop`].
    pub fn start_again(&self) -> Result<(), String> {
        self.pg_ctl(&["start"])
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.cluster.dir);
    }
}

/// Runs a shell script in the background, its output discarded: a
/// watchdog that outlives nothing but its own loop.
fn run_detached(script: &str) -> std::io::Result<()> {
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
}

/// Makes an empty cluster under `dir` (owned by the server's user); its data folder.
fn init_cluster(dir: &Path) -> Result<PathBuf, String> {
    let initdb = find_pg_bin("initdb").ok_or("initdb not found")?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    if is_root() {
        let status = Command::new("chown").arg("postgres:postgres").arg(dir).status();
        if !status.is_ok_and(|s| s.success()) {
            return Err("cannot hand the cluster directory to the postgres user".into());
        }
    }
    let data = dir.join("data");
    let out = as_server_user(&initdb)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .map_err(|e| format!("run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(data)
}

fn start_cluster() -> Result<Cluster, String> {
    let postgres = find_pg_bin("postgres").ok_or("postgres not found")?;
    let dir = std::env::temp_dir().join(format!("archive-pg-{}", std::process::id()));
    let data = init_cluster(&dir)?;
    // The watchdog starts the server and, once this process is gone, stops it
    // and removes the directory.
    let server = format!(
        "{} -D {} -k {} -c listen_addresses= -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200",
        postgres.display(),
        data.display(),
        dir.display()
    );
    let prefix = if is_root() { "setpriv --reuid=postgres --regid=postgres --clear-groups " } else { "" };
    let script = format!(
        "{prefix}{server} >{dir}/server.log 2>&1 & server=$!; \
         while [ -d /proc/{pid} ] && kill -0 $server 2>/dev/null; do sleep 0.5; done; \
         kill -INT $server 2>/dev/null; wait $server; rm -rf {dir}",
        dir = dir.display(),
        pid = std::process::id()
    );
    run_detached(&script).map_err(|e| format!("start the server: {e}"))?;
    let cluster = Cluster { dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new("psql")
            .args(["-X", "-q", "-h"])
            .arg(&cluster.dir)
            .args(["-U", "postgres", "-d", "postgres", "-c", "SELECT 1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(cluster.dir.join("server.log")).unwrap_or_default();
            return Err(format!("the server did not start within 30 s: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.psql("CREATE DATABASE archive_template");
    migrate_template(&cluster)?;
    Ok(cluster)
}

/// Applies the migrations to the template database once, on a thread of its
/// own (this may be called from inside a test's runtime).
fn migrate_template(cluster: &Cluster) -> Result<(), String> {
    let url = cluster.url("archive_template");
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let options = DbOptions {
                database_url: Some(url),
                sqlite_path: PathBuf::new(),
                max_connections: 2,
                ..Default::default()
            };
            let db = Db::connect(&options).await.map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            db.close().await;
            Ok(())
        })
    })
    .join()
    .map_err(|_| "migrating the template panicked".to_string())?
}
