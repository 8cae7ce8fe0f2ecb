//! Throttling of failed attempts (logins now, slave keys later).
//!
//! Each key (an account, a client address) may fail `limit` times within a
//! sliding `window`; beyond that, attempts are refused until the oldest
//! failure leaves the window. Successful attempts cost nothing. Memory is
//! bounded: old entries are swept, and past `max_keys` the oldest go first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureThrottle {
    limit: usize,
    window: Duration,
    max_keys: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureThrottle {
    pub fn new(limit: usize, window: Duration) -> Self {
        FailureThrottle { limit, window, max_keys: 100_000, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` if `key` has used up its failures: retry after `wait`.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().expect("throttle lock");
        let Some(times) = map.get_mut(key) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        if times.len() < self.limit {
            return Ok(());
        }
        let oldest = *times.front().expect("at limit, so not empty");
        Err(self.window.saturating_sub(now.duration_since(oldest)).max(Duration::from_secs(1)))
    }

    /// Records a failed attempt for `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() >= self.max_keys && !map.contains_key(key) {
            let window = self.window;
            map.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
            if map.len() >= self.max_keys {
                let oldest = map.iter().min_by_key(|(_, t)| t.back().copied()).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                }
            }
        }
        let times = map.entry(key.to_owned()).or_default();
        times.push_back(now);
        if times.len() > self.limit {
            times.pop_front();
        }
    }

    /// Forgets the failures of `key` (after a successful login).
    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("throttle lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_window_passes() {
        let t = FailureThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            assert!(t.check("a", start).is_ok(), "attempt {i}");
            t.fail("a", start);
        }
        let wait = t.check("a", start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
        assert!(t.check("b", start).is_ok(), "other keys are not affected");
        assert!(t.check("a", start + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn clearing_forgets_failures() {
        let t = FailureThrottle::new(1, Duration::from_secs(60));
        let now = Instant::now();
        t.fail("a", now);
        assert!(t.check("a", now).is_err());
        t.clear("a");
        assert!(t.check("a", now).is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = FailureThrottle::new(2, Duration::from_secs(60));
        t.max_keys = 10;
        let now = Instant::now();
        for i in 0..100 {
            t.fail(&format!("k{i}"), now);
        }
        assert!(t.failures.lock().unwrap().len() <= 10);
    }
}
