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

    /// A session with Chromium `extra` arguments on top of ours.
    async fn session_with(&self, extra: &[&str]) -> WebDriver {
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
        ]
        .iter()
        .chain(extra)
        {
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
    with_browser_args(name, &[], test).await
}

/// As [`with_browser`], with Chromium `extra` arguments.
async fn with_browser_args<F, Fut>(name: &str, extra: &[&str], test: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(driver) = Driver::start().await else { return };
    let browser = driver.session_with(extra).await;
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

/// The titles of the song rows in `list` (a CSS selector), in order.
async fn row_titles(browser: &WebDriver, list: &str) -> Vec<String> {
    let mut titles = Vec::new();
    for cell in browser.find_all(By::Css(format!("{list} td.title"))).await.unwrap_or_default() {
        titles.push(cell.text().await.unwrap_or_default());
    }
    titles
}

/// Uploads real, tagged MP3s of `seconds` each by a moderator of `app`.
async fn upload_songs(app: &App, titles: &[&str], seconds: f64) {
    let dir = tempfile::tempdir().unwrap();
    let uploader = app.user(Role::Moderator).await;
    for (n, title) in titles.iter().enumerate() {
        let path = dir.path().join(format!("{n}.mp3"));
        let tags = audio::full_tags(title, "Test Band", "Test Album");
        audio::make(&path, audio::format("mp3"), &tags, seconds, 300 + 110 * n as u32);
        let (status, body) = upload(app, &uploader.token, Form::new().part("file", file_part(&path))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// Adds the song `title` to the playlist `playlist` with the picker,
/// making the playlist if it is not there yet.
async fn add_to_playlist(browser: &WebDriver, title: &str, playlist: &str) {
    let open = format!("button[aria-label='Add {title} to a playlist']");
    browser.find(By::Css(open)).await.unwrap().click().await.unwrap();
    appears(browser, By::Css("dialog#picker[open] #picker-list"), "the playlist picker").await;
    let existing = browser
        .find_all(By::XPath(format!("//ul[@class='picker']//button[text()='{playlist}']")))
        .await
        .unwrap();
    match existing.first() {
        Some(button) => button.click().await.unwrap(),
        None => {
            browser.find(By::Id("picker-new")).await.unwrap().send_keys(playlist).await.unwrap();
            browser
                .find(By::XPath("//button[text()='Create and add']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
    }
    let added = format!("//p[@role='status'][text()='Added to {playlist}.']");
    appears(browser, By::XPath(added), "the picker saying the song was added").await;
    browser
        .find(By::XPath("//dialog[@id='picker']//button[text()='Close']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(10, "the picker to close", || async {
        browser.find_all(By::Css("dialog#picker[open]")).await.is_ok_and(|open| open.is_empty())
    })
    .await;
}

#[tokio::test]
async fn a_user_builds_a_playlist_reorders_it_and_plays_it_through_the_queue() {
    if !audio::ffmpeg_available() {
        return;
    }
    let app = App::start(Backend::Sqlite, &[]).await;
    upload_songs(&app, &["First Song", "Second Song", "Third Song"], 12.0).await;
    let listener = app.user(Role::User).await;
    let (base, email) = (app.base.clone(), listener.email.clone());
    with_browser("builds_and_plays_a_playlist", move |browser| async move {
        log_in(&browser, &base, &email).await;
        for title in ["First Song", "Second Song", "Third Song"] {
            add_to_playlist(&browser, title, "Road trip").await;
        }
        browser.find(By::Css("nav a[href='/playlists']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::LinkText("Road trip"), "the new playlist in the list")
            .await
            .click()
            .await
            .unwrap();
        appears(&browser, By::Css("#playlist-entries"), "the playlist's songs").await;
        assert_eq!(
            row_titles(&browser, "#playlist-entries").await,
            ["First Song", "Second Song", "Third Song"]
        );

        // Reorder with the buttons: the list is replaced in place.
        browser
            .find(By::Css("button[aria-label='Move Third Song up']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        eventually(10, "the new order", || async {
            row_titles(&browser, "#playlist-entries").await == ["First Song", "Third Song", "Second Song"]
        })
        .await;

        // Play the playlist; the queue holds it, and Next moves along it.
        browser.find(By::XPath("//button[text()='Play playlist']")).await.unwrap().click().await.unwrap();
        let time = "return document.getElementById('audio').currentTime";
        eventually(15, "the playlist to play", || async { number(&browser, time).await > 0.3 }).await;
        let now_playing =
            || async { browser.find(By::Id("now-playing")).await.unwrap().text().await.unwrap() };
        assert!(now_playing().await.starts_with("First Song"), "{}", now_playing().await);
        assert_eq!(browser.find(By::Id("queue-count")).await.unwrap().text().await.unwrap(), "3");
        browser.find(By::Id("next")).await.unwrap().click().await.unwrap();
        eventually(10, "the next song of the playlist", || async {
            now_playing().await.starts_with("Third Song")
        })
        .await;
        eventually(15, "the next song to play", || async { number(&browser, time).await > 0.3 }).await;
        // Within a song's first seconds, Previous goes back a song.
        browser.find(By::Id("previous")).await.unwrap().click().await.unwrap();
        eventually(10, "the song before", || async { now_playing().await.starts_with("First Song") }).await;

        // Seeking uses range requests: jump near the end and play on from there.
        browser.execute("document.getElementById('audio').currentTime = 9", Vec::new()).await.unwrap();
        eventually(10, "playing on from the seek", || async { number(&browser, time).await > 9.2 }).await;
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_moderator_uploads_files_and_sees_each_ones_result() {
    if !audio::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("Good Take.mp3");
    audio::make(&good, audio::format("mp3"), &audio::full_tags("Good Take", "Uploader", "Demos"), 1.0, 440);
    let bad = dir.path().join("notes.mp3");
    std::fs::write(&bad, "these are not sounds").unwrap();
    let app = App::start(Backend::Sqlite, &[]).await;
    let moderator = app.user(Role::Moderator).await;
    let (base, email) = (app.base.clone(), moderator.email.clone());
    let files = format!("{}\n{}", good.display(), bad.display());
    with_browser("uploads_files", move |browser| async move {
        log_in(&browser, &base, &email).await;
        browser.find(By::Css("nav a[href='/upload']")).await.unwrap().click().await.unwrap();
        let input = appears(&browser, By::Id("upload-files"), "the upload form").await;
        input.send_keys(files).await.unwrap();
        browser.find(By::XPath("//button[text()='Upload']")).await.unwrap().click().await.unwrap();
        let summary = "Done: 1 added, 0 already in the library, 1 not imported.";
        appears(&browser, By::XPath(format!("//p[@id='upload-summary'][text()='{summary}']")), "the summary")
            .await;
        let results = browser.find_all(By::Css("#upload-report td.result")).await.unwrap();
        assert_eq!(results[0].text().await.unwrap(), "Added: Good Take");
        let refusal = results[1].text().await.unwrap();
        assert!(refusal.starts_with("Refused: ") && refusal.contains("notes.mp3"), "{refusal}");

        // The new song is in the library, playable.
        browser.find(By::Css("nav a[href='/']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::XPath("//td[@class='title']/a[text()='Good Take']"), "the uploaded song").await;
    })
    .await;
    app.stop().await;
}

/// The colour the Sync Control Center's health light shows.
async fn light(browser: &WebDriver) -> String {
    match browser.find(By::Css("#sync-health .light")).await {
        Ok(light) => light.attr("data-colour").await.ok().flatten().unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Clicks the button labelled `text`, scrolled to the middle of the window
/// first (as a person would scroll it clear of the player at the foot). A
/// page still settling can move the button under the player between the
/// scroll and the click: then it is scrolled and clicked again, up to five
/// times, as a person would.
async fn click_button(browser: &WebDriver, text: &str) {
    click(browser, By::XPath(format!("//button[normalize-space()='{text}']")), text).await;
}

/// Scrolls the element to the middle of the window and clicks it, again
/// (up to five times) when the page moved something over it or replaced it
/// in between.
async fn click(browser: &WebDriver, by: By, what: &str) {
    use thirtyfour::error::WebDriverErrorInner as Refused;
    const ATTEMPTS: u32 = 5;
    for attempt in 1..=ATTEMPTS {
        let element = appears(browser, by.clone(), what).await;
        browser
            .execute("arguments[0].scrollIntoView({block: 'center'})", vec![element.to_json().unwrap()])
            .await
            .unwrap();
        match element.click().await {
            Ok(()) => return,
            Err(error)
                if attempt < ATTEMPTS
                    && matches!(
                        error.as_inner(),
                        Refused::ElementClickIntercepted(_) | Refused::StaleElementReference(_)
                    ) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(error) => panic!("could not click {what:?}: {error}"),
        }
    }
}

#[tokio::test]
async fn an_admin_sets_up_sync_from_the_pages_and_watches_it_in_the_control_center() {
    use archive_testkit::tls::TestCertificates;
    let certificates = TestCertificates::new();
    let (master, master_admin) = crate::sync::start_master(Backend::Sqlite, &certificates).await;
    let artist = serde_json::json!({"name": "Only On The Master"});
    let (status, _) = master.post("/api/v1/artists", &master_admin.token, artist).await;
    assert_eq!(status, StatusCode::CREATED);
    // Started for sync, with background sync left for the admin to turn on.
    let slave = App::start(
        Backend::Sqlite,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "home".into()),
            ("MASTER_ARCHIVE_URL", master.base.clone()),
            ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
        ],
    )
    .await;
    let slave_admin = slave.user(Role::Admin).await;
    // The two servers are on different host names, so each keeps its own
    // session cookie in the one browser.
    let master_base = master.base.clone();
    let slave_base = slave.base.replace("127.0.0.1", "localhost");
    let (master_email, slave_email) = (master_admin.email.clone(), slave_admin.email.clone());
    // The master's certificate comes from the test's own CA.
    with_browser_args("sets_up_sync", &["--ignore-certificate-errors"], move |browser| async move {
        // On the master: Settings → Archive Sync → Generate slave key.
        log_in(&browser, &master_base, &master_email).await;
        browser.find(By::Css("nav a[href='/settings']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::LinkText("Archive Sync"), "the settings tabs").await.click().await.unwrap();
        appears(&browser, By::Id("key-name"), "the key form").await.send_keys("Home").await.unwrap();
        browser.find(By::Id("key-node")).await.unwrap().send_keys("home").await.unwrap();
        click_button(&browser, "Generate slave key").await;
        let key_field = appears(&browser, By::Id("new-key-value"), "the new key, shown once").await;
        let key = key_field.prop("value").await.unwrap().unwrap_or_default();
        assert!(key.starts_with("arcsync_"), "{key}");

        // On the slave: background sync on, the key entered, the connection tested.
        log_in(&browser, &slave_base, &slave_email).await;
        browser.goto(format!("{slave_base}/settings/sync")).await.unwrap();
        let note = appears(&browser, By::Id("joining-note"), "what joining a master does to accounts").await;
        assert!(note.text().await.unwrap().contains("log in here with your account on the master"));
        let locked = appears(&browser, By::Id("MASTER_ARCHIVE_URL"), "the master URL field").await;
        assert_eq!(locked.attr("disabled").await.unwrap().as_deref(), Some("true"), "set at start: locked");
        appears(&browser, By::Id("slave-key"), "the key field").await.send_keys(&key).await.unwrap();
        click_button(&browser, "Save key").await;
        appears(
            &browser,
            By::XPath("//p[@id='stored-key'][starts-with(., 'A key is stored')]"),
            "the stored key",
        )
        .await;
        click_button(&browser, "Test connection").await;
        appears(&browser, By::XPath("//p[text()='The connection works.']"), "the test's verdict").await;
        let passed = browser.find_all(By::Css("#connection-check li.check.passed")).await.unwrap();
        assert_eq!(passed.len(), 3, "reachable, TLS valid, key accepted");

        // The Sync Control Center: force a sync, see green and the data.
        browser.find(By::Css("nav a[href='/sync']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::Css("#sync-health"), "the health light").await;
        // The controls, like navigation, swap only the page's main part:
        // the player (marked here) stays.
        browser.execute("document.getElementById('audio').dataset.kept = 'yes'", Vec::new()).await.unwrap();
        click_button(&browser, "Force sync now").await;
        appears(&browser, By::XPath("//p[starts-with(., 'Synced:')]"), "the sync's result").await;
        let kept = browser
            .execute("return document.getElementById('audio').dataset.kept", Vec::new())
            .await
            .unwrap();
        assert_eq!(kept.json(), "yes", "Force sync now replaced the whole page, and with it the player");
        // Joining: the master's accounts replaced the slave's own, as the
        // page said; the admin logs in with their account on the master.
        log_in(&browser, &slave_base, &master_email).await;
        browser.goto(format!("{slave_base}/settings/sync")).await.unwrap();
        click(&browser, By::Id("SYNC_ENABLED"), "the enable box").await;
        click_button(&browser, "Save sync settings").await;
        appears(&browser, By::XPath("//p[text()='Sync settings saved and in force.']"), "the saved notice")
            .await;
        browser.goto(format!("{slave_base}/sync")).await.unwrap();
        eventually(10, "the light to turn green", || async { light(&browser).await == "green" }).await;
        browser.goto(format!("{slave_base}/artists")).await.unwrap();
        appears(&browser, By::LinkText("Only On The Master"), "the master's data on the slave").await;

        // Pause turns it yellow; an emergency stop (confirmed) red.
        browser.goto(format!("{slave_base}/sync")).await.unwrap();
        appears(&browser, By::Css("#sync-health"), "the health light").await;
        browser.execute("document.getElementById('audio').dataset.kept = 'yes'", Vec::new()).await.unwrap();
        click_button(&browser, "Pause").await;
        eventually(10, "the light to turn yellow", || async { light(&browser).await == "yellow" }).await;
        click_button(&browser, "Emergency stop").await;
        eventually(10, "the confirmation", || async { browser.accept_alert().await.is_ok() }).await;
        eventually(10, "the light to turn red", || async { light(&browser).await == "red" }).await;
        let reason = browser.find(By::Css("#sync-health .reason")).await.unwrap().text().await.unwrap();
        assert!(reason.contains("emergency stop"), "{reason}");
        let kept = browser
            .execute("return document.getElementById('audio').dataset.kept", Vec::new())
            .await
            .unwrap();
        assert_eq!(kept.json(), "yes", "a control replaced the whole page, and with it the player");

        // The master lists its slave.
        browser.goto(format!("{master_base}/sync")).await.unwrap();
        appears(&browser, By::Css("tr[data-node='home']"), "the slave on the master's Control Center").await;
    })
    .await;
    slave.stop().await;
    master.stop().await;
}

#[tokio::test]
async fn after_a_password_change_the_pages_controls_keep_working() {
    let app = App::start(Backend::Sqlite, &[]).await;
    let mut tx = app.db().begin().await.unwrap();
    tx.insert_song(archive_db::NewSong { title: "Starred".into(), ..Default::default() }).await.unwrap();
    tx.commit().await.unwrap();
    let user = app.user(Role::User).await;
    let (base, email) = (app.base.clone(), user.email.clone());
    with_browser("password_change", move |browser| async move {
        log_in(&browser, &base, &email).await;
        browser.goto(format!("{base}/profile")).await.unwrap();
        appears(&browser, By::Id("current-password"), "the password form")
            .await
            .send_keys(PASSWORD)
            .await
            .unwrap();
        browser.find(By::Id("new-password")).await.unwrap().send_keys("another long password").await.unwrap();
        click_button(&browser, "Change password").await;
        appears(
            &browser,
            By::XPath("//p[@role='status'][starts-with(., 'Your password is changed')]"),
            "the notice",
        )
        .await;
        // The new session's CSRF token is what the page's scripts now send.
        browser.find(By::Css("nav a[href='/']")).await.unwrap().click().await.unwrap();
        appears(&browser, By::Css("#song-list button.fav"), "the songs").await.click().await.unwrap();
        eventually(10, "the star to turn on", || async {
            match browser.find(By::Css("#song-list button.fav")).await {
                Ok(star) => star.attr("aria-pressed").await.is_ok_and(|v| v.as_deref() == Some("true")),
                Err(_) => false,
            }
        })
        .await;
    })
    .await;
    app.stop().await;
}
