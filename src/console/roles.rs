//! Settings → Roles: named sets of catalog entries, one of which each credential is bound to.
//! Everyone on the staff may read them; only a Super Admin adds, edits and deletes. A role
//! still assigned to a credential cannot be deleted.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use serde_json::json;

use crate::auth::guard::CurrentUser;
use crate::client_ip::RequestMeta;
use crate::console::{path_id, shell};
use crate::db::ids::{ApiId, CredentialId, OrgId, RoleId};
use crate::db::models::api::Api;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::credential::Credential;
use crate::db::models::organisation::Organisation;
use crate::db::models::role::Role as CredentialRole;
use crate::db::models::user::Role;
use crate::error::AppError;
use crate::forms::{self, FieldErrors, HtmlForm};
use crate::htmx::{HxRequest, html, render, see_other};
use crate::session::TypedSession;
use crate::startup::AppState;
use crate::views::{Crumb, Toast};

const PATH: &str = "/settings/roles";
const ACTION: &str = "change roles";
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// What the add and edit forms hold: the user's input (names trimmed, API ids as sent).
#[derive(Debug, Clone, Default)]
pub struct RoleFormValues {
    pub name: String,
    pub description: String,
    pub apis: Vec<String>,
}

impl RoleFormValues {
    /// Whether the checkbox of `id` is ticked.
    pub fn checked(&self, id: &ApiId) -> bool {
        self.apis
            .iter()
            .any(|raw| raw.parse::<ApiId>().ok().as_ref() == Some(id))
    }
}

/// One row of the roles table.
pub struct RoleRow {
    pub role: CredentialRole,
    pub scopes: Vec<String>,
    pub credentials: usize,
}

#[derive(Template)]
#[template(path = "partials/roles_section.html")]
pub struct RolesSection {
    pub roles: Vec<RoleRow>,
    pub catalog: Vec<Api>,
    pub can_edit: bool,
    pub form: RoleFormValues,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "partials/role_edit.html")]
pub struct RoleEditForm {
    pub role: CredentialRole,
    pub catalog: Vec<Api>,
    pub form: RoleFormValues,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

/// "Delete Reporting?", or why it cannot be deleted yet.
#[derive(Template)]
#[template(path = "partials/role_delete.html")]
pub struct RoleDeleteConfirmation {
    pub role: CredentialRole,
    pub scopes: Vec<String>,
    pub credentials: Vec<(CredentialId, String)>,
    pub csrf_token: String,
}

async fn section(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
) -> Result<RolesSection, AppError> {
    let mut in_use: HashMap<RoleId, usize> = HashMap::new();
    for credential in Credential::list_for_org(conn, user.org_id).await? {
        *in_use.entry(credential.role_id).or_default() += 1;
    }
    let roles = CredentialRole::list_with_apis(conn, user.org_id)
        .await?
        .into_iter()
        .map(|r| RoleRow {
            credentials: in_use.get(&r.role.id).copied().unwrap_or(0),
            scopes: scopes(&r.apis),
            role: r.role,
        })
        .collect();
    Ok(RolesSection {
        roles,
        catalog: Api::list_for_org(conn, user.org_id).await?,
        can_edit: user.role == Role::SuperAdmin,
        form: RoleFormValues::default(),
        errors: FieldErrors::default(),
        csrf_token: session.csrf_token()?,
    })
}

fn scopes(apis: &[Api]) -> Vec<String> {
    apis.iter().map(|a| a.scope.clone()).collect()
}

fn page<T: Template>(
    hx: HxRequest,
    status: StatusCode,
    user: &CurrentUser,
    session: &TypedSession,
    here: Option<&str>,
    content: T,
) -> Result<HttpResponse, AppError> {
    let mut crumbs = vec![Crumb::link("Settings", "/settings")];
    let title = match here {
        Some(here) => {
            crumbs.push(Crumb::link("Roles", PATH));
            crumbs.push(Crumb::here(here));
            here
        }
        None => {
            crumbs.push(Crumb::here("Roles"));
            "Roles"
        }
    };
    render(hx, status, shell(title, user, session, crumbs)?, content)
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

#[derive(Deserialize)]
pub struct RoleData {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// One per ticked checkbox: ids of catalog entries.
    #[serde(default)]
    apis: Vec<String>,
}

/// The form checked field by field, and the catalog entries it names. Uniqueness of the name
/// is checked here too, `except` the role being edited.
async fn validate(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    data: RoleData,
    except: Option<RoleId>,
    errors: &mut FieldErrors,
) -> Result<(RoleFormValues, Vec<Api>), AppError> {
    let name = forms::text(errors, "name", &data.name, true, MAX_NAME);
    let description = forms::multi_line_text(
        errors,
        "description",
        &data.description,
        false,
        MAX_DESCRIPTION,
    );
    if errors.get("name").is_none() && CredentialRole::name_taken(conn, org, &name, except).await? {
        errors.add("name", "A role with this name already exists.");
    }
    let mut ids: Vec<ApiId> = Vec::new();
    let mut unknown = false;
    for raw in &data.apis {
        match raw.trim().parse::<ApiId>() {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => unknown = true,
        }
    }
    let apis = Api::find_many_in_org(conn, org, &ids).await?;
    if unknown || apis.len() != ids.len() {
        errors.add("apis", "Choose APIs from this organisation's catalog.");
    }
    Ok((
        RoleFormValues {
            name,
            description,
            apis: data.apis,
        },
        apis,
    ))
}

fn summary(role: &CredentialRole, apis: &[Api]) -> serde_json::Value {
    json!({ "name": role.name, "description": role.description, "apis": scopes(apis) })
}

#[tracing::instrument(skip_all)]
pub async fn list_roles(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Viewer, "read roles")?;
    let mut conn = state.pool.get().await?;
    let content = section(&mut conn, &user, &session).await?;
    page(hx, StatusCode::OK, &user, &session, None, content)
}

#[tracing::instrument(skip_all)]
pub async fn create_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    form: HtmlForm<RoleData>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let mut conn = state.pool.get().await?;
    let mut errors = FieldErrors::default();
    let (values, apis) = validate(&mut conn, user.org_id, form.0, None, &mut errors).await?;
    if !errors.is_empty() {
        let mut content = section(&mut conn, &user, &session).await?;
        content.form = values;
        content.errors = errors;
        return page(
            hx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &user,
            &session,
            None,
            content,
        );
    }

    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let role = CredentialRole {
        id: RoleId::new_random(),
        org_id: user.org_id,
        name: values.name,
        description: values.description,
        created_at: now,
        updated_at: now,
    };
    let name = role.name.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        Organisation::lock(conn, role.org_id).await?;
        let ids: Vec<ApiId> = apis.iter().map(|a| a.id).collect();
        still_in_catalog(conn, role.org_id, &ids).await?;
        role.insert(conn).await?;
        CredentialRole::set_apis(conn, role.id, &ids).await?;
        NewAuditEvent::new("role.created", &meta, now)
            .by(&actor)
            .target("role", role.id, &role.name)
            .details(summary(&role, &apis))
            .insert(conn)
            .await?;
        Ok(())
    })
    .await?;
    changed(
        hx,
        &mut conn,
        &user,
        &session,
        &format!("Added the role {name}."),
    )
    .await
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn edit_role_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: RoleId = path_id(&path)?;
    let mut conn = state.pool.get().await?;
    let role = CredentialRole::find_in_org(&mut conn, user.org_id, id).await?;
    let granted = CredentialRole::apis(&mut conn, id).await?;
    let form = RoleFormValues {
        name: role.name.clone(),
        description: role.description.clone(),
        apis: granted.iter().map(|a| a.id.to_string()).collect(),
    };
    let here = format!("Edit {}", role.name);
    let catalog = Api::list_for_org(&mut conn, user.org_id).await?;
    let content = RoleEditForm {
        role,
        catalog,
        form,
        errors: FieldErrors::default(),
        csrf_token: session.csrf_token()?,
    };
    page(hx, StatusCode::OK, &user, &session, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn update_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
    form: HtmlForm<RoleData>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: RoleId = path_id(&path)?;
    let mut conn = state.pool.get().await?;
    let before = CredentialRole::find_in_org(&mut conn, user.org_id, id).await?;
    let before_apis = CredentialRole::apis(&mut conn, id).await?;
    let mut errors = FieldErrors::default();
    let (values, apis) = validate(&mut conn, user.org_id, form.0, Some(id), &mut errors).await?;
    if !errors.is_empty() {
        let here = format!("Edit {}", before.name);
        let catalog = Api::list_for_org(&mut conn, user.org_id).await?;
        let content = RoleEditForm {
            role: before,
            catalog,
            form: values,
            errors,
            csrf_token: session.csrf_token()?,
        };
        return page(
            hx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &user,
            &session,
            Some(&here),
            content,
        );
    }
    // Both lists are ordered by scope, so equal sets compare equal.
    if before.name == values.name
        && before.description == values.description
        && scopes(&before_apis) == scopes(&apis)
    {
        return changed(
            hx,
            &mut conn,
            &user,
            &session,
            &format!("No changes to the role {}.", before.name),
        )
        .await;
    }

    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let after = conn
        .transaction::<_, AppError, _>(async move |conn| {
            Organisation::lock(conn, actor.org_id).await?;
            let ids: Vec<ApiId> = apis.iter().map(|a| a.id).collect();
            still_in_catalog(conn, actor.org_id, &ids).await?;
            let after = CredentialRole::update(conn, actor.org_id, id, &values.name, &values.description, now).await?;
            CredentialRole::set_apis(conn, id, &ids).await?;
            NewAuditEvent::new("role.updated", &meta, now)
                .by(&actor)
                .target("role", id, &after.name)
                .details(json!({ "before": summary(&before, &before_apis), "after": summary(&after, &apis) }))
                .insert(conn)
                .await?;
            Ok(after)
        })
        .await?;
    changed(
        hx,
        &mut conn,
        &user,
        &session,
        &format!("Saved the role {}.", after.name),
    )
    .await
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn delete_role_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: RoleId = path_id(&path)?;
    let mut conn = state.pool.get().await?;
    let role = CredentialRole::find_in_org(&mut conn, user.org_id, id).await?;
    let scopes = scopes(&CredentialRole::apis(&mut conn, id).await?);
    let credentials = CredentialRole::credentials_using(&mut conn, id).await?;
    let here = format!("Delete {}", role.name);
    let content = RoleDeleteConfirmation {
        role,
        scopes,
        credentials,
        csrf_token: session.csrf_token()?,
    };
    page(hx, StatusCode::OK, &user, &session, Some(&here), content)
}

/// Refuses when an API the form chose was deleted since it was checked. Must run under the
/// organisation lock, which deleting an API also takes.
async fn still_in_catalog(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    ids: &[ApiId],
) -> Result<(), AppError> {
    if Api::find_many_in_org(conn, org, ids).await?.len() == ids.len() {
        return Ok(());
    }
    Err(AppError::Conflict(
        "An API chosen for this role was deleted meanwhile. Reload the page and choose again."
            .into(),
    ))
}

/// Why a role cannot go yet, naming the credentials that still use it.
fn still_in_use(role: &str, credentials: &[(CredentialId, String)]) -> AppError {
    let names: Vec<&str> = credentials.iter().map(|(_, name)| name.as_str()).collect();
    let whom = if names.is_empty() {
        "a credential".to_string()
    } else {
        format!("credentials {}", names.join(", "))
    };
    AppError::Conflict(format!(
        "The role \"{role}\" is still assigned to {whom}: reassign them first."
    ))
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn delete_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: RoleId = path_id(&path)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let mut conn = state.pool.get().await?;
    let deleted = conn
        .transaction::<_, AppError, _>(async move |conn| {
            Organisation::lock(conn, actor.org_id).await?;
            let role = CredentialRole::find_in_org(conn, actor.org_id, id).await?;
            let using = CredentialRole::credentials_using(conn, id).await?;
            if !using.is_empty() {
                return Err(still_in_use(&role.name, &using));
            }
            let apis = CredentialRole::apis(conn, id).await?;
            match CredentialRole::delete(conn, actor.org_id, id).await {
                Ok(0) => return Err(AppError::NotFound),
                Ok(_) => {}
                // A credential was bound to it since we looked (the foreign key restricts).
                Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                    return Err(still_in_use(&role.name, &[]));
                }
                Err(e) => return Err(e.into()),
            }
            NewAuditEvent::new("role.deleted", &meta, now)
                .by(&actor)
                .target("role", id, &role.name)
                .details(json!({ "name": role.name, "apis": scopes(&apis) }))
                .insert(conn)
                .await?;
            Ok(role)
        })
        .await?;
    changed(
        hx,
        &mut conn,
        &user,
        &session,
        &format!("Deleted the role {}.", deleted.name),
    )
    .await
}
