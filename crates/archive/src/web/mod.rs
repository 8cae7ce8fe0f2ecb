//! The web interface: server-rendered pages (askama templates in
//! `crates/archive/templates/`), a little JavaScript (htmx and the player in
//! `crates/archive/assets/`), all inside the binary.
//!
//! Navigation swaps only `<main>` (htmx boost), so the player at the foot of
//! every page, and the song it plays, stay while the user browses. Pages
//! read the database directly; what a script changes goes through the JSON
//! API with the same session (see [`session`]).

mod admin;
mod assets;
mod listening;
mod login;
mod media;
mod metadata;
mod pages;
mod playlists;
mod profile;
pub mod session;
mod settings;
mod song_rows;
mod sync;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use archive_db::User;

use crate::auth::hash_token;
use crate::state::AppState;

/// The pages' routes (the API's are in [`crate::api`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::songs))
        .route("/artists", get(pages::artists))
        .route("/artists/{id}", get(pages::artist).post(metadata::edit_artist))
        .route("/artists/{id}/delete", post(metadata::delete_artist))
        .route("/albums", get(pages::albums))
        .route("/albums/{id}", get(pages::album).post(metadata::edit_album))
        .route("/albums/{id}/delete", post(metadata::delete_album))
        .route("/genres", get(pages::genres))
        .route("/genres/{id}", get(pages::genre).post(metadata::edit_genre))
        .route("/genres/{id}/delete", post(metadata::delete_genre))
        .route("/songs/{id}", get(metadata::song).post(metadata::edit_song))
        .route("/songs/{id}/delete", post(metadata::delete_song))
        .route("/favourites", get(listening::favourites))
        .route("/recent", get(listening::recent))
        .route("/most-played", get(listening::most_played))
        .route("/songs/{id}/favourite", post(listening::set_favourite))
        .route("/songs/{id}/rating", post(listening::set_rating))
        .route("/playlists", get(playlists::list).post(playlists::create))
        .route("/playlists/picker", get(playlists::picker))
        .route("/playlists/{id}", get(playlists::show).post(playlists::update))
        .route("/playlists/{id}/delete", post(playlists::delete))
        .route("/playlists/{id}/entries", post(playlists::add_entry))
        .route("/playlists/{id}/entries/{entry_id}/move", post(playlists::move_entry))
        .route("/playlists/{id}/entries/{entry_id}/delete", post(playlists::remove_entry))
        .route("/upload", get(media::upload))
        .route("/imports", get(media::imports).post(media::start_import))
        .route("/imports/{id}", get(media::import))
        .route("/login", get(login::form).post(login::submit))
        .route("/setup", get(login::setup_form).post(login::setup))
        .route("/logout", post(login::logout))
        .route("/profile", get(profile::show).post(profile::save_name))
        .route("/profile/password", post(profile::change_password))
        .route("/admin/users", get(admin::users).post(admin::create))
        .route("/admin/users/{id}", post(admin::update))
        .route("/admin/users/{id}/delete", post(admin::delete))
        .route("/settings", get(settings::general).post(settings::save_general))
        .route("/settings/sync", get(settings::sync).post(settings::save_sync))
        .route("/settings/sync/slave-key", post(settings::save_slave_key))
        .route("/settings/sync/test", post(settings::test_connection))
        .route("/settings/sync/keys", post(settings::generate_key))
        .route("/settings/sync/keys/{id}/revoke", post(settings::revoke_key))
        .route("/sync", get(sync::control_center))
        .route("/sync/now", post(sync::sync_now))
        .route("/sync/{action}", post(sync::control))
        .route("/assets/{name}", get(assets::serve))
        .with_state(state)
}

/// The Content-Security-Policy of every response: scripts, styles, images
/// and sounds only from this server, no inline script or style (the pages
/// have none), no plugins, and no framing by another site.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

/// Security headers on every response, pages and API alike: the policy
/// above, no content-type sniffing (an uploaded file is never taken for a
/// script), no framing (clickjacking), and no full address sent to other
/// sites.
pub async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// What the frame of every page (`base.html`) shows.
pub(crate) struct Frame {
    pub assets: &'static str,
    /// The shared site name, in the header and every title.
    pub site_name: std::sync::Arc<str>,
    pub csrf: String,
    pub user_name: String,
    /// Moderators and admins upload and import.
    pub adds_music: bool,
    pub is_admin: bool,
}

impl Frame {
    pub fn of(user: &WebUser) -> Frame {
        Frame {
            assets: &assets::VERSION,
            site_name: user.site_name.clone(),
            csrf: user.csrf(),
            user_name: user.user.name.clone(),
            adds_music: user.user.role >= archive_db::Role::Moderator,
            is_admin: user.user.role == archive_db::Role::Admin,
        }
    }
}

/// The logged-in user of a page, by the session cookie. Without a valid
/// session a page sends the browser to the login page.
pub struct WebUser {
    pub user: User,
    pub token_id: uuid::Uuid,
    /// The session token (the cookie's value), from which the CSRF token comes.
    pub session: String,
    pub site_name: std::sync::Arc<str>,
}

impl WebUser {
    pub fn csrf(&self) -> String {
        session::csrf_token(&self.session)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        match session::csrf_matches(&self.session, presented) {
            true => Ok(()),
            false => Err(PageError::Forbidden("The page has expired: reload it and try again.")),
        }
    }

    /// As [`WebUser::check_csrf`], for a script's request (`X-CSRF-Token`).
    pub fn check_csrf_header(&self, headers: &axum::http::HeaderMap) -> Result<(), PageError> {
        self.check_csrf(headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or(""))
    }

    /// For a request that is a form or a script's: the form's token if it
    /// has one, else the header.
    pub fn check_csrf_form_or_header(
        &self,
        form_token: Option<&str>,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), PageError> {
        match form_token {
            Some(token) if !token.is_empty() => self.check_csrf(token),
            _ => self.check_csrf_header(headers),
        }
    }
}

/// On a slave, its master's address: accounts are changed there, and the
/// forms that change one ask for the user's own password, which the master
/// checks. `None` elsewhere.
pub(crate) fn master_of_slave(state: &AppState) -> Option<String> {
    let config = state.config();
    (config.role == crate::config::NodeRole::Slave)
        .then(|| config.sync.master_url.clone().unwrap_or_else(|| "the master".into()))
}

/// A message over a page after a form: what was done, or what was refused.
pub(crate) struct Notice {
    pub ok: bool,
    pub text: String,
}

/// An error message from the API layer as a sentence for a page: a capital
/// first letter and a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = session::cookie(&parts.headers, session::SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        match state.db.api_token(&hash_token(token)).await {
            Ok(Some((record, user))) => Ok(WebUser {
                user,
                token_id: record.id,
                session: token.to_owned(),
                site_name: state.site_name.get(&state.db).await,
            }),
            Ok(None) => Err(to_login(parts)),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// A logged-in user whose role is at least `role`; anyone else gets 403 with `refusal`.
async fn with_role(
    parts: &mut Parts,
    state: &AppState,
    role: archive_db::Role,
    refusal: &'static str,
) -> Result<WebUser, Response> {
    let user = WebUser::from_request_parts(parts, state).await?;
    if user.user.role < role {
        return Err(PageError::Forbidden(refusal).into_response());
    }
    Ok(user)
}

/// A logged-in admin.
pub struct AdminUser(pub WebUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        with_role(parts, state, archive_db::Role::Admin, "This page is for admins.").await.map(AdminUser)
    }
}

/// A logged-in moderator or admin (those who upload and import).
pub struct ModeratorUser(pub WebUser);

impl FromRequestParts<AppState> for ModeratorUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        with_role(parts, state, archive_db::Role::Moderator, "This page is for moderators and admins.")
            .await
            .map(ModeratorUser)
    }
}

/// To the login page: a redirect, or for an htmx request the header that
/// makes htmx load the page whole.
fn to_login(parts: &Parts) -> Response {
    if parts.headers.contains_key("hx-request") {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.headers_mut().insert("hx-redirect", HeaderValue::from_static("/login"));
        return response;
    }
    Redirect::to("/login").into_response()
}

/// Renders a template as an HTML page.
fn render(template: &impl askama::Template) -> Result<Response, PageError> {
    let mut response = Html(template.render()?).into_response();
    // Pages show private data and carry a CSRF token: never cached.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A failure of the database itself (what a request got wrong becomes `Api`).
    #[error("{0}")]
    Db(archive_db::DbError),
    #[error("rendering a page: {0}")]
    Template(#[from] askama::Error),
    #[error("{}", .0.message)]
    Api(crate::api::error::ApiError),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(&'static str),
}

impl From<archive_db::DbError> for PageError {
    fn from(e: archive_db::DbError) -> Self {
        use archive_db::DbError::{Duplicate, Forbidden, Invalid, MissingReference, NotFound, Unavailable};
        match e {
            // The same statuses and messages as the API's.
            NotFound
            | Duplicate(_)
            | MissingReference(_)
            | Invalid { .. }
            | Forbidden(_)
            | Unavailable(_) => PageError::Api(e.into()),
            other => PageError::Db(other),
        }
    }
}

impl From<crate::api::error::ApiError> for PageError {
    fn from(e: crate::api::error::ApiError) -> Self {
        PageError::Api(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            PageError::Api(e) => (e.status, sentence(&e.message)),
            PageError::NotFound(what) => (StatusCode::NOT_FOUND, format!("There is no such {what} here.")),
            PageError::Forbidden(why) => (StatusCode::FORBIDDEN, (*why).to_owned()),
            PageError::BadRequest(why) => (StatusCode::BAD_REQUEST, why.clone()),
            PageError::Conflict(why) => (StatusCode::CONFLICT, (*why).to_owned()),
            other => {
                tracing::error!(error = %other, "a page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server.".to_owned())
            }
        };
        let page = format!(
            "<!doctype html><html lang=\"en\"><title>Archive</title><main id=\"main\"><p>{}</p><p><a href=\"/\">Back to Archive</a></p></main></html>",
            escape(&message)
        );
        (status, Html(page)).into_response()
    }
}

/// HTML-escapes text for the few bits of markup built outside templates.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
