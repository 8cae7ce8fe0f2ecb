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
mod forms;
pub use forms::{CsrfForm, NoFields};
mod listening;
mod login;
mod media;
mod metadata;
mod pages;
mod pins;
mod playlists;
mod profile;
mod settings;
mod song_rows;
mod sync;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use archive_db::User;

use crate::auth::{hash_token, session};
use crate::services::ServiceError;
use crate::services::imports::ImportRequestError;
use crate::state::AppState;
use crate::sync::accounts::ForwardError;

/// Who may open a page. A page's handler takes the matching extractor
/// ([`WebUser`], [`ModeratorUser`], [`AdminUser`]; none for `Public`), and
/// the page role matrix test (`tests/api/web_roles.rs`) calls every page as
/// every role to hold the two together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAccess {
    /// Anyone: logging in, the first start, the static files.
    Public,
    /// Any logged-in user.
    User,
    Moderator,
    Admin,
}

/// One page route: method, path (axum syntax), who may open it, handler.
pub struct PageRoute {
    pub method: Method,
    pub path: &'static str,
    pub access: PageAccess,
    handler: MethodRouter<AppState>,
}

fn page(
    method: Method,
    path: &'static str,
    access: PageAccess,
    handler: MethodRouter<AppState>,
) -> PageRoute {
    PageRoute { method, path, access, handler }
}

/// Every page route (the API's are in [`crate::api::routes`]). A `POST`
/// changes something: its handler reads the form through [`CsrfForm`].
pub fn pages() -> Vec<PageRoute> {
    use Method as M;
    use PageAccess::{Admin, Moderator, Public, User};
    vec![
        page(M::GET, "/", User, get(pages::songs)),
        page(M::GET, "/artists", User, get(pages::artists)),
        page(M::GET, "/artists/{id}", User, get(pages::artist)),
        page(M::POST, "/artists/{id}", Moderator, post(metadata::edit_artist)),
        page(M::POST, "/artists/{id}/delete", Admin, post(metadata::delete_artist)),
        page(M::GET, "/albums", User, get(pages::albums)),
        page(M::GET, "/albums/{id}", User, get(pages::album)),
        page(M::POST, "/albums/{id}", Moderator, post(metadata::edit_album)),
        page(M::POST, "/albums/{id}/delete", Admin, post(metadata::delete_album)),
        page(M::GET, "/genres", User, get(pages::genres)),
        page(M::GET, "/genres/{id}", User, get(pages::genre)),
        page(M::POST, "/genres/{id}", Moderator, post(metadata::edit_genre)),
        page(M::POST, "/genres/{id}/delete", Admin, post(metadata::delete_genre)),
        page(M::GET, "/songs/{id}", User, get(metadata::song)),
        page(M::POST, "/songs/{id}", Moderator, post(metadata::edit_song)),
        page(M::POST, "/songs/{id}/delete", Admin, post(metadata::delete_song)),
        page(M::GET, "/favourites", User, get(listening::favourites)),
        page(M::GET, "/recent", User, get(listening::recent)),
        page(M::GET, "/most-played", User, get(listening::most_played)),
        page(M::POST, "/songs/{id}/favourite", User, post(listening::set_favourite)),
        page(M::POST, "/songs/{id}/rating", User, post(listening::set_rating)),
        page(M::POST, "/songs/{id}/pin", User, post(pins::pin_song)),
        page(M::POST, "/albums/{id}/pin", User, post(pins::pin_album)),
        page(M::POST, "/playlists/{id}/pin", User, post(pins::pin_playlist)),
        page(M::GET, "/playlists", User, get(playlists::list)),
        page(M::POST, "/playlists", User, post(playlists::create)),
        page(M::GET, "/playlists/picker", User, get(playlists::picker)),
        page(M::GET, "/playlists/{id}", User, get(playlists::show)),
        page(M::POST, "/playlists/{id}", User, post(playlists::update)),
        page(M::POST, "/playlists/{id}/delete", User, post(playlists::delete)),
        page(M::POST, "/playlists/{id}/entries", User, post(playlists::add_entry)),
        page(M::POST, "/playlists/{id}/entries/{entry_id}/move", User, post(playlists::move_entry)),
        page(M::POST, "/playlists/{id}/entries/{entry_id}/delete", User, post(playlists::remove_entry)),
        page(M::GET, "/upload", Moderator, get(media::upload)),
        page(M::GET, "/imports", Moderator, get(media::imports)),
        page(M::POST, "/imports", Moderator, post(media::start_import)),
        page(M::GET, "/imports/{id}", Moderator, get(media::import)),
        page(M::GET, "/login", Public, get(login::form)),
        page(M::POST, "/login", Public, post(login::submit)),
        page(M::GET, "/setup", Public, get(login::setup_form)),
        page(M::POST, "/setup", Public, post(login::setup)),
        page(M::POST, "/logout", User, post(login::logout)),
        page(M::GET, "/profile", User, get(profile::show)),
        page(M::POST, "/profile", User, post(profile::save_name)),
        page(M::POST, "/profile/password", User, post(profile::change_password)),
        page(M::POST, "/profile/{kind}", User, post(profile::make_app_secret)),
        page(M::POST, "/profile/{kind}/{id}/delete", User, post(profile::revoke_app_secret)),
        page(M::GET, "/admin/users", Admin, get(admin::users)),
        page(M::POST, "/admin/users", Admin, post(admin::create)),
        page(M::POST, "/admin/users/{id}", Admin, post(admin::update)),
        page(M::POST, "/admin/users/{id}/delete", Admin, post(admin::delete)),
        page(M::GET, "/settings", Admin, get(settings::general)),
        page(M::POST, "/settings", Admin, post(settings::save_general)),
        page(M::GET, "/settings/sync", Admin, get(settings::sync)),
        page(M::POST, "/settings/sync", Admin, post(settings::save_sync)),
        page(M::POST, "/settings/sync/slave-key", Admin, post(settings::save_slave_key)),
        page(M::POST, "/settings/sync/test", Admin, post(settings::test_connection)),
        page(M::POST, "/settings/sync/keys", Admin, post(settings::generate_key)),
        page(M::POST, "/settings/sync/keys/{id}/revoke", Admin, post(settings::revoke_key)),
        page(M::GET, "/sync", Admin, get(sync::control_center)),
        page(M::POST, "/sync/now", Admin, post(sync::sync_now)),
        page(M::POST, "/sync/{action}", Admin, post(sync::control)),
        page(M::GET, "/assets/{name}", Public, get(assets::serve)),
    ]
}

/// The pages' router, built from [`pages`].
pub fn router(state: AppState) -> Router {
    pages().into_iter().fold(Router::new(), |router, p| router.route(p.path, p.handler)).with_state(state)
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
    /// A failure of the database itself (what a request got wrong is `Refused`).
    #[error("{0}")]
    Db(archive_db::DbError),
    #[error("rendering a page: {0}")]
    Template(#[from] askama::Error),
    /// Refused by the rules (a service, the database's checks): the status
    /// and the words, the same as the API's.
    #[error("{message}")]
    Refused { status: StatusCode, message: String },
    /// On a slave, an account change that needs the master, which cannot
    /// be reached (503).
    #[error("{0}")]
    MasterUnreachable(String),
    /// Failed on our side; the cause goes to the log.
    #[error("{0}")]
    Internal(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(&'static str),
    /// A form that cannot be read into what the page expects.
    #[error("{0}")]
    Invalid(String),
    /// A body that is not a form.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl PageError {
    fn refused(status: StatusCode, message: impl std::fmt::Display) -> PageError {
        PageError::Refused { status, message: message.to_string() }
    }

    /// What a form page says above the form instead of failing: a refusal
    /// (a 4xx), or a master that cannot be reached. Anything else stays an
    /// error page.
    pub fn said_on_the_form(self) -> Result<(StatusCode, String), PageError> {
        match self {
            PageError::Refused { status, message } if status.is_client_error() => {
                Ok((status, sentence(&message)))
            }
            PageError::MasterUnreachable(message) => {
                Ok((StatusCode::SERVICE_UNAVAILABLE, sentence(&message)))
            }
            other => Err(other),
        }
    }
}

/// The database's refusals, with the API's statuses and words.
impl From<archive_db::DbError> for PageError {
    fn from(e: archive_db::DbError) -> Self {
        use archive_db::DbError as E;
        match e {
            E::NotFound => PageError::refused(StatusCode::NOT_FOUND, "record not found"),
            E::Duplicate(_) => {
                PageError::refused(StatusCode::CONFLICT, "a record with the same unique value already exists")
            }
            E::MissingReference(_) => {
                PageError::refused(StatusCode::UNPROCESSABLE_ENTITY, "a referenced record does not exist")
            }
            E::Invalid { message, .. } => PageError::refused(StatusCode::UNPROCESSABLE_ENTITY, message),
            E::Forbidden(message) => PageError::refused(StatusCode::FORBIDDEN, message),
            e @ E::Unavailable(_) => PageError::refused(StatusCode::SERVICE_UNAVAILABLE, e),
            other => PageError::Db(other),
        }
    }
}

/// The services' errors as the pages answer them (the API's mapping is
/// `api::error`): the same statuses and words.
impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as E;
        let status = match &e {
            E::Db(_) | E::Internal(_) => {
                return match e {
                    E::Db(db) => db.into(),
                    other => PageError::Internal(other.to_string()),
                };
            }
            E::Invalid { .. } | E::Master(ForwardError::WrongPassword) => StatusCode::UNPROCESSABLE_ENTITY,
            E::Import(ImportRequestError::NoRoots | ImportRequestError::OutsideRoots(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Conflict(_)
            | E::MasterOnly(_)
            | E::Import(ImportRequestError::Busy)
            | E::SyncNotConfigured(_)
            | E::SyncStopped(_)
            | E::NotMaster => StatusCode::CONFLICT,
            E::WrongCredentials => StatusCode::UNAUTHORIZED,
            E::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            E::Master(ForwardError::Refused { status, .. }) => *status,
            E::Master(ForwardError::Unreachable(_)) => return PageError::MasterUnreachable(e.to_string()),
            E::SyncHeld { .. } => StatusCode::SERVICE_UNAVAILABLE,
            E::SyncFailed(_) => StatusCode::BAD_GATEWAY,
        };
        PageError::refused(status, e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            PageError::Refused { status, message } => (*status, sentence(message)),
            PageError::MasterUnreachable(message) => (StatusCode::SERVICE_UNAVAILABLE, sentence(message)),
            PageError::NotFound(what) => (StatusCode::NOT_FOUND, format!("There is no such {what} here.")),
            PageError::Forbidden(why) => (StatusCode::FORBIDDEN, (*why).to_owned()),
            PageError::BadRequest(why) => (StatusCode::BAD_REQUEST, why.clone()),
            PageError::Conflict(why) => (StatusCode::CONFLICT, (*why).to_owned()),
            PageError::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, why.clone()),
            PageError::Unsupported(why) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, (*why).to_owned()),
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
