//! Browser sessions. A session is an API token kept in an HttpOnly,
//! SameSite=Lax cookie, so the pages, the player's streams and the JSON API
//! all know the same login. Every state-changing request made with the
//! cookie must also carry the session's CSRF token (a form field or the
//! `X-CSRF-Token` header), which is derived from the session token: a page
//! of another site can make the browser send the cookie, but cannot read
//! the token.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::TOKEN_LIFETIME;

/// The session cookie.
pub const SESSION_COOKIE: &str = "archive_session";
/// The login form's own CSRF cookie (there is no session yet to derive one from).
pub const LOGIN_COOKIE: &str = "archive_login";
/// The header that carries the CSRF token on requests made by scripts.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of the cookie `name`, if the request sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The CSRF token of a session.
pub fn csrf_token(session: &str) -> String {
    hex::encode(Sha256::digest(format!("archive-csrf:{session}").as_bytes()))
}

/// Whether `presented` is the CSRF token of `session` (in constant time).
pub fn csrf_matches(session: &str, presented: &str) -> bool {
    bool::from(csrf_token(session).as_bytes().ct_eq(presented.as_bytes()))
}

/// A `Set-Cookie` value. `secure` when the server speaks HTTPS; `None` for
/// `max_age` clears the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let max_age = max_age.unwrap_or(0);
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).expect("cookie values are hex")
}

/// The session cookie for a new login.
pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    set_cookie(SESSION_COOKIE, token, Some(TOKEN_LIFETIME.as_secs()), secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("theme=dark; archive_session=arc_abc ; x=1"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("arc_abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn a_csrf_token_matches_only_its_own_session() {
        let token = csrf_token("arc_one");
        assert!(csrf_matches("arc_one", &token));
        assert!(!csrf_matches("arc_two", &token));
        assert!(!csrf_matches("arc_one", ""));
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let value = session_cookie("arc_x", true);
        let text = value.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.ends_with("Secure"),
            "{text}"
        );
    }
}
