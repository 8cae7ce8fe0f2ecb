//! The worker's circuit breaker: it opens after `threshold` consecutive
//! failures, stays open for `open_for`, then lets one probe through; the
//! probe's success closes it, its failure opens it again.
//!
//! Time is the runtime's (`tokio::time::Instant`), so tests drive it with
//! `tokio::time::pause` and `advance` instead of sleeping.

use std::time::Duration;

use archive_db::sync::state::BreakerState;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// One probe is let through; its outcome decides.
    HalfOpen,
}

/// What the breaker says about running a cycle now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Run,
    /// The one cycle after the open period.
    Probe,
    /// Open: not before this instant.
    WaitUntil(Instant),
}

#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    consecutive_failures: u32,
    state: State,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Breaker {
        Breaker { threshold: threshold.max(1), open_for, consecutive_failures: 0, state: State::Closed }
    }

    /// A breaker as a previous run of this process left it: open for what
    /// remains of its open period if it had opened `opened_ago` before now.
    pub fn restore(
        threshold: u32,
        open_for: Duration,
        consecutive_failures: u32,
        opened_ago: Option<Duration>,
    ) -> Breaker {
        let mut breaker = Breaker::new(threshold, open_for);
        breaker.consecutive_failures = consecutive_failures;
        if let Some(ago) = opened_ago
            && consecutive_failures >= breaker.threshold
        {
            breaker.state = State::Open { until: Instant::now() + open_for.saturating_sub(ago) };
        }
        breaker
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The state as `sync_status_tracking` records it (without the deadline).
    pub fn recorded_state(&self) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed => Admission::Run,
            State::Open { until } if now < until => Admission::WaitUntil(until),
            State::Open { .. } | State::HalfOpen => {
                self.state = State::HalfOpen;
                Admission::Probe
            }
        }
    }

    pub fn succeeded(&mut self) {
        self.consecutive_failures = 0;
        self.state = State::Closed;
    }

    pub fn failed(&mut self, now: Instant) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.state == State::HalfOpen || self.consecutive_failures >= self.threshold {
            self.state = State::Open { until: now + self.open_for };
        }
    }

    /// Failures were cleared elsewhere (a forced cycle succeeded, or an
    /// operator cleared the failed records).
    pub fn reset(&mut self) {
        self.succeeded();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_secs(300);

    #[tokio::test(start_paused = true)]
    async fn opens_after_exactly_the_threshold_of_consecutive_failures() {
        let mut breaker = Breaker::new(5, OPEN);
        for _ in 0..4 {
            assert_eq!(breaker.admit(Instant::now()), Admission::Run);
            breaker.failed(Instant::now());
        }
        assert_eq!(breaker.state(), State::Closed, "four failures leave it closed");
        breaker.failed(Instant::now());
        assert_eq!(breaker.admit(Instant::now()), Admission::WaitUntil(Instant::now() + OPEN));
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count() {
        let mut breaker = Breaker::new(3, OPEN);
        breaker.failed(Instant::now());
        breaker.failed(Instant::now());
        breaker.succeeded();
        breaker.failed(Instant::now());
        breaker.failed(Instant::now());
        assert_eq!(breaker.state(), State::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn lets_one_probe_through_after_the_open_period() {
        let mut breaker = Breaker::new(2, OPEN);
        breaker.failed(Instant::now());
        breaker.failed(Instant::now());
        tokio::time::advance(OPEN - Duration::from_secs(1)).await;
        assert!(matches!(breaker.admit(Instant::now()), Admission::WaitUntil(_)), "still open");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(breaker.admit(Instant::now()), Admission::Probe);
        assert_eq!(breaker.recorded_state(), BreakerState::HalfOpen);

        // The probe fails: open again for a whole period.
        breaker.failed(Instant::now());
        assert_eq!(breaker.admit(Instant::now()), Admission::WaitUntil(Instant::now() + OPEN));
        tokio::time::advance(OPEN).await;
        assert_eq!(breaker.admit(Instant::now()), Admission::Probe);
        // The probe succeeds: closed.
        breaker.succeeded();
        assert_eq!(breaker.admit(Instant::now()), Admission::Run);
    }

    #[tokio::test(start_paused = true)]
    async fn a_restored_breaker_stays_open_for_what_remains() {
        let breaker = Breaker::restore(5, OPEN, 5, Some(Duration::from_secs(100)));
        assert_eq!(breaker.state(), State::Open { until: Instant::now() + Duration::from_secs(200) });
        let long_ago = Breaker::restore(5, OPEN, 5, Some(Duration::from_secs(1000)));
        let mut long_ago = long_ago;
        assert_eq!(long_ago.admit(Instant::now()), Admission::Probe);
        let below = Breaker::restore(5, OPEN, 2, Some(Duration::from_secs(1)));
        assert_eq!(below.state(), State::Closed);
    }
}
