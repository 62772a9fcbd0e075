//! What the management API shows of things, and the versions (`ETag`) of its resources. Never
//! a secret's value, hash or a token: of a secret, its last four characters and evidence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::credentials::lifecycle::disabled_why;
use crate::db::ids::{ApiId, CredentialId, RoleId, TokenId};
use crate::db::models::access_token::TokenSummary;
use crate::db::models::api::Api;
use crate::db::models::api_role::ApiRoleWithApis;
use crate::db::models::credential::{Credential, Status};

/// A credential's role, by id and name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleRef {
    #[schema(value_type = uuid::Uuid)]
    pub id: RoleId,
    pub name: String,
}

/// One of a credential's secrets: evidence only, never the value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    pub last_four: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub uses: i64,
    /// The previous secret only: when it stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<DateTime<Utc>>,
}

/// A machine-to-machine credential.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialView {
    #[schema(value_type = uuid::Uuid)]
    pub id: CredentialId,
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub owner_email: String,
    pub role: RoleRef,
    /// `full` or `fine_grained`.
    pub access_level: String,
    /// The Fine Grained selection (catalog entry ids); empty for Full.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub apis: Vec<ApiId>,
    /// Every scope it may use now (its role's APIs, narrowed, and its management scopes).
    pub scopes: Vec<String>,
    pub management_scopes: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `active`, `expires_soon`, `expired`, `disabled` or `revoked`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub secret: SecretView,
    /// The previous secret while it still works after a rotation with an overlap.
    pub previous_secret: Option<SecretView>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// While disabled: `manual`, `stale` (by the staleness policy) or `leaked` (a leak
    /// report); absent for a credential disabled before this was recorded.
    pub disabled_reason: Option<String>,
    /// Who or what disabled it, in words ("Disabled automatically: unused for 200 days").
    pub disabled_why: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Never flagged or disabled by the staleness policy.
    pub stale_exempt: bool,
    /// How long each access token it gets lives (`expires_in`), in seconds.
    pub token_lifetime_seconds: i32,
    /// Only signed assertions (`private_key_jwt`) authenticate it: its secret is refused.
    pub keys_only: bool,
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::ExpiresSoon => "expires_soon",
        Status::Expired => "expired",
        Status::Disabled => "disabled",
        Status::Revoked => "revoked",
    }
}

impl CredentialView {
    pub fn new(
        c: &Credential,
        role_name: &str,
        apis: Vec<ApiId>,
        scopes: Vec<String>,
        status: Status,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: c.id,
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            owner_email: c.owner_email.clone(),
            role: RoleRef {
                id: c.role_id,
                name: role_name.into(),
            },
            access_level: c.access_level.as_str().into(),
            apis,
            scopes,
            management_scopes: c.management_scopes.clone(),
            allowed_ips: c.allowed_ips.clone(),
            expires_at: c.expires_at,
            status: status_name(status).into(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_used_at: c.last_used_at,
            last_used_ip: c.last_used_ip.clone(),
            secret: SecretView {
                last_four: c.secret_last_four.clone(),
                last_used_at: c.secret_last_used_at,
                last_used_ip: c.secret_last_used_ip.clone(),
                uses: c.secret_uses,
                retires_at: None,
            },
            previous_secret: c.previous_secret_live(now).then(|| SecretView {
                last_four: c.previous_secret_last_four.clone(),
                last_used_at: c.previous_secret_last_used_at,
                last_used_ip: c.previous_secret_last_used_ip.clone(),
                uses: c.previous_secret_uses,
                retires_at: c.previous_secret_retires_at,
            }),
            disabled_at: c.disabled_at,
            disabled_reason: c.disabled_at.and(c.disabled_reason.clone()),
            disabled_why: disabled_why(c),
            revoked_at: c.revoked_at,
            stale_exempt: c.stale_exempt,
            token_lifetime_seconds: c.token_lifetime_seconds,
            keys_only: c.keys_only,
        }
    }
}

/// The version of a credential: it changes with every change made to it (settings, secret,
/// state, what it may use), not with its use.
pub fn etag(c: &Credential, scopes: &[String]) -> String {
    let mut hash = Sha256::new();
    let parts = [
        c.id.to_string(),
        c.updated_at.timestamp_micros().to_string(),
        c.secret_version.to_string(),
        format!(
            "{:?}",
            c.previous_secret_retires_at.map(|t| t.timestamp_micros())
        ),
        format!("{:?}", c.disabled_at.map(|t| t.timestamp_micros())),
        format!("{:?}", c.enabled_at.map(|t| t.timestamp_micros())),
        format!("{:?}", c.revoked_at.map(|t| t.timestamp_micros())),
        scopes.join(" "),
        c.management_scopes.join(" "),
    ];
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    format!("\"{}\"", hex::encode(digest.get(..12).unwrap_or_default()))
}

/// A page of credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialPage {
    pub items: Vec<CredentialView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// A credential just created, or a secret just rotated: the secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretIssued {
    pub credential: CredentialView,
    /// The client secret. Store it now: it is never shown again (a replay of this request
    /// answers `null` and sets `secret_already_shown`).
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret_already_shown: bool,
    /// After a rotation with an overlap: until when the previous secret still works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_retires_at: Option<DateTime<Utc>>,
}

/// A live access token of a credential (never its value).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    #[schema(value_type = i64)]
    pub id: TokenId,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub issuing_ip: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenSummary> for TokenView {
    fn from(t: TokenSummary) -> Self {
        Self {
            id: t.id,
            scopes: t.scopes,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            issuing_ip: t.issuing_ip,
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

/// How many tokens a revocation ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: usize,
}

/// An entry of the API catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ApiId,
    pub scope: String,
    pub name: String,
    pub description: String,
}

impl From<&Api> for ApiView {
    fn from(a: &Api) -> Self {
        Self {
            id: a.id,
            scope: a.scope.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiList {
    pub items: Vec<ApiView>,
}

/// A role with the catalog entries it grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    #[schema(value_type = uuid::Uuid)]
    pub id: RoleId,
    pub name: String,
    pub description: String,
    pub apis: Vec<ApiView>,
}

impl From<&ApiRoleWithApis> for RoleView {
    fn from(r: &ApiRoleWithApis) -> Self {
        Self {
            id: r.role.id,
            name: r.role.name.clone(),
            description: r.role.description.clone(),
            apis: r.apis.iter().map(ApiView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleView>,
}
