//! Logging to standard error, at `ARCHIVE_LOG_LEVEL`. Library crates' own
//! chatter (sqlx statements, hyper) stays at warn unless the level is trace.

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init(level: &str) {
    let level: LevelFilter = level.parse().unwrap_or(LevelFilter::INFO);
    // A plain list of targets (not `EnvFilter`, whose regular expressions
    // would add a megabyte to the binary for filters nobody writes here).
    let filter = if level == LevelFilter::TRACE {
        Targets::new().with_default(LevelFilter::TRACE)
    } else {
        ["archive", "sync", "tower_http"]
            .into_iter()
            .fold(Targets::new().with_default(LevelFilter::WARN), |targets, target| {
                targets.with_target(target, level)
            })
    };
    let output = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests start several servers) is harmless and ignored.
    let _ = tracing_subscriber::registry().with(output).with(filter).try_init();
}
