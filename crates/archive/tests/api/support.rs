//! A running Archive server on a fresh database, and users to call it as.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use archive::config::Config;
use archive::serve::Server;
use archive_db::{Backend, NewUser, Role};
use archive_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

pub struct App {
    pub base: String,
    pub client: reqwest::Client,
    pub test_db: Arc<TestDb>,
    /// This server's own data directory (uploads land here).
    pub data_dir: Arc<tempfile::TempDir>,
    /// The CA certificate (PEM) the test client trusts, for a server on HTTPS.
    pub ca_pem: Option<Vec<u8>>,
    server: Option<Server>,
    flags: BTreeMap<&'static str, String>,
}

/// A password every test user has.
pub const PASSWORD: &str = "correct horse battery";

impl App {
    /// A server with `settings` (variable, value) on top of the defaults.
    pub async fn start(backend: Backend, settings: &[(&'static str, String)]) -> App {
        Self::start_trusting(backend, settings, None).await
    }

    /// A server whose test client trusts the CA certificate `ca` (a server
    /// started with `ARCHIVE_TLS_CERT` and `ARCHIVE_TLS_KEY`).
    pub async fn start_trusting(
        backend: Backend,
        settings: &[(&'static str, String)],
        ca: Option<&Path>,
    ) -> App {
        let test_db = TestDb::new(backend).await.expect("backend available");
        Self::start_on(test_db, settings, ca).await
    }

    /// A server on the database given.
    pub async fn start_on(test_db: TestDb, settings: &[(&'static str, String)], ca: Option<&Path>) -> App {
        let data_dir = tempfile::tempdir().unwrap();
        let mut flags = BTreeMap::new();
        if let Some(url) = &test_db.options.database_url {
            flags.insert("DATABASE_URL", url.clone());
        }
        flags.insert("ARCHIVE_DATA_DIR", data_dir.path().display().to_string());
        flags.insert("ARCHIVE_BIND", "127.0.0.1:0".into());
        // Tests that start imports themselves must not race the watcher;
        // the tests of watching turn it on.
        flags.insert("ARCHIVE_WATCH", "false".into());
        // Uploads must not depend on the free space of the machine running
        // the tests; the floor's own test sets one.
        flags.insert("ARCHIVE_MIN_FREE_GB", "0".into());
        for (var, value) in settings {
            flags.insert(var, value.clone());
        }
        archive::sync::install_crypto_provider();
        let mut client = reqwest::Client::builder();
        let ca_pem = ca.map(|ca| std::fs::read(ca).unwrap());
        if let Some(pem) = &ca_pem {
            client = client.tls_certs_only([reqwest::Certificate::from_pem(pem).unwrap()]);
        }
        let mut app = App {
            base: String::new(),
            client: client.build().unwrap(),
            test_db: Arc::new(test_db),
            data_dir: Arc::new(data_dir),
            ca_pem,
            server: None,
            flags,
        };
        app.serve().await;
        app
    }

    async fn serve(&mut self) {
        let config = Config::load(&self.flags, &BTreeMap::new()).expect("test configuration");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::start(listener, self.db().clone(), config).await.unwrap();
        self.base = server.base_url();
        self.server = Some(server);
    }

    /// Stops the server and starts it again on the same database and data
    /// directory, with `settings` changed (on a new port).
    pub async fn restart(&mut self, settings: &[(&'static str, String)]) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        for (var, value) in settings {
            self.flags.insert(var, value.clone());
        }
        self.serve().await;
    }

    /// Stops the server (in-flight requests finish first).
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }

    pub fn db(&self) -> &archive_db::Db {
        &self.test_db.db
    }

    /// A user with `role`, created straight in the database, and a fresh token.
    pub async fn user(&self, role: Role) -> TestUser {
        let email = format!("{}-{}@example.org", role.as_str(), Uuid::new_v4().simple());
        let password_hash = archive::auth::hash_password(PASSWORD.into()).await.unwrap();
        let mut tx = self.db().begin().await.unwrap();
        let user = tx
            .insert_user(NewUser { email: email.clone(), name: format!("Test {role}"), role, password_hash })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let token = self.token_for(user.id).await;
        TestUser { id: user.id, email, token }
    }

    /// A fresh token for a user, minted in the database (no login needed).
    pub async fn token_for(&self, user_id: Uuid) -> String {
        let token = archive::auth::new_token();
        let expires = archive_db::now() + chrono::Duration::days(1);
        let mut tx = self.db().begin().await.unwrap();
        tx.insert_api_token(user_id, &archive::auth::hash_token(&token), expires).await.unwrap();
        tx.commit().await.unwrap();
        token
    }

    /// Sends a request; `token` is sent as a bearer token, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }
}

pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// Runs `test` against a fresh server on each available database.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(App) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(&[], test).await;
}

/// Like [`on_each_backend`], with `settings` (variable, value) for the server.
pub async fn on_each_backend_with<F, Fut>(settings: &[(&'static str, String)], test: F)
where
    F: Fn(App) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in archive_testkit::backends() {
        eprintln!("-- on {}", backend.name());
        let mut app = App::start(backend, settings).await;
        // The test closure may capture only some fields of the app (closures
        // capture fields, not whole values), so the server and the database
        // are held here until the test is done.
        let server = app.server.take().expect("started");
        let keep = (app.test_db.clone(), app.data_dir.clone());
        test(app).await;
        server.stop().await.unwrap();
        drop(keep);
    }
}

/// The error code of an error response.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

pub fn id(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_owned()
}
