//! `archive-bench live`: live sync, a master and slaves on SQLite over HTTPS
//! on loopback (certificates from a CA made for the run):
//!
//! - a change on the master, until a slave following live has it: single-row
//!   changes spaced at random, each timed on its own;
//! - a change on one slave, until a second slave has it through the master
//!   (pushed after the slave's debounce, then pulled live);
//! - a master in its own `archive serve` process holding thousands of
//!   long-polls at once (one slave key each): its memory before and while
//!   they are held, its CPU while nothing changes, and how long one change
//!   takes to reach every held request.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use archive::serve::Server;
use archive::sync::keys;
use archive_db::{Backend, Db, SongPatch};
use archive_testkit::tls::TestCertificates;
use uuid::Uuid;

use super::{Args, Place, fill, open, place, place_config, report, start_https_master};

pub struct LiveArgs {
    /// Changes made on the master, one at a time.
    pub changes: usize,
    /// Changes made on a slave, relayed to the second slave.
    pub relayed: usize,
    /// Simulated slaves holding a long-poll at once.
    pub clients: usize,
}

pub async fn run(args: &LiveArgs) -> anyhow::Result<()> {
    println!("| master database | measurement | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    if args.changes > 0 || args.relayed > 0 {
        propagation(args).await?;
    }
    if args.clients > 0 {
        held_polls(args.clients).await?;
    }
    Ok(())
}

/// The longest a change may take to arrive before the bench gives up.
const ARRIVAL_LIMIT: Duration = Duration::from_secs(30);

/// A small library: what is measured is the way a change travels.
fn small_library() -> Args {
    Args { songs: 1_000, albums: 100, artists: 50, requests: 0, backends: vec![] }
}

async fn propagation(args: &LiveArgs) -> anyhow::Result<()> {
    let certificates = TestCertificates::new();
    let master_place = place(Backend::Sqlite)?;
    let master_db = open(&master_place).await?;
    let songs = fill(&master_db, &small_library()).await?.songs;
    let master = start_https_master(&master_place, &master_db, &certificates).await?;
    let first = LiveSlave::start(&master, &master_db, &certificates, "live-first").await?;
    let second = LiveSlave::start(&master, &master_db, &certificates, "live-second").await?;

    // Both slaves bootstrap, then follow live.
    set_title(&master_db, songs[0], "Warm-up").await?;
    for slave in [&first, &second] {
        arrival(&slave.db, songs[0], "Warm-up", Duration::from_secs(120)).await?;
    }

    let mut times = Vec::with_capacity(args.changes);
    for i in 0..args.changes {
        let (id, title) = (songs[i % songs.len()], format!("Live {i}"));
        let started = Instant::now();
        set_title(&master_db, id, &title).await?;
        arrival(&first.db, id, &title, ARRIVAL_LIMIT).await?;
        times.push(started.elapsed());
        tokio::time::sleep(random_gap(i)).await;
    }
    report(
        "sqlite",
        &format!("{} changes on the master, each until a live slave has it", args.changes),
        &mut times,
    );

    let mut times = Vec::with_capacity(args.relayed);
    for i in 0..args.relayed {
        let (id, title) = (songs[(i * 7 + 1) % songs.len()], format!("Relayed {i}"));
        let started = Instant::now();
        set_title(&first.db, id, &title).await?;
        arrival(&second.db, id, &title, ARRIVAL_LIMIT).await?;
        times.push(started.elapsed());
        tokio::time::sleep(random_gap(i)).await;
    }
    report(
        "sqlite",
        &format!("{} changes on a slave, each until a second live slave has it", args.relayed),
        &mut times,
    );
    first.server.stop().await?;
    second.server.stop().await?;
    master.stop().await?;
    Ok(())
}

/// A slave server following `master` live, with the interval at its
/// longest so that only live following can bring a change in time.
struct LiveSlave {
    server: Server,
    db: Db,
    _place: Place,
}

impl LiveSlave {
    async fn start(
        master: &Server,
        master_db: &Db,
        certificates: &TestCertificates,
        node: &str,
    ) -> anyhow::Result<LiveSlave> {
        let place = place(Backend::Sqlite)?;
        let db = open(&place).await?;
        let key = keys::create(master_db, node, node, None, false).await?.secret;
        let config = place_config(
            &place,
            &[
                ("ARCHIVE_ROLE", "slave".into()),
                ("ARCHIVE_NODE_ID", node.to_owned()),
                ("SYNC_ENABLED", "true".into()),
                ("SYNC_LIVE", "true".into()),
                ("SYNC_INTERVAL", "3600".into()),
                ("MASTER_ARCHIVE_URL", master.base_url()),
                ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
            ],
        )?;
        let kek = keys::Kek::load(&config.data_dir, None)?;
        keys::store_on_slave(&db, &kek, &key).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server = Server::start(listener, db.clone(), config).await?;
        Ok(LiveSlave { server, db, _place: place })
    }
}

async fn set_title(db: &Db, id: Uuid, title: &str) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    tx.update_song(id, SongPatch { title: Some(title.to_owned()), ..Default::default() }).await?;
    tx.commit().await?;
    Ok(())
}

/// Waits until `db` has `title` on song `id`, looking every millisecond.
async fn arrival(db: &Db, id: Uuid, title: &str, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if db.song(id).await?.is_some_and(|song| song.title == title) {
            return Ok(());
        }
        if started.elapsed() > limit {
            bail!("\"{title}\" did not arrive within {} s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// 0 to 100 ms, spread evenly and the same on every run.
fn random_gap(i: usize) -> Duration {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    Duration::from_millis(x % 101)
}

/// A master in its own process, holding `clients` long-polls at once.
async fn held_polls(clients: usize) -> anyhow::Result<()> {
    let certificates = TestCertificates::new();
    let place = place(Backend::Sqlite)?;
    let db = open(&place).await?;
    let song = fill(&db, &Args { songs: 100, albums: 10, artists: 5, requests: 0, backends: vec![] })
        .await?
        .songs[0];
    let (_, token) = super::admin_token(&db).await?;
    let mut slave_keys = Vec::with_capacity(clients);
    for i in 0..clients {
        let node = format!("simulated-{i:05}");
        slave_keys.push(keys::create(&db, &node, &node, None, true).await?.secret);
    }
    db.close().await;

    let master = MasterProcess::start(&place, &certificates, clients)?;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certificates.ca_cert)?)?;
    // One connection per request, as from separate slaves.
    let client = reqwest::Client::builder().tls_certs_only([ca]).http1_only().build()?;
    let base = master.base.clone();
    master.wait_until_up(&client).await?;
    let ping: serde_json::Value = client
        .get(format!("{base}/api/v1/sync/ping"))
        .bearer_auth(&slave_keys[0])
        .send()
        .await?
        .json()
        .await?;
    let head = ping["head"].as_str().context("ping has a head")?.to_owned();
    let memory_before = master.resident_bytes()?;

    let url = Arc::new(format!("{base}/api/v1/sync/changes?cursor={head}&wait=25"));
    // Slaves arrive in waves (a burst of thousands of connections at once
    // would overflow the listen queue, which no real fleet does).
    let mut polls = tokio::task::JoinSet::new();
    for wave in slave_keys.chunks(250) {
        for key in wave {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            polls.spawn(async move { poll_until_changed(&client, &url, &key).await });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held_by = Instant::now();
    master.wait_until_held(&client, &token, clients).await?;
    let ramp = held_by.elapsed();
    // The arrivals settle (their visits are written within a second), then nothing happens.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let memory_held = master.resident_bytes()?;
    let cpu = master.cpu_share_over(Duration::from_secs(3)).await?;

    let changed = Instant::now();
    let response = client
        .patch(format!("{base}/api/v1/songs/{song}"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "title": "Changed while held" }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("changing the song answered {}", response.status());
    }
    let mut times = Vec::with_capacity(clients);
    while let Some(arrived) = polls.join_next().await {
        times.push(arrived??.duration_since(changed));
    }
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "| sqlite | {clients} long-polls held (all held {:.1} s after the first was sent): master's memory | {:.0} MiB before, {:.0} MiB held (+{:.0} MiB) | | | |",
        ramp.as_secs_f64(),
        mib(memory_before),
        mib(memory_held),
        mib(memory_held.saturating_sub(memory_before))
    );
    println!(
        "| sqlite | {clients} long-polls held, nothing changing: master's CPU over 3 s, from 5 s after all were held | {:.1}% of one core | | | |",
        cpu * 100.0
    );
    report("sqlite", &format!("one change, until each of the {clients} held long-polls has it"), &mut times);
    Ok(())
}

/// Long-polls until a page with rows comes; when the wait ends empty, asks again.
async fn poll_until_changed(client: &reqwest::Client, url: &str, key: &str) -> anyhow::Result<Instant> {
    loop {
        let response = client.get(url).bearer_auth(key).send().await?;
        if !response.status().is_success() {
            bail!("a long-poll answered {}", response.status());
        }
        let page: serde_json::Value = response.json().await?;
        if page["rows"].as_array().is_some_and(|rows| !rows.is_empty()) {
            return Ok(Instant::now());
        }
    }
}

/// `archive serve` as a master, in a process of its own so that its memory
/// and CPU are its own.
struct MasterProcess {
    child: Child,
    base: String,
}

impl MasterProcess {
    fn start(
        place: &Place,
        certificates: &TestCertificates,
        clients: usize,
    ) -> anyhow::Result<MasterProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let bin: &Path = &super::archive_binary()?;
        let child = Command::new(bin)
            .arg("--data-dir")
            .arg(&place.data_dir)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("ARCHIVE_ROLE", "master")
            .env("ARCHIVE_NODE_ID", "main")
            .env("ARCHIVE_TLS_CERT", &certificates.server_cert)
            .env("ARCHIVE_TLS_KEY", &certificates.server_key)
            .env("SYNC_MAX_LIVE_POLLS", (clients + 100).to_string())
            .env("ARCHIVE_MAX_CONNECTIONS", (clients + 200).to_string())
            .env("ARCHIVE_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(MasterProcess { child, base: format!("https://127.0.0.1:{port}") })
    }

    async fn wait_until_up(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = client.get(format!("{}/api/v1/health", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("the master did not answer within 30 s")
    }

    /// Waits until the master says it holds `count` long-polls.
    async fn wait_until_held(
        &self,
        client: &reqwest::Client,
        token: &str,
        count: usize,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut held = 0;
        while started.elapsed() < Duration::from_secs(60) {
            // While thousands of connections are being set up, a look may fail; the next one counts.
            let status = client.get(format!("{}/api/v1/sync/status", self.base)).bearer_auth(token).send();
            if let Ok(response) = status.await
                && let Ok(status) = response.json::<serde_json::Value>().await
            {
                held = status["live"]["polls_held"].as_u64().unwrap_or(0) as usize;
                if held >= count {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the master held {held} long-polls after 60 s, not {count} (is `ulimit -n` high enough?)")
    }

    fn resident_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
        let kib: u64 = line.split_whitespace().nth(1).context("VmRSS value")?.parse()?;
        Ok(kib * 1024)
    }

    /// The share of one core the master used over `span` (user and system
    /// time from /proc, in the kernel's 100 ticks per second).
    async fn cpu_share_over(&self, span: Duration) -> anyhow::Result<f64> {
        let ticks = || -> anyhow::Result<u64> {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
            let after_name = &stat[stat.rfind(')').context("stat")? + 2..];
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
        };
        let before = ticks()?;
        tokio::time::sleep(span).await;
        Ok((ticks()? - before) as f64 / 100.0 / span.as_secs_f64())
    }
}

impl Drop for MasterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
