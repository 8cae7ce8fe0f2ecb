//! Accounts: admins manage everyone's; every user changes their own name and
//! password. The last admin can be neither demoted nor deleted.
//!
//! Accounts are the master's: on a slave, every change here goes to the
//! master at once, logged in there as the user who asks (whose password is
//! then required, and checked here and there), and comes back with the pull
//! that follows (see `sync::accounts`).

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use archive_db::{DbError, NewUser, Role, User, UserPatch};

use super::sessions::{IssuedToken, confirm_password, issue_token};
use super::{ServiceError, ServiceResult};
use crate::auth::{check_password_rules, hash_password};
use crate::config::NodeRole;
use crate::state::AppState;
use crate::sync::accounts::{MasterAccounts, user_in};

/// Who asks for a change to an account: the user, from which address (as
/// the login throttle counts it), and their own password (needed on a
/// slave, where the master checks it).
pub struct Asker<'a> {
    pub user: &'a User,
    pub address: &'a str,
    pub password: Option<String>,
}

/// A change an admin makes to someone's account; `None` leaves a part as it is.
#[derive(Debug, Default)]
pub struct AccountChange {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    /// A new password; every session of the user ends.
    pub password: Option<String>,
}

/// A user's change to their own account.
#[derive(Debug, Default)]
pub struct OwnChange {
    pub name: Option<String>,
    /// A new password; needs `current_password`.
    pub password: Option<String>,
    pub current_password: Option<String>,
}

async fn hashed(password: Option<String>) -> ServiceResult<Option<String>> {
    match password {
        None => Ok(None),
        Some(p) => {
            check_password_rules(&p).map_err(|m| ServiceError::invalid("password", m))?;
            Ok(Some(hash_password(p).await.map_err(|e| ServiceError::Internal(e.to_string()))?))
        }
    }
}

/// On a slave: the master's account API, and the asker's password, checked
/// here first (a wrong one counts as a failed login here, so a stolen
/// session cannot guess it through the master).
async fn on_master(state: &AppState, asker: &Asker<'_>) -> ServiceResult<Option<(MasterAccounts, String)>> {
    let config = state.config();
    if config.role != NodeRole::Slave {
        return Ok(None);
    }
    let password = asker.password.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
        ServiceError::invalid(
            "current_password",
            "accounts are changed on the master: give your own password, which the master checks",
        )
    })?;
    confirm_password(state, asker.user, password.clone(), asker.address).await?;
    Ok(Some((MasterAccounts::new(&config.sync)?, password)))
}

/// After a change on the master: pull it here now, so that the change
/// shows at once (if the pull fails, it comes with the next one).
async fn pull_from_master(state: &AppState) {
    // Bounded: the request should not wait out a long cycle (a cycle cut
    // off resumes at the next from what it committed).
    const PULL_FOR: std::time::Duration = std::time::Duration::from_secs(10);
    let config = state.config();
    let cycle = crate::sync::engine::run_cycle_now(&state.db, &config);
    match tokio::time::timeout(PULL_FOR, cycle).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(target: "sync", error = %e, "an account change was made on the master; it arrives with the next sync")
        }
        Err(_) => {
            tracing::warn!(target: "sync", "an account change was made on the master; the pull is slow, it arrives with the next sync")
        }
    }
}

/// The account as this node holds it after the pull, or as the master
/// answered (if the pull has not brought it yet).
async fn after_pull(state: &AppState, answer: &Value) -> ServiceResult<User> {
    let user = user_in(answer)
        .ok_or_else(|| ServiceError::Internal("the master's answer holds no account".into()))?;
    pull_from_master(state).await;
    Ok(state.db.user(user.id).await?.unwrap_or(user))
}

/// Creates an account (the API and the users page).
pub async fn create_user(
    state: &AppState,
    asker: &Asker<'_>,
    email: String,
    name: String,
    role: Role,
    password: String,
) -> ServiceResult<User> {
    if let Some((master, own)) = on_master(state, asker).await? {
        let body = json!({ "email": email, "name": name, "role": role, "password": password });
        let answer =
            master.change(&asker.user.email, &own, Method::POST, "/api/v1/users", Some(body)).await?;
        return after_pull(state, &answer).await;
    }
    create_account(state, Some(asker.user.id), email, name, role, password).await
}

/// Creates an account on this node, on behalf of `author` (none: the first
/// admin, made at the first start).
pub async fn create_account(
    state: &AppState,
    author: Option<Uuid>,
    email: String,
    name: String,
    role: Role,
    password: String,
) -> ServiceResult<User> {
    let password_hash = hashed(Some(password)).await?.expect("given");
    let new = NewUser { email, name, role, password_hash };
    let mut tx = state.db.begin().await?;
    tx.set_author(author).await?;
    let user = tx.insert_user(new).await.map_err(|e| match e {
        DbError::Duplicate(_) => ServiceError::Conflict("a user with this email exists".into()),
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(user)
}

/// Changes an account (the API and the users page). A new password ends
/// every session of the user; the last admin cannot be demoted.
pub async fn update_user(
    state: &AppState,
    asker: &Asker<'_>,
    id: Uuid,
    change: AccountChange,
) -> ServiceResult<User> {
    let resets_password = change.password.is_some();
    if let Some((master, own)) = on_master(state, asker).await? {
        let body = json!({ "email": change.email, "name": change.name, "role": change.role, "password": change.password });
        let body = Value::Object(
            body.as_object().expect("an object").clone().into_iter().filter(|(_, v)| !v.is_null()).collect(),
        );
        let path = format!("/api/v1/users/{id}");
        let answer = master.change(&asker.user.email, &own, Method::PATCH, &path, Some(body)).await?;
        if resets_password {
            end_sessions(state, id).await?;
        }
        return after_pull(state, &answer).await;
    }
    let patch = UserPatch {
        email: change.email,
        name: change.name,
        role: change.role,
        password_hash: hashed(change.password).await?,
    };
    let mut tx = state.db.begin_as(asker.user.id).await?;
    let user = tx.update_user(id, patch).await?;
    if tx.count_admins().await? == 0 {
        return Err(ServiceError::Conflict("the last admin cannot be demoted".into()));
    }
    if resets_password {
        tx.revoke_user_tokens(id).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Ends every session of a user on this node (their password changed).
async fn end_sessions(state: &AppState, id: Uuid) -> ServiceResult<()> {
    let mut tx = state.db.begin().await?;
    tx.revoke_user_tokens(id).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an account (the API and the users page); never the last admin.
pub async fn delete_user(state: &AppState, asker: &Asker<'_>, id: Uuid) -> ServiceResult<()> {
    if let Some((master, own)) = on_master(state, asker).await? {
        let path = format!("/api/v1/users/{id}");
        master.change(&asker.user.email, &own, Method::DELETE, &path, None).await?;
        pull_from_master(state).await;
        return Ok(());
    }
    let mut tx = state.db.begin_as(asker.user.id).await?;
    tx.delete_user(id).await?;
    if tx.count_admins().await? == 0 {
        return Err(ServiceError::Conflict("the last admin cannot be deleted".into()));
    }
    tx.commit().await?;
    Ok(())
}

/// A user changes their own name or password (the API and the profile
/// page). A new password needs the current one (a wrong one counts as a
/// failed login) and ends every session of the user; a new token for the
/// caller comes back then.
pub async fn update_own_account(
    state: &AppState,
    me: &User,
    change: OwnChange,
    address: &str,
) -> ServiceResult<(User, Option<IssuedToken>)> {
    let OwnChange { name, password, current_password } = change;
    let changes_password = password.is_some();
    let asker = Asker { user: me, address, password: current_password.clone() };
    if let Some((master, own)) = on_master(state, &asker).await? {
        let mut body = json!({ "current_password": own });
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        let answer = master.change(&me.email, &own, Method::PATCH, "/api/v1/me", Some(body)).await?;
        let user = after_pull(state, &answer).await?;
        if changes_password {
            end_sessions(state, me.id).await?;
            let token = issue_token(state, user.clone()).await?;
            return Ok((user, Some(token)));
        }
        return Ok((user, None));
    }
    if changes_password {
        confirm_password(state, me, current_password.unwrap_or_default(), address).await?;
    }
    let patch = UserPatch { name, password_hash: hashed(password).await?, ..Default::default() };
    let mut tx = state.db.begin_as(me.id).await?;
    let user = tx.update_user(me.id, patch).await?;
    if changes_password {
        tx.revoke_user_tokens(user.id).await?;
    }
    tx.commit().await?;
    if changes_password {
        let token = issue_token(state, user.clone()).await?;
        return Ok((user, Some(token)));
    }
    Ok((user, None))
}
