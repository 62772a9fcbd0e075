//! Settings → Roles: named sets of catalog entries, one of which each credential is bound to.
//! Everyone on the staff may read them; the changes are `catalog::roles` operations (Super
//! Admin only).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel_async::AsyncPgConnection;

use crate::catalog::Saved;
use crate::catalog::roles::{self as catalog, RoleDraft, scopes};
use crate::console::path_id;
use crate::console::request::ConsoleRequest;
use crate::console::section::SettingsSection;
use crate::db::ids::{CredentialId, RoleId};
use crate::db::models::api::Api;
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::Credential;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;

const ACTION: &str = "change roles";

/// One row of the roles table.
pub struct RoleRow {
    pub role: ApiRole,
    pub scopes: Vec<String>,
    pub credentials: usize,
}

#[derive(Template)]
#[template(path = "partials/roles_section.html")]
pub struct RolesSection {
    pub roles: Vec<RoleRow>,
    pub catalog: Vec<Api>,
    pub can_edit: bool,
    /// First run: a role exists but no credential yet, so "Next: create a credential".
    pub next_step: bool,
    pub form: RoleDraft,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "partials/role_edit.html")]
pub struct RoleEditForm {
    pub role: ApiRole,
    pub catalog: Vec<Api>,
    pub form: RoleDraft,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

/// "Delete Reporting?", or why it cannot be deleted yet.
#[derive(Template)]
#[template(path = "partials/role_delete.html")]
pub struct RoleDeleteConfirmation {
    pub role: ApiRole,
    pub scopes: Vec<String>,
    pub credentials: Vec<(CredentialId, String)>,
    pub csrf_token: String,
}

impl SettingsSection for RolesSection {
    const TITLE: &'static str = "Roles";
    const PATH: &'static str = paths::ROLES;

    async fn load(conn: &mut AsyncPgConnection, rq: &ConsoleRequest) -> Result<Self, AppError> {
        let org = rq.user.org_id;
        let mut in_use: HashMap<RoleId, usize> = HashMap::new();
        for credential in Credential::list_for_org(conn, org).await? {
            *in_use.entry(credential.role_id).or_default() += 1;
        }
        let roles: Vec<RoleRow> = ApiRole::list_with_apis(conn, org)
            .await?
            .into_iter()
            .map(|r| RoleRow {
                credentials: in_use.get(&r.role.id).copied().unwrap_or(0),
                scopes: scopes(&r.apis),
                role: r.role,
            })
            .collect();
        let next_step = !roles.is_empty() && in_use.is_empty() && rq.can(StaffRole::Admin);
        Ok(RolesSection {
            next_step,
            roles,
            catalog: Api::list_for_org(conn, org).await?,
            can_edit: rq.user.role == StaffRole::SuperAdmin,
            form: RoleDraft::default(),
            errors: FieldErrors::default(),
            csrf_token: rq.csrf_token()?,
        })
    }
}

/// The edit form of `role` showing `form`.
async fn edit_form(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    status: StatusCode,
    role: ApiRole,
    form: RoleDraft,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let here = format!("Edit {}", role.name);
    let content = RoleEditForm {
        role,
        catalog: Api::list_for_org(conn, rq.user.org_id).await?,
        form,
        errors,
        csrf_token: rq.csrf_token()?,
    };
    RolesSection::page(rq, status, Some(&here), content)
}

#[tracing::instrument(skip_all)]
pub async fn list_roles(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Viewer, "read roles")?;
    let mut conn = rq.conn().await?;
    let content = RolesSection::load(&mut conn, &rq).await?;
    RolesSection::page(&rq, StatusCode::OK, None, content)
}

#[tracing::instrument(skip_all)]
pub async fn create_role(
    rq: ConsoleRequest,
    HtmlForm(draft): HtmlForm<RoleDraft>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    match catalog::create_role(&mut conn, &rq.actor(), &draft).await {
        Ok(role) => {
            RolesSection::changed(&rq, &mut conn, &format!("Added the role {}.", role.name)).await
        }
        Err(DomainError::Invalid(errors)) => {
            let mut content = RolesSection::load(&mut conn, &rq).await?;
            content.form = draft.trimmed();
            content.errors = errors;
            RolesSection::page(&rq, StatusCode::UNPROCESSABLE_ENTITY, None, content)
        }
        Err(e) => Err(e.into()),
    }
}

/// The role a Super Admin's form is about.
async fn role_for_change(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    raw_id: &str,
) -> Result<ApiRole, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    Ok(ApiRole::find_in_org(conn, rq.user.org_id, path_id(raw_id)?).await?)
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn edit_role_form(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let role = role_for_change(&mut conn, &rq, &path).await?;
    let form = RoleDraft::of(&role, &ApiRole::apis(&mut conn, role.id).await?);
    edit_form(
        &mut conn,
        &rq,
        StatusCode::OK,
        role,
        form,
        FieldErrors::default(),
    )
    .await
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn update_role(
    rq: ConsoleRequest,
    path: web::Path<String>,
    HtmlForm(draft): HtmlForm<RoleDraft>,
) -> Result<HttpResponse, AppError> {
    let id: RoleId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    match catalog::update_role(&mut conn, &rq.actor(), id, &draft).await {
        Ok((role, Saved::Changed)) => {
            RolesSection::changed(&rq, &mut conn, &format!("Saved the role {}.", role.name)).await
        }
        Ok((role, Saved::Unchanged)) => {
            RolesSection::changed(
                &rq,
                &mut conn,
                &format!("No changes to the role {}.", role.name),
            )
            .await
        }
        Err(DomainError::Invalid(errors)) => {
            let role = ApiRole::find_in_org(&mut conn, rq.user.org_id, id).await?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            edit_form(&mut conn, &rq, status, role, draft.trimmed(), errors).await
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn delete_role_form(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let role = role_for_change(&mut conn, &rq, &path).await?;
    let scopes = scopes(&ApiRole::apis(&mut conn, role.id).await?);
    let credentials = ApiRole::credentials_using(&mut conn, role.id).await?;
    let here = format!("Delete {}", role.name);
    let content = RoleDeleteConfirmation {
        role,
        scopes,
        credentials,
        csrf_token: rq.csrf_token()?,
    };
    RolesSection::page(&rq, StatusCode::OK, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(role = %path))]
pub async fn delete_role(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: RoleId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    let role = catalog::delete_role(&mut conn, &rq.actor(), id).await?;
    RolesSection::changed(&rq, &mut conn, &format!("Deleted the role {}.", role.name)).await
}
