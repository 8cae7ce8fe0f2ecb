//! The role matrix: every route, called with no token and as each role,
//! answers as its access rule says. The table below is the expectation; the
//! test fails when a route is added to the API without a line here.

use archive::api::{Access, routes};
use archive_db::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::on_each_backend;

/// Every route and who may call it.
const EXPECTED: &[(&str, &str, Access)] = {
    use Access::{Admin, Moderator, Public, Slave, User};
    &[
        ("GET", "/api/v1/health", Public),
        ("GET", "/api/v1/openapi.json", Public),
        ("POST", "/api/v1/auth/login", Public),
        ("POST", "/api/v1/auth/logout", User),
        ("POST", "/api/v1/auth/refresh", User),
        ("GET", "/api/v1/auth/verify", User),
        ("GET", "/api/v1/me", User),
        ("PATCH", "/api/v1/me", User),
        ("GET", "/api/v1/me/favourites", User),
        ("GET", "/api/v1/me/recently-played", User),
        ("GET", "/api/v1/me/most-played", User),
        ("GET", "/api/v1/me/subsonic-keys", User),
        ("POST", "/api/v1/me/subsonic-keys", User),
        ("DELETE", "/api/v1/me/subsonic-keys/{id}", User),
        ("GET", "/api/v1/me/subsonic-app-passwords", User),
        ("POST", "/api/v1/me/subsonic-app-passwords", User),
        ("DELETE", "/api/v1/me/subsonic-app-passwords/{id}", User),
        ("GET", "/api/v1/artists", User),
        ("POST", "/api/v1/artists", Moderator),
        ("GET", "/api/v1/artists/{id}", User),
        ("PATCH", "/api/v1/artists/{id}", Moderator),
        ("DELETE", "/api/v1/artists/{id}", Admin),
        ("GET", "/api/v1/genres", User),
        ("POST", "/api/v1/genres", Moderator),
        ("GET", "/api/v1/genres/{id}", User),
        ("PATCH", "/api/v1/genres/{id}", Moderator),
        ("DELETE", "/api/v1/genres/{id}", Admin),
        ("GET", "/api/v1/albums", User),
        ("POST", "/api/v1/albums", Moderator),
        ("GET", "/api/v1/albums/{id}", User),
        ("PATCH", "/api/v1/albums/{id}", Moderator),
        ("DELETE", "/api/v1/albums/{id}", Admin),
        ("GET", "/api/v1/songs", User),
        ("POST", "/api/v1/songs", Moderator),
        ("GET", "/api/v1/songs/{id}", User),
        ("PATCH", "/api/v1/songs/{id}", Moderator),
        ("DELETE", "/api/v1/songs/{id}", Admin),
        ("GET", "/api/v1/search", User),
        ("GET", "/api/v1/albums/{id}/cover", User),
        ("GET", "/api/v1/imports", Moderator),
        ("POST", "/api/v1/imports", Moderator),
        ("GET", "/api/v1/imports/{id}", Moderator),
        ("GET", "/api/v1/songs/{id}/stream", User),
        ("GET", "/api/v1/songs/{id}/download", User),
        ("GET", "/api/v1/songs/{id}/listening", User),
        ("POST", "/api/v1/songs/{id}/play", User),
        ("PUT", "/api/v1/songs/{id}/favourite", User),
        ("DELETE", "/api/v1/songs/{id}/favourite", User),
        ("PUT", "/api/v1/songs/{id}/rating", User),
        ("GET", "/api/v1/playlists", User),
        ("POST", "/api/v1/playlists", User),
        ("GET", "/api/v1/playlists/{id}", User),
        ("PATCH", "/api/v1/playlists/{id}", User),
        ("DELETE", "/api/v1/playlists/{id}", User),
        ("POST", "/api/v1/songs/{id}/pin", User),
        ("DELETE", "/api/v1/songs/{id}/pin", User),
        ("POST", "/api/v1/albums/{id}/pin", User),
        ("DELETE", "/api/v1/albums/{id}/pin", User),
        ("POST", "/api/v1/playlists/{id}/pin", User),
        ("DELETE", "/api/v1/playlists/{id}/pin", User),
        ("GET", "/api/v1/playlists/{id}/entries", User),
        ("POST", "/api/v1/playlists/{id}/entries", User),
        ("PATCH", "/api/v1/playlists/{id}/entries/{entry_id}", User),
        ("DELETE", "/api/v1/playlists/{id}/entries/{entry_id}", User),
        ("GET", "/api/v1/users", Admin),
        ("POST", "/api/v1/users", Admin),
        ("GET", "/api/v1/users/{id}", Admin),
        ("PATCH", "/api/v1/users/{id}", Admin),
        ("DELETE", "/api/v1/users/{id}", Admin),
        ("GET", "/api/v1/sync/ping", Slave),
        ("GET", "/api/v1/sync/changes", Slave),
        ("POST", "/api/v1/sync/apply", Slave),
        ("POST", "/api/v1/sync/bootstrap", Slave),
        ("GET", "/api/v1/sync/bootstrap/{table}", Slave),
        ("POST", "/api/v1/sync/files/batch", Slave),
        ("POST", "/api/v1/sync/files/fetch", Admin),
        ("GET", "/api/v1/sync/files/{sha256}", Slave),
        ("PATCH", "/api/v1/sync/files/{sha256}", Slave),
        ("GET", "/api/v1/sync/status", Admin),
        ("POST", "/api/v1/sync/now", Admin),
        ("GET", "/api/v1/sync/digest", Admin),
        ("GET", "/api/v1/sync/keys", Admin),
        ("POST", "/api/v1/sync/keys", Admin),
        ("DELETE", "/api/v1/sync/keys/{id}", Admin),
        ("POST", "/api/v1/sync/pause", Admin),
        ("POST", "/api/v1/sync/resume", Admin),
        ("POST", "/api/v1/sync/emergency-stop", Admin),
        ("POST", "/api/v1/sync/clear-stop", Admin),
        ("POST", "/api/v1/sync/clear-failed", Admin),
        ("GET", "/api/v1/sync/slaves", Admin),
        ("GET", "/api/v1/sync/conflicts", Admin),
    ]
};

#[test]
fn every_route_has_an_expected_access_rule_and_no_other_exists() {
    let actual: Vec<(String, &str, Access)> =
        routes().iter().map(|r| (r.method.to_string(), r.path, r.access)).collect();
    for (method, path, access) in &actual {
        let expected = EXPECTED.iter().find(|(m, p, _)| m == method && p == path);
        match expected {
            None => {
                panic!("{method} {path} is not in the role matrix: add it to EXPECTED with who may call it")
            }
            Some((_, _, want)) => assert_eq!(access, want, "{method} {path}"),
        }
    }
    for (method, path, _) in EXPECTED {
        assert!(
            actual.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is expected but not routed"
        );
    }
}

#[test]
fn the_openapi_document_describes_every_route_and_only_routes() {
    assert_eq!(archive::api::openapi::undescribed(), Vec::<String>::new(), "routes without a description");
}

#[tokio::test]
async fn the_openapi_document_is_served_and_lists_exactly_the_routed_operations() {
    on_each_backend(|app| async move {
        let (status, document) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(document["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        let mut routed: Vec<(String, String)> =
            routes().iter().map(|r| (r.method.to_string(), r.path.to_owned())).collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
        assert!(document["components"]["schemas"]["Error"].is_object());
    })
    .await;
}

#[tokio::test]
async fn every_route_answers_every_role_as_its_rule_says() {
    on_each_backend(|app| async move {
        let mut users = Vec::new();
        for role in Role::ALL {
            users.push((Some(role), app.user(role).await.id));
        }
        for (method, path, access) in EXPECTED {
            // Random ids: allowed callers get past the access check and then
            // find nothing (404) or a body that does not fit (422), never 401/403.
            let concrete = path
                .replace("{id}", &uuid::Uuid::new_v4().to_string())
                .replace("{entry_id}", &uuid::Uuid::new_v4().to_string())
                .replace("{table}", "songs")
                .replace("{sha256}", &"ab".repeat(32));
            let method: Method = method.parse().unwrap();
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let (status, _) = app.call(method.clone(), &concrete, None, body.clone()).await;
            if *access == Access::Public {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {path}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token");
            }
            for (role, user_id) in &users {
                // A fresh token per call: logout and refresh revoke the one they get.
                let token = app.token_for(*user_id).await;
                let (status, body) = app.call(method.clone(), &concrete, Some(&token), body.clone()).await;
                if *access == Access::Slave {
                    // A user's token is not a slave key, whatever the role.
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} as {role:?}: {body}");
                } else if access.allows(*role) {
                    assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{method} {path} as {role:?}: {status} {body}"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role:?}: {body}");
                }
                // HEAD works wherever GET does, under the same rule.
                if method == Method::GET {
                    let token = app.token_for(*user_id).await;
                    let (head, _) = app.call(Method::HEAD, &concrete, Some(&token), None).await;
                    assert_eq!(head, status, "HEAD {path} as {role:?} answers as GET does");
                }
            }
            if method == Method::GET {
                let (head, _) = app.call(Method::HEAD, &concrete, None, None).await;
                let (get, _) = app.call(Method::GET, &concrete, None, None).await;
                assert_eq!(head, get, "HEAD {path} without a token answers as GET does");
            }
        }
    })
    .await;
}
