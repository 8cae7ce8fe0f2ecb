//! On a slave, accounts are the master's: a change to one is made on the
//! master at once, as the user who asks (their password checked there),
//! and arrives back with the pull; with the master away, the slave says so.

use archive_db::{Backend, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{PASSWORD, code};
use crate::sync::{Pair, shared_user};

async fn login(app: &crate::support::App, email: &str, password: &str) -> StatusCode {
    let body = json!({"email": email, "password": password});
    app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await.0
}

#[tokio::test]
async fn on_a_slave_a_user_changes_their_own_account_on_the_master() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    pair.sync().await;
    let (_, user) = shared_user(&pair, Role::User).await;

    // On a slave every change needs the user's password, which is checked.
    let (status, body) = pair.slave.patch("/api/v1/me", &user.token, json!({"name": "Renamed"})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")),
        "{body}"
    );
    let wrong = json!({"name": "Renamed", "current_password": "not it at all"});
    let (status, _) = pair.slave.patch("/api/v1/me", &user.token, wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let rename = json!({"name": "Renamed", "current_password": PASSWORD});
    let (status, body) = pair.slave.patch("/api/v1/me", &user.token, rename).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Renamed", "the change came back with the pull: {body}");
    assert_eq!(pair.master.db().user(user.id).await.unwrap().unwrap().name, "Renamed");

    let change = json!({"password": "a new one for both nodes", "current_password": PASSWORD});
    let (status, body) = pair.slave.patch("/api/v1/me", &user.token, change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].is_string(), "a new session on the slave: {body}");
    let (status, _) = pair.slave.get("/api/v1/me", &user.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old sessions ended");
    assert_eq!(login(&pair.master, &user.email, "a new one for both nodes").await, StatusCode::OK);
    assert_eq!(login(&pair.slave, &user.email, "a new one for both nodes").await, StatusCode::OK);
    assert_eq!(login(&pair.master, &user.email, PASSWORD).await, StatusCode::UNAUTHORIZED);
    pair.assert_in_step().await;
    pair.stop().await;
}

#[tokio::test]
async fn an_admin_on_a_slave_manages_users_through_the_master_and_is_told_when_it_is_away() {
    let backend = *archive_testkit::backends().last().unwrap();
    let pair = Pair::start(backend, Backend::Sqlite).await;
    pair.sync().await;
    let admin = &pair.slave_admin;
    let new = json!({
        "email": "new@example.org", "name": "New", "role": "user", "password": "a good long password",
    });
    let (status, body) = pair.slave.post("/api/v1/users", &admin.token, new.clone()).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")),
        "{body}"
    );
    let mut with_password = new.clone();
    with_password["current_password"] = json!(PASSWORD);
    let (status, created) = pair.slave.post("/api/v1/users", &admin.token, with_password).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(pair.master.db().user_by_email("new@example.org").await.unwrap().is_some(), "made on the master");
    assert!(pair.slave.db().user_by_email("new@example.org").await.unwrap().is_some(), "and pulled here");

    let promote = json!({"role": "moderator", "current_password": PASSWORD});
    let (status, body) = pair.slave.patch(&format!("/api/v1/users/{id}"), &admin.token, promote).await;
    assert_eq!((status, body["role"].as_str()), (StatusCode::OK, Some("moderator")), "{body}");

    // The master's rules hold: the last admin stays an admin.
    let demote = json!({"role": "user", "current_password": PASSWORD});
    let (status, body) = pair.slave.patch(&format!("/api/v1/users/{}", admin.id), &admin.token, demote).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "master_refused"), "{body}");

    let response = pair
        .slave
        .client
        .delete(format!("{}/api/v1/users/{id}", pair.slave.base))
        .bearer_auth(&admin.token)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(pair.master.db().user_by_email("new@example.org").await.unwrap().is_none());
    assert!(pair.slave.db().user_by_email("new@example.org").await.unwrap().is_none());
    pair.assert_in_step().await;

    // With the master away, the slave says that the master is needed.
    let Pair { master, slave, slave_admin, .. } = pair;
    master.stop().await;
    let mut again = new;
    again["current_password"] = json!(PASSWORD);
    let (status, body) = slave.post("/api/v1/users", &slave_admin.token, again).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "master_unreachable"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("master"), "{body}");
    slave.stop().await;
}

#[tokio::test]
async fn a_slaves_profile_and_users_pages_say_where_accounts_are_kept_and_change_them_there() {
    use crate::web::{Browser, hidden_csrf};
    let pair = Pair::start(Backend::Sqlite, Backend::Sqlite).await;
    pair.sync().await;
    let (_, user) = shared_user(&pair, Role::User).await;
    let mut browser = Browser::new(&pair.slave);
    let csrf = hidden_csrf(&browser.log_in(&user.email).await);
    let profile = browser.page("/profile").await;
    assert!(
        profile.contains(r#"id="accounts-on-master""#) && profile.contains(&pair.master.base),
        "{profile}"
    );
    assert!(profile.contains(r#"id="name-password""#), "the name form asks for the password");
    let saved = browser
        .post_form(
            "/profile",
            &[("csrf", &csrf), ("name", "Named On A Slave"), ("current_password", PASSWORD)],
        )
        .await;
    assert!(saved.status().is_success() || saved.status().is_redirection(), "{}", saved.status());
    assert_eq!(pair.master.db().user(user.id).await.unwrap().unwrap().name, "Named On A Slave");

    let mut admin = Browser::new(&pair.slave);
    admin.log_in(&pair.slave_admin.email).await;
    let users = admin.page("/admin/users").await;
    assert!(users.contains(r#"id="accounts-on-master""#) && users.contains(r#"id="new-own-password""#));
    pair.stop().await;
}
