//! A credential's lifecycle through the API: rotate (with an overlap), retire the previous
//! secret, disable, enable, revoke. Each is a POST that takes `Idempotency-Key` and
//! `If-Match`, and calls the domain function the console calls.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::actor::Actor;
use crate::api::v1::call::{self, ApiCall, Reply};
use crate::api::v1::credentials::{changed, current, secret_issued, transaction, view};
use crate::api::v1::problem::Problem;
use crate::api::v1::views::{CredentialView, SecretIssued};
use crate::api::v1::{idempotency, input};
use crate::app_state::AppState;
use crate::credentials::lifecycle::{self, DisableReason, Overlap};
use crate::credentials::management::{CREDENTIALS_ROTATE, CREDENTIALS_WRITE};
use crate::db::ids::CredentialId;
use crate::db::models::credential::Credential;
use crate::domain_error::DomainError;

/// How long the current secret keeps working after the rotation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// `now` when absent; never beyond the credential's expiry.
    pub overlap: Option<OverlapIn>,
}

/// The overlap: `now`, `1h`, `24h` or `7d`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum OverlapIn {
    #[serde(rename = "now")]
    Now,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl From<OverlapIn> for Overlap {
    fn from(o: OverlapIn) -> Self {
        match o {
            OverlapIn::Now => Overlap::Now,
            OverlapIn::Hour => Overlap::Hour,
            OverlapIn::Day => Overlap::Day,
            OverlapIn::Week => Overlap::Week,
        }
    }
}

/// An action without options: the body is empty or `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// Runs a POST on the credential in the path: body read and checked, `Idempotency-Key`
/// honoured, `If-Match` checked under the lock, then `action`.
pub(super) async fn post_action<B, F>(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    scope: &'static str,
    action: F,
) -> HttpResponse
where
    B: serde::de::DeserializeOwned + Default,
    F: AsyncFnOnce(&ApiCall, &mut AsyncPgConnection, CredentialId, B) -> Result<Reply, Problem>,
{
    let body = input::read_body(payload).await;
    call::run(&req, &state, scope, async |call, conn| {
        let body = body?;
        let options: B = input::json_body(&req, &body, true)?;
        let id: CredentialId = input::path_id(&req, "id")?;
        idempotency::once(&req, call, conn, &body, async |call, conn| {
            transaction(conn, async |conn| {
                current(&req, call, conn, id).await?;
                action(call, conn, id, options).await
            })
            .await
        })
        .await
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/rotate", tag = "lifecycle",
    request_body(content = RotateRequest, description = "Optional"),
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey, crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:rotate"])),
    responses((status = 200, body = SecretIssued, description = "The new secret, shown this once"),
        crate::api::v1::doc_parts::Errors))]
pub async fn rotate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    post_action(
        req,
        state,
        payload,
        CREDENTIALS_ROTATE,
        async |call, conn, id, options: RotateRequest| {
            let overlap = options.overlap.map_or(Overlap::Now, Overlap::from);
            let rotated = lifecycle::rotate_secret(conn, &call.actor, id, overlap, None).await?;
            let (view, etag) = view(conn, &rotated.credential, call.actor.now).await?;
            Ok(secret_issued(
                StatusCode::OK,
                view,
                etag,
                rotated.secret.expose(),
                rotated.previous_retires_at,
            ))
        },
    )
    .await
}

/// `post_action` for a change that takes no options and answers with the credential as it
/// now stands; `change` is the domain operation.
async fn post_change<F>(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    scope: &'static str,
    change: F,
) -> HttpResponse
where
    F: AsyncFnOnce(&mut AsyncPgConnection, &Actor, CredentialId) -> Result<Credential, DomainError>,
{
    post_action(
        req,
        state,
        payload,
        scope,
        async |call, conn, id, _: NoOptions| {
            let credential = change(conn, &call.actor, id).await?;
            changed(conn, call, &credential).await
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/retire-previous-secret", tag = "lifecycle",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey, crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:rotate"])),
    responses((status = 200, body = CredentialView), crate::api::v1::doc_parts::Errors))]
pub async fn retire_previous_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    post_change(
        req,
        state,
        payload,
        CREDENTIALS_ROTATE,
        lifecycle::retire_previous_secret,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/disable", tag = "lifecycle",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey, crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 200, body = CredentialView), crate::api::v1::doc_parts::Errors))]
pub async fn disable_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    post_change(
        req,
        state,
        payload,
        CREDENTIALS_WRITE,
        async |conn, actor, id| {
            lifecycle::disable_credential(conn, actor, id, DisableReason::Manual).await
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/enable", tag = "lifecycle",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey, crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 200, body = CredentialView), crate::api::v1::doc_parts::Errors))]
pub async fn enable_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    post_change(
        req,
        state,
        payload,
        CREDENTIALS_WRITE,
        lifecycle::enable_credential,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/revoke", tag = "lifecycle",
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey, crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:write"])),
    responses((status = 200, body = CredentialView, description = "Revoked for good"),
        crate::api::v1::doc_parts::Errors))]
pub async fn revoke_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    post_change(
        req,
        state,
        payload,
        CREDENTIALS_WRITE,
        lifecycle::revoke_credential,
    )
    .await
}
