//! Judging a sign-in attempt, cheapest checks first: the input (before the database or
//! argon2 is touched), an argon2 slot (waiting a moment for one), the throttle's
//! reservation, then the password.
//! Every outcome is audited and counted here; the handler only renders it.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::DbPool;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::user::User;
use crate::domain_error::DomainError;
use crate::forms::MAX_EMAIL_BYTES;
use crate::input::normalise_email;
use crate::input::{self, Lines};
use crate::staff::password::{self, Argon2Pool, MAX_PASSWORD_BYTES};
use crate::staff::throttle::{self, Scope, ThrottleKeys};
use crate::staff::two_factor;

/// How an attempt ended.
pub enum Outcome {
    /// The right password of an active account.
    SignedIn(User),
    /// The right password of an active account with two-factor on: a code must follow
    /// (`auth::two_factor_login`) before anyone is signed in.
    CodeNeeded(User),
    /// The email cannot be one (too long, or holding control characters).
    BadEmail,
    /// Wrong password, unknown email, disabled account, or a password no account can have.
    Failed,
    /// Every argon2 slot stayed busy for the short wait, or too many are waiting already:
    /// retry in a moment.
    Busy,
    /// The throttle refuses this attempt for this many seconds.
    Throttled(i64),
}

/// One sign-in attempt: who typed what, from where, when.
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: SecretString,
    pub meta: &'a RequestMeta,
    pub now: DateTime<Utc>,
}

impl Attempt<'_> {
    /// The email as it is looked up (trimmed, lower case).
    pub fn normalised_email(&self) -> String {
        normalise_email(self.email)
    }
}

/// The answer to an email or password no account can have, before any work is done.
fn malformed(email: &str, password: &SecretString) -> Option<Outcome> {
    if email.len() > MAX_EMAIL_BYTES || input::has_control(email, Lines::Single) {
        return Some(Outcome::BadEmail);
    }
    let typed = password.expose_secret();
    // No password that can be set looks like this, so it is simply wrong.
    (typed.len() > MAX_PASSWORD_BYTES || input::has_control(typed, Lines::Single))
        .then_some(Outcome::Failed)
}

/// Judges `attempt`; a database connection is held only around the queries, never while
/// argon2 runs.
pub async fn sign_in(
    pool: &DbPool,
    argon2: &Argon2Pool,
    attempt: Attempt<'_>,
) -> Result<Outcome, DomainError> {
    let email = attempt.normalised_email();
    let Attempt {
        password,
        meta,
        now,
        ..
    } = attempt;
    if let Some(refused) = malformed(&email, &password) {
        return Ok(refused);
    }
    let Some(slot) = argon2.slot_soon().await else {
        tracing::info!("sign-in refused: every argon2 slot is busy");
        return Ok(Outcome::Busy);
    };
    let keys = ThrottleKeys::new(&email, meta.ip);
    let mut conn = pool.get().await?;
    if let Some(secs) = throttle::reserve(&mut conn, &keys, now).await? {
        return Ok(Outcome::Throttled(secs));
    }
    let user = User::find_by_email(&mut conn, &email).await?;
    drop(conn);
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = password::verify_password(slot, password, stored).await?;

    let mut conn = pool.get().await?;
    match user {
        Some(user) if password_ok && !user.disabled => {
            throttle::record_success(&mut conn, &keys).await?;
            if two_factor::is_enabled(&mut conn, user.id).await? {
                return Ok(Outcome::CodeNeeded(user));
            }
            NewAuditEvent::new(AuditAction::UserLogin, meta, now)
                .by(&user)
                .record(&mut conn)
                .await?;
            tracing::info!(user_id = %user.id, "signed in");
            Ok(Outcome::SignedIn(user))
        }
        user => {
            let lockouts = throttle::record_failure(&mut conn, &keys, now).await?;
            let failure = Failure {
                meta,
                now,
                email: &email,
                user: user.as_ref(),
            };
            audit_failure(&mut conn, failure, &lockouts).await?;
            Ok(Outcome::Failed)
        }
    }
}

/// A failed attempt, for its audit rows.
struct Failure<'a> {
    meta: &'a RequestMeta,
    now: DateTime<Utc>,
    email: &'a str,
    user: Option<&'a User>,
}

/// The failure's audit row, and one per lock-out episode it started (not per refused
/// attempt: the log stays readable and a stranger cannot grow it at will).
async fn audit_failure(
    conn: &mut AsyncPgConnection,
    Failure {
        meta,
        now,
        email,
        user,
    }: Failure<'_>,
    lockouts: &[Scope],
) -> Result<(), DomainError> {
    let reason = match user {
        None => "unknown_email",
        Some(u) if u.disabled => "disabled",
        Some(_) => "wrong_password",
    };
    let event = |action: AuditAction, details: serde_json::Value| {
        let event = NewAuditEvent::new(action, meta, now)
            .actor_email(email)
            .details(details);
        match user {
            Some(u) => event.org(u.org_id).target("user", u.id, &u.email),
            None => event,
        }
    };
    event(
        AuditAction::UserLoginFailed,
        serde_json::json!({ "reason": reason }),
    )
    .record(conn)
    .await?;
    for scope in lockouts {
        event(
            AuditAction::UserLoginThrottled,
            serde_json::json!({ "scope": scope }),
        )
        .record(conn)
        .await?;
    }
    tracing::info!(reason, "sign-in failed");
    Ok(())
}
