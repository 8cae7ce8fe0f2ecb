//! Settings (admins): the shared site name and this server's upload limit
//! on `/settings`; Settings → Archive Sync on `/settings/sync`: the sync
//! role and timeouts, the slave key and "Test connection" (a slave), and
//! slave keys (a master).
//!
//! Every change goes through `crate::settings` (checked as at start-up, in
//! force at once) or the same functions as the API's (`api::sync`). A
//! setting that the environment fixes is shown locked, naming the variable.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use archive_db::DbError;
use archive_db::sync::state::SlaveKey;

use super::forms::{CsrfForm, NoFields};
use super::pages::Choice;
use super::{AdminUser, Frame, Notice, PageError, render, sentence};
use crate::config::{self, Config, Kind, NodeRole};
use crate::services::sync_admin::{issue_key, revoke};
use crate::settings::{self, SettingsError, locked, source_name};
use crate::state::AppState;
use crate::sync::probe::{self, ConnectionCheck};

/// How a field is edited.
enum Input {
    Select(Vec<Choice>),
    Checkbox(bool),
    Number { min: u64, max: u64 },
    Text { placeholder: String },
}

/// A node setting as a form shows it.
struct Field {
    var: &'static str,
    label: &'static str,
    help: &'static str,
    input: Input,
    value: String,
    /// What fixes it, when the environment or a flag does.
    locked_by: Option<&'static str>,
}

/// The fields of the sync settings, in the order the page shows them.
const SYNC_FIELDS: &[(&str, &str)] = &[
    ("ARCHIVE_ROLE", "Role"),
    ("MASTER_ARCHIVE_URL", "Master URL"),
    ("ARCHIVE_NODE_ID", "Node id"),
    ("SYNC_ENABLED", "Sync in the background"),
    ("SYNC_INTERVAL", "Interval between cycles (seconds)"),
    ("SYNC_OPERATION_TIMEOUT", "Time limit of one cycle (seconds)"),
    ("SYNC_CONNECT_TIMEOUT", "Connect timeout (seconds)"),
    ("SYNC_READ_TIMEOUT", "Read timeout (seconds)"),
    ("SYNC_FAILURE_THRESHOLD", "Failures in a row that open the circuit"),
    ("SYNC_CIRCUIT_TIMEOUT", "Time the circuit stays open (seconds)"),
    ("SYNC_LIVE", "Follow the master live (slave)"),
    ("SYNC_MAX_LIVE_POLLS", "Long-polls held at once (master; 0: off)"),
    ("SYNC_FILES", "Audio files kept from the master"),
    ("SYNC_FILES_MAX_GB", "Quota for fetched audio files (GB)"),
    ("SYNC_UPLOAD_GB_PER_DAY", "Audio files each slave key may upload a day (master; GB)"),
    ("SYNC_PUSH_CHANGES_PER_DAY", "Changes each slave key may push a day (master)"),
];

const GENERAL_FIELDS: &[(&str, &str)] = &[
    ("ARCHIVE_MAX_UPLOAD_MB", "Largest upload (MiB)"),
    ("ARCHIVE_MIN_FREE_GB", "Disk space uploads leave free (GB)"),
    ("ARCHIVE_TRANSCODE_LIMIT", "Transcodes at once for apps (0: off)"),
];

fn fields(config: &Config, list: &[(&'static str, &'static str)]) -> Vec<Field> {
    list.iter()
        .map(|(var, label)| {
            let setting = config::setting(var);
            let value = config.resolved.get(var).unwrap_or_default().to_owned();
            let input = match setting.kind {
                Kind::OneOf(words) => Input::Select(
                    words
                        .iter()
                        .map(|w| Choice { value: (*w).into(), label: (*w).into(), selected: *w == value })
                        .collect(),
                ),
                Kind::Bool => Input::Checkbox(value == "true"),
                Kind::Seconds { min, max } | Kind::Count { min, max } => Input::Number { min, max },
                _ if *var == "ARCHIVE_NODE_ID" => Input::Text { placeholder: config.node_id.clone() },
                Kind::Gigabytes { .. } => Input::Text { placeholder: "no quota".into() },
                _ => Input::Text { placeholder: "https://archive.example.org".into() },
            };
            Field {
                var: setting.var,
                label,
                help: setting.help,
                input,
                value,
                locked_by: locked(config, var).map(source_name),
            }
        })
        .collect()
}

/// The changes a settings form asks for: every field it may change (a
/// locked field is not sent; an unticked checkbox is not sent either).
fn changes(
    config: &Config,
    list: &[(&'static str, &'static str)],
    form: &HashMap<String, String>,
) -> Vec<(&'static str, Option<String>)> {
    list.iter()
        .filter(|(var, _)| locked(config, var).is_none())
        .map(|(var, _)| {
            let value = match config::setting(var).kind {
                Kind::Bool => Some(form.contains_key(*var).to_string()),
                _ => form.get(*var).cloned(),
            };
            (*var, value)
        })
        .collect()
}

fn refused(e: &SettingsError) -> (StatusCode, String) {
    let status = match e {
        SettingsError::Locked { .. } | SettingsError::NotStored(_) => StatusCode::CONFLICT,
        SettingsError::Invalid(_) | SettingsError::Shared(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SettingsError::Db(DbError::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        SettingsError::Db(_) | SettingsError::Restart(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, sentence(&e.to_string()))
}

/// Answers with a settings page after a form: its status, and the page's
/// own address for the browser's history (the form's address is not a page).
fn answer(
    page: Result<Response, PageError>,
    status: StatusCode,
    path: &'static str,
) -> Result<Response, PageError> {
    let mut response = (status, page?).into_response();
    response.headers_mut().insert("hx-push-url", HeaderValue::from_static(path));
    Ok(response)
}

// ---------------------------------------------------------------- general

/// What the server was started with, for the admin to read.
struct Fact {
    label: &'static str,
    value: String,
}

fn server_facts(state: &AppState, config: &Config) -> Vec<Fact> {
    let database = config.db_options().describe();
    let roots = match config.library_roots.is_empty() {
        true => "none (ARCHIVE_LIBRARY_ROOTS)".to_owned(),
        false => config.library_roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", "),
    };
    vec![
        Fact { label: "Version", value: env!("CARGO_PKG_VERSION").into() },
        Fact { label: "Database", value: database },
        Fact { label: "Data directory", value: config.data_dir.display().to_string() },
        Fact { label: "Listening on", value: config.bind.to_string() },
        Fact {
            label: "HTTPS",
            value: match config.tls {
                Some(_) => "served by Archive (ARCHIVE_TLS_CERT, ARCHIVE_TLS_KEY)".into(),
                None => "not served by Archive (plain HTTP, or behind a proxy)".into(),
            },
        },
        Fact { label: "Library folders", value: roots },
        Fact { label: "Log level", value: config.log_level.clone() },
        Fact { label: "Database engine", value: state.db.backend().name().to_owned() },
    ]
}

#[derive(Template)]
#[template(path = "settings.html")]
struct GeneralPage {
    frame: Frame,
    notice: Option<Notice>,
    site_name: String,
    fields: Vec<Field>,
    facts: Vec<Fact>,
}

async fn general_page(
    state: &AppState,
    admin: &AdminUser,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let config = state.config();
    render(&GeneralPage {
        frame: Frame::of(&admin.0),
        notice,
        site_name: state.site_name.get(&state.db).await.to_string(),
        fields: fields(&config, GENERAL_FIELDS),
        facts: server_facts(state, &config),
    })
}

pub async fn general(State(state): State<AppState>, admin: AdminUser) -> Result<Response, PageError> {
    general_page(&state, &admin, None).await
}

pub async fn save_general(
    State(state): State<AppState>,
    admin: AdminUser,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let outcome = async {
        // Every value is checked before anything is written.
        if let Some(name) = form.get("site_name") {
            settings::check_site_name(name)?;
        }
        settings::save(&state, &changes(&state.config(), GENERAL_FIELDS, &form)).await?;
        if let Some(name) = form.get("site_name") {
            settings::save_site_name(&state, admin.0.user.id, name).await?;
        }
        Ok::<(), SettingsError>(())
    }
    .await;
    let (status, notice) = match &outcome {
        Ok(()) => (StatusCode::OK, Notice { ok: true, text: "Settings saved.".into() }),
        Err(e) => {
            let (status, text) = refused(e);
            (status, Notice { ok: false, text })
        }
    };
    // The frame shows the new site name at once.
    let admin = AdminUser(super::WebUser { site_name: state.site_name.get(&state.db).await, ..admin.0 });
    answer(general_page(&state, &admin, Some(notice)).await, status, "/settings")
}

// ---------------------------------------------------------------- sync

/// A slave key as the master's list shows it.
struct KeyRow {
    id: Uuid,
    name: String,
    node_id: String,
    prefix: String,
    state: &'static str,
    read_only: bool,
    created: String,
    last_used: String,
}

fn key_rows(keys: Vec<SlaveKey>) -> Vec<KeyRow> {
    let now = archive_db::now();
    keys.into_iter()
        .map(|k| KeyRow {
            state: if k.revoked_at.is_some() {
                "revoked"
            } else if k.is_live(now) {
                match k.expires_at {
                    Some(_) => "expiring",
                    None => "live",
                }
            } else {
                "expired"
            },
            created: k.created_at.format("%Y-%m-%d %H:%M").to_string(),
            last_used: k
                .last_used_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or("never".into()),
            id: k.id,
            name: k.name,
            node_id: k.node_id,
            prefix: k.key_prefix,
            read_only: k.read_only,
        })
        .collect()
}

/// A key just made, shown this once.
struct NewKey {
    secret: String,
    node_id: String,
}

#[derive(Template)]
#[template(path = "settings_sync.html")]
struct SyncPage {
    frame: Frame,
    notice: Option<Notice>,
    fields: Vec<Field>,
    role: &'static str,
    /// A slave that has copied its master's data (its accounts are the master's).
    joined: bool,
    insecure: bool,
    /// A slave: the public part of its stored key.
    stored_key: Option<String>,
    /// A slave: why the stored key cannot be read.
    key_problem: Option<String>,
    check: Option<ConnectionCheck>,
    /// A master: its slave keys, and one just made.
    keys: Vec<KeyRow>,
    new_key: Option<NewKey>,
}

#[derive(Default)]
struct SyncExtras {
    notice: Option<Notice>,
    check: Option<ConnectionCheck>,
    new_key: Option<NewKey>,
}

async fn sync_page(state: &AppState, admin: &AdminUser, extras: SyncExtras) -> Result<Response, PageError> {
    let config = state.config();
    let (stored_key, key_problem) = match config.role {
        NodeRole::Slave => match crate::sync::keys::stored_prefix(&state.db, &config).await {
            Ok(prefix) => (prefix, None),
            Err(e) => (None, Some(sentence(&e.to_string()))),
        },
        _ => (None, None),
    };
    let keys = match config.role {
        NodeRole::Master => key_rows(state.db.slave_keys().await?),
        _ => Vec::new(),
    };
    render(&SyncPage {
        frame: Frame::of(&admin.0),
        notice: extras.notice,
        fields: fields(&config, SYNC_FIELDS),
        role: config.role.as_str(),
        joined: config.role == NodeRole::Slave && crate::sync::engine::has_joined(&state.db).await?,
        insecure: config.sync.allow_insecure,
        stored_key,
        key_problem,
        check: extras.check,
        keys,
        new_key: extras.new_key,
    })
}

pub async fn sync(State(state): State<AppState>, admin: AdminUser) -> Result<Response, PageError> {
    sync_page(&state, &admin, SyncExtras::default()).await
}

/// After a sync settings form: the page with what happened.
async fn sync_answer(
    state: &AppState,
    admin: &AdminUser,
    outcome: Result<&str, (StatusCode, String)>,
    extras: SyncExtras,
) -> Result<Response, PageError> {
    let (status, notice) = match outcome {
        Ok(text) => (StatusCode::OK, Notice { ok: true, text: text.to_owned() }),
        Err((status, text)) => (status, Notice { ok: false, text }),
    };
    let page = sync_page(state, admin, SyncExtras { notice: Some(notice), ..extras }).await;
    answer(page, status, "/settings/sync")
}

pub async fn save_sync(
    State(state): State<AppState>,
    admin: AdminUser,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let outcome = settings::save(&state, &changes(&state.config(), SYNC_FIELDS, &form)).await;
    let outcome = outcome.map(|_| "Sync settings saved and in force.").map_err(|e| refused(&e));
    sync_answer(&state, &admin, outcome, SyncExtras::default()).await
}

#[derive(Deserialize)]
pub struct SlaveKeyForm {
    slave_key: String,
}

/// A slave: stores the key its master issued, encrypted.
pub async fn save_slave_key(
    State(state): State<AppState>,
    admin: AdminUser,
    CsrfForm(form): CsrfForm<SlaveKeyForm>,
) -> Result<Response, PageError> {
    let config = state.config();
    let outcome = match config.role {
        NodeRole::Slave => match crate::sync::keys::set_on_slave(&state.db, &config, &form.slave_key).await {
            Ok(()) => {
                state.sync_signals.wake.notify_one();
                Ok("The slave key is stored, encrypted. Test the connection to see that the master takes it.")
            }
            Err(e) => Err((StatusCode::UNPROCESSABLE_ENTITY, sentence(&e.to_string()))),
        },
        _ => {
            Err((StatusCode::CONFLICT, "Only a slave keeps a slave key: set the role to slave first.".into()))
        }
    };
    sync_answer(&state, &admin, outcome, SyncExtras::default()).await
}

/// A slave: pings the master with the stored key and says what it found.
pub async fn test_connection(
    State(state): State<AppState>,
    admin: AdminUser,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let config = state.config();
    let check = probe::test_stored_key(&state.db, &config).await;
    let outcome = match check.passed() {
        true => Ok("The connection works."),
        false => Err((StatusCode::OK, "The connection does not work yet: see below.".to_owned())),
    };
    sync_answer(&state, &admin, outcome, SyncExtras { check: Some(check), ..Default::default() }).await
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    name: String,
    node_id: String,
    /// For a regenerated key: hours the node's other keys keep working.
    overlap_hours: Option<u32>,
    /// A checkbox: present when ticked.
    #[serde(default)]
    read_only: Option<String>,
}

/// A master: issues a slave key and shows it this once.
pub async fn generate_key(
    State(state): State<AppState>,
    admin: AdminUser,
    CsrfForm(form): CsrfForm<NewKeyForm>,
) -> Result<Response, PageError> {
    let read_only = form.read_only.is_some();
    match issue_key(&state, &form.name, &form.node_id, form.overlap_hours, read_only).await {
        Ok(issued) => {
            let new_key = NewKey { secret: issued.secret, node_id: issued.record.node_id };
            let extras = SyncExtras { new_key: Some(new_key), ..Default::default() };
            let text = "A new slave key: copy it now, it is not shown again.";
            sync_answer(&state, &admin, Ok(text), extras).await
        }
        Err(e) => {
            let refusal = PageError::from(e).said_on_the_form()?;
            sync_answer(&state, &admin, Err(refusal), SyncExtras::default()).await
        }
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<Uuid>,
    _: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    revoke(&state, id).await?;
    sync_answer(
        &state,
        &admin,
        Ok("The key is revoked: its slave is refused from now on."),
        SyncExtras::default(),
    )
    .await
}
