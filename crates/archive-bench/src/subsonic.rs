//! `archive-bench subsonic`: the Subsonic API over a filled library (100k
//! songs by default), on each database: p50/p95/p99 of `getAlbumList2`
//! (500 albums a page), `getAlbum`, `getArtists` and a `search3` page, and
//! the time an offline-first app takes to copy the whole library with
//! empty-query `search3` pages of 500 songs. Requests authenticate with an
//! API key; answers are JSON. A request is timed to the last byte of its
//! answer (reading the JSON is the app's work, left out).

use std::time::Instant;

use anyhow::{Context, bail};
use archive_db::{Backend, Db};
use serde_json::Value;

use crate::{Args, Running, fill, place, report, start_server};

pub async fn run(args: &Args) -> anyhow::Result<()> {
    println!(
        "library: {} songs, {} albums, {} artists; {} requests per method",
        args.songs, args.albums, args.artists, args.requests
    );
    println!("| database | measurement | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for backend in &args.backends {
        run_backend(*backend, args).await?;
    }
    Ok(())
}

/// Commits as a production PostgreSQL makes them (`synchronous_commit =
/// on`; the throwaway test cluster defaults to off). Reads depend on it:
/// the `VACUUM` after an import cannot mark pages written by commits not
/// yet flushed as visible to all, and index-only scans of such pages
/// still read the table.
async fn durable_commits(db: Db, place: &crate::Place) -> anyhow::Result<Db> {
    let mut tx = db.begin().await?;
    tx.execute_unchecked(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$",
    )
    .await?;
    tx.commit().await?;
    db.close().await;
    // New connections take the database's setting.
    Ok(Db::connect(&place.options).await?)
}

async fn run_backend(backend: Backend, args: &Args) -> anyhow::Result<()> {
    let place = place(backend)?;
    let db = Db::connect(&place.options).await?;
    db.migrate().await?;
    let db = match backend {
        Backend::Postgres => durable_commits(db, &place).await?,
        Backend::Sqlite => db,
    };
    let filled = fill(&db, args).await?;
    if backend == Backend::Postgres {
        // As an import of 1,000 files or more does at its end.
        let started = Instant::now();
        db.refresh_library_statistics().await?;
        eprintln!(
            "postgres: statistics and visibility refreshed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let Running { server, base, client, token, .. } = start_server(&db, &place).await?;
    let made: Value = client
        .post(format!("{base}/api/v1/me/subsonic-keys"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let key = made["key"].as_str().context("an API key")?.to_owned();
    let name = backend.name();
    let n = args.requests;
    // A fixed spread of picks, the same on every run.
    let pick = |i: usize, len: usize| (i.wrapping_mul(7919) + 13) % len.max(1);
    let album_pages = filled.albums.len().saturating_sub(500).max(1);
    type Query = Box<dyn Fn(usize) -> String>;
    let cases: Vec<(&str, Query)> = vec![
        (
            "getAlbumList2 alphabeticalByName, 500 a page",
            Box::new(move |i| {
                format!("getAlbumList2?type=alphabeticalByName&size=500&offset={}", pick(i, album_pages))
            }),
        ),
        ("getAlbumList2 newest, 500 a page", Box::new(|_| "getAlbumList2?type=newest&size=500".to_owned())),
        ("getAlbum", {
            let albums = filled.albums.clone();
            Box::new(move |i| format!("getAlbum?id={}", albums[pick(i, albums.len())]))
        }),
        ("getArtists (every artist)", Box::new(|_| "getArtists?".to_owned())),
        ("search3 page (a title's number)", {
            let songs = filled.songs.len();
            Box::new(move |i| {
                format!("search3?query={:06}&songCount=20&albumCount=20&artistCount=20", pick(i, songs))
            })
        }),
    ];
    for (label, query) in cases {
        let mut times = Vec::with_capacity(n);
        for i in 0..n + n / 10 {
            let url = format!("{base}/rest/{}&f=json&apiKey={key}", query(i));
            // Timed to the answer's last byte: reading the JSON is the app's work.
            let started = Instant::now();
            let body = client.get(url).send().await?.bytes().await?;
            let elapsed = started.elapsed();
            let answer: Value = serde_json::from_slice(&body)?;
            if answer["subsonic-response"]["status"] != "ok" {
                bail!("{label}: {answer}");
            }
            if i >= n / 10 {
                times.push(elapsed); // the first tenth warms caches
            }
        }
        report(name, label, &mut times);
    }

    // An offline-first app copying the library.
    let started = Instant::now();
    let (mut offset, mut seen, mut pages) = (0, 0, 0);
    loop {
        let url = format!(
            "{base}/rest/search3?query=&songCount=500&songOffset={offset}&albumCount=0&artistCount=0&f=json&apiKey={key}"
        );
        let answer: Value = client.get(url).send().await?.json().await?;
        let songs = answer["subsonic-response"]["searchResult3"]["song"].as_array().map_or(0, Vec::len);
        if songs == 0 {
            break;
        }
        (offset, seen, pages) = (offset + songs, seen + songs, pages + 1);
    }
    let walk = started.elapsed();
    if seen != filled.songs.len() {
        bail!("the walk saw {seen} of {} songs", filled.songs.len());
    }
    println!(
        "| {name} | empty search3 walk: {seen} songs in {pages} pages of 500 | {:.2} s total | | | |",
        walk.as_secs_f64()
    );
    server.stop().await?;
    db.close().await;
    Ok(())
}
