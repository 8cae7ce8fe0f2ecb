use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use archive_db::DbError;

use crate::state::AppState;

/// `GET /api/v1/health`: 200 when every check passes, 503 otherwise, naming
/// the check. `database`: the database answers a read; `writes`: it takes a
/// write (a full disk or a read-only database fails this one while reads go
/// on). The answer is public: it says what fails, never the database's own
/// error text (that goes to the log).
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = check(state.db.ping()).await;
    let writes = check(state.db.check_writes()).await;
    let healthy = database == "ok" && writes == "ok";
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "role": state.config().role.as_str(),
        "node_id": state.config().node_id,
        "checks": { "database": database, "writes": writes },
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

/// How long a check may take: a database that does not answer by then is
/// reported as failing (a monitor's own timeout is often a few seconds).
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

async fn check(probe: impl Future<Output = Result<(), DbError>>) -> String {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => failing(&e),
        Err(_) => "failing: it does not answer".to_owned(),
    }
}

/// A failed check, in words fit for anyone to read.
fn failing(error: &DbError) -> String {
    tracing::warn!(%error, "a health check failed");
    match error {
        DbError::Unavailable(why) => format!("failing: {why}"),
        _ => "failing: see the server log".to_owned(),
    }
}
