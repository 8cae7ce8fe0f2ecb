//! `archive healthcheck`: asks the local server's `GET /api/v1/health` and
//! succeeds only on 200, for a container's `HEALTHCHECK` or a service
//! manager's watchdog.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::Config;

/// The base URL of this node's own server: its bind address (loopback for a
/// wildcard address), `https` when it serves TLS.
pub fn local_url(config: &Config) -> String {
    let ip = match config.bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, config.bind.port()))
}

/// Succeeds when `{base}/api/v1/health` answers 200 within `timeout`.
pub async fn check(base: &str, timeout: Duration) -> anyhow::Result<()> {
    crate::sync::install_crypto_provider();
    // The certificate is not checked: this asks our own server at an
    // address its certificate does not name (127.0.0.1), and sends nothing
    // secret.
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .tls_danger_accept_invalid_certs(true)
        .user_agent(concat!("archive-healthcheck/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let url = format!("{}/api/v1/health", base.trim_end_matches('/'));
    let response = http.get(&url).send().await.with_context(|| format!("no answer from {url}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered {status}: {}", body["checks"]);
    }
    println!("healthy: {url} answered {status}");
    Ok(())
}
