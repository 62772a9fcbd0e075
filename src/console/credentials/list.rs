//! The credentials list: its rows with the Failing flag, the sort order (server-side, plain
//! links), the expiry banner, and the first-run checklist of an organisation that has set
//! nothing up yet.

use std::cmp::Ordering;
use std::collections::HashMap;

use diesel_async::AsyncPgConnection;

use crate::console::credentials::sort::{ListSort, SortKey};
use crate::console::credentials::views::{CredentialRow, CredentialsSection, FirstRun};
use crate::console::credentials::{BANNER_AHEAD, can_manage, locked};
use crate::console::request::ConsoleRequest;
use crate::db::ids::{CredentialId, RoleId};
use crate::db::models::api::Api;
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::{Credential, Status};
use crate::db::models::usage::{self, StoredRefusal};
use crate::db::models::user::{StaffRole, User};
use crate::error::AppError;
use crate::policy;

/// A credential is Failing when its latest refusal is within this and newer than its latest
/// success.
const FAILING_WITHIN: chrono::Duration = chrono::Duration::hours(1);

/// Puts `rows` in the order `sort` asks for: by default what needs attention comes first
/// (failing, expired, expiring soon), then the rest, each group oldest first.
fn sort_rows(sort: ListSort, rows: &mut [CredentialRow]) {
    let key = sort.key.unwrap_or(SortKey::Status);
    rows.sort_by(|a, b| {
        let order = match key {
            SortKey::Name => a.c.name.to_lowercase().cmp(&b.c.name.to_lowercase()),
            SortKey::Status => status_rank(a).cmp(&status_rank(b)),
            // Never used sorts as the oldest use.
            SortKey::LastUsed => a.c.last_used_at.cmp(&b.c.last_used_at),
            // Never expiring sorts after every date.
            SortKey::Expires => match (a.c.expires_at, b.c.expires_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
        };
        let order = order.then_with(|| a.c.created_at.cmp(&b.c.created_at));
        if sort.desc { order.reverse() } else { order }
    });
}

/// What needs attention first: failing, expired, expiring, disabled, fine, revoked.
fn status_rank(row: &CredentialRow) -> u8 {
    if row.failing {
        return 0;
    }
    match row.status() {
        Status::Expired => 1,
        Status::ExpiresSoon => 2,
        Status::Disabled => 3,
        Status::Active => 4,
        Status::Revoked => 5,
    }
}

/// The one Failing rule: `c`'s latest refusal (`last`) is within `FAILING_WITHIN` of `now`
/// and newer than its latest success (`last_used_at`, the exact time of its latest token
/// or bearer success).
pub fn is_failing(
    c: &Credential,
    last: Option<&StoredRefusal>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    last.is_some_and(|refusal| {
        refusal.at > now - FAILING_WITHIN && c.last_used_at.is_none_or(|used| refusal.at > used)
    })
}

/// The latest refusal of each of `credentials` that has one.
pub(super) async fn latest_refusals(
    conn: &mut AsyncPgConnection,
    credentials: &[Credential],
) -> Result<HashMap<CredentialId, StoredRefusal>, AppError> {
    let ids: Vec<CredentialId> = credentials.iter().map(|c| c.id).collect();
    Ok(usage::latest_refusals(conn, &ids).await?)
}

/// Rows for every credential of the organisation, with role names, API counts and flags.
pub(super) async fn rows(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
) -> Result<Vec<CredentialRow>, AppError> {
    let org = rq.user.org_id;
    let credentials = Credential::list_for_org(conn, org).await?;
    let role_names: HashMap<RoleId, String> = ApiRole::list_for_org(conn, org)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let counts = Credential::effective_api_counts(conn, org).await?;
    let policy = policy::load(conn, org).await?;
    let mut refusals = latest_refusals(conn, &credentials).await?;
    Ok(credentials
        .into_iter()
        .map(|c| {
            let last_refusal = refusals.remove(&c.id);
            CredentialRow {
                role_name: role_names.get(&c.role_id).cloned().unwrap_or_default(),
                api_count: counts.get(&c.id).copied().unwrap_or(0),
                failing: is_failing(&c, last_refusal.as_ref(), rq.now),
                last_refusal,
                locked: locked(rq, &c),
                now: rq.now,
                can_manage: can_manage(rq),
                policy,
                c,
            }
        })
        .collect())
}

/// The list in `sort` order; `oob` renders it as an out-of-band swap.
pub(super) async fn section(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    oob: bool,
    sort: ListSort,
) -> Result<CredentialsSection, AppError> {
    let mut rows = rows(conn, rq).await?;
    sort_rows(sort, &mut rows);
    let mut expiring: Vec<_> = rows
        .iter()
        .filter(|r| r.status().is_usable())
        .filter_map(|r| {
            let at = r.c.expires_at.filter(|at| *at - rq.now <= BANNER_AHEAD)?;
            Some((at, r.c.id, r.c.name.clone(), r.relative(&at)))
        })
        .collect();
    expiring.sort_by_key(|(at, ..)| *at);
    let first_run = if rows.is_empty() {
        first_run(conn, rq).await?
    } else {
        None
    };
    Ok(CredentialsSection {
        expiring: expiring
            .into_iter()
            .map(|(_, id, name, when)| (id, name, when))
            .collect(),
        rows,
        can_manage: can_manage(rq),
        oob,
        sort,
        first_run,
    })
}

/// The checklist for an organisation without APIs or roles (a credential needs a role, and a
/// role is made of APIs); `None` once both exist.
async fn first_run(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
) -> Result<Option<FirstRun>, AppError> {
    let org = rq.user.org_id;
    let has_apis = !Api::list_for_org(conn, org).await?.is_empty();
    let has_roles = !ApiRole::list_for_org(conn, org).await?.is_empty();
    if has_apis && has_roles {
        return Ok(None);
    }
    let can_edit_catalog = rq.can(StaffRole::SuperAdmin);
    let ask = if can_edit_catalog {
        Vec::new()
    } else {
        User::emails_with_roles(conn, org, &[StaffRole::SuperAdmin]).await?
    };
    Ok(Some(FirstRun {
        has_apis,
        has_roles,
        can_edit_catalog,
        ask,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_links_toggle_and_nonsense_is_ignored() {
        let sort = ListSort::parse("sort=name&dir=asc&sort=status");
        assert_eq!(sort.key, Some(SortKey::Name));
        assert!(!sort.desc);
        assert!(sort.href(&SortKey::Name).ends_with("?sort=name&dir=desc"));
        assert!(
            sort.href(&SortKey::Expires)
                .ends_with("?sort=expires&dir=asc")
        );
        assert_eq!(sort.aria(&SortKey::Name), "ascending");
        assert_eq!(sort.aria(&SortKey::Status), "none");
        for nonsense in ["sort=%00", "sort=name%27--", "dir=desc", "sort=&dir=up", ""] {
            assert_eq!(ListSort::parse(nonsense).key, None, "{nonsense}");
        }
    }
}
