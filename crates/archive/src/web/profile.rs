//! Everyone's own profile: name and password, and what they made for
//! Subsonic apps (app passwords and API keys: made, shown once, revoked).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::CsrfForm;
use super::{Frame, PageError, WebUser, render};
use crate::auth::session;
use crate::client_address::ClientAddress;
use crate::services::ServiceError;
use crate::services::accounts::{OwnChange, update_own_account};
use crate::services::subsonic_keys;
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
    app_passwords: Vec<AppSecretRow>,
    api_keys: Vec<AppSecretRow>,
    /// A secret just made, shown this once: what it is, and the secret.
    made: Option<(&'static str, String)>,
}

/// An app password or API key as the page lists it.
struct AppSecretRow {
    id: String,
    name: String,
    /// The key's first characters (API keys), or empty.
    prefix: String,
    created: String,
    last_used: String,
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

async fn page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<ProfilePage, PageError> {
    let app_passwords = subsonic_keys::app_passwords(state, &user.user).await?;
    let api_keys = subsonic_keys::list(state, &user.user).await?;
    Ok(ProfilePage {
        frame: Frame::of(user),
        name: user.user.name.clone(),
        email: user.user.email.clone(),
        role: user.user.role.as_str(),
        notice,
        error,
        master: super::master_of_slave(state),
        app_passwords: app_passwords
            .into_iter()
            .map(|p| AppSecretRow {
                id: p.id.to_string(),
                name: p.name,
                prefix: String::new(),
                created: when(Some(p.created_at)),
                last_used: when(p.last_used_at),
            })
            .collect(),
        api_keys: api_keys
            .into_iter()
            .map(|k| AppSecretRow {
                id: k.id.to_string(),
                name: k.name,
                prefix: k.key_prefix,
                created: when(Some(k.created_at)),
                last_used: when(k.last_used_at),
            })
            .collect(),
        made: None,
    })
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
        Some("revoked") => Some("Revoked: apps using it are refused from now on."),
        _ => None,
    };
    render(&page(&state, &user, notice, None).await?)
}

/// The profile again with what went wrong, or the error itself.
async fn refused(state: &AppState, user: &WebUser, outcome: ServiceError) -> Result<Response, PageError> {
    // A refusal, or a master that cannot be reached, is said on the page.
    let (status, message) = PageError::from(outcome).said_on_the_form()?;
    Ok((status, render(&page(state, user, None, Some(message)).await?)?).into_response())
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
        Err(e) => refused(&state, &user, e).await,
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
        Err(e) => refused(&state, &user, e).await,
    }
}

#[derive(Deserialize)]
pub struct AppSecretForm {
    name: String,
}

/// Makes an app password (`kind` "app-passwords") or an API key
/// ("api-keys") and shows it, this once.
pub async fn make_app_secret(
    State(state): State<AppState>,
    user: WebUser,
    Path(kind): Path<String>,
    CsrfForm(form): CsrfForm<AppSecretForm>,
) -> Result<Response, PageError> {
    let made = match kind.as_str() {
        "app-passwords" => subsonic_keys::issue_app_password(&state, &user.user, &form.name)
            .await
            .map(|i| ("app password", i.password)),
        "api-keys" => {
            subsonic_keys::issue(&state, &user.user, &form.name).await.map(|i| ("API key", i.secret))
        }
        _ => return Err(PageError::NotFound("page")),
    };
    match made {
        Ok(made) => {
            let mut page = page(&state, &user, None, None).await?;
            page.made = Some(made);
            render(&page)
        }
        Err(e) => refused(&state, &user, e).await,
    }
}

/// Revokes one of the user's app passwords or API keys.
pub async fn revoke_app_secret(
    State(state): State<AppState>,
    user: WebUser,
    Path((kind, id)): Path<(String, Uuid)>,
    _: CsrfForm<super::forms::NoFields>,
) -> Result<Response, PageError> {
    let outcome = match kind.as_str() {
        "app-passwords" => subsonic_keys::revoke_app_password(&state, &user.user, id).await,
        "api-keys" => subsonic_keys::revoke(&state, &user.user, id).await,
        _ => return Err(PageError::NotFound("page")),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/profile?saved=revoked").into_response()),
        Err(e) => refused(&state, &user, e).await,
    }
}
