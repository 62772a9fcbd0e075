//! `/api/v1/credentials`: list, read, create, edit (partial, with `If-Match`) and delete.
//! Handlers extract, call the same domain functions as the console, and answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::v1::call::{self, ApiCall, Reply};
use crate::api::v1::input;
use crate::api::v1::problem::Problem;
use crate::api::v1::views::{self, CredentialPage, CredentialView, SecretIssued};
use crate::api::v1::{cursor, idempotency};
use crate::app_state::AppState;
use crate::credentials::input::{
    self as domain, Expiry, NewCredential, TokenLifetime, parse_networks,
};
use crate::credentials::management::{CREDENTIALS_READ, CREDENTIALS_WRITE};
use crate::credentials::{lifecycle, save, stale};
use crate::db::ids::{ApiId, CredentialId, RoleId};
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::AccessLevel;
use crate::db::models::credential::Credential;
use crate::db::models::organisation::Organisation;
use crate::forms::FieldErrors;
use crate::policy::Policy;

/// Full: every API its role allows; Fine Grained: the chosen `apis` among them.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevelIn {
    #[default]
    Full,
    FineGrained,
}

impl From<AccessLevelIn> for AccessLevel {
    fn from(level: AccessLevelIn) -> Self {
        match level {
            AccessLevelIn::Full => AccessLevel::Full,
            AccessLevelIn::FineGrained => AccessLevel::FineGrained,
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
    /// How long its access tokens live, in seconds: 300, 900, 3600, 21600 or 86400, at most
    /// the organisation's maximum. Absent: 3600 (or the maximum when that is shorter).
    #[serde(default)]
    #[schema(minimum = 300, maximum = 86400)]
    pub token_lifetime_seconds: Option<i64>,
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
    /// `true`: never flagged or disabled by the staleness policy.
    pub stale_exempt: Option<bool>,
    /// 300, 900, 3600, 21600 or 86400 seconds, at most the organisation's maximum.
    #[schema(minimum = 300, maximum = 86400)]
    pub token_lifetime_seconds: Option<i64>,
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

fn api_ids(list: &[uuid::Uuid]) -> Vec<ApiId> {
    list.iter().copied().map(ApiId).collect()
}

/// The allow-list as typed input; a message by field when an entry is not an address.
fn networks(list: &[String], errors: &mut FieldErrors) -> Option<Vec<ipnet::IpNet>> {
    parse_networks(list)
        .map_err(|message| errors.add("allowed_ips", message))
        .ok()
}

/// A token lifetime as sent; a message by field when it is not one of those offered.
fn token_lifetime(seconds: Option<i64>, errors: &mut FieldErrors) -> Option<TokenLifetime> {
    let seconds = seconds?;
    let lifetime = TokenLifetime::from_seconds(seconds);
    if lifetime.is_none() {
        errors.add(
            "token_lifetime_seconds",
            "Use 300, 900, 3600, 21600 or 86400 seconds.",
        );
    }
    lifetime
}

fn expiry(expires_at: Option<DateTime<Utc>>) -> Expiry {
    expires_at.map_or(Expiry::Never, Expiry::At)
}

impl NewCredentialRequest {
    /// The domain's input, and what this body got wrong itself.
    fn input(&self) -> (NewCredential, FieldErrors) {
        let mut errors = FieldErrors::default();
        let settings = domain::CredentialChanges {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            owner_email: Some(self.owner_email.clone()),
            role_id: Some(RoleId(self.role_id)),
            access_level: Some(self.access_level.into()),
            apis: Some(api_ids(&self.apis)),
            allowed_ips: networks(&self.allowed_ips, &mut errors),
            expiry: Some(expiry(self.expires_at)),
            management_scopes: Some(self.management_scopes.clone()),
            token_lifetime: token_lifetime(self.token_lifetime_seconds, &mut errors),
        };
        let input = NewCredential {
            settings,
            creation_key: None,
        };
        (input, errors)
    }
}

impl CredentialChanges {
    /// The domain's change set (what is absent stays as it is), and what this body got wrong
    /// itself.
    fn input(&self) -> (domain::CredentialChanges, FieldErrors) {
        let mut errors = FieldErrors::default();
        let changes = domain::CredentialChanges {
            name: self.name.clone(),
            description: self.description.clone(),
            owner_email: self.owner_email.clone(),
            role_id: self.role_id.map(RoleId),
            access_level: self.access_level.map(AccessLevel::from),
            apis: self.apis.as_deref().map(api_ids),
            allowed_ips: match &self.allowed_ips {
                Some(list) => networks(list, &mut errors),
                None => None,
            },
            expiry: self.expires_at.map(expiry),
            management_scopes: self.management_scopes.clone(),
            token_lifetime: token_lifetime(self.token_lifetime_seconds, &mut errors),
        };
        (changes, errors)
    }
}

/// The credential as the API shows it, with its version.
pub async fn view(
    conn: &mut AsyncPgConnection,
    c: &Credential,
    now: DateTime<Utc>,
) -> Result<(CredentialView, String), Problem> {
    let role = ApiRole::find_in_org(conn, c.org_id, c.role_id).await?;
    let policy = crate::policy::load(conn, c.org_id).await?;
    view_with_role(conn, c, &role.name, &policy, now).await
}

/// As `view`, with the role's name already known (a list reads the roles once).
async fn view_with_role(
    conn: &mut AsyncPgConnection,
    c: &Credential,
    role_name: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(CredentialView, String), Problem> {
    let apis = Credential::selected_apis(conn, c.id).await?;
    let scopes = Credential::effective_scopes(conn, c).await?;
    let etag = views::etag(c, &scopes);
    let apis = apis.into_iter().map(|a| a.id).collect();
    let status = policy.status(c, now);
    Ok((
        CredentialView::new(c, role_name, apis, scopes, status, now),
        etag,
    ))
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
    responses((status = 200, body = CredentialPage), crate::api::v1::doc_parts::Errors))]
pub async fn list_credentials(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let q: PageQuery = input::query(&req)?;
        let limit = cursor::limit(q.limit)?;
        let all = Credential::list_for_org(conn, call.actor.org_id()).await?;
        let (page, next) =
            cursor::page(&all, q.cursor.as_deref(), limit, |c| (c.created_at, c.id.0))?;
        let roles = ApiRole::list_for_org(conn, call.actor.org_id()).await?;
        let policy = crate::policy::load(conn, call.actor.org_id()).await?;
        let mut items = Vec::with_capacity(page.len());
        for c in page {
            let role = roles.iter().find(|r| r.id == c.role_id);
            let role_name = role.map_or("", |r| r.name.as_str());
            let (item, _) = view_with_role(conn, c, role_name, &policy, call.actor.now).await?;
            items.push(item);
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
        crate::api::v1::doc_parts::Errors))]
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
    params(crate::api::v1::doc_parts::IdempotencyKey),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 201, body = SecretIssued, description = "Created; the secret is shown this once"),
        crate::api::v1::doc_parts::Errors))]
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
            let (input, found) = request.input();
            save::refuse_with(conn, &call.actor, None, &input.settings, found).await?;
            let created = save::create_credential(conn, &call.actor, &input).await?;
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
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 200, body = CredentialView, headers(("ETag" = String))),
        crate::api::v1::doc_parts::Errors))]
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
            current(&req, call, conn, id).await?;
            let (input, found) = changes.input();
            save::refuse_with(conn, &call.actor, Some(id), &input, found).await?;
            let (mut updated, _) = save::update_credential(conn, &call.actor, id, &input).await?;
            if let Some(exempt) = changes.stale_exempt {
                (updated, _) = stale::set_stale_exempt(conn, &call.actor, id, exempt).await?;
            }
            changed(conn, call, &updated).await
        })
        .await
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "credentials",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 204, description = "Deleted, with every token"),
        crate::api::v1::doc_parts::Errors))]
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
