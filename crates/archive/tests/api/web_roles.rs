//! The page role matrix: every page, opened with no session and as each
//! role, answers as its access rule says, and every page that changes
//! something refuses a form without the session's CSRF token. The table
//! below is the expectation; the test fails when a page is added without a
//! line here.

use archive::web::{PageAccess, pages};
use archive_db::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};

use crate::support::{App, on_each_backend};

/// Every page and who may open it.
const EXPECTED: &[(&str, &str, PageAccess)] = {
    use PageAccess::{Admin, Moderator, Public, User};
    &[
        ("GET", "/", User),
        ("GET", "/artists", User),
        ("GET", "/artists/{id}", User),
        ("POST", "/artists/{id}", Moderator),
        ("POST", "/artists/{id}/delete", Admin),
        ("GET", "/albums", User),
        ("GET", "/albums/{id}", User),
        ("POST", "/albums/{id}", Moderator),
        ("POST", "/albums/{id}/delete", Admin),
        ("GET", "/genres", User),
        ("GET", "/genres/{id}", User),
        ("POST", "/genres/{id}", Moderator),
        ("POST", "/genres/{id}/delete", Admin),
        ("GET", "/songs/{id}", User),
        ("POST", "/songs/{id}", Moderator),
        ("POST", "/songs/{id}/delete", Admin),
        ("GET", "/favourites", User),
        ("GET", "/recent", User),
        ("GET", "/most-played", User),
        ("POST", "/songs/{id}/favourite", User),
        ("POST", "/songs/{id}/pin", User),
        ("POST", "/profile/{kind}", User),
        ("POST", "/profile/{kind}/{id}/delete", User),
        ("POST", "/albums/{id}/pin", User),
        ("POST", "/playlists/{id}/pin", User),
        ("POST", "/songs/{id}/rating", User),
        ("GET", "/playlists", User),
        ("POST", "/playlists", User),
        ("GET", "/playlists/picker", User),
        ("GET", "/playlists/{id}", User),
        ("POST", "/playlists/{id}", User),
        ("POST", "/playlists/{id}/delete", User),
        ("POST", "/playlists/{id}/entries", User),
        ("POST", "/playlists/{id}/entries/{entry_id}/move", User),
        ("POST", "/playlists/{id}/entries/{entry_id}/delete", User),
        ("GET", "/upload", Moderator),
        ("GET", "/imports", Moderator),
        ("POST", "/imports", Moderator),
        ("GET", "/imports/{id}", Moderator),
        ("GET", "/login", Public),
        ("POST", "/login", Public),
        ("GET", "/setup", Public),
        ("POST", "/setup", Public),
        ("POST", "/logout", User),
        ("GET", "/profile", User),
        ("POST", "/profile", User),
        ("POST", "/profile/password", User),
        ("GET", "/admin/users", Admin),
        ("POST", "/admin/users", Admin),
        ("POST", "/admin/users/{id}", Admin),
        ("POST", "/admin/users/{id}/delete", Admin),
        ("GET", "/settings", Admin),
        ("POST", "/settings", Admin),
        ("GET", "/settings/sync", Admin),
        ("POST", "/settings/sync", Admin),
        ("POST", "/settings/sync/slave-key", Admin),
        ("POST", "/settings/sync/test", Admin),
        ("POST", "/settings/sync/keys", Admin),
        ("POST", "/settings/sync/keys/{id}/revoke", Admin),
        ("GET", "/sync", Admin),
        ("POST", "/sync/now", Admin),
        ("POST", "/sync/{action}", Admin),
        ("GET", "/assets/{name}", Public),
    ]
};

fn allows(access: PageAccess, role: Option<Role>) -> bool {
    match (access, role) {
        (PageAccess::Public, _) => true,
        (_, None) => false,
        (PageAccess::User, Some(_)) => true,
        (PageAccess::Moderator, Some(role)) => role >= Role::Moderator,
        (PageAccess::Admin, Some(role)) => role == Role::Admin,
    }
}

#[test]
fn every_page_has_an_expected_access_rule_and_no_other_exists() {
    let actual: Vec<(String, &str, PageAccess)> =
        pages().iter().map(|p| (p.method.to_string(), p.path, p.access)).collect();
    for (method, path, access) in &actual {
        match EXPECTED.iter().find(|(m, p, _)| m == method && p == path) {
            None => panic!("{method} {path} is not in the page role matrix: add it to EXPECTED"),
            Some((_, _, want)) => assert_eq!(access, want, "{method} {path}"),
        }
    }
    for (method, path, _) in EXPECTED {
        assert!(actual.iter().any(|(m, p, _)| m == method && p == path), "{method} {path} is not routed");
    }
}

/// One request as a browser would make it: the session cookie of `session`
/// (if any), a form with `csrf` (if any), redirects not followed.
async fn open(
    app: &App,
    method: &str,
    path: &str,
    session: Option<&str>,
    csrf: Option<&str>,
) -> (StatusCode, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = format!("{}{path}", app.base);
    let mut request = match method {
        "GET" => client.get(url),
        _ => {
            let body = csrf.map(|token| format!("csrf={token}")).unwrap_or_default();
            client.post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body)
        }
    };
    if let Some(session) = session {
        request = request.header(COOKIE, format!("archive_session={session}"));
    }
    let response = request.send().await.unwrap();
    let location =
        response.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), location)
}

fn sends_to_login(status: StatusCode, location: &str) -> bool {
    status.is_redirection() && location == "/login"
}

#[tokio::test]
async fn every_page_answers_every_role_as_its_rule_says_and_every_form_needs_the_csrf_token() {
    on_each_backend(|app| async move {
        let mut users = Vec::new();
        for role in Role::ALL {
            users.push((role, app.user(role).await.id));
        }
        for (method, path, access) in EXPECTED {
            // Random ids: allowed callers get past the access check and then
            // find nothing, never a refusal or the login page.
            let concrete = path
                .replace("{id}", &uuid::Uuid::new_v4().to_string())
                .replace("{entry_id}", &uuid::Uuid::new_v4().to_string())
                .replace("{action}", "resume")
                .replace("{name}", "app.css");

            let (status, location) = open(&app, method, &concrete, None, None).await;
            if *access == PageAccess::Public && *method == "GET" {
                // The first-start page gives way to the login page once accounts exist.
                assert!(!sends_to_login(status, &location) || *path == "/setup", "{method} {path}: {status}");
                assert!(!status.is_client_error(), "{method} {path} without a session: {status}");
            } else if *access == PageAccess::Public {
                // Logging in and the first start have a token of their own,
                // from their form's page: an empty form is refused.
                assert!(status.is_client_error(), "{method} {path} with an empty form: {status}");
            } else {
                assert!(
                    sends_to_login(status, &location),
                    "{method} {path} without a session: {status} {location}"
                );
            }
            if *access == PageAccess::Public {
                continue;
            }
            for (role, user_id) in &users {
                // A fresh session per call: logging out ends the one it gets.
                let session = app.token_for(*user_id).await;
                let csrf = archive::auth::session::csrf_token(&session);
                let (status, location) = open(&app, method, &concrete, Some(&session), Some(&csrf)).await;
                if allows(*access, Some(*role)) {
                    // Logging out ends at the login page; nothing else sends a logged-in user there.
                    let logs_out = *path == "/logout";
                    assert!(
                        status != StatusCode::FORBIDDEN && (logs_out == sends_to_login(status, &location)),
                        "{method} {path} as {role:?}: {status} {location}"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role:?}");
                }
                if *method == "POST" && allows(*access, Some(*role)) {
                    let session = app.token_for(*user_id).await;
                    let (status, _) = open(&app, method, &concrete, Some(&session), None).await;
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {path} as {role:?} without the CSRF token"
                    );
                    let other = archive::auth::session::csrf_token("another session");
                    let (status, _) = open(&app, method, &concrete, Some(&session), Some(&other)).await;
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {path} as {role:?} with another session's token"
                    );
                }
            }
        }
    })
    .await;
}
