//! What a slave keeps of its master's audio files, between real servers
//! over HTTPS on every pair of databases: a press of play streams the file
//! through and keeps it, pins bring files in the background, the quota
//! evicts the least recently played fetched file (never a pinned one, never
//! the node's own), and an unreachable master is reported at once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use serde_json::json;
use uuid::Uuid;

use crate::support::code;
use crate::sync::{Pair, pairs, songs_on_master};

fn hash(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

fn ffmpeg_missing() -> bool {
    let missing = !archive_testkit::audio::ffmpeg_available();
    if missing {
        eprintln!("skipped: ffmpeg is not installed");
    }
    missing
}

/// Waits (at most 20 s) until the slave holds the files of `songs`.
async fn until_here(pair: &Pair, songs: &[Uuid], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while pair.slave.db().songs_here(songs).await.unwrap().len() < songs.len() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(songs: &[(String, Vec<u8>)]) -> Vec<Uuid> {
    songs.iter().map(|(id, _)| id.parse().unwrap()).collect()
}

#[tokio::test]
async fn pressing_play_on_a_slave_streams_the_masters_file_through_and_the_next_play_is_local() {
    if ffmpeg_missing() {
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start(master_backend, slave_backend).await; // SYNC_FILES: on-play, the default
        let songs = songs_on_master(&pair, &["Played"]).await;
        pair.settle().await;
        let (song, bytes) = &songs[0];
        assert!(
            pair.slave.db().content_file(&hash(bytes)).await.unwrap().is_none(),
            "not here before a play"
        );
        let url = format!("{}/api/v1/songs/{song}/stream", pair.slave.base);
        let token = &pair.slave_admin.token;

        // Seeking while the file is not here yet: the range comes from the master.
        let seek = pair.slave.client.get(&url).bearer_auth(token).header(RANGE, "bytes=100-199").send();
        let seek = seek.await.unwrap();
        assert_eq!(seek.status(), StatusCode::PARTIAL_CONTENT);
        let range = format!("bytes 100-199/{}", bytes.len());
        assert_eq!(seek.headers()[CONTENT_RANGE], range.as_str());
        assert!(seek.bytes().await.unwrap().as_ref() == &bytes[100..200], "the master's bytes, that range");

        let played = pair.slave.client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(played.status(), StatusCode::OK);
        assert!(played.bytes().await.unwrap().as_ref() == bytes.as_slice(), "the master's bytes");
        until_here(&pair, &ids(&songs), "the played file is kept in the background").await;

        // With the master gone, the kept song still plays, from here.
        pair.master.stop().await;
        let again = pair.slave.client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::OK);
        assert!(again.bytes().await.unwrap().as_ref() == bytes.as_slice());
        pair.slave.stop().await;
    }
}

#[tokio::test]
async fn pins_bring_files_in_the_background_and_the_quota_evicts_the_least_recently_played_unpinned_file() {
    if ffmpeg_missing() {
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        // The same encoder output every time: sizes are known before the pair starts.
        let names = ["Pinned", "Recent", "Stale", "Newcomer"];
        let probe = Pair::start(master_backend, slave_backend).await;
        let sizes: Vec<usize> = songs_on_master(&probe, &names).await.iter().map(|(_, b)| b.len()).collect();
        probe.stop().await;
        // Room for three of the four files, not for all of them.
        let quota = sizes[..3].iter().sum::<usize>() + sizes[3] / 2;
        let settings =
            [("SYNC_ENABLED", "false".into()), ("SYNC_FILES_MAX_GB", format!("{}", quota as f64 / 1e9))];
        let pair = Pair::start_with(master_backend, slave_backend, &settings).await;
        let songs = songs_on_master(&pair, &names).await;
        let ids = ids(&songs);
        pair.settle().await;
        let token = &pair.slave_admin.token;

        // A song of the slave's own, which no quota touches.
        let own = tempfile::tempdir().unwrap();
        let own_path = own.path().join("Mine.mp3");
        let tags = archive_testkit::audio::full_tags("Mine", "Home Band", "At Home");
        archive_testkit::audio::make(&own_path, archive_testkit::audio::format("mp3"), &tags, 2.0, 700);
        let form = reqwest::multipart::Form::new().part("file", crate::media::file_part(&own_path));
        let (status, uploaded) = crate::media::upload(&pair.slave, token, form).await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let mine: Uuid = uploaded["songs"][0]["id"].as_str().unwrap().parse().unwrap();

        // While sync is paused, a pin waits in the queue; on resume it comes.
        assert_eq!(pair.slave.post("/api/v1/sync/pause", token, json!({})).await.0, StatusCode::OK);
        let (status, pin) = pair.slave.post(&format!("/api/v1/songs/{}/pin", ids[0]), token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{pin}");
        assert_eq!((pin["pinned"].as_bool(), pin["kind"].as_str()), (Some(true), Some("song")));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(pair.slave.db().songs_here(&ids[..1]).await.unwrap().is_empty(), "paused: nothing fetched");
        // A play says why it cannot reach the master.
        let url = format!("{}/api/v1/songs/{}/stream", pair.slave.base, ids[0]);
        let held = pair.slave.client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(held.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code(&held.json().await.unwrap()), "sync_stopped");
        // An emergency stop holds it as well, and clearing it lets it come.
        assert_eq!(pair.slave.post("/api/v1/sync/emergency-stop", token, json!({})).await.0, StatusCode::OK);
        assert_eq!(pair.slave.post("/api/v1/sync/resume", token, json!({})).await.0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(pair.slave.db().songs_here(&ids[..1]).await.unwrap().is_empty(), "stopped: nothing fetched");
        assert_eq!(pair.slave.post("/api/v1/sync/clear-stop", token, json!({})).await.0, StatusCode::OK);
        until_here(&pair, &ids[..1], "the pinned song's file comes in the background").await;

        // Two files fetched as an admin asks (the way a play keeps them);
        // "Recent" is then played, so "Stale" is the least recently played.
        for id in [ids[1], ids[2]] {
            let (status, body) =
                pair.slave.post("/api/v1/sync/files/fetch", token, json!({ "song_id": id })).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let url = format!("{}/api/v1/songs/{}/stream", pair.slave.base, ids[1]);
        assert_eq!(
            pair.slave.client.get(&url).bearer_auth(token).send().await.unwrap().status(),
            StatusCode::OK
        );

        // The fourth does not fit: the least recently played unpinned file makes room.
        let (status, body) =
            pair.slave.post("/api/v1/sync/files/fetch", token, json!({ "song_id": ids[3] })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let here = pair.slave.db().songs_here(&[ids.clone(), vec![mine]].concat()).await.unwrap();
        for (id, name) in ids.iter().zip(names).chain([(&mine, "Mine")]) {
            assert_eq!(here.contains(id), name != "Stale", "{name}: {here:?}");
        }
        let used = pair.slave.db().content_bytes(archive_db::ContentOrigin::Fetched).await.unwrap();
        assert!(used as usize <= quota, "{used} bytes fetched, quota {quota}");

        // Unpinned, a pin keeps nothing; a pin of nothing is refused.
        let (status, pin) = pair.slave.delete(&format!("/api/v1/songs/{}/pin", ids[0]), token).await;
        assert_eq!((status, pin["pinned"].as_bool()), (StatusCode::OK, Some(false)), "{pin}");
        assert!(pair.slave.db().pinned_songs(&ids).await.unwrap().is_empty());
        let (status, body) =
            pair.slave.post(&format!("/api/v1/albums/{}/pin", Uuid::new_v4()), token, json!({})).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{body}");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_playlist_pin_keeps_its_songs_and_another_users_private_playlist_cannot_be_pinned() {
    if ffmpeg_missing() {
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start(master_backend, slave_backend).await;
        let songs = songs_on_master(&pair, &["Listed", "Unlisted"]).await;
        let ids = ids(&songs);
        pair.settle().await;
        let listener = pair.slave.user(archive_db::Role::User).await;
        let (status, playlist) =
            pair.slave.post("/api/v1/playlists", &listener.token, json!({"name": "Offline"})).await;
        assert_eq!(status, StatusCode::CREATED, "{playlist}");
        let playlist = playlist["id"].as_str().unwrap().to_owned();
        let entries = format!("/api/v1/playlists/{playlist}/entries");
        let (status, body) = pair.slave.post(&entries, &listener.token, json!({"song_id": ids[0]})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        let other = pair.slave.user(archive_db::Role::User).await;
        let pin = format!("/api/v1/playlists/{playlist}/pin");
        let (status, body) = pair.slave.post(&pin, &other.token, json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a private playlist is not there for others: {body}");

        let (status, body) = pair.slave.post(&pin, &listener.token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(pair.slave.db().pinned_songs(&ids).await.unwrap(), vec![ids[0]]);
        until_here(&pair, &ids[..1], "the playlist's song comes in the background").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !pair.slave.db().songs_here(&ids[1..]).await.unwrap().contains(&ids[1]),
            "only what is pinned"
        );
        pair.stop().await;
    }
}

#[tokio::test]
async fn with_the_master_unreachable_a_play_says_so_at_once_and_the_slave_answers_as_before() {
    if ffmpeg_missing() {
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start(master_backend, slave_backend).await;
        let songs = songs_on_master(&pair, &["Far Away"]).await;
        pair.settle().await;
        pair.master.stop().await;
        let token = &pair.slave_admin.token;
        let url = format!("{}/api/v1/songs/{}/stream", pair.slave.base, songs[0].0);
        let started = Instant::now();
        let played = pair.slave.client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(played.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(played.headers().contains_key(reqwest::header::RETRY_AFTER));
        let body: serde_json::Value = played.json().await.unwrap();
        assert_eq!(code(&body), "master_unreachable", "{body}");
        // A refused connection on loopback is known at once (bounded for a busy machine).
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        let (status, listed) = pair.slave.get("/api/v1/songs", token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
        // The play is queued, to be fetched when the master is back.
        let queued = pair.slave.db().file_transfers(10).await.unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert_eq!(queued[0].sha256, hash(&songs[0].1));
        pair.slave.stop().await;
    }
}

/// Runs `archive` with the slave's settings, database and data directory
/// (waiting without blocking: the servers run on this test's runtime).
async fn archive_on_slave(pair: &Pair, args: &[&str]) -> std::process::Output {
    let url = pair.slave.test_db.options.database_url.clone().expect("a slave on PostgreSQL");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_archive"))
        .args(["--data-dir", &pair.slave.data_dir.path().display().to_string(), "--database-url", &url])
        .args(args)
        .env("ARCHIVE_ROLE", "slave")
        .env("ARCHIVE_NODE_ID", "home")
        .env("MASTER_ARCHIVE_URL", &pair.master.base)
        .env("MASTER_CA_CERT", pair.ca_cert())
        .env("ARCHIVE_LOG_LEVEL", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

#[tokio::test]
async fn archive_sync_files_reports_fetches_and_evicts_from_the_command_line() {
    if ffmpeg_missing() {
        return;
    }
    // The command runs in its own process on the slave's database, which
    // another process can open only on PostgreSQL (a test's SQLite file
    // lives apart from the server's data directory).
    let Some(&(master_backend, slave_backend)) =
        pairs().iter().find(|(_, slave)| *slave == archive_db::Backend::Postgres)
    else {
        eprintln!("skipped: PostgreSQL is not available");
        return;
    };
    let pair = Pair::start(master_backend, slave_backend).await;
    let songs = songs_on_master(&pair, &["By Hand", "Played", "Left"]).await;
    let ids = ids(&songs);
    pair.settle().await;
    let text = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();

    let fetched = text(archive_on_slave(&pair, &["sync", "files", "fetch", &ids[0].to_string()]).await);
    assert!(fetched.contains(&format!("fetched {}", hash(&songs[0].1))), "{fetched}");
    let again = text(archive_on_slave(&pair, &["sync", "files", "fetch", &ids[0].to_string()]).await);
    assert!(again.contains("is here already"), "{again}");
    let token = &pair.slave_admin.token;
    let (status, body) = pair.slave.post(&format!("/api/v1/songs/{}/pin", ids[1]), token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until_here(&pair, &ids[..2], "the pinned file comes").await;

    let status = text(archive_on_slave(&pair, &["sync", "files", "status"]).await);
    for line in
        ["songs whose file is here: 2 of 3", "kept from the master (SYNC_FILES): on-play", "fetched: 2 files"]
    {
        assert!(status.contains(line), "{line}: {status}");
    }
    // Within the (absent) quota, nothing to evict; with --all, all but the pinned file.
    assert!(
        text(archive_on_slave(&pair, &["sync", "files", "evict"]).await).contains("evicted 0 fetched files")
    );
    let evicted = text(archive_on_slave(&pair, &["sync", "files", "evict", "--all"]).await);
    assert!(evicted.contains("evicted 1 fetched file,"), "{evicted}");
    let here = pair.slave.db().songs_here(&ids).await.unwrap();
    assert!(here.contains(&ids[1]) && !here.contains(&ids[0]), "{here:?}");
    pair.stop().await;
}

#[tokio::test]
async fn a_slaves_pages_say_where_each_songs_sound_is_and_pin_it_with_a_button() {
    if ffmpeg_missing() {
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        let pair = Pair::start(master_backend, slave_backend).await;
        let songs = songs_on_master(&pair, &["Faraway"]).await;
        let song = ids(&songs)[0];
        pair.settle().await;
        let mut browser = crate::web::Browser::new(&pair.slave);
        let home = browser.log_in(&pair.slave_admin.email).await;
        let row_of = |page: &str| {
            let at = page.find(&format!(r#"<tr data-song="{song}""#)).expect("the song's row");
            page[at..at + page[at..].find("</tr>").unwrap()].to_owned()
        };
        let row = row_of(&home);
        assert!(row.contains("data-playable") && row.contains("on the master"), "{row}");

        let page = browser.page(&format!("/songs/{song}")).await;
        assert!(page.contains("On the master: it plays from there"), "the song page says where its sound is");
        assert!(page.contains("Pin for offline use"), "a pin button");
        let csrf = crate::web::hidden_csrf(&page);
        let pinned = browser
            .htmx_post(
                &format!("/songs/{song}/pin"),
                &[("pinned", "true")],
                Some(&csrf),
                &format!("pin-song-{song}"),
            )
            .await;
        assert_eq!(pinned.status(), StatusCode::OK);
        assert!(pinned.text().await.unwrap().contains("Pinned for offline use"));
        until_here(&pair, &[song], "the pinned song's file comes").await;

        let row = row_of(&browser.page("/").await);
        assert!(row.contains("kept from the master") && row.contains("pinned"), "{row}");
        let center = browser.page("/sync").await;
        assert!(center.contains("Audio files") && center.contains("1 of 1 songs"), "{center}");
        assert!(center.contains("1 files, 0."), "the fetched file and its megabytes: {center}");

        // The slave tells the master at its next cycle; the master shows it.
        pair.sync().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, slaves) = pair.master.get("/api/v1/sync/slaves", &pair.master_admin.token).await;
            assert_eq!(status, StatusCode::OK, "{slaves}");
            if slaves[0]["files_here"] == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the master never heard how many files the slave holds: {slaves}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut on_master = crate::web::Browser::new(&pair.master);
        on_master.log_in(&pair.master_admin.email).await;
        let center = on_master.page("/sync").await;
        assert!(center.contains("<td>1 of 1</td>"), "the slaves table says it: {center}");
        pair.stop().await;
    }
}

#[tokio::test]
async fn a_queued_file_survives_a_restart_of_the_slave_and_comes_after_it() {
    if ffmpeg_missing() {
        return;
    }
    for (master_backend, slave_backend) in pairs() {
        let mut pair = Pair::start(master_backend, slave_backend).await;
        let songs = songs_on_master(&pair, &["Queued"]).await;
        let ids = ids(&songs);
        pair.settle().await;
        let token = pair.slave_admin.token.clone();
        // Paused, a play cannot reach the master, but it is queued.
        assert_eq!(pair.slave.post("/api/v1/sync/pause", &token, json!({})).await.0, StatusCode::OK);
        let url = format!("{}/api/v1/songs/{}/stream", pair.slave.base, ids[0]);
        let held = pair.slave.client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(held.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(pair.slave.db().file_transfers(10).await.unwrap().len(), 1);

        // The server stops and starts again: the queue is in the database,
        // and nothing else (no pin, no mirroring) asks for the file.
        pair.slave.restart(&[]).await;
        assert_eq!(pair.slave.post("/api/v1/sync/resume", &token, json!({})).await.0, StatusCode::OK);
        until_here(&pair, &ids, "the queued file comes after the restart").await;
        assert!(pair.slave.db().file_transfers(10).await.unwrap().is_empty(), "and leaves the queue");
        pair.stop().await;
    }
}
