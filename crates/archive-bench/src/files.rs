//! `archive-bench files`: a master's audio files mirrored by a slave over
//! HTTPS on loopback, both servers in this process on SQLite: small files
//! per second, and 30 MB ones in MB/s with the process's memory watched
//! (`SYNC_FILES=mirror`: the transfer queue drained, four downloads at
//! once, each checked against its SHA-256 before it is kept); then plays on
//! a slave (`on-play`): the first byte of a play streamed through from the
//! master, and of the local replay once the file is kept.

use std::sync::Arc;
use std::time::Instant;

use archive::serve::Server;
use archive::sync::{engine, keys, transfers};
use archive_db::{Backend, ContentOrigin, Db};

use crate::library::{self, Template};
use anyhow::Context;

use crate::{place, place_config};

pub struct FilesArgs {
    /// Small files (under a kilobyte each).
    pub files: usize,
    /// Files of 30 MB.
    pub large: usize,
    /// Songs played on a slave, first through the master, then locally.
    pub plays: usize,
}

pub async fn run(args: &FilesArgs) -> anyhow::Result<()> {
    println!("| files | measurement | result |");
    println!("|---|---|---|");
    mirror(args.files, Template::Tiny, "small (under 1 kB)").await?;
    mirror(args.large, Template::Large, "30.7 MB").await?;
    plays(args.plays).await?;
    Ok(())
}

/// A master on HTTPS holding a library of `count` files, a slave key for
/// it, and a slave's database and configuration that trust it.
struct Nodes {
    master: Server,
    slave_db: Db,
    slave_config: archive::config::Config,
    slave_place: crate::Place,
    _master_place: crate::Place,
    _library: tempfile::TempDir,
    _certificates: archive_testkit::tls::TestCertificates,
}

async fn nodes(count: usize, template: Template, files_policy: &str) -> anyhow::Result<Nodes> {
    let certificates = archive_testkit::tls::TestCertificates::new();
    let library = tempfile::tempdir()?;
    library::generate(library.path(), count, template)?;

    let master_place = place(Backend::Sqlite)?;
    let master_db = Db::connect(&master_place.options).await?;
    master_db.migrate().await?;
    archive_media::import(&master_db, &[library.path().to_owned()], Arc::default()).await?;
    // Large files get their full hash in the background on a server; here, at once.
    archive_media::hash_pending(&master_db, u64::MAX, &mut Default::default()).await?;
    let master = super::start_https_master(&master_place, &master_db, &certificates).await?;
    let issued = keys::create(&master_db, "bench", "bench", None, false).await?;

    let slave_place = place(Backend::Sqlite)?;
    let slave_db = Db::connect(&slave_place.options).await?;
    slave_db.migrate().await?;
    let slave_config = place_config(
        &slave_place,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "bench".into()),
            ("ARCHIVE_WATCH", "false".into()),
            ("MASTER_ARCHIVE_URL", master.base_url()),
            ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
            ("SYNC_FILES", files_policy.into()),
        ],
    )?;
    keys::set_on_slave(&slave_db, &slave_config, &issued.secret).await?;
    engine::run_cycle_now(&slave_db, &slave_config).await?;
    Ok(Nodes {
        master,
        slave_db,
        slave_config,
        slave_place,
        _master_place: master_place,
        _library: library,
        _certificates: certificates,
    })
}

/// The highest resident memory of this process seen while `work` runs,
/// sampled every 10 ms, against what it was before: (before, peak), bytes.
async fn watch_memory<T>(work: impl std::future::Future<Output = T>) -> (T, u64, u64) {
    let before = resident_bytes();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(resident_bytes(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    let out = work.await;
    sampler.abort();
    (out, before, peak.load(std::sync::atomic::Ordering::Relaxed))
}

/// This process's resident memory (Linux `/proc/self/statm`).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

async fn mirror(count: usize, template: Template, label: &str) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let nodes = nodes(count, template, "mirror").await?;
    let slave = archive::state::AppState::new(nodes.slave_db.clone(), nodes.slave_config.clone());
    let started = Instant::now();
    // The queue worker's own loop, run here until nothing is left to fetch.
    let (fetched, before, peak) = watch_memory(transfers::drain(&slave)).await;
    let fetched = fetched?;
    let elapsed = started.elapsed().as_secs_f64();
    let bytes = nodes.slave_db.content_bytes(ContentOrigin::Fetched).await?;
    anyhow::ensure!(fetched as usize == count, "mirrored {fetched} of {count} files");
    println!(
        "| {count} × {label} | mirrored by a slave over HTTPS | {elapsed:.2} s, **{:.0} files/s**, {:.1} MB/s; memory {:.0} MB before, {:.0} MB at most |",
        fetched as f64 / elapsed,
        bytes as f64 / 1e6 / elapsed,
        before as f64 / 1e6,
        peak as f64 / 1e6,
    );
    nodes.master.stop().await?;
    Ok(())
}

/// Plays on a slave (`SYNC_FILES=on-play`), one after another: the time to
/// the first byte of each song streamed through from the master, then,
/// once every file is kept, of each local replay.
async fn plays(count: usize) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let nodes = nodes(count, Template::Tiny, "on-play").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let slave = Server::start(listener, nodes.slave_db.clone(), nodes.slave_config.clone()).await?;
    let (_, token) = crate::admin_token(&nodes.slave_db).await?;
    let base = format!("http://{}", slave.addr);
    let client = reqwest::Client::new();
    let songs: Vec<uuid::Uuid> = nodes
        .slave_db
        .songs(&Default::default(), &archive_db::PageRequest { limit: Some(500), ..Default::default() })
        .await?
        .items
        .iter()
        .map(|s| s.id)
        .collect();
    let first_byte = |song: uuid::Uuid| {
        let request = client.get(format!("{base}/api/v1/songs/{song}/stream")).bearer_auth(&token);
        async move {
            let started = Instant::now();
            let mut response = request.send().await?.error_for_status()?;
            response.chunk().await?.context("an empty answer")?;
            let elapsed = started.elapsed();
            while response.chunk().await?.is_some() {}
            anyhow::Ok(elapsed)
        }
    };
    let mut through = Vec::new();
    for song in &songs {
        through.push(first_byte(*song).await?);
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while nodes.slave_db.songs_here(&songs).await?.len() < songs.len() {
        anyhow::ensure!(Instant::now() < deadline, "the played files were not all kept within 2 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut local = Vec::new();
    for song in &songs {
        local.push(first_byte(*song).await?);
    }
    let (through, local) = (quantiles(&mut through), quantiles(&mut local));
    println!(
        "| {} plays on a slave | first byte streamed through from the master | {through} |",
        songs.len()
    );
    println!("| {} plays on a slave | first byte of the local replay | {local} |", songs.len());
    slave.stop().await?;
    nodes.master.stop().await?;
    drop(nodes.slave_place);
    Ok(())
}

fn quantiles(times: &mut [std::time::Duration]) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, **p95 {:.2} ms**, max {:.2} ms", at(0.5), at(0.95), at(1.0))
}
