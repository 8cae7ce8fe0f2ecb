//! Master-slave sync, the parts above the database: the protocol's messages
//! ([`protocol`]), slave keys and their storage ([`keys`]), the slave's
//! client for its master ([`client`]), one sync cycle ([`engine`]), the
//! background worker ([`worker`]) with its circuit breaker ([`breaker`]),
//! what operators told sync to do ([`control`]), the status a node
//! reports ([`status`]), a slave's "Test connection" ([`probe`]), and a
//! slave's account changes, made on the master ([`accounts`]). The master's handlers are in
//! `api::sync`; what sync does in the database is in `archive_db::sync`.

pub mod accounts;
pub mod breaker;
pub mod client;
pub mod control;
pub mod engine;
pub mod keys;
pub mod probe;
pub mod protocol;
pub mod status;
pub mod worker;

/// rustls needs one process-wide crypto provider; ours is ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
