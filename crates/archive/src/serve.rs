//! `archive serve`: open the database, migrate, load the configuration, and
//! serve the API until SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;

use archive_db::Db;

use crate::api;
use crate::config::Config;
use crate::state::AppState;
use crate::sync::worker;
use crate::tls::{self, TlsListener};
use crate::transport;

/// No Nagle delay: a response written in pieces (headers, then a file's
/// first block) must not wait for the client's delayed ACK.
fn no_delay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
}

/// Connects to the configured database; a failure names the setting and
/// the cause (refused, unknown host, authentication, missing database).
pub async fn connect_database(config: &Config) -> anyhow::Result<Db> {
    Db::connect(&config.db_options()).await.with_context(|| match &config.database_url {
        Some(_) => "DATABASE_URL".to_owned(),
        None => format!("cannot open the database in {} (ARCHIVE_DATA_DIR)", config.data_dir.display()),
    })
}

/// Connects to the configured database and applies pending migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = connect_database(config).await?;
    db.migrate().await.context("applying database migrations")?;
    Ok(db)
}

/// Flags and environment first, then the database, then the full configuration.
pub async fn configure(flags: &BTreeMap<&'static str, String>) -> anyhow::Result<(Config, Db)> {
    let boot = Config::bootstrap(flags)?;
    let db = open_database(&boot).await?;
    let config = Config::load(flags, &crate::settings::stored_node_settings(&db).await?)?;
    Ok((config, db))
}

/// A running server (for `archive serve` and for tests).
pub struct Server {
    pub addr: SocketAddr,
    /// Whether it serves HTTPS (`ARCHIVE_TLS_CERT` and `ARCHIVE_TLS_KEY`).
    pub https: bool,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    /// Sync in the background: the worker (a slave with `SYNC_ENABLED`) or
    /// log compaction (a master).
    background: std::sync::Arc<worker::Background>,
    /// Slaves' long-polls, answered when the server stops.
    live_polls: std::sync::Arc<crate::sync::long_poll::LivePolls>,
    upkeep: crate::upkeep::Upkeep,
}

type Serving = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

impl Server {
    /// Serves on `listener` until [`Server::stop`]; over TLS when the
    /// configuration names certificate files (read here, so a bad file stops
    /// start-up). On a slave with `SYNC_ENABLED`, the sync worker runs too;
    /// on a master, hourly compaction of the change log.
    pub async fn start(listener: TcpListener, db: Db, config: Config) -> anyhow::Result<Server> {
        let addr = listener.local_addr()?;
        let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
        let https = tls.is_some();
        let state = AppState::new(db, config);
        let upkeep = crate::upkeep::Upkeep::start(&state);
        let background = state.sync_background.clone();
        let live_polls = state.live_polls.clone();
        background.start(&state.db, state.config(), state.sync_signals.clone()).await?;
        let mut limits = state.config().transport;
        limits.max_connections = transport::connection_cap(limits.max_connections, https);
        let app = api::router(state.clone())
            .merge(crate::web::router(state.clone()))
            .merge(crate::metrics::router(state.clone()))
            .merge(crate::subsonic::router(state.clone()))
            .layer(axum::middleware::from_fn_with_state(state, crate::metrics::count_requests))
            .layer(axum::middleware::from_fn(crate::web::security_headers));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let serving: Serving = match tls {
            None => {
                let listener = listener.tap_io(|stream: &mut TcpStream| no_delay(stream));
                Box::pin(transport::serve(listener, app, limits, stopped))
            }
            Some(tls) => {
                let listener = TlsListener::new(listener, tls)?
                    .tap_io(|stream: &mut TlsStream<TcpStream>| no_delay(stream.get_ref().0));
                Box::pin(transport::serve(listener, app, limits, stopped))
            }
        };
        let task = tokio::spawn(serving);
        Ok(Server { addr, https, shutdown, task, background, live_polls, upkeep })
    }

    /// The address clients use, such as `https://127.0.0.1:3000`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.https { "https" } else { "http" }, self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    /// A sync cycle in progress is abandoned; its open transaction rolls
    /// back, and the next cycle resumes from what was committed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.background.stop().await;
        self.upkeep.stop().await;
        self.live_polls.close();
        let _ = self.shutdown.send(());
        self.task.await??;
        Ok(())
    }
}

/// Runs `archive serve` until a termination signal.
pub async fn run(flags: &BTreeMap<&'static str, String>) -> anyhow::Result<()> {
    // Handlers first: a signal that arrives once we say we listen must stop us cleanly.
    let shutdown = ShutdownSignals::install()?;
    let (config, db) = configure(flags).await?;
    if db.count_admins().await? == 0 {
        let hint = "No admin account exists yet. Create one in the browser (the first visitor is asked \
                    while there is no account at all), or with:\n  \
                    archive user create --email you@example.org --name \"Your Name\" --role admin";
        eprintln!("{hint}");
        tracing::warn!("no admin account exists yet");
    }
    if config.metrics.enabled && config.metrics.token.is_none() && !config.bind.ip().is_loopback() {
        tracing::warn!(
            bind = %config.bind,
            "ARCHIVE_METRICS is on without ARCHIVE_METRICS_TOKEN: anyone who reaches this address can read /metrics"
        );
    }
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} (ARCHIVE_BIND)", config.bind))?;
    let server = Server::start(listener, db.clone(), config.clone()).await?;
    // Printed plainly too: scripts (and tests) started with port 0 read it here.
    eprintln!("listening on {}", server.base_url());
    tracing::info!(
        address = %server.base_url(),
        database = db.backend().name(),
        role = config.role.as_str(),
        node_id = %config.node_id,
        "Archive is serving"
    );
    shutdown.wait().await;
    tracing::info!("shutting down");
    server.stop().await?;
    db.close().await;
    Ok(())
}

/// SIGINT and SIGTERM, registered as soon as they are created.
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
    }
}
