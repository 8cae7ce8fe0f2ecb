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
use crate::sql::{Param, Sql};

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
    /// in the order asked; one read.
    pub async fn failures_since(
        &self,
        subjects: &[AttemptSubject<'_>],
        since: i64,
    ) -> Result<Vec<FailureCount>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT scope, subject, CAST(SUM(failures) AS BIGINT), CAST(MIN(minute) AS BIGINT) \
             FROM failed_attempts WHERE minute >= ",
        );
        sql.bind(Param::Int(since)).push(" AND (");
        for (n, subject) in subjects.iter().enumerate() {
            sql.push(if n == 0 { "(scope = " } else { " OR (scope = " });
            sql.bind(Param::Text(subject.scope.to_owned())).push(" AND subject = ");
            sql.bind(Param::Text(subject.subject.to_owned())).push(")");
        }
        sql.push(") GROUP BY scope, subject");
        let rows: Vec<(String, String, i64, i64)> = self.fetch_all_sql(sql).await?;
        Ok(subjects
            .iter()
            .map(|wanted| {
                rows.iter()
                    .find(|(scope, subject, _, _)| scope == wanted.scope && subject == wanted.subject)
                    .map_or(
                        FailureCount { failures: 0, first_minute: since },
                        |&(_, _, failures, first_minute)| FailureCount { failures, first_minute },
                    )
            })
            .collect())
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
