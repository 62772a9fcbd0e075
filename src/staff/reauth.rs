//! "Confirm it's you": a signed-in user proves again who they are (password, and a code when
//! two-factor is on) before a sensitive action. The password is throttled on the same
//! counters as sign-in, so a stolen session gives no extra guesses; the code on the
//! two-factor counters. Like sign-in, no connection is held while argon2 runs.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::DbPool;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::user::User;
use crate::domain_error::DomainError;
use crate::input::{self, Lines};
use crate::notices::account;
use crate::sealed::Sealer;
use crate::staff::password::{self, Argon2Pool, MAX_PASSWORD_BYTES};
use crate::staff::throttle::{self, ThrottleKeys};
use crate::staff::two_factor::{self, Check};

/// How a confirmation ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Reauth {
    Passed,
    /// The password (or, after a right password, the code) is not right.
    WrongPassword,
    WrongCode,
    /// Refused for this many seconds by the throttle.
    Throttled(i64),
    /// Every argon2 slot is busy.
    Busy,
    /// The account's app codes are refused after too many wrong ones (`Check::Locked`).
    Locked,
}

/// What the user typed.
pub struct Proof {
    pub password: SecretString,
    pub code: String,
}

/// Checks `proof` for `user`; on a pass, audits `user.reauthenticated`.
pub async fn confirm(
    pool: &DbPool,
    argon2: &Argon2Pool,
    sealer: &Sealer,
    user: &User,
    proof: Proof,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Reauth, DomainError> {
    let typed = proof.password.expose_secret();
    if typed.is_empty()
        || typed.len() > MAX_PASSWORD_BYTES
        || input::has_control(typed, Lines::Single)
    {
        return Ok(Reauth::WrongPassword);
    }
    let Some(slot) = argon2.slot_soon().await else {
        return Ok(Reauth::Busy);
    };
    let keys = ThrottleKeys::new(&user.email, meta.ip);
    let mut conn = pool.get().await?;
    if let Some(secs) = throttle::reserve(&mut conn, &keys, now).await? {
        return Ok(Reauth::Throttled(secs));
    }
    drop(conn);
    let stored = Some(user.password_hash.clone());
    let password_ok = password::verify_password(slot, proof.password, stored).await?;
    let mut conn = pool.get().await?;
    if !password_ok {
        throttle::record_failure(&mut conn, &keys, now).await?;
        NewAuditEvent::new(AuditAction::UserReauthenticationFailed, meta, now)
            .by(user)
            .record(&mut conn)
            .await?;
        tracing::info!(user_id = %user.id, "confirmation refused: wrong password");
        return Ok(Reauth::WrongPassword);
    }
    throttle::record_success(&mut conn, &keys).await?;
    let mut second_factor = None;
    if two_factor::is_enabled(&mut conn, user.id).await? {
        let check =
            two_factor::check_code(&mut conn, sealer, user, &proof.code, true, meta, now).await?;
        match check {
            Check::Passed(method) => second_factor = Some(method.as_str()),
            Check::Throttled(secs) => return Ok(Reauth::Throttled(secs)),
            refused => {
                // The right password with a wrong code: its owner hears of it.
                account::password_with_wrong_code(&mut conn, user, meta, now).await?;
                return Ok(if refused == Check::Locked {
                    Reauth::Locked
                } else {
                    Reauth::WrongCode
                });
            }
        }
    }
    NewAuditEvent::new(AuditAction::UserReauthenticated, meta, now)
        .by(user)
        .details(serde_json::json!({ "second_factor": second_factor }))
        .record(&mut conn)
        .await?;
    Ok(Reauth::Passed)
}
