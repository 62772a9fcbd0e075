//! Applies each organisation's staleness policy: where it says "disable", credentials
//! unused for longer than it allows are disabled by the system, each through
//! `disable_credential` (lock, re-check, audit row, emails). Before such a policy is saved,
//! `policy::would_disable` says what it would disable at once; an Admin exempts a credential that is
//! rarely used on purpose (`set_stale_exempt`).

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::audit::Record;
use crate::catalog::Saved;
use crate::credentials::lifecycle::{DisableReason, disable_credential};
use crate::credentials::{find, management, refuse_if_revoked, require_manager};
use crate::db::ids::CredentialId;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::credential::Credential;
use crate::db::models::org_policy::OrgPolicy;
use crate::domain_error::DomainError;
use crate::policy::Policy;

/// Disables what is stale at `now`; how many credentials were disabled.
pub async fn disable_stale(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    let mut disabled = 0;
    for row in OrgPolicy::disabling_stale(conn).await? {
        let policy = Policy::of(&row);
        let cutoff = now - policy.stale_after();
        let actor = Actor::system(row.org_id, now);
        for id in Credential::unused_since(conn, row.org_id, cutoff, now).await? {
            let reason = DisableReason::Stale {
                cutoff,
                policy_days: policy.stale_after_days,
            };
            match disable_credential(conn, &actor, id, reason).await {
                Ok(_) => disabled += 1,
                // Another instance got there first, or it was used, revoked or deleted
                // since the query: nothing to do.
                Err(DomainError::Conflict(_) | DomainError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(disabled)
}

/// Exempts the credential from the staleness policy (`exempt`), or ends its exemption:
/// audited either way; no change when it already is as asked.
pub async fn set_stale_exempt(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    exempt: bool,
) -> Result<(Credential, Saved), DomainError> {
    require_manager(actor, management::CREDENTIALS_WRITE)?;
    conn.transaction(async |conn| {
        let current = find(conn, actor, id).await?;
        refuse_if_revoked(&current)?;
        management::may_handle(actor, &current)?;
        if current.stale_exempt == exempt {
            return Ok((current, Saved::Unchanged));
        }
        let changed =
            Credential::set_stale_exempt(conn, actor.org_id(), id, exempt, actor.now).await?;
        let action = if exempt {
            AuditAction::CredentialStaleExempted
        } else {
            AuditAction::CredentialStaleExemptionRemoved
        };
        actor
            .audit(action)
            .target("credential", id, &changed.name)
            .record(conn)
            .await?;
        Ok((changed, Saved::Changed))
    })
    .await
}
