//! A credential's access tokens as staff handle them: "Generate token" (a test token, shown
//! once), revoking one token, and revoking them all. The machine side issues its own tokens
//! at `/oauth/token`.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::actor::Actor;
use crate::audit::Record;
use crate::credentials::input::TokenLifetime;
use crate::credentials::management::{CREDENTIALS_WRITE, TOKENS_REVOKE};
use crate::credentials::{Hold, change};
use crate::db::ids::{CredentialId, TokenId};
use crate::db::models::access_token;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::credential::Credential;
use crate::domain_error::DomainError;
use crate::tokens::{self, Kind, PlainSecret};

/// A token generated from the console, to be shown once.
pub struct Issued {
    pub credential: Credential,
    pub token: PlainSecret,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// A test token with every scope the credential may use now. The credential's allow-list
/// is about its integration, not the admin's browser, so it is not applied here.
pub async fn generate_token(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Issued, DomainError> {
    let now = actor.now;
    change(
        conn,
        actor,
        id,
        CREDENTIALS_WRITE,
        Hold::Read,
        async |conn, credential| {
            let token = tokens::generate(Kind::AccessToken)?;
            if !credential.is_usable(now) {
                return Err(DomainError::Conflict(format!(
                    "“{}” is revoked or expired: it cannot get tokens.",
                    credential.name
                )));
            }
            let scopes = Credential::effective_scopes(conn, &credential).await?;
            if scopes.is_empty() {
                return Err(DomainError::Conflict(format!(
                    "“{}” is not allowed any API yet: give its role some APIs first.",
                    credential.name
                )));
            }
            let ip = actor.meta.ip_string();
            let lifetime = TokenLifetime::stored(credential.token_lifetime_seconds).duration();
            let stored = access_token::issue(
                conn,
                credential.id,
                &credential.secret_hash,
                token.hash().as_bytes(),
                &scopes,
                (now, now + lifetime),
                ip.as_deref(),
            )
            .await?;
            if stored.is_none() {
                return Err(DomainError::Conflict(
                    "The credential changed meanwhile; reload and try again.".into(),
                ));
            }
            actor
                .audit(AuditAction::CredentialTokenGenerated)
                .target("credential", credential.id, &credential.name)
                .details(serde_json::json!({ "scopes": scopes }))
                .record(conn)
                .await?;
            Ok(Issued {
                credential,
                token,
                scopes,
                expires_at: now + lifetime,
            })
        },
    )
    .await
}

/// Revokes one live token of the credential.
pub async fn revoke_token(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    token: TokenId,
) -> Result<Credential, DomainError> {
    change(
        conn,
        actor,
        id,
        TOKENS_REVOKE,
        Hold::Read,
        async |conn, credential| {
            if !access_token::revoke_by_id(conn, credential.id, token, actor.now).await? {
                return Err(DomainError::NotFound);
            }
            actor
                .audit(AuditAction::CredentialTokenRevoked)
                .target("credential", credential.id, &credential.name)
                .details(serde_json::json!({ "token_id": token }))
                .record(conn)
                .await?;
            Ok(credential)
        },
    )
    .await
}

/// Revokes every live token of the credential; returns how many.
pub async fn revoke_all_tokens(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<(Credential, usize), DomainError> {
    change(
        conn,
        actor,
        id,
        TOKENS_REVOKE,
        Hold::Read,
        async |conn, credential| {
            let count = access_token::revoke_all(conn, credential.id, actor.now).await?;
            actor
                .audit(AuditAction::CredentialTokensRevoked)
                .target("credential", credential.id, &credential.name)
                .details(serde_json::json!({ "tokens_revoked": count }))
                .record(conn)
                .await?;
            Ok((credential, count))
        },
    )
    .await
}
