//! Staff accounts of an organisation: add a user, change a user's role, disable and enable.
//! Only a Super Admin does these. A role change or a disable ends that user's sessions in the
//! same transaction, and the organisation always keeps one active Super Admin.

pub mod first_run;
pub mod password_change;
pub mod reauth;
pub mod sessions;
pub mod two_factor;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;
use serde::Deserialize;

use crate::actor::Actor;
use crate::auth::password::{self, Argon2Pool};
use crate::db::ids::UserId;
use crate::db::models::organisation::Organisation;
use crate::db::models::session as session_rows;
use crate::db::models::user::{NewUser, StaffRole, User, UserChanges};
use crate::domain_error::DomainError;
use crate::forms::{self, FieldErrors};

const MANAGE_USERS: &str = "manage users";
const EMAIL_TAKEN: &str = "A user with this email already exists.";

/// A new user as the form gives it.
#[derive(Deserialize)]
pub struct NewUserDraft {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default = "empty")]
    pub password: SecretString,
}

fn empty() -> SecretString {
    SecretString::from("")
}

/// Checks the draft for the organisation named `org_name`; the email comes back normalised
/// and the role parsed, for the form.
pub async fn check_new_user(
    conn: &mut AsyncPgConnection,
    draft: &NewUserDraft,
    org_name: &str,
) -> Result<(String, Option<StaffRole>, FieldErrors), DomainError> {
    let mut errors = FieldErrors::default();
    let email = forms::email(&mut errors, "email", &draft.email);
    let role = StaffRole::parse(&draft.role);
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    let context = password::PasswordContext {
        email: &email,
        org_name,
    };
    if let Err(message) = password::validate_new_password(&draft.password, context) {
        errors.add("password", message);
    }
    if errors.is_empty() && User::find_by_email(conn, &email).await?.is_some() {
        errors.add("email", EMAIL_TAKEN);
    }
    Ok((email, role, errors))
}

/// Adds a user to the actor's organisation. The password is hashed (argon2, waiting for a
/// free slot) before the transaction, so no connection is held meanwhile.
pub async fn create_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    argon2: &Argon2Pool,
    draft: NewUserDraft,
) -> Result<User, DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE_USERS)?;
    let org = Organisation::find(conn, actor.org_id()).await?;
    let (email, role, errors) = check_new_user(conn, &draft, &org.name).await?;
    errors.into_result().map_err(DomainError::Invalid)?;
    let role = role.ok_or_else(|| DomainError::invalid("role", "Choose a role."))?;
    let hash = password::hash_password(argon2.slot().await?, draft.password).await?;
    conn.transaction(async |conn| {
        let new = NewUser {
            id: UserId::new_random(),
            org_id: actor.org_id(),
            email: &email,
            role,
            password_hash: &hash,
            created_at: actor.now,
            updated_at: actor.now,
        };
        let created = match User::insert(conn, &new).await {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Err(DomainError::invalid("email", EMAIL_TAKEN)),
            other => other?,
        };
        actor
            .audit("user.created")
            .target("user", created.id, &created.email)
            .details(serde_json::json!({ "role": role.as_str() }))
            .insert(conn)
            .await?;
        Ok(created)
    })
    .await
}

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
            .audit("user.role_changed")
            .target("user", target, &before.email)
            .details(serde_json::json!({ "before": before.role.as_str(), "after": role.as_str() }))
            .insert(conn)
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
            "user.disabled"
        } else {
            "user.enabled"
        };
        actor
            .audit(action)
            .target("user", target, &before.email)
            .insert(conn)
            .await?;
        Ok(updated)
    })
    .await
}
