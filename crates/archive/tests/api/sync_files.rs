//! Audio files between nodes, the master's side, over HTTPS with slave
//! keys, on each database: which files the master holds (`batch`), their
//! bytes by hash (ranges, `If-Range`), and a slave's file received in
//! pieces, kept only when its bytes hash to its name.

use std::time::Duration;

use archive_db::{Backend, NewSong};
use archive_testkit::audio;
use archive_testkit::tls::TestCertificates;
use reqwest::header::{ETAG, IF_RANGE, RANGE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::media::upload;
use crate::support::{App, TestUser, code};
use crate::sync::start_master_with;

/// A master serving HTTPS, its admin, and a read-write and a read-only slave key.
struct Master {
    app: App,
    admin: TestUser,
    key: String,
    read_only_key: String,
    _certificates: TestCertificates,
}

impl Master {
    async fn start(backend: Backend, settings: &[(&'static str, String)]) -> Master {
        let certificates = TestCertificates::new();
        let (app, admin) = start_master_with(backend, &certificates, settings).await;
        let mut keys = Vec::new();
        for (name, read_only) in [("home", false), ("office", true)] {
            let body = json!({"name": name, "node_id": name, "read_only": read_only});
            let (status, issued) = app.post("/api/v1/sync/keys", &admin.token, body).await;
            assert_eq!(status, StatusCode::CREATED, "{issued}");
            keys.push(issued["key"].as_str().unwrap().to_owned());
        }
        let read_only_key = keys.pop().unwrap();
        let key = keys.pop().unwrap();
        Master { app, admin, key, read_only_key, _certificates: certificates }
    }

    async fn batch(&self, key: &str, operation: &str, objects: &[(&str, usize)]) -> (StatusCode, Value) {
        let objects: Vec<Value> = objects.iter().map(|(h, s)| json!({"sha256": h, "size": s})).collect();
        let body = json!({"operation": operation, "objects": objects});
        self.app.call(Method::POST, "/api/v1/sync/files/batch", Some(key), Some(body)).await
    }

    /// The one object of a batch about `sha256`.
    async fn ask(&self, operation: &str, sha256: &str, size: usize) -> Value {
        let (status, answer) = self.batch(&self.key, operation, &[(sha256, size)]).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["objects"][0].clone()
    }

    async fn get(
        &self,
        sha256: &str,
        headers: &[(reqwest::header::HeaderName, String)],
    ) -> reqwest::Response {
        let url = format!("{}/api/v1/sync/files/{sha256}", self.app.base);
        let mut request = self.app.client.get(url).bearer_auth(&self.key);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }

    /// Sends `piece` as the bytes of the file from `offset`.
    async fn send(
        &self,
        key: &str,
        sha256: &str,
        offset: usize,
        length: usize,
        piece: Vec<u8>,
    ) -> (StatusCode, Value) {
        let response = self.send_piece(key, sha256, offset, length, piece).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send_piece(
        &self,
        key: &str,
        sha256: &str,
        offset: usize,
        length: usize,
        piece: Vec<u8>,
    ) -> reqwest::Response {
        let url = format!("{}/api/v1/sync/files/{sha256}", self.app.base);
        self.app
            .client
            .patch(url)
            .bearer_auth(key)
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Length", length.to_string())
            .body(piece)
            .send()
            .await
            .unwrap()
    }

    /// Sends each of `files` whole with the read-write key; their hashes.
    async fn received(&self, files: &[&Vec<u8>]) -> Vec<String> {
        let mut hashes = Vec::new();
        for bytes in files {
            let hash = sha256(bytes);
            let (status, answer) = self.send(&self.key, &hash, 0, bytes.len(), (*bytes).clone()).await;
            assert_eq!(status, StatusCode::CREATED, "{answer}");
            hashes.push(hash);
        }
        hashes
    }

    /// Another read-write slave key.
    async fn another_key(&self, node_id: &str) -> String {
        let body = json!({"name": node_id, "node_id": node_id});
        let (status, issued) = self.app.post("/api/v1/sync/keys", &self.admin.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        issued["key"].as_str().unwrap().to_owned()
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A few seconds of tagged MP3, its bytes.
fn mp3(name: &str, frequency: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    audio::make(&path, audio::format("mp3"), &audio::full_tags(name, "Sender", "Pieces"), 3.0, frequency);
    std::fs::read(&path).unwrap()
}

fn mp3_part(bytes: &[u8]) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("Held.mp3")
}

/// Runs `test` on a fresh master on each database (when ffmpeg can make
/// the audio it needs).
async fn on_each_master<F, Fut>(test: F)
where
    F: Fn(Master) -> Fut,
    Fut: std::future::Future<Output = Master>,
{
    on_each_master_with(&[], test).await
}

/// As [`on_each_master`], with the master's `settings` on top.
async fn on_each_master_with<F, Fut>(settings: &[(&'static str, String)], test: F)
where
    F: Fn(Master) -> Fut,
    Fut: std::future::Future<Output = Master>,
{
    if !audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let m = test(Master::start(backend, settings).await).await;
        m.app.stop().await;
    }
}

#[tokio::test]
async fn a_slave_key_sends_at_most_its_daily_quota_and_another_key_is_not_held_back() {
    let (first, second) = (mp3("First.mp3", 440), mp3("Second.mp3", 550));
    let half = second.len() / 2;
    // The first file and half of the second, to the byte.
    let quota = format!("{}", (first.len() + half) as f64 / 1e9);
    let (first, second) = (&first, &second);
    on_each_master_with(&[("SYNC_UPLOAD_GB_PER_DAY", quota.clone())], |m| async move {
        let (first_hash, second_hash) = (sha256(first), sha256(second));
        let (status, answer) = m.send(&m.key, &first_hash, 0, first.len(), first.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        // A batch that needs no file that fits in what is left is refused, so
        // that the slave sends nothing; one that needs nothing is answered.
        let (status, answer) = m.batch(&m.key, "upload", &[(&second_hash, second.len())]).await;
        assert_eq!((status, code(&answer)), (StatusCode::TOO_MANY_REQUESTS, "upload_quota"), "{answer}");
        assert_eq!(m.ask("upload", &first_hash, first.len()).await["status"], "present");

        // A piece that does not fit is refused before it is read.
        let refused = m.send_piece(&m.key, &second_hash, 0, second.len(), second.clone()).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry_after), "until the next UTC day: {retry_after}");
        let answer: Value = refused.json().await.unwrap();
        assert_eq!(code(&answer), "upload_quota", "{answer}");
        assert!(answer.to_string().contains("SYNC_UPLOAD_GB_PER_DAY"), "{answer}");
        // (Asked with another key, which has its own quota.)
        let office = m.another_key("office").await;
        let (_, asked) = m.batch(&office, "upload", &[(&second_hash, second.len())]).await;
        assert_eq!(asked["objects"][0]["received"], 0, "nothing was kept: {asked}");

        // What fits is taken, and counted, to the byte.
        let (status, answer) = m.send(&m.key, &second_hash, 0, second.len(), second[..half].to_vec()).await;
        assert_eq!((status, answer["received"].as_u64()), (StatusCode::OK, Some(half as u64)), "{answer}");
        let (status, answer) =
            m.send(&m.key, &second_hash, half, second.len(), second[half..].to_vec()).await;
        assert_eq!((status, code(&answer)), (StatusCode::TOO_MANY_REQUESTS, "upload_quota"), "{answer}");

        // A file larger than a whole day's quota is refused for good (its
        // song goes without it), and holds no batch back. (The piece is
        // 16 MiB, twice a slave's; on loopback its answer arrives whether or
        // not the master drains the body, so this does not test the drain.)
        let huge = vec![7u8; 16 * 1024 * 1024];
        let huge_hash = sha256(&huge);
        assert_eq!(m.ask("upload", &huge_hash, huge.len()).await["status"], "needed");
        let (status, answer) = m.send(&m.key, &huge_hash, 0, huge.len(), huge.clone()).await;
        assert_eq!((status, code(&answer)), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"), "{answer}");
        assert!(answer.to_string().contains("SYNC_UPLOAD_GB_PER_DAY"), "{answer}");

        // The other key finishes the file.
        let (status, answer) =
            m.send(&office, &second_hash, half, second.len(), second[half..].to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(sha256(&m.get(&second_hash, &[]).await.bytes().await.unwrap()), second_hash);
        m
    })
    .await;
}

#[tokio::test]
async fn files_a_slave_sent_that_no_song_names_are_swept_after_their_wait_and_claimed_ones_stay() {
    let (junk, claimed) = (mp3("Junk.mp3", 440), mp3("Claimed.mp3", 550));
    let (junk, claimed) = (&junk, &claimed);
    on_each_master(|m| async move {
        let [junk_hash, claimed_hash] = <[String; 2]>::try_from(m.received(&[junk, claimed]).await).unwrap();
        let mut tx = m.app.db().begin().await.unwrap();
        tx.insert_song(NewSong {
            title: "Claimed".into(),
            content_hash: Some(claimed_hash.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let junk_path = m.app.db().content_file(&junk_hash).await.unwrap().unwrap().path;

        // Within their wait, both stay.
        let swept = archive::sync::files::sweep_unclaimed(m.app.db(), archive_db::now()).await.unwrap();
        assert_eq!(swept.files, 0);
        // Once it is over, the one no song names goes, from the database and the disk.
        let later = archive_db::now() + archive::sync::files::UNCLAIMED_FOR + chrono::TimeDelta::seconds(1);
        let swept = archive::sync::files::sweep_unclaimed(m.app.db(), later).await.unwrap();
        assert_eq!((swept.files, swept.bytes), (1, junk.len() as u64));
        assert!(!std::path::Path::new(&junk_path).exists(), "{junk_path} is deleted");
        assert_eq!(m.get(&junk_hash, &[]).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(m.ask("upload", &junk_hash, junk.len()).await["status"], "needed", "it may come again");
        assert_eq!(sha256(&m.get(&claimed_hash, &[]).await.bytes().await.unwrap()), claimed_hash);
        m
    })
    .await;
}

/// Sets a time column of every content file to `ago` before now.
async fn set_received_files_time(db: &archive_db::Db, column: &str, ago: chrono::TimeDelta) {
    let at = (archive_db::now() - ago).to_rfc3339();
    let mut tx = db.begin().await.unwrap();
    tx.execute_unchecked(&format!("UPDATE content_files SET {column} = '{at}'")).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_received_file_that_a_slave_asks_about_again_or_a_user_uploaded_too_is_not_swept() {
    let (asked, shared) = (mp3("Asked.mp3", 440), mp3("Shared.mp3", 550));
    let (asked, shared) = (&asked, &shared);
    on_each_master(|m| async move {
        let [asked_hash, shared_hash] = <[String; 2]>::try_from(m.received(&[asked, shared]).await).unwrap();
        // A user uploads the same bytes as one of them: kept at the same path.
        let form = reqwest::multipart::Form::new().part("file", mp3_part(shared));
        let (status, answer) = upload(&m.app, &m.admin.token, form).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let shared_path = m.app.db().content_file(&shared_hash).await.unwrap().unwrap().path;
        let db = m.app.db();
        let arrived_days_ago =
            |days| set_received_files_time(db, "created_at", chrono::TimeDelta::days(days));
        let asked_hours_ago =
            |hours| set_received_files_time(db, "wanted_at", chrono::TimeDelta::hours(hours));
        // Both arrived ten days ago; then no song names either (an edit
        // pushed by a slave may change a song's hash).
        arrived_days_ago(10).await;
        let mut tx = m.app.db().begin().await.unwrap();
        tx.execute_unchecked("UPDATE songs SET content_hash = NULL").await.unwrap();
        tx.commit().await.unwrap();

        // A slave asks about one again (its push was held back): it waits a week more.
        assert_eq!(m.ask("upload", &asked_hash, asked.len()).await["status"], "present");
        let swept = archive::sync::files::sweep_unclaimed(m.app.db(), archive_db::now()).await.unwrap();
        assert_eq!(swept.files, 0, "neither the one asked about nor the user's upload");
        assert!(std::path::Path::new(&shared_path).exists());
        assert_eq!(m.ask("download", &asked_hash, asked.len()).await["status"], "available");

        // But not for ever: a month after it came it goes, unless a batch
        // named it within the day (its push follows). The user's file stays.
        arrived_days_ago(31).await;
        asked_hours_ago(2).await;
        let swept = archive::sync::files::sweep_unclaimed(m.app.db(), archive_db::now()).await.unwrap();
        assert_eq!(swept.files, 0, "asked for two hours ago");
        asked_hours_ago(48).await;
        let swept = archive::sync::files::sweep_unclaimed(m.app.db(), archive_db::now()).await.unwrap();
        assert_eq!((swept.files, swept.bytes), (1, asked.len() as u64));
        assert!(std::path::Path::new(&shared_path).exists(), "the user's upload is never swept");

        // A batch that names a file that old removes it at once and asks for it anew.
        let (status, answer) = m.send(&m.key, &asked_hash, 0, asked.len(), asked.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        arrived_days_ago(31).await;
        assert_eq!(m.ask("upload", &asked_hash, asked.len()).await["status"], "needed");
        assert!(m.app.db().content_file(&asked_hash).await.unwrap().is_none());
        assert!(std::path::Path::new(&shared_path).exists());
        m
    })
    .await;
}

#[tokio::test]
async fn uploads_and_pushes_that_would_leave_the_disk_less_than_its_free_space_are_refused_before_any_byte_is_kept()
 {
    let bytes = mp3("Roomless.mp3", 440);
    let bytes = &bytes;
    // More free space than any test machine has.
    on_each_master_with(&[("ARCHIVE_MIN_FREE_GB", "1000000".into())], |m| async move {
        let hash = sha256(bytes);
        let (status, answer) = m.send(&m.key, &hash, 0, bytes.len(), bytes.clone()).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage"),
            "{answer}"
        );
        assert!(answer.to_string().contains("ARCHIVE_MIN_FREE_GB"), "{answer}");
        assert_eq!(m.ask("upload", &hash, bytes.len()).await["received"], 0);

        let form = reqwest::multipart::Form::new().part("file", mp3_part(bytes));
        let (status, answer) = upload(&m.app, &m.admin.token, form).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage"),
            "{answer}"
        );
        let (_, songs) = m.app.get("/api/v1/songs", &m.admin.token).await;
        assert_eq!(songs["items"].as_array().map(Vec::len), Some(0), "{songs}");

        // Nor does a slave's push grow the database on that disk.
        let push = json!({"changes": []});
        let (status, answer) = m.app.call(Method::POST, "/api/v1/sync/apply", Some(&m.key), Some(push)).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage"),
            "{answer}"
        );
        m
    })
    .await;
}

#[tokio::test]
async fn a_slave_downloads_a_file_the_master_holds_by_its_hash_and_resumes_with_a_range() {
    on_each_master(|m| async move {
        let bytes = mp3("Held.mp3", 440);
        let (status, uploaded) =
            upload(&m.app, &m.admin.token, reqwest::multipart::Form::new().part("file", mp3_part(&bytes)))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        let hash = sha256(&bytes);
        let unknown = sha256(b"no such file");

        let (status, answer) = m.batch(&m.read_only_key, "download", &[(&hash, 0), (&unknown, 10)]).await;
        assert_eq!(status, StatusCode::OK, "a read-only key may download: {answer}");
        let objects = answer["objects"].as_array().unwrap();
        assert_eq!(objects[0]["status"], "available", "{answer}");
        assert_eq!(objects[0]["size"], bytes.len(), "the master says the size it holds");
        assert_eq!(objects[0]["href"], format!("/api/v1/sync/files/{hash}"));
        assert_eq!(objects[1]["status"], "missing", "{answer}");

        let whole = m.get(&hash, &[]).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let etag = whole.headers().get(ETAG).expect("a strong ETag").to_str().unwrap().to_owned();
        assert!(!etag.starts_with("W/"), "{etag}");
        assert_eq!(sha256(&whole.bytes().await.unwrap()), hash, "the bytes hash to their name");

        // A download cut off at byte 1000 resumes there while the file is the same.
        let rest = m.get(&hash, &[(RANGE, "bytes=1000-".into()), (IF_RANGE, etag.clone())]).await;
        assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(rest.bytes().await.unwrap().as_ref(), &bytes[1000..]);
        // With a validator that no longer matches, the whole file comes instead.
        let changed = m.get(&hash, &[(RANGE, "bytes=1000-".into()), (IF_RANGE, "\"other\"".into())]).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.bytes().await.unwrap().len(), bytes.len());

        assert_eq!(m.get(&unknown, &[]).await.status(), StatusCode::NOT_FOUND);
        let (status, body) =
            m.app.call(Method::GET, "/api/v1/sync/files/NOT-A-HASH", Some(&m.key), None).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}");
        let (status, _) =
            m.app.call(Method::GET, &format!("/api/v1/sync/files/{hash}"), Some(&m.admin.token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a user's token is not a slave key");
        m
    })
    .await;
}

#[tokio::test]
async fn a_slaves_file_arrives_in_pieces_and_then_plays_on_the_master() {
    on_each_master(|m| async move {
        let bytes = mp3("Pieces.mp3", 660);
        let (hash, size, half) = (sha256(&bytes), bytes.len(), bytes.len() / 2);

        let asked = m.ask("upload", &hash, size).await;
        assert_eq!(
            (asked["status"].as_str(), asked["received"].as_u64()),
            (Some("needed"), Some(0)),
            "{asked}"
        );

        let (status, answer) = m.send(&m.key, &hash, 0, size, bytes[..half].to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            (answer["status"].as_str(), answer["received"].as_u64()),
            (Some("partial"), Some(half as u64))
        );
        let asked = m.ask("upload", &hash, size).await;
        assert_eq!(asked["received"], half, "the batch says where to resume: {asked}");
        assert_eq!(m.ask("download", &hash, size).await["status"], "missing", "half a file is not offered");

        let (status, answer) = m.send(&m.key, &hash, 0, size, bytes.clone()).await;
        assert_eq!((status, code(&answer)), (StatusCode::CONFLICT, "wrong_offset"), "{answer}");

        let (status, answer) = m.send(&m.key, &hash, half, size, bytes[half..].to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["status"], "stored");
        assert_eq!(m.ask("upload", &hash, size).await["status"], "present", "nothing more to send");
        assert_eq!(m.ask("download", &hash, size).await["status"], "available");
        assert_eq!(sha256(&m.get(&hash, &[]).await.bytes().await.unwrap()), hash);

        // The song's row arrives after its file (as a slave pushes them):
        // the master plays it from the bytes it received.
        let mut tx = m.app.db().begin().await.unwrap();
        let song = tx
            .insert_song(NewSong {
                title: "Pieces".into(),
                format: Some("mp3".into()),
                file_size: Some(size as i64),
                content_hash: Some(hash.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let url = format!("{}/api/v1/songs/{}/stream", m.app.base, song.id);
        let played = m.app.client.get(url).bearer_auth(&m.admin.token).send().await.unwrap();
        assert_eq!(played.status(), StatusCode::OK);
        assert_eq!(played.bytes().await.unwrap().len(), size);
        let here = m.app.db().songs_here(&[song.id]).await.unwrap();
        assert!(here.contains(&song.id), "its pages say it plays here");
        m
    })
    .await;
}

#[tokio::test]
async fn an_upload_killed_half_way_resumes_from_the_bytes_that_arrived() {
    on_each_master(|m| async move {
        let bytes = mp3("Killed.mp3", 330);
        let (hash, size) = (sha256(&bytes), bytes.len());

        // The body stops with an error two thirds of the way: the connection dies.
        let cut = size * 2 / 3;
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(bytes[..cut / 2].to_vec()),
            Ok(bytes[cut / 2..cut].to_vec()),
            Err(std::io::Error::other("the slave lost its connection")),
        ];
        let url = format!("{}/api/v1/sync/files/{hash}", m.app.base);
        let killed = m
            .app
            .client
            .patch(url)
            .bearer_auth(&m.key)
            .header("Upload-Offset", "0")
            .header("Upload-Length", size.to_string())
            .body(reqwest::Body::wrap_stream(futures_util::StreamExt::then(
                futures_util::stream::iter(pieces),
                |piece| async move {
                    // The pieces go out before the connection dies.
                    if piece.is_err() {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    piece
                },
            )))
            .send()
            .await;
        assert!(killed.is_err(), "the request failed: {killed:?}");

        // Counted against the key's quota: the bytes that arrived, and no
        // more, however the connection died (the rest is given back).
        let prefix = archive::sync::keys::prefix_of(&m.key).expect("a slave key");
        let key_id = m.app.db().slave_key_by_prefix(prefix).await.unwrap().expect("issued").id;
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let mut counted = (0, 0);
        for _ in 0..50 {
            let received = m.ask("upload", &hash, size).await["received"].as_u64().unwrap();
            counted = (received, m.app.db().uploaded_bytes(key_id, &day).await.unwrap());
            if counted.0 == counted.1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(counted.1, counted.0, "bytes counted against the quota, against bytes that arrived");

        // Resume from what the master says it has; it may still be writing
        // the last piece for a moment (then it answers that it is busy).
        let mut sent_again = None;
        for _ in 0..50 {
            let received = m.ask("upload", &hash, size).await["received"].as_u64().unwrap() as usize;
            let (status, answer) = m.send(&m.key, &hash, received, size, bytes[received..].to_vec()).await;
            if status == StatusCode::CREATED {
                sent_again = Some(size - received);
                break;
            }
            assert_eq!(status, StatusCode::CONFLICT, "{answer}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let sent_again = sent_again.expect("the upload finished");
        assert!(sent_again < size, "the second request sent {sent_again} of {size} bytes");
        assert_eq!(sha256(&m.get(&hash, &[]).await.bytes().await.unwrap()), hash);
        m
    })
    .await;
}

#[tokio::test]
async fn bytes_that_do_not_hash_to_their_name_or_are_not_audio_are_refused_and_nothing_is_kept() {
    on_each_master(|m| async move {
        let bytes = mp3("Altered.mp3", 880);
        let (hash, size) = (sha256(&bytes), bytes.len());

        // One byte altered in transit.
        let mut altered = bytes.clone();
        altered[size / 2] ^= 0xff;
        let (status, answer) = m.send(&m.key, &hash, 0, size, altered).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"), "{answer}");
        let asked = m.ask("upload", &hash, size).await;
        assert_eq!(asked["received"], 0, "the bad bytes were thrown away: {asked}");
        assert_eq!(m.get(&hash, &[]).await.status(), StatusCode::NOT_FOUND, "never served");
        // Sent again, right, it is kept.
        let (status, answer) = m.send(&m.key, &hash, 0, size, bytes.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");

        // Bytes that hash to their name but are not audio.
        let text = b"not a song at all, only text".repeat(100);
        let text_hash = sha256(&text);
        let (status, answer) = m.send(&m.key, &text_hash, 0, text.len(), text.clone()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
        assert_eq!(m.get(&text_hash, &[]).await.status(), StatusCode::NOT_FOUND);

        // More bytes than announced.
        let (status, answer) = m.send(&m.key, &text_hash, 0, 10, text.clone()).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{answer}");

        // A read-only key pulls and never pushes, files included.
        let (status, answer) = m.batch(&m.read_only_key, "upload", &[(&hash, size)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        let (status, answer) = m.send(&m.read_only_key, &sha256(b"x"), 0, 1, b"x".to_vec()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        m
    })
    .await;
}

#[tokio::test]
async fn a_batch_refuses_bad_hashes_and_too_many_files() {
    for backend in archive_testkit::backends() {
        let m = Master::start(backend, &[]).await;
        let (status, answer) = m.batch(&m.key, "download", &[("ABCDEF", 1)]).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{answer}");
        let hash = sha256(b"one");
        let many: Vec<(&str, usize)> = (0..1001).map(|_| (hash.as_str(), 1)).collect();
        let (status, answer) = m.batch(&m.key, "download", &many).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{answer}");
        let (status, answer) = m.send(&m.key, &hash, 0, 1usize << 40, b"one".to_vec()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        let url = format!("{}/api/v1/sync/files/{hash}", m.app.base);
        let bare = m.app.client.patch(url).bearer_auth(&m.key).body(b"one".to_vec()).send().await.unwrap();
        assert_eq!(
            bare.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Upload-Offset and Upload-Length are required"
        );

        // Files stop with the rest of sync while an operator holds it.
        let (status, _) = m.app.post("/api/v1/sync/pause", &m.admin.token, json!({})).await;
        assert!(status.is_success(), "{status}");
        let (status, answer) = m.batch(&m.key, "download", &[(&hash, 1)]).await;
        assert_eq!((status, code(&answer)), (StatusCode::SERVICE_UNAVAILABLE, "sync_paused"), "{answer}");
        let (status, answer) = m.send(&m.key, &hash, 0, 3, b"one".to_vec()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
        assert_eq!(m.get(&hash, &[]).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        m.app.stop().await;
    }
}

#[tokio::test]
async fn an_upload_piece_on_a_slow_link_may_outlast_the_request_time_limit() {
    if !audio::ffmpeg_available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    // SQLite only: this is about the transport, not the database.
    let certificates = TestCertificates::new();
    let (mut app, admin) = crate::sync::start_master(Backend::Sqlite, &certificates).await;
    app.restart(&[("ARCHIVE_REQUEST_TIMEOUT", "5".into())]).await;
    let body = json!({"name": "home", "node_id": "home"});
    let (status, issued) = app.post("/api/v1/sync/keys", &admin.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let key = issued["key"].as_str().unwrap().to_owned();
    let bytes = mp3("Slow.mp3", 600);
    let hash = sha256(&bytes);
    // Seven pieces a second apart: longer than the 5 s limit, with no pause
    // near the body time limit.
    let size = bytes.len();
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(size.div_ceil(7)).map(|c| Ok(c.to_vec())).collect();
    let slow = futures_util::StreamExt::then(futures_util::stream::iter(pieces), |piece| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        piece
    });
    let response = app
        .client
        .patch(format!("{}/api/v1/sync/files/{hash}", app.base))
        .bearer_auth(&key)
        .header("Upload-Offset", "0")
        .header("Upload-Length", size.to_string())
        .body(reqwest::Body::wrap_stream(slow))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    app.stop().await;
}
