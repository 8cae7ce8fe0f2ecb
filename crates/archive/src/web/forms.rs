//! [`CsrfForm`]: the only way a page handler reads a form that changes
//! something. The session's CSRF token is checked before the handler runs,
//! so no handler can forget it (the page role matrix test posts to every
//! page without the token and expects 403).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::PageError;
use crate::auth::session::{self, CSRF_HEADER, SESSION_COOKIE};
use crate::state::AppState;

/// A form body `T`, sent with the session's CSRF token: the form's `csrf`
/// field, or (for a script's request) the `X-CSRF-Token` header. `T` never
/// sees the token. Without a valid token the request is refused with 403
/// before the body is read into `T`.
pub struct CsrfForm<T>(pub T);

/// A form with nothing but the CSRF token (a delete button, log out).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// Refused: the form's token is not its session's.
const EXPIRED: &str = "The page has expired: reload it and try again.";

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let headers = request.headers().clone();
        let is_form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        if !body.is_empty() && !is_form {
            return Err(
                PageError::Unsupported("Send the form as application/x-www-form-urlencoded.").into_response()
            );
        }
        let field = form_urlencoded::parse(&body).find(|(name, _)| name == "csrf").map(|(_, value)| value);
        let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let presented = match field.as_deref() {
            Some(token) if !token.is_empty() => token,
            _ => header.unwrap_or(""),
        };
        let valid = session::cookie(&headers, SESSION_COOKIE)
            .is_some_and(|session| session::csrf_matches(session, presented));
        if !valid {
            return Err(PageError::Forbidden(EXPIRED).into_response());
        }
        serde_urlencoded::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| PageError::Invalid(format!("The form is not complete: {e}.")).into_response())
    }
}
