//! Management access: the built-in scopes that let a credential call the management API, and
//! the rules that keep anyone from gaining through a credential more than they hold.
//!
//! - Only a Super Admin gives or changes management scopes.
//! - Every operation on a credential holding one (edit, rotate, retire, disable, enable,
//!   revoke, delete, its tokens) is a Super Admin's alone (`may_handle`); the credential
//!   itself may only rotate its own secret and retire the one it replaced (`may_rotate`).
//! - A calling credential can give no credential a scope it lacks itself, never changes
//!   management scopes, creates or edits nothing reachable from more addresses or for longer
//!   than itself (`within_caller`), and obtains the secret of no credential that may do more
//!   than it may, in scopes, addresses or time (`may_obtain_secret`).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use ipnet::IpNet;

use crate::actor::Actor;
use crate::credentials::input::parse_networks;
use crate::db::models::credential::Credential;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;

pub const CREDENTIALS_READ: &str = "m2m.credentials:read";
pub const CREDENTIALS_WRITE: &str = "m2m.credentials:write";
pub const CREDENTIALS_ROTATE: &str = "m2m.credentials:rotate";
pub const TOKENS_REVOKE: &str = "m2m.tokens:revoke";
pub const AUDIT_READ: &str = "m2m.audit:read";

/// Every management scope with what it allows, in the order the form lists them.
pub const SCOPES: [(&str, &str); 5] = [
    (
        CREDENTIALS_READ,
        "List and read credentials, their tokens and usage, the catalog and roles",
    ),
    (
        CREDENTIALS_WRITE,
        "Create, edit, disable, enable, revoke and delete credentials",
    ),
    (CREDENTIALS_ROTATE, "Rotate secrets and retire old ones"),
    (TOKENS_REVOKE, "Revoke credentials' access tokens"),
    (AUDIT_READ, "Read the audit log"),
];

/// The namespace kept for management scopes: the catalog may not use it.
pub const RESERVED_PREFIX: &str = "m2m.";

pub fn is_management_scope(scope: &str) -> bool {
    SCOPES.iter().any(|(known, _)| *known == scope)
}

/// The chosen management scopes, each known and once, in `SCOPES` order; `Err` names the
/// first unknown one.
pub fn parse(chosen: &[String]) -> Result<Vec<String>, String> {
    if let Some(unknown) = chosen.iter().find(|s| !is_management_scope(s.trim())) {
        let shown = crate::input::quoted(unknown.trim(), 60);
        return Err(format!("“{shown}” is not a management scope."));
    }
    Ok(SCOPES
        .iter()
        .filter(|(scope, _)| chosen.iter().any(|c| c.trim() == *scope))
        .map(|(scope, _)| (*scope).to_string())
        .collect())
}

/// Refuses a change of management scopes (`before` → `after`) by anyone but a Super Admin.
pub fn may_set(actor: &Actor, before: &[String], after: &[String]) -> Result<(), DomainError> {
    if before == after || actor.is_super_admin() {
        return Ok(());
    }
    Err(DomainError::Forbidden("give or change management access"))
}

/// Refuses anyone but a Super Admin (or the system applying the policy) any operation on
/// `target` when it holds management scopes: one place for the rule, called by every
/// operation on a credential.
pub fn may_handle(actor: &Actor, target: &Credential) -> Result<(), DomainError> {
    if target.management_scopes.is_empty() || actor.is_super_admin() {
        return Ok(());
    }
    Err(DomainError::Forbidden(
        "change a credential that has management access (only a Super Admin may)",
    ))
}

/// As `may_handle`, except that a calling credential may rotate its own secret (and retire
/// the one it replaced).
pub fn may_rotate(actor: &Actor, target: &Credential) -> Result<(), DomainError> {
    match actor.caller() {
        Some(caller) if caller.credential_id == target.id => Ok(()),
        _ => may_handle(actor, target),
    }
}

/// Refuses a calling credential whose change would leave a credential with scopes it lacks
/// itself and that the credential did not have before (`before`, `after`: its scopes).
pub fn may_grant(actor: &Actor, before: &[String], after: &[String]) -> Result<(), DomainError> {
    let Some(caller) = actor.caller() else {
        return Ok(());
    };
    let gained = after
        .iter()
        .any(|scope| !before.contains(scope) && !caller.has(scope));
    if gained {
        return Err(DomainError::Forbidden(
            "give a credential scopes your own credential does not have",
        ));
    }
    Ok(())
}

/// Refuses a calling credential the new secret of another credential that may do more than
/// it may: a scope it lacks, an address outside its allow-list, a time after its expiry.
pub async fn may_obtain_secret(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: &Credential,
) -> Result<(), DomainError> {
    let Some(caller) = actor.caller() else {
        return Ok(());
    };
    if caller.credential_id == target.id {
        return Ok(());
    }
    let scopes = Credential::effective_scopes(conn, target).await?;
    may_grant(actor, &[], &scopes)?;
    let own = Credential::find_in_org(conn, caller.org_id, caller.credential_id).await?;
    let networks = parse_networks(&target.allowed_ips).unwrap_or_default();
    if !networks_within(&networks, &own) || !expiry_within(target.expires_at, &own) {
        return Err(DomainError::Forbidden(
            "obtain the secret of a credential usable from more addresses or for longer than your own",
        ));
    }
    Ok(())
}

/// Refuses a calling credential a new or edited credential wider than itself in what the
/// change touches (`None` for what it leaves as it is): an allow-list must lie within its own
/// (an empty one allows any address, the widest), an expiry no later than its own (never is
/// the latest).
pub async fn within_caller(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    new_networks: Option<&[IpNet]>,
    new_expiry: Option<Option<DateTime<Utc>>>,
) -> Result<(), DomainError> {
    let Some(caller) = actor.caller() else {
        return Ok(());
    };
    if new_networks.is_none() && new_expiry.is_none() {
        return Ok(());
    }
    let own = Credential::find_in_org(conn, caller.org_id, caller.credential_id).await?;
    if new_networks.is_some_and(|networks| !networks_within(networks, &own)) {
        return Err(DomainError::Forbidden(
            "allow a credential addresses outside your own credential's allow-list",
        ));
    }
    if new_expiry.is_some_and(|expiry| !expiry_within(expiry, &own)) {
        return Err(DomainError::Forbidden(
            "give a credential an expiry later than your own credential's",
        ));
    }
    Ok(())
}

/// Whether every network of `networks` lies inside one of `own`'s.
fn networks_within(networks: &[IpNet], own: &Credential) -> bool {
    // Stored lists are valid CIDR (a CHECK says so); were one not, nothing would be within.
    let Ok(own) = parse_networks(&own.allowed_ips) else {
        return false;
    };
    if own.is_empty() {
        return true;
    }
    !networks.is_empty() && networks.iter().all(|n| own.iter().any(|o| o.contains(n)))
}

/// Whether `expires_at` comes no later than `own`'s expiry.
fn expiry_within(expires_at: Option<DateTime<Utc>>, own: &Credential) -> bool {
    match (own.expires_at, expires_at) {
        (None, _) => true,
        (Some(limit), Some(at)) => at <= limit,
        (Some(_), None) => false,
    }
}

/// Admins and Super Admins manage credentials; a calling credential needs `scope`.
pub fn require(actor: &Actor, scope: &'static str) -> Result<(), DomainError> {
    actor.require_or_scope(StaffRole::Admin, scope, "manage API credentials")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_known_scopes_once_in_order() {
        let chosen = vec![
            AUDIT_READ.to_string(),
            CREDENTIALS_READ.to_string(),
            format!(" {AUDIT_READ} "),
        ];
        assert_eq!(
            parse(&chosen),
            Ok(vec![CREDENTIALS_READ.to_string(), AUDIT_READ.to_string()])
        );
        assert!(parse(&["m2m.users:write".to_string()]).is_err());
        assert!(parse(&["orders:read".to_string()]).is_err());
    }

    #[test]
    fn every_management_scope_is_in_the_reserved_namespace() {
        for (scope, _) in SCOPES {
            assert!(scope.starts_with(RESERVED_PREFIX), "{scope}");
        }
    }
}
