//! Throttling of failed attempts: logins ([`LoginThrottle`]) and slave keys.
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

/// The throttle on failed logins, made so that an attacker cannot lock an
/// account's owner out, while guesses stay slow:
///
/// - one address guessing one account is refused after 5 failures in
///   15 minutes (the pair is throttled, not the account);
/// - one address guessing many accounts after 20;
/// - one account guessed from many addresses after 50, except from an
///   address the owner logged in from before (in the last 30 days).
///
/// So a guesser at one address stops the owner nowhere, and guesses spread
/// over many addresses are still at most 50 per 15 minutes per account.
pub struct LoginThrottle {
    by_pair: FailureThrottle,
    by_address: FailureThrottle,
    by_account: FailureThrottle,
    /// The (account, address) pairs that logged in, and when.
    known: Mutex<HashMap<String, Instant>>,
}

const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long an address where the owner logged in stays known.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_KNOWN: usize = 100_000;

fn pair(account: &str, address: &str) -> String {
    format!("{account}\n{address}")
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            by_pair: FailureThrottle::new(5, WINDOW),
            by_address: FailureThrottle::new(20, WINDOW),
            by_account: FailureThrottle::new(50, WINDOW),
            known: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginThrottle {
    /// `Err(wait)` if a login to `account` from `address` must wait.
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Result<(), Duration> {
        self.by_pair.check(&pair(account, address), now)?;
        self.by_address.check(address, now)?;
        if self.is_known(account, address, now) {
            return Ok(());
        }
        self.by_account.check(account, now)
    }

    /// Records a wrong password (at login, or given as the current one).
    pub fn failed(&self, account: &str, address: &str, now: Instant) {
        self.by_pair.fail(&pair(account, address), now);
        self.by_address.fail(address, now);
        self.by_account.fail(account, now);
    }

    /// Records a successful login: the pair's failures are forgotten and the
    /// address is known to be the owner's.
    pub fn succeeded(&self, account: &str, address: &str, now: Instant) {
        let key = pair(account, address);
        self.by_pair.clear(&key);
        let mut known = self.known.lock().expect("throttle lock");
        if known.len() >= MAX_KNOWN {
            known.retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
            if known.len() >= MAX_KNOWN {
                known.clear();
            }
        }
        known.insert(key, now);
    }

    fn is_known(&self, account: &str, address: &str, now: Instant) -> bool {
        let known = self.known.lock().expect("throttle lock");
        known.get(&pair(account, address)).is_some_and(|at| now.duration_since(*at) < KNOWN_FOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guesser_at_one_address_does_not_lock_the_owner_out_elsewhere() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..5 {
            assert!(t.check("owner@example.org", "203.0.113.7", now).is_ok());
            t.failed("owner@example.org", "203.0.113.7", now);
        }
        assert!(t.check("owner@example.org", "203.0.113.7", now).is_err(), "the guesser waits");
        assert!(t.check("owner@example.org", "198.51.100.9", now).is_ok(), "the owner does not");
    }

    #[test]
    fn guesses_at_one_account_from_many_addresses_stay_slow_but_the_owners_known_address_passes() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        t.succeeded("owner@example.org", "198.51.100.9", now);
        for n in 0..50 {
            let address = format!("10.0.{}.{}", n / 250, n % 250);
            assert!(t.check("owner@example.org", &address, now).is_ok(), "guess {n}");
            t.failed("owner@example.org", &address, now);
        }
        assert!(t.check("owner@example.org", "10.9.9.9", now).is_err(), "a new address waits");
        assert!(
            t.check("owner@example.org", "198.51.100.9", now).is_ok(),
            "the owner's known address passes"
        );
    }

    #[test]
    fn one_address_guessing_many_accounts_is_refused() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for n in 0..20 {
            t.failed(&format!("user{n}@example.org"), "203.0.113.7", now);
        }
        assert!(t.check("anyone@example.org", "203.0.113.7", now).is_err());
    }

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
