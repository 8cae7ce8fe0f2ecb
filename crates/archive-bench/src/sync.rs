//! `archive-bench sync`: sync between a real master serving HTTPS on
//! loopback (certificates from a CA made for the run) and a fresh SQLite
//! slave:
//!
//! - initial sync (bootstrap) of the master's library;
//! - steady-state pull and apply of a batch of edited songs;
//! - idle "nothing new" polls the master serves per second;
//! - the slave's API latency while its master is blackholed (accepts
//!   connections, never answers) against no sync at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use archive::config::Config;
use archive::serve::Server;
use archive::sync::engine;
use archive_db::{Backend, Db, SongPatch};
use archive_testkit::tls::TestCertificates;

use super::{Args, Place, fill, open, place, place_config, report};

/// Rounds of the steady-state pull, reported by their median.
const STEADY_ROUNDS: usize = 5;

pub struct SyncArgs {
    pub songs: usize,
    pub edits: usize,
    pub polls: usize,
    pub requests: usize,
    pub backends: Vec<Backend>,
}

pub async fn run(args: &SyncArgs) -> anyhow::Result<()> {
    println!(
        "sync: {} songs on the master; {} edited songs pulled; {} idle polls; {} slave requests per series",
        args.songs, args.edits, args.polls, args.requests
    );
    println!("| master database | measurement | result |");
    println!("|---|---|---|");
    for backend in &args.backends {
        run_master(*backend, args).await?;
    }
    Ok(())
}

async fn run_master(backend: Backend, args: &SyncArgs) -> anyhow::Result<()> {
    let name = backend.name();
    let certificates = TestCertificates::new();
    let master_place = place(backend)?;
    let master_db = open(&master_place).await?;
    let sizes = Args {
        songs: args.songs,
        albums: args.songs / 10,
        artists: args.songs / 20,
        requests: 0,
        backends: vec![],
    };
    let filled = fill(&master_db, &sizes).await?;
    let master = super::start_https_master(&master_place, &master_db, &certificates).await?;
    let key = archive::sync::keys::create(&master_db, "bench", "bench-slave", None, false).await?.secret;

    // A fresh SQLite slave that trusts the run's CA.
    let slave_place = place(Backend::Sqlite)?;
    let slave_db = open(&slave_place).await?;
    let slave_config = place_config(
        &slave_place,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "bench-slave".into()),
            ("SYNC_ENABLED", "false".into()),
            ("MASTER_ARCHIVE_URL", master.base_url()),
            ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
            ("SYNC_OPERATION_TIMEOUT", "300".into()),
        ],
    )?;
    let kek = archive::sync::keys::Kek::load(&slave_config.data_dir, None)?;
    archive::sync::keys::store_on_slave(&slave_db, &kek, &key).await?;

    // 1. Initial sync.
    let started = Instant::now();
    let cycle = engine::run_cycle_now(&slave_db, &slave_config).await?;
    let took = started.elapsed();
    if !cycle.bootstrapped || master_db.sync_digest().await? != slave_db.sync_digest().await? {
        bail!("the initial sync did not leave the slave equal to the master");
    }
    println!(
        "| {name} | initial sync of {} rows ({} songs) to a fresh SQLite slave | {:.1} s ({:.0} rows/s) |",
        filled.rows,
        args.songs,
        took.as_secs_f64(),
        filled.rows as f64 / took.as_secs_f64()
    );

    // 2. Steady state: edit songs on the master, pull them. One pull of
    // 20,000 changes takes under a second, so a moment of the host's noise
    // moves it by a quarter: five rounds, reported by their median. Each
    // round edits songs the rounds before did not, as far as the library
    // allows: songs retitled again carry their earlier entries in the
    // slave's search index, and such rounds ran 10-25% slower.
    let mut rates = Vec::with_capacity(STEADY_ROUNDS);
    for round in 1..=STEADY_ROUNDS {
        let first = ((round - 1) * args.edits) % filled.songs.len().max(1);
        let edited: Vec<_> = filled.songs.iter().cycle().skip(first).take(args.edits).copied().collect();
        edit_songs(&master_db, &edited, round).await?;
        let started = Instant::now();
        let cycle = engine::run_cycle_now(&slave_db, &slave_config).await?;
        let took = started.elapsed();
        if cycle.pulled < args.edits as u64
            || master_db.sync_digest().await? != slave_db.sync_digest().await?
        {
            bail!("the steady-state pull missed changes ({} pulled)", cycle.pulled);
        }
        rates.push(cycle.pulled as f64 / took.as_secs_f64());
    }
    let rounds: Vec<String> = rates.iter().map(|rate| format!("{rate:.0}")).collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "| {name} | steady-state pull and apply of {} changed songs on the SQLite slave | median {:.0} changes/s ({STEADY_ROUNDS} rounds: {}) |",
        args.edits,
        rates[STEADY_ROUNDS / 2],
        rounds.join(", ")
    );

    // 3. Idle polls.
    let rate = idle_polls(&master.base_url(), &certificates, &key, args.polls).await?;
    println!(
        "| {name} | idle polls (\"nothing new\", over HTTPS, 16 connections) served | {rate:.0} polls/s |"
    );
    master.stop().await?;
    master_db.close().await;

    // 4. The slave's API with its master blackholed, against no sync.
    if backend == *args.backends.first().expect("a backend") {
        slave_latency(&slave_place, &slave_db, &slave_config, &kek, &key, args.requests).await?;
    }
    slave_db.close().await;
    Ok(())
}

/// Changes the titles of `songs`, in batches.
/// Gives each song a new title, different in each `round`.
async fn edit_songs(db: &Db, songs: &[uuid::Uuid], round: usize) -> anyhow::Result<()> {
    for chunk in songs.chunks(2_000) {
        let mut tx = db.begin().await?;
        for id in chunk {
            let patch = SongPatch { title: Some(format!("Edited {round} {id}")), ..Default::default() };
            tx.update_song(*id, patch).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// `polls` requests for changes after the head, from 16 concurrent clients.
async fn idle_polls(
    base: &str,
    certificates: &TestCertificates,
    key: &str,
    polls: usize,
) -> anyhow::Result<f64> {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certificates.ca_cert)?)?;
    let client = reqwest::Client::builder().tls_certs_only([ca]).build()?;
    let ping: serde_json::Value =
        client.get(format!("{base}/api/v1/sync/ping")).bearer_auth(key).send().await?.json().await?;
    let head = ping["head"].as_str().context("ping has a head")?.to_owned();
    let url = Arc::new(format!("{base}/api/v1/sync/changes?cursor={head}&limit=1000"));
    let left = Arc::new(AtomicU64::new(polls as u64));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, url, left, key) = (client.clone(), url.clone(), left.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                let response = client.get(url.as_str()).bearer_auth(&key).send().await?;
                if !response.status().is_success() {
                    bail!("poll answered {}", response.status());
                }
                response.bytes().await?;
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(polls as f64 / started.elapsed().as_secs_f64())
}

/// p50/p99 of the slave's first page of songs: served alone, then while
/// sync cycles run back to back against a master that never answers.
async fn slave_latency(
    place: &Place,
    db: &Db,
    slave_config: &Config,
    kek: &archive::sync::keys::Kek,
    key: &str,
    requests: usize,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let slave = Server::start(listener, db.clone(), slave_config.clone()).await?;
    let (_, token) = super::admin_token(db).await?;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/songs?limit=50", slave.base_url());

    // The blackhole: accepts, never reads, never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hole_url = format!("http://{}", hole.local_addr()?);
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = hole.accept().await {
            held.push(stream);
        }
    });
    let hole_config = place_config(
        place,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "bench-slave".into()),
            ("SYNC_ENABLED", "false".into()),
            ("MASTER_ARCHIVE_URL", hole_url),
            ("SYNC_ALLOW_INSECURE", "true".into()),
            ("SYNC_CONNECT_TIMEOUT", "1".into()),
            ("SYNC_READ_TIMEOUT", "1".into()),
        ],
    )?;
    archive::sync::keys::store_on_slave(db, kek, key).await?;
    // Cycles run against the blackhole only while `syncing` is set.
    let (syncing, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let cycles = {
        let (db, syncing, stop) = (db.clone(), syncing.clone(), stop.clone());
        tokio::spawn(async move {
            let mut failures = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if !syncing.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                } else if engine::run_cycle_now(&db, &hole_config).await.is_err() {
                    failures += 1;
                }
            }
            failures
        })
    };
    // Alternating rounds, so that warming caches and background noise fall
    // on both series alike.
    const ROUNDS: usize = 5;
    let (mut alone, mut during) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        syncing.store(false, Ordering::Relaxed);
        alone.extend(measure(&client, &url, &token, requests / ROUNDS).await?);
        syncing.store(true, Ordering::Relaxed);
        during.extend(measure(&client, &url, &token, requests / ROUNDS).await?);
    }
    stop.store(true, Ordering::Relaxed);
    let failures = cycles.await?;
    holding.abort();
    report("sqlite slave", "GET /songs, no sync running", &mut alone);
    report("sqlite slave", "GET /songs, sync cycles failing against a blackholed master", &mut during);
    let p99 = |times: &[Duration]| times[((times.len() as f64 - 1.0) * 0.99).round() as usize];
    println!(
        "| sqlite slave | p99 with the master blackholed / p99 without sync ({failures} failed cycles) | {:.2} |",
        p99(&during).as_secs_f64() / p99(&alone).as_secs_f64()
    );
    slave.stop().await?;
    Ok(())
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let t = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await?;
        let status = response.status();
        response.bytes().await?;
        if !status.is_success() {
            bail!("GET {url}: {status}");
        }
        if i >= n / 10 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    Ok(times)
}
