//! HTTPS for `archive serve` when `ARCHIVE_TLS_CERT` and `ARCHIVE_TLS_KEY`
//! are set: the certificate files are read once at start-up, and a listener
//! hands axum connections whose TLS handshake has already completed.
//!
//! Handshakes run in their own tasks with a deadline, so a client that opens
//! a connection and never finishes its handshake holds up nobody else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The certificate chain and private key files to serve HTTPS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain in ARCHIVE_TLS_CERT ({}): {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read the private key in ARCHIVE_TLS_KEY ({}): {reason}", path.display())]
    PrivateKey { path: PathBuf, reason: String },
    #[error("ARCHIVE_TLS_CERT and ARCHIVE_TLS_KEY do not make a usable pair: {0}")]
    Rejected(#[from] rustls::Error),
}

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait to be accepted.
const MAX_HANDSHAKES: usize = 256;
/// Handshaken connections waiting for the server to take them.
const READY_QUEUE: usize = 64;
/// Connections the TLS listener may hold before the server takes them
/// (handshaking, or handshaken and waiting): descriptors beyond the
/// server's connection cap.
pub const PENDING_CONNECTIONS: usize = MAX_HANDSHAKES + READY_QUEUE;

/// Reads the files and builds the server's TLS configuration (HTTP/1.1, TLS 1.2 and 1.3).
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| TlsError::PrivateKey { path: files.key.clone(), reason: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::Certificate { path: path.to_owned(), reason };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("the file holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// A listener that yields TLS connections, for `axum::serve`.
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), sender));
        Ok(TlsListener { local_addr, ready, acceptor })
    }
}

impl Drop for TlsListener {
    /// The server stopped taking connections: stop accepting them too.
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("cert.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let files = TlsFiles { cert: not_pem, key: dir.path().join("key.pem") };
        let err = server_config(&files).unwrap_err().to_string();
        assert!(err.contains("ARCHIVE_TLS_CERT") && err.contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_missing_key_file_is_named_in_the_error() {
        let certs = archive_testkit::tls::TestCertificates::new();
        let files =
            TlsFiles { cert: certs.server_cert.clone(), key: certs.server_cert.with_extension("missing") };
        let err = server_config(&files).unwrap_err().to_string();
        assert!(err.contains("ARCHIVE_TLS_KEY"), "{err}");
        let files = TlsFiles { cert: certs.server_cert.clone(), key: certs.server_key.clone() };
        assert!(server_config(&files).is_ok());
    }
}
