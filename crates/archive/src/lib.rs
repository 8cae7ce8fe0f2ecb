//! Archive: a self-hosted music archive with master-slave sync.
//!
//! The binary's pieces: [`cli`] parses the command line, [`config`] turns
//! flags, environment and stored settings into one `Config`, [`serve`] starts
//! the HTTP server whose [`api`] is the JSON API and [`subsonic`] the
//! Subsonic API for apps, [`auth`] holds password
//! hashing, tokens and the login throttle, [`imports`] runs imports
//! started through the API, and [`settings`] changes stored settings while
//! the server runs. The database is `archive-db`.
//! `docs/ARCHITECTURE.md` is the map.

pub mod api;
pub mod auth;
pub mod cli;
pub mod client_address;
pub mod config;
pub mod healthcheck;
pub mod logging;
pub mod metrics;
pub mod serve;
pub mod services;
pub mod settings;
pub mod state;
pub mod subsonic;
pub mod sync;
pub mod tls;
pub mod transport;
pub mod upkeep;
pub mod web;
