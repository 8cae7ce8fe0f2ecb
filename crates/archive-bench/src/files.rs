//! `archive-bench files`: a master's audio files mirrored by a slave over
//! HTTPS on loopback, both servers in this process on SQLite: small files
//! per second, and large ones in MB/s (`SYNC_FILES=mirror`: the transfer
//! queue drained, four downloads at once, each checked against its SHA-256 before it is kept).

use std::sync::Arc;
use std::time::Instant;

use archive::serve::Server;
use archive::sync::{engine, keys, transfers};
use archive_db::{Backend, ContentOrigin, Db};

use crate::library::{self, Template};
use crate::{place, place_config};

pub struct FilesArgs {
    /// Small files (under a kilobyte each).
    pub files: usize,
    /// Files of 7.7 MB.
    pub large: usize,
}

pub async fn run(args: &FilesArgs) -> anyhow::Result<()> {
    println!("| files | measurement | result |");
    println!("|---|---|---|");
    mirror(args.files, Template::Tiny, "small (under 1 kB)").await?;
    mirror(args.large, Template::Realistic, "7.7 MB").await?;
    Ok(())
}

async fn mirror(count: usize, template: Template, label: &str) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let certificates = archive_testkit::tls::TestCertificates::new();
    let library = tempfile::tempdir()?;
    library::generate(library.path(), count, template)?;

    let master_place = place(Backend::Sqlite)?;
    let master_db = Db::connect(&master_place.options).await?;
    master_db.migrate().await?;
    archive_media::import(&master_db, &[library.path().to_owned()], Arc::default()).await?;
    // Large files get their full hash in the background on a server; here, at once.
    archive_media::hash_pending(&master_db, u64::MAX, &mut Default::default()).await?;
    let master_config = place_config(
        &master_place,
        &[
            ("ARCHIVE_ROLE", "master".into()),
            ("ARCHIVE_NODE_ID", "main".into()),
            ("ARCHIVE_WATCH", "false".into()),
            ("ARCHIVE_TLS_CERT", certificates.server_cert.display().to_string()),
            ("ARCHIVE_TLS_KEY", certificates.server_key.display().to_string()),
        ],
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let master = Server::start(listener, master_db.clone(), master_config).await?;
    let issued = keys::create(&master_db, "bench", "bench", None, false).await?;

    let slave_place = place(Backend::Sqlite)?;
    let slave_db = Db::connect(&slave_place.options).await?;
    slave_db.migrate().await?;
    let slave_config = place_config(
        &slave_place,
        &[
            ("ARCHIVE_ROLE", "slave".into()),
            ("ARCHIVE_NODE_ID", "bench".into()),
            ("MASTER_ARCHIVE_URL", master.base_url()),
            ("MASTER_CA_CERT", certificates.ca_cert.display().to_string()),
            ("SYNC_FILES", "mirror".into()),
        ],
    )?;
    keys::set_on_slave(&slave_db, &slave_config, &issued.secret).await?;
    engine::run_cycle_now(&slave_db, &slave_config).await?;

    let slave = archive::state::AppState::new(slave_db.clone(), slave_config);
    let started = Instant::now();
    // The queue worker's own loop, run here until nothing is left to fetch.
    let fetched = transfers::drain(&slave).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let bytes = slave_db.content_bytes(ContentOrigin::Fetched).await?;
    anyhow::ensure!(fetched as usize == count, "mirrored {fetched} of {count} files");
    println!(
        "| {count} × {label} | mirrored by a slave over HTTPS | {elapsed:.2} s, **{:.0} files/s**, {:.1} MB/s |",
        fetched as f64 / elapsed,
        bytes as f64 / 1e6 / elapsed
    );
    master.stop().await?;
    Ok(())
}
