//! Configuration: one [`Config`], built in one place ([`Config::load`]).
//!
//! Every setting is described once, as data, in [`SETTINGS`]: its environment
//! variable, its default and its range. Precedence, highest first: command-line
//! flag (for the few settings that have one), environment variable, value
//! stored in the database (`node_settings`, for the settings the web UI can
//! edit), default. A setting given by the environment is *locked*: the UI
//! shows it read-only, naming the variable. A bad value stops start-up with a
//! message that names the variable and the range.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::tls::TlsFiles;

/// What went wrong with a setting. Always names the variable.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{var} is invalid: {reason} (got {value:?})")]
    Invalid { var: &'static str, value: String, reason: String },
    #[error("{0}")]
    Inconsistent(String),
}

/// How a setting's text is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// true/false (also 1/0, yes/no, on/off).
    Bool,
    /// Whole seconds within a range.
    Seconds { min: u64, max: u64 },
    /// A whole number within a range.
    Count { min: u64, max: u64 },
    /// An http:// or https:// URL.
    Url,
    /// Free text, not empty.
    Text,
    /// A path to an existing file.
    File,
    /// Existing folders, separated by `:`.
    Folders,
    /// A 256-bit key as 64 hex digits; never shown.
    SecretKey,
    /// A password-like secret of at least 16 printable characters; never shown.
    Token,
    /// A size in gigabytes (10⁹ bytes), decimals allowed, within a range.
    Gigabytes { min: f64, max: f64 },
    /// IP addresses and networks (`10.0.0.0/8`), separated by commas or spaces.
    Networks,
}

/// One setting, described once.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Environment variable; also the key under which the database stores it.
    pub var: &'static str,
    pub kind: Kind,
    /// `None`: unset unless given.
    pub default: Option<&'static str>,
    /// Whether it may be stored in the database (edited from the web UI).
    pub stored: bool,
    pub help: &'static str,
}

pub const ROLES: &[&str] = &["standalone", "master", "slave"];
pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Every setting Archive reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        var: "ARCHIVE_DATA_DIR",
        kind: Kind::Text,
        default: Some("./archive-data"),
        stored: false,
        help: "Directory for the SQLite database and uploaded files",
    },
    Setting {
        var: "DATABASE_URL",
        kind: Kind::Text,
        default: None,
        stored: false,
        help: "postgres:// URL; unset for the embedded SQLite database",
    },
    Setting {
        var: "ARCHIVE_BIND",
        kind: Kind::Text,
        default: Some("127.0.0.1:3000"),
        stored: false,
        help: "Address and port to listen on",
    },
    Setting {
        var: "ARCHIVE_LOG_LEVEL",
        kind: Kind::OneOf(LOG_LEVELS),
        default: Some("info"),
        stored: false,
        help: "Log verbosity",
    },
    Setting {
        var: "ARCHIVE_TLS_CERT",
        kind: Kind::File,
        default: None,
        stored: false,
        help: "PEM certificate chain to serve HTTPS with",
    },
    Setting {
        var: "ARCHIVE_TLS_KEY",
        kind: Kind::File,
        default: None,
        stored: false,
        help: "PEM private key to serve HTTPS with",
    },
    Setting {
        var: "ARCHIVE_LIBRARY_ROOTS",
        kind: Kind::Folders,
        default: None,
        stored: false,
        help: "Folders (separated by :) that imports started from the API or web UI may read",
    },
    Setting {
        var: "ARCHIVE_WATCH",
        kind: Kind::Bool,
        default: Some("true"),
        stored: false,
        help: "Watch the library folders and import what changes in them within seconds",
    },
    Setting {
        var: "ARCHIVE_SCAN_INTERVAL",
        kind: Kind::Seconds { min: 60, max: 2_592_000 },
        default: Some("86400"),
        stored: false,
        help: "Seconds between full scans of the library folders (for what watching misses, such as network mounts)",
    },
    Setting {
        var: "ARCHIVE_TRUSTED_PROXIES",
        kind: Kind::Networks,
        default: None,
        stored: false,
        help: "Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client",
    },
    Setting {
        var: "ARCHIVE_MAX_UPLOAD_MB",
        kind: Kind::Count { min: 1, max: 65_536 },
        default: Some("1024"),
        stored: true,
        help: "Largest upload accepted, in MiB (all files of one request together)",
    },
    Setting {
        var: "ARCHIVE_MAX_UPLOAD_FILES",
        kind: Kind::Count { min: 1, max: 1000 },
        default: Some("100"),
        stored: true,
        help: "Most files in one upload request (each is held open until all arrive)",
    },
    Setting {
        var: "ARCHIVE_MIN_FREE_GB",
        kind: Kind::Gigabytes { min: 0.0, max: 1_000_000.0 },
        default: Some("1"),
        stored: true,
        help: "Disk space, in GB (10^9 bytes), that uploads (from users and from slaves) leave free on the data directory's disk; 0 for none",
    },
    Setting {
        var: "ARCHIVE_TRANSCODE_LIMIT",
        kind: Kind::Count { min: 0, max: 64 },
        default: Some("4"),
        stored: true,
        help: "Most transcodes (ffmpeg processes) at once for apps that ask for a lower bit rate or another format, half of them per user; 0 turns transcoding off",
    },
    Setting {
        var: "ARCHIVE_MAX_CONNECTIONS",
        kind: Kind::Count { min: 8, max: 1_000_000 },
        default: Some("512"),
        stored: false,
        help: "Most client connections open at once; more wait to be accepted (kept below the open-file limit)",
    },
    Setting {
        var: "ARCHIVE_HEADER_TIMEOUT",
        kind: Kind::Seconds { min: 1, max: 300 },
        default: Some("10"),
        stored: false,
        help: "Seconds a client has to send a request's headers; also how long an idle kept-alive connection stays open",
    },
    Setting {
        var: "ARCHIVE_BODY_TIMEOUT",
        kind: Kind::Seconds { min: 1, max: 600 },
        default: Some("30"),
        stored: false,
        help: "Seconds a client may pause while sending a request body",
    },
    Setting {
        var: "ARCHIVE_REQUEST_TIMEOUT",
        kind: Kind::Seconds { min: 5, max: 3600 },
        default: Some("60"),
        stored: false,
        help: "Seconds a request may take, except streams, downloads, uploads and sync's own long requests",
    },
    Setting {
        var: "ARCHIVE_METRICS",
        kind: Kind::Bool,
        default: Some("false"),
        stored: false,
        help: "Serve Prometheus metrics at GET /metrics",
    },
    Setting {
        var: "ARCHIVE_METRICS_TOKEN",
        kind: Kind::Token,
        default: None,
        stored: false,
        help: "Bearer token that GET /metrics requires (at least 16 characters); unset: /metrics is open",
    },
    Setting {
        var: "ARCHIVE_ROLE",
        kind: Kind::OneOf(ROLES),
        default: Some("standalone"),
        stored: true,
        help: "standalone, master or slave",
    },
    Setting {
        var: "ARCHIVE_NODE_ID",
        kind: Kind::Text,
        default: None,
        stored: true,
        help: "This node's id in sync (default: the host name)",
    },
    Setting {
        var: "SYNC_ENABLED",
        kind: Kind::Bool,
        default: Some("false"),
        stored: true,
        help: "Whether the sync worker runs",
    },
    Setting {
        var: "SYNC_INTERVAL",
        kind: Kind::Seconds { min: 60, max: 3600 },
        default: Some("300"),
        stored: true,
        help: "Seconds between sync cycles",
    },
    Setting {
        var: "MASTER_ARCHIVE_URL",
        kind: Kind::Url,
        default: None,
        stored: true,
        help: "The master's https:// URL (slave)",
    },
    Setting {
        var: "SYNC_OPERATION_TIMEOUT",
        kind: Kind::Seconds { min: 10, max: 300 },
        default: Some("120"),
        stored: true,
        help: "Limit on one whole sync cycle, seconds",
    },
    Setting {
        var: "SYNC_CONNECT_TIMEOUT",
        kind: Kind::Seconds { min: 1, max: 120 },
        default: Some("10"),
        stored: true,
        help: "Connect timeout per sync request, seconds",
    },
    Setting {
        var: "SYNC_READ_TIMEOUT",
        kind: Kind::Seconds { min: 1, max: 300 },
        default: Some("20"),
        stored: true,
        help: "Read timeout per sync request, seconds",
    },
    Setting {
        var: "SYNC_FAILURE_THRESHOLD",
        kind: Kind::Count { min: 1, max: 100 },
        default: Some("5"),
        stored: true,
        help: "Consecutive failures that open the circuit breaker",
    },
    Setting {
        var: "SYNC_CIRCUIT_TIMEOUT",
        kind: Kind::Seconds { min: 10, max: 86_400 },
        default: Some("300"),
        stored: true,
        help: "Seconds the circuit stays open before one probe",
    },
    Setting {
        var: "SYNC_LIVE",
        kind: Kind::Bool,
        default: Some("true"),
        stored: true,
        help: "A slave follows its master live: it holds a long-poll open for the master's changes and pushes its own about a second after they are made; the interval stays the fallback",
    },
    Setting {
        var: "SYNC_MAX_LIVE_POLLS",
        kind: Kind::Count { min: 0, max: 100_000 },
        default: Some("256"),
        stored: true,
        help: "Most long-polls a master holds at once (two per slave at most); beyond, slaves are answered at once; 0 turns long-polls off",
    },
    Setting {
        var: "SYNC_FILES",
        kind: Kind::OneOf(FILE_POLICIES),
        default: Some("on-play"),
        stored: true,
        help: "Which of the master's audio files a slave keeps: off, on-play (what is played) or mirror (all, newest first, within SYNC_FILES_MAX_GB)",
    },
    Setting {
        var: "SYNC_FILES_MAX_GB",
        kind: Kind::Gigabytes { min: 0.000_001, max: 1_000_000.0 },
        default: None,
        stored: true,
        help: "Quota for the audio files a slave fetches, in GB (10^9 bytes); no quota when unset",
    },
    Setting {
        var: "SYNC_UPLOAD_GB_PER_DAY",
        kind: Kind::Gigabytes { min: 0.000_001, max: 1_000_000.0 },
        default: Some("50"),
        stored: true,
        help: "Most audio-file bytes a master takes from each slave key in a day (UTC), in GB (10^9 bytes): a stolen key fills the disk no faster",
    },
    Setting {
        var: "SYNC_PUSH_CHANGES_PER_DAY",
        // At least one whole push: a slave pushes up to MAX_PUSH changes at a time.
        kind: Kind::Count { min: archive_db::sync::protocol::MAX_PUSH as u64, max: 1_000_000_000 },
        default: Some("2000000"),
        stored: true,
        help: "Most changes a master takes from each slave key's pushes in a day (UTC): a stolen key grows the database no faster",
    },
    Setting {
        var: "MASTER_CA_CERT",
        kind: Kind::File,
        default: None,
        stored: false,
        help: "PEM CA certificate to trust for the master",
    },
    Setting {
        var: "SYNC_ALLOW_INSECURE",
        kind: Kind::Bool,
        default: Some("false"),
        stored: false,
        help: "Allow an http:// master (tests and development only)",
    },
    Setting {
        var: "ARCHIVE_SYNC_KEK",
        kind: Kind::SecretKey,
        default: None,
        stored: false,
        help: "Key that encrypts the slave key at rest (64 hex digits); default: the file sync-kek under the data directory, created mode 0600",
    },
];

pub fn setting(var: &str) -> &'static Setting {
    SETTINGS.iter().find(|s| s.var == var).unwrap_or_else(|| panic!("unknown setting {var}"))
}

impl Setting {
    /// Checks a value and returns it in canonical form.
    pub fn check(&self, value: &str) -> Result<String, ConfigError> {
        let invalid =
            |reason: String| ConfigError::Invalid { var: self.var, value: value.to_owned(), reason };
        let v = value.trim();
        if v.contains('\0') {
            return Err(invalid("must not contain a NUL character".into()));
        }
        match self.kind {
            Kind::OneOf(words) => {
                let lower = v.to_ascii_lowercase();
                if words.contains(&lower.as_str()) {
                    Ok(lower)
                } else {
                    Err(invalid(format!("must be one of {}", words.join(", "))))
                }
            }
            Kind::Bool => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok("true".into()),
                "false" | "0" | "no" | "off" => Ok("false".into()),
                _ => Err(invalid("must be true or false".into())),
            },
            Kind::Seconds { min, max } | Kind::Count { min, max } => {
                let unit = if matches!(self.kind, Kind::Seconds { .. }) { " seconds" } else { "" };
                match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                    _ => Err(invalid(format!("must be a whole number from {min} to {max}{unit}"))),
                }
            }
            Kind::Url => {
                if (v.starts_with("https://") || v.starts_with("http://")) && v.len() > "https://".len() {
                    Ok(v.trim_end_matches('/').to_owned())
                } else {
                    Err(invalid(
                        "must be a URL starting with https:// (or http:// with SYNC_ALLOW_INSECURE)".into(),
                    ))
                }
            }
            Kind::Text => {
                if v.is_empty() {
                    Err(invalid("must not be empty".into()))
                } else {
                    Ok(v.to_owned())
                }
            }
            Kind::File => {
                if std::path::Path::new(v).is_file() {
                    Ok(v.to_owned())
                } else {
                    Err(invalid("must name a readable file".into()))
                }
            }
            Kind::SecretKey => {
                if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(v.to_ascii_lowercase())
                } else {
                    Err(ConfigError::Invalid {
                        var: self.var,
                        value: "(hidden)".into(),
                        reason: "must be 64 hexadecimal digits (a 256-bit key)".into(),
                    })
                }
            }
            Kind::Token => {
                if v.chars().count() >= 16 && v.chars().all(|c| c.is_ascii_graphic()) {
                    Ok(v.to_owned())
                } else {
                    Err(ConfigError::Invalid {
                        var: self.var,
                        value: "(hidden)".into(),
                        reason: "must be at least 16 printable characters without spaces".into(),
                    })
                }
            }
            Kind::Gigabytes { min, max } => match v.parse::<f64>() {
                Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(n.to_string()),
                _ => Err(invalid(format!("must be a number of gigabytes from {min} to {max}"))),
            },
            Kind::Networks => {
                let networks = parse_networks(v).map_err(invalid)?;
                if networks.is_empty() {
                    return Err(invalid("must name at least one address or network".into()));
                }
                Ok(networks.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
            }
            Kind::Folders => {
                let mut folders = Vec::new();
                for part in v.split(':').filter(|p| !p.trim().is_empty()) {
                    let folder = std::fs::canonicalize(part.trim())
                        .ok()
                        .filter(|f| f.is_dir())
                        .ok_or_else(|| invalid(format!("{part} is not an existing folder")))?;
                    let folder = folder
                        .to_str()
                        .ok_or_else(|| invalid(format!("{part} is not a UTF-8 path")))?
                        .to_owned();
                    folders.push(folder);
                }
                if folders.is_empty() {
                    return Err(invalid("must name at least one folder".into()));
                }
                Ok(folders.join(":"))
            }
        }
    }
}

/// Addresses and networks such as `127.0.0.1, 10.0.0.0/8, ::1`.
fn parse_networks(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{part} is not an IP address or network"))
        })
        .collect()
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Environment,
    Database,
    Default,
}

/// The raw, checked values of every setting and where each came from.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    values: BTreeMap<&'static str, (String, Source)>,
}

impl Resolved {
    /// Resolves the settings from flags, the environment and stored values.
    pub fn resolve(
        flags: &BTreeMap<&'static str, String>,
        env: &dyn Fn(&str) -> Option<String>,
        stored: &BTreeMap<String, String>,
    ) -> Result<Resolved, ConfigError> {
        let mut values = BTreeMap::new();
        for s in SETTINGS {
            let given = flags
                .get(s.var)
                .map(|v| (v.clone(), Source::Flag))
                .or_else(|| env(s.var).filter(|v| !v.is_empty()).map(|v| (v, Source::Environment)))
                .or_else(|| stored.get(s.var).filter(|_| s.stored).map(|v| (v.clone(), Source::Database)));
            match given {
                Some((raw, source)) => {
                    let checked = s.check(&raw).map_err(|e| match (e, source) {
                        (ConfigError::Invalid { var, value, reason }, Source::Database) => ConfigError::Invalid {
                            var,
                            value,
                            reason: format!("{reason}; the value stored in the database is bad, set {var} to override it"),
                        },
                        (e, _) => e,
                    })?;
                    values.insert(s.var, (checked, source));
                }
                None => {
                    if let Some(default) = s.default {
                        values.insert(s.var, (default.to_owned(), Source::Default));
                    }
                }
            }
        }
        Ok(Resolved { values })
    }

    pub fn get(&self, var: &str) -> Option<&str> {
        self.values.get(var).map(|(v, _)| v.as_str())
    }

    pub fn source(&self, var: &str) -> Option<Source> {
        self.values.get(var).map(|(_, s)| *s)
    }

    fn seconds(&self, var: &str) -> Duration {
        Duration::from_secs(self.get(var).and_then(|v| v.parse().ok()).expect("checked number"))
    }

    fn number(&self, var: &str) -> usize {
        self.get(var).and_then(|v| v.parse().ok()).expect("checked number")
    }

    fn flag(&self, var: &str) -> bool {
        self.get(var) == Some("true")
    }

    /// A setting with a default, in GB (10^9 bytes), as bytes.
    fn gigabytes(&self, var: &str) -> u64 {
        let gigabytes: f64 = self.get(var).and_then(|v| v.parse().ok()).expect("checked number");
        (gigabytes * 1e9).round() as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Standalone,
    Master,
    Slave,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Standalone => "standalone",
            NodeRole::Master => "master",
            NodeRole::Slave => "slave",
        }
    }
}

/// Sync settings (used by the sync worker and the sync pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub enabled: bool,
    pub interval: Duration,
    pub master_url: Option<String>,
    pub operation_timeout: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub failure_threshold: u32,
    pub circuit_timeout: Duration,
    pub master_ca_cert: Option<PathBuf>,
    pub allow_insecure: bool,
    /// The key-encryption key from the environment (hex), if given there.
    pub kek_hex: Option<String>,
    /// Which of the master's audio files this slave keeps (`SYNC_FILES`).
    pub files: FilesPolicy,
    /// The quota for fetched files, in bytes (`SYNC_FILES_MAX_GB`).
    pub files_max_bytes: Option<u64>,
    /// Most bytes of audio files a master takes from each slave key in a
    /// UTC day (`SYNC_UPLOAD_GB_PER_DAY`).
    pub upload_bytes_per_day: u64,
    /// Most changes a master takes from each slave key's pushes in a UTC
    /// day (`SYNC_PUSH_CHANGES_PER_DAY`).
    pub push_changes_per_day: u64,
    /// A slave follows its master live (`SYNC_LIVE`).
    pub live: bool,
    /// Most long-polls a master holds at once (`SYNC_MAX_LIVE_POLLS`).
    pub max_live_polls: usize,
}

/// The words of `SYNC_FILES`.
const FILE_POLICIES: &[&str] = &["off", "on-play", "mirror"];

/// Which of the master's audio files a slave keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesPolicy {
    /// None: a song whose file is on the master is not available here.
    Off,
    /// What is played: pressing play on a song whose file is on the master
    /// fetches it, and the next play is local.
    OnPlay,
    /// Every file, in the background after each cycle, newest songs first,
    /// until the quota is reached; and what is played, as with `OnPlay`.
    Mirror,
}

impl FilesPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            FilesPolicy::Off => "off",
            FilesPolicy::OnPlay => "on-play",
            FilesPolicy::Mirror => "mirror",
        }
    }
}

/// Limits on client connections (`archive serve`, HTTP and HTTPS alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportLimits {
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// Time to send a request's headers, and to start the next request on
    /// a kept-alive connection.
    pub header_timeout: Duration,
    /// Longest pause while a request body is sent.
    pub body_timeout: Duration,
    /// Longest a request may take (streams, downloads and uploads aside).
    pub request_timeout: Duration,
}

/// `GET /metrics` (see `crate::metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// The bearer token a scrape must send, when set.
    pub token: Option<String>,
}

/// Everything Archive is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub bind: SocketAddr,
    /// Serve HTTPS with these files (else plain HTTP, e.g. behind a proxy).
    pub tls: Option<TlsFiles>,
    pub log_level: String,
    pub role: NodeRole,
    pub node_id: String,
    pub sync: SyncConfig,
    /// Folders that imports started through the API may read (canonical paths).
    pub library_roots: Vec<PathBuf>,
    /// Whether `archive serve` watches the library roots for changes.
    pub watch: bool,
    /// How often `archive serve` scans every library root.
    pub scan_interval: Duration,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// The most files one upload request may carry.
    pub max_upload_files: usize,
    /// Free space, in bytes, that uploads leave on the data directory's
    /// disk (`ARCHIVE_MIN_FREE_GB`).
    pub min_free_bytes: u64,
    /// Most transcodes at once for apps; 0: none (`ARCHIVE_TRANSCODE_LIMIT`).
    pub transcode_limit: usize,
    /// What protects the server from slow and greedy clients.
    pub transport: TransportLimits,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub metrics: MetricsConfig,
    /// Every setting's value and source, for the settings page.
    pub resolved: Resolved,
}

impl Config {
    /// Builds the configuration from already resolved settings.
    pub fn from_resolved(resolved: Resolved) -> Result<Config, ConfigError> {
        let get = |var: &str| resolved.get(var).map(str::to_owned);
        let bind_text = get("ARCHIVE_BIND").expect("has a default");
        let bind: SocketAddr = bind_text.parse().map_err(|_| ConfigError::Invalid {
            var: "ARCHIVE_BIND",
            value: bind_text.clone(),
            reason: "must be an address and port such as 127.0.0.1:3000 or [::]:3000".into(),
        })?;
        let tls = match (get("ARCHIVE_TLS_CERT"), get("ARCHIVE_TLS_KEY")) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.into(), key: key.into() }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Inconsistent(
                    "ARCHIVE_TLS_CERT and ARCHIVE_TLS_KEY go together: set both to serve HTTPS, or neither"
                        .into(),
                ));
            }
        };
        let role = match get("ARCHIVE_ROLE").as_deref() {
            Some("master") => NodeRole::Master,
            Some("slave") => NodeRole::Slave,
            _ => NodeRole::Standalone,
        };
        let allow_insecure = resolved.flag("SYNC_ALLOW_INSECURE");
        let master_url = get("MASTER_ARCHIVE_URL");
        if let Some(url) = &master_url
            && url.starts_with("http://")
            && !allow_insecure
        {
            return Err(ConfigError::Invalid {
                var: "MASTER_ARCHIVE_URL",
                value: url.clone(),
                reason: "must be https:// (set SYNC_ALLOW_INSECURE=true to allow http:// for tests and development)".into(),
            });
        }
        let sync = SyncConfig {
            enabled: resolved.flag("SYNC_ENABLED"),
            interval: resolved.seconds("SYNC_INTERVAL"),
            master_url,
            operation_timeout: resolved.seconds("SYNC_OPERATION_TIMEOUT"),
            connect_timeout: resolved.seconds("SYNC_CONNECT_TIMEOUT"),
            read_timeout: resolved.seconds("SYNC_READ_TIMEOUT"),
            failure_threshold: get("SYNC_FAILURE_THRESHOLD")
                .and_then(|v| v.parse().ok())
                .expect("checked number"),
            circuit_timeout: resolved.seconds("SYNC_CIRCUIT_TIMEOUT"),
            master_ca_cert: get("MASTER_CA_CERT").map(PathBuf::from),
            allow_insecure,
            kek_hex: get("ARCHIVE_SYNC_KEK"),
            files: match get("SYNC_FILES").as_deref() {
                Some("off") => FilesPolicy::Off,
                Some("mirror") => FilesPolicy::Mirror,
                _ => FilesPolicy::OnPlay,
            },
            files_max_bytes: get("SYNC_FILES_MAX_GB")
                .and_then(|v| v.parse::<f64>().ok())
                .map(|gb| (gb * 1e9) as u64),
            upload_bytes_per_day: resolved.gigabytes("SYNC_UPLOAD_GB_PER_DAY"),
            push_changes_per_day: resolved.number("SYNC_PUSH_CHANGES_PER_DAY") as u64,
            live: resolved.flag("SYNC_LIVE"),
            max_live_polls: resolved.number("SYNC_MAX_LIVE_POLLS"),
        };
        Ok(Config {
            data_dir: PathBuf::from(get("ARCHIVE_DATA_DIR").expect("has a default")),
            database_url: get("DATABASE_URL"),
            bind,
            tls,
            log_level: get("ARCHIVE_LOG_LEVEL").expect("has a default"),
            role,
            node_id: get("ARCHIVE_NODE_ID").unwrap_or_else(host_name),
            sync,
            library_roots: get("ARCHIVE_LIBRARY_ROOTS")
                .map(|roots| roots.split(':').map(PathBuf::from).collect())
                .unwrap_or_default(),
            watch: resolved.flag("ARCHIVE_WATCH"),
            scan_interval: resolved.seconds("ARCHIVE_SCAN_INTERVAL"),
            max_upload_bytes: get("ARCHIVE_MAX_UPLOAD_MB")
                .and_then(|v| v.parse::<u64>().ok())
                .expect("checked number")
                * 1024
                * 1024,
            max_upload_files: resolved.number("ARCHIVE_MAX_UPLOAD_FILES"),
            min_free_bytes: resolved.gigabytes("ARCHIVE_MIN_FREE_GB"),
            transcode_limit: resolved.number("ARCHIVE_TRANSCODE_LIMIT"),
            trusted_proxies: get("ARCHIVE_TRUSTED_PROXIES")
                .map(|v| parse_networks(&v).expect("checked"))
                .unwrap_or_default(),
            transport: TransportLimits {
                max_connections: resolved.number("ARCHIVE_MAX_CONNECTIONS"),
                header_timeout: resolved.seconds("ARCHIVE_HEADER_TIMEOUT"),
                body_timeout: resolved.seconds("ARCHIVE_BODY_TIMEOUT"),
                request_timeout: resolved.seconds("ARCHIVE_REQUEST_TIMEOUT"),
            },
            metrics: MetricsConfig {
                enabled: resolved.flag("ARCHIVE_METRICS"),
                token: get("ARCHIVE_METRICS_TOKEN"),
            },
            resolved,
        })
    }

    /// The settings that decide how to reach the database, from flags and the
    /// environment only (the database cannot configure how to reach itself).
    pub fn bootstrap(flags: &BTreeMap<&'static str, String>) -> Result<Config, ConfigError> {
        Self::from_resolved(Resolved::resolve(flags, &env_var, &BTreeMap::new())?)
    }

    /// The full configuration: flags, environment, then the stored settings.
    pub fn load(
        flags: &BTreeMap<&'static str, String>,
        stored: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Self::from_resolved(Resolved::resolve(flags, &env_var, stored)?)
    }

    pub fn db_options(&self) -> archive_db::DbOptions {
        archive_db::DbOptions::new(self.database_url.clone(), &self.data_dir, 8)
    }
}

impl Config {
    /// The settings given as command-line flags, kept by a reload.
    fn flags(&self) -> BTreeMap<&'static str, String> {
        self.resolved
            .values
            .iter()
            .filter(|(_, (_, source))| *source == Source::Flag)
            .map(|(var, (value, _))| (*var, value.clone()))
            .collect()
    }

    /// This configuration again, with `stored` as the database's settings:
    /// flags and the environment still win.
    pub fn with_stored(&self, stored: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        Config::load(&self.flags(), stored)
    }
}

/// The configuration in force. Saving settings replaces it whole; whoever
/// read it keeps a consistent copy (`Arc`) for as long as they need it.
#[derive(Debug)]
pub struct LiveConfig(std::sync::RwLock<std::sync::Arc<Config>>);

impl LiveConfig {
    pub fn new(config: Config) -> LiveConfig {
        LiveConfig(std::sync::RwLock::new(std::sync::Arc::new(config)))
    }

    pub fn get(&self) -> std::sync::Arc<Config> {
        self.0.read().expect("not poisoned").clone()
    }

    pub fn replace(&self, config: Config) -> std::sync::Arc<Config> {
        let config = std::sync::Arc::new(config);
        *self.0.write().expect("not poisoned") = config.clone();
        config
    }
}

fn env_var(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// The host name, the default node id.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "archive".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(env: &[(&str, &str)], stored: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let stored: BTreeMap<String, String> =
            stored.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |var: &str| env.get(var).cloned();
        Config::from_resolved(Resolved::resolve(&BTreeMap::new(), &lookup, &stored)?)
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = resolve(&[], &[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./archive-data"));
        assert_eq!(c.role, NodeRole::Standalone);
        assert_eq!(c.sync.interval, Duration::from_secs(300));
        assert_eq!(c.sync.operation_timeout, Duration::from_secs(120));
        assert_eq!(c.sync.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.sync.read_timeout, Duration::from_secs(20));
        assert_eq!(c.sync.failure_threshold, 5);
        assert_eq!(c.sync.circuit_timeout, Duration::from_secs(300));
        assert!(!c.sync.enabled);
        assert!(!c.node_id.is_empty());
    }

    #[test]
    fn out_of_range_values_name_the_variable_and_the_range() {
        for (var, value, expected) in [
            ("SYNC_INTERVAL", "59", "from 60 to 3600"),
            ("SYNC_INTERVAL", "3601", "from 60 to 3600"),
            ("SYNC_OPERATION_TIMEOUT", "9", "from 10 to 300"),
            ("SYNC_OPERATION_TIMEOUT", "abc", "from 10 to 300"),
            ("ARCHIVE_ROLE", "leader", "standalone, master, slave"),
            ("SYNC_ENABLED", "maybe", "true or false"),
            ("ARCHIVE_LOG_LEVEL", "loud", "error, warn, info, debug, trace"),
            ("ARCHIVE_BIND", "localhost", "address and port"),
            ("ARCHIVE_MAX_UPLOAD_MB", "0", "from 1 to 65536"),
            ("ARCHIVE_LIBRARY_ROOTS", "/no/such/folder", "not an existing folder"),
        ] {
            let err = resolve(&[(var, value)], &[]).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(expected), "{var}={value}: {err}");
        }
    }

    #[test]
    fn the_environment_overrides_stored_settings_and_is_marked() {
        let c = resolve(&[("SYNC_INTERVAL", "600")], &[("SYNC_INTERVAL", "900"), ("ARCHIVE_ROLE", "master")])
            .unwrap();
        assert_eq!(c.sync.interval, Duration::from_secs(600));
        assert_eq!(c.resolved.source("SYNC_INTERVAL"), Some(Source::Environment));
        assert_eq!(c.role, NodeRole::Master);
        assert_eq!(c.resolved.source("ARCHIVE_ROLE"), Some(Source::Database));
    }

    #[test]
    fn a_bad_stored_value_says_how_to_override_it() {
        let err = resolve(&[], &[("SYNC_INTERVAL", "5")]).unwrap_err().to_string();
        assert!(err.contains("SYNC_INTERVAL") && err.contains("stored in the database"), "{err}");
    }

    #[test]
    fn settings_that_are_not_stored_ignore_the_database() {
        let c = resolve(&[], &[("ARCHIVE_BIND", "0.0.0.0:1")]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn an_http_master_needs_the_insecure_switch() {
        let err = resolve(&[("MASTER_ARCHIVE_URL", "http://master.example")], &[]).unwrap_err().to_string();
        assert!(err.contains("SYNC_ALLOW_INSECURE"), "{err}");
        let c = resolve(&[("MASTER_ARCHIVE_URL", "http://m.example/"), ("SYNC_ALLOW_INSECURE", "1")], &[])
            .unwrap();
        assert_eq!(c.sync.master_url.as_deref(), Some("http://m.example"));
    }

    #[test]
    fn tls_needs_both_the_certificate_and_the_key() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let err = resolve(&[("ARCHIVE_TLS_CERT", file)], &[]).unwrap_err().to_string();
        assert!(err.contains("ARCHIVE_TLS_KEY"), "{err}");
        let c = resolve(&[("ARCHIVE_TLS_CERT", file), ("ARCHIVE_TLS_KEY", file)], &[]).unwrap();
        assert_eq!(c.tls.map(|t| t.key), Some(file.into()));
    }

    #[test]
    fn metrics_are_off_by_default_and_a_short_token_is_refused_without_being_shown() {
        let c = resolve(&[], &[]).unwrap();
        assert_eq!(c.metrics, MetricsConfig { enabled: false, token: None });
        let err = resolve(&[("ARCHIVE_METRICS_TOKEN", "short secret")], &[]).unwrap_err().to_string();
        assert!(err.contains("ARCHIVE_METRICS_TOKEN") && err.contains("16"), "{err}");
        assert!(!err.contains("short secret"), "the refused token is not repeated: {err}");
        let c = resolve(&[("ARCHIVE_METRICS", "on"), ("ARCHIVE_METRICS_TOKEN", "0123456789abcdef")], &[])
            .unwrap();
        assert_eq!(c.metrics, MetricsConfig { enabled: true, token: Some("0123456789abcdef".into()) });
    }
}
