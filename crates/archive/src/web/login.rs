//! The login page, logging in and out.
//!
//! The login form has no session to derive a CSRF token from, so it gets
//! its own: a random value in a short-lived cookie and in the form, which
//! must match (a page of another site cannot read or set the cookie).

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::session::{self, CsrfForm, LOGIN_COOKIE, SESSION_COOKIE};
use super::{PageError, WebUser, assets, render};
use crate::api::AppState;
use crate::api::auth::{authenticate, issue_token};

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

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let token = match session::cookie(&headers, LOGIN_COOKIE) {
        Some(token) => token.to_owned(),
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
            hex::encode(bytes)
        }
    };
    let site_name = state.site_name.get(&state.db).await;
    let page =
        LoginPage { assets: &assets::VERSION, site_name: &site_name, csrf: &token, email: "", error: None };
    let mut response = render(&page)?;
    let cookie = session::set_cookie(LOGIN_COOKIE, &token, Some(LOGIN_FORM_SECS), secure(&state));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let site_name = state.site_name.get(&state.db).await;
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
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes())) {
        return Ok((StatusCode::FORBIDDEN, Redirect::to("/login")).into_response());
    }
    let user = match authenticate(&state, &form.email, form.password.clone(), peer.ip().to_string()).await {
        Ok(user) => user,
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            return again(e.status, "Too many failed attempts. Wait a few minutes and try again.");
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => return again(e.status, "Wrong email or password."),
        Err(e) => return Err(e.into()),
    };
    let issued = issue_token(&state, user).await?;
    let mut response = Redirect::to("/").into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, session::session_cookie(&issued.token, secure(&state)));
    cookies.append(header::SET_COOKIE, session::set_cookie(LOGIN_COOKIE, "", None, secure(&state)));
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    if !session::csrf_matches(&user.session, &form.csrf) {
        return Ok(
            (StatusCode::FORBIDDEN, "The form has expired: reload the page and try again.").into_response()
        );
    }
    let mut tx = state.db.begin().await?;
    tx.revoke_api_token(user.token_id).await?;
    tx.commit().await?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(SESSION_COOKIE, "", None, secure(&state)));
    Ok(response)
}
