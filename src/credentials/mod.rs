//! Machine-to-machine credentials: every operation on them (create, edit, rotate, revoke,
//! delete; generate and revoke their tokens) as one function that checks the actor's
//! permission, enforces the limits, takes its locks and writes its audit row in the same
//! transaction. The console, the JSON management API and the background jobs call these.

pub(crate) mod access_tokens;
pub(crate) mod checks;
pub(crate) mod input;
pub(crate) mod keys;
pub(crate) mod leaks;
pub mod lifecycle;
pub(crate) mod management;
pub(crate) mod public_key;
pub(crate) mod save;
pub(crate) mod stale;

use diesel_async::AsyncPgConnection;

use crate::actor::Actor;
use crate::db::ids::CredentialId;
use crate::db::models::credential::{Credential, MAX_CREDENTIALS_PER_ORG};
use crate::domain_error::DomainError;

/// Admins and Super Admins manage credentials; a calling credential needs `scope`.
fn require_manager(actor: &Actor, scope: &'static str) -> Result<(), DomainError> {
    management::require(actor, scope)
}

/// What an organisation at its limit is told.
pub fn limit_message() -> String {
    format!(
        "Your organisation already has {MAX_CREDENTIALS_PER_ORG} credentials, the most it may have (revoked ones count until deleted). Delete one to create another."
    )
}

/// A revoked credential can only be deleted.
pub fn refuse_if_revoked(credential: &Credential) -> Result<(), DomainError> {
    if credential.is_revoked() {
        return Err(DomainError::Conflict(format!(
            "“{}” is revoked: it can only be deleted.",
            credential.name
        )));
    }
    Ok(())
}

/// The credential `id` of the actor's organisation.
async fn find(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    Ok(Credential::find_in_org(conn, actor.org_id(), id).await?)
}

/// How `change` holds the credential while its work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// As it stands.
    Read,
    /// Locked for the transaction, so that two changes of its state (disable, enable) see
    /// each other, and refused first when it is revoked.
    LockLive,
}

/// Runs `work` on the credential `id` of the actor's organisation, in one transaction, once
/// the actor may manage credentials with `scope` and may handle this one (see
/// `management::may_handle`).
async fn change<T>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    scope: &'static str,
    hold: Hold,
    work: impl AsyncFnOnce(&mut AsyncPgConnection, Credential) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    require_manager(actor, scope)?;
    crate::db::transaction(conn, async |conn| {
        let current = match hold {
            Hold::Read => find(conn, actor, id).await?,
            Hold::LockLive => {
                let current = Credential::lock_in_org(conn, actor.org_id(), id).await?;
                refuse_if_revoked(&current)?;
                current
            }
        };
        management::may_handle(actor, &current)?;
        work(conn, current).await
    })
    .await
}
