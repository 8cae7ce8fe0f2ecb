//! Administration pages (admins only): users.
//!
//! The changes go through the same functions as the API's (`api::users`),
//! so the rules are the same: strong enough passwords, one account per
//! email, never without an admin.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use archive_db::{PageRequest, Role};

use super::forms::CsrfForm;
use super::pages::{CursorQuery, next_link};
use super::{AdminUser, Frame, PageError, render};
use crate::client_address::ClientAddress;
use crate::services::accounts::{AccountChange, Asker, create_user, delete_user, update_user};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

struct UserRow {
    id: Uuid,
    name: String,
    email: String,
    /// Every role, and whether it is this user's.
    roles: Vec<(&'static str, bool)>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    frame: Frame,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    next: Option<String>,
    error: Option<String>,
    /// On a slave: the master's address (accounts are changed there).
    master: Option<String>,
}

async fn users_page(
    state: &AppState,
    admin: &AdminUser,
    cursor: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let page = PageRequest { limit: Some(100), cursor, ..Default::default() };
    let page = state.db.users(&page).await?;
    let users = page
        .items
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.name,
            email: u.email,
            roles: Role::ALL.iter().map(|r| (r.as_str(), *r == u.role)).collect(),
        })
        .collect();
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let page = UsersPage {
        frame: Frame::of(&admin.0),
        users,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        next: next_link("/admin/users", page.next_cursor),
        error,
        master: super::master_of_slave(state),
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn users(
    State(state): State<AppState>,
    admin: AdminUser,
    Query(params): Query<CursorQuery>,
) -> Result<Response, PageError> {
    users_page(&state, &admin, params.cursor, None).await
}

/// After a change: back to the list, or the list with what went wrong.
async fn done(
    state: &AppState,
    admin: &AdminUser,
    outcome: ServiceResult<()>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin/users").into_response()),
        // A refusal, or a master that cannot be reached, is said on the page.
        Err(e) => users_page(state, admin, None, Some(PageError::from(e).said_on_the_form()?)).await,
    }
}

fn parse_role(text: &str) -> ServiceResult<Role> {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str() == text)
        .ok_or_else(|| ServiceError::invalid("role", format!("unknown role {text:?}")))
}

#[derive(Deserialize)]
pub struct NewUserForm {
    name: String,
    email: String,
    role: String,
    password: String,
    /// On a slave: the admin's own password, which the master checks.
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    address: ClientAddress,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> Result<Response, PageError> {
    let asker = Asker { user: &admin.0.user, address: &address.0, password: form.current_password };
    let outcome = async {
        let role = parse_role(&form.role)?;
        create_user(&state, &asker, form.email, form.name, role, form.password).await.map(|_| ())
    }
    .await;
    done(&state, &admin, outcome).await
}

#[derive(Deserialize)]
pub struct UserForm {
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    address: ClientAddress,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<UserForm>,
) -> Result<Response, PageError> {
    let asker = Asker { user: &admin.0.user, address: &address.0, password: form.current_password };
    let outcome = async {
        let role = parse_role(&form.role)?;
        let password = Some(form.password).filter(|p| !p.is_empty());
        let patch = AccountChange { role: Some(role), password, ..Default::default() };
        update_user(&state, &asker, id, patch).await.map(|_| ())
    }
    .await;
    done(&state, &admin, outcome).await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    current_password: Option<String>,
}

pub async fn delete(
    State(state): State<AppState>,
    admin: AdminUser,
    address: ClientAddress,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, PageError> {
    let asker = Asker { user: &admin.0.user, address: &address.0, password: form.current_password };
    let outcome = delete_user(&state, &asker, id).await;
    done(&state, &admin, outcome).await
}
