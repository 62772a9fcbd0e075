//! Settings → Integrations → Machine to Machine: the credentials table, create with a
//! one-time secret reveal, edit, rotate, revoke and delete, each for htmx (modals, fragments,
//! out-of-band row updates and toasts) and for plain forms (whole pages and redirects).

pub mod form;
pub mod views;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::app_state::AppState;
use crate::auth::guard::CurrentUser;
use crate::client_ip::RequestMeta;
use crate::console::shell;
use crate::db::ids::{CredentialId, OrgId, RoleId, TokenId};
use crate::db::models::access_token;
use crate::db::models::api_role::ApiRole;
use crate::db::models::audit_event::{AuditEvent, NewAuditEvent};
use crate::db::models::credential::{
    AccessLevel, Credential, CredentialChanges, MAX_CREDENTIALS_PER_ORG, NewCredential,
};
use crate::db::models::organisation::Organisation;
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::forms::{FieldErrors, HtmlForm};
use crate::htmx::{HxRequest, html, see_other};
use crate::render::render;
use crate::session::TypedSession;
use crate::tokens::{self, Kind};
use crate::views::{Crumb, Fragment, Toast};

use form::{CredentialFormData, FormView, ValidCredential};
use views::{
    BASE, Confirm, ConfirmAction, CredentialDetail, CredentialForm, CredentialMenu, CredentialRow,
    CredentialsSection, SecretReveal, TokenReveal, TokensSection,
};

const MANAGE: &str = "manage API credentials";

fn crumbs(current: Option<&str>) -> Vec<Crumb> {
    let mut crumbs = vec![
        Crumb::link("Settings", "/settings"),
        Crumb::link("Integrations", "/settings/integrations"),
    ];
    match current {
        None => crumbs.push(Crumb::here("Machine to Machine")),
        Some(name) => {
            crumbs.push(Crumb::link("Machine to Machine", BASE));
            crumbs.push(Crumb::here(name));
        }
    }
    crumbs
}

fn render_err(e: askama::Error) -> AppError {
    AppError::Unexpected(anyhow::Error::new(e).context("template rendering failed"))
}

/// Rows for every credential of the organisation, with role names and API counts.
async fn rows(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    can_manage: bool,
    state: &AppState,
) -> Result<Vec<CredentialRow>, AppError> {
    let credentials = Credential::list_for_org(conn, org).await?;
    let role_names: HashMap<RoleId, String> = ApiRole::list_for_org(conn, org)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let counts = Credential::effective_api_counts(conn, org).await?;
    let now = state.clock.now();
    Ok(credentials
        .into_iter()
        .map(|c| CredentialRow {
            role_name: role_names.get(&c.role_id).cloned().unwrap_or_default(),
            api_count: counts.get(&c.id).copied().unwrap_or(0),
            now,
            can_manage,
            c,
        })
        .collect())
}

async fn section(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
    state: &AppState,
    oob: bool,
) -> Result<CredentialsSection, AppError> {
    let can_manage = user.role >= StaffRole::Admin;
    Ok(CredentialsSection {
        rows: rows(conn, user.org_id, can_manage, state).await?,
        can_manage,
        csrf_token: session.csrf_token()?,
        oob,
    })
}

async fn row(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    c: Credential,
    can_manage: bool,
) -> Result<CredentialRow, AppError> {
    let role_name = ApiRole::find_in_org(conn, c.org_id, c.role_id).await?.name;
    // One credential: count its scopes, not every credential's of the organisation.
    let api_count = Credential::effective_scopes(conn, &c).await?.len() as i64;
    Ok(CredentialRow {
        c,
        role_name,
        api_count,
        now: state.clock.now(),
        can_manage,
    })
}

/// The response that reveals a secret must never be stored by a browser or proxy.
fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// Whether an htmx request was made from the credentials list (whose table can be updated
/// in place) rather than from a detail page.
fn from_list(req: &HttpRequest) -> bool {
    req.headers()
        .get("HX-Current-URL")
        .and_then(|v| v.to_str().ok())
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| u.path().trim_end_matches('/') == BASE)
}

/// After a change made in a modal: htmx gets an empty modal, the refreshed table and a toast;
/// a plain form gets a redirect to the list with a flash notice.
// Its arguments are what every console request carries; a request kit will bundle them.
#[allow(clippy::too_many_arguments)]
async fn changed(
    req: &HttpRequest,
    hx: HxRequest,
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
    state: &AppState,
    message: &str,
    then: &str,
) -> Result<HttpResponse, AppError> {
    if !hx.0 || !from_list(req) {
        session.set_flash(message);
        return Ok(see_other(hx, then));
    }
    let table = section(conn, user, session, state, true)
        .await?
        .render()
        .map_err(render_err)?;
    let toast = Toast::success_oob(message).render().map_err(render_err)?;
    Ok(html(StatusCode::OK, table + &toast))
}

#[tracing::instrument(skip_all)]
pub async fn list_credentials(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let content = section(&mut conn, &user, &session, &state, false).await?;
    render(
        hx,
        StatusCode::OK,
        shell("Machine to Machine", &user, &session, crumbs(None))?,
        content,
    )
}

async fn form_view(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    data: CredentialFormData,
    errors: FieldErrors,
    form_error: Option<String>,
) -> Result<FormView, AppError> {
    Ok(FormView {
        data,
        errors,
        form_error,
        roles: ApiRole::list_with_apis(conn, org).await?,
    })
}

fn form_response(
    hx: HxRequest,
    status: StatusCode,
    user: &CurrentUser,
    session: &TypedSession,
    edit: Option<(CredentialId, &str)>,
    form: FormView,
) -> Result<HttpResponse, AppError> {
    let title = if edit.is_some() {
        "Edit API credentials"
    } else {
        "Create API credentials"
    };
    let crumb = edit.map(|(_, name)| name).unwrap_or(title);
    let fragment = CredentialForm {
        modal: hx.0,
        edit_id: edit.map(|(id, _)| id),
        form,
        csrf_token: session.csrf_token()?,
    };
    render(
        hx,
        status,
        shell(title, user, session, crumbs(Some(crumb)))?,
        fragment,
    )
}

#[tracing::instrument(skip_all)]
pub async fn new_credential_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let mut conn = state.pool.get().await?;
    let data = CredentialFormData {
        owner_email: user.email.clone(),
        access_level: AccessLevel::Full.as_str().into(),
        creation_key: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let at_limit =
        Credential::count_in_org(&mut conn, user.org_id).await? >= MAX_CREDENTIALS_PER_ORG;
    let form = form_view(
        &mut conn,
        user.org_id,
        data,
        FieldErrors::default(),
        at_limit.then(limit_message),
    )
    .await?;
    form_response(hx, StatusCode::OK, &user, &session, None, form)
}

fn limit_message() -> String {
    format!(
        "Your organisation already has {MAX_CREDENTIALS_PER_ORG} credentials, the most it may have (revoked ones count until deleted). Delete one to create another."
    )
}

enum Created {
    New(Box<Credential>),
    Invalid(FieldErrors),
    AtLimit,
    AlreadySubmitted,
}

fn audit_snapshot(valid: &ValidCredential, scopes: &[String]) -> serde_json::Value {
    serde_json::json!({
        "name": valid.name,
        "owner_email": valid.owner_email,
        "role": valid.role.name,
        "access_level": valid.access_level.as_str(),
        "apis": scopes,
        "allowed_ips": valid.allowed_ips,
        "expires_at": valid.expires_at.map(|t| t.to_rfc3339()),
    })
}

async fn scopes_of(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
) -> Result<Vec<String>, AppError> {
    Ok(Credential::effective_scopes(conn, credential).await?)
}

#[tracing::instrument(skip_all)]
pub async fn create_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    HtmlForm(data): HtmlForm<CredentialFormData>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let secret = tokens::generate(Kind::ClientSecret)?;
    let client_id = tokens::new_client_id()?;
    let creation_key = data.creation_key.trim().parse::<uuid::Uuid>().ok();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let secret_hash = secret.hash();
    let outcome = conn
        .transaction::<_, AppError, _>(async |conn| {
            // The organisation row lock serialises creates: the limit and the one-submit
            // rule hold however many requests race.
            let count = Credential::lock_org_and_count(conn, actor.org_id).await?;
            // Checked under the lock that deleting a role or an API also takes, so what the
            // form names still exists when the credential is stored.
            let valid = match form::validate(conn, actor.org_id, &data, now).await? {
                Ok(valid) => valid,
                Err(errors) => return Ok(Created::Invalid(errors)),
            };
            if let Some(key) = creation_key
                && Credential::find_by_creation_key(conn, actor.org_id, key).await?.is_some()
            {
                return Ok(Created::AlreadySubmitted);
            }
            if count >= MAX_CREDENTIALS_PER_ORG {
                return Ok(Created::AtLimit);
            }
            let credential = Credential::insert(
                conn,
                &NewCredential {
                    id: CredentialId::new_random(),
                    org_id: actor.org_id,
                    client_id: &client_id,
                    secret_hash: secret_hash.as_bytes(),
                    name: &valid.name,
                    description: &valid.description,
                    owner_email: &valid.owner_email,
                    role_id: valid.role.id,
                    access_level: valid.access_level,
                    allowed_ips: &valid.allowed_ips,
                    expires_at: valid.expires_at,
                    created_by: Some(actor.id),
                    created_by_email: &actor.email,
                    created_at: now,
                    updated_at: now,
                    creation_key,
                },
            )
            .await?;
            Credential::set_apis(conn, credential.id, &valid.api_ids).await?;
            let scopes = scopes_of(conn, &credential).await?;
            NewAuditEvent::new("credential.created", &meta, now)
                .by(&actor)
                .target("credential", credential.id, &credential.name)
                .details(serde_json::json!({ "client_id": credential.client_id, "after": audit_snapshot(&valid, &scopes) }))
                .insert(conn)
                .await?;
            Ok(Created::New(Box::new(credential)))
        })
        .await?;

    let credential = match outcome {
        Created::New(credential) => *credential,
        Created::Invalid(errors) => {
            let form = form_view(&mut conn, user.org_id, data, errors, None).await?;
            return form_response(
                hx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &user,
                &session,
                None,
                form,
            );
        }
        Created::AtLimit | Created::AlreadySubmitted => {
            let message = match outcome {
                Created::AtLimit => limit_message(),
                _ => "This form was already submitted: the credential exists, and its secret was shown once. Close this dialog; if the secret was lost, rotate it.".to_string(),
            };
            let form = form_view(
                &mut conn,
                user.org_id,
                data,
                FieldErrors::default(),
                Some(message),
            )
            .await?;
            return form_response(hx, StatusCode::CONFLICT, &user, &session, None, form);
        }
    };
    tracing::info!(credential_id = %credential.id, "credential created");
    reveal(
        &req,
        hx,
        &mut conn,
        &user,
        &session,
        &state,
        &credential,
        secret.expose(),
        false,
    )
    .await
}

/// The one-time secret reveal (after create or rotate). For htmx, the refreshed table rides
/// along out of band, so the new row is there when the dialog closes.
#[allow(clippy::too_many_arguments)]
async fn reveal(
    req: &HttpRequest,
    hx: HxRequest,
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    session: &TypedSession,
    state: &AppState,
    credential: &Credential,
    secret: &str,
    rotated: bool,
) -> Result<HttpResponse, AppError> {
    let reveal = SecretReveal {
        modal: hx.0,
        name: credential.name.clone(),
        client_id: credential.client_id.clone(),
        secret: secret.to_string(),
        rotated,
    };
    let res = if hx.0 {
        let mut body = reveal.render().map_err(render_err)?;
        if from_list(req) {
            body += &section(conn, user, session, state, true)
                .await?
                .render()
                .map_err(render_err)?;
        }
        html(StatusCode::OK, body)
    } else {
        let title = if rotated {
            "New secret"
        } else {
            "Credentials created"
        };
        render(
            hx,
            StatusCode::OK,
            shell(title, user, session, crumbs(Some(&credential.name)))?,
            reveal,
        )?
    };
    Ok(no_store(res))
}

async fn load(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    id: CredentialId,
) -> Result<Credential, AppError> {
    Ok(Credential::find_in_org(conn, user.org_id, id).await?)
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn show_credential(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let credential = load(&mut conn, &user, path.into_inner()).await?;
    let apis = Credential::effective_apis(&mut conn, &credential).await?;
    let events = AuditEvent::list_for_target(
        &mut conn,
        user.org_id,
        "credential",
        &credential.id.to_string(),
        20,
    )
    .await?;
    let tokens = tokens_section(&mut conn, &state, &user, &session, &credential).await?;
    let name = credential.name.clone();
    let row = row(&mut conn, &state, credential, user.role >= StaffRole::Admin).await?;
    let shell = shell(&name, &user, &session, crumbs(Some(&name)))?;
    render(
        hx,
        StatusCode::OK,
        shell,
        CredentialDetail {
            row,
            apis,
            events,
            tokens: Fragment(tokens),
        },
    )
}

async fn tokens_section(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &CurrentUser,
    session: &TypedSession,
    credential: &Credential,
) -> Result<TokensSection, AppError> {
    let now = state.clock.now();
    Ok(TokensSection {
        id: credential.id,
        tokens: access_token::list_live(conn, credential.id, now).await?,
        can_manage: user.role >= StaffRole::Admin,
        can_generate: credential.status(now).is_usable(),
        csrf_token: session.csrf_token()?,
        now,
    })
}

/// "Generate token": a test access token for the credential, shown once like a secret.
#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn generate_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let mut conn = state.pool.get().await?;
    let c = load(&mut conn, &user, path.into_inner()).await?;
    if !c.status(now).is_usable() {
        return Err(AppError::Conflict(format!(
            "“{}” is revoked or expired: it cannot get tokens.",
            c.name
        )));
    }
    let scopes = scopes_of(&mut conn, &c).await?;
    if scopes.is_empty() {
        return Err(AppError::Conflict(format!(
            "“{}” is not allowed any API yet: give its role some APIs first.",
            c.name
        )));
    }
    let ip = meta.ip_string();
    let issued =
        crate::oauth::token::mint(&mut conn, c.id, &c.secret_hash, scopes, ip.as_deref(), now)
            .await
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("could not issue a token: {e}")))?
            .ok_or_else(|| {
                AppError::Conflict("The credential changed meanwhile; reload and try again.".into())
            })?;
    NewAuditEvent::new("credential.token_generated", &meta, now)
        .by(&user)
        .target("credential", c.id, &c.name)
        .details(serde_json::json!({ "scopes": issued.scopes }))
        .insert(&mut conn)
        .await?;
    let reveal = TokenReveal {
        modal: hx.0,
        name: c.name.clone(),
        id: c.id,
        token: issued.token.expose().to_string(),
        scopes: issued.scopes,
        expires_at: crate::views::absolute_time(issued.expires_at),
    };
    let res = render(
        hx,
        StatusCode::OK,
        shell("Test access token", &user, &session, crumbs(Some(&c.name)))?,
        reveal,
    )?;
    Ok(no_store(res))
}

/// After revoking tokens: htmx gets the refreshed token list, a plain form the detail page.
async fn tokens_changed(
    hx: HxRequest,
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &CurrentUser,
    session: &TypedSession,
    credential: &Credential,
    message: &str,
) -> Result<HttpResponse, AppError> {
    if !hx.0 {
        session.set_flash(message);
        return Ok(see_other(hx, &format!("{BASE}/{}", credential.id)));
    }
    let section = tokens_section(conn, state, user, session, credential)
        .await?
        .render()
        .map_err(render_err)?;
    let toast = Toast::success_oob(message).render().map_err(render_err)?;
    Ok(html(StatusCode::OK, section + &toast))
}

#[tracing::instrument(skip_all)]
pub async fn revoke_access_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<(CredentialId, TokenId)>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let (id, token_id) = path.into_inner();
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let mut conn = state.pool.get().await?;
    let c = load(&mut conn, &user, id).await?;
    if !access_token::revoke_by_id(&mut conn, c.id, token_id, now).await? {
        return Err(AppError::NotFound);
    }
    NewAuditEvent::new("credential.token_revoked", &meta, now)
        .by(&user)
        .target("credential", c.id, &c.name)
        .details(serde_json::json!({ "token_id": token_id }))
        .insert(&mut conn)
        .await?;
    tokens_changed(hx, &mut conn, &state, &user, &session, &c, "Token revoked.").await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn revoke_all_access_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let mut conn = state.pool.get().await?;
    let c = load(&mut conn, &user, path.into_inner()).await?;
    let count = access_token::revoke_all(&mut conn, c.id, now).await?;
    NewAuditEvent::new("credential.tokens_revoked", &meta, now)
        .by(&user)
        .target("credential", c.id, &c.name)
        .details(serde_json::json!({ "tokens_revoked": count }))
        .insert(&mut conn)
        .await?;
    let plural = if count == 1 { "" } else { "s" };
    tokens_changed(
        hx,
        &mut conn,
        &state,
        &user,
        &session,
        &c,
        &format!("Revoked {count} token{plural}."),
    )
    .await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn credential_menu(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let mut conn = state.pool.get().await?;
    let c = load(&mut conn, &user, path.into_inner()).await?;
    let menu = CredentialMenu {
        page: !hx.0,
        id: c.id,
        name: c.name.clone(),
        revoked: c.is_revoked(),
    };
    render(
        hx,
        StatusCode::OK,
        shell("Actions", &user, &session, crumbs(Some(&c.name)))?,
        menu,
    )
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn edit_credential_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let mut conn = state.pool.get().await?;
    let c = load(&mut conn, &user, path.into_inner()).await?;
    refuse_if_revoked(&c)?;
    let selected: Vec<_> = Credential::selected_apis(&mut conn, c.id)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let data = CredentialFormData::from_credential(&c, &selected);
    let form = form_view(&mut conn, user.org_id, data, FieldErrors::default(), None).await?;
    form_response(
        hx,
        StatusCode::OK,
        &user,
        &session,
        Some((c.id, &c.name)),
        form,
    )
}

fn refuse_if_revoked(c: &Credential) -> Result<(), AppError> {
    if c.is_revoked() {
        return Err(AppError::Conflict(format!(
            "“{}” is revoked: it can only be deleted.",
            c.name
        )));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
#[allow(clippy::too_many_arguments)]
pub async fn update_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
    HtmlForm(data): HtmlForm<CredentialFormData>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let before = load(&mut conn, &user, path.into_inner()).await?;
    refuse_if_revoked(&before)?;
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let outcome = conn
        .transaction::<_, AppError, _>(async |conn| {
            Organisation::lock(conn, actor.org_id).await?;
            // Checked under the lock that deleting a role or an API also takes.
            let valid = match form::validate(conn, actor.org_id, &data, now).await? {
                Ok(valid) => valid,
                Err(errors) => return Ok(Err(errors)),
            };
            let old_role = ApiRole::find_in_org(conn, actor.org_id, before.role_id).await?;
            let old_scopes = scopes_of(conn, &before).await?;
            let updated = Credential::update(
                conn,
                actor.org_id,
                before.id,
                &CredentialChanges {
                    name: &valid.name,
                    description: &valid.description,
                    owner_email: &valid.owner_email,
                    role_id: valid.role.id,
                    access_level: valid.access_level,
                    allowed_ips: &valid.allowed_ips,
                    expires_at: valid.expires_at,
                    updated_at: now,
                },
            )
            .await?;
            Credential::set_apis(conn, updated.id, &valid.api_ids).await?;
            let new_scopes = scopes_of(conn, &updated).await?;
            let before_snapshot = serde_json::json!({
                "name": before.name,
                "owner_email": before.owner_email,
                "role": old_role.name,
                "access_level": before.access_level.as_str(),
                "apis": old_scopes,
                "allowed_ips": before.allowed_ips,
                "expires_at": before.expires_at.map(|t| t.to_rfc3339()),
            });
            NewAuditEvent::new("credential.updated", &meta, now)
                .by(&actor)
                .target("credential", updated.id, &updated.name)
                .details(serde_json::json!({ "before": before_snapshot, "after": audit_snapshot(&valid, &new_scopes) }))
                .insert(conn)
                .await?;
            Ok(Ok(updated))
        })
        .await?;
    let updated = match outcome {
        Ok(updated) => updated,
        Err(errors) => {
            let form = form_view(&mut conn, user.org_id, data, errors, None).await?;
            return form_response(
                hx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &user,
                &session,
                Some((before.id, &before.name)),
                form,
            );
        }
    };
    let message = format!("Saved “{}”.", updated.name);
    changed(
        &req,
        hx,
        &mut conn,
        &user,
        &session,
        &state,
        &message,
        &format!("{BASE}/{}", updated.id),
    )
    .await
}

async fn confirm_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    id: CredentialId,
    kind: Confirm,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let mut conn = state.pool.get().await?;
    let c = load(&mut conn, &user, id).await?;
    if kind != Confirm::Delete {
        refuse_if_revoked(&c)?;
    }
    let title = match kind {
        Confirm::Rotate => "Rotate secret",
        Confirm::Revoke => "Revoke credential",
        Confirm::Delete => "Delete credential",
    };
    let fragment = ConfirmAction {
        modal: hx.0,
        kind,
        id: c.id,
        name: c.name.clone(),
        csrf_token: session.csrf_token()?,
    };
    render(
        hx,
        StatusCode::OK,
        shell(title, &user, &session, crumbs(Some(&c.name)))?,
        fragment,
    )
}

pub async fn rotate_credential_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    confirm_form(state, user, session, hx, path.into_inner(), Confirm::Rotate).await
}

pub async fn revoke_credential_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    confirm_form(state, user, session, hx, path.into_inner(), Confirm::Revoke).await
}

pub async fn delete_credential_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    confirm_form(state, user, session, hx, path.into_inner(), Confirm::Delete).await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn rotate_credential_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let secret = tokens::generate(Kind::ClientSecret)?;
    let secret_hash = secret.hash();
    let actor = user.0.clone();
    let id = path.into_inner();
    let mut conn = state.pool.get().await?;
    let credential = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = Credential::find_in_org(conn, actor.org_id, id).await?;
            refuse_if_revoked(&current)?;
            let rotated =
                Credential::rotate_secret(conn, actor.org_id, id, secret_hash.as_bytes(), now)
                    .await?;
            // Tokens issued under the old secret die with it, in the same commit.
            let tokens = access_token::revoke_all(conn, id, now).await?;
            NewAuditEvent::new("credential.secret_rotated", &meta, now)
                .by(&actor)
                .target("credential", rotated.id, &rotated.name)
                .details(serde_json::json!({ "tokens_revoked": tokens }))
                .insert(conn)
                .await?;
            Ok(rotated)
        })
        .await?;
    tracing::info!(credential_id = %credential.id, "client secret rotated");
    reveal(
        &req,
        hx,
        &mut conn,
        &user,
        &session,
        &state,
        &credential,
        secret.expose(),
        true,
    )
    .await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn revoke_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let id = path.into_inner();
    let mut conn = state.pool.get().await?;
    let credential = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = Credential::find_in_org(conn, actor.org_id, id).await?;
            refuse_if_revoked(&current)?;
            let revoked = Credential::revoke(conn, actor.org_id, id, now).await?;
            let tokens = access_token::revoke_all(conn, id, now).await?;
            NewAuditEvent::new("credential.revoked", &meta, now)
                .by(&actor)
                .target("credential", revoked.id, &revoked.name)
                .details(serde_json::json!({ "tokens_revoked": tokens }))
                .insert(conn)
                .await?;
            Ok(revoked)
        })
        .await?;
    tracing::info!(credential_id = %credential.id, "credential revoked");
    let message = format!("Revoked “{}”.", credential.name);
    changed(
        &req,
        hx,
        &mut conn,
        &user,
        &session,
        &state,
        &message,
        &format!("{BASE}/{}", credential.id),
    )
    .await
}

/// `POST {id}/delete` (plain form) and `DELETE {id}` (htmx).
#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn delete_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    hx: HxRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    user.require(StaffRole::Admin, MANAGE)?;
    let now = state.clock.now();
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let actor = user.0.clone();
    let id = path.into_inner();
    let mut conn = state.pool.get().await?;
    let credential = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = Credential::find_in_org(conn, actor.org_id, id).await?;
            Credential::delete(conn, actor.org_id, id).await?;
            NewAuditEvent::new("credential.deleted", &meta, now)
                .by(&actor)
                .target("credential", current.id, &current.name)
                .details(serde_json::json!({ "client_id": current.client_id }))
                .insert(conn)
                .await?;
            Ok(current)
        })
        .await?;
    tracing::info!(credential_id = %credential.id, "credential deleted");
    let message = format!("Deleted “{}”.", credential.name);
    changed(&req, hx, &mut conn, &user, &session, &state, &message, BASE).await
}
