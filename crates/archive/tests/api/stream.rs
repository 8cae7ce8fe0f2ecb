//! Streaming and downloading audio with HTTP ranges.

use std::sync::Arc;

use archive_db::Role;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_RANGES, CONTENT_DISPOSITION, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, RANGE,
};
use serde_json::json;

use archive_testkit::audio;

use crate::support::{App, code, on_each_backend};

/// Makes a FLAC file with ffmpeg and imports it; `None` without ffmpeg.
async fn imported_song(app: &App, dir: &std::path::Path) -> Option<(String, std::path::PathBuf)> {
    if !audio::ffmpeg_available() {
        return None;
    }
    let path = dir.join("Artist/Album/01 - Tone.flac");
    audio::make(&path, audio::format("flac"), &[], 1.0, 440);
    let progress = Arc::new(archive_media::Progress::default());
    let report = archive_media::import(app.db(), &[dir.to_owned()], progress).await.unwrap();
    assert_eq!(report.imported, 1);
    let songs = app.db().songs(&Default::default(), &Default::default()).await.unwrap();
    Some((songs.items[0].id.to_string(), path))
}

#[tokio::test]
async fn streams_whole_files_and_byte_ranges_with_validators() {
    on_each_backend(|app| async move {
        let dir = tempfile::tempdir().unwrap();
        let Some((id, path)) = imported_song(&app, dir.path()).await else { return };
        let bytes = std::fs::read(&path).unwrap();
        let size = bytes.len();
        let token = app.user(Role::User).await.token;
        let url = format!("{}/api/v1/songs/{id}/stream", app.base);
        let get = |range: Option<&str>, if_range: Option<&str>| {
            let mut req = app.client.get(&url).bearer_auth(&token);
            if let Some(r) = range {
                req = req.header(RANGE, r);
            }
            if let Some(v) = if_range {
                req = req.header(IF_RANGE, v);
            }
            req.send()
        };

        let full = get(None, None).await.unwrap();
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()[CONTENT_TYPE], "audio/flac");
        assert_eq!(full.headers()[ACCEPT_RANGES], "bytes");
        let etag = full.headers()[ETAG].to_str().unwrap().to_owned();
        assert!(full.headers().contains_key("last-modified"));
        assert_eq!(full.bytes().await.unwrap().as_ref(), &bytes[..]);

        let part = get(Some("bytes=0-99"), None).await.unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers()[CONTENT_RANGE].to_str().unwrap(), format!("bytes 0-99/{size}"));
        assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[..100]);

        let tail = get(Some("bytes=-100"), None).await.unwrap();
        assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[size - 100..]);

        let beyond = get(Some(&format!("bytes={size}-")), None).await.unwrap();
        assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(beyond.headers()[CONTENT_RANGE].to_str().unwrap(), format!("bytes */{size}"));

        let same = get(Some("bytes=10-19"), Some(&etag)).await.unwrap();
        assert_eq!(
            same.status(),
            StatusCode::PARTIAL_CONTENT,
            "If-Range with the current ETag keeps the range"
        );
        let changed = get(Some("bytes=10-19"), Some("\"some-older-version\"")).await.unwrap();
        assert_eq!(changed.status(), StatusCode::OK, "If-Range with another ETag sends the whole file");
        assert_eq!(changed.bytes().await.unwrap().len(), size);

        let not_modified =
            app.client.get(&url).bearer_auth(&token).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

        let download = app
            .client
            .get(format!("{}/api/v1/songs/{id}/download", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), StatusCode::OK);
        let disposition = download.headers()[CONTENT_DISPOSITION].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"Tone.flac\""), "{disposition}");

        assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn a_song_without_its_file_here_is_not_on_this_node() {
    on_each_backend(|app| async move {
        let m = app.user(Role::Moderator).await.token;
        let (_, song) = app.post("/api/v1/songs", &m, json!({"title": "Elsewhere"})).await;
        let (status, body) =
            app.get(&format!("/api/v1/songs/{}/stream", song["id"].as_str().unwrap()), &m).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(code(&body), "not_on_this_node");
        let (status, body) = app.get(&format!("/api/v1/songs/{}/stream", uuid::Uuid::new_v4()), &m).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(code(&body), "not_found");

        let dir = tempfile::tempdir().unwrap();
        let Some((id, path)) = imported_song(&app, dir.path()).await else { return };
        std::fs::remove_file(path).unwrap();
        let (status, body) = app.get(&format!("/api/v1/songs/{id}/download"), &m).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(code(&body), "not_on_this_node");
    })
    .await;
}
