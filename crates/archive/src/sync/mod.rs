//! Master-slave sync, the parts above the database: the protocol's messages
//! ([`protocol`]), slave keys and their storage ([`keys`]), the slave's
//! client for its master ([`client`]), one sync cycle ([`engine`]), and the
//! status a node reports ([`status`]). The master's handlers are in
//! `api::sync`; what sync does in the database is in `archive_db::sync`.

pub mod client;
pub mod engine;
pub mod keys;
pub mod protocol;
pub mod status;

/// rustls needs one process-wide crypto provider; ours is ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
