//! Public keys on a credential, for `private_key_jwt` (RFC 7523): adding one (at most two),
//! removing one, and switching the credential to "keys only" (its secret then stops working).
//! The same permissions as rotating its secret; audited, with webhook events. A removed key
//! stops working on the very next request, on every instance: client authentication reads the
//! keys from PostgreSQL each time.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::audit;
use crate::audit::payload;
use crate::catalog::Saved;
use crate::credentials::lifecycle::acting_party;
use crate::credentials::public_key::PublicKey;
use crate::credentials::{management, refuse_if_revoked, require_manager};
use crate::db::ids::CredentialId;
use crate::db::models::credential::Credential;
use crate::db::models::credential_key::{CredentialKey, MAX_KEYS_PER_CREDENTIAL, NewCredentialKey};
use crate::domain_error::DomainError;

/// A key to add, as pasted, with an optional end.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    /// PEM or a JWK; read by `PublicKey::parse`.
    pub text: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Adds a public key to the credential. Refused: a key that is not an RSA (2048 bits or
/// more) or P-256 public key, one already on it, a third key, an end already past.
pub async fn add_key(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    new: NewKey<'_>,
) -> Result<(Credential, CredentialKey), DomainError> {
    require_manager(actor, management::CREDENTIALS_ROTATE)?;
    let key = PublicKey::parse(new.text).map_err(|m| DomainError::invalid("public_key", m))?;
    if new.expires_at.is_some_and(|at| at <= actor.now) {
        return Err(DomainError::invalid(
            "expires_at",
            "The key's end must be in the future.",
        ));
    }
    let added_by = acting_party(actor).unwrap_or_else(|| "the system".into());
    conn.transaction(async |conn| {
        // Locked: two keys added at once cannot both be the second.
        let current = Credential::lock_in_org(conn, actor.org_id(), id).await?;
        refuse_if_revoked(&current)?;
        management::may_rotate(actor, &current)?;
        let keys = CredentialKey::of(conn, id).await?;
        if keys.iter().any(|k| k.thumbprint == key.thumbprint) {
            return Err(DomainError::Conflict(format!(
                "This key is already on “{}”.",
                current.name
            )));
        }
        if keys.len() >= MAX_KEYS_PER_CREDENTIAL {
            return Err(DomainError::LimitReached(format!(
                "“{}” already has {MAX_KEYS_PER_CREDENTIAL} public keys, the most it may have. Remove one first.",
                current.name
            )));
        }
        let added = CredentialKey::insert(
            conn,
            &NewCredentialKey {
                id: uuid::Uuid::new_v4(),
                credential_id: id,
                algorithm: key.algorithm,
                jwk: &key.jwk,
                thumbprint: &key.thumbprint,
                expires_at: new.expires_at,
                added_by: &added_by,
                created_at: actor.now,
            },
        )
        .await?;
        audit::credential_event(conn, actor, id, &current.name, &payload::KeyAdded {
                kid: added.thumbprint.clone(),
                algorithm: added.algorithm.as_str().into(),
                expires_at: added.expires_at,
            })
            .await?;
        Ok((current, added))
    })
    .await
}

/// Removes key `key_id` from the credential: assertions it signed are refused from the next
/// request. Removing the last key of a "keys only" credential is refused (it could no longer
/// authenticate at all): switch "keys only" off first.
pub async fn remove_key(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    key_id: uuid::Uuid,
) -> Result<(Credential, CredentialKey), DomainError> {
    require_manager(actor, management::CREDENTIALS_ROTATE)?;
    conn.transaction(async |conn| {
        let current = Credential::lock_in_org(conn, actor.org_id(), id).await?;
        management::may_rotate(actor, &current)?;
        let keys = CredentialKey::of(conn, id).await?;
        if current.keys_only && keys.len() == 1 && keys.iter().any(|k| k.id == key_id) {
            return Err(DomainError::Conflict(format!(
                "“{}” accepts keys only and this is its last key: turn “keys only” off first, or add another key.",
                current.name
            )));
        }
        let removed = CredentialKey::delete(conn, id, key_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        audit::credential_event(conn, actor, id, &current.name, &payload::KeyRemoved {
                kid: removed.thumbprint.clone(),
                algorithm: removed.algorithm.as_str().into(),
                last_used_at: removed.last_used_at,
            })
            .await?;
        Ok((current, removed))
    })
    .await
}

/// Switches the credential to keys only (its secret is refused from the next request) or
/// back. Keys only needs at least one key that has not expired.
pub async fn set_keys_only(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    keys_only: bool,
) -> Result<(Credential, Saved), DomainError> {
    require_manager(actor, management::CREDENTIALS_ROTATE)?;
    conn.transaction(async |conn| {
        let current = Credential::lock_in_org(conn, actor.org_id(), id).await?;
        refuse_if_revoked(&current)?;
        management::may_rotate(actor, &current)?;
        if current.keys_only == keys_only {
            return Ok((current, Saved::Unchanged));
        }
        let usable = CredentialKey::of(conn, id)
            .await?
            .iter()
            .any(|k| k.expires_at.is_none_or(|at| at > actor.now));
        if keys_only && !usable {
            return Err(DomainError::Conflict(format!(
                "“{}” has no public key that works: add one before accepting keys only.",
                current.name
            )));
        }
        let changed =
            Credential::set_keys_only(conn, actor.org_id(), id, keys_only, actor.now).await?;
        audit::credential_event(
            conn,
            actor,
            id,
            &changed.name,
            &payload::CredentialUpdated {
                before: serde_json::json!({ "keys_only": current.keys_only }),
                after: serde_json::json!({ "keys_only": keys_only }),
            },
        )
        .await?;
        Ok((changed, Saved::Changed))
    })
    .await
}
