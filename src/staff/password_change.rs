//! A staff member changes their own password. The current password is checked as sign-in
//! checks it (`staff::sign_in`): the throttle's reservation first, argon2 with no database
//! connection held, failures counted against the same (account, address) allowance. The
//! new password meets `validate_new_password`; then, in one transaction, the hash changes,
//! every other session of the user ends (whoever knew the old password is signed out) and
//! the audit row is written. No password is ever logged, stored in the audit log or sent
//! back.

use diesel_async::AsyncConnection;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::actor::Actor;
use crate::audit::Record;
use crate::db::DbPool;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::organisation::Organisation;
use crate::db::models::user::User;
use crate::domain_error::DomainError;
use crate::forms::FieldErrors;
use crate::input::{self, Lines};
use crate::staff::password::{self, Argon2Pool, MAX_PASSWORD_BYTES, PasswordContext};
use crate::staff::sessions::{self, Ended};
use crate::staff::throttle::{self, ThrottleKeys};

const CHANGE_PASSWORD: &str = "change a password";
const WRONG_CURRENT: &str = "That is not your current password.";

/// The form as posted. Neither field is ever shown again.
#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default = "crate::staff::password::missing")]
    pub current_password: SecretString,
    #[serde(default = "crate::staff::password::missing")]
    pub new_password: SecretString,
}

/// How a change ended, besides a refusal with field messages (`DomainError::Invalid`).
pub enum Outcome {
    /// Changed; the other sessions ended (`Ended` says how many, and whether this one too).
    Changed(Ended),
    /// Too many wrong current passwords from here: retry after this many seconds.
    Throttled(i64),
    /// Every argon2 slot stayed busy (as at sign-in): retry in a moment. Nothing changed.
    Busy,
}

/// Changes the actor's password. `current_session` is the origin id of the session asking,
/// which stays signed in.
pub async fn change_password(
    pool: &DbPool,
    argon2: &Argon2Pool,
    actor: &Actor,
    current_session: Option<&str>,
    form: PasswordChange,
) -> Result<Outcome, DomainError> {
    let user = actor
        .staff_user()
        .ok_or(DomainError::Forbidden(CHANGE_PASSWORD))?;
    let PasswordChange {
        current_password,
        new_password,
    } = form;
    let typed = current_password.expose_secret();
    if typed.is_empty() {
        return Err(DomainError::invalid(
            "current_password",
            "Enter your current password.",
        ));
    }
    if typed.len() > MAX_PASSWORD_BYTES || input::has_control(typed, Lines::Single) {
        // No password that can be set looks like this: wrong, and not worth an argon2 run.
        return Err(DomainError::invalid("current_password", WRONG_CURRENT));
    }
    let org = {
        let mut conn = pool.get().await?;
        Organisation::find(&mut conn, user.org_id).await?
    };
    check_new(user, &org.name, &current_password, &new_password)?;

    let keys = ThrottleKeys::new(&user.email, actor.meta.ip);
    let Some(slot) = argon2.slot_soon().await else {
        return Ok(Outcome::Busy);
    };
    let stored = {
        let mut conn = pool.get().await?;
        if let Some(secs) = throttle::reserve(&mut conn, &keys, actor.now).await? {
            return Ok(Outcome::Throttled(secs));
        }
        User::find_in_org(&mut conn, user.org_id, user.id)
            .await?
            .password_hash
    };
    let right = password::verify_password(slot, current_password, Some(stored)).await?;
    {
        let mut conn = pool.get().await?;
        if !right {
            throttle::record_failure(&mut conn, &keys, actor.now).await?;
            tracing::info!(user_id = %user.id, "password change refused: wrong current password");
            return Err(DomainError::invalid("current_password", WRONG_CURRENT));
        }
        throttle::record_success(&mut conn, &keys).await?;
    }

    let Some(slot) = argon2.slot_soon().await else {
        return Ok(Outcome::Busy);
    };
    let hash = password::hash_password(slot, new_password).await?;
    let mut conn = pool.get().await?;
    let ended = conn
        .transaction(async |conn| {
            User::set_password_hash(conn, user.id, &hash, actor.now).await?;
            let ended =
                sessions::end_others_inner(conn, user.id, current_session, actor.now).await?;
            actor
                .audit(AuditAction::UserPasswordChanged)
                .target("user", user.id, &user.email)
                .details(serde_json::json!({ "sessions_ended": ended.count }))
                .record(conn)
                .await?;
            Ok::<_, DomainError>(ended)
        })
        .await?;
    tracing::info!(user_id = %user.id, "password changed");
    Ok(Outcome::Changed(ended))
}

/// The new password's rule, and that it differs from the current one.
fn check_new(
    user: &User,
    org_name: &str,
    current: &SecretString,
    new: &SecretString,
) -> Result<(), DomainError> {
    let mut errors = FieldErrors::default();
    let context = PasswordContext {
        email: &user.email,
        org_name,
    };
    if let Err(message) = password::validate_new_password(new, context) {
        errors.add("new_password", message);
    } else if new.expose_secret() == current.expose_secret() {
        errors.add(
            "new_password",
            "Choose a password different from your current one.",
        );
    }
    errors.into_result().map_err(DomainError::Invalid)
}
