//! `archive-bench media`: import, re-import, search and streaming on a
//! generated library of real (tiny) tagged MP3 files.
//!
//! The import runs the real `archive import` binary as a child process, so
//! its time includes start-up and migrations and its peak memory (the kernel's
//! high-water mark of resident memory) is the whole program's. Search and streaming
//! are measured over HTTP on loopback against a server on the imported
//! database, like the API benchmark.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use archive_db::{Backend, Db};

use crate::library::{self, mix};
use crate::{Place, Running, archive_binary, place, report, start_server, start_server_with};

pub struct MediaArgs {
    pub files: usize,
    pub requests: usize,
    pub backends: Vec<Backend>,
    /// Where to keep the generated library (kept between runs); a temporary
    /// folder otherwise.
    pub library: Option<PathBuf>,
    /// Files the size of real songs (a few hundred is realistic) instead of tiny ones.
    pub realistic: bool,
}

pub async fn run(args: &MediaArgs) -> anyhow::Result<()> {
    let temp;
    let (template, kind) = match args.realistic {
        true => (library::Template::Realistic, "realistic"),
        false => (library::Template::Tiny, "library"),
    };
    let root = match &args.library {
        Some(dir) => dir.join(format!("{kind}-{}", args.files)),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("library")
        }
    };
    if !root.join(".complete").exists() {
        let started = Instant::now();
        library::generate(&root, args.files, template)?;
        std::fs::write(root.join(".complete"), b"")?;
        eprintln!("generated {} files in {:.1} s", args.files, started.elapsed().as_secs_f64());
    }
    // A warm page cache, as the goal says: read every file once.
    let warmed = walk_and_read(&root)?;
    eprintln!("library: {} files, {:.1} MB", args.files, warmed as f64 / 1e6);
    println!("| database | measurement | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for backend in &args.backends {
        run_backend(*backend, &root, args).await?;
    }
    Ok(())
}

fn walk_and_read(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            total += walk_and_read(&entry.path())?;
        } else {
            total += std::fs::read(entry.path())?.len() as u64;
        }
    }
    Ok(total)
}

async fn run_backend(backend: Backend, root: &Path, args: &MediaArgs) -> anyhow::Result<()> {
    let name = backend.name();
    let place = place(backend)?;
    let bin = archive_binary()?;
    let files = args.files;

    let first = import(&bin, &place, root)?;
    println!(
        "| {name} | import {files} files (`archive import`, fresh database) | {:.1} s, **{:.0} files/s**, peak memory {:.0} MB | | | |",
        first.elapsed.as_secs_f64(),
        files as f64 / first.elapsed.as_secs_f64(),
        first.peak_rss_bytes as f64 / 1e6
    );
    let again = import(&bin, &place, root)?;
    println!(
        "| {name} | re-import {files} unchanged files | **{:.2} s**, peak memory {:.0} MB | | | |",
        again.elapsed.as_secs_f64(),
        again.peak_rss_bytes as f64 / 1e6
    );

    let db = Db::connect(&place.options).await?;
    let songs = db.songs(&Default::default(), &Default::default()).await?;
    if songs.items.is_empty() {
        bail!("the import wrote no songs");
    }
    println!("| {name} | database size after import | {:.1} MB | | | |", db.size_bytes().await? as f64 / 1e6);

    let Running { server, base, client, token, .. } = start_server(&db, &place).await?;

    search(&client, &base, &token, name, files, args.requests).await?;
    stream(&client, &base, &token, &db, name, args.requests).await?;
    server.stop().await?;

    changes_while_serving(&db, &place, root, name).await?;
    db.close().await;
    Ok(())
}

/// How long a file copied into a watched library folder takes to answer in
/// search, while the server serves: ten files, one after the other.
async fn changes_while_serving(db: &Db, place: &Place, root: &Path, name: &str) -> anyhow::Result<()> {
    const FILES: usize = 10;
    let root = std::fs::canonicalize(root)?;
    let settings = [("ARCHIVE_LIBRARY_ROOTS", root.display().to_string()), ("ARCHIVE_WATCH", "true".into())];
    let Running { server, base, client, token, .. } = start_server_with(db, place, &settings).await?;
    let template = first_file(&root)?;
    let staging = tempfile::tempdir()?;
    let dropped = root.join(format!("Dropped in {name}"));
    std::fs::create_dir_all(&dropped)?;
    let mut times = Vec::new();
    for i in 0..FILES {
        // A new song: the template under a title no other song has.
        let word = format!("Freshly{}{i}", std::process::id());
        let staged = staging.path().join(format!("{word}.mp3"));
        std::fs::copy(&template, &staged)?;
        library::retitle(&staged, &format!("{word} Arrives"))?;
        let copied = Instant::now();
        std::fs::rename(&staged, dropped.join(format!("{word}.mp3")))?;
        let deadline = copied + Duration::from_secs(60);
        loop {
            let url = format!("{base}/api/v1/search?q={word}&type=song");
            let found: serde_json::Value = client.get(url).bearer_auth(&token).send().await?.json().await?;
            if found["songs"]["items"].as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            if Instant::now() > deadline {
                bail!("{word} never answered in search");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        times.push(copied.elapsed());
    }
    std::fs::remove_dir_all(&dropped)?;
    server.stop().await?;
    report(name, "a file copied into a watched folder, until search finds it", &mut times);
    Ok(())
}

/// The first audio file under `dir`, in name order.
fn first_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_type()?.is_dir() {
            if let Ok(found) = first_file(&entry.path()) {
                return Ok(found);
            }
        } else if entry.path().extension().is_some_and(|e| e == "mp3") {
            return Ok(entry.path());
        }
    }
    bail!("no MP3 under {}", dir.display())
}

struct ImportRun {
    elapsed: Duration,
    peak_rss_bytes: u64,
}

/// Runs `archive import root` and measures its time and peak memory.
fn import(bin: &Path, place: &Place, root: &Path) -> anyhow::Result<ImportRun> {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir").arg(&place.data_dir).arg("import").arg(root);
    if let Some(url) = &place.options.database_url {
        cmd.env("DATABASE_URL", url);
    }
    let started = Instant::now();
    let child = cmd
        .env("ARCHIVE_LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting archive import")?;
    let (status, peak_rss_bytes) = wait_with_peak_memory(child)?;
    let elapsed = started.elapsed();
    if !status {
        bail!("archive import failed");
    }
    Ok(ImportRun { elapsed, peak_rss_bytes })
}

/// Waits for a child and returns whether it succeeded and its peak resident
/// memory: the kernel's high-water mark (`VmHWM`), read every 10 ms while it
/// runs (the last reading before it exits).
fn wait_with_peak_memory(mut child: std::process::Child) -> anyhow::Result<(bool, u64)> {
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status.success(), peak));
        }
        if Instant::now() > deadline {
            child.kill()?;
            bail!("archive import ran for more than an hour");
        }
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Search as one types: the first letters of a word of some song's title,
/// then a whole word and the start of the next, over songs, artists and albums.
async fn search(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    files: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let title_of = move |i: usize| library::file_tags(mix(i as u64, 99) as usize % files).title;
    type QueryFor = Box<dyn Fn(usize) -> String>;
    let typed = move |letters: usize| -> QueryFor {
        Box::new(move |i| title_of(i).chars().take(letters).collect::<String>())
    };
    let cases: Vec<(&str, QueryFor)> = vec![
        ("GET /search (1 letter typed)", typed(1)),
        ("GET /search (2 letters typed)", typed(2)),
        ("GET /search (3 letters typed)", typed(3)),
        (
            "GET /search (a word and the start of the next)",
            Box::new(move |i| {
                let title = title_of(i);
                let mut words = title.split(' ');
                let first = words.next().unwrap_or_default().to_owned();
                let second: String = words.next().unwrap_or_default().chars().take(4).collect();
                format!("{first} {second}")
            }),
        ),
        (
            "GET /search (a whole title, lower case, no accents)",
            Box::new(move |i| title_of(i).to_lowercase().replace('é', "e")),
        ),
    ];
    for (label, query) in cases {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + requests / 10 {
            let q = query(i);
            let url = format!("{base}/api/v1/search?q={}&limit=20", q.replace(' ', "%20"));
            let started = Instant::now();
            let resp = client.get(url).bearer_auth(token).send().await?;
            let status = resp.status();
            let body: serde_json::Value = resp.json().await?;
            let elapsed = started.elapsed();
            if !status.is_success() {
                bail!("{label}: {status} {body}");
            }
            if body["songs"]["items"].as_array().is_none_or(|a| a.is_empty()) {
                bail!("{label}: {q:?} found no song");
            }
            if i >= requests / 10 {
                times.push(elapsed);
            }
        }
        report(name, label, &mut times);
    }
    let two_letters: String = title_of(0).chars().take(2).collect();
    concurrent_search(client, base, token, name, &two_letters, requests).await
}

/// 64 clients searching the same short prefix at once, `requests` each at
/// most (and for 20 s at most): answers per second, and their latencies.
async fn concurrent_search(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    query: &str,
    requests: usize,
) -> anyhow::Result<()> {
    const CLIENTS: usize = 64;
    let url = format!("{base}/api/v1/search?q={query}&limit=20");
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (client, url, token) = (client.clone(), url.clone(), token.to_owned());
        clients.spawn(async move {
            let mut times = Vec::new();
            for _ in 0..requests.max(1) {
                if Instant::now() > deadline {
                    break;
                }
                let asked = Instant::now();
                let resp = client.get(&url).bearer_auth(&token).send().await?;
                if !resp.status().is_success() {
                    bail!("concurrent search: {}", resp.status());
                }
                resp.bytes().await?;
                times.push(asked.elapsed());
            }
            anyhow::Ok(times)
        });
    }
    let mut times = Vec::new();
    while let Some(done) = clients.join_next().await {
        times.extend(done??);
    }
    let rate = times.len() as f64 / started.elapsed().as_secs_f64();
    let label = format!("GET /search?q={query} by {CLIENTS} clients at once: **{rate:.0} answers/s**");
    report(name, &label, &mut times);
    Ok(())
}

/// Time to the first byte of a stream, from the start and from the middle.
async fn stream(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    db: &Db,
    name: &str,
    requests: usize,
) -> anyhow::Result<()> {
    let page = archive_db::PageRequest { limit: Some(500), ..Default::default() };
    let songs = db.songs(&Default::default(), &page).await?.items;
    for (label, range) in [
        ("GET /stream (first byte)", None),
        ("GET /stream with Range from the middle (first byte)", Some(())),
    ] {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + requests / 10 {
            let song = &songs[mix(i as u64, 7) as usize % songs.len()];
            let mut req = client.get(format!("{base}/api/v1/songs/{}/stream", song.id)).bearer_auth(token);
            if range.is_some() {
                let middle = song.file_size.unwrap_or(0) / 2;
                req = req.header("range", format!("bytes={middle}-"));
            }
            let started = Instant::now();
            let mut resp = req.send().await?;
            let status = resp.status();
            let first = resp.chunk().await?;
            let elapsed = started.elapsed();
            if !status.is_success() || first.is_none() {
                bail!("{label}: {status}");
            }
            while resp.chunk().await?.is_some() {}
            if i >= requests / 10 {
                times.push(elapsed);
            }
        }
        report(name, label, &mut times);
    }
    Ok(())
}
