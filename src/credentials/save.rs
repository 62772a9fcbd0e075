//! Creating a credential (its secret revealed once) and editing one (never its secret). An
//! edit is a change set: only what it changes is judged, and one that changes nothing is no
//! change (no audit row, no webhook event).

use diesel::OptionalExtension;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::audit;
use crate::audit::payload;
use crate::catalog::Saved;
use crate::credentials::checks::{self, Current, Resolved};
use crate::credentials::input::{CredentialChanges, NewCredential};
use crate::credentials::{find, limit_message, management, refuse_if_revoked, require_manager};
use crate::db::ids::{ApiId, CredentialId, OrgId};
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::{self, Credential, MAX_CREDENTIALS_PER_ORG};
use crate::db::models::organisation::Organisation;
use crate::domain_error::DomainError;
use crate::forms::FieldErrors;
use crate::tokens::{self, Kind, PlainSecret};

const ALREADY_SUBMITTED: &str = "This form was already submitted: the credential exists, and its secret was shown once. Close this dialog; if the secret was lost, rotate it.";

/// A new credential and its secret, to be shown once and never again.
pub struct Created {
    pub credential: Credential,
    pub secret: PlainSecret,
}

/// The change set checked against `current` under the organisation lock, which deleting a
/// role or an API also takes: what it names still exists when the credential is stored.
async fn resolved(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    current: Option<Current<'_>>,
    changes: &CredentialChanges,
) -> Result<Resolved, DomainError> {
    let policy = crate::policy::load(conn, actor.org_id()).await?;
    checks::resolve(conn, actor.org_id(), current, changes, &policy, actor.now)
        .await?
        .map_err(DomainError::Invalid)
}

/// Refuses, when a front end `found` problems in its own input, with its messages and the
/// domain's about the rest of `changes` (to credential `id`, or a new one), changing
/// nothing: a form shows every message at once. `Ok` when nothing was found.
pub async fn refuse_with(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Option<CredentialId>,
    changes: &CredentialChanges,
    found: FieldErrors,
) -> Result<(), DomainError> {
    if found.is_empty() {
        return Ok(());
    }
    let mut errors = found;
    errors.merge(problems(conn, actor, id, changes).await?);
    Err(DomainError::Invalid(errors))
}

/// What is wrong with `changes`, without changing anything; empty when nothing is.
async fn problems(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Option<CredentialId>,
    changes: &CredentialChanges,
) -> Result<FieldErrors, DomainError> {
    let current = match id {
        Some(id) => Some(find(conn, actor, id).await?),
        None => None,
    };
    let selected = match &current {
        Some(c) => selected_ids(conn, c.id).await?,
        None => Vec::new(),
    };
    let current = current.as_ref().map(|credential| Current {
        credential,
        selected: &selected,
    });
    match resolved(conn, actor, current, changes).await {
        Ok(_) => Ok(FieldErrors::default()),
        Err(DomainError::Invalid(errors)) => Ok(errors),
        Err(e) => Err(e),
    }
}

async fn selected_ids(
    conn: &mut AsyncPgConnection,
    id: CredentialId,
) -> Result<Vec<ApiId>, DomainError> {
    let apis = Credential::selected_apis(conn, id).await?;
    Ok(apis.into_iter().map(|a| a.id).collect())
}

/// Creates a credential. The organisation row lock serialises creates, so the limit of
/// `MAX_CREDENTIALS_PER_ORG` holds however many requests race, and a form submitted twice
/// (same creation key) creates one credential.
pub async fn create_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &NewCredential,
) -> Result<Created, DomainError> {
    require_manager(actor, management::CREDENTIALS_WRITE)?;
    let secret = tokens::generate(Kind::ClientSecret)?;
    let client_id = tokens::new_client_id()?;
    let secret_hash = secret.hash();
    let last_four = secret.last_four();
    let credential = conn
        .transaction(async |conn| {
            let org = actor.org_id();
            let count = Credential::lock_org_and_count(conn, org).await?;
            let valid = resolved(conn, actor, None, &input.settings).await?;
            management::may_set(actor, &[], &valid.management_scopes)?;
            management::within_caller(conn, actor, valid.new_networks(), valid.new_expiry())
                .await?;
            if let Some(key) = input.creation_key
                && Credential::find_by_creation_key(conn, org, key)
                    .await?
                    .is_some()
            {
                return Err(DomainError::Replayed(ALREADY_SUBMITTED.into()));
            }
            if count >= MAX_CREDENTIALS_PER_ORG {
                return Err(DomainError::LimitReached(limit_message()));
            }
            let new = credential::NewCredential {
                id: CredentialId::new_random(),
                org_id: org,
                client_id: &client_id,
                secret_hash: secret_hash.as_bytes(),
                secret_last_four: Some(&last_four),
                settings: valid.settings(actor.now),
                created_by: actor.staff_user().map(|u| u.id),
                created_by_email: actor.staff_user().map_or("", |u| u.email.as_str()),
                created_at: actor.now,
                creation_key: input.creation_key,
            };
            let credential = Credential::insert(conn, &new).await?;
            Credential::set_apis(conn, credential.id, &valid.api_ids).await?;
            let scopes = Credential::effective_scopes(conn, &credential).await?;
            management::may_grant(actor, &[], &scopes)?;
            audit::credential_event(
                conn,
                actor,
                credential.id,
                &credential.name,
                &payload::CredentialCreated {
                    client_id: credential.client_id.clone(),
                    after: valid.snapshot(&scopes),
                },
            )
            .await?;
            Ok(credential)
        })
        .await?;
    tracing::info!(credential_id = %credential.id, "credential created");
    Ok(Created { credential, secret })
}

/// What the audit row records of `c` before an edit.
async fn snapshot_of(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    c: &Credential,
    scopes: &[String],
) -> Result<serde_json::Value, DomainError> {
    let role = ApiRole::find_in_org(conn, org, c.role_id)
        .await
        .optional()?;
    Ok(serde_json::json!({
        "name": c.name,
        "owner_email": c.owner_email,
        "role": role.map(|r| r.name),
        "access_level": c.access_level.as_str(),
        "apis": scopes,
        "allowed_ips": c.allowed_ips,
        "expires_at": c.expires_at.map(crate::audit::payload::time_text),
        "management_scopes": c.management_scopes,
        "token_lifetime_seconds": c.token_lifetime_seconds,
    }))
}

/// Edits a credential's settings (never its secret) as `changes` say; refused once it is
/// revoked. A change set that changes nothing answers `Saved::Unchanged` and records nothing.
pub async fn update_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    changes: &CredentialChanges,
) -> Result<(Credential, Saved), DomainError> {
    require_manager(actor, management::CREDENTIALS_WRITE)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let before = find(conn, actor, id).await?;
        refuse_if_revoked(&before)?;
        management::may_handle(actor, &before)?;
        let selected = selected_ids(conn, id).await?;
        let current = Current {
            credential: &before,
            selected: &selected,
        };
        let valid = resolved(conn, actor, Some(current), changes).await?;
        if !valid.changed.any() {
            return Ok((before, Saved::Unchanged));
        }
        management::may_set(actor, &before.management_scopes, &valid.management_scopes)?;
        management::within_caller(conn, actor, valid.new_networks(), valid.new_expiry()).await?;
        let before_scopes = Credential::effective_scopes(conn, &before).await?;
        let before_snapshot = snapshot_of(conn, actor.org_id(), &before, &before_scopes).await?;
        let updated =
            Credential::update(conn, actor.org_id(), id, &valid.settings(actor.now)).await?;
        Credential::set_apis(conn, id, &valid.api_ids).await?;
        let scopes = Credential::effective_scopes(conn, &updated).await?;
        management::may_grant(actor, &before_scopes, &scopes)?;
        audit::credential_event(
            conn,
            actor,
            id,
            &updated.name,
            &payload::CredentialUpdated {
                before: before_snapshot,
                after: valid.snapshot(&scopes),
            },
        )
        .await?;
        Ok((updated, Saved::Changed))
    })
    .await
}
