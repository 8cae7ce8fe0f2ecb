use std::process::ExitCode;

/// mimalloc for every allocation, SQLite's and the TLS library's included:
/// its `override` feature replaces `malloc` itself. glibc's allocator was a
/// tenth of the SQLite writer's time in a large import, where sqlx copies
/// every bound value (docs/PERFORMANCE.md). Without transparent huge pages
/// (`no_thp`), which grew a master holding 5,000 long-polls by 2 MB pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    archive::cli::main()
}
