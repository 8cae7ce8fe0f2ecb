//! Logging to standard error, at `ARCHIVE_LOG_LEVEL`. Library crates' own
//! chatter (sqlx statements, hyper) stays at warn unless the level is trace.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(level: &str) {
    let filter = if level == "trace" {
        EnvFilter::new("trace")
    } else {
        EnvFilter::new(format!("warn,archive={level},archive_db={level},sync={level},tower_http={level}"))
    };
    // A second init (tests start several servers) is harmless and ignored.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
