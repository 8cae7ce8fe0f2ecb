//! The web interface in a real headless Chromium, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`), on a real server with real
//! audio. Without them these tests say so and skip, unless
//! `ARCHIVE_TEST_REQUIRE_BROWSER=1` (CI). A failing test saves a screenshot
//! under `target/tmp/browser-screenshots/`.

use std::future::Future;
use std::process::Stdio;
use std::time::{Duration, Instant};

use archive_db::{Backend, Role};
use archive_testkit::audio;
use reqwest::StatusCode;
use reqwest::multipart::Form;
use thirtyfour::prelude::*;

use crate::media::{file_part, upload};
use crate::support::{App, PASSWORD};

/// A chromedriver of this test, killed when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

fn browser_required() -> bool {
    std::env::var("ARCHIVE_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

impl Driver {
    /// Starts chromedriver on a free port; `None` (after saying so) when
    /// Chromium or its driver is not installed and not required.
    async fn start() -> Option<Driver> {
        let installed = ["chromium", "chromedriver"].iter().all(|tool| {
            std::process::Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
        });
        if !installed {
            assert!(
                !browser_required(),
                "ARCHIVE_TEST_REQUIRE_BROWSER=1 but chromium or chromedriver is missing"
            );
            eprintln!("skipped: chromium and chromedriver are not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let process = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Driver { _process: process, url: format!("http://127.0.0.1:{port}") })
    }

    async fn session(&self) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium").unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg).unwrap();
        }
        WebDriver::new(&self.url, caps).await.expect("a Chromium session")
    }
}

/// Runs `test` with a browser session; on a failure, saves a screenshot
/// named after the test and fails with the test's message.
async fn with_browser<F, Fut>(name: &str, test: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(driver) = Driver::start().await else { return };
    let browser = driver.session().await;
    let outcome = tokio::spawn(test(browser.clone())).await;
    if outcome.is_err() {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        match browser.screenshot(&path).await {
            Ok(()) => eprintln!("screenshot of the failure: {}", path.display()),
            Err(e) => eprintln!("could not save a screenshot: {e}"),
        }
    }
    let _ = browser.quit().await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Polls `check` until it holds, for at most `seconds`.
async fn eventually<F, Fut>(seconds: u64, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn number(browser: &WebDriver, script: &str) -> f64 {
    browser.execute(script, Vec::new()).await.unwrap().json().as_f64().unwrap_or(0.0)
}

/// The element `by` finds, waiting for it to appear (pages load and swap
/// in the background of the test): at most 20 s.
async fn appears(browser: &WebDriver, by: By, what: &str) -> WebElement {
    browser
        .query(by)
        .wait(Duration::from_secs(20), Duration::from_millis(100))
        .first()
        .await
        .unwrap_or_else(|e| panic!("{what} did not appear: {e}"))
}

async fn log_in(browser: &WebDriver, base: &str, email: &str) {
    browser.goto(format!("{base}/")).await.unwrap();
    appears(browser, By::Id("email"), "the login form").await.send_keys(email).await.unwrap();
    browser.find(By::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    browser.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    appears(browser, By::Css("#song-list"), "the songs page after logging in").await;
}

#[tokio::test]
async fn a_user_logs_in_searches_and_a_song_keeps_playing_while_they_browse() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (title, frequency) in [("Long Tone", 440), ("Other Tune", 660)] {
        let path = dir.path().join(format!("{title}.mp3"));
        audio::make(
            &path,
            audio::format("mp3"),
            &audio::full_tags(title, "Test Band", "Test Album"),
            20.0,
            frequency,
        );
        files.push(path);
    }
    let app = App::start(Backend::Sqlite, &[]).await;
    let uploader = app.user(Role::Moderator).await;
    for file in &files {
        let (status, body) = upload(&app, &uploader.token, Form::new().part("file", file_part(file))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let listener = app.user(Role::User).await;
    let (base, email) = (app.base.clone(), listener.email.clone());
    with_browser("logs_in_searches_and_plays", move |browser| async move {
        log_in(&browser, &base, &email).await;
        let rows = browser.find_all(By::Css("#song-list tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 2);

        // Instant search: typing narrows the list without a page load.
        browser.execute("document.body.dataset.loadedOnce = 'yes'", Vec::new()).await.unwrap();
        browser.find(By::Id("q")).await.unwrap().send_keys("long").await.unwrap();
        eventually(10, "the search to narrow the list", || async {
            browser.find_all(By::Css("#song-list tbody tr")).await.map(|r| r.len() == 1).unwrap_or(false)
        })
        .await;
        let title = browser.find(By::Css("#song-list tbody td.title")).await.unwrap();
        assert_eq!(title.text().await.unwrap(), "Long Tone");

        // Favourite: the star turns on in place.
        browser.find(By::Css("#song-list button.fav")).await.unwrap().click().await.unwrap();
        eventually(10, "the song to become a favourite", || async {
            match browser.find(By::Css("#song-list button.fav")).await {
                Ok(star) => star.attr("aria-pressed").await.is_ok_and(|v| v.as_deref() == Some("true")),
                Err(_) => false,
            }
        })
        .await;

        // Play: the audio element's time advances.
        browser.find(By::Css("button[data-play]")).await.unwrap().click().await.unwrap();
        let time = "return document.getElementById('audio').currentTime";
        eventually(15, "the song to play", || async { number(&browser, time).await > 0.5 }).await;
        let now_playing = browser.find(By::Id("now-playing")).await.unwrap().text().await.unwrap();
        assert!(now_playing.contains("Long Tone"), "{now_playing}");

        // Navigate (a boosted link swaps only <main>): still the same page
        // load, the same player, still playing.
        let before = number(&browser, time).await;
        browser.find(By::Css("nav a[href='/artists']")).await.unwrap().click().await.unwrap();
        eventually(10, "the artists page", || async {
            match browser.find(By::Css("#main h1")).await {
                Ok(h1) => h1.text().await.is_ok_and(|t| t == "Artists"),
                Err(_) => false,
            }
        })
        .await;
        appears(&browser, By::LinkText("Test Band"), "the uploaded songs' artist").await;
        let same_load = browser.execute("return document.body.dataset.loadedOnce", Vec::new()).await.unwrap();
        assert_eq!(same_load.json(), "yes", "navigation reloaded the page and with it the player");
        eventually(10, "the song to keep playing", || async { number(&browser, time).await > before + 1.0 })
            .await;
        let paused =
            browser.execute("return document.getElementById('audio').paused", Vec::new()).await.unwrap();
        assert_eq!(paused.json(), false);
        // Half of the 20 s song played: it counts as played.
        eventually(20, "half of the song", || async { number(&browser, time).await > 10.5 }).await;
    })
    .await;
    // The play was recorded, once.
    let request = archive_db::SearchRequest { query: "long tone".into(), limit: 1, offset: 0 };
    let song = app.db().search_songs(&request).await.unwrap().items[0].id;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.db().listening(listener.id, song).await.unwrap().play_count == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.db().listening(listener.id, song).await.unwrap().play_count, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_admin_creates_a_user_who_cannot_open_the_admin_pages() {
    let app = App::start(Backend::Sqlite, &[]).await;
    let admin = app.user(Role::Admin).await;
    let (base, email) = (app.base.clone(), admin.email.clone());
    with_browser("admin_creates_a_user", move |browser| async move {
        log_in(&browser, &base, &email).await;
        browser.find(By::Css("nav a[href='/admin/users']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::Id("new-name"), "the users page").await.send_keys("Mo").await.unwrap();
        browser.find(By::Id("new-email")).await.unwrap().send_keys("mo@example.org").await.unwrap();
        browser.find(By::Id("new-password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        browser.find(By::XPath("//button[text()='Create user']")).await.unwrap().click().await.unwrap();
        eventually(10, "the new user in the list", || async {
            browser.source().await.is_ok_and(|html| html.contains("mo@example.org"))
        })
        .await;

        browser.find(By::XPath("//button[text()='Log out']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::Id("email"), "the login page after logging out").await;
        log_in(&browser, &base, "mo@example.org").await;
        assert!(browser.find_all(By::Css("nav a[href='/admin/users']")).await.unwrap().is_empty());
        browser.goto(format!("{base}/admin/users")).await.unwrap();
        let body = browser.find(By::Css("body")).await.unwrap().text().await.unwrap();
        assert!(body.contains("This page is for admins."), "{body}");
    })
    .await;
    app.stop().await;
}
