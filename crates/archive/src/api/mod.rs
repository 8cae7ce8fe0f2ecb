//! The JSON API under `/api/v1`.
//!
//! [`routes`] is the one table of every route: method, path, who may call it,
//! and the handler. The router is built from it, and [`access::enforce`]
//! checks the caller against it before any handler runs, so a route cannot
//! exist without an access rule. The role-matrix test walks the same table.

mod access;
pub(crate) mod auth;
pub(crate) mod cover;
pub mod error;
mod extract;
mod health;
pub(crate) mod imports;
pub(crate) mod library;
mod listening;
pub mod openapi;
mod pins;
pub(crate) mod playlists;
mod search;
pub(crate) mod stream;
mod subsonic_keys;
pub(crate) mod sync;
mod sync_files;
mod upload;
pub(crate) mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

pub use crate::client_address::ClientAddress;
pub use access::{Access, CurrentUser, SlavePeer};

use crate::state::AppState;
use error::ApiError;

/// One route: method, path (axum syntax), who may call it, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route { method, path, access, handler }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use Access::{Admin, Moderator, Public, Slave, User};
    use Method as M;
    vec![
        route(M::GET, "/api/v1/health", Public, get(health::health)),
        route(M::GET, "/api/v1/openapi.json", Public, get(openapi::document)),
        // Authentication
        route(M::POST, "/api/v1/auth/login", Public, post(auth::login)),
        route(M::POST, "/api/v1/auth/logout", User, post(auth::logout)),
        route(M::POST, "/api/v1/auth/refresh", User, post(auth::refresh)),
        route(M::GET, "/api/v1/auth/verify", User, get(auth::verify)),
        // The caller's own account and listening data
        route(M::GET, "/api/v1/me", User, get(users::me)),
        route(M::PATCH, "/api/v1/me", User, patch(users::update_me)),
        route(M::GET, "/api/v1/me/favourites", User, get(listening::favourites)),
        route(M::GET, "/api/v1/me/recently-played", User, get(listening::recently_played)),
        route(M::GET, "/api/v1/me/most-played", User, get(listening::most_played)),
        route(M::GET, "/api/v1/me/subsonic-keys", User, get(subsonic_keys::list)),
        route(M::POST, "/api/v1/me/subsonic-keys", User, post(subsonic_keys::create)),
        route(M::DELETE, "/api/v1/me/subsonic-keys/{id}", User, delete(subsonic_keys::revoke)),
        route(M::GET, "/api/v1/me/subsonic-app-passwords", User, get(subsonic_keys::list_app_passwords)),
        route(M::POST, "/api/v1/me/subsonic-app-passwords", User, post(subsonic_keys::create_app_password)),
        route(
            M::DELETE,
            "/api/v1/me/subsonic-app-passwords/{id}",
            User,
            delete(subsonic_keys::revoke_app_password),
        ),
        // Library
        route(M::GET, "/api/v1/artists", User, get(library::list_artists)),
        route(M::POST, "/api/v1/artists", Moderator, post(library::create_artist)),
        route(M::GET, "/api/v1/artists/{id}", User, get(library::get_artist)),
        route(M::PATCH, "/api/v1/artists/{id}", Moderator, patch(library::update_artist)),
        route(M::DELETE, "/api/v1/artists/{id}", Admin, delete(library::delete_artist)),
        route(M::GET, "/api/v1/genres", User, get(library::list_genres)),
        route(M::POST, "/api/v1/genres", Moderator, post(library::create_genre)),
        route(M::GET, "/api/v1/genres/{id}", User, get(library::get_genre)),
        route(M::PATCH, "/api/v1/genres/{id}", Moderator, patch(library::update_genre)),
        route(M::DELETE, "/api/v1/genres/{id}", Admin, delete(library::delete_genre)),
        route(M::GET, "/api/v1/albums", User, get(library::list_albums)),
        route(M::POST, "/api/v1/albums", Moderator, post(library::create_album)),
        route(M::GET, "/api/v1/albums/{id}", User, get(library::get_album)),
        route(M::GET, "/api/v1/albums/{id}/cover", User, get(cover::cover)),
        route(M::PATCH, "/api/v1/albums/{id}", Moderator, patch(library::update_album)),
        route(M::DELETE, "/api/v1/albums/{id}", Admin, delete(library::delete_album)),
        route(M::POST, "/api/v1/albums/{id}/pin", User, post(pins::pin_album)),
        route(M::DELETE, "/api/v1/albums/{id}/pin", User, delete(pins::unpin_album)),
        route(M::GET, "/api/v1/songs", User, get(library::list_songs)),
        route(
            M::POST,
            "/api/v1/songs",
            Moderator,
            post(upload::create_or_upload).layer(DefaultBodyLimit::disable()),
        ),
        route(M::GET, "/api/v1/songs/{id}", User, get(library::get_song)),
        route(M::PATCH, "/api/v1/songs/{id}", Moderator, patch(library::update_song)),
        route(M::DELETE, "/api/v1/songs/{id}", Admin, delete(library::delete_song)),
        route(M::GET, "/api/v1/search", User, get(search::search)),
        // Audio files on this node
        route(M::GET, "/api/v1/songs/{id}/stream", User, get(stream::stream)),
        route(M::GET, "/api/v1/songs/{id}/download", User, get(stream::download)),
        route(M::POST, "/api/v1/songs/{id}/pin", User, post(pins::pin_song)),
        route(M::DELETE, "/api/v1/songs/{id}/pin", User, delete(pins::unpin_song)),
        // Imports of server-side folders
        route(M::GET, "/api/v1/imports", Moderator, get(imports::list)),
        route(M::POST, "/api/v1/imports", Moderator, post(imports::start)),
        route(M::GET, "/api/v1/imports/{id}", Moderator, get(imports::get)),
        // Listening data
        route(M::GET, "/api/v1/songs/{id}/listening", User, get(listening::get)),
        route(M::POST, "/api/v1/songs/{id}/play", User, post(listening::play)),
        route(M::PUT, "/api/v1/songs/{id}/favourite", User, put(listening::favourite)),
        route(M::DELETE, "/api/v1/songs/{id}/favourite", User, delete(listening::unfavourite)),
        route(M::PUT, "/api/v1/songs/{id}/rating", User, put(listening::rate)),
        // Playlists (owners edit their own; admins any)
        route(M::GET, "/api/v1/playlists", User, get(playlists::list)),
        route(M::POST, "/api/v1/playlists", User, post(playlists::create)),
        route(M::GET, "/api/v1/playlists/{id}", User, get(playlists::get)),
        route(M::PATCH, "/api/v1/playlists/{id}", User, patch(playlists::update)),
        route(M::DELETE, "/api/v1/playlists/{id}", User, delete(playlists::remove)),
        route(M::POST, "/api/v1/playlists/{id}/pin", User, post(pins::pin_playlist)),
        route(M::DELETE, "/api/v1/playlists/{id}/pin", User, delete(pins::unpin_playlist)),
        route(M::GET, "/api/v1/playlists/{id}/entries", User, get(playlists::entries)),
        route(M::POST, "/api/v1/playlists/{id}/entries", User, post(playlists::add_entry)),
        route(M::PATCH, "/api/v1/playlists/{id}/entries/{entry_id}", User, patch(playlists::move_entry)),
        route(M::DELETE, "/api/v1/playlists/{id}/entries/{entry_id}", User, delete(playlists::remove_entry)),
        // Users (admin)
        route(M::GET, "/api/v1/users", Admin, get(users::list)),
        route(M::POST, "/api/v1/users", Admin, post(users::create)),
        route(M::GET, "/api/v1/users/{id}", Admin, get(users::get)),
        route(M::PATCH, "/api/v1/users/{id}", Admin, patch(users::update)),
        route(M::DELETE, "/api/v1/users/{id}", Admin, delete(users::remove)),
        // Sync protocol: slave to master, by slave key
        route(M::GET, "/api/v1/sync/ping", Slave, get(sync::ping)),
        route(M::GET, "/api/v1/sync/changes", Slave, get(sync::changes).layer(gzip())),
        route(
            M::POST,
            "/api/v1/sync/apply",
            Slave,
            post(sync::apply)
                .layer::<_, std::convert::Infallible>(gzip())
                .layer(DefaultBodyLimit::max(64 * 1024 * 1024)),
        ),
        route(M::POST, "/api/v1/sync/bootstrap", Slave, post(sync::bootstrap_start)),
        route(M::GET, "/api/v1/sync/bootstrap/{table}", Slave, get(sync::bootstrap_page).layer(gzip())),
        route(M::POST, "/api/v1/sync/files/batch", Slave, post(sync_files::batch)),
        route(M::POST, "/api/v1/sync/files/fetch", Admin, post(sync_files::fetch)),
        route(M::GET, "/api/v1/sync/files/{sha256}", Slave, get(sync_files::download)),
        route(
            M::PATCH,
            "/api/v1/sync/files/{sha256}",
            Slave,
            patch(sync_files::upload).layer(DefaultBodyLimit::disable()),
        ),
        // Sync administration
        route(M::GET, "/api/v1/sync/status", Admin, get(sync::status)),
        route(M::POST, "/api/v1/sync/now", Admin, post(sync::sync_now)),
        route(M::GET, "/api/v1/sync/digest", Admin, get(sync::digest)),
        route(M::GET, "/api/v1/sync/keys", Admin, get(sync::list_keys)),
        route(M::POST, "/api/v1/sync/keys", Admin, post(sync::create_key)),
        route(M::DELETE, "/api/v1/sync/keys/{id}", Admin, delete(sync::revoke_key)),
        route(M::POST, "/api/v1/sync/pause", Admin, post(sync::pause)),
        route(M::POST, "/api/v1/sync/resume", Admin, post(sync::resume)),
        route(M::POST, "/api/v1/sync/emergency-stop", Admin, post(sync::emergency_stop)),
        route(M::POST, "/api/v1/sync/clear-stop", Admin, post(sync::clear_stop)),
        route(M::POST, "/api/v1/sync/clear-failed", Admin, post(sync::clear_failed)),
        route(M::GET, "/api/v1/sync/slaves", Admin, get(sync::slaves)),
        route(M::GET, "/api/v1/sync/conflicts", Admin, get(sync::conflicts)),
    ]
}

/// Gzip for the sync pages, which are large and compress well. At its
/// fastest level: a page of 1,000 songs shrinks nearly as much, and the
/// default level took a tenth of a master's time serving a steady pull.
fn gzip() -> tower_http::compression::CompressionLayer {
    tower_http::compression::CompressionLayer::new().gzip(true).quality(tower_http::CompressionLevel::Fastest)
}

/// The API router, with access checks and JSON errors for unknown paths.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for r in routes() {
        router = router.route(r.path, r.handler);
    }
    router
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), access::enforce))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this path",
            )
        })
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .with_state(state)
}
