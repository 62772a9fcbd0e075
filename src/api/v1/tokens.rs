//! A credential's live access tokens (list, revoke one, revoke all) and its usage.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::v1::call::{self, Reply};
use crate::api::v1::idempotency;
use crate::api::v1::input;
use crate::api::v1::problem::Problem;
use crate::api::v1::views::{Revoked, TokenList, TokenView};
use crate::app_state::AppState;
use crate::credentials::access_tokens;
use crate::credentials::management::{CREDENTIALS_READ, TOKENS_REVOKE};
use crate::db::ids::{CredentialId, TokenId};
use crate::db::models::access_token;
use crate::db::models::credential::Credential;
use crate::usage::report::{self, Bucket};

#[utoipa::path(get, path = "/api/v1/credentials/{id}/tokens", tag = "tokens",
    params(("id" = uuid::Uuid, Path)),
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = TokenList, description = "Live tokens, newest first (never their values)"),
        crate::api::v1::doc_parts::Errors))]
pub async fn list_tokens(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let id: CredentialId = input::path_id(&req, "id")?;
        let credential = Credential::find_in_org(conn, call.actor.org_id(), id).await?;
        let live = access_token::list_live(conn, credential.id, call.actor.now).await?;
        Ok(Reply::ok(&TokenList {
            items: live.into_iter().map(TokenView::from).collect(),
        }))
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/tokens/{token_id}/revoke", tag = "tokens",
    params(("id" = uuid::Uuid, Path), ("token_id" = i64, Path), crate::api::v1::doc_parts::IdempotencyKey),
    security(("bearer" = ["m2m.tokens:revoke"])),
    responses((status = 200, body = Revoked), crate::api::v1::doc_parts::Errors))]
pub async fn revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let body = input::read_body(payload).await;
    call::run(&req, &state, TOKENS_REVOKE, async |call, conn| {
        let body = body?;
        let id: CredentialId = input::path_id(&req, "id")?;
        let token: TokenId = input::path_id(&req, "token_id")?;
        idempotency::once(&req, call, conn, &body, async |call, conn| {
            access_tokens::revoke_token(conn, &call.actor, id, token).await?;
            Ok(Reply::ok(&Revoked { revoked: 1 }))
        })
        .await
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/tokens/revoke", tag = "tokens",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey),
    security(("bearer" = ["m2m.tokens:revoke"])),
    responses((status = 200, body = Revoked), crate::api::v1::doc_parts::Errors))]
pub async fn revoke_all_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let body = input::read_body(payload).await;
    call::run(&req, &state, TOKENS_REVOKE, async |call, conn| {
        let body = body?;
        let id: CredentialId = input::path_id(&req, "id")?;
        idempotency::once(&req, call, conn, &body, async |call, conn| {
            let (_, revoked) = access_tokens::revoke_all_tokens(conn, &call.actor, id).await?;
            Ok(Reply::ok(&Revoked { revoked }))
        })
        .await
    })
    .await
}

/// What happened to a credential in one hour or day.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageBucket {
    pub start: DateTime<Utc>,
    pub tokens_issued: i64,
    pub introspections: i64,
    pub bearer_uses: i64,
    /// Refused token requests by reason (`wrong_secret`, `disabled`, `expired`, `address`,
    /// `scope`, `throttled`).
    pub refused: BTreeMap<String, i64>,
}

impl From<&Bucket> for UsageBucket {
    fn from(b: &Bucket) -> Self {
        Self {
            start: b.start,
            tokens_issued: b.issued,
            introspections: b.introspected,
            bearer_uses: b.bearer_used,
            refused: b
                .refused
                .iter()
                .map(|(reason, n)| (reason.as_str().to_string(), *n))
                .collect(),
        }
    }
}

/// One refused token request (never what was presented).
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalView {
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// The last 24 hours by hour, oldest first (UTC).
    pub hours: Vec<UsageBucket>,
    /// The last 30 days by day, oldest first (UTC).
    pub days: Vec<UsageBucket>,
    /// The latest refusals, newest first (at most 50).
    pub recent_refusals: Vec<RefusalView>,
}

#[utoipa::path(get, path = "/api/v1/credentials/{id}/usage", tag = "tokens",
    params(("id" = uuid::Uuid, Path)),
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = UsageView), crate::api::v1::doc_parts::Errors))]
pub async fn credential_usage(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let id: CredentialId = input::path_id(&req, "id")?;
        let credential = Credential::find_in_org(conn, call.actor.org_id(), id).await?;
        let usage = report::for_credential(conn, credential.id, call.actor.now)
            .await
            .map_err(Problem::from)?;
        Ok(Reply::ok(&UsageView {
            hours: usage.hours.iter().map(UsageBucket::from).collect(),
            days: usage.days.iter().map(UsageBucket::from).collect(),
            recent_refusals: usage
                .refusals
                .iter()
                .map(|r| RefusalView {
                    at: r.at,
                    reason: r.reason.map(|reason| reason.as_str().to_string()),
                    ip: r.ip.clone(),
                })
                .collect(),
        }))
    })
    .await
}
