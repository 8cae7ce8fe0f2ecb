//! [`ClientAddress`]: the address a request comes from, as the throttles
//! count it (the API's and the pages' alike).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::state::AppState;

/// The client's address, as throttles count it: the peer's, or, when the
/// peer is one of `ARCHIVE_TRUSTED_PROXIES`, the nearest address in
/// `X-Forwarded-For` that is not one of them (each proxy appends the
/// address it heard from, so the entries before a trusted proxy's are
/// whatever the client wrote). Without trusted proxies the header is
/// ignored: any client could write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    pub fn of(request: &Parts, trusted: &[ipnet::IpNet]) -> ClientAddress {
        let peer =
            request.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let Some(peer) = peer else { return ClientAddress(String::new()) };
        let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
        if !is_trusted(&peer) {
            return ClientAddress(peer.to_string());
        }
        let forwarded = request
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|a| a.trim().parse::<std::net::IpAddr>())
            .collect::<Vec<_>>();
        for address in forwarded.iter().rev() {
            match address {
                Ok(ip) if is_trusted(ip) => continue,
                Ok(ip) => return ClientAddress(ip.to_string()),
                // Garbage in the header: the last proxy's word is all we have.
                Err(_) => break,
            }
        }
        ClientAddress(peer.to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts, &state.config().trusted_proxies))
    }
}
