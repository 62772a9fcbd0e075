//! Settings → Users (Super Admin only): add staff, change roles, disable and re-enable.
//! A role change or a disable ends that user's sessions at once; the last active Super Admin
//! can be neither demoted nor disabled.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::guard::CurrentUser;
use crate::auth::password;
use crate::client_ip::RequestMeta;
use crate::console::shell;
use crate::db::ids::UserId;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::session as sessions;
use crate::db::models::user::{NewUser, Role, User};
use crate::error::AppError;
use crate::forms::{self, FieldErrors, HtmlForm};
use crate::htmx::{HxRequest, html, render, see_other};
use crate::session::TypedSession;
use crate::startup::AppState;
use crate::views::{Crumb, Toast};

const PATH: &str = "/settings/users";
const ACTION: &str = "manage users";

#[derive(Template)]
#[template(path = "partials/users_section.html")]
pub struct UsersSection {
    pub users: Vec<User>,
    pub me: UserId,
    pub roles: [Role; 3],
    pub form_email: String,
    pub form_role: Role,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

async fn section(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
) -> Result<UsersSection, AppError> {
    Ok(UsersSection {
        users: User::list_in_org(conn, user.org_id).await?,
        me: user.id,
        roles: Role::ALL,
        form_email: String::new(),
        form_role: Role::Viewer,
        errors: FieldErrors::default(),
        csrf_token: session.csrf_token()?,
    })
}

fn page(
    hx: HxRequest,
    status: StatusCode,
    user: &CurrentUser,
    session: &TypedSession,
    content: UsersSection,
) -> Result<HttpResponse, AppError> {
    let crumbs = vec![Crumb::link("Settings", "/settings"), Crumb::here("Users")];
    render(hx, status, shell("Users", user, session, crumbs)?, content)
}

/// After a change: htmx gets the refreshed section plus a toast; a plain form a redirect.
async fn changed(
    hx: HxRequest,
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
    message: &str,
) -> Result<HttpResponse, AppError> {
    if !hx.0 {
        session.set_flash(message);
        return Ok(see_other(hx, PATH));
    }
    let body = section(conn, user, session)
        .await?
        .render()
        .map_err(anyhow::Error::from)?;
    let toast = Toast::success_oob(message)
        .render()
        .map_err(anyhow::Error::from)?;
    Ok(html(StatusCode::OK, body + &toast))
}

#[tracing::instrument(skip_all)]
pub async fn list_users(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let mut conn = state.pool.get().await?;
    let content = section(&mut conn, &user, &session).await?;
    page(hx, StatusCode::OK, &user, &session, content)
}

#[derive(Deserialize)]
pub struct NewUserData {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default = "empty")]
    password: SecretString,
}

fn empty() -> SecretString {
    SecretString::from("")
}

#[tracing::instrument(skip_all)]
pub async fn create_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    form: HtmlForm<NewUserData>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let form = form.0;
    let mut errors = FieldErrors::default();
    let email = forms::email(&mut errors, "email", &form.email);
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    if let Err(message) = password::validate_new_password(&form.password) {
        errors.add("password", message);
    }
    let mut conn = state.pool.get().await?;
    if errors.is_empty() && User::find_by_email(&mut conn, &email).await?.is_some() {
        errors.add("email", "A user with this email already exists.");
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        let mut content = section(&mut conn, &user, &session).await?;
        content.form_email = email;
        content.form_role = role.unwrap_or(Role::Viewer);
        content.errors = errors;
        return page(
            hx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &user,
            &session,
            content,
        );
    };
    drop(conn);

    let hash = password::hash_password(state.argon2.slot().await?, form.password).await?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let mut conn = state.pool.get().await?;
    let created = User::insert(
        &mut conn,
        &NewUser {
            id: UserId::new_random(),
            org_id: user.org_id,
            email: &email,
            role,
            password_hash: &hash,
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    NewAuditEvent::new("user.created", &meta, now)
        .by(&user)
        .target("user", created.id, &created.email)
        .details(serde_json::json!({ "role": role.as_str() }))
        .insert(&mut conn)
        .await?;
    changed(hx, &mut conn, &user, &session, &format!("Added {email}.")).await
}

#[derive(Deserialize)]
pub struct RoleData {
    #[serde(default)]
    role: String,
}

/// Refuses a change that would leave the organisation with no active Super Admin. Must run
/// inside the transaction that makes the change (it locks the Super Admin rows).
async fn keep_a_super_admin(
    conn: &mut AsyncPgConnection,
    target: &User,
    still_super_admin: bool,
) -> Result<(), AppError> {
    let is_active_super_admin = target.role == Role::SuperAdmin && !target.disabled;
    if is_active_super_admin
        && !still_super_admin
        && User::lock_active_super_admins(conn, target.org_id).await? <= 1
    {
        return Err(AppError::Conflict(
            "The organisation must keep at least one active Super Admin. Promote someone else first.".into(),
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn change_user_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<UserId>,
    form: HtmlForm<RoleData>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let role = Role::parse(&form.role)
        .ok_or_else(|| AppError::BadRequest("Choose a valid role.".into()))?;
    let target_id = path.into_inner();
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let mut conn = state.pool.get().await?;
    let target = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let target = User::find_in_org(conn, actor.org_id, target_id).await?;
            if target.role == role {
                return Ok(target);
            }
            keep_a_super_admin(conn, &target, role == Role::SuperAdmin).await?;
            let updated = User::set_role(conn, actor.org_id, target_id, role, now).await?;
            sessions::delete_for_user(conn, target_id).await?;
            NewAuditEvent::new("user.role_changed", &meta, now)
                .by(&actor)
                .target("user", target_id, &target.email)
                .details(
                    serde_json::json!({ "before": target.role.as_str(), "after": role.as_str() }),
                )
                .insert(conn)
                .await?;
            Ok(updated)
        })
        .await?;
    if target.id == user.id {
        // Our own sessions were just ended: sign in again under the new role.
        return Ok(see_other(hx, "/login"));
    }
    changed(
        hx,
        &mut conn,
        &user,
        &session,
        &format!("{} is now {}.", target.email, role.label()),
    )
    .await
}

async fn set_disabled(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    target_id: UserId,
    disabled: bool,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let mut conn = state.pool.get().await?;
    let target = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let target = User::find_in_org(conn, actor.org_id, target_id).await?;
            if target.disabled == disabled {
                return Ok(target);
            }
            if disabled {
                keep_a_super_admin(conn, &target, false).await?;
            }
            let updated = User::set_disabled(conn, actor.org_id, target_id, disabled, now).await?;
            sessions::delete_for_user(conn, target_id).await?;
            let action = if disabled {
                "user.disabled"
            } else {
                "user.enabled"
            };
            NewAuditEvent::new(action, &meta, now)
                .by(&actor)
                .target("user", target_id, &target.email)
                .insert(conn)
                .await?;
            Ok(updated)
        })
        .await?;
    let verb = if disabled { "disabled" } else { "enabled" };
    changed(
        hx,
        &mut conn,
        &user,
        &session,
        &format!("{} is {verb}.", target.email),
    )
    .await
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn disable_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    set_disabled(req, state, user, session, hx, path.into_inner(), true).await
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn enable_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    set_disabled(req, state, user, session, hx, path.into_inner(), false).await
}
