//! `archive-bench`: Archive's benchmarks, on SQLite and on PostgreSQL.
//!
//! - `archive-bench [api]` fills a database with a large library and measures
//!   the API and the web pages over real HTTP on loopback.
//! - `archive-bench media` generates a library of real tagged audio files and
//!   measures import, re-import, search and streaming (see `media.rs`).
//! - `archive-bench sync` measures sync between a master serving HTTPS and
//!   a SQLite slave (see `sync.rs`).
//! - `archive-bench live` measures live sync: how fast a change travels, and
//!   a master holding thousands of long-polls (see `live.rs`).
//!
//! Run it from a release build (see docs/PERFORMANCE.md):
//!
//! ```text
//! cargo build --release
//! target/release/archive-bench [api] [--songs N] [--albums N] [--artists N] [--requests N] [--backend sqlite|postgres|both]
//! target/release/archive-bench media [--files N] [--requests N] [--library DIR] [--backend sqlite|postgres|both]
//! target/release/archive-bench files [--files N] [--large N] [--plays N]
//! target/release/archive-bench subsonic [--songs N] [--requests N] [--backend sqlite|postgres|both]
//! target/release/archive-bench sync [--songs N] [--edits N] [--polls N] [--requests N] [--backend sqlite|postgres|both]
//! target/release/archive-bench live [--changes N] [--relayed N] [--clients N]
//! ```
//!
//! It prints one Markdown table row per measurement.

mod files;
mod library;
mod live;
mod media;
mod subsonic;
mod sync;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The allocator the `archive` binary runs with (see its `main.rs`), so
/// that the servers this process runs itself (`api`, `subsonic`, `sync`)
/// measure what a deployment runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use archive::config::Config;
use archive::serve::Server;
use archive_db::{
    Backend, Db, DbOptions, NewAlbum, NewArtist, NewGenre, NewPlaylist, NewSong, NewUser, Role,
};
use uuid::Uuid;

pub(crate) struct Args {
    songs: usize,
    albums: usize,
    artists: usize,
    requests: usize,
    backends: Vec<Backend>,
}

fn parse_backends(value: &str) -> anyhow::Result<Vec<Backend>> {
    Ok(match value {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => bail!("--backend must be sqlite, postgres or both, not {other}"),
    })
}

const USAGE: &str = "archive-bench [api] [--songs N] [--albums N] [--artists N] [--requests N] [--backend sqlite|postgres|both]
archive-bench media [--files N] [--realistic] [--requests N] [--library DIR] [--backend sqlite|postgres|both]
archive-bench files [--files N] [--large N] [--plays N] (small and 30 MB files mirrored by a slave over HTTPS, and plays streamed through, SQLite)
archive-bench subsonic [--songs N] [--albums N] [--artists N] [--requests N] [--backend sqlite|postgres|both] (the Subsonic API over a filled library)
archive-bench sync [--songs N] [--edits N] [--polls N] [--requests N] [--backend sqlite|postgres|both] (the master's database)
archive-bench live [--changes N] [--relayed N] [--clients N] (live sync on SQLite: propagation, and a master holding N long-polls; raise `ulimit -n` above 2N+100)";

fn parse_media_args(mut it: impl Iterator<Item = String>) -> anyhow::Result<media::MediaArgs> {
    let mut args = media::MediaArgs {
        files: 20_000,
        requests: 1_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        library: None,
        realistic: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--files" => args.files = value()?.parse()?,
            "--requests" => args.requests = value()?.parse()?,
            "--library" => args.library = Some(PathBuf::from(value()?)),
            "--realistic" => args.realistic = true,
            "--backend" => args.backends = parse_backends(&value()?)?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn parse_files_args(mut it: impl Iterator<Item = String>) -> anyhow::Result<files::FilesArgs> {
    let mut args = files::FilesArgs { files: 10_000, large: 34, plays: 200 };
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--files" => args.files = value()?.parse()?,
            "--large" => args.large = value()?.parse()?,
            "--plays" => args.plays = value()?.parse()?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn parse_live_args(mut it: impl Iterator<Item = String>) -> anyhow::Result<live::LiveArgs> {
    let mut args = live::LiveArgs { changes: 1_000, relayed: 100, clients: 5_000 };
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--changes" => args.changes = value()?.parse()?,
            "--relayed" => args.relayed = value()?.parse()?,
            "--clients" => args.clients = value()?.parse()?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn parse_sync_args(mut it: impl Iterator<Item = String>) -> anyhow::Result<sync::SyncArgs> {
    let mut args = sync::SyncArgs {
        songs: 100_000,
        edits: 20_000,
        polls: 20_000,
        requests: 2_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--songs" => args.songs = value()?.parse()?,
            "--edits" => args.edits = value()?.parse()?,
            "--polls" => args.polls = value()?.parse()?,
            "--requests" => args.requests = value()?.parse()?,
            "--backend" => args.backends = parse_backends(&value()?)?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if args.edits > args.songs {
        bail!("--edits cannot exceed --songs");
    }
    Ok(args)
}

pub(crate) fn parse_args(mut it: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut args = Args {
        songs: 100_000,
        albums: 10_000,
        artists: 5_000,
        requests: 1_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--songs" => args.songs = value()?.parse()?,
            "--albums" => args.albums = value()?.parse()?,
            "--artists" => args.artists = value()?.parse()?,
            "--requests" => args.requests = value()?.parse()?,
            "--backend" => args.backends = parse_backends(&value()?)?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    archive::sync::install_crypto_provider();
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        Some("media") => {
            argv.next();
            return media::run(&parse_media_args(argv)?).await;
        }
        Some("sync") => {
            argv.next();
            return sync::run(&parse_sync_args(argv)?).await;
        }
        Some("live") => {
            argv.next();
            return live::run(&parse_live_args(argv)?).await;
        }
        Some("files") => {
            argv.next();
            return files::run(&parse_files_args(argv)?).await;
        }
        Some("subsonic") => {
            argv.next();
            return subsonic::run(&parse_args(argv)?).await;
        }
        Some("api") => {
            argv.next();
        }
        _ => {}
    }
    let args = parse_args(argv)?;
    println!(
        "library: {} songs, {} albums, {} artists; {} requests per endpoint",
        args.songs, args.albums, args.artists, args.requests
    );
    println!("| database | measurement | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for backend in &args.backends {
        run_backend(*backend, &args).await?;
    }
    Ok(())
}

/// A server on a benchmark's database, a client, and an admin's token.
pub(crate) struct Running {
    server: Server,
    base: String,
    client: reqwest::Client,
    token: String,
    /// The admin the token belongs to.
    user_id: Uuid,
}

/// The configuration of a server on `place`, with `settings` on top.
fn place_config(place: &Place, settings: &[(&'static str, String)]) -> anyhow::Result<Config> {
    let mut flags = BTreeMap::new();
    flags.insert("ARCHIVE_DATA_DIR", place.data_dir.display().to_string());
    if let Some(url) = &place.options.database_url {
        flags.insert("DATABASE_URL", url.clone());
    }
    for (var, value) in settings {
        flags.insert(*var, value.clone());
    }
    Ok(Config::load(&flags, &BTreeMap::new())?)
}

pub(crate) async fn start_server(db: &Db, place: &Place) -> anyhow::Result<Running> {
    start_server_with(db, place, &[]).await
}

async fn start_server_with(
    db: &Db,
    place: &Place,
    settings: &[(&'static str, String)],
) -> anyhow::Result<Running> {
    let config = place_config(place, settings)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = Server::start(listener, db.clone(), config).await?;
    let base = format!("http://{}", server.addr);
    let (user_id, token) = admin_token(db).await?;
    Ok(Running { server, base, client: reqwest::Client::new(), token, user_id })
}

/// Where the database of one run lives.
pub(crate) struct Place {
    options: DbOptions,
    data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

/// A migrated database at `place`.
pub(crate) async fn open(place: &Place) -> anyhow::Result<Db> {
    let db = Db::connect(&place.options).await?;
    db.migrate().await?;
    Ok(db)
}

/// A master serving HTTPS on loopback with the run's certificates.
pub(crate) async fn start_https_master(
    place: &Place,
    db: &Db,
    certificates: &archive_testkit::tls::TestCertificates,
) -> anyhow::Result<Server> {
    let config = place_config(
        place,
        &[
            ("ARCHIVE_ROLE", "master".into()),
            ("ARCHIVE_NODE_ID", "main".into()),
            ("ARCHIVE_WATCH", "false".into()),
            ("ARCHIVE_TLS_CERT", certificates.server_cert.display().to_string()),
            ("ARCHIVE_TLS_KEY", certificates.server_key.display().to_string()),
        ],
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Server::start(listener, db.clone(), config).await
}

pub(crate) fn place(backend: Backend) -> anyhow::Result<Place> {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            Some(archive_testkit::postgres_database(false).context("PostgreSQL is not available here")?)
        }
    };
    let options = DbOptions::new(database_url, &data_dir, 8);
    Ok(Place { options, data_dir, _dir: dir })
}

async fn run_backend(backend: Backend, args: &Args) -> anyhow::Result<()> {
    let place = place(backend)?;
    let db = Db::connect(&place.options).await?;
    db.migrate().await?;
    let started = Instant::now();
    let fill = fill(&db, args).await?;
    let name = backend.name();
    eprintln!("{name}: filled in {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "| {name} | fill ({} rows, one change each) | {:.1} s total | | | |",
        fill.rows,
        started.elapsed().as_secs_f64()
    );

    let Running { server, base, client, token, user_id } = start_server(&db, &place).await?;
    let playlist = listening_data(&db, user_id, &fill.songs).await?;

    // Cursors spread through the song list, to measure deep pages too.
    let mut cursors = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let url = match &next {
            Some(c) => format!("{base}/api/v1/songs?limit=500&cursor={c}"),
            None => format!("{base}/api/v1/songs?limit=500"),
        };
        let body: serde_json::Value = client.get(url).bearer_auth(&token).send().await?.json().await?;
        match body["next_cursor"].as_str() {
            Some(c) => {
                cursors.push(c.to_owned());
                next = Some(c.to_owned());
            }
            None => break,
        }
    }

    // Cursors of the songs page sorted by title, descending.
    let cookie = format!("archive_session={token}");
    let mut title_cursors = Vec::new();
    let mut page = client.get(format!("{base}/?sort=-title")).header(reqwest::header::COOKIE, &cookie);
    for _ in 0..20 {
        let html = page.send().await?.text().await?;
        let Some(at) = html.find("cursor=") else { break };
        let cursor = &html[at + "cursor=".len()..];
        let cursor = cursor[..cursor.find('"').unwrap_or(cursor.len())].to_owned();
        page = client
            .get(format!("{base}/?sort=-title&cursor={cursor}"))
            .header(reqwest::header::COOKIE, &cookie);
        title_cursors.push(cursor);
    }

    let n = args.requests;
    let pick = |i: usize, len: usize| (i.wrapping_mul(7919)) % len.max(1);
    let cases: Vec<(&str, PathFor)> = vec![
        ("GET /songs (first page of 50)", Box::new(|_| "/api/v1/songs?limit=50".into())),
        (
            "GET /songs (page of 50 at a cursor anywhere in the list)",
            Box::new(|i| format!("/api/v1/songs?limit=50&cursor={}", cursors[pick(i, cursors.len())])),
        ),
        ("GET /songs?offset=5000 (offset page)", Box::new(|_| "/api/v1/songs?limit=50&offset=5000".into())),
        (
            "GET /songs?artist_id= (one artist's songs)",
            Box::new(|i| {
                format!("/api/v1/songs?limit=50&artist_id={}", fill.artists[pick(i, fill.artists.len())])
            }),
        ),
        ("GET /artists (first page of 50)", Box::new(|_| "/api/v1/artists?limit=50".into())),
        ("GET /albums (first page of 50)", Box::new(|_| "/api/v1/albums?limit=50".into())),
        ("GET /genres (first page of 50)", Box::new(|_| "/api/v1/genres?limit=50".into())),
        (
            "GET /albums/{id} (album with its songs)",
            Box::new(|i| format!("/api/v1/albums/{}", fill.albums[pick(i, fill.albums.len())])),
        ),
    ];
    // The web pages, with the same token as the browser's session cookie.
    let pages: Vec<(&str, PathFor)> = vec![
        ("page / (songs, the home page)", Box::new(|_| "/".into())),
        (
            "page /?q= (instant search, a whole title)",
            Box::new(|i| format!("/?q=Song%20{:06}", pick(i, 100_000))),
        ),
        ("page /artists", Box::new(|_| "/artists".into())),
        (
            "page /artists/{id}",
            Box::new(|i| format!("/artists/{}", fill.artists[pick(i, fill.artists.len())])),
        ),
        ("page /albums", Box::new(|_| "/albums".into())),
        ("page /albums/{id}", Box::new(|i| format!("/albums/{}", fill.albums[pick(i, fill.albums.len())]))),
        ("page /genres", Box::new(|_| "/genres".into())),
        ("page /?sort=-created_at (newest first)", Box::new(|_| "/?sort=-created_at".into())),
        (
            "page /?genre=&year= (one genre's songs of a year)",
            Box::new(|i| {
                format!("/?genre={}&year={}", fill.genres[pick(i, fill.genres.len())], 1950 + pick(i, 70))
            }),
        ),
        (
            "page /?sort=-title&cursor= (a later page, sorted)",
            Box::new(|i| format!("/?sort=-title&cursor={}", title_cursors[pick(i, title_cursors.len())])),
        ),
        (
            "page /songs/{id} (a song's page)",
            Box::new(|i| format!("/songs/{}", fill.songs[pick(i, fill.songs.len())])),
        ),
        (
            "page /albums?year= (one year's albums)",
            Box::new(|i| format!("/albums?year={}", 1950 + pick(i, 70))),
        ),
        ("page /favourites (200 favourites)", Box::new(|_| "/favourites".into())),
        ("page /recent (1,000 plays)", Box::new(|_| "/recent".into())),
        ("page /most-played", Box::new(|_| "/most-played".into())),
        ("page /playlists", Box::new(|_| "/playlists".into())),
        ("page /playlists/{id} (first 100 of 500 songs)", Box::new(|_| format!("/playlists/{playlist}"))),
        (
            "page /playlists/picker?song=",
            Box::new(|i| format!("/playlists/picker?song={}", fill.songs[pick(i, fill.songs.len())])),
        ),
        ("page /upload", Box::new(|_| "/upload".into())),
        ("page /imports", Box::new(|_| "/imports".into())),
        ("page /profile", Box::new(|_| "/profile".into())),
        ("page /admin/users", Box::new(|_| "/admin/users".into())),
        ("page /settings", Box::new(|_| "/settings".into())),
        ("page /settings/sync", Box::new(|_| "/settings/sync".into())),
        ("page /sync (Sync Control Center)", Box::new(|_| "/sync".into())),
    ];
    let home = client.get(format!("{base}/")).header(reqwest::header::COOKIE, &cookie).send().await?;
    let home_bytes = home.bytes().await?.len();
    println!("| {name} | page / HTML size | {:.1} KB | | | |", home_bytes as f64 / 1024.0);
    let cases = cases.into_iter().map(|(label, path)| (label, path, false));
    for (label, path, is_page) in cases.chain(pages.into_iter().map(|(label, path)| (label, path, true))) {
        let mut times = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let url = format!("{base}{}", path(i));
            let t = Instant::now();
            let request = match is_page {
                true => client.get(url).header(reqwest::header::COOKIE, &cookie),
                false => client.get(url).bearer_auth(&token),
            };
            let resp = request.send().await?;
            let status = resp.status();
            resp.bytes().await?;
            let elapsed = t.elapsed();
            if !status.is_success() {
                bail!("{label}: {status}");
            }
            if i >= n / 10 {
                times.push(elapsed); // the first tenth warms caches
            }
        }
        report(name, label, &mut times);
    }
    server.stop().await?;
    db.close().await;

    let bin = archive_binary()?;
    let mut starts = Vec::new();
    for _ in 0..5 {
        starts.push(time_to_first_answer(&bin, &place).await?);
    }
    report(name, "`archive serve` start to first answered request", &mut starts);
    Ok(())
}

/// The request path of the i-th request of a series.
type PathFor<'a> = Box<dyn Fn(usize) -> String + 'a>;

pub(crate) struct Filled {
    rows: usize,
    genres: Vec<Uuid>,
    artists: Vec<Uuid>,
    albums: Vec<Uuid>,
    songs: Vec<Uuid>,
}

/// Fills the library through the normal write path (every row records its change).
pub(crate) async fn fill(db: &Db, args: &Args) -> anyhow::Result<Filled> {
    const BATCH: usize = 2_000;
    let mut genres = Vec::new();
    let mut tx = db.begin().await?;
    for i in 0..50 {
        genres.push(tx.insert_genre(NewGenre { id: None, name: format!("Genre {i:02}") }).await?.id);
    }
    tx.commit().await?;
    let mut artists = Vec::with_capacity(args.artists);
    for chunk in (0..args.artists).collect::<Vec<_>>().chunks(BATCH) {
        let mut tx = db.begin().await?;
        for i in chunk {
            let new = NewArtist { name: format!("Artist {i:05}"), ..Default::default() };
            artists.push(tx.insert_artist(new).await?.id);
        }
        tx.commit().await?;
    }
    let mut albums = Vec::with_capacity(args.albums);
    for chunk in (0..args.albums).collect::<Vec<_>>().chunks(BATCH) {
        let mut tx = db.begin().await?;
        for i in chunk {
            let new = NewAlbum {
                title: format!("Album {i:05}"),
                artist_id: Some(artists[i % artists.len()]),
                year: Some(1950 + (*i as i64 % 70)),
                ..Default::default()
            };
            albums.push(tx.insert_album(new).await?.id);
        }
        tx.commit().await?;
    }
    let mut songs = Vec::with_capacity(args.songs);
    for chunk in (0..args.songs).collect::<Vec<_>>().chunks(BATCH) {
        let mut tx = db.begin().await?;
        for i in chunk {
            let album = i % albums.len();
            let new = NewSong {
                title: format!("Song {i:06}"),
                artist_id: Some(artists[album % artists.len()]),
                album_id: Some(albums[album]),
                genre_id: Some(genres[i % genres.len()]),
                track_number: Some((i / albums.len()) as i64 + 1),
                year: Some(1950 + (album as i64 % 70)),
                duration_ms: Some(180_000 + (*i as i64 % 120_000)),
                format: Some("flac".into()),
                ..Default::default()
            };
            songs.push(tx.insert_song(new).await?.id);
        }
        tx.commit().await?;
    }
    Ok(Filled { rows: 50 + args.artists + args.albums + args.songs, genres, artists, albums, songs })
}

/// An admin and a token of theirs.
pub(crate) async fn admin_token(db: &Db) -> anyhow::Result<(Uuid, String)> {
    let password_hash = archive::auth::hash_password("benchmark password".into()).await?;
    let mut tx = db.begin().await?;
    let email = format!("bench-{}@example.org", Uuid::new_v4().simple());
    let user =
        tx.insert_user(NewUser { email, name: "Bench".into(), role: Role::Admin, password_hash }).await?;
    let token = archive::auth::new_token();
    let expires = archive_db::now() + chrono::Duration::hours(1);
    tx.insert_api_token(user.id, &archive::auth::hash_token(&token), expires).await?;
    tx.commit().await?;
    Ok((user.id, token))
}

/// The admin's listening data, so the listening pages have something to
/// show: 1,000 plays, 200 favourites and ratings, and a playlist of 500
/// songs (returned).
async fn listening_data(db: &Db, user_id: Uuid, songs: &[Uuid]) -> anyhow::Result<Uuid> {
    let pick = |i: usize| songs[(i.wrapping_mul(7919)) % songs.len()];
    let mut tx = db.begin().await?;
    let start = archive_db::now() - chrono::Duration::days(30);
    for i in 0..1_000 {
        tx.record_play(user_id, pick(i % 300), start + chrono::Duration::minutes(i as i64)).await?;
    }
    for i in 0..200 {
        tx.set_favourite(user_id, pick(i), true).await?;
        tx.set_rating(user_id, pick(i), Some(1 + i as i64 % 5)).await?;
    }
    let new = NewPlaylist {
        owner_id: user_id,
        name: "Bench playlist".into(),
        description: Some("Five hundred songs.".into()),
        is_public: true,
    };
    let playlist = tx.insert_playlist(new).await?.id;
    for i in 0..500 {
        tx.add_playlist_entry(playlist, pick(i), None).await?;
    }
    tx.commit().await?;
    Ok(playlist)
}

/// The `archive` binary next to this one (same build profile).
fn archive_binary() -> anyhow::Result<PathBuf> {
    let bin = std::env::current_exe()?.with_file_name("archive");
    if !bin.exists() {
        bail!("{} not found: build the workspace first (cargo build --release)", bin.display());
    }
    Ok(bin)
}

/// Starts `archive serve` on the filled database and times until /health answers.
async fn time_to_first_answer(bin: &Path, place: &Place) -> anyhow::Result<Duration> {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir").arg(&place.data_dir).args(["serve", "--bind", &format!("127.0.0.1:{port}")]);
    if let Some(url) = &place.options.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let started = Instant::now();
    let mut child =
        cmd.env("ARCHIVE_LOG_LEVEL", "warn").stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/health");
    let result = loop {
        if let Ok(resp) = client.get(&url).send().await
            && resp.status().is_success()
        {
            break Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            break Err(anyhow::anyhow!("archive serve did not answer within 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

pub(crate) fn report(database: &str, label: &str, times: &mut [Duration]) {
    if times.is_empty() {
        println!("| {database} | {label} | none measured | | | |");
        return;
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| {database} | {label} | {} | {} | {} | {} |",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(*times.last().expect("measured"))
    );
}
