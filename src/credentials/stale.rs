//! Applies each organisation's staleness policy: where it says "disable", credentials
//! unused for longer than it allows are disabled by the system, each through
//! `disable_credential` (lock, re-check, audit row, emails).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::actor::Actor;
use crate::credentials::lifecycle::{DisableReason, disable_credential};
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
