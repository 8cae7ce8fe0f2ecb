//! Archive's HTTP API and command line, tested from outside: real servers on
//! loopback, the real binary, real SQLite and PostgreSQL databases.

mod auth;
mod browser;
mod cli;
mod faults;
mod fuzz;
mod hostile;
mod library;
mod listening;
mod media;
mod metrics;
mod playlists;
mod roles;
mod search;
mod stream;
mod subsonic;
pub(crate) mod support;
mod sync;
mod sync_accounts;
mod sync_boundary;
mod sync_cluster;
mod sync_control;
mod sync_files;
mod sync_keeping;
mod sync_live;
mod tidy;
mod transport;
mod users;
mod web;
mod web_library;
mod web_media;
mod web_metadata;
mod web_playlists;
mod web_roles;
mod web_sync;
