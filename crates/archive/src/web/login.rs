//! The login page, logging in and out, and the first start: while no user
//! exists, the login page gives way to a form that creates the first admin
//! (so nobody needs the command line to begin).
//!
//! These forms have no session to derive a CSRF token from, so they get
//! their own: a random value in a short-lived cookie and in the form, which
//! must match (a page of another site cannot read or set the cookie).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::session::{self, LOGIN_COOKIE, SESSION_COOKIE};
use archive_db::Role;

use super::forms::{CsrfForm, NoFields};
use super::{PageError, WebUser, assets, render};
use crate::auth::MIN_PASSWORD_CHARS;
use crate::client_address::ClientAddress;
use crate::services::ServiceError;
use crate::services::accounts::create_account;
use crate::services::sessions::{authenticate, issue_token};
use crate::state::AppState;

/// How long a login form stays valid.
const LOGIN_FORM_SECS: u64 = 3600;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    assets: &'a str,
    site_name: &'a str,
    csrf: &'a str,
    email: &'a str,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

/// Whether the server speaks HTTPS, so cookies are marked `Secure`.
fn secure(state: &AppState) -> bool {
    state.config().tls.is_some()
}

/// The pre-session CSRF token: the one in the request's cookie, or a new one.
fn form_token(headers: &HeaderMap) -> String {
    match session::cookie(headers, LOGIN_COOKIE) {
        Some(token) => token.to_owned(),
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
            hex::encode(bytes)
        }
    }
}

/// Whether a form carries the token of the request's cookie.
fn form_token_matches(headers: &HeaderMap, presented: &str) -> bool {
    let expected = session::cookie(headers, LOGIN_COOKIE).unwrap_or("");
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// A page answered with the pre-session token's cookie set.
fn with_form_cookie(state: &AppState, mut response: Response, token: &str) -> Response {
    let cookie = session::set_cookie(LOGIN_COOKIE, token, Some(LOGIN_FORM_SECS), secure(state));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    if !state.db.has_users().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let token = form_token(&headers);
    let site_name = state.site_name.get(&state.db).await;
    let page =
        LoginPage { assets: &assets::VERSION, site_name: &site_name, csrf: &token, email: "", error: None };
    Ok(with_form_cookie(&state, render(&page)?, &token))
}

pub async fn submit(
    State(state): State<AppState>,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let site_name = state.site_name.get(&state.db).await;
    let token_ok = form_token_matches(&headers, &form.csrf);
    let again = |status: StatusCode, error: &str| -> Result<Response, PageError> {
        let page = LoginPage {
            assets: &assets::VERSION,
            site_name: &site_name,
            csrf: expected,
            email: &form.email,
            error: Some(error.to_owned()),
        };
        Ok((status, render(&page)?).into_response())
    };
    if !token_ok {
        return Ok((StatusCode::FORBIDDEN, Redirect::to("/login")).into_response());
    }
    let user = match authenticate(&state, &form.email, form.password.clone(), &address.0).await {
        Ok(user) => user,
        Err(ServiceError::Throttled(_)) => {
            let words = "Too many failed attempts. Wait a few minutes and try again.";
            return again(StatusCode::TOO_MANY_REQUESTS, words);
        }
        Err(ServiceError::WrongCredentials) => {
            return again(StatusCode::UNAUTHORIZED, "Wrong email or password.");
        }
        Err(e) => return Err(e.into()),
    };
    start_session(&state, user).await
}

/// Logs `user` in: a new session cookie, the form cookie gone, to the home page.
async fn start_session(state: &AppState, user: archive_db::User) -> Result<Response, PageError> {
    let issued = issue_token(state, user).await?;
    let mut response = Redirect::to("/").into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, session::session_cookie(&issued.token, secure(state)));
    cookies.append(header::SET_COOKIE, session::set_cookie(LOGIN_COOKIE, "", None, secure(state)));
    Ok(response)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    assets: &'a str,
    min_password: usize,
    csrf: &'a str,
    name: &'a str,
    email: &'a str,
    error: Option<String>,
}

/// One first admin at a time, however many browsers try at once.
static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The first start: a form for the first admin, while there is no user.
pub async fn setup_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    if state.db.has_users().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    refuse_on_a_slave(&state)?;
    let token = form_token(&headers);
    let page = SetupPage {
        assets: &assets::VERSION,
        min_password: MIN_PASSWORD_CHARS,
        csrf: &token,
        name: "",
        email: "",
        error: None,
    };
    Ok(with_form_cookie(&state, render(&page)?, &token))
}

/// A slave's accounts come from its master: one made here would become an
/// admin of every node once pushed.
fn refuse_on_a_slave(state: &AppState) -> Result<(), PageError> {
    match state.config().role {
        crate::config::NodeRole::Slave => Err(PageError::Forbidden(
            "This server is a sync slave: its accounts come from the master. Sync it first \
             (archive sync set-key, then archive sync now), or create an account with archive user create.",
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf: String,
    name: String,
    email: String,
    password: String,
}

/// Creates the first admin and logs them in; refused once any user exists.
pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    if !form_token_matches(&headers, &form.csrf) {
        return Ok((StatusCode::FORBIDDEN, Redirect::to("/setup")).into_response());
    }
    let _one_at_a_time = SETUP.lock().await;
    if state.db.has_users().await? {
        return Err(PageError::Forbidden("This Archive is set up already: log in instead."));
    }
    refuse_on_a_slave(&state)?;
    let created =
        create_account(&state, None, form.email.clone(), form.name.clone(), Role::Admin, form.password).await;
    match created {
        Ok(user) => {
            tracing::info!(email = %user.email, "the first admin was created from the web");
            start_session(&state, user).await
        }
        Err(e) => {
            let (status, error) = PageError::from(e).said_on_the_form()?;
            let page = SetupPage {
                assets: &assets::VERSION,
                min_password: MIN_PASSWORD_CHARS,
                csrf: &form.csrf,
                name: &form.name,
                email: &form.email,
                error: Some(error),
            };
            Ok((status, render(&page)?).into_response())
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    user: WebUser,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let mut tx = state.db.begin().await?;
    tx.revoke_api_token(user.token_id).await?;
    tx.commit().await?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(SESSION_COOKIE, "", None, secure(&state)));
    Ok(response)
}
