//! Master-slave sync, the parts above the database, by role.
//!
//! - The master's side: [`master`] (serving slaves: cursors, pages of
//!   changes, bootstrap, applying pushes, recording visits), [`long_poll`]
//!   (holding a slave's request until a change commits) and [`files`]
//!   (which audio files it holds by hash; receiving a slave's in pieces).
//! - The slave's side: [`client`] (its HTTP client for the master),
//!   [`fetch`] (downloading the master's audio files, by hash) and
//!   [`transfers`] (the queue of files to fetch, pins' and quota's rules),
//!   [`engine`] (one cycle: push, bootstrap, pull), [`follow`] (following
//!   live between cycles), [`worker`] (the background loop) with its
//!   circuit breaker ([`breaker`]), [`probe`]
//!   ("Test connection"), [`accounts`] (account changes made on the master),
//!   and [`error`] (why a cycle failed).
//! - Both: [`keys`] (slave keys, and their storage on a slave), [`control`]
//!   (pause, emergency stop, key refusal), [`status`] (what a node reports).
//!   What an admin does (from the API or the pages) is the service
//!   `services::sync_admin`.
//!
//! Every message that travels is in `archive_db::sync::protocol`; what sync
//! does in the database is in `archive_db::sync`; `api::sync` is the HTTP
//! layer.

pub mod accounts;
pub mod breaker;
pub mod client;
pub mod control;
pub mod engine;
pub mod error;
pub mod fetch;
pub mod files;
pub mod follow;
pub mod keys;
pub mod long_poll;
pub mod master;
pub mod probe;
pub mod status;
pub mod transfers;
pub mod worker;

/// rustls needs one process-wide crypto provider; ours is ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
