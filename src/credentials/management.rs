//! Management access: the built-in scopes that let a credential call the management API, and
//! the rules that keep anyone from gaining through a credential more than they hold.
//!
//! - Only a Super Admin gives or changes management scopes.
//! - An Admin cannot edit, rotate or get a token of a credential holding one (that would
//!   hand them its secret or a token with its rights).
//! - A calling credential can give no credential a scope it lacks itself, never changes
//!   management scopes, and obtains the secret of no credential that may do more than it may
//!   (rotating itself is allowed with `m2m.credentials:rotate`).

use crate::actor::{Actor, Principal};
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
        return Err(format!("“{}” is not a management scope.", unknown.trim()));
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

/// Refuses to let an Admin, or another calling credential, edit `target` or obtain its
/// secret or a token of it when it holds management scopes.
pub fn may_handle(actor: &Actor, target: &Credential) -> Result<(), DomainError> {
    if target.management_scopes.is_empty() || actor.is_super_admin() {
        return Ok(());
    }
    match &actor.principal {
        Principal::Credential(caller) if caller.credential_id == target.id => Ok(()),
        _ => Err(DomainError::Forbidden(
            "change a credential that has management access (only a Super Admin may)",
        )),
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
/// it may (`scopes`: what the target may use now).
pub fn may_obtain_secret(
    actor: &Actor,
    target: &Credential,
    scopes: &[String],
) -> Result<(), DomainError> {
    match actor.caller() {
        Some(caller) if caller.credential_id != target.id => may_grant(actor, &[], scopes),
        _ => Ok(()),
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
