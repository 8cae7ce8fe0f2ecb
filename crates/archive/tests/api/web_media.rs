//! The upload and import pages over HTTP: who may open them, and an
//! import of a server folder with its live progress and per-file report.

use std::time::{Duration, Instant};

use archive_db::Role;
use archive_testkit::audio;
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::support::{on_each_backend, on_each_backend_with};
use crate::web::{Browser, hidden_csrf};

#[tokio::test]
async fn only_moderators_and_admins_see_and_open_the_upload_and_import_pages() {
    on_each_backend(|app| async move {
        let user = app.user(Role::User).await;
        let mut browser = Browser::new(&app);
        let home = browser.log_in(&user.email).await;
        assert!(!home.contains(r#"href="/upload""#) && !home.contains(r#"href="/imports""#));
        for path in ["/upload", "/imports"] {
            let refused = browser.get(path).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
            assert!(refused.text().await.unwrap().contains("This page is for moderators and admins."));
        }

        for role in [Role::Moderator, Role::Admin] {
            let allowed = app.user(role).await;
            let mut browser = Browser::new(&app);
            let home = browser.log_in(&allowed.email).await;
            assert!(home.contains(r#"href="/upload""#) && home.contains(r#"href="/imports""#), "{role}");
            let upload = browser.page("/upload").await;
            assert!(upload.contains(r#"<input id="upload-files" name="file" type="file" multiple"#));
            assert!(upload.contains("up to 1024 MiB each"), "the page names the upload limit");
            let imports = browser.page("/imports").await;
            assert!(
                imports.contains("No library folder is set up") && imports.contains("ARCHIVE_LIBRARY_ROOTS")
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_folder_import_shows_its_progress_then_every_file_that_failed_and_why() {
    if !audio::ffmpeg_available() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("music");
    for (n, title) in ["Morning", "Noon"].iter().enumerate() {
        let path = root.join(format!("Band/Record/0{} - {title}.mp3", n + 1));
        audio::make(&path, audio::format("mp3"), &audio::full_tags(title, "Band", "Record"), 0.5, 440);
    }
    std::fs::write(root.join("Band/Record/03 - Broken.mp3"), b"not audio at all").unwrap();
    let outside = base.path().join("private");
    std::fs::create_dir_all(&outside).unwrap();
    let roots = std::fs::canonicalize(&root).unwrap().display().to_string();
    on_each_backend_with(&[("ARCHIVE_LIBRARY_ROOTS", roots.clone())], |app| {
        let (roots, outside) = (roots.clone(), outside.clone());
        async move {
            let moderator = app.user(Role::Moderator).await;
            let mut browser = Browser::new(&app);
            let csrf = hidden_csrf(&browser.log_in(&moderator.email).await);
            let page = browser.page("/imports").await;
            assert!(page.contains(&format!("<code>{roots}</code>")), "the library folders are listed");

            let refused = browser
                .post_form("/imports", &[("csrf", &csrf), ("folder", &outside.display().to_string())])
                .await;
            assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.text().await.unwrap().contains("is not a folder under a library root."));
            let forged = browser.post_form("/imports", &[("csrf", "forged"), ("folder", "Band")]).await;
            assert_eq!(forged.status(), StatusCode::FORBIDDEN);

            let started = browser.post_form("/imports", &[("csrf", &csrf), ("folder", "Band")]).await;
            assert_eq!(started.status(), StatusCode::SEE_OTHER);
            let job = started.headers()[LOCATION].to_str().unwrap().to_owned();
            assert!(job.starts_with("/imports/"), "{job}");

            // The page polls itself while the import runs, and stops when done.
            let deadline = Instant::now() + Duration::from_secs(30);
            let done = loop {
                let page = browser.page(&job).await;
                if page.contains("Done:") {
                    break page;
                }
                assert!(page.contains(r#"hx-trigger="every 1s""#), "a running import's page polls");
                assert!(Instant::now() < deadline, "the import did not finish");
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert!(done.contains("Done: 2 imported, 0 already known, 1 failed"), "{done}");
            assert!(!done.contains("hx-trigger="), "a finished import's page stops polling");
            assert!(done.contains("Files that were not imported") && done.contains("03 - Broken.mp3"));
            let listed = browser.page("/imports").await;
            assert!(listed.contains(&format!(r#"<a href="{job}">"#)), "recent imports are listed");
            let request = archive_db::SearchRequest { query: "morning".into(), limit: 5, offset: 0 };
            assert_eq!(app.db().search_songs(&request).await.unwrap().items.len(), 1);
        }
    })
    .await;
}
