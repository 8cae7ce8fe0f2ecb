//! Everyone's own profile: name and password.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::CsrfForm;
use super::{Frame, PageError, WebUser, render};
use crate::auth::session;
use crate::client_address::ClientAddress;
use crate::services::ServiceError;
use crate::services::accounts::{OwnChange, update_own_account};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    frame: Frame,
    name: String,
    email: String,
    role: &'static str,
    notice: Option<&'static str>,
    error: Option<String>,
    /// On a slave: the master's address (accounts are changed there).
    master: Option<String>,
}

fn page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&'static str>,
    error: Option<String>,
) -> ProfilePage {
    ProfilePage {
        frame: Frame::of(user),
        name: user.user.name.clone(),
        email: user.user.email.clone(),
        role: user.user.role.as_str(),
        notice,
        error,
        master: super::master_of_slave(state),
    }
}

#[derive(Deserialize)]
pub struct Notice {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let notice = match notice.saved.as_deref() {
        Some("name") => Some("Your name is saved."),
        Some("password") => Some("Your password is changed; your other sessions have ended."),
        _ => None,
    };
    render(&page(&state, &user, notice, None))
}

/// The profile again with what went wrong, or the error itself.
fn refused(state: &AppState, user: &WebUser, outcome: ServiceError) -> Result<Response, PageError> {
    // A refusal, or a master that cannot be reached, is said on the page.
    let (status, message) = PageError::from(outcome).said_on_the_form()?;
    Ok((status, render(&page(state, user, None, Some(message)))?).into_response())
}

#[derive(Deserialize)]
pub struct NameForm {
    name: String,
    /// On a slave: the user's password, which the master checks.
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn save_name(
    State(state): State<AppState>,
    user: WebUser,
    address: ClientAddress,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<Response, PageError> {
    let change =
        OwnChange { name: Some(form.name), current_password: form.current_password, ..Default::default() };
    let outcome = update_own_account(&state, &user.user, change, &address.0).await;
    match outcome {
        Ok(_) => Ok(Redirect::to("/profile?saved=name").into_response()),
        Err(e) => refused(&state, &user, e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    password: String,
}

/// Changes the password; every session ends, and this browser gets a new one.
pub async fn change_password(
    State(state): State<AppState>,
    user: WebUser,
    address: ClientAddress,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let change = OwnChange {
        password: Some(form.password),
        current_password: Some(form.current_password),
        ..Default::default()
    };
    let outcome = update_own_account(&state, &user.user, change, &address.0).await;
    match outcome {
        Ok((_, token)) => {
            let token = token.expect("a new password always comes with a new session");
            let mut response = Redirect::to("/profile?saved=password").into_response();
            let cookie = session::session_cookie(&token.token, state.config().tls.is_some());
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(e) => refused(&state, &user, e),
    }
}
