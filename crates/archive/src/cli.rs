//! The command line: `archive serve`, `archive db …`, `archive user …`,
//! `archive import`, `archive sync …`, `archive healthcheck`.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use archive_db::{BackupOutcome, Db, NewUser, PageRequest, Role};

use crate::auth::{check_password_rules, hash_password};
use crate::config::{Config, SETTINGS};
use crate::serve;
use crate::state::AppState;

#[derive(Parser)]
#[command(
    name = "archive",
    version,
    about = "Archive: a self-hosted music archive with master-slave sync",
    long_about = "Archive keeps a music library (songs, artists, albums, genres, playlists, users and their \
                  listening data) in SQLite or PostgreSQL and serves it over a JSON API.\n\n\
                  Start with `archive serve`, then create an admin with `archive user create`.",
    after_long_help = environment_help(),
)]
struct Cli {
    /// Data directory for the SQLite database and uploads [env: ARCHIVE_DATA_DIR] [default: ./archive-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<String>,
    /// PostgreSQL URL (postgres://…); without it the embedded SQLite database is used [env: DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// error, warn, info, debug or trace [env: ARCHIVE_LOG_LEVEL] [default: info]
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: JSON API and background jobs. Applies migrations first.
    Serve {
        /// Address and port to listen on [env: ARCHIVE_BIND] [default: 127.0.0.1:3000]
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Import folders of audio files into the library. Files stay where they
    /// are; running it again skips unchanged files, updates changed ones and
    /// marks removed ones as missing. Unreadable files are listed and skipped.
    Import {
        /// Folders to import (searched recursively).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Master-slave sync: keys (master), the slave key, status, a cycle now,
    /// pause, resume and emergency stop.
    Sync {
        #[command(subcommand)]
        command: SyncCommand,
    },
    /// Ask the local server whether it is healthy (for containers and service
    /// managers): exits 0 when GET /api/v1/health answers 200, 1 otherwise.
    /// The address is ARCHIVE_BIND's (a wildcard address asks loopback), over
    /// HTTPS when ARCHIVE_TLS_CERT is set.
    Healthcheck {
        /// Ask this base URL instead, such as http://127.0.0.1:3000
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Seconds to wait for the answer
        #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Slave keys (on the master).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Store this slave's key, read from standard input, encrypted at rest.
    SetKey,
    /// This node's sync status, read locally (never from the master).
    Status,
    /// Run one sync cycle now (slave): push local changes, pull the master's.
    /// Runs even when paused or with the circuit open; not during an emergency stop.
    Now,
    /// Pause sync until `resume`, across restarts (yellow). A slave's worker
    /// skips its cycles; a master asks its slaves to come back later.
    Pause,
    /// Lift a pause (and a "key refused" stop).
    Resume,
    /// Stop all sync until `clear-stop`, across restarts (red): a running
    /// cycle is cancelled, forced cycles are refused, a master refuses slaves.
    EmergencyStop,
    /// Lift an emergency stop (and a "key refused" stop).
    ClearStop,
    /// Forget failed attempts: remove them from the list, reset the
    /// consecutive-failure count and close the circuit breaker.
    ClearFailed,
    /// Per synced table: row count and checksum over (id, version). Equal on
    /// two nodes exactly when their data agree.
    Digest,
    /// The audio files on this node and, on a slave, those from the master:
    /// what is here, the transfer queue, fetching and evicting.
    Files {
        #[command(subcommand)]
        command: FilesCommand,
    },
    /// Start a new epoch of this master's change log: every slave copies
    /// the data again at its next cycle. Run it after restoring a master
    /// from a backup.
    NewEpoch,
}

#[derive(Subcommand)]
enum FilesCommand {
    /// Songs whose file is here, fetched files against the quota
    /// (SYNC_FILES_MAX_GB), the transfer queue and its failures.
    Status,
    /// Fetch a song's file from the master now (a slave), within the quota.
    Fetch {
        /// The song's id.
        song_id: uuid::Uuid,
    },
    /// Delete fetched files, least recently played first, until they are
    /// within the quota; pinned files and this node's own files stay.
    Evict {
        /// Every fetched file that no pin keeps, whatever the quota.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a key for a slave; it is printed once and stored only as a hash.
    Generate {
        /// A name to recognise the key by (e.g. "home").
        #[arg(long)]
        name: String,
        /// The slave's node id (its ARCHIVE_NODE_ID); the key works for that node only.
        #[arg(long)]
        node_id: String,
        /// Rotation: the node's other keys stay valid this many hours more, then expire.
        #[arg(long, value_name = "HOURS")]
        overlap_hours: Option<u32>,
        /// A key that pulls and never pushes: the slave follows the master,
        /// and its own changes stay on it.
        #[arg(long)]
        read_only: bool,
    },
    /// List the slave keys (never the secrets).
    List,
    /// Revoke a key by its id; the slave using it is refused from now on.
    Revoke { id: uuid::Uuid },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply pending migrations (serve does this too).
    Migrate,
    /// List every migration, applied or pending.
    Status,
    /// Write a consistent copy of the database to FILE (SQLite: VACUUM INTO;
    /// PostgreSQL: runs pg_dump when it is installed, or prints the command).
    Backup {
        /// Where to write the backup; must not exist yet.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password comes from ARCHIVE_PASSWORD, or else from
    /// the first line of standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, moderator or user
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List every user.
    List,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: archive_db::DbError| e.to_string())
}

fn environment_help() -> String {
    let mut help = String::from("Environment variables (they override settings stored in the database):\n");
    for s in SETTINGS {
        let default = s.default.map(|d| format!(" [default: {d}]")).unwrap_or_default();
        help.push_str(&format!("  {:<24} {}{default}\n", s.var, s.help));
    }
    help.push_str("  ARCHIVE_PASSWORD         Password for `archive user create`\n");
    help
}

/// Runs the command line; the exit code is 0 on success, 1 on error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::sync::install_crypto_provider();
    let mut flags = BTreeMap::new();
    for (var, value) in [
        ("ARCHIVE_DATA_DIR", &cli.data_dir),
        ("DATABASE_URL", &cli.database_url),
        ("ARCHIVE_LOG_LEVEL", &cli.log_level),
    ] {
        if let Some(v) = value {
            flags.insert(var, v.clone());
        }
    }
    if let Command::Serve { bind: Some(bind) } = &cli.command {
        flags.insert("ARCHIVE_BIND", bind.clone());
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("start the runtime");
    match runtime.block_on(run(cli.command, flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, flags: BTreeMap<&'static str, String>) -> anyhow::Result<()> {
    let boot = Config::bootstrap(&flags)?;
    crate::logging::init(&boot.log_level);
    match command {
        Command::Serve { .. } => serve::run(&flags).await,
        Command::Db { command } => db_command(command, &boot).await,
        Command::Import { dirs } => {
            let db = serve::open_database(&boot).await?;
            import_command(&db, &dirs).await
        }
        Command::User { command } => {
            let (config, db) = serve::configure(&flags).await?;
            user_command(command, &config, &db).await
        }
        Command::Sync { command } => {
            let (config, db) = serve::configure(&flags).await?;
            sync_command(command, &config, &db).await
        }
        Command::Healthcheck { url, timeout } => {
            let url = url.unwrap_or_else(|| crate::healthcheck::local_url(&boot));
            crate::healthcheck::check(&url, std::time::Duration::from_secs(timeout)).await
        }
    }
}

async fn files_command(command: FilesCommand, config: &Config, db: &Db) -> anyhow::Result<()> {
    use crate::sync::{fetch, transfers};
    match command {
        FilesCommand::Status => {
            let report = crate::sync::status::report(db, config).await?.files;
            let summary = &report.summary;
            let mb = |bytes: u64| format!("{:.1} MB", bytes as f64 / 1e6);
            println!("songs whose file is here: {} of {}", summary.songs_here, summary.songs);
            if config.role == crate::config::NodeRole::Slave {
                let quota = report.quota_bytes.map_or("no quota".to_owned(), |q| format!("quota {}", mb(q)));
                println!("kept from the master (SYNC_FILES): {}", report.policy);
                println!("fetched: {} files, {} ({quota})", summary.fetched_files, mb(summary.fetched_bytes));
                println!("transfers: {} waiting, {} failing", summary.queued, summary.failing);
                for failed in &report.failed {
                    println!(
                        "  {}  {} attempts, next {}: {}",
                        failed.sha256,
                        failed.attempts,
                        failed.next_attempt_at.format("%Y-%m-%d %H:%M:%S"),
                        failed.last_error.as_deref().unwrap_or("")
                    );
                }
            }
        }
        FilesCommand::Fetch { song_id } => {
            let state = AppState::new(db.clone(), config.clone());
            let fetched = fetch::fetch_song_file(&state, song_id).await?;
            match fetched.transferred {
                0 => println!("{} is here already", fetched.sha256),
                bytes => println!("fetched {} ({bytes} bytes)", fetched.sha256),
            }
        }
        FilesCommand::Evict { all } => {
            let evicted = transfers::evict_to_quota(db, config, all).await?;
            let files = if evicted.files == 1 { "file" } else { "files" };
            println!("evicted {} fetched {files}, {} bytes", evicted.files, evicted.bytes);
        }
    }
    Ok(())
}

async fn sync_command(command: SyncCommand, config: &Config, db: &Db) -> anyhow::Result<()> {
    use crate::sync::{control, engine, keys, status};
    match command {
        SyncCommand::Key { command: KeyCommand::Generate { name, node_id, overlap_hours, read_only } } => {
            let issued = keys::create(db, &name, &node_id, overlap_hours, read_only).await?;
            if config.role != crate::config::NodeRole::Master {
                eprintln!("note: this node is not a master (ARCHIVE_ROLE); the key works once it is");
            }
            let access = if read_only { "read-only " } else { "" };
            eprintln!(
                "{access}Slave key for node {} (id {}). It is shown only now; store it on the slave with `archive sync set-key`:",
                issued.record.node_id, issued.record.id
            );
            println!("{}", issued.secret);
        }
        SyncCommand::Key { command: KeyCommand::List } => {
            let now = archive_db::now();
            println!(
                "{:<36}  {:<12}  {:<20}  {:<10}  {:<10}  {:<20}  name",
                "id", "prefix", "node", "state", "access", "last used"
            );
            for key in db.slave_keys().await? {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else if key.is_live(now) {
                    "live"
                } else {
                    "expired"
                };
                let used = key
                    .last_used_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or("never".into());
                let access = if key.read_only { "read-only" } else { "read-write" };
                println!(
                    "{:<36}  {:<12}  {:<20}  {:<10}  {:<10}  {:<20}  {}",
                    key.id, key.key_prefix, key.node_id, state, access, used, key.name
                );
            }
        }
        SyncCommand::Key { command: KeyCommand::Revoke { id } } => {
            let mut tx = db.begin().await?;
            tx.revoke_slave_key(id).await.map_err(|e| match e {
                archive_db::DbError::NotFound => anyhow::anyhow!("no slave key with id {id}"),
                other => other.into(),
            })?;
            tx.commit().await?;
            println!("revoked slave key {id}");
        }
        SyncCommand::SetKey => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the key from standard input")?;
            keys::set_on_slave(db, config, line.trim()).await?;
            println!("slave key stored (encrypted)");
        }
        SyncCommand::Status => {
            let report = status::report(db, config).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        SyncCommand::Now => {
            let report = engine::run_cycle_now(db, config).await?;
            println!(
                "sync done: pushed {} ({} not applied), pulled {}{}",
                report.pushed,
                report.not_applied,
                report.pulled,
                if report.bootstrapped { ", after a bootstrap" } else { "" }
            );
        }
        SyncCommand::Pause => {
            control::pause(db, "command line").await?;
            println!("sync paused until `archive sync resume`");
        }
        SyncCommand::Resume => {
            control::resume(db).await?;
            println!("sync resumed");
        }
        SyncCommand::EmergencyStop => {
            control::emergency_stop(db, "command line").await?;
            println!("sync emergency stop: nothing syncs until `archive sync clear-stop`");
        }
        SyncCommand::ClearStop => {
            control::clear_stop(db).await?;
            println!("emergency stop cleared");
        }
        SyncCommand::ClearFailed => {
            let removed = control::clear_failed(db).await?;
            println!("cleared {removed} failed attempts; the circuit breaker is closed");
        }
        SyncCommand::NewEpoch => {
            let epoch = db.renew_sync_epoch().await?;
            println!("new epoch {epoch}: every slave bootstraps at its next cycle");
        }
        SyncCommand::Files { command } => files_command(command, config, db).await?,
        SyncCommand::Digest => {
            for table in db.sync_digest().await? {
                println!("{:<18} {:>9}  {}", table.table, table.rows, table.checksum);
            }
        }
    }
    Ok(())
}

async fn db_command(command: DbCommand, config: &Config) -> anyhow::Result<()> {
    let db = serve::connect_database(config).await?;
    match command {
        DbCommand::Migrate => {
            db.migrate().await?;
            println!("migrations applied ({})", db.backend().name());
        }
        DbCommand::Status => {
            println!("database: {}", db.backend().name());
            for m in db.migration_status().await? {
                let state = if m.applied { "applied" } else { "pending" };
                println!("{:04}  {:<8} {}", m.version, state, m.description);
            }
        }
        DbCommand::Backup { file } => match db.backup(&file).await? {
            BackupOutcome::Written => println!("backup written to {}", file.display()),
            BackupOutcome::UsePgDump { command } => pg_dump(&file, config, &command)?,
        },
    }
    db.close().await;
    Ok(())
}

/// PostgreSQL backups are pg_dump's job: run it if it is installed.
fn pg_dump(file: &std::path::Path, config: &Config, command: &str) -> anyhow::Result<()> {
    let url = config.database_url.as_deref().expect("PostgreSQL has a URL");
    match std::process::Command::new("pg_dump")
        .arg("--format=custom")
        .arg("--file")
        .arg(file)
        .arg(url)
        .status()
    {
        Ok(status) if status.success() => {
            println!("backup written to {} by pg_dump (restore with pg_restore)", file.display());
            Ok(())
        }
        Ok(status) => bail!("pg_dump failed ({status})"),
        Err(_) => {
            bail!("PostgreSQL is backed up with pg_dump, which is not installed here; run:\n  {command}")
        }
    }
}

async fn user_command(command: UserCommand, config: &Config, db: &Db) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { .. } if config.role == crate::config::NodeRole::Slave => {
            bail!(
                "this node is a slave: accounts are made on the master ({}), and come here with sync",
                config.sync.master_url.as_deref().unwrap_or("MASTER_ARCHIVE_URL")
            );
        }
        UserCommand::Create { email, name, role } => {
            let password = read_password()?;
            check_password_rules(&password).map_err(anyhow::Error::msg)?;
            let password_hash = hash_password(password).await?;
            let mut tx = db.begin().await?;
            let user =
                tx.insert_user(NewUser { email, name, role, password_hash }).await.map_err(|e| match e {
                    archive_db::DbError::Duplicate(_) => {
                        anyhow::anyhow!("a user with this email already exists")
                    }
                    other => other.into(),
                })?;
            tx.commit().await?;
            println!("created {} <{}> as {} (id {})", user.name, user.email, user.role, user.id);
        }
        UserCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<36}  {:<9}  {:<30}  name", "id", "role", "email")?;
            let mut page = PageRequest { limit: Some(500), ..Default::default() };
            loop {
                let users = db.users(&page).await?;
                for u in &users.items {
                    writeln!(out, "{:<36}  {:<9}  {:<30}  {}", u.id, u.role.as_str(), u.email, u.name)?;
                }
                match users.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// Imports folders with a progress line on the terminal, then a summary
/// and every file that failed.
async fn import_command(db: &Db, dirs: &[PathBuf]) -> anyhow::Result<()> {
    use std::sync::Arc;
    let progress = Arc::new(archive_media::Progress::default());
    let bar = indicatif::ProgressBar::new_spinner();
    let ticker = {
        let (progress, bar) = (progress.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                let p = progress.snapshot();
                bar.set_message(format!(
                    "{} found, {} imported, {} unchanged, {} failed ({:.0} files/s)",
                    p.seen, p.imported, p.skipped, p.failed, p.files_per_second
                ));
                bar.tick();
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    };
    // Recorded like the server's imports, so their Import pages list it
    // with its progress; it waits for an import running there.
    let imports = crate::services::imports::ImportJobs::new(db.clone());
    let trigger = crate::services::imports::Trigger::CommandLine;
    let result = imports.run_when_free(dirs, trigger, progress).await;
    ticker.abort();
    let result = result.context("recording the import")?;
    bar.finish_and_clear();
    let report = result.context("the import stopped")?;
    let secs = report.elapsed.as_secs_f64();
    let handled = report.imported + report.skipped + report.failed.len() as u64;
    println!(
        "imported {}, unchanged {}, failed {}, missing {} ({} files in {secs:.1} s, {:.0} files/s)",
        report.imported,
        report.skipped,
        report.failed.len(),
        report.missing,
        report.seen,
        handled as f64 / secs.max(1e-3)
    );
    for warning in &report.warnings {
        println!("imported with damage skipped: {}: {}", warning.path, warning.error);
    }
    for failure in &report.failed {
        println!("failed: {}: {}", failure.path, failure.error);
    }
    Ok(())
}

/// The new user's password: ARCHIVE_PASSWORD, or the first line of standard
/// input (not echoed when it is a terminal).
fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ARCHIVE_PASSWORD") {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("Password: ");
        let _ = std::process::Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given: set ARCHIVE_PASSWORD or pass it on standard input");
    }
    Ok(password)
}
