//! The two backends behind one [`Db`] and one [`Tx`].
//!
//! Shared SQL runs on either through [`on_pool!`] and [`on_tx!`], which expand
//! one generic body once per backend. Dialect-specific SQL lives in
//! `sqlite.rs` and `postgres.rs`, and nowhere else.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqliteOperation, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::commits::{CommitSignal, LogCommits};
use crate::error::{ConnectError, DbError, Result, Unavailable};
use crate::references::References;

/// Which database engine a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the database is and how many connections to keep.
#[derive(Debug, Clone, Default)]
pub struct DbOptions {
    /// A `postgres://` URL, or `None` for the embedded SQLite database.
    pub database_url: Option<String>,
    /// The SQLite file used when `database_url` is `None`.
    pub sqlite_path: PathBuf,
    /// Pool size (PostgreSQL connections, or SQLite reader connections).
    pub max_connections: u32,
    /// The most pages the SQLite file may grow to (SQLite's
    /// `max_page_count`): a database that reaches it fails writes as a full
    /// disk does. For tests of that; `None` in use.
    pub sqlite_page_limit: Option<u32>,
}

/// One connection pool's use: SQLite has a reader pool (`read`) and one
/// writer (`write`); PostgreSQL one pool (`main`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub name: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The SQLite database's file name in the data directory.
pub const SQLITE_FILE: &str = "archive.db";

impl DbOptions {
    /// PostgreSQL at `database_url` when given, else SQLite in `data_dir`.
    pub fn new(database_url: Option<String>, data_dir: &std::path::Path, max_connections: u32) -> DbOptions {
        DbOptions {
            database_url,
            sqlite_path: data_dir.join(SQLITE_FILE),
            max_connections,
            sqlite_page_limit: None,
        }
    }

    /// Which database and where, for people: a URL never shows its password.
    pub fn describe(&self) -> String {
        match &self.database_url {
            Some(url) => format!("PostgreSQL ({})", without_password(url)),
            None => format!("SQLite ({})", self.sqlite_path.display()),
        }
    }
}

/// A database URL without its password (nor its query, which may carry one).
fn without_password(url: &str) -> String {
    let url = url.split('?').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else { return "URL hidden".into() };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => format!("{scheme}://{rest}"),
    }
}

/// A handle on the database: cheap to clone, shared by every task.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The last write probe's outcome (see [`Db::check_writes`]). An async
    /// lock, held while a probe runs: callers who arrive meanwhile wait for
    /// its answer instead of probing too.
    probe: std::sync::Arc<tokio::sync::Mutex<Option<ProbeOutcome>>>,
    /// Transactions this process committed with capture off (a slave's
    /// applies of its master's state), which the change log does not show.
    unlogged_commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Word of commits that added to the change log (see [`crate::commits`]).
    commits: std::sync::Arc<CommitSignal>,
    /// How many bulk writes hold SQLite's writer at the bulk checkpoint
    /// threshold (see [`crate::BackgroundCheckpoints`]): the first sets it,
    /// the last gives the usual one back.
    pub(crate) bulk_checkpoint_holders: std::sync::Arc<tokio::sync::Mutex<usize>>,
}

/// Where the synced data stood when it was read, for caches of it: a write
/// to a synced table in any process moves the change log (its settled head
/// or its highest id), and a slave's apply, which the log does not record,
/// counts in this process. A cache keyed by a stamp taken before its read
/// never serves data older than that (a commit during the read only makes
/// the next stamp differ). One blind spot, on PostgreSQL: a commit whose
/// log entries are neither the newest nor released by the settled head
/// (three writers interleaved) shows when the older one ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataStamp {
    unlogged_commits: u64,
    log_head: crate::LogPosition,
    log_peak: i64,
}

/// When the write probe ran, and why writes failed (`None`: they did not).
type ProbeOutcome = (std::time::Instant, Option<Unavailable>);

/// How many pages of write-ahead log (64 MiB) make the writer copy the log
/// back into the database after a commit: an import batch dirties pages all
/// over the songs' indexes, and checkpointing after every batch wrote them
/// twice per batch (100k files imported 10–15% faster than at SQLite's 4 MiB).
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 16_384;

/// The size the write-ahead log file is cut back to when it starts over: a
/// bulk import with [`crate::BackgroundCheckpoints`] can grow it well past
/// the writer's checkpoint threshold, and SQLite would otherwise keep it so.
const LOG_FILE_LIMIT_BYTES: u64 = 64 << 20;

/// How long a write probe's answer stands before the next probe.
const PROBE_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone)]
enum Pool {
    /// Reads go to a pool of read-only connections; writes to one writer, so
    /// writers queue in the process instead of failing with SQLITE_BUSY.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// The bulk writer, which writes only while it holds `write`'s
        /// connection (see [`Db::begin_bulk`]).
        bulk: SqlitePool,
    },
    Postgres(PgPool),
}

/// A borrowed pool to run a read on (the reader pool for SQLite).
pub(crate) enum PoolRef<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

/// What writes: SQLite's writer and bulk writer (see [`Db::begin_bulk`]),
/// or PostgreSQL's pool.
pub(crate) enum WritersRef<'a> {
    Sqlite([&'a SqlitePool; 2]),
    Postgres(&'a PgPool),
}

/// How long the first connection to PostgreSQL may take at start-up.
const FIRST_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens and closes one connection, turning a failure into the cause a
/// person can act on.
async fn first_connection(options: &PgConnectOptions) -> Result<()> {
    use sqlx::ConnectOptions;
    let host = options.get_host().to_owned();
    let port = options.get_port();
    let place =
        if host.starts_with('/') { format!("the socket in {host}") } else { format!("{host}:{port}") };
    // A name that does not resolve is told apart before connecting (a
    // socket folder is not a name).
    if !host.starts_with('/') && tokio::net::lookup_host((host.as_str(), port)).await.is_err() {
        return Err(DbError::Connect(ConnectError::UnknownHost(host)));
    }
    let connection = tokio::time::timeout(FIRST_CONNECTION_TIMEOUT, options.connect()).await;
    let error = match connection {
        Ok(Ok(connection)) => {
            let _ = sqlx::Connection::close(connection).await;
            return Ok(());
        }
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(DbError::Connect(ConnectError::Timeout(place, FIRST_CONNECTION_TIMEOUT.as_secs())));
        }
    };
    let cause = match &error {
        sqlx::Error::Io(e)
            if matches!(e.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound) =>
        {
            ConnectError::Refused(place)
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // invalid_password, invalid_authorization_specification
            Some("28P01" | "28000") => ConnectError::AuthenticationFailed {
                user: options.get_username().to_owned(),
                message: db.message().to_owned(),
            },
            // invalid_catalog_name
            Some("3D000") => ConnectError::DatabaseMissing(
                options.get_database().unwrap_or(options.get_username()).to_owned(),
            ),
            _ => ConnectError::Other(error.to_string()),
        },
        other => ConnectError::Other(format!("{place}: {other}")),
    };
    Err(DbError::Connect(cause))
}

/// Runs `$body` with `$pool` bound to the live backend's read pool.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.pool_ref() {
            $crate::backend::PoolRef::Sqlite($pool) => $body,
            $crate::backend::PoolRef::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs `$body` with `$conn` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx.inner_mut() {
            $crate::backend::TxInner::Sqlite(t) => {
                let $conn: &mut sqlx::SqliteConnection = &mut **t;
                $body
            }
            $crate::backend::TxInner::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Db {
    /// Opens the database the options name. Does not run migrations.
    pub async fn connect(options: &DbOptions) -> Result<Db> {
        match &options.database_url {
            Some(url) => Self::connect_postgres(url, options.max_connections).await,
            None => Self::open_sqlite(options).await,
        }
    }

    async fn connect_postgres(url: &str, max_connections: u32) -> Result<Db> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(DbError::Config(
                "DATABASE_URL must start with postgres:// or postgresql:// (leave it unset for the embedded SQLite database)".into(),
            ));
        }
        let connect: PgConnectOptions =
            url.parse().map_err(|e| DbError::Config(format!("DATABASE_URL is not a valid URL: {e}")))?;
        // A transaction left open stalls every sync reader (they stop at the
        // oldest running transaction), so idle ones are cut off.
        //
        let connect = connect.options([("idle_in_transaction_session_timeout", "60s")]);
        // Index reads are costed as the cached reads they are: with the
        // default `random_page_cost` of 4 (for spinning disks) the planner
        // read the whole `songs` table to find the thousand rows of a page of
        // changes (`id IN (...)`), and a PostgreSQL master served pages at
        // 16-17k changes/s instead of 20-23k (docs/PERFORMANCE.md). A value
        // given in the URL (`options=-c random_page_cost=...`) stands.
        let set_in_url = connect.get_options().is_some_and(|o| o.contains("random_page_cost"));
        let connect = if set_in_url { connect } else { connect.options([("random_page_cost", "1.1")]) };
        // One connection first, so that a server that is down, a wrong
        // password or a missing database is reported at once with its cause
        // (a pool retries until its timeout and then says only that).
        first_connection(&connect).await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        let version: i32 =
            sqlx::query_scalar("SELECT current_setting('server_version_num')::int").fetch_one(&pool).await?;
        if version < 150000 {
            return Err(DbError::Config(format!(
                "PostgreSQL 15 or newer is required (server version number {version})"
            )));
        }
        Ok(Db {
            pool: Pool::Postgres(pool),
            probe: Default::default(),
            unlogged_commits: Default::default(),
            commits: Default::default(),
            bulk_checkpoint_holders: Default::default(),
        })
    }

    async fn open_sqlite(options: &DbOptions) -> Result<Db> {
        // The database holds password hashes and keys: its folder and files
        // are its owner's alone (SQLite gives the -wal and -shm files the
        // database file's mode).
        if let Some(dir) = options.sqlite_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| DbError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        {
            use std::os::unix::fs::OpenOptionsExt;
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&options.sqlite_path);
            match created {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(DbError::Config(format!(
                        "cannot create {}: {e}",
                        options.sqlite_path.display()
                    )));
                }
            }
        }
        let connect = SqliteConnectOptions::new()
            .filename(&options.sqlite_path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // The capture triggers rely on nested updates not firing them again.
            .pragma("recursive_triggers", "OFF")
            // Savepoints (sync applies each batch under one) keep their
            // statement journal in memory rather than in a temporary file.
            .pragma("temp_store", "MEMORY");
        let connect = match options.sqlite_page_limit {
            Some(pages) => connect.pragma("max_page_count", pages.to_string()),
            None => connect,
        };
        // The one writer gets a large page cache (64 MiB, against SQLite's 2 MiB
        // default): imports touch many index pages, and re-reading them from
        // the OS on every batch costs more than the memory. It checkpoints
        // at WRITER_CHECKPOINT_PAGES.
        let commits = std::sync::Arc::new(CommitSignal::default());
        let writer_options = connect
            .clone()
            .pragma("cache_size", "-65536")
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string())
            .pragma("journal_size_limit", LOG_FILE_LIMIT_BYTES.to_string());
        let write = writer_pool(&commits).connect_with(writer_options.clone()).await?;
        // The bulk writer: the same, with SQLite's foreign-key checks off
        // (see `crate::references`). Opened by the first bulk write, closed
        // when idle for a minute. Its own connection, not a pragma turned
        // off and on around each batch on the writer: each turn makes
        // SQLite prepare every cached statement again.
        let bulk = writer_pool(&commits)
            .min_connections(0)
            .idle_timeout(Some(Duration::from_secs(60)))
            .connect_lazy_with(writer_options.foreign_keys(false));
        let read = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .connect_with(connect.pragma("query_only", "ON"))
            .await?;
        Ok(Db {
            pool: Pool::Sqlite { read, write, bulk },
            probe: Default::default(),
            unlogged_commits: Default::default(),
            commits,
            bulk_checkpoint_holders: Default::default(),
        })
    }

    /// The synced data's stamp now (one or two small reads of the change log).
    pub async fn data_stamp(&self) -> Result<DataStamp> {
        let unlogged_commits = self.unlogged_commits.load(std::sync::atomic::Ordering::Acquire);
        let log_head = self.log_head().await?;
        let log_peak = match &self.pool {
            // One writer at a time: ids are committed in order, so the head is the peak.
            Pool::Sqlite { .. } => log_head.id,
            Pool::Postgres(pool) => {
                sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM sync_changes").fetch_one(pool).await?
            }
        };
        Ok(DataStamp { unlogged_commits, log_head, log_peak })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) fn pool_ref(&self) -> PoolRef<'_> {
        match &self.pool {
            Pool::Sqlite { read, .. } => PoolRef::Sqlite(read),
            Pool::Postgres(pool) => PoolRef::Postgres(pool),
        }
    }

    /// A borrowed pool to write on (SQLite's one writer, or PostgreSQL's pool),
    /// for work that runs its own transactions (schema changes).
    pub(crate) fn write_pool_ref(&self) -> PoolRef<'_> {
        match &self.pool {
            Pool::Sqlite { write, .. } => PoolRef::Sqlite(write),
            Pool::Postgres(pool) => PoolRef::Postgres(pool),
        }
    }

    pub(crate) fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite { write, .. } => Some(write),
            Pool::Postgres(_) => None,
        }
    }

    /// SQLite's writer and bulk writer (see [`Db::begin_bulk`]).
    pub(crate) fn sqlite_writers(&self) -> Option<[&SqlitePool; 2]> {
        match self.writers() {
            WritersRef::Sqlite(writers) => Some(writers),
            WritersRef::Postgres(_) => None,
        }
    }

    pub(crate) fn writers(&self) -> WritersRef<'_> {
        match &self.pool {
            Pool::Sqlite { write, bulk, .. } => WritersRef::Sqlite([write, bulk]),
            Pool::Postgres(pool) => WritersRef::Postgres(pool),
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so it never fails half-way on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        let (inner, commits) = match &self.pool {
            Pool::Sqlite { write, .. } => {
                let tx = write.begin_with("BEGIN IMMEDIATE").await?;
                self.commits.forget_capture();
                (TxInner::Sqlite(tx), Some(self.commits.clone()))
            }
            // PostgreSQL tells of logged commits itself (see `crate::commits`).
            Pool::Postgres(pool) => (TxInner::Postgres(pool.begin().await?), Some(self.commits.clone())),
        };
        Ok(Tx {
            inner,
            context_changed: false,
            unlogged: false,
            unlogged_commits: self.unlogged_commits.clone(),
            commits,
            unchecked: None,
            _writer: None,
        })
    }

    /// Starts a write transaction for a bulk write (an import's batch),
    /// whose references are checked once per distinct parent at commit
    /// instead of row by row (see [`crate::references`]). It may insert and
    /// update, but must not delete a row that others refer to. On
    /// PostgreSQL it is [`Db::begin`]: its keys are set aside for a first
    /// import instead (see `Db::set_foreign_keys_aside`).
    ///
    /// On SQLite it runs on the bulk writer while it holds the writer's
    /// connection: writes in this process queue behind it as behind any
    /// write, and none runs on a connection without foreign-key checks.
    pub async fn begin_bulk(&self) -> Result<Tx> {
        let Pool::Sqlite { write, bulk, .. } = &self.pool else { return self.begin().await };
        let writer = write.acquire().await?;
        let tx = bulk.begin_with("BEGIN IMMEDIATE").await?;
        self.commits.forget_capture();
        Ok(Tx {
            inner: TxInner::Sqlite(tx),
            context_changed: false,
            unlogged: false,
            unlogged_commits: self.unlogged_commits.clone(),
            commits: Some(self.commits.clone()),
            unchecked: Some(References::default()),
            _writer: Some(writer),
        })
    }

    /// Word of every commit that adds to the change log, in any process on
    /// PostgreSQL and in this one on SQLite: subscribe, read the log, then
    /// wait for the count to move (see [`crate::commits`]).
    pub async fn log_commits(&self) -> Result<LogCommits> {
        match &self.pool {
            Pool::Sqlite { .. } => Ok(self.commits.subscribe()),
            Pool::Postgres(pool) => self.commits.subscribe_postgres(pool).await,
        }
    }

    /// Starts a write transaction on behalf of the user `author`: every
    /// change it records names them, so that a master judges the change by
    /// that user's rights. [`Db::begin`] is for the node's own writes
    /// (imports, the command line, sync).
    pub async fn begin_as(&self, author: uuid::Uuid) -> Result<Tx> {
        let mut tx = self.begin().await?;
        tx.set_author(Some(author)).await?;
        Ok(tx)
    }

    /// Starts a read-only transaction that sees one snapshot of the whole
    /// database (a sync page reads the log and the rows it names together).
    pub async fn begin_read(&self) -> Result<Tx> {
        let inner = match &self.pool {
            Pool::Sqlite { read, .. } => TxInner::Sqlite(read.begin().await?),
            Pool::Postgres(pool) => {
                TxInner::Postgres(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
            }
        };
        Ok(Tx {
            inner,
            context_changed: false,
            unlogged: false,
            unlogged_commits: Default::default(),
            commits: None,
            unchecked: None,
            _writer: None,
        })
    }

    /// Whether the database takes writes now. A real write answers it (a
    /// row the size of a page, written and removed in one transaction,
    /// needs space as an import's rows do), made at most every 2 s: between
    /// probes the last answer stands, so a flood of health checks costs
    /// one small write per 2 s. `Err(DbError::Unavailable)` says why not.
    pub async fn check_writes(&self) -> Result<()> {
        let mut last = self.probe.lock().await;
        let outcome = match *last {
            Some((at, outcome)) if at.elapsed() < PROBE_EVERY => outcome,
            _ => {
                let outcome = match self.probe_write().await {
                    Ok(()) => None,
                    Err(DbError::Unavailable(why)) => Some(why),
                    Err(other) => {
                        tracing::warn!(error = %other, "the write probe failed");
                        Some(Unavailable::Io)
                    }
                };
                *last = Some((std::time::Instant::now(), outcome));
                outcome
            }
        };
        outcome.map_or(Ok(()), |why| Err(DbError::Unavailable(why)))
    }

    async fn probe_write(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        let filler = "x".repeat(8192);
        tx.set_sync_state("health.write_probe", Some(&filler)).await?;
        tx.set_sync_state("health.write_probe", None).await?;
        tx.commit().await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// How many connections each pool holds now (for metrics).
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        fn usage<D: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<D>) -> PoolUsage {
            PoolUsage {
                name,
                open: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        }
        match &self.pool {
            Pool::Sqlite { read, write, bulk } => {
                vec![usage("read", read), usage("write", write), usage("bulk", bulk)]
            }
            Pool::Postgres(pool) => vec![usage("main", pool)],
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write, bulk } => {
                read.close().await;
                write.close().await;
                bulk.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// A pool of SQLite's one writer connection (or the bulk writer's): it
/// tells `commits` of each commit that adds to the change log.
///
/// sqlx pings a connection as it comes back to the pool and, unless told
/// not to, again before it hands it out. For SQLite each ping is a round
/// trip to the connection's own thread (two thread switches) that can find
/// nothing wrong: the connection is in this process. The ping on return
/// stays: it runs a dropped transaction's rollback (see `settled`).
fn writer_pool(commits: &std::sync::Arc<CommitSignal>) -> SqlitePoolOptions {
    let hook = commits.clone();
    SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .before_acquire(|conn, _| Box::pin(async move { Ok(settled(conn)) }))
        .after_connect(move |conn, _| {
            let hook = hook.clone();
            Box::pin(async move {
                conn.lock_handle().await?.set_update_hook(move |row| {
                    if row.operation == SqliteOperation::Insert && row.table == "sync_changes" {
                        hook.note_capture();
                    }
                });
                Ok(())
            })
        })
}

/// Whether the single writer connection may be used again after a
/// transaction: it must not still be inside one. When a write fails because
/// the disk is full, SQLite may roll the transaction back by itself; the
/// rollback queued when the transaction is dropped then fails, and the
/// connection would stay "in a transaction" for good, refusing every later
/// write until a restart. Such a connection is closed before it is handed
/// out again, and the pool opens a fresh one for the write.
fn settled(conn: &mut sqlx::SqliteConnection) -> bool {
    use sqlx::Connection as _;
    // The pool pings a connection when it comes back, before it is idle
    // again; the queued rollback ran before that ping, so the depth read
    // here is final, and checking it costs no round trip of its own.
    let settled = !conn.is_in_transaction();
    if !settled {
        tracing::warn!("the database writer was left inside a failed transaction; reconnecting");
    }
    settled
}

/// How the capture triggers treat this transaction's writes to synced tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// A local write: recorded with no origin, version assigned here (the default).
    Local,
    /// Applying the master's state on a slave: not recorded, versions kept as given.
    Off,
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls it back.
pub struct Tx {
    inner: TxInner,
    /// Whether the capture mode or the author was set (SQLite keeps them in
    /// a table row, which commit resets).
    context_changed: bool,
    /// Whether capture was turned off (see [`DataStamp`]).
    unlogged: bool,
    /// The count it then adds itself to when it commits.
    unlogged_commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Told of the commit: on SQLite to wake those waiting for changes, on
    /// PostgreSQL to move the count silently (see `crate::commits`).
    commits: Option<std::sync::Arc<CommitSignal>>,
    /// A bulk transaction's references, checked at commit (SQLite's
    /// enforcement is off for it); `None` when the database checks them.
    unchecked: Option<References>,
    /// The SQLite writer's connection, held by a bulk transaction so that
    /// no other write runs meanwhile. Declared after `inner`, so that it is
    /// given back after the transaction ends.
    _writer: Option<sqlx::pool::PoolConnection<Sqlite>>,
}

pub(crate) enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn inner_mut(&mut self) -> &mut TxInner {
        &mut self.inner
    }

    pub(crate) fn unchecked_references(&mut self) -> Option<&mut References> {
        self.unchecked.as_mut()
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Sets how this transaction's writes are captured (see [`Capture`]).
    pub async fn set_capture(&mut self, capture: Capture) -> Result<()> {
        let enabled = capture == Capture::Local;
        match &mut self.inner {
            TxInner::Sqlite(t) => crate::sqlite::set_capture(t, enabled).await?,
            TxInner::Postgres(t) => crate::postgres::set_capture(t, enabled).await?,
        }
        self.context_changed |= capture != Capture::Local;
        self.unlogged |= capture == Capture::Off;
        Ok(())
    }

    /// Whether new songs' search documents are left to the caller, who
    /// writes them for a whole batch at once (see `Tx::upsert_songs`).
    pub(crate) async fn set_search_in_bulk(&mut self, bulk: bool) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite(t) => crate::sqlite::set_search_in_bulk(t, bulk).await,
            TxInner::Postgres(t) => crate::postgres::set_search_in_bulk(t, bulk).await,
        }
    }

    /// On SQLite, the highest row number of `songs` now (see
    /// [`Tx::write_search_documents_of_new_songs`]); `None` on PostgreSQL.
    pub(crate) async fn last_song_row(&mut self) -> Result<Option<i64>> {
        match &mut self.inner {
            TxInner::Sqlite(t) => crate::sqlite::last_song_row(t).await.map(Some),
            TxInner::Postgres(_) => Ok(None),
        }
    }

    /// Writes the search documents of the songs `ids`, just inserted, all
    /// of them after row `after` ([`Tx::last_song_row`]) when it is known.
    pub(crate) async fn write_search_documents_of_new_songs(
        &mut self,
        ids: &[uuid::Uuid],
        after: Option<i64>,
    ) -> Result<()> {
        if let (TxInner::Sqlite(t), Some(after)) = (&mut self.inner, after) {
            return crate::sqlite::write_search_documents_of_songs_after(t, after).await;
        }
        self.write_search_documents("SELECT 'song', id, name, context FROM search_song_source", ids).await
    }

    /// `n` new versions from the node's sequence, in order, as the capture
    /// triggers would take them one by one.
    pub(crate) async fn reserve_versions(&mut self, n: usize) -> Result<Vec<i64>> {
        let n = i64::try_from(n).expect("a count of rows fits in i64");
        match &mut self.inner {
            TxInner::Sqlite(t) => crate::sqlite::reserve_versions(t, n).await,
            TxInner::Postgres(t) => crate::postgres::reserve_versions(t, n).await,
        }
    }

    /// Names the user this transaction's changes are recorded as made by
    /// (`None`: the node itself, the default).
    pub async fn set_author(&mut self, author: Option<uuid::Uuid>) -> Result<()> {
        let author = author.map(|id| id.to_string());
        match &mut self.inner {
            TxInner::Sqlite(t) => crate::sqlite::set_author(t, author.as_deref()).await?,
            TxInner::Postgres(t) => crate::postgres::set_author(t, author.as_deref()).await?,
        }
        self.context_changed |= author.is_some();
        Ok(())
    }

    /// Commits. A changed capture mode or author is reset first, so it never
    /// outlives the transaction (on SQLite it lives in a table row).
    pub async fn commit(mut self) -> Result<()> {
        if let Some(references) = self.unchecked.take() {
            self.check_references(references).await?;
        }
        if self.context_changed {
            self.set_capture(Capture::Local).await?;
            self.set_author(None).await?;
        }
        let on_postgres = matches!(self.inner, TxInner::Postgres(_));
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if self.unlogged {
            self.unlogged_commits.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        match (&self.commits, on_postgres) {
            (Some(commits), false) => commits.committed(),
            (Some(commits), true) => commits.committed_unheard(),
            (None, _) => {}
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Runs SQL text as it is, with no binds. For tests and maintenance
    /// tools that must prove a guarantee holds for any SQL, not only ours.
    #[doc(hidden)]
    pub async fn execute_unchecked(&mut self, sql: &str) -> Result<u64> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let done = on_tx!(self, conn => sqlx::raw_sql(sql).execute(conn).await?.rows_affected());
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::{Db, DbOptions, Pool, without_password};

    #[tokio::test]
    async fn the_sqlite_pools_hand_out_connections_without_pinging_them_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&DbOptions::new(None, dir.path(), 2)).await.unwrap();
        let Pool::Sqlite { read, write, .. } = &db.pool else { panic!("no database URL opens SQLite") };
        assert!(!read.options().get_test_before_acquire());
        assert!(!write.options().get_test_before_acquire());
        db.close().await;
    }

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            without_password("postgres://archive:s3cret@db.example:5432/music"),
            "postgres://archive@db.example:5432/music"
        );
        assert_eq!(
            without_password("postgres://db.example/music?password=s3cret&sslmode=require"),
            "postgres://db.example/music"
        );
        assert_eq!(
            without_password("postgres://archive@%2Frun%2Fpg/music"),
            "postgres://archive@%2Frun%2Fpg/music"
        );
        assert_eq!(without_password("nonsense"), "URL hidden");
    }
}
