//! Metrics for Prometheus: `GET /metrics` in the Prometheus text format,
//! served when `ARCHIVE_METRICS=true` (404 otherwise), behind
//! `ARCHIVE_METRICS_TOKEN` as a bearer token when that is set.
//!
//! Two kinds of figures, every name `archive_`-prefixed and in base units:
//! - counted as things happen, in this process: HTTP requests by route
//!   template and status, their latency, uploads, and (a master) the
//!   outcomes of the changes slaves push;
//! - read when scraped, from what the node already keeps: sync's records
//!   (cycles, changes, breaker, lag; a master's slaves), the imports, the
//!   database pools. Counters kept in the database survive a restart.
//!
//! Each server has its own recorder (not the process-wide one), so two
//! servers in one process, as in the multi-node tests, never mix figures.
//! The names are listed in `docs/DEPLOYMENT.md`.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use subtle::ConstantTimeEq;

use crate::config::{NodeRole, ROLES};
use crate::state::AppState;
use crate::sync::status;

/// Latency buckets, in seconds: from a cached page to a slow import request.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The label of a request that matched no route (its path is never a label:
/// anyone could fill the series with made-up paths).
const UNMATCHED: &str = "unmatched";

/// This server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
        metrics.describe();
        metrics
    }
}

/// How a pushed change ended on the master, as a label.
pub fn push_outcome_label(status: archive_db::PushStatus) -> &'static str {
    use archive_db::PushStatus as S;
    match status {
        S::Applied => "applied",
        S::Duplicate => "duplicate",
        S::Conflict => "conflict",
        S::Merged => "merged",
        S::Rejected => "rejected",
    }
}

impl Metrics {
    fn describe(&self) {
        metrics::with_local_recorder(&self.recorder, || {
            use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
            describe_gauge!("archive_build_info", "Always 1; labelled with the version");
            describe_gauge!("archive_role", "1 for this node's role (standalone, master or slave), else 0");
            describe_counter!(
                "archive_http_requests_total",
                "HTTP requests answered, by route template and status"
            );
            describe_histogram!(
                "archive_http_request_duration_seconds",
                Unit::Seconds,
                "Time to answer an HTTP request (to its headers), by route template"
            );
            describe_counter!("archive_import_files_total", "Files handled by folder imports, by outcome");
            describe_gauge!("archive_imports_running", "Folder imports running now");
            describe_counter!("archive_upload_files_total", "Files uploaded, by outcome");
            describe_counter!("archive_sync_cycles_total", "A slave's sync cycles, by outcome");
            describe_counter!("archive_sync_changes_pulled_total", "Changes a slave pulled from its master");
            describe_counter!("archive_sync_changes_pushed_total", "Changes a slave pushed to its master");
            describe_gauge!(
                "archive_sync_last_success_timestamp_seconds",
                Unit::Seconds,
                "When a slave's last sync cycle succeeded (Unix time)"
            );
            describe_gauge!(
                "archive_sync_lag_seconds",
                Unit::Seconds,
                "Seconds since a slave's last successful sync cycle"
            );
            describe_gauge!(
                "archive_sync_lag_changes",
                "Changes a slave was behind its master at its last pull"
            );
            describe_gauge!("archive_sync_unpushed_changes", "A slave's own changes not yet pushed");
            describe_gauge!("archive_sync_breaker_state", "1 for the state a slave's circuit breaker is in");
            describe_gauge!(
                "archive_sync_held",
                "1 when sync is paused, stopped or its key refused, by reason"
            );
            describe_gauge!("archive_sync_slaves", "Slaves a master has seen, by health colour");
            describe_gauge!(
                "archive_sync_slave_last_seen_timestamp_seconds",
                Unit::Seconds,
                "When a master last heard from each slave (Unix time)"
            );
            describe_counter!(
                "archive_sync_received_changes_total",
                "Changes slaves pushed to this master, by outcome (conflict, rejected…)"
            );
            describe_gauge!("archive_db_connections", "Database connections open, by pool and state");
            describe_gauge!("archive_db_connections_max", "The most connections each database pool opens");
        });
    }

    /// Counts one answered request.
    pub fn record_request(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        metrics::with_local_recorder(&self.recorder, || {
            counter!("archive_http_requests_total",
                "method" => method, "route" => route.to_owned(), "status" => status.as_str().to_owned())
            .increment(1);
            histogram!("archive_http_request_duration_seconds", "method" => method, "route" => route.to_owned())
                .record(elapsed.as_secs_f64());
        });
    }

    /// Counts the files of one upload that was stored, by outcome (as imports count them).
    pub fn record_upload(&self, imported: u64, skipped: u64, failed: u64) {
        metrics::with_local_recorder(&self.recorder, || {
            for (outcome, files) in [("imported", imported), ("skipped", skipped), ("failed", failed)] {
                counter!("archive_upload_files_total", "outcome" => outcome).increment(files);
            }
        });
    }

    /// Counts the outcomes of one push a slave made to this master.
    pub fn record_received(&self, outcomes: &[archive_db::PushOutcome]) {
        metrics::with_local_recorder(&self.recorder, || {
            for outcome in outcomes {
                counter!("archive_sync_received_changes_total", "outcome" => push_outcome_label(outcome.status))
                    .increment(1);
            }
        });
    }

    /// The text of a scrape: what was counted, and what is read now.
    pub async fn render(&self, state: &AppState) -> String {
        let config = state.config();
        let report = match status::report(&state.db, &config).await {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: could not read the sync status");
                None
            }
        };
        metrics::with_local_recorder(&self.recorder, || {
            gauge!("archive_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            for role in ROLES {
                gauge!("archive_role", "role" => *role)
                    .set(f64::from(u8::from(config.role.as_str() == *role)));
            }
            record_imports(&state.imports.file_totals(), state.imports.running_here());
            record_pools(&state.db.pool_usage());
            if let Some(report) = &report {
                record_sync(report);
            }
        });
        self.handle.render()
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn record_imports(totals: &crate::services::imports::FileCounts, running: usize) {
    for (outcome, files) in
        [("imported", totals.imported), ("skipped", totals.skipped), ("failed", totals.failed)]
    {
        counter!("archive_import_files_total", "outcome" => outcome).absolute(files);
    }
    gauge!("archive_imports_running").set(running as f64);
}

fn record_pools(pools: &[archive_db::PoolUsage]) {
    for pool in pools {
        gauge!("archive_db_connections", "pool" => pool.name, "state" => "idle").set(f64::from(pool.idle));
        gauge!("archive_db_connections", "pool" => pool.name, "state" => "busy")
            .set(f64::from(pool.open.saturating_sub(pool.idle)));
        gauge!("archive_db_connections_max", "pool" => pool.name).set(f64::from(pool.max));
    }
}

fn unix_seconds(at: chrono::DateTime<chrono::Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

fn record_sync(report: &status::SyncReport) {
    let held = [
        ("paused", report.control.paused.is_some()),
        ("emergency_stop", report.control.emergency_stop.is_some()),
        ("key_refused", report.control.key_refused.is_some()),
    ];
    for (reason, on) in held {
        gauge!("archive_sync_held", "reason" => reason).set(f64::from(u8::from(on)));
    }
    match report.role {
        NodeRole::Slave => record_slave_sync(report),
        NodeRole::Master => record_master_sync(report),
        NodeRole::Standalone => {}
    }
}

fn record_slave_sync(report: &status::SyncReport) {
    gauge!("archive_sync_unpushed_changes").set(report.unpushed as f64);
    let Some(master) = &report.master else { return };
    counter!("archive_sync_cycles_total", "outcome" => "success").absolute(master.successes.max(0) as u64);
    counter!("archive_sync_cycles_total", "outcome" => "failure").absolute(master.failures.max(0) as u64);
    counter!("archive_sync_changes_pulled_total").absolute(master.changes_pulled.max(0) as u64);
    counter!("archive_sync_changes_pushed_total").absolute(master.changes_pushed.max(0) as u64);
    if let Some(at) = master.last_success_at {
        gauge!("archive_sync_last_success_timestamp_seconds").set(unix_seconds(at));
        let lag = (archive_db::now() - at).num_milliseconds().max(0) as f64 / 1000.0;
        gauge!("archive_sync_lag_seconds").set(lag);
    }
    if let Some(changes) = master.lag_changes {
        gauge!("archive_sync_lag_changes").set(changes as f64);
    }
    for state in archive_db::sync::state::BreakerState::ALL.iter().copied() {
        gauge!("archive_sync_breaker_state", "state" => state.as_str())
            .set(f64::from(u8::from(master.breaker_state == state)));
    }
}

fn record_master_sync(report: &status::SyncReport) {
    for colour in [status::Colour::Green, status::Colour::Yellow, status::Colour::Red, status::Colour::Grey] {
        let slaves = report.slaves.iter().filter(|s| s.health.colour == colour).count();
        gauge!("archive_sync_slaves", "health" => colour.as_str()).set(slaves as f64);
    }
    for slave in &report.slaves {
        if let Some(at) = slave.status.last_seen_at {
            gauge!("archive_sync_slave_last_seen_timestamp_seconds", "node_id" => slave.status.node_id.clone())
                .set(unix_seconds(at));
        }
    }
}

/// Records every request's route, status and time (a layer over the API
/// and the pages).
///
/// A plain function that builds its future: what it keeps while the request
/// runs is only what it records after (a held long-poll carries this).
pub fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> impl Future<Output = Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request);
    async move {
        let response = response.await;
        let route = route.as_deref().unwrap_or(UNMATCHED);
        state.metrics.record_request(&method, route, response.status(), started.elapsed());
        response
    }
}

/// The `/metrics` route (answering 404 while `ARCHIVE_METRICS` is off).
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(serve)).with_state(state)
}

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.config();
    if !config.metrics.enabled {
        return (StatusCode::NOT_FOUND, "metrics are off (ARCHIVE_METRICS)\n").into_response();
    }
    if let Some(token) = &config.metrics.token
        && !bearer_matches(&headers, token)
    {
        let mut response = (StatusCode::UNAUTHORIZED, "send Authorization: Bearer <ARCHIVE_METRICS_TOKEN>\n")
            .into_response();
        response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
        return response;
    }
    let text = state.metrics.render(&state).await;
    ([(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
        .into_response()
}

/// Whether the request's bearer token is `expected` (in constant time).
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or("");
    bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}
