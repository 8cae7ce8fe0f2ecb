//! Users and their roles. Password hashing happens above this layer; the
//! database only keeps the Argon2id hash string.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::page::{Page, PageRequest, SortKey};
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

/// What a user may do. Ordered by power: a role can do everything the roles
/// before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Browses, streams, keeps playlists and listening data.
    User,
    /// Also uploads, imports and edits metadata.
    Moderator,
    /// Also deletes songs, manages users, settings and sync.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::User, Role::Moderator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DbError;
    fn from_str(s: &str) -> Result<Role> {
        match s {
            "user" => Ok(Role::User),
            "moderator" => Ok(Role::Moderator),
            "admin" => Ok(Role::Admin),
            other => {
                Err(DbError::invalid("role", format!("role must be admin, moderator or user, not {other:?}")))
            }
        }
    }
}

impl TryFrom<String> for Role {
    type Error = DbError;
    fn try_from(s: String) -> Result<Role> {
        s.parse()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub(crate) const USER_COLUMNS: &str = "id, email, name, role, password_hash, created_at, updated_at, version";

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
}

/// Emails are kept trimmed and lower-cased, so lookups and uniqueness ignore case.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = crate::library::storable("email", email)?.trim().to_lowercase();
    let valid = email.len() <= 320
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(DbError::invalid("email", "email must be an address like name@example.org"))
    }
}

impl User {
    const SORTS: &[SortKey<User>] = &[
        SortKey { name: "email", column: "email", value: |u| Param::Text(u.email.clone()) },
        SortKey { name: "name", column: "name", value: |u| Param::Text(u.name.clone()) },
        SortKey { name: "created_at", column: "created_at", value: |u| Param::Time(u.created_at) },
    ];
    pub const SORT_NAMES: &[&str] = &["email", "name", "created_at"];
}

impl Db {
    pub async fn user(&self, id: Uuid) -> Result<Option<User>> {
        self.get_row("users", USER_COLUMNS, id).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        crate::library::storable("email", email)?;
        let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = "));
        sql.bind(Param::Text(email.trim().to_lowercase()));
        self.fetch_optional_sql(sql).await
    }

    pub async fn users(&self, page: &PageRequest) -> Result<Page<User>> {
        let plan = page.plan(User::SORTS, &["created_at"])?;
        let sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users WHERE TRUE"));
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, User::SORTS, |u| u.id))
    }

    /// The names of the users `ids`.
    pub async fn user_names(&self, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, String>> {
        self.names_by_id("users", "name", ids).await
    }

    /// Whether any user exists (none: a first start).
    pub async fn has_users(&self) -> Result<bool> {
        let any = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) AS one")
                .fetch_one(pool)
                .await?
        });
        Ok(any > 0)
    }

    pub async fn count_admins(&self) -> Result<i64> {
        let count = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users WHERE role = 'admin'")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}

impl Tx {
    pub async fn insert_user(&mut self, new: NewUser) -> Result<User> {
        let email = normalize_email(&new.email)?;
        let name = crate::library::required_text("name", &new.name)?;
        let id = Uuid::now_v7();
        let now = crate::now();
        self.insert_row(
            "users",
            vec![
                ("id", Some(Param::Uuid(id))),
                ("email", Some(Param::Text(email))),
                ("name", Some(Param::Text(name))),
                ("role", Some(Param::Text(new.role.as_str().into()))),
                ("password_hash", Some(Param::Text(new.password_hash))),
                ("created_at", Some(Param::Time(now))),
                ("updated_at", Some(Param::Time(now))),
            ],
        )
        .await?;
        self.reload("users", USER_COLUMNS, id).await
    }

    pub async fn update_user(&mut self, id: Uuid, patch: UserPatch) -> Result<User> {
        let mut values = Vec::new();
        if let Some(email) = patch.email {
            values.push(("email", Some(Param::Text(normalize_email(&email)?))));
        }
        if let Some(name) = patch.name {
            values.push(("name", Some(Param::Text(crate::library::required_text("name", &name)?))));
        }
        if let Some(role) = patch.role {
            values.push(("role", Some(Param::Text(role.as_str().into()))));
        }
        if let Some(hash) = patch.password_hash {
            values.push(("password_hash", Some(Param::Text(hash))));
        }
        self.update_row("users", id, values).await?;
        self.reload("users", USER_COLUMNS, id).await
    }

    /// Deletes the user with their playlists, listening data and tokens.
    pub async fn delete_user(&mut self, id: Uuid) -> Result<()> {
        self.delete_row("users", id).await
    }

    /// Counts admins inside this transaction (to refuse removing the last one).
    pub async fn count_admins(&mut self) -> Result<i64> {
        let count = crate::backend::on_tx!(self, conn => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users WHERE role = 'admin'")
                .fetch_one(conn)
                .await?
        });
        Ok(count)
    }
}
