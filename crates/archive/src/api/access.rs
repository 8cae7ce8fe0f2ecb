//! Who may call what: every request's route is looked up in the route table
//! and the caller's bearer token (or browser session) and role are checked
//! against it.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use archive_db::{Role, User};

use super::error::ApiError;
use crate::auth::session;
use crate::auth::{KeyKind, hash_token};
use crate::client_address::ClientAddress;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without logging in.
    Public,
    /// Any logged-in user (the handler may check ownership further).
    User,
    Moderator,
    Admin,
    /// A sync slave, by its slave key (never a user's token).
    Slave,
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::User, Some(_)) => true,
            (Access::Moderator, Some(r)) => r >= Role::Moderator,
            (Access::Admin, Some(r)) => r >= Role::Admin,
            (Access::Slave, Some(_)) => false,
        }
    }
}

/// The logged-in caller of a non-public route.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub token_id: Uuid,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a handler needs a user but its route is public"))
    }
}

/// The sync slave calling a slave-key route.
#[derive(Debug, Clone)]
pub struct SlavePeer {
    pub key: archive_db::sync::state::SlaveKey,
}

impl<S: Send + Sync> FromRequestParts<S> for SlavePeer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<SlavePeer>().cloned().ok_or_else(|| {
            ApiError::internal("a handler needs a slave key but its route is not a sync route")
        })
    }
}

fn bearer_token(parts: &axum::http::HeaderMap) -> Option<&str> {
    let value = parts.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// How stale `last_used_at` may get before a request refreshes it.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// Whether a recorded last use is old enough to record a new one (so a busy
/// caller does not cost a write per request).
fn is_stale(last_used_at: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    last_used_at.is_none_or(|t| (archive_db::now() - t).to_std().is_ok_and(|age| age > TOUCH_INTERVAL))
}

/// Each route's access rule, by method and path template (from [`super::routes`], once).
fn rules() -> &'static HashMap<(axum::http::Method, &'static str), Access> {
    static RULES: OnceLock<HashMap<(axum::http::Method, &'static str), Access>> = OnceLock::new();
    RULES.get_or_init(|| super::routes().into_iter().map(|r| ((r.method, r.path), r.access)).collect())
}

/// Checks the caller against the route's access rule.
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // The checks run in a future of their own, boxed and gone before the
    // request goes on: a held long-poll carries none of their state.
    match Box::pin(admit(state, req)).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}

/// The request, marked with who made it, when the route's rule lets its
/// caller in; otherwise the answer that refuses it.
async fn admit(state: AppState, mut req: Request) -> Result<Request, Response> {
    let Some(path) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return Err(ApiError::internal("access check without a matched route").into_response());
    };
    // HEAD is answered by the GET handler (without the body), under GET's rule.
    let method = match *req.method() {
        axum::http::Method::HEAD => axum::http::Method::GET,
        ref other => other.clone(),
    };
    let Some(access) = rules().get(&(method, path.as_str())).copied() else {
        return Err(
            ApiError::internal(format!("route {} {path} has no access rule", req.method())).into_response()
        );
    };
    if access == Access::Public {
        return Ok(req);
    }
    if access == Access::Slave {
        let (parts, body) = req.into_parts();
        let address = ClientAddress::of(&parts, &state.config().trusted_proxies);
        let mut req = Request::from_parts(parts, body);
        let presented = bearer_token(req.headers()).unwrap_or("").to_owned();
        let peer =
            authenticate_slave(&state, address.0, presented).await.map_err(IntoResponse::into_response)?;
        req.extensions_mut().insert(peer);
        return Ok(req);
    }
    // A bearer token, or the browser's session cookie; a request that
    // changes something with the cookie must carry the CSRF token too.
    let token = match bearer_token(req.headers()) {
        Some(token) => token.to_owned(),
        None => match session::cookie(req.headers(), session::SESSION_COOKIE) {
            Some(token) => {
                let presented = req.headers().get(session::CSRF_HEADER).and_then(|v| v.to_str().ok());
                if !req.method().is_safe() && !presented.is_some_and(|p| session::csrf_matches(token, p)) {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "csrf",
                        "a request made with the session cookie needs the X-CSRF-Token header",
                    )
                    .into_response());
                }
                token.to_owned()
            }
            None => {
                return Err(ApiError::unauthorized("log in first: send Authorization: Bearer <token>")
                    .into_response());
            }
        },
    };
    let (token, user) = match state.db.api_token(&hash_token(&token)).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return Err(ApiError::unauthorized("the token is invalid, expired or revoked").into_response());
        }
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    if !access.allows(Some(user.role)) {
        let needed = match access {
            Access::Admin => "admin",
            _ => "moderator",
        };
        return Err(ApiError::forbidden(&format!("this needs the {needed} role")).into_response());
    }
    if is_stale(token.last_used_at) {
        let db = state.db.clone();
        let id = token.id;
        tokio::spawn(async move {
            let result = async {
                let mut tx = db.begin().await?;
                tx.touch_api_token(id).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    req.extensions_mut().insert(CurrentUser { user, token_id: token.id });
    Ok(req)
}

/// Checks a slave key: well-formed, known, matching (in constant time), not
/// revoked or expired. A valid key always gets through; failures count per
/// client address, and past the limit that address's bad keys get 429
/// instead of 401. (Refusing a throttled address before looking at its key
/// would let anyone who shares it, as every slave behind one reverse proxy
/// does, stop sync for all of them with ten bad keys.)
async fn authenticate_slave(
    state: &AppState,
    address: String,
    presented: String,
) -> Result<SlavePeer, ApiError> {
    let presented = presented.as_str();
    let now = archive_db::now();
    let found = match crate::sync::keys::prefix_of(presented) {
        Some(prefix) => state.db.slave_key_by_prefix(prefix).await?,
        None => None,
    };
    match found {
        Some(key) if crate::sync::keys::matches(&key, presented) && key.is_live(archive_db::now()) => {
            if is_stale(key.last_used_at) {
                let db = state.db.clone();
                let id = key.id;
                tokio::spawn(async move {
                    if let Err(e) = db.touch_slave_key(id).await {
                        tracing::warn!(target: "sync", error = %e, "could not record slave key use");
                    }
                });
            }
            Ok(SlavePeer { key })
        }
        found => {
            if let Err(wait) = state.throttles.check_key(KeyKind::Slave, &address, now).await? {
                tracing::warn!(target: "sync", %address, "slave key refused: too many failures");
                return Err(ApiError::too_many(wait.as_secs()));
            }
            // Only what looks like a slave key counts as an attempt: a user's
            // token sent here by mistake is refused without costing the address.
            if crate::sync::keys::prefix_of(presented).is_some() {
                state.throttles.key_failed(KeyKind::Slave, &address, now).await?;
            }
            let why = match found {
                Some(key) if key.revoked_at.is_some() => "the slave key was revoked",
                Some(key) if crate::sync::keys::matches(&key, presented) => "the slave key has expired",
                _ => "the slave key is not valid",
            };
            tracing::warn!(target: "sync", %address, why, "slave key refused");
            Err(ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid_slave_key", why))
        }
    }
}
