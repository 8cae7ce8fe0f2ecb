//! "Test connection" on a slave: one ping to the master with this node's
//! settings and stored key, told as three steps an operator can act on:
//! is the master reachable, is its certificate valid, does it accept the
//! key. Nothing is written, and the worker's breaker is not touched.

use std::time::Instant;

use serde::Serialize;

use super::client::MasterClient;
use super::error::SyncError;
use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    NotChecked,
}

impl Outcome {
    /// The outcome in a word, for people.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Passed => "yes",
            Outcome::Failed => "no",
            Outcome::NotChecked => "not checked",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotChecked => "not_checked",
        }
    }
}

/// One step of the check and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionCheck {
    pub master_url: Option<String>,
    pub steps: [Step; 3],
}

impl ConnectionCheck {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.outcome == Outcome::Passed)
    }
}

fn step(name: &'static str, outcome: Outcome, detail: impl Into<String>) -> Step {
    Step { name, outcome, detail: detail.into() }
}

const REACHABLE: &str = "Master reachable";
const TLS: &str = "Certificate valid";
const KEY: &str = "Slave key accepted";

fn not_checked(name: &'static str) -> Step {
    step(name, Outcome::NotChecked, "not checked: an earlier step failed")
}

/// Pings the master with `key` and reports the three steps.
pub async fn test_connection(config: &Config, key: Option<String>) -> ConnectionCheck {
    let master_url = config.sync.master_url.clone();
    let plain_http = master_url.as_deref().is_some_and(|u| u.starts_with("http://"));
    let tls_passed = || match plain_http {
        true => step(TLS, Outcome::Passed, "not used: the master's URL is http:// (SYNC_ALLOW_INSECURE)"),
        false => step(TLS, Outcome::Passed, "the master's certificate is trusted and names its host"),
    };
    let steps = match (master_url.as_deref(), key) {
        (None, _) => [
            step(REACHABLE, Outcome::Failed, "no master URL is set (MASTER_ARCHIVE_URL)"),
            not_checked(TLS),
            not_checked(KEY),
        ],
        (Some(_), None) => [
            step(REACHABLE, Outcome::NotChecked, "not checked: enter the slave key first"),
            not_checked(TLS),
            step(KEY, Outcome::Failed, "no slave key is stored on this node"),
        ],
        (Some(_), Some(key)) => {
            let started = Instant::now();
            let answer = match MasterClient::new(&config.sync, key) {
                Ok(client) => client.ping().await,
                Err(e) => Err(e),
            };
            let took = started.elapsed().as_millis();
            match answer {
                Ok(ping) => {
                    let reached = step(
                        REACHABLE,
                        Outcome::Passed,
                        format!("master {} answered in {took} ms", ping.node_id),
                    );
                    // A key bound to another node would sync as that node.
                    let key = match ping.your_node_id == config.node_id {
                        true => step(
                            KEY,
                            Outcome::Passed,
                            format!("accepted; the master knows this node as {}", ping.your_node_id),
                        ),
                        false => step(
                            KEY,
                            Outcome::Failed,
                            format!(
                                "accepted, but it belongs to node {} while this node's id is {}: \
                                 set ARCHIVE_NODE_ID to {0}, or ask the master for a key for {1}",
                                ping.your_node_id, config.node_id
                            ),
                        ),
                    };
                    [reached, tls_passed(), key]
                }
                Err(SyncError::Certificate(text)) => [
                    step(REACHABLE, Outcome::Passed, "the master's address answers"),
                    step(TLS, Outcome::Failed, text),
                    not_checked(KEY),
                ],
                Err(SyncError::Tls(text)) => [
                    step(REACHABLE, Outcome::NotChecked, "not checked: the TLS set-up of this node is wrong"),
                    step(TLS, Outcome::Failed, text),
                    not_checked(KEY),
                ],
                Err(SyncError::Unreachable(text)) => {
                    [step(REACHABLE, Outcome::Failed, text), not_checked(TLS), not_checked(KEY)]
                }
                Err(SyncError::Timeout) => [
                    step(
                        REACHABLE,
                        Outcome::Failed,
                        "no answer in time (SYNC_CONNECT_TIMEOUT and SYNC_READ_TIMEOUT)",
                    ),
                    not_checked(TLS),
                    not_checked(KEY),
                ],
                Err(SyncError::NotConfigured(why)) => {
                    [step(REACHABLE, Outcome::Failed, why), not_checked(TLS), not_checked(KEY)]
                }
                Err(SyncError::Unauthorized(message)) => [
                    step(REACHABLE, Outcome::Passed, format!("the master answered in {took} ms")),
                    tls_passed(),
                    step(KEY, Outcome::Failed, format!("refused: {message}")),
                ],
                Err(SyncError::RetryAfter(_)) => [
                    step(REACHABLE, Outcome::Passed, format!("the master answered in {took} ms")),
                    tls_passed(),
                    step(
                        KEY,
                        Outcome::Passed,
                        "accepted, but sync is paused or stopped on the master for now",
                    ),
                ],
                Err(other) => [
                    step(REACHABLE, Outcome::Passed, format!("the server answered in {took} ms")),
                    tls_passed(),
                    step(
                        KEY,
                        Outcome::Failed,
                        format!("not an Archive master that accepts this key: {other}"),
                    ),
                ],
            }
        }
    };
    ConnectionCheck { master_url, steps }
}

/// As [`test_connection`], with the key stored on this node.
pub async fn test_stored_key(db: &archive_db::Db, config: &Config) -> ConnectionCheck {
    let key = async {
        let kek = super::keys::Kek::load(&config.data_dir, config.sync.kek_hex.as_deref())?;
        super::keys::load_on_slave(db, &kek).await
    };
    match key.await {
        Ok(key) => test_connection(config, key).await,
        Err(e) => ConnectionCheck {
            master_url: config.sync.master_url.clone(),
            steps: [
                step(REACHABLE, Outcome::NotChecked, "not checked: the stored key cannot be read"),
                not_checked(TLS),
                step(KEY, Outcome::Failed, format!("the stored key cannot be read: {e}")),
            ],
        },
    }
}
