//! A throwaway certificate authority and a server certificate it signed, made
//! at test time (rcgen) and written as PEM files to a temporary directory.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

pub struct TestCertificates {
    /// The CA certificate a client trusts (`MASTER_CA_CERT`).
    pub ca_cert: PathBuf,
    /// The server's certificate chain and key (`ARCHIVE_TLS_CERT`, `ARCHIVE_TLS_KEY`).
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCertificates {
    /// A CA, and a certificate for `localhost` and `127.0.0.1` signed by it.
    pub fn new() -> TestCertificates {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Archive test CA");
        let ca = ca_params.self_signed(&ca_key).expect("self-signed CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server parameters");
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let server = params.signed_by(&server_key, &issuer).expect("server certificate");

        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write a PEM file");
            path
        };
        TestCertificates {
            ca_cert: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server.pem()),
            server_key: write("server-key.pem", server_key.serialize_pem()),
            _dir: dir,
        }
    }
}

impl Default for TestCertificates {
    fn default() -> Self {
        Self::new()
    }
}
