//! Settings → APIs: the organisation's API catalog. Everyone on the staff may read it; only a
//! Super Admin adds, edits and deletes entries. Deleting an entry takes it away from every
//! role and credential in the same transaction, and the audit event says who lost it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use serde_json::json;

use crate::auth::guard::CurrentUser;
use crate::client_ip::RequestMeta;
use crate::console::{path_id, shell};
use crate::db::ids::{ApiId, CredentialId};
use crate::db::models::api::{self, Api};
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

const PATH: &str = "/settings/apis";
const ACTION: &str = "change the API catalog";
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// What the add and edit forms hold: the user's input, trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiFormValues {
    pub scope: String,
    pub name: String,
    pub description: String,
}

impl ApiFormValues {
    fn of(api: &Api) -> Self {
        Self {
            scope: api.scope.clone(),
            name: api.name.clone(),
            description: api.description.clone(),
        }
    }
}

/// The catalog table, and the add form for a Super Admin.
#[derive(Template)]
#[template(path = "partials/apis_section.html")]
pub struct ApisSection {
    pub apis: Vec<Api>,
    pub can_edit: bool,
    pub form: ApiFormValues,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "partials/api_edit.html")]
pub struct ApiEditForm {
    pub api: Api,
    pub form: ApiFormValues,
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

async fn section(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
) -> Result<ApisSection, AppError> {
    Ok(ApisSection {
        apis: Api::list_for_org(conn, user.org_id).await?,
        can_edit: user.role == Role::SuperAdmin,
        form: ApiFormValues::default(),
        errors: FieldErrors::default(),
        csrf_token: session.csrf_token()?,
    })
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
            crumbs.push(Crumb::link("APIs", PATH));
            crumbs.push(Crumb::here(here));
            here
        }
        None => {
            crumbs.push(Crumb::here("APIs"));
            "APIs"
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
pub struct ApiData {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// Checks each field on its own; the scope's uniqueness is checked by the caller.
fn validate(data: &ApiData, errors: &mut FieldErrors) -> ApiFormValues {
    let scope = data.scope.trim().to_string();
    if scope.is_empty() {
        errors.add("scope", "This field is required.");
    } else if scope.chars().count() > 64 {
        errors.add("scope", "Use at most 64 characters.");
    } else if !api::is_valid_scope(&scope) {
        errors.add(
            "scope",
            "Use only lowercase letters, digits and _ - . : (for example orders:read).",
        );
    }
    ApiFormValues {
        scope,
        name: forms::text(errors, "name", &data.name, true, MAX_NAME),
        description: forms::multi_line_text(
            errors,
            "description",
            &data.description,
            false,
            MAX_DESCRIPTION,
        ),
    }
}

const SCOPE_TAKEN: &str = "This scope is already in the catalog.";

fn details(api: &Api) -> serde_json::Value {
    json!({ "scope": api.scope, "name": api.name, "description": api.description })
}

#[tracing::instrument(skip_all)]
pub async fn list_apis(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Viewer, "read the API catalog")?;
    let mut conn = state.pool.get().await?;
    let content = section(&mut conn, &user, &session).await?;
    page(hx, StatusCode::OK, &user, &session, None, content)
}

#[tracing::instrument(skip_all)]
pub async fn create_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    form: HtmlForm<ApiData>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let mut errors = FieldErrors::default();
    let values = validate(&form, &mut errors);
    let mut conn = state.pool.get().await?;
    if errors.get("scope").is_none()
        && Api::scope_taken(&mut conn, user.org_id, &values.scope, None).await?
    {
        errors.add("scope", SCOPE_TAKEN);
    }
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
    let new = Api {
        id: ApiId::new_random(),
        org_id: user.org_id,
        scope: values.scope,
        name: values.name,
        description: values.description,
        created_at: now,
        updated_at: now,
    };
    let scope = new.scope.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        new.insert(conn).await?;
        NewAuditEvent::new("api.created", &meta, now)
            .by(&actor)
            .target("api", new.id, &new.scope)
            .details(details(&new))
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
        &format!("Added {scope} to the catalog."),
    )
    .await
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn edit_api_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: ApiId = path_id(&path)?;
    let mut conn = state.pool.get().await?;
    let api = Api::find_in_org(&mut conn, user.org_id, id).await?;
    let here = format!("Edit {}", api.scope);
    let content = ApiEditForm {
        form: ApiFormValues::of(&api),
        api,
        errors: FieldErrors::default(),
        csrf_token: session.csrf_token()?,
    };
    page(hx, StatusCode::OK, &user, &session, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn update_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
    form: HtmlForm<ApiData>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: ApiId = path_id(&path)?;
    let mut conn = state.pool.get().await?;
    let before = Api::find_in_org(&mut conn, user.org_id, id).await?;
    let mut errors = FieldErrors::default();
    let values = validate(&form, &mut errors);
    if errors.get("scope").is_none()
        && Api::scope_taken(&mut conn, user.org_id, &values.scope, Some(id)).await?
    {
        errors.add("scope", SCOPE_TAKEN);
    }
    if !errors.is_empty() {
        let here = format!("Edit {}", before.scope);
        let content = ApiEditForm {
            api: before,
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
    if ApiFormValues::of(&before) == values {
        return changed(
            hx,
            &mut conn,
            &user,
            &session,
            &format!("No changes to {}.", before.scope),
        )
        .await;
    }

    let now: DateTime<Utc> = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let after = conn
        .transaction::<_, AppError, _>(async move |conn| {
            Organisation::lock(conn, actor.org_id).await?;
            let after = Api::update(
                conn,
                actor.org_id,
                id,
                &values.scope,
                &values.name,
                &values.description,
                now,
            )
            .await?;
            NewAuditEvent::new("api.updated", &meta, now)
                .by(&actor)
                .target("api", id, &after.scope)
                .details(json!({ "before": details(&before), "after": details(&after) }))
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
        &format!("Saved {}.", after.scope),
    )
    .await
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn delete_api_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: ApiId = path_id(&path)?;
    let mut conn = state.pool.get().await?;
    let api = Api::find_in_org(&mut conn, user.org_id, id).await?;
    let roles = CredentialRole::list_with_apis(&mut conn, user.org_id)
        .await?
        .into_iter()
        .filter(|r| r.apis.iter().any(|a| a.id == id))
        .map(|r| r.role.name)
        .collect();
    let credentials = Credential::holding_api(&mut conn, user.org_id, id).await?;
    let here = format!("Delete {}", api.scope);
    let content = ApiDeleteConfirmation {
        api,
        roles,
        credentials,
        csrf_token: session.csrf_token()?,
    };
    page(hx, StatusCode::OK, &user, &session, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(api = %path))]
pub async fn delete_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin, ACTION)?;
    let id: ApiId = path_id(&path)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let mut conn = state.pool.get().await?;
    let deleted = conn
        .transaction::<_, AppError, _>(async move |conn| {
            Organisation::lock(conn, actor.org_id).await?;
            let api = Api::find_in_org(conn, actor.org_id, id).await?;
            // Asked before the delete: the cascade takes the grants with the entry.
            let losing = Credential::holding_api(conn, actor.org_id, id).await?;
            if Api::delete(conn, actor.org_id, id).await? == 0 {
                return Err(AppError::NotFound);
            }
            let credentials: Vec<_> = losing
                .iter()
                .map(|(id, name)| json!({ "id": id, "name": name }))
                .collect();
            NewAuditEvent::new("api.deleted", &meta, now)
                .by(&actor)
                .target("api", id, &api.scope)
                .details(
                    json!({ "scope": api.scope, "name": api.name, "credentials": credentials }),
                )
                .insert(conn)
                .await?;
            Ok(api)
        })
        .await?;
    changed(
        hx,
        &mut conn,
        &user,
        &session,
        &format!("Deleted {} from the catalog.", deleted.scope),
    )
    .await
}
