//! The slave's background worker in `archive serve`: one cycle every
//! `SYNC_INTERVAL` (with jitter), through the circuit breaker, with backoff
//! after a failure and the master's `Retry-After` honoured. Every path ends
//! in a sleep: paused, stopped, key refused and breaker open all wait, on the
//! runtime's clock, so tests drive the loop with controlled time.
//!
//! With `SYNC_LIVE`, the time between a successful cycle and the next is
//! spent following the master live (`follow`) instead of sleeping. A
//! failure there counts as a failed cycle and the loop falls back to its
//! schedule; a pause or stop, here or from another process, ends it.
//!
//! The loop ([`drive`]) is written against [`Cycles`]: what it needs from a
//! node (the control state, a cycle, a place to record the schedule).
//! [`LiveCycles`] is the real one, on the database and the master.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};

use archive_db::sync::state::BreakerState;
use archive_db::{Db, DbError};

use super::breaker::{Admission, Breaker, State};
use super::control::{self, Signals};
use super::engine::{self, MASTER_PEER, SyncError};
use super::follow;
use crate::config::{Config, NodeRole};

/// How a cycle ended, as far as scheduling is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Success,
    /// Counts towards the breaker (unreachable, timeout, TLS, 5xx, garbage…).
    Failure,
    /// The master asked to come back later: not a breaker failure.
    RetryAfter(Duration),
    /// The master refused the key: stop until an operator acts.
    KeyRefused,
    /// Cancelled by an emergency stop.
    Cancelled,
}

/// What the loop sees before deciding to run a cycle.
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// Why no cycle may run now (paused, emergency stop, key refused).
    pub hold: Option<String>,
    pub emergency_stop: bool,
    /// As recorded: zero means the failures were cleared or a forced cycle succeeded.
    pub consecutive_failures: i64,
}

/// What the loop needs from a node.
pub trait Cycles: Send + Sync + 'static {
    fn look(&self) -> impl Future<Output = Look> + Send;
    fn run(&self) -> impl Future<Output = Verdict> + Send;
    /// Follows the master live until `until`: `Success` when a full cycle
    /// is due (that time came, or the master asks for a bootstrap).
    fn follow(&self, until: Instant) -> impl Future<Output = Verdict> + Send;
    /// Records the breaker's state and when the next attempt is due.
    fn scheduled(&self, breaker: &Breaker, next_in: Duration) -> impl Future<Output = ()> + Send;
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub failure_threshold: u32,
    pub circuit_timeout: Duration,
    /// Follow the master live between cycles (`SYNC_LIVE`).
    pub live: bool,
}

/// How often a held worker (paused, stopped, key refused) looks again.
pub const HOLD_RECHECK: Duration = Duration::from_secs(30);
/// How often a running cycle checks for an emergency stop set by another process.
const STOP_POLL: Duration = Duration::from_secs(5);
/// The first cycle after start-up comes within this.
const FIRST_CYCLE_WITHIN: Duration = Duration::from_secs(5);
/// Backoff after a failure starts here and doubles, up to the interval.
const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A number in [0, 1) for jitter.
pub type Jitter = Box<dyn FnMut() -> f64 + Send>;

pub fn random_jitter() -> Jitter {
    Box::new(|| (getrandom::u64().unwrap_or(0) >> 11) as f64 / (1u64 << 53) as f64)
}

/// The interval, ±10%.
fn after_success(timing: &Timing, jitter: f64) -> Duration {
    timing.interval.mul_f64(0.9 + 0.2 * jitter)
}

/// Half the capped exponential step plus a random part of the other half:
/// never zero, never more than the interval.
fn after_failure(timing: &Timing, consecutive_failures: u32, jitter: f64) -> Duration {
    let doublings = consecutive_failures.saturating_sub(1).min(16);
    let cap = BACKOFF_BASE.saturating_mul(1 << doublings).min(timing.interval);
    cap / 2 + (cap / 2).mul_f64(jitter)
}

/// The worker's loop; runs until its task is aborted.
pub async fn drive<C: Cycles>(
    cycles: C,
    timing: Timing,
    mut breaker: Breaker,
    signals: Arc<Signals>,
    mut jitter: Jitter,
) {
    let mut next = Instant::now() + FIRST_CYCLE_WITHIN.min(timing.interval).mul_f64(jitter());
    // Whether the time until `next` is spent following live.
    let mut live = false;
    // Following that failed in a row. Cycles between may succeed (a proxy
    // that cuts held requests): the backoff grows with these all the same.
    let mut follow_failures = 0;
    loop {
        if live {
            live = false;
            let followed = tokio::select! {
                verdict = cycles.follow(next) => Some(verdict),
                _ = signals.wake.notified() => None,
                _ = signals.stop.notified() => Some(Verdict::Cancelled),
                _ = held_elsewhere(&cycles) => None,
            };
            match followed {
                // A full cycle is due, or the control state changed: look now.
                Some(Verdict::Success) => follow_failures = 0,
                None => {}
                Some(verdict) => {
                    let now = Instant::now();
                    let mut wait = wait_after(&verdict, &mut breaker, &timing, &mut jitter, now);
                    if verdict == Verdict::Failure {
                        follow_failures += 1;
                        if !matches!(breaker.state(), State::Open { .. }) {
                            wait = wait.max(after_failure(&timing, follow_failures, jitter()));
                        }
                    }
                    next = now + wait;
                    cycles.scheduled(&breaker, wait).await;
                    continue;
                }
            }
        } else {
            tokio::select! {
                _ = sleep_until(next) => {}
                _ = signals.wake.notified() => {}
            }
        }
        let look = cycles.look().await;
        if look.consecutive_failures == 0 && breaker.consecutive_failures() > 0 {
            breaker.reset();
        }
        if let Some(reason) = look.hold {
            tracing::debug!(target: "sync", %reason, "sync is held");
            next = Instant::now() + HOLD_RECHECK;
            continue;
        }
        match breaker.admit(Instant::now()) {
            Admission::WaitUntil(until) => {
                next = until;
                continue;
            }
            Admission::Probe => tracing::info!(target: "sync", "circuit half-open: one probe"),
            Admission::Run => {}
        }
        let verdict = tokio::select! {
            verdict = cycles.run() => verdict,
            _ = signals.stop.notified() => Verdict::Cancelled,
            _ = stop_requested_elsewhere(&cycles) => Verdict::Cancelled,
        };
        let now = Instant::now();
        let wait = wait_after(&verdict, &mut breaker, &timing, &mut jitter, now);
        next = now + wait;
        cycles.scheduled(&breaker, wait).await;
        live = timing.live && verdict == Verdict::Success;
    }
}

/// How long until the next cycle after `verdict`, with the breaker told.
fn wait_after(
    verdict: &Verdict,
    breaker: &mut Breaker,
    timing: &Timing,
    jitter: &mut Jitter,
    now: Instant,
) -> Duration {
    match verdict {
        Verdict::Success => {
            breaker.succeeded();
            after_success(timing, jitter())
        }
        Verdict::Failure => {
            breaker.failed(now);
            match breaker.state() {
                State::Open { until } => {
                    tracing::warn!(target: "sync", failures = breaker.consecutive_failures(),
                        "circuit open: no cycle for {} s", timing.circuit_timeout.as_secs());
                    until - now
                }
                _ => after_failure(timing, breaker.consecutive_failures(), jitter()),
            }
        }
        Verdict::RetryAfter(delay) => (*delay).clamp(Duration::from_secs(1), MAX_RETRY_AFTER),
        Verdict::KeyRefused | Verdict::Cancelled => HOLD_RECHECK,
    }
}

/// Completes when a pause, emergency stop or key refusal shows up in the
/// control state (set by another process, such as the command line).
async fn held_elsewhere<C: Cycles>(cycles: &C) {
    loop {
        sleep(STOP_POLL).await;
        if cycles.look().await.hold.is_some() {
            return;
        }
    }
}

/// Completes when an emergency stop shows up in the control state (set by
/// another process; this process's own stop arrives through `Signals::stop`).
async fn stop_requested_elsewhere<C: Cycles>(cycles: &C) {
    loop {
        sleep(STOP_POLL).await;
        if cycles.look().await.emergency_stop {
            return;
        }
    }
}

/// The worker on this node's database and master.
pub struct LiveCycles {
    pub db: Db,
    pub config: Arc<Config>,
    pub signals: Arc<Signals>,
}

impl LiveCycles {
    /// What a failure means for the schedule.
    async fn verdict_on(&self, error: SyncError) -> Verdict {
        match error {
            SyncError::RetryAfter(delay) => Verdict::RetryAfter(delay),
            SyncError::Unauthorized(message) => {
                tracing::error!(target: "sync", %message, "the master refused the slave key; sync stops until an operator acts");
                if let Err(e) = control::key_refused(&self.db, &message).await {
                    tracing::warn!(target: "sync", error = %e, "cannot record the key refusal");
                }
                Verdict::KeyRefused
            }
            SyncError::Stopped(_) => Verdict::Cancelled,
            _ => Verdict::Failure,
        }
    }
}

impl Cycles for LiveCycles {
    async fn look(&self) -> Look {
        let control = control::read(&self.db).await;
        let status = self.db.peer_status(MASTER_PEER).await;
        match (control, status) {
            (Ok(control), Ok(status)) => Look {
                hold: control.hold(),
                emergency_stop: control.emergency_stop.is_some(),
                consecutive_failures: status.map_or(0, |s| s.consecutive_failures),
            },
            (Err(e), _) | (_, Err(e)) => {
                // The local database is unwell: hold rather than guess.
                tracing::warn!(target: "sync", error = %e, "cannot read the sync state");
                Look { hold: Some(format!("cannot read the sync state: {e}")), ..Look::default() }
            }
        }
    }

    async fn run(&self) -> Verdict {
        match engine::run_cycle_now(&self.db, &self.config).await {
            Ok(_) => {
                // New songs may be pinned or mirrored: the file queue plans again.
                self.signals.files.notify_one();
                Verdict::Success
            }
            Err(error) => self.verdict_on(error).await,
        }
    }

    async fn follow(&self, until: Instant) -> Verdict {
        match follow::follow(&self.db, &self.config, &self.signals, until).await {
            Ok(()) => Verdict::Success,
            Err(error) => {
                tracing::warn!(target: "sync", %error, "following live failed; back to the interval schedule");
                self.verdict_on(error).await
            }
        }
    }

    async fn scheduled(&self, breaker: &Breaker, next_in: Duration) {
        let result = async {
            let Some(mut status) = self.db.peer_status(MASTER_PEER).await? else { return Ok(()) };
            let state = breaker.recorded_state();
            if state == BreakerState::Open && status.breaker_state != BreakerState::Open {
                status.breaker_opened_at = Some(archive_db::now());
            } else if state == BreakerState::Closed {
                status.breaker_opened_at = None;
            }
            status.breaker_state = state;
            status.next_attempt_at = chrono::Duration::from_std(next_in).ok().map(|d| archive_db::now() + d);
            self.db.save_peer_status(&status).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(target: "sync", error = %e, "cannot record the sync schedule");
        }
    }
}

/// Starts the worker (a slave with `SYNC_ENABLED`), its breaker restored
/// from the recorded status so a restart does not reopen the floodgates.
pub async fn spawn(db: Db, config: Arc<Config>, signals: Arc<Signals>) -> Result<JoinHandle<()>, DbError> {
    let timing = Timing {
        interval: config.sync.interval,
        failure_threshold: config.sync.failure_threshold,
        circuit_timeout: config.sync.circuit_timeout,
        live: config.sync.live,
    };
    let status = db.peer_status(MASTER_PEER).await?;
    let breaker = match status {
        Some(status) if status.breaker_state == BreakerState::Open => Breaker::restore(
            timing.failure_threshold,
            timing.circuit_timeout,
            u32::try_from(status.consecutive_failures).unwrap_or(u32::MAX),
            status.breaker_opened_at.and_then(|at| (archive_db::now() - at).to_std().ok()),
        ),
        _ => Breaker::new(timing.failure_threshold, timing.circuit_timeout),
    };
    tracing::info!(target: "sync", interval_s = timing.interval.as_secs(), live = timing.live, "sync worker started");
    let cycles = LiveCycles { db, config, signals: signals.clone() };
    Ok(tokio::spawn(drive(cycles, timing, breaker, signals, random_jitter())))
}

/// How long a master keeps tombstones: a slave away longer bootstraps again.
pub const TOMBSTONE_RETENTION_DAYS: i64 = 30;
/// How often a master compacts its change log.
const COMPACTION_EVERY: Duration = Duration::from_secs(3600);

/// A master's log compaction, hourly (the first a minute after start-up),
/// so the log holds one entry per live row plus recent tombstones whatever
/// a dead slave does; and with it the sweep of the files slaves sent that
/// no song has named for a week (`files::sweep_unclaimed`).
pub fn spawn_compaction(db: Db) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut next = Instant::now() + Duration::from_secs(60);
        loop {
            sleep_until(next).await;
            next = Instant::now() + COMPACTION_EVERY;
            // Once at a time across the processes of one master.
            let _one_at_a_time = match db.try_lock_job(archive_db::Job::Compaction).await {
                Ok(Some(lock)) => lock,
                Ok(None) => {
                    tracing::debug!(target: "sync", "another process compacts the change log");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(target: "sync", error = %e, "cannot take the compaction lock");
                    continue;
                }
            };
            match db.compact_change_log(chrono::Duration::days(TOMBSTONE_RETENTION_DAYS)).await {
                Ok(done) => tracing::info!(target: "sync", superseded = done.superseded,
                    tombstones = done.expired_tombstones, receipts = done.receipts, "change log compacted"),
                Err(e) => tracing::warn!(target: "sync", error = %e, "change log compaction failed"),
            }
            match super::files::sweep_unclaimed(&db, archive_db::now()).await {
                Ok(swept) if swept.files > 0 => tracing::info!(target: "sync", files = swept.files,
                    bytes = swept.bytes, "removed files slaves sent that no song names"),
                Ok(_) => {}
                Err(e) => tracing::warn!(target: "sync", error = %e, "cannot sweep unclaimed files"),
            }
        }
    })
}

/// Sync's background task in `archive serve`: the worker (a slave with
/// `SYNC_ENABLED`), log compaction (a master), or nothing (standalone).
/// Started with the server and again whenever the sync settings change.
#[derive(Default)]
pub struct Background {
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Background {
    /// Stops the task running now (a cycle in progress is abandoned; its
    /// open transaction rolls back) and starts the one `config` asks for.
    pub async fn start(&self, db: &Db, config: Arc<Config>, signals: Arc<Signals>) -> Result<(), DbError> {
        let mut task = self.task.lock().await;
        if let Some(running) = task.take() {
            running.abort();
            let _ = running.await;
        }
        *task = match config.role {
            NodeRole::Slave if config.sync.enabled => Some(spawn(db.clone(), config, signals).await?),
            NodeRole::Master => Some(spawn_compaction(db.clone())),
            _ => None,
        };
        Ok(())
    }

    pub async fn stop(&self) {
        if let Some(running) = self.task.lock().await.take() {
            running.abort();
            let _ = running.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// A node whose cycles give scripted verdicts, and that remembers when
    /// (on the runtime's clock) each cycle ran.
    #[derive(Default)]
    struct Scripted {
        verdicts: Mutex<VecDeque<Verdict>>,
        runs: Mutex<Vec<Instant>>,
        hold: Mutex<Option<String>>,
        started: Mutex<Option<Instant>>,
        /// What following live ends with; when none is left, it lasts until the next cycle.
        follow_verdicts: Mutex<VecDeque<Verdict>>,
        follows: Mutex<Vec<Instant>>,
    }

    impl Scripted {
        fn seconds(&self, at: &Mutex<Vec<Instant>>) -> Vec<u64> {
            let start = self.started.lock().unwrap().expect("started");
            at.lock().unwrap().iter().map(|at| (*at - start).as_secs()).collect()
        }

        fn runs_at_seconds(&self) -> Vec<u64> {
            self.seconds(&self.runs)
        }

        fn follows_at_seconds(&self) -> Vec<u64> {
            self.seconds(&self.follows)
        }
    }

    impl Cycles for Arc<Scripted> {
        async fn look(&self) -> Look {
            Look { hold: self.hold.lock().unwrap().clone(), emergency_stop: false, consecutive_failures: 1 }
        }
        async fn run(&self) -> Verdict {
            self.runs.lock().unwrap().push(Instant::now());
            self.verdicts.lock().unwrap().pop_front().unwrap_or(Verdict::Success)
        }
        async fn follow(&self, until: Instant) -> Verdict {
            self.follows.lock().unwrap().push(Instant::now());
            let scripted = self.follow_verdicts.lock().unwrap().pop_front();
            match scripted {
                Some(verdict) => verdict,
                None => {
                    tokio::time::sleep_until(until).await;
                    Verdict::Success
                }
            }
        }
        async fn scheduled(&self, _: &Breaker, _: Duration) {}
    }

    const TIMING: Timing = Timing {
        interval: Duration::from_secs(300),
        failure_threshold: 3,
        circuit_timeout: Duration::from_secs(600),
        live: false,
    };

    /// Starts the loop with jitter fixed at one half, on paused time.
    fn start(script: Vec<Verdict>) -> (Arc<Scripted>, Arc<Signals>, JoinHandle<()>) {
        start_with(TIMING, script, vec![])
    }

    /// As [`start`], following live between cycles; following ends with
    /// `follow_script`'s verdicts in turn, then lasts until the next cycle.
    fn start_live(
        script: Vec<Verdict>,
        follow_script: Vec<Verdict>,
    ) -> (Arc<Scripted>, Arc<Signals>, JoinHandle<()>) {
        start_with(Timing { live: true, ..TIMING }, script, follow_script)
    }

    fn start_with(
        timing: Timing,
        script: Vec<Verdict>,
        follow_script: Vec<Verdict>,
    ) -> (Arc<Scripted>, Arc<Signals>, JoinHandle<()>) {
        let node = Arc::new(Scripted {
            verdicts: Mutex::new(script.into()),
            follow_verdicts: Mutex::new(follow_script.into()),
            ..Scripted::default()
        });
        *node.started.lock().unwrap() = Some(Instant::now());
        let signals = Arc::new(Signals::default());
        let breaker = Breaker::new(timing.failure_threshold, timing.circuit_timeout);
        let task = tokio::spawn(drive(node.clone(), timing, breaker, signals.clone(), Box::new(|| 0.5)));
        (node, signals, task)
    }

    #[tokio::test(start_paused = true)]
    async fn a_live_worker_follows_between_cycles_and_still_runs_every_interval() {
        let (node, _, task) = start_live(vec![], vec![]);
        tokio::time::sleep(Duration::from_secs(1000)).await;
        assert_eq!(node.runs_at_seconds(), vec![2, 302, 602, 902], "the interval stays the safety net");
        assert_eq!(node.follows_at_seconds(), vec![2, 302, 602, 902], "following right after each cycle");
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_while_following_falls_back_to_backoff_and_following_resumes_after_a_success() {
        let (node, _, task) = start_live(vec![], vec![Verdict::Failure]);
        tokio::time::sleep(Duration::from_secs(400)).await;
        // Following fails at once at 2.5 s: the next cycle comes after the
        // first backoff (7.5 s), succeeds, and following resumes.
        assert_eq!(node.runs_at_seconds(), vec![2, 10, 310]);
        assert_eq!(node.follows_at_seconds(), vec![2, 10, 310]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn following_that_keeps_failing_backs_off_although_the_cycles_between_succeed() {
        use Verdict::Failure;
        // As behind a proxy that cuts every held request.
        let (node, _, task) = start_live(vec![], vec![Failure; 6]);
        tokio::time::sleep(Duration::from_secs(1000)).await;
        // Backoff steps of 10, 20, 40, 80, 160 s, then the interval (jitter
        // at one half: three quarters of each): the worker soon runs as it
        // would without following. The seventh follow lasts its interval.
        assert_eq!(node.runs_at_seconds(), vec![2, 10, 25, 55, 115, 235, 460, 760]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn following_that_fails_while_cycles_fail_too_opens_the_breaker() {
        use Verdict::Failure;
        let (node, _, task) = start_live(vec![Verdict::Success, Failure, Failure], vec![Failure]);
        tokio::time::sleep(Duration::from_secs(700)).await;
        // Following fails at 2.5 s, then two cycles fail: three failures in
        // a row open the circuit for 600 s, and nothing runs until the probe.
        assert_eq!(node.runs_at_seconds(), vec![2, 10, 25, 625]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_while_following_is_honoured() {
        let (node, _, task) = start_live(vec![], vec![Verdict::RetryAfter(Duration::from_secs(60))]);
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(node.runs_at_seconds(), vec![2, 62]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_in_this_process_ends_following_at_once() {
        let (node, signals, task) = start_live(vec![], vec![]);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(node.follows_at_seconds(), vec![2]);
        *node.hold.lock().unwrap() = Some("paused".into());
        signals.wake.notify_one();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(node.runs_at_seconds(), vec![2], "no cycle while paused");
        assert_eq!(node.follows_at_seconds(), vec![2], "and no following");
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_from_another_process_ends_following_within_seconds() {
        let (node, _, task) = start_live(vec![], vec![]);
        tokio::time::sleep(Duration::from_secs(10)).await;
        // Set where only a look at the control state finds it.
        *node.hold.lock().unwrap() = Some("paused from the command line".into());
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(node.runs_at_seconds(), vec![2]);
        assert_eq!(node.follows_at_seconds(), vec![2]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn cycles_run_every_interval_with_jitter() {
        let (node, _, task) = start(vec![]);
        tokio::time::sleep(Duration::from_secs(1000)).await;
        // First within 5 s (2.5 with jitter at one half), then every 300 s.
        assert_eq!(node.runs_at_seconds(), vec![2, 302, 602, 902]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_opens_after_exactly_the_threshold_and_then_lets_one_probe_through() {
        use Verdict::Failure;
        let (node, _, task) = start(vec![Failure, Failure, Failure, Failure, Verdict::Success]);
        tokio::time::sleep(Duration::from_secs(2000)).await;
        // Failures at 2.5 s, then backoff 7.5 s (10 s step, jittered) and 15 s
        // (20 s step): the third failure opens the circuit for 600 s. One probe
        // at 625 s fails and reopens it; the next probe at 1225 s succeeds,
        // and the interval resumes.
        assert_eq!(node.runs_at_seconds(), vec![2, 10, 25, 625, 1225, 1525, 1825]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_does_not_count_as_a_failure() {
        use Verdict::{Failure, RetryAfter};
        let script = vec![Failure, Failure, RetryAfter(Duration::from_secs(120)), Failure, Verdict::Success];
        let (node, _, task) = start(script);
        tokio::time::sleep(Duration::from_secs(400)).await;
        // 2.5, +7.5, +15 (asked to wait 120 s, not a third failure), +120,
        // then the third failure opens the circuit (600 s).
        assert_eq!(node.runs_at_seconds(), vec![2, 10, 25, 145]);
        tokio::time::sleep(Duration::from_secs(400)).await;
        assert_eq!(node.runs_at_seconds(), vec![2, 10, 25, 145, 745], "one probe after the open period");
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_worker_sleeps_and_resumes_when_woken() {
        let (node, signals, task) = start(vec![]);
        *node.hold.lock().unwrap() = Some("paused".into());
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(node.runs_at_seconds().is_empty(), "no cycle while held");
        *node.hold.lock().unwrap() = None;
        signals.wake.notify_one();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(node.runs_at_seconds(), vec![3600], "resumed at once");
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_refusal_holds_until_looked_at_again() {
        let (node, _, task) = start(vec![Verdict::KeyRefused]);
        tokio::time::sleep(Duration::from_secs(10)).await;
        *node.hold.lock().unwrap() = Some("key refused".into());
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(node.runs_at_seconds(), vec![2], "no retries after a refused key");
        task.abort();
    }

    #[test]
    fn backoff_grows_to_the_interval_and_is_never_zero() {
        assert_eq!(after_failure(&TIMING, 1, 0.0), Duration::from_secs(5));
        assert_eq!(after_failure(&TIMING, 2, 1.0), Duration::from_secs(20));
        assert_eq!(after_failure(&TIMING, 10, 1.0), TIMING.interval);
        assert_eq!(after_success(&TIMING, 0.0), Duration::from_secs(270));
        assert_eq!(after_success(&TIMING, 1.0), Duration::from_secs(330));
    }
}
