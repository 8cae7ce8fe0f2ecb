//! Failed attempts at secrets and the addresses accounts logged in from:
//! what the throttles of every `archive serve` process on one database
//! count together (see `archive::auth::throttle` for the policy).
//!
//! Failures are counted per minute (Unix time divided by 60) for each
//! subject of a scope, so a check is one indexed read and a failure one
//! upsert. Node-local, never synced.

use chrono::{DateTime, Utc};

use crate::Db;
use crate::backend::{on_pool, on_tx};
use crate::error::Result;

/// A subject of a throttle: an address, an account, or an account at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptSubject<'a> {
    /// What is counted, for example `login/address`.
    pub scope: &'static str,
    pub subject: &'a str,
}

/// The failures of one subject within the minutes asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub failures: i64,
    /// The earliest minute with a failure (when `failures` is not zero).
    pub first_minute: i64,
}

impl Db {
    /// The failures of each of `subjects` since minute `since` (inclusive),
    /// in the order asked.
    pub async fn failures_since(
        &self,
        subjects: &[AttemptSubject<'_>],
        since: i64,
    ) -> Result<Vec<FailureCount>> {
        let mut counts = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let (failures, first_minute): (Option<i64>, Option<i64>) = on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT CAST(SUM(failures) AS BIGINT), MIN(minute) FROM failed_attempts \
                     WHERE scope = $1 AND subject = $2 AND minute >= $3",
                )
                .bind(subject.scope)
                .bind(subject.subject)
                .bind(since)
                .fetch_one(pool)
                .await?
            });
            counts.push(FailureCount {
                failures: failures.unwrap_or(0),
                first_minute: first_minute.unwrap_or(since),
            });
        }
        Ok(counts)
    }

    /// Counts one failure of each of `subjects` in minute `minute`.
    pub async fn record_failures(&self, subjects: &[AttemptSubject<'_>], minute: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        for subject in subjects {
            on_tx!(tx, conn => {
                sqlx::query(
                    "INSERT INTO failed_attempts (scope, subject, minute, failures) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (scope, subject, minute) \
                     DO UPDATE SET failures = failed_attempts.failures + 1",
                )
                .bind(subject.scope)
                .bind(subject.subject)
                .bind(minute)
                .execute(conn)
                .await?;
            });
        }
        tx.commit().await
    }

    /// Forgets every failure of `subject` (after it succeeded).
    pub async fn forget_failures(&self, subject: AttemptSubject<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query("DELETE FROM failed_attempts WHERE scope = $1 AND subject = $2")
                .bind(subject.scope)
                .bind(subject.subject)
                .execute(conn)
                .await?;
        });
        tx.commit().await
    }

    /// Notes that `account` logged in from `address` at `at`.
    pub async fn remember_login(&self, account: &str, address: &str, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO known_logins (account, address, last_login_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account, address) DO UPDATE SET last_login_at = excluded.last_login_at",
            )
            .bind(account)
            .bind(address)
            .bind(at)
            .execute(conn)
            .await?;
        });
        tx.commit().await
    }

    /// Whether `account` logged in from `address` at `since` or later.
    pub async fn logged_in_from(&self, account: &str, address: &str, since: DateTime<Utc>) -> Result<bool> {
        let found: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT CAST(1 AS BIGINT) FROM known_logins WHERE account = $1 AND address = $2 AND last_login_at >= $3",
            )
            .bind(account)
            .bind(address)
            .bind(since)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// Deletes failures counted before minute `failures_before` and logins
    /// older than `logins_before`; how many rows went.
    pub async fn sweep_attempts(&self, failures_before: i64, logins_before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let swept = on_tx!(tx, conn => {
            let failures = sqlx::query("DELETE FROM failed_attempts WHERE minute < $1")
                .bind(failures_before)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            let logins = sqlx::query("DELETE FROM known_logins WHERE last_login_at < $1")
                .bind(logins_before)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            failures + logins
        });
        tx.commit().await?;
        Ok(swept)
    }
}
