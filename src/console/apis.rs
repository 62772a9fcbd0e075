//! Settings → APIs: the organisation's API catalog. Everyone on the staff may read it; the
//! changes are `catalog::apis` operations (Super Admin only).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel_async::AsyncPgConnection;

use crate::catalog::Saved;
use crate::catalog::apis::{self as catalog, ApiDraft};
use crate::console::path_id;
use crate::console::request::ConsoleRequest;
use crate::console::section::SettingsSection;
use crate::db::ids::{ApiId, CredentialId};
use crate::db::models::api::Api;
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::Credential;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;

const ACTION: &str = "change the API catalog";

/// The catalog table, and the add form for a Super Admin.
#[derive(Template)]
#[template(path = "partials/apis_section.html")]
pub struct ApisSection {
    pub apis: Vec<Api>,
    pub can_edit: bool,
    /// First run: APIs exist but no role yet, so "Next: define a role".
    pub next_step: bool,
    pub form: ApiDraft,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "partials/api_edit.html")]
pub struct ApiEditForm {
    pub api: Api,
    pub form: ApiDraft,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

/// "Delete orders:read?" with what it will be taken from.
#[derive(Template)]
#[template(path = "partials/api_delete.html")]
pub struct ApiDeleteConfirmation {
    pub api: Api,
    pub roles: Vec<String>,
    pub credentials: Vec<(CredentialId, String)>,
    pub csrf_token: String,
}

impl SettingsSection for ApisSection {
    const TITLE: &'static str = "APIs";
    const PATH: &'static str = paths::APIS;

    async fn load(conn: &mut AsyncPgConnection, rq: &ConsoleRequest) -> Result<Self, AppError> {
        let apis = Api::list_for_org(conn, rq.user.org_id).await?;
        let can_edit = rq.user.role == StaffRole::SuperAdmin;
        let next_step = can_edit
            && !apis.is_empty()
            && ApiRole::list_for_org(conn, rq.user.org_id)
                .await?
                .is_empty();
        Ok(ApisSection {
            apis,
            can_edit,
            next_step,
            form: ApiDraft::default(),
            errors: FieldErrors::default(),
            csrf_token: rq.csrf_token()?,
        })
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_apis(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Viewer, "read the API catalog")?;
    let mut conn = rq.conn().await?;
    let content = ApisSection::load(&mut conn, &rq).await?;
    ApisSection::page(&rq, StatusCode::OK, None, content)
}

#[tracing::instrument(skip_all)]
pub async fn create_api(
    rq: ConsoleRequest,
    HtmlForm(draft): HtmlForm<ApiDraft>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    match catalog::create_api(&mut conn, &rq.actor(), &draft).await {
        Ok(api) => {
            ApisSection::changed(
                &rq,
                &mut conn,
                &format!("Added {} to the catalog.", api.scope),
            )
            .await
        }
        Err(DomainError::Invalid(errors)) => {
            let mut content = ApisSection::load(&mut conn, &rq).await?;
            content.form = draft.check().0;
            content.errors = errors;
            ApisSection::page(&rq, StatusCode::UNPROCESSABLE_ENTITY, None, content)
        }
        Err(e) => Err(e.into()),
    }
}

/// The catalog entry a Super Admin's form is about.
async fn entry_for_change(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    raw_id: &str,
) -> Result<Api, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    Ok(Api::find_in_org(conn, rq.user.org_id, path_id(raw_id)?).await?)
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn edit_api_form(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let api = entry_for_change(&mut *rq.conn().await?, &rq, &path).await?;
    let here = format!("Edit {}", api.scope);
    let content = ApiEditForm {
        form: ApiDraft::of(&api),
        api,
        errors: FieldErrors::default(),
        csrf_token: rq.csrf_token()?,
    };
    ApisSection::page(&rq, StatusCode::OK, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn update_api(
    rq: ConsoleRequest,
    path: web::Path<String>,
    HtmlForm(draft): HtmlForm<ApiDraft>,
) -> Result<HttpResponse, AppError> {
    let id: ApiId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    match catalog::update_api(&mut conn, &rq.actor(), id, &draft).await {
        Ok((api, Saved::Changed)) => {
            ApisSection::changed(&rq, &mut conn, &format!("Saved {}.", api.scope)).await
        }
        Ok((api, Saved::Unchanged)) => {
            ApisSection::changed(&rq, &mut conn, &format!("No changes to {}.", api.scope)).await
        }
        Err(DomainError::Invalid(errors)) => {
            let api = Api::find_in_org(&mut conn, rq.user.org_id, id).await?;
            let here = format!("Edit {}", api.scope);
            let content = ApiEditForm {
                api,
                form: draft.check().0,
                errors,
                csrf_token: rq.csrf_token()?,
            };
            ApisSection::page(&rq, StatusCode::UNPROCESSABLE_ENTITY, Some(&here), content)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn delete_api_form(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let api = entry_for_change(&mut conn, &rq, &path).await?;
    let id = api.id;
    let roles = ApiRole::list_with_apis(&mut conn, rq.user.org_id)
        .await?
        .into_iter()
        .filter(|r| r.apis.iter().any(|a| a.id == id))
        .map(|r| r.role.name)
        .collect();
    let credentials = Credential::holding_api(&mut conn, rq.user.org_id, id).await?;
    let here = format!("Delete {}", api.scope);
    let content = ApiDeleteConfirmation {
        api,
        roles,
        credentials,
        csrf_token: rq.csrf_token()?,
    };
    ApisSection::page(&rq, StatusCode::OK, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn delete_api(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: ApiId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    let api = catalog::delete_api(&mut conn, &rq.actor(), id).await?;
    ApisSection::changed(
        &rq,
        &mut conn,
        &format!("Deleted {} from the catalog.", api.scope),
    )
    .await
}
