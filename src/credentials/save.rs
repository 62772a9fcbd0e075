//! Creating a credential (its secret revealed once) and editing one (never its secret).

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::credentials::draft::{self, CredentialDraft, ValidCredential};
use crate::credentials::{find, limit_message, management, refuse_if_revoked, require_manager};
use crate::db::ids::{CredentialId, RoleId};
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::{Credential, MAX_CREDENTIALS_PER_ORG, NewCredential};
use crate::db::models::organisation::Organisation;
use crate::domain_error::DomainError;
use crate::tokens::{self, Kind, PlainSecret};

const ALREADY_SUBMITTED: &str = "This form was already submitted: the credential exists, and its secret was shown once. Close this dialog; if the secret was lost, rotate it.";

/// A new credential and its secret, to be shown once and never again.
pub struct Created {
    pub credential: Credential,
    pub secret: PlainSecret,
}

/// What the audit row records of a credential's settings (never its secret).
fn snapshot(valid: &ValidCredential, scopes: &[String]) -> serde_json::Value {
    serde_json::json!({
        "name": valid.name,
        "owner_email": valid.owner_email,
        "role": valid.role.name,
        "access_level": valid.access_level.as_str(),
        "apis": scopes,
        "allowed_ips": valid.allowed_ips,
        "expires_at": valid.expires_at.map(|t| t.to_rfc3339()),
        "management_scopes": valid.management_scopes,
    })
}

/// The draft checked under the organisation lock, which deleting a role or an API also
/// takes: what the form names still exists when the credential is stored.
async fn checked(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &CredentialDraft,
) -> Result<ValidCredential, DomainError> {
    draft::validate(conn, actor.org_id(), draft, actor.now)
        .await?
        .map_err(DomainError::Invalid)
}

/// Creates a credential. The organisation row lock serialises creates, so the limit of
/// `MAX_CREDENTIALS_PER_ORG` holds however many requests race, and a form submitted twice
/// (same creation key) creates one credential.
pub async fn create_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &CredentialDraft,
) -> Result<Created, DomainError> {
    require_manager(actor, management::CREDENTIALS_WRITE)?;
    let secret = tokens::generate(Kind::ClientSecret)?;
    let client_id = tokens::new_client_id()?;
    let creation_key = draft.creation_key.trim().parse::<uuid::Uuid>().ok();
    let secret_hash = secret.hash();
    let last_four = secret.last_four();
    let credential = conn
        .transaction(async |conn| {
            let org = actor.org_id();
            let count = Credential::lock_org_and_count(conn, org).await?;
            let valid = checked(conn, actor, draft).await?;
            management::may_set(actor, &[], &valid.management_scopes)?;
            if let Some(key) = creation_key
                && Credential::find_by_creation_key(conn, org, key)
                    .await?
                    .is_some()
            {
                return Err(DomainError::Replayed(ALREADY_SUBMITTED.into()));
            }
            if count >= MAX_CREDENTIALS_PER_ORG {
                return Err(DomainError::LimitReached(limit_message()));
            }
            let new = NewCredential {
                id: CredentialId::new_random(),
                org_id: org,
                client_id: &client_id,
                secret_hash: secret_hash.as_bytes(),
                secret_last_four: Some(&last_four),
                settings: valid.settings(actor.now),
                created_by: actor.staff_user().map(|u| u.id),
                created_by_email: actor.staff_user().map_or("", |u| u.email.as_str()),
                created_at: actor.now,
                creation_key,
            };
            let credential = Credential::insert(conn, &new).await?;
            Credential::set_apis(conn, credential.id, &valid.api_ids).await?;
            let scopes = Credential::effective_scopes(conn, &credential).await?;
            management::may_grant(actor, &[], &scopes)?;
            actor
                .audit("credential.created")
                .target("credential", credential.id, &credential.name)
                .details(serde_json::json!({
                    "client_id": credential.client_id,
                    "after": snapshot(&valid, &scopes),
                }))
                .insert(conn)
                .await?;
            Ok(credential)
        })
        .await?;
    tracing::info!(credential_id = %credential.id, "credential created");
    Ok(Created { credential, secret })
}

/// The name of `role`, for the audit row's "before".
async fn role_name(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    role: RoleId,
) -> Result<String, DomainError> {
    Ok(ApiRole::find_in_org(conn, actor.org_id(), role).await?.name)
}

/// Edits a credential's settings (never its secret); refused once it is revoked.
pub async fn update_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    draft: &CredentialDraft,
) -> Result<Credential, DomainError> {
    require_manager(actor, management::CREDENTIALS_WRITE)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let before = find(conn, actor, id).await?;
        refuse_if_revoked(&before)?;
        management::may_handle(actor, &before)?;
        let valid = checked(conn, actor, draft).await?;
        management::may_set(actor, &before.management_scopes, &valid.management_scopes)?;
        let before_scopes = Credential::effective_scopes(conn, &before).await?;
        let before_snapshot = serde_json::json!({
            "name": before.name,
            "owner_email": before.owner_email,
            "role": role_name(conn, actor, before.role_id).await?,
            "access_level": before.access_level.as_str(),
            "apis": before_scopes,
            "allowed_ips": before.allowed_ips,
            "expires_at": before.expires_at.map(|t| t.to_rfc3339()),
            "management_scopes": before.management_scopes,
        });
        let settings = valid.settings(actor.now);
        let updated = Credential::update(conn, actor.org_id(), id, &settings).await?;
        Credential::set_apis(conn, id, &valid.api_ids).await?;
        let scopes = Credential::effective_scopes(conn, &updated).await?;
        management::may_grant(actor, &before_scopes, &scopes)?;
        actor
            .audit("credential.updated")
            .target("credential", id, &updated.name)
            .details(serde_json::json!({
                "before": before_snapshot,
                "after": snapshot(&valid, &scopes),
            }))
            .insert(conn)
            .await?;
        Ok(updated)
    })
    .await
}
