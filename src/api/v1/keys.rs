//! A credential's public keys for `private_key_jwt` through the API: list, add, remove, and
//! "keys only". The same domain operations as the console's (`credentials::keys`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::v1::call::{self, Reply};
use crate::api::v1::credentials::{changed, transaction};
use crate::api::v1::lifecycle::post_action;
use crate::api::v1::problem::Problem;
use crate::api::v1::views::CredentialView;
use crate::api::v1::{idempotency, input};
use crate::app_state::AppState;
use crate::credentials::keys::{self, NewKey};
use crate::credentials::management::{CREDENTIALS_READ, CREDENTIALS_ROTATE};
use crate::db::ids::CredentialId;
use crate::db::models::credential::Credential;
use crate::db::models::credential_key::CredentialKey;

/// A public key of a credential (never a private member).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: uuid::Uuid,
    /// The RFC 7638 thumbprint: the `kid` an assertion may name.
    pub kid: String,
    /// `RS256` or `ES256`: the only algorithm it verifies.
    pub algorithm: String,
    /// The public JWK.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
    pub expires_at: Option<DateTime<Utc>>,
    pub added_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
}

impl From<CredentialKey> for KeyView {
    fn from(k: CredentialKey) -> Self {
        Self {
            id: k.id,
            kid: k.thumbprint,
            algorithm: k.algorithm.as_str().into(),
            jwk: k.jwk,
            expires_at: k.expires_at,
            added_by: k.added_by,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            last_used_ip: k.last_used_ip,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

/// A key to add.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddKeyRequest {
    /// PEM (SubjectPublicKeyInfo or PKCS#1) or a JWK as a JSON string: RSA of 2048 bits or
    /// more (RS256) or P-256 (ES256). At most 8,192 characters.
    pub public_key: String,
    /// When it stops working; absent or null: until removed.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether the credential accepts its secret.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysOnlyRequest {
    /// `true`: only signed assertions authenticate it (it needs a key that works). Required:
    /// an empty body must not switch it off.
    #[schema(required = true, value_type = bool)]
    pub keys_only: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/credentials/{id}/keys", tag = "keys",
    params(("id" = uuid::Uuid, Path)),
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = KeyList, description = "Its public keys, oldest first"),
        crate::api::v1::doc_parts::Errors))]
pub async fn list_keys(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let id: CredentialId = input::path_id(&req, "id")?;
        let credential = Credential::find_in_org(conn, call.actor.org_id(), id).await?;
        let keys = CredentialKey::of(conn, credential.id).await?;
        Ok(Reply::ok(&KeyList {
            items: keys.into_iter().map(KeyView::from).collect(),
        }))
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/keys", tag = "keys",
    request_body = AddKeyRequest,
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey),
    security(("bearer" = ["m2m.credentials:rotate"])),
    responses((status = 201, body = KeyView, description = "The key, added"),
        crate::api::v1::doc_parts::Errors))]
pub async fn add_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let body = input::read_body(payload).await;
    call::run(&req, &state, CREDENTIALS_ROTATE, async |call, conn| {
        let body = body?;
        let request: AddKeyRequest = input::json_body(&req, &body, false)?;
        let id: CredentialId = input::path_id(&req, "id")?;
        idempotency::once(&req, call, conn, &body, async |call, conn| {
            let new = NewKey {
                text: &request.public_key,
                expires_at: request.expires_at,
            };
            let (_, key) = keys::add_key(conn, &call.actor, id, new).await?;
            let location = format!("/api/v1/credentials/{id}/keys/{}", key.id);
            Ok(Reply::json(StatusCode::CREATED, &KeyView::from(key)).with_location(location))
        })
        .await
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/credentials/{id}/keys/{key_id}", tag = "keys",
    params(("id" = uuid::Uuid, Path), ("key_id" = uuid::Uuid, Path)),
    security(("bearer" = ["m2m.credentials:rotate"])),
    responses((status = 204, description = "Removed: assertions it signs are refused from the next request"),
        crate::api::v1::doc_parts::Errors))]
pub async fn remove_key(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_ROTATE, async |call, conn| {
        let id: CredentialId = input::path_id(&req, "id")?;
        let key_id: uuid::Uuid = input::path_id(&req, "key_id")?;
        transaction(conn, async |conn| {
            keys::remove_key(conn, &call.actor, id, key_id).await?;
            Ok::<_, Problem>(Reply::json(StatusCode::NO_CONTENT, &()))
        })
        .await
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/keys-only", tag = "keys",
    request_body = KeysOnlyRequest,
    params(("id" = uuid::Uuid, Path), crate::api::v1::doc_parts::IdempotencyKey, crate::api::v1::doc_parts::IfMatch),
    security(("bearer" = ["m2m.credentials:rotate"])),
    responses((status = 200, body = CredentialView), crate::api::v1::doc_parts::Errors))]
pub async fn set_keys_only(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    post_action(
        req,
        state,
        payload,
        CREDENTIALS_ROTATE,
        async |call, conn, id, options: KeysOnlyRequest| {
            let keys_only = options
                .keys_only
                .ok_or_else(|| Problem::invalid("keys_only", "Say true or false."))?;
            let (c, _) = keys::set_keys_only(conn, &call.actor, id, keys_only).await?;
            changed(conn, call, &c).await
        },
    )
    .await
}
