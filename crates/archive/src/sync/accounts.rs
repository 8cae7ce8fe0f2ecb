//! On a slave, accounts are the master's: a change to one (a user's own name
//! or password, an admin's user management) goes to the master at once,
//! through the master's own API, logged in there with the credentials of
//! the user who asks. The master checks them and applies its own rules
//! (the current password, the role it knows, the last admin); the slave
//! takes the result with its next pull, which follows straight away.
//!
//! No slave key is involved: a slave key can never change an account, and
//! a user can change on a slave only what they could on the master.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use archive_db::User;

use super::client::{http_client, transport_error};
use super::error::SyncError;
use crate::config::SyncConfig;

/// Why the master did not make an account change.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The master is needed for this and cannot be reached (or sync is not
    /// set up on this slave).
    #[error("accounts are changed on the master, which cannot be reached now: {0}")]
    Unreachable(String),
    /// The password given is not the user's on the master.
    #[error("the password is wrong (the master checked it)")]
    WrongPassword,
    /// The master refused the change; its status and words.
    #[error("the master refused: {message}")]
    Refused { status: StatusCode, code: String, field: Option<String>, message: String },
}

/// The master's account API, as one of its users.
pub struct MasterAccounts {
    http: reqwest::Client,
    base: String,
}

impl MasterAccounts {
    pub fn new(config: &SyncConfig) -> Result<MasterAccounts, ForwardError> {
        let (http, base) = http_client(config).map_err(|e| ForwardError::Unreachable(e.to_string()))?;
        Ok(MasterAccounts { http, base })
    }

    /// Makes one change on the master as the user `email`, whose password on
    /// the master is `password`: logs in, asks, and logs out again. Returns
    /// the master's answer (`Null` for none).
    pub async fn change(
        &self,
        email: &str,
        password: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ForwardError> {
        let login = serde_json::json!({ "email": email, "password": password });
        let session = match self.send(None, Method::POST, "/api/v1/auth/login", Some(login)).await {
            Ok(session) => session,
            Err(ForwardError::Refused { status: StatusCode::UNAUTHORIZED, .. }) => {
                return Err(ForwardError::WrongPassword);
            }
            Err(other) => return Err(other),
        };
        let token = session["token"].as_str().unwrap_or_default().to_owned();
        let answer = self.send(Some(&token), method, path, body).await;
        // A new password ends every session, this one too; a new token came back.
        let last = match &answer {
            Ok(value) => value["token"].as_str().map_or(token, str::to_owned),
            Err(_) => token,
        };
        if let Err(e) = self.send(Some(&last), Method::POST, "/api/v1/auth/logout", None).await {
            tracing::debug!(target: "sync", error = %e, "could not log out of the master");
        }
        answer
    }

    async fn send(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ForwardError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let unreachable = |e: SyncError| ForwardError::Unreachable(e.to_string());
        let response = request.send().await.map_err(|e| unreachable(transport_error(e)))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| unreachable(transport_error(e)))?;
        let value: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        if status.is_success() {
            return Ok(value);
        }
        if status.is_server_error() {
            return Err(ForwardError::Unreachable(format!("the master answered {status}")));
        }
        let error = &value["error"];
        Err(ForwardError::Refused {
            status,
            code: error["code"].as_str().unwrap_or("refused").to_owned(),
            field: error["field"].as_str().map(str::to_owned),
            message: error["message"].as_str().map_or_else(|| status.to_string(), str::to_owned),
        })
    }
}

/// The account in a master's answer.
pub fn user_in(answer: &Value) -> Option<User> {
    let user = if answer.get("user").is_some() { &answer["user"] } else { answer };
    serde_json::from_value(user.clone()).ok()
}
