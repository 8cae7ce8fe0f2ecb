//! Who may call what: every request's route is looked up in the route table
//! and the caller's bearer token and role are checked against it.

use std::time::Duration;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use archive_db::{Role, User};

use super::AppState;
use super::error::ApiError;
use crate::auth::hash_token;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without logging in.
    Public,
    /// Any logged-in user (the handler may check ownership further).
    User,
    Moderator,
    Admin,
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::User, Some(_)) => true,
            (Access::Moderator, Some(r)) => r >= Role::Moderator,
            (Access::Admin, Some(r)) => r >= Role::Admin,
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

fn bearer_token(parts: &axum::http::HeaderMap) -> Option<&str> {
    let value = parts.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// How stale `last_used_at` may get before a request refreshes it.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// Checks the caller against the route's access rule.
pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return ApiError::internal("access check without a matched route").into_response();
    };
    let Some(access) = state.access.get(&(req.method().clone(), path.as_str())).copied() else {
        return ApiError::internal(format!("route {} {path} has no access rule", req.method()))
            .into_response();
    };
    if access == Access::Public {
        return next.run(req).await;
    }
    let Some(token) = bearer_token(req.headers()) else {
        return ApiError::unauthorized("log in first: send Authorization: Bearer <token>").into_response();
    };
    let (token, user) = match state.db.api_token(&hash_token(token)).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return ApiError::unauthorized("the token is invalid, expired or revoked").into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !access.allows(Some(user.role)) {
        let needed = match access {
            Access::Admin => "admin",
            _ => "moderator",
        };
        return ApiError::forbidden(&format!("this needs the {needed} role")).into_response();
    }
    let stale = token
        .last_used_at
        .is_none_or(|t| (archive_db::now() - t).to_std().is_ok_and(|age| age > TOUCH_INTERVAL));
    if stale {
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
    next.run(req).await
}
