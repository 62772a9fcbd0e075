//! Staff accounts of an organisation: invite a user (`invitations`), change a user's role,
//! disable and enable. Only a Super Admin does these. A role change or a disable ends that
//! user's sessions in the same transaction, and the organisation always keeps one active
//! Super Admin.

pub(crate) mod accounts;
pub(crate) mod common_passwords;
pub(crate) mod first_run;
pub(crate) mod invitations;
pub mod password;
pub(crate) mod password_change;
pub(crate) mod reauth;
pub(crate) mod sessions;
pub(crate) mod sign_in;
pub(crate) mod throttle;
pub mod totp;
pub(crate) mod two_factor;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::audit::Record;
use crate::db::ids::UserId;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::session as session_rows;
use crate::db::models::user::{StaffRole, User, UserChanges};
use crate::domain_error::DomainError;

const MANAGE_USERS: &str = "manage users";

/// Refuses a change that would leave the organisation with no active Super Admin. Runs
/// inside the transaction that makes the change (it locks the Super Admin rows).
async fn keep_a_super_admin(
    conn: &mut AsyncPgConnection,
    target: &User,
    still_super_admin: bool,
) -> Result<(), DomainError> {
    let is_active_super_admin = target.role == StaffRole::SuperAdmin && !target.disabled;
    if is_active_super_admin
        && !still_super_admin
        && User::lock_active_super_admins(conn, target.org_id).await? <= 1
    {
        return Err(DomainError::Conflict(
            "The organisation must keep at least one active Super Admin. Promote someone else first.".into(),
        ));
    }
    Ok(())
}

/// Gives `target` the `role`; their sessions end (they sign in again under it).
pub async fn change_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: UserId,
    role: StaffRole,
) -> Result<User, DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE_USERS)?;
    conn.transaction(async |conn| {
        let before = User::find_in_org(conn, actor.org_id(), target).await?;
        if before.role == role {
            return Ok(before);
        }
        keep_a_super_admin(conn, &before, role == StaffRole::SuperAdmin).await?;
        let changes = UserChanges {
            role: Some(role),
            disabled: None,
            updated_at: actor.now,
        };
        let updated = User::update(conn, actor.org_id(), target, &changes).await?;
        session_rows::delete_for_user(conn, target).await?;
        actor
            .audit(AuditAction::UserRoleChanged)
            .target("user", target, &before.email)
            .details(serde_json::json!({ "before": before.role.as_str(), "after": role.as_str() }))
            .record(conn)
            .await?;
        Ok(updated)
    })
    .await
}

/// Disables or re-enables `target`; either way their sessions end.
pub async fn set_disabled(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: UserId,
    disabled: bool,
) -> Result<User, DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE_USERS)?;
    conn.transaction(async |conn| {
        let before = User::find_in_org(conn, actor.org_id(), target).await?;
        if before.disabled == disabled {
            return Ok(before);
        }
        if disabled {
            keep_a_super_admin(conn, &before, false).await?;
        }
        let changes = UserChanges {
            role: None,
            disabled: Some(disabled),
            updated_at: actor.now,
        };
        let updated = User::update(conn, actor.org_id(), target, &changes).await?;
        session_rows::delete_for_user(conn, target).await?;
        let action = if disabled {
            AuditAction::UserDisabled
        } else {
            AuditAction::UserEnabled
        };
        actor
            .audit(action)
            .target("user", target, &before.email)
            .record(conn)
            .await?;
        Ok(updated)
    })
    .await
}
