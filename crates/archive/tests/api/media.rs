//! Uploads, imports started through the API, and album covers.

use std::path::Path;
use std::time::{Duration, Instant};

use archive_db::Role;
use archive_testkit::audio;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::{App, code, on_each_backend, on_each_backend_with};
use crate::web::Browser;

pub fn file_part(path: &Path) -> Part {
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    Part::bytes(std::fs::read(path).unwrap()).file_name(name)
}

pub async fn upload(app: &App, token: &str, form: Form) -> (StatusCode, Value) {
    let url = format!("{}/api/v1/songs", app.base);
    let resp = app.client.post(url).bearer_auth(token).multipart(form).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// The files in the upload store, temporary ones included.
fn stored_files(app: &App) -> Vec<std::path::PathBuf> {
    walk(&app.data_dir.path().join("media"))
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files = Vec::new();
    for entry in entries.map(Result::unwrap) {
        if entry.file_type().unwrap().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

#[tokio::test]
async fn uploaded_files_are_stored_by_content_and_imported() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("a.mp3");
    let flac = dir.path().join("untagged name.flac");
    audio::make(&mp3, audio::format("mp3"), &audio::full_tags("Upload One", "Uploader", "Sent"), 1.0, 440);
    audio::make(&flac, audio::format("flac"), &[], 1.0, 550);
    on_each_backend(|app| {
        let (mp3, flac) = (mp3.clone(), flac.clone());
        async move {
            let token = app.user(Role::Moderator).await.token;
            let form = Form::new().part("file", file_part(&mp3)).part("file", file_part(&flac));
            let (status, body) = upload(&app, &token, form).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            assert_eq!(body["imported"], 2);
            let titles: Vec<&str> =
                body["songs"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
            assert_eq!(titles.len(), 2);
            assert!(titles.contains(&"Upload One"));
            let stored = stored_files(&app);
            assert_eq!(stored.len(), 2, "{stored:?}");
            for path in &stored {
                let name = path.file_stem().unwrap().to_str().unwrap();
                assert_eq!(name.len(), 64, "named by its SHA-256: {}", path.display());
                assert_eq!(path.parent().unwrap().file_name().unwrap().to_str().unwrap(), &name[..2]);
            }

            let id = body["songs"][0]["id"].as_str().unwrap().to_owned();
            let streamed = app
                .client
                .get(format!("{}/api/v1/songs/{id}/stream", app.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(streamed.status(), StatusCode::OK);

            let (status, again) = upload(&app, &token, Form::new().part("file", file_part(&mp3))).await;
            assert_eq!(status, StatusCode::CREATED, "{again}");
            assert_eq!(again["imported"], 0);
            assert_eq!(again["skipped"], 1);
            assert_eq!(again["songs"][0]["id"], body["songs"][0]["id"], "the same content is the same song");
            assert_eq!(stored_files(&app).len(), 2, "stored once");
        }
    })
    .await;
}

#[tokio::test]
async fn a_large_upload_has_its_full_hash_at_once_the_one_it_is_stored_by() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("Long.wav");
    audio::make(&wav, audio::format("wav"), &audio::full_tags("Long", "Uploader", "Sent"), 8.0, 440);
    assert!(std::fs::metadata(&wav).unwrap().len() > archive_media::identity::WHOLE_FILE_UP_TO);
    on_each_backend(|app| {
        let wav = wav.clone();
        async move {
            let token = app.user(Role::Moderator).await.token;
            let (status, body) = upload(&app, &token, Form::new().part("file", file_part(&wav))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let stored = stored_files(&app);
            let name = stored[0].file_stem().unwrap().to_str().unwrap();
            assert_eq!(body["songs"][0]["content_hash"], name, "{body}");
        }
    })
    .await;
}

/// The name of the record `id` of `kind` (`artists`, `albums`).
async fn name_of(app: &App, token: &str, kind: &str, id: &Value) -> String {
    let (status, record) = app.get(&format!("/api/v1/{kind}/{}", id.as_str().unwrap()), token).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    record[if kind == "albums" { "title" } else { "name" }].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_upload_without_tags_is_named_from_the_name_its_client_gave_never_from_the_store() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A title and nothing else, sent as "Artist - Title.mp3".
    let titled = dir.path().join("Nina Simone - Sinnerman.mp3");
    audio::make(&titled, audio::format("mp3"), &[("title", "Sinnerman (Live)")], 0.5, 440);
    // No tags at all, sent as "01 Intro.flac".
    let untagged = dir.path().join("01 Intro.flac");
    audio::make(&untagged, audio::format("flac"), &[], 0.5, 550);
    on_each_backend(|app| {
        let (titled, untagged) = (titled.clone(), untagged.clone());
        async move {
            let token = app.user(Role::Moderator).await.token;
            let form = Form::new().part("file", file_part(&titled)).part("file", file_part(&untagged));
            let (status, body) = upload(&app, &token, form).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let songs = body["songs"].as_array().unwrap();
            let titled = songs.iter().find(|s| s["title"] == "Sinnerman (Live)").expect("the tag's title");
            assert_eq!(name_of(&app, &token, "artists", &titled["artist_id"]).await, "Nina Simone");
            assert_eq!(name_of(&app, &token, "albums", &titled["album_id"]).await, "Unknown Album");
            assert_eq!(titled["track_number"], Value::Null, "no track number made up from the hash");

            let untagged = songs.iter().find(|s| s["title"] == "Intro").expect("the title from the name");
            assert_eq!(untagged["track_number"], 1);
            assert_eq!(name_of(&app, &token, "artists", &untagged["artist_id"]).await, "Unknown Artist");
            assert_eq!(name_of(&app, &token, "albums", &untagged["album_id"]).await, "Unknown Album");
            // The store's own path (media/ab/<hash>.ext) names nothing.
            let (_, artists) = app.get("/api/v1/artists?limit=500", &token).await;
            let names: Vec<&str> =
                artists["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
            assert!(!names.contains(&"media"), "{names:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_upload_with_a_damaged_tag_frame_is_kept_and_the_damage_is_reported_by_its_name() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("Damaged Frame.mp3");
    audio::make(&damaged, audio::format("mp3"), &audio::full_tags("Still Here", "Band", "Record"), 0.5, 440);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let at = bytes.windows(4).position(|w| w == b"TDRC").unwrap();
    bytes[at + 10] = 9; // a text encoding ID3v2 does not have
    std::fs::write(&damaged, bytes).unwrap();
    on_each_backend(|app| {
        let damaged = damaged.clone();
        async move {
            let token = app.user(Role::Moderator).await.token;
            let (status, body) = upload(&app, &token, Form::new().part("file", file_part(&damaged))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            assert_eq!(body["songs"][0]["title"], "Still Here");
            assert_eq!(body["warnings"][0]["path"], "Damaged Frame.mp3", "{body}");
            let warning = body["warnings"][0]["error"].as_str().unwrap();
            assert!(warning.contains("tag frame was skipped"), "{warning}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_upload_with_a_file_that_is_not_audio_is_refused_whole() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.mp3");
    audio::make(&good, audio::format("mp3"), &[], 1.0, 440);
    on_each_backend(|app| {
        let good = good.clone();
        async move {
            let token = app.user(Role::Moderator).await.token;
            let noise: Vec<u8> =
                (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            for (name, bytes) in [("noise.mp3", noise), ("notes.mp3", b"just some text, not a song".to_vec())]
            {
                let form = Form::new()
                    .part("file", file_part(&good))
                    .part("file", Part::bytes(bytes).file_name(name));
                let (status, body) = upload(&app, &token, form).await;
                assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}: {body}");
                assert_eq!(code(&body), "unsupported_media_type");
                assert!(body["error"]["message"].as_str().unwrap().contains(name), "{body}");
            }
            assert!(stored_files(&app).is_empty(), "nothing is kept: {:?}", stored_files(&app));
            let songs = app.db().songs(&Default::default(), &Default::default()).await.unwrap();
            assert!(songs.items.is_empty());

            let (status, body) = upload(&app, &token, Form::new().text("title", "no file")).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["error"]["field"], "title");
        }
    })
    .await;
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_413_and_leaves_nothing() {
    on_each_backend_with(&[("ARCHIVE_MAX_UPLOAD_MB", "1".into())], |app| async move {
        let token = app.user(Role::Moderator).await.token;
        let big = vec![0u8; 1024 * 1024 + 1];
        let (status, body) =
            upload(&app, &token, Form::new().part("file", Part::bytes(big.clone()).file_name("big.wav")))
                .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(code(&body), "too_large");

        // Without a declared length the limit still holds, counted as it streams.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let form = Form::new().part("file", Part::stream(stream).file_name("big.wav"));
        let (status, body) = upload(&app, &token, form).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));

        let (status, _) = app.post("/api/v1/songs", &token, json!({"title": "Metadata still works"})).await;
        assert_eq!(status, StatusCode::CREATED);
    })
    .await;
}

/// Polls an import until it is no longer running (at most 60 s).
pub(crate) async fn finished_import(app: &App, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, job) = app.get(&format!("/api/v1/imports/{id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["state"] != "running" {
            return job;
        }
        assert!(Instant::now() < deadline, "the import did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_process_on_the_database_lists_the_same_imports_and_runs_one_at_a_time() {
    if !audio::ffmpeg_available() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("music");
    for (i, title) in ["One", "Two"].iter().enumerate() {
        let path = root.join(format!("Band/Record/0{} - {title}.mp3", i + 1));
        audio::make(&path, audio::format("mp3"), &audio::full_tags(title, "Band", "Record"), 0.5, 440);
    }
    std::fs::write(root.join("Band/Record/03 - Broken.mp3"), b"not audio at all").unwrap();
    let settings = [("ARCHIVE_LIBRARY_ROOTS", std::fs::canonicalize(&root).unwrap().display().to_string())];
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let first = App::start(backend, &settings).await;
        // A second `archive serve` on the same database, as behind a load balancer.
        let second = App::start_on(first.test_db.another_process().await, &settings, None).await;
        let token = first.user(Role::Moderator).await.token;
        // On PostgreSQL, a third process holding the import lock keeps the
        // import running for as long as the test needs.
        let holder = first.test_db.another_process().await;
        let held = match backend {
            archive_db::Backend::Postgres => {
                Some(holder.db.lock_job(archive_db::Job::LibraryImport).await.unwrap())
            }
            archive_db::Backend::Sqlite => None,
        };

        let (status, job) = first.post("/api/v1/imports", &token, json!({"path": "Band"})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let id = job["id"].as_str().unwrap().to_owned();
        if held.is_some() {
            let (_, list) = second.get("/api/v1/imports", &token).await;
            assert_eq!(
                (&list["items"][0]["id"], &list["items"][0]["state"]),
                (&job["id"], &json!("running"))
            );
            let (status, refused) = second.post("/api/v1/imports", &token, json!({"path": "Band"})).await;
            assert_eq!(status, StatusCode::CONFLICT, "one import at a time across processes: {refused}");
            drop(held);
        }
        // The report reaches the other process, failures and all.
        let done = finished_import(&second, &token, &id).await;
        assert_eq!(done["state"], "done", "{done}");
        assert_eq!((&done["progress"]["imported"], &done["progress"]["failed"]), (&json!(2), &json!(1)));
        assert!(done["failures"][0]["path"].as_str().unwrap().ends_with("03 - Broken.mp3"), "{done}");
        assert_eq!(done["trigger"], "request");
        let (status, again) = second.post("/api/v1/imports", &token, json!({"path": "Band"})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "free again: {again}");
        finished_import(&first, &token, again["id"].as_str().unwrap()).await;
        holder.db.close().await;
        second.stop().await;
        first.stop().await;
    }
}

#[tokio::test]
async fn the_server_records_a_large_imported_files_full_hash_in_the_background_soon_after_the_import() {
    if !audio::ffmpeg_available() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("music");
    let wav = root.join("Band/Record/01 - Long.wav");
    audio::make(&wav, audio::format("wav"), &audio::full_tags("Long", "Band", "Record"), 8.0, 440);
    let expected = archive_media::content_hash(&wav).unwrap();
    let roots = std::fs::canonicalize(&root).unwrap().display().to_string();
    on_each_backend_with(&[("ARCHIVE_LIBRARY_ROOTS", roots.clone())], |app| {
        let expected = expected.clone();
        async move {
            let token = app.user(Role::Moderator).await.token;
            let (status, job) = app.post("/api/v1/imports", &token, json!({"path": "Band"})).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{job}");
            let done = finished_import(&app, &token, job["id"].as_str().unwrap()).await;
            assert_eq!(done["progress"]["imported"], 1, "{done}");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (status, songs) = app.get("/api/v1/songs", &token).await;
                assert_eq!(status, StatusCode::OK, "{songs}");
                if songs["items"][0]["content_hash"] == expected.as_str() {
                    break;
                }
                assert!(Instant::now() < deadline, "the full hash never came: {songs}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_import_started_through_the_api_reports_progress_and_failures() {
    if !audio::ffmpeg_available() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("music");
    let private = base.path().join("private");
    std::fs::create_dir_all(&private).unwrap();
    for (i, title) in ["One", "Two", "Three"].iter().enumerate() {
        let path = root.join(format!("Band/Record/0{} - {title}.mp3", i + 1));
        audio::make(
            &path,
            audio::format("mp3"),
            &audio::full_tags(title, "Band", "Record"),
            0.5,
            440 + i as u32,
        );
    }
    std::fs::write(root.join("Band/Record/04 - Broken.mp3"), b"not audio at all").unwrap();
    let roots = std::fs::canonicalize(&root).unwrap().display().to_string();
    on_each_backend_with(&[("ARCHIVE_LIBRARY_ROOTS", roots.clone())], |app| {
        let (root, private) = (root.clone(), private.clone());
        async move {
            let token = app.user(Role::Moderator).await.token;
            let (status, job) = app.post("/api/v1/imports", &token, json!({"path": "Band"})).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{job}");
            let id = job["id"].as_str().unwrap().to_owned();
            let done = finished_import(&app, &token, &id).await;
            assert_eq!(done["state"], "done", "{done}");
            assert_eq!(done["progress"]["seen"], 4);
            assert_eq!(done["progress"]["imported"], 3);
            assert_eq!(done["progress"]["failed"], 1);
            assert!(done["progress"]["files_per_second"].as_f64().unwrap() > 0.0);
            let failures = done["failures"].as_array().unwrap();
            assert_eq!(failures.len(), 1);
            assert!(failures[0]["path"].as_str().unwrap().ends_with("04 - Broken.mp3"));

            let (_, list) = app.get("/api/v1/imports", &token).await;
            assert_eq!(list["items"][0]["id"], done["id"]);
            assert_eq!(list["library_roots"][0], std::fs::canonicalize(&root).unwrap().display().to_string());

            let (_, again) =
                app.post("/api/v1/imports", &token, json!({"path": root.display().to_string()})).await;
            let again = finished_import(&app, &token, again["id"].as_str().unwrap()).await;
            assert_eq!(again["progress"]["skipped"], 3, "unchanged files are skipped: {again}");

            for outside in
                [private.display().to_string(), "../private".into(), format!("{}/..", root.display())]
            {
                let (status, body) = app.post("/api/v1/imports", &token, json!({"path": outside})).await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outside}: {body}");
                assert_eq!(body["error"]["field"], "path");
            }
            let (status, _) = app.get(&format!("/api/v1/imports/{}", uuid::Uuid::new_v4()), &token).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
    })
    .await;
}

#[tokio::test]
async fn without_library_roots_the_import_endpoint_says_what_to_set() {
    on_each_backend(|app| async move {
        let token = app.user(Role::Admin).await.token;
        let (status, body) = app.post("/api/v1/imports", &token, json!({"path": "/"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"]["message"].as_str().unwrap().contains("ARCHIVE_LIBRARY_ROOTS"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn album_covers_come_from_beside_the_files_or_from_inside_them() {
    if !audio::ffmpeg_available() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let beside = root.path().join("Painter/Gallery");
    audio::make(
        &beside.join("01 - Oil.mp3"),
        audio::format("mp3"),
        &audio::full_tags("Oil", "Painter", "Gallery"),
        0.5,
        440,
    );
    audio::make_png(&beside.join("Folder.PNG"), "blue");
    audio::make_png(&beside.join("cover.png"), "green");
    let inside = root.path().join("Sculptor/Studio");
    audio::make_png(&root.path().join("embedded.png"), "red");
    let song = inside.join("01 - Clay.mp3");
    audio::make_mp3_with_cover(&song, &root.path().join("embedded.png"), "Clay");
    let bare = root.path().join("Nobody/Nothing/01 - Plain.mp3");
    audio::make(&bare, audio::format("mp3"), &[], 0.5, 440);
    let cover_png = std::fs::read(beside.join("cover.png")).unwrap();
    on_each_backend(|app| {
        let (root, cover_png) = (root.path().to_owned(), cover_png.clone());
        async move {
            let progress = std::sync::Arc::new(archive_media::Progress::default());
            archive_media::import(app.db(), &[root], progress).await.unwrap();
            let token = app.user(Role::User).await.token;
            let album = |title: &'static str| {
                let app = &app;
                async move {
                    let albums =
                        app.db().albums(&Default::default(), &Default::default()).await.unwrap().items;
                    albums.into_iter().find(|a| a.title == title).unwrap().id
                }
            };
            let cover = |id: uuid::Uuid, etag: Option<String>| {
                let mut req =
                    app.client.get(format!("{}/api/v1/albums/{id}/cover", app.base)).bearer_auth(&token);
                if let Some(etag) = etag {
                    req = req.header("if-none-match", etag);
                }
                req.send()
            };

            let resp = cover(album("Gallery").await, None).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(resp.headers()["content-type"], "image/png");
            assert!(resp.headers()["cache-control"].to_str().unwrap().contains("max-age"));
            let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
            assert_eq!(resp.bytes().await.unwrap().as_ref(), &cover_png[..], "cover.* wins over folder.*");
            let again = cover(album("Gallery").await, Some(etag)).await.unwrap();
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

            let resp = cover(album("Studio").await, None).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert!(resp.bytes().await.unwrap().starts_with(b"\x89PNG"), "the embedded picture");

            let resp = cover(album("Nothing").await, None).await.unwrap();
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(code(&body), "no_cover");
        }
    })
    .await;
}

/// The width and height of a JPEG, from its frame header.
fn jpeg_size(data: &[u8]) -> (u32, u32) {
    assert!(data.starts_with(&[0xFF, 0xD8]), "a JPEG");
    let mut at = 2;
    while at + 9 < data.len() {
        let (marker, length) = (data[at + 1], u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize);
        if (0xC0..=0xC2).contains(&marker) {
            let height = u16::from_be_bytes([data[at + 5], data[at + 6]]);
            let width = u16::from_be_bytes([data[at + 7], data[at + 8]]);
            return (u32::from(width), u32::from(height));
        }
        at += 2 + length;
    }
    panic!("no JPEG frame header");
}

#[tokio::test]
async fn a_cover_thumbnail_is_small_made_once_and_kept() {
    if !audio::ffmpeg_available() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let album = root.path().join("Painter/Big Scan");
    audio::make(
        &album.join("01 - Wide.mp3"),
        audio::format("mp3"),
        &audio::full_tags("Wide", "Painter", "Big Scan"),
        0.5,
        440,
    );
    audio::make_image(&album.join("cover.png"), "orange", 1200, 900);
    let original = std::fs::read(album.join("cover.png")).unwrap();
    on_each_backend(|app| {
        let (root, original) = (root.path().to_owned(), original.clone());
        async move {
            let progress = std::sync::Arc::new(archive_media::Progress::default());
            archive_media::import(app.db(), &[root], progress).await.unwrap();
            let token = app.user(Role::User).await.token;
            let albums = app.db().albums(&Default::default(), &Default::default()).await.unwrap().items;
            let id = albums.iter().find(|a| a.title == "Big Scan").unwrap().id;
            let get = |query: &str| {
                app.client
                    .get(format!("{}/api/v1/albums/{id}/cover{query}", app.base))
                    .bearer_auth(&token)
                    .send()
            };

            let small = get("?size=300").await.unwrap();
            assert_eq!(small.status(), StatusCode::OK);
            assert_eq!(small.headers()["content-type"], "image/jpeg");
            let etag = small.headers()["etag"].to_str().unwrap().to_owned();
            let bytes = small.bytes().await.unwrap();
            // Served at the next size up (320), the shape kept.
            assert_eq!(jpeg_size(&bytes), (320, 240));
            assert!(bytes.len() < original.len(), "{} bytes against {}", bytes.len(), original.len());
            let kept: Vec<_> = std::fs::read_dir(app.data_dir.path().join("thumbnails")).unwrap().collect();
            assert_eq!(kept.len(), 1, "made once and kept");
            let again = get("?size=320").await.unwrap();
            assert_eq!(again.headers()["etag"].to_str().unwrap(), etag, "the same thumbnail");
            assert_eq!(std::fs::read_dir(app.data_dir.path().join("thumbnails")).unwrap().count(), 1);

            let whole = get("").await.unwrap();
            assert_eq!(
                whole.bytes().await.unwrap().as_ref(),
                &original[..],
                "without size, the cover itself"
            );
            for bad in ["?size=0", "?size=5000", "?size=big"] {
                let refused = get(bad).await.unwrap();
                assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_database_and_stored_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("private.mp3");
    audio::make(&mp3, audio::format("mp3"), &audio::full_tags("Private", "Owner", "Only"), 1.0, 440);
    on_each_backend(|app| {
        let mp3 = mp3.clone();
        async move {
            let token = app.user(Role::Moderator).await.token;
            let (status, body) = upload(&app, &token, Form::new().part("file", file_part(&mp3))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            let media = app.data_dir.path().join("media");
            assert_eq!(mode(&media), 0o700, "the media folder");
            for file in stored_files(&app) {
                assert_eq!(mode(&file), 0o600, "{}", file.display());
                assert_eq!(mode(file.parent().unwrap()), 0o700, "{}", file.display());
            }
            if app.test_db.options.database_url.is_none() {
                assert_eq!(mode(&app.test_db.options.sqlite_path), 0o600, "the SQLite database");
            }
        }
    })
    .await;
}

/// Polls the song list until `done` says so (at most 20 s).
async fn songs_until(app: &App, token: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, songs) = app.get("/api/v1/songs?limit=100", token).await;
        assert_eq!(status, StatusCode::OK, "{songs}");
        let items = songs["items"].as_array().unwrap().clone();
        if done(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {songs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn titled<'a>(songs: &'a [Value], title: &str) -> Option<&'a Value> {
    songs.iter().find(|s| s["title"] == title)
}

#[tokio::test]
async fn files_added_moved_and_deleted_in_a_watched_folder_are_in_the_library_within_seconds() {
    if !audio::ffmpeg_available() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(base.path()).unwrap().join("music");
    std::fs::create_dir_all(&root).unwrap();
    let made = base.path().join("made");
    for (i, title) in ["One", "Two", "Three"].iter().enumerate() {
        let path = made.join(format!("0{} - {title}.mp3", i + 1));
        audio::make(
            &path,
            audio::format("mp3"),
            &audio::full_tags(title, "Band", "Live"),
            0.5,
            440 + i as u32,
        );
    }
    let settings = [("ARCHIVE_LIBRARY_ROOTS", root.display().to_string()), ("ARCHIVE_WATCH", "true".into())];
    on_each_backend_with(&settings, |app| {
        let (root, made) = (root.clone(), made.clone());
        async move {
            let token = app.user(Role::Moderator).await.token;
            // An album copied in: one burst of changes, one import.
            let album = root.join(format!("Band-{}", app.test_db.db.backend().name())).join("Live");
            std::fs::create_dir_all(&album).unwrap();
            for entry in std::fs::read_dir(&made).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), album.join(entry.file_name())).unwrap();
            }
            let songs = songs_until(&app, &token, "the copied album's import", |s| s.len() == 3).await;
            let (_, imports) = app.get("/api/v1/imports", &token).await;
            let imports = imports["items"].as_array().unwrap();
            assert_eq!(imports.len(), 1, "one burst, one import: {imports:?}");
            assert_eq!(
                (imports[0]["trigger"].as_str(), &imports[0]["started_by"]),
                (Some("watch"), &Value::Null)
            );

            // A file moved to another folder keeps its song, at its new place.
            let two = titled(&songs, "Two").unwrap()["id"].as_str().unwrap().parse().unwrap();
            let elsewhere = root.join("Elsewhere");
            std::fs::create_dir_all(&elsewhere).unwrap();
            std::fs::rename(album.join("02 - Two.mp3"), elsewhere.join("Two.mp3")).unwrap();
            let db = &app.test_db.db;
            let deadline = Instant::now() + Duration::from_secs(20);
            while !db.file_location(two).await.unwrap().is_some_and(|l| l.path.ends_with("Elsewhere/Two.mp3"))
            {
                assert!(Instant::now() < deadline, "the move was never seen");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(db.file_location(two).await.unwrap().unwrap().status.as_str(), "present");

            // A file deleted is missing from this node; its song stays.
            let three = titled(&songs, "Three").unwrap()["id"].as_str().unwrap().parse().unwrap();
            std::fs::remove_file(album.join("03 - Three.mp3")).unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while db.file_location(three).await.unwrap().unwrap().status.as_str() != "missing" {
                assert!(Instant::now() < deadline, "the deletion was never seen");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(songs_until(&app, &token, "nothing", |_| true).await.len(), 3);

            // Importing reads the files: reading must not look like a change.
            let count = |imports: Value| imports["items"].as_array().unwrap().len();
            let before = count(app.get("/api/v1/imports", &token).await.1);
            tokio::time::sleep(Duration::from_millis(2500)).await;
            assert_eq!(count(app.get("/api/v1/imports", &token).await.1), before, "an import started itself");

            let moderator = app.user(Role::Moderator).await;
            let mut browser = Browser::new(&app);
            browser.log_in(&moderator.email).await;
            let page = browser.page("/imports").await;
            assert!(page.contains("Watching <code>"), "{page}");
            assert!(page.contains("Changes in the folders"), "{page}");
            assert!(page.contains("scanned every 24 hours; the next scan is at"), "{page}");
        }
    })
    .await;
}

#[tokio::test]
async fn with_watching_off_the_import_page_says_so_and_the_scan_still_runs() {
    let base = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(base.path()).unwrap();
    let settings = [
        ("ARCHIVE_LIBRARY_ROOTS", root.display().to_string()),
        ("ARCHIVE_WATCH", "false".into()),
        ("ARCHIVE_SCAN_INTERVAL", "3600".into()),
    ];
    on_each_backend_with(&settings, |app| async move {
        let moderator = app.user(Role::Moderator).await;
        let mut browser = Browser::new(&app);
        browser.log_in(&moderator.email).await;
        let page = browser.page("/imports").await;
        assert!(page.contains("Not watching the folders (<code>ARCHIVE_WATCH</code> is off)"), "{page}");
        assert!(page.contains("scanned every 1 hours"), "{page}");
    })
    .await;
}
