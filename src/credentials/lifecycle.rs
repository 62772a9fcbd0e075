//! Rotating a credential's secret, revoking it (permanent) and deleting it. Each takes effect
//! on the very next request: the credential's tokens die in the same transaction.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::credentials::{find, refuse_if_revoked, require_manager};
use crate::db::ids::CredentialId;
use crate::db::models::access_token;
use crate::db::models::credential::Credential;
use crate::domain_error::DomainError;
use crate::tokens::{self, Kind, PlainSecret};

/// Replaces the secret: the old one and every token issued under it stop working at once.
/// Returns the new secret, to be shown once.
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<(Credential, PlainSecret), DomainError> {
    require_manager(actor)?;
    let secret = tokens::generate(Kind::ClientSecret)?;
    let secret_hash = secret.hash();
    let rotated = conn
        .transaction(async |conn| {
            refuse_if_revoked(&find(conn, actor, id).await?)?;
            let rotated = Credential::rotate_secret(
                conn,
                actor.org_id(),
                id,
                secret_hash.as_bytes(),
                actor.now,
            )
            .await?;
            // Tokens issued under the old secret die with it, in the same commit.
            let revoked = access_token::revoke_all(conn, id, actor.now).await?;
            actor
                .audit("credential.secret_rotated")
                .target("credential", id, &rotated.name)
                .details(serde_json::json!({ "tokens_revoked": revoked }))
                .insert(conn)
                .await?;
            Ok::<_, DomainError>(rotated)
        })
        .await?;
    tracing::info!(credential_id = %rotated.id, "client secret rotated");
    Ok((rotated, secret))
}

/// Revokes the credential for good (there is no un-revoke) and its tokens with it.
pub async fn revoke_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    require_manager(actor)?;
    let revoked = conn
        .transaction(async |conn| {
            refuse_if_revoked(&find(conn, actor, id).await?)?;
            let revoked = Credential::revoke(conn, actor.org_id(), id, actor.now).await?;
            let tokens = access_token::revoke_all(conn, id, actor.now).await?;
            actor
                .audit("credential.revoked")
                .target("credential", id, &revoked.name)
                .details(serde_json::json!({ "tokens_revoked": tokens }))
                .insert(conn)
                .await?;
            Ok::<_, DomainError>(revoked)
        })
        .await?;
    tracing::info!(credential_id = %revoked.id, "credential revoked");
    Ok(revoked)
}

/// Deletes the credential and its tokens; the audit log keeps the record.
pub async fn delete_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    require_manager(actor)?;
    let deleted = conn
        .transaction(async |conn| {
            let current = find(conn, actor, id).await?;
            Credential::delete(conn, actor.org_id(), id).await?;
            actor
                .audit("credential.deleted")
                .target("credential", id, &current.name)
                .details(serde_json::json!({ "client_id": current.client_id }))
                .insert(conn)
                .await?;
            Ok::<_, DomainError>(current)
        })
        .await?;
    tracing::info!(credential_id = %deleted.id, "credential deleted");
    Ok(deleted)
}
