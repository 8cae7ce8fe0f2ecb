//! Throttling of failed attempts at secrets: passwords (logins, a current
//! password, Subsonic apps' passwords), slave keys and Subsonic API keys.
//!
//! Failures are counted in the database (`failed_attempts`), so every
//! `archive serve` process on it throttles alike: a guesser gains nothing
//! from a load balancer that spreads its requests. Each subject may fail a
//! number of times within a window of 15 minutes, counted in whole minutes;
//! beyond that, attempts are refused until the earliest minute with
//! failures leaves the window. A refused attempt records nothing, so a
//! subject writes at most its limit of rows per window; a successful
//! attempt costs a read.
//!
//! IPv6 addresses are counted by their /64 network: one host is usually
//! given a whole /64, and counting each address of it would let a guesser
//! pick a fresh one for every guess.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use archive_db::{AttemptSubject, Db, DbError};
use chrono::{DateTime, TimeDelta, Utc};

/// The window failures are counted in.
const WINDOW_MINUTES: i64 = 15;
/// How long an address an account logged in from stays known.
const KNOWN_FOR: TimeDelta = TimeDelta::days(30);
/// Logins closer together than this from one address note it once.
const KNOWN_AGAIN_AFTER: TimeDelta = TimeDelta::hours(1);

/// At most `failures` failures of one subject of `scope` in the window.
#[derive(Debug, Clone, Copy)]
struct Limit {
    scope: &'static str,
    failures: i64,
}

/// One address guessing one account.
const LOGIN_PAIR: Limit = Limit { scope: "login/pair", failures: 5 };
/// One address guessing any accounts.
const LOGIN_ADDRESS: Limit = Limit { scope: "login/address", failures: 20 };
/// One account guessed from any addresses it never logged in from.
const LOGIN_ACCOUNT: Limit = Limit { scope: "login/account", failures: 50 };

/// The keys a client presents instead of a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A slave's key, at the sync API.
    Slave,
    /// An OpenSubsonic API key, at the Subsonic API.
    SubsonicApi,
}

impl KeyKind {
    /// Bad keys are counted per address only: nobody owns a key that does
    /// not exist, and counting them all together would let ten bad keys
    /// from anywhere refuse everyone's good ones.
    fn limit(self) -> Limit {
        match self {
            KeyKind::Slave => Limit { scope: "slave-key/address", failures: 10 },
            KeyKind::SubsonicApi => Limit { scope: "api-key/address", failures: 10 },
        }
    }
}

/// `Err(wait)`: refused, try again after `wait`.
pub type Verdict = Result<(), Duration>;

/// The throttles of one process, counting in the shared database.
///
/// Logins are throttled so that an attacker cannot lock an account's owner
/// out, while guesses stay slow:
///
/// - one address guessing one account is refused after 5 failures in
///   15 minutes (the pair is throttled, not the account);
/// - one address guessing many accounts after 20;
/// - one account guessed from many addresses after 50, except from an
///   address the owner logged in from before (in the last 30 days).
///
/// So a guesser at one address stops the owner nowhere, and guesses spread
/// over many addresses are still at most 50 per 15 minutes per account.
pub struct Throttles {
    db: Db,
    /// The minute this process last swept old rows in (once a minute at most).
    swept_minute: AtomicI64,
}

impl Throttles {
    pub fn new(db: Db) -> Self {
        Throttles { db, swept_minute: AtomicI64::new(i64::MIN) }
    }

    /// Whether a login to `account` from `address` may be tried now.
    pub async fn check_login(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Verdict, DbError> {
        let (account, address) = (&storable(account), counted_address(address));
        let pair = pair(account, &address);
        let limits =
            [(LOGIN_PAIR, pair.as_str()), (LOGIN_ADDRESS, address.as_str()), (LOGIN_ACCOUNT, account)];
        let waits = self.waits(&limits, now).await?;
        if let Some(wait) = waits[0].or(waits[1]) {
            return Ok(Err(wait));
        }
        match waits[2] {
            Some(wait) if !self.db.logged_in_from(account, &address, now - KNOWN_FOR).await? => Ok(Err(wait)),
            _ => Ok(Ok(())),
        }
    }

    /// Records a wrong password for `account` from `address`.
    pub async fn login_failed(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let (account, address) = (&storable(account), counted_address(address));
        let pair = pair(account, &address);
        self.failed(
            &[(LOGIN_PAIR, pair.as_str()), (LOGIN_ADDRESS, address.as_str()), (LOGIN_ACCOUNT, account)],
            now,
        )
        .await
    }

    /// Records a successful login: the pair's failures are forgotten and the
    /// address is known to be the owner's. Apps log in with every request,
    /// so this writes only when there is something to change.
    pub async fn login_succeeded(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let (account, address) = (&storable(account), counted_address(address));
        let pair = pair(account, &address);
        let pair = subject(LOGIN_PAIR, &pair);
        if self.db.failures_since(&[pair], i64::MIN).await?[0].failures > 0 {
            self.db.forget_failures(pair).await?;
        }
        if !self.db.logged_in_from(account, &address, now - KNOWN_AGAIN_AFTER).await? {
            self.db.remember_login(account, &address, now).await?;
            self.sweep_now_and_then(now).await?;
        }
        Ok(())
    }

    /// Whether a key of `kind` from `address` may be tried now.
    pub async fn check_key(
        &self,
        kind: KeyKind,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Verdict, DbError> {
        let address = counted_address(address);
        let waits = self.waits(&[(kind.limit(), address.as_str())], now).await?;
        Ok(waits[0].map_or(Ok(()), Err))
    }

    /// Records a bad key of `kind` from `address`.
    pub async fn key_failed(&self, kind: KeyKind, address: &str, now: DateTime<Utc>) -> Result<(), DbError> {
        let address = counted_address(address);
        self.failed(&[(kind.limit(), address.as_str())], now).await
    }

    /// For each limit, how long its subject must wait (`None`: it may try).
    async fn waits(
        &self,
        limits: &[(Limit, &str)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Duration>>, DbError> {
        let subjects: Vec<AttemptSubject> = limits.iter().map(|(limit, s)| subject(*limit, s)).collect();
        let since = minute(now) - WINDOW_MINUTES + 1;
        let counts = self.db.failures_since(&subjects, since).await?;
        Ok(counts
            .iter()
            .zip(limits)
            .map(|(count, (limit, _))| {
                (count.failures >= limit.failures).then(|| {
                    let free_at = (count.first_minute + WINDOW_MINUTES) * 60;
                    Duration::from_secs((free_at - now.timestamp()).max(1) as u64)
                })
            })
            .collect())
    }

    async fn failed(&self, limits: &[(Limit, &str)], now: DateTime<Utc>) -> Result<(), DbError> {
        let subjects: Vec<AttemptSubject> = limits.iter().map(|(limit, s)| subject(*limit, s)).collect();
        self.db.record_failures(&subjects, minute(now)).await?;
        self.sweep_now_and_then(now).await
    }

    /// Deletes what has left every window, once a minute at most per process.
    async fn sweep_now_and_then(&self, now: DateTime<Utc>) -> Result<(), DbError> {
        let this_minute = minute(now);
        if self.swept_minute.swap(this_minute, Ordering::Relaxed) >= this_minute {
            return Ok(());
        }
        self.db.sweep_attempts(this_minute - WINDOW_MINUTES + 1, now - KNOWN_FOR).await.map(drop)
    }
}

fn subject(limit: Limit, subject: &str) -> AttemptSubject<'_> {
    AttemptSubject { scope: limit.scope, subject }
}

fn minute(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(60)
}

fn pair(account: &str, address: &str) -> String {
    format!("{account}\n{address}")
}

/// `name` as it can be stored: no database of Archive's takes the NUL
/// character, and a name holding one (which no account has) must still be
/// counted, not turn a wrong guess into a server error.
fn storable(name: &str) -> String {
    name.replace('\0', "\u{fffd}")
}

/// The address as the throttles count it: IPv4 as it is, IPv6 by its /64.
fn counted_address(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
        Ok(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default(),
        _ => storable(address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archive_testkit::on_each_backend;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    #[tokio::test]
    async fn a_guesser_at_one_address_does_not_lock_the_owner_out_elsewhere() {
        on_each_backend(|t| async move {
            let throttles = Throttles::new(t.db.clone());
            for _ in 0..5 {
                assert_eq!(
                    throttles.check_login("owner@example.org", "203.0.113.7", at(0)).await.unwrap(),
                    Ok(())
                );
                throttles.login_failed("owner@example.org", "203.0.113.7", at(0)).await.unwrap();
            }
            let guesser = throttles.check_login("owner@example.org", "203.0.113.7", at(0)).await.unwrap();
            assert_eq!(guesser, Err(Duration::from_secs(15 * 60)), "the guesser waits the window");
            let owner = throttles.check_login("owner@example.org", "198.51.100.9", at(0)).await.unwrap();
            assert_eq!(owner, Ok(()), "the owner does not");
        })
        .await;
    }

    #[tokio::test]
    async fn guesses_at_one_account_from_many_addresses_stay_slow_but_the_owners_known_address_passes() {
        on_each_backend(|t| async move {
            let throttles = Throttles::new(t.db.clone());
            throttles.login_succeeded("owner@example.org", "198.51.100.9", at(0)).await.unwrap();
            for n in 0..50 {
                let address = format!("10.0.{}.{}", n / 250, n % 250);
                assert!(
                    throttles.check_login("owner@example.org", &address, at(1)).await.unwrap().is_ok(),
                    "{n}"
                );
                throttles.login_failed("owner@example.org", &address, at(1)).await.unwrap();
            }
            assert!(throttles.check_login("owner@example.org", "10.9.9.9", at(1)).await.unwrap().is_err());
            let owner = throttles.check_login("owner@example.org", "198.51.100.9", at(1)).await.unwrap();
            assert_eq!(owner, Ok(()), "the owner's known address passes");
        })
        .await;
    }

    #[tokio::test]
    async fn a_login_forgets_the_failures_of_its_account_at_its_address() {
        on_each_backend(|t| async move {
            let throttles = Throttles::new(t.db.clone());
            for round in 0..3 {
                for _ in 0..4 {
                    throttles.login_failed("owner@example.org", "203.0.113.7", at(round)).await.unwrap();
                }
                let check = throttles.check_login("owner@example.org", "203.0.113.7", at(round)).await;
                assert_eq!(check.unwrap(), Ok(()), "round {round}");
                throttles.login_succeeded("owner@example.org", "203.0.113.7", at(round)).await.unwrap();
            }
        })
        .await;
    }

    #[tokio::test]
    async fn failures_leave_the_window_minute_by_minute() {
        on_each_backend(|t| async move {
            let throttles = Throttles::new(t.db.clone());
            let address = "203.0.113.7";
            for minute in [0, 0, 0, 0, 0, 0, 0, 0, 0, 4] {
                throttles.key_failed(KeyKind::Slave, address, at(minute)).await.unwrap();
            }
            let wait = throttles.check_key(KeyKind::Slave, address, at(10)).await.unwrap();
            assert_eq!(wait, Err(Duration::from_secs(5 * 60)), "until minute 0 leaves the window");
            assert_eq!(throttles.check_key(KeyKind::Slave, address, at(15)).await.unwrap(), Ok(()));
            // Another kind of key is counted apart.
            assert_eq!(throttles.check_key(KeyKind::SubsonicApi, address, at(10)).await.unwrap(), Ok(()));
        })
        .await;
    }

    #[tokio::test]
    async fn a_guesser_gains_nothing_from_a_fresh_ipv6_address_in_its_network() {
        on_each_backend(|t| async move {
            let throttles = Throttles::new(t.db.clone());
            for n in 0..10 {
                let address = format!("2001:db8:1:2::{n:x}");
                throttles.key_failed(KeyKind::SubsonicApi, &address, at(0)).await.unwrap();
            }
            let same_network = throttles.check_key(KeyKind::SubsonicApi, "2001:db8:1:2:ffff::1", at(0)).await;
            assert!(same_network.unwrap().is_err());
            let next_network = throttles.check_key(KeyKind::SubsonicApi, "2001:db8:1:3::1", at(0)).await;
            assert_eq!(next_network.unwrap(), Ok(()));
        })
        .await;
    }

    #[tokio::test]
    async fn another_process_on_the_database_counts_the_same_failures() {
        on_each_backend(|t| async move {
            let other = t.another_process().await;
            let here = Throttles::new(t.db.clone());
            let there = Throttles::new(other.db.clone());
            for n in 0..20 {
                let throttles = if n % 2 == 0 { &here } else { &there };
                throttles.login_failed(&format!("user{n}@example.org"), "203.0.113.7", at(0)).await.unwrap();
            }
            assert!(here.check_login("anyone@example.org", "203.0.113.7", at(0)).await.unwrap().is_err());
            assert!(there.check_login("anyone@example.org", "203.0.113.7", at(0)).await.unwrap().is_err());
            other.db.close().await;
        })
        .await;
    }

    #[test]
    fn addresses_are_counted_as_hosts_are_given_them() {
        assert_eq!(counted_address("203.0.113.7"), "203.0.113.7");
        assert_eq!(counted_address("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(counted_address("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(counted_address(""), "");
        assert_eq!(storable("a\0b@example.org"), "a\u{fffd}b@example.org");
    }
}
