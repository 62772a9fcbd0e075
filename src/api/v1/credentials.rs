//! `/api/v1/credentials`: list, read, create, edit (partial, with `If-Match`) and delete.
//! Handlers extract, call the same domain functions as the console, and answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::v1::call::{self, ApiCall, Reply};
use crate::api::v1::input::{self, draft_time};
use crate::api::v1::problem::Problem;
use crate::api::v1::views::{self, CredentialPage, CredentialView, SecretIssued};
use crate::api::v1::{cursor, idempotency};
use crate::app_state::AppState;
use crate::credentials::draft::{CUSTOM, CredentialDraft, NEVER};
use crate::credentials::management::{CREDENTIALS_READ, CREDENTIALS_WRITE};
use crate::credentials::{lifecycle, save};
use crate::db::ids::CredentialId;
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::Credential;
use crate::db::models::organisation::Organisation;

/// Full: every API its role allows; Fine Grained: the chosen `apis` among them.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevelIn {
    #[default]
    Full,
    FineGrained,
}

impl AccessLevelIn {
    fn as_str(self) -> &'static str {
        match self {
            AccessLevelIn::Full => "full",
            AccessLevelIn::FineGrained => "fine_grained",
        }
    }
}

/// A new credential. `access_level` is `full` or `fine_grained` (then `apis` picks among the
/// role's APIs).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialRequest {
    /// At most 100 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Who answers for it.
    pub owner_email: String,
    pub role_id: uuid::Uuid,
    pub access_level: AccessLevelIn,
    #[serde(default)]
    pub apis: Vec<uuid::Uuid>,
    /// Addresses or CIDR blocks; empty: any address.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// When it stops working; absent or null: never (if the organisation's policy allows).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Management scopes: only a Super Admin gives them, so a request naming any is refused.
    #[serde(default)]
    pub management_scopes: Vec<String>,
}

/// A partial edit: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_email: Option<String>,
    pub role_id: Option<uuid::Uuid>,
    pub access_level: Option<AccessLevelIn>,
    pub apis: Option<Vec<uuid::Uuid>>,
    pub allowed_ips: Option<Vec<String>>,
    /// `null` removes the expiry.
    #[serde(default, deserialize_with = "input::present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub management_scopes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
    /// 1 to 100; 50 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

fn ids(list: &[uuid::Uuid]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn expiry_fields(expires_at: Option<DateTime<Utc>>) -> (String, String) {
    match expires_at {
        None => (NEVER.into(), String::new()),
        Some(t) => (CUSTOM.into(), draft_time(t)),
    }
}

impl NewCredentialRequest {
    fn draft(&self) -> CredentialDraft {
        let (expiry, expires_at) = expiry_fields(self.expires_at);
        CredentialDraft {
            name: self.name.clone(),
            description: self.description.clone(),
            owner_email: self.owner_email.clone(),
            role_id: self.role_id.to_string(),
            access_level: self.access_level.as_str().into(),
            apis: ids(&self.apis),
            allowed_ips: self.allowed_ips.join("\n"),
            expiry,
            expires_at,
            creation_key: String::new(),
            management_scopes: self.management_scopes.clone(),
        }
    }
}

impl CredentialChanges {
    /// The credential as it is, with these changes.
    fn apply(self, mut draft: CredentialDraft, current: &Credential) -> CredentialDraft {
        let keep_expiry = expiry_fields(current.expires_at);
        (draft.expiry, draft.expires_at) = match self.expires_at {
            Some(chosen) => expiry_fields(chosen),
            None => keep_expiry,
        };
        let fields = [
            (self.name, &mut draft.name),
            (self.description, &mut draft.description),
            (self.owner_email, &mut draft.owner_email),
            (
                self.access_level.map(|a| a.as_str().to_string()),
                &mut draft.access_level,
            ),
        ];
        for (given, field) in fields {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(role) = self.role_id {
            draft.role_id = role.to_string();
        }
        if let Some(apis) = self.apis {
            draft.apis = ids(&apis);
        }
        if let Some(ips) = self.allowed_ips {
            draft.allowed_ips = ips.join("\n");
        }
        if let Some(scopes) = self.management_scopes {
            draft.management_scopes = scopes;
        }
        draft
    }
}

/// The credential as the API shows it, with its version.
pub async fn view(
    conn: &mut AsyncPgConnection,
    c: &Credential,
    now: DateTime<Utc>,
) -> Result<(CredentialView, String), Problem> {
    let role = ApiRole::find_in_org(conn, c.org_id, c.role_id).await?;
    view_with_role(conn, c, &role.name, now).await
}

/// As `view`, with the role's name already known (a list reads the roles once).
async fn view_with_role(
    conn: &mut AsyncPgConnection,
    c: &Credential,
    role_name: &str,
    now: DateTime<Utc>,
) -> Result<(CredentialView, String), Problem> {
    let apis = Credential::selected_apis(conn, c.id).await?;
    let scopes = Credential::effective_scopes(conn, c).await?;
    let etag = views::etag(c, &scopes);
    let apis = apis.into_iter().map(|a| a.id).collect();
    Ok((CredentialView::new(c, role_name, apis, scopes, now), etag))
}

/// The credential `id` of the caller's organisation, locked against concurrent changes
/// (the organisation row, as every change takes it first), after `If-Match` is checked.
pub async fn current(
    req: &HttpRequest,
    call: &ApiCall,
    conn: &mut AsyncPgConnection,
    id: CredentialId,
) -> Result<Credential, Problem> {
    let org = call.actor.org_id();
    Organisation::lock(conn, org).await?;
    let credential = Credential::find_in_org(conn, org, id).await?;
    if input::if_match(req)?.is_some() {
        let scopes = Credential::effective_scopes(conn, &credential).await?;
        input::check_if_match(req, &views::etag(&credential, &scopes))?;
    }
    Ok(credential)
}

/// A credential's answer after a change.
pub async fn changed(
    conn: &mut AsyncPgConnection,
    call: &ApiCall,
    credential: &Credential,
) -> Result<Reply, Problem> {
    let (view, etag) = view(conn, credential, call.actor.now).await?;
    Ok(Reply::ok(&view).with_etag(etag))
}

/// The secret's one showing, and what a replay shows instead.
pub fn secret_issued(
    status: StatusCode,
    view: CredentialView,
    etag: String,
    secret: &str,
    previous_secret_retires_at: Option<DateTime<Utc>>,
) -> Reply {
    let mut issued = SecretIssued {
        credential: view,
        client_secret: Some(secret.to_string()),
        secret_already_shown: false,
        previous_secret_retires_at,
    };
    let mut reply = Reply::json(status, &issued).with_etag(etag);
    issued.client_secret = None;
    issued.secret_already_shown = true;
    reply.replay_body = serde_json::to_value(&issued).ok();
    reply
}

#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials",
    params(PageQuery),
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = CredentialPage), crate::api::v1::doc::Errors))]
pub async fn list_credentials(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let q: PageQuery = input::query(&req)?;
        let limit = cursor::limit(q.limit)?;
        let all = Credential::list_for_org(conn, call.actor.org_id()).await?;
        let (page, next) =
            cursor::page(&all, q.cursor.as_deref(), limit, |c| (c.created_at, c.id.0))?;
        let roles = ApiRole::list_for_org(conn, call.actor.org_id()).await?;
        let mut items = Vec::with_capacity(page.len());
        for c in page {
            let role = roles.iter().find(|r| r.id == c.role_id);
            let role_name = role.map_or("", |r| r.name.as_str());
            items.push(view_with_role(conn, c, role_name, call.actor.now).await?.0);
        }
        Ok(Reply::ok(&CredentialPage {
            items,
            next_cursor: next,
        }))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/credentials/{id}", tag = "credentials",
    params(("id" = uuid::Uuid, Path)),
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = CredentialView, headers(("ETag" = String))),
        crate::api::v1::doc::Errors))]
pub async fn get_credential(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let id = input::path_id(&req, "id")?;
        let credential = Credential::find_in_org(conn, call.actor.org_id(), id).await?;
        changed(conn, call, &credential).await
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials", tag = "credentials",
    request_body = NewCredentialRequest,
    params(crate::api::v1::doc::IdempotencyKey),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 201, body = SecretIssued, description = "Created; the secret is shown this once"),
        crate::api::v1::doc::Errors))]
pub async fn create_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let body = input::read_body(payload).await;
    call::run(&req, &state, CREDENTIALS_WRITE, async |call, conn| {
        let body = body?;
        let request: NewCredentialRequest = input::json_body(&req, &body, false)?;
        idempotency::once(&req, call, conn, &body, async |call, conn| {
            let created = save::create_credential(conn, &call.actor, &request.draft()).await?;
            let (view, etag) = view(conn, &created.credential, call.actor.now).await?;
            let location = format!("/api/v1/credentials/{}", created.credential.id);
            let reply = secret_issued(
                StatusCode::CREATED,
                view,
                etag,
                created.secret.expose(),
                None,
            );
            Ok(reply.with_location(location))
        })
        .await
    })
    .await
}

#[utoipa::path(patch, path = "/api/v1/credentials/{id}", tag = "credentials",
    request_body = CredentialChanges,
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 200, body = CredentialView, headers(("ETag" = String))),
        crate::api::v1::doc::Errors))]
pub async fn update_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let body = input::read_body(payload).await;
    call::run(&req, &state, CREDENTIALS_WRITE, async |call, conn| {
        let body = body?;
        let changes: CredentialChanges = input::json_body(&req, &body, false)?;
        let id: CredentialId = input::path_id(&req, "id")?;
        transaction(conn, async |conn| {
            let before = current(&req, call, conn, id).await?;
            let selected = Credential::selected_apis(conn, id).await?;
            let selected: Vec<_> = selected.iter().map(|a| a.id).collect();
            let draft = changes.apply(
                CredentialDraft::from_credential(&before, &selected),
                &before,
            );
            let updated = save::update_credential(conn, &call.actor, id, &draft).await?;
            changed(conn, call, &updated).await
        })
        .await
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "credentials",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 204, description = "Deleted, with every token"),
        crate::api::v1::doc::Errors))]
pub async fn delete_credential(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_WRITE, async |call, conn| {
        let id: CredentialId = input::path_id(&req, "id")?;
        transaction(conn, async |conn| {
            current(&req, call, conn, id).await?;
            lifecycle::delete_credential(conn, &call.actor, id).await?;
            Ok(Reply::json(StatusCode::NO_CONTENT, &()))
        })
        .await
    })
    .await
}

/// Runs `f` in one transaction: the `If-Match` check and the change commit together.
pub async fn transaction<F>(conn: &mut AsyncPgConnection, f: F) -> Result<Reply, Problem>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<Reply, Problem>,
{
    crate::db::transaction(conn, f).await
}
