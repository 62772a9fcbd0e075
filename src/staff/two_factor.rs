//! Two-factor sign-in for staff (issue 14): enrolling a TOTP app, checking codes at sign-in
//! and in the settings, one-time recovery codes, turning it off, and a Super Admin's reset.
//!
//! Every code check is throttled like passwords (`staff::throttle`, keys of its own) and
//! reserved before it is verified; a failure is audited and counted outside any
//! transaction, so nothing rolls it back. A TOTP step is accepted once per user
//! (`last_used_step`, updated atomically), a recovery code once. The key is sealed with
//! the server's data key; no key or code is ever logged or audited.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::actor::Actor;
use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::ids::UserId;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::session as sessions;
use crate::db::models::two_factor::{self as rows, CODE_CEILING, TwoFactor};
use crate::db::models::user::{StaffRole, User};
use crate::domain_error::DomainError;
use crate::notices::account::{self, TwoFactorChange};
use crate::random;
use crate::sealed::Sealer;
use crate::staff::throttle::{self, ThrottleKeys};
use crate::staff::totp;

/// Recovery codes handed out at a time.
pub const RECOVERY_CODES: usize = 10;
/// What authenticator apps show as the account's issuer.
pub const ISSUER: &str = "m2m console";
const WRONG_CODE: &str = "That code is not right. Enter the current code from your app.";
const NOT_ENROLLING: &str = "Start the set-up again: there is no key waiting to be confirmed.";
const NOT_ON: &str = "Two-factor sign-in is not on.";
/// What someone is told once the account's app codes are refused (`Check::Locked`).
pub const LOCKED: &str = "Codes from the authenticator app are refused for this account after too many wrong ones. Use one of your recovery codes, or ask a Super Admin of your organisation to reset your two-factor sign-in.";

fn seal_label(user: UserId) -> String {
    format!("totp:{user}")
}

/// A TOTP key being set up, as the enrolment page shows it. `Debug` hides the key.
pub struct Enrolment {
    /// The key in base32, for typing into an app.
    pub key_base32: String,
    /// The QR code of the `otpauth://` URI, as SVG markup.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// Fresh recovery codes, shown once. `Debug` hides them.
pub struct RecoveryCodes(pub Vec<String>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} [redacted])", self.0.len())
    }
}

/// How a second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    RecoveryCode,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::RecoveryCode => "recovery_code",
        }
    }
}

/// The result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Passed(Method),
    Wrong,
    /// Refused by the throttle for this many seconds.
    Throttled(i64),
    /// The account's app codes are refused: `CODE_CEILING` wrong codes in a row. A recovery
    /// code (where one is accepted) still passes; a Super Admin's reset ends it too.
    Locked,
    /// The pending sign-in made its `PENDING_CODE_ATTEMPTS`: back to the password step.
    Exhausted,
}

fn staff(actor: &Actor) -> Result<&User, DomainError> {
    actor
        .staff_user()
        .ok_or(DomainError::Forbidden("manage two-factor sign-in"))
}

fn open_key(sealer: &Sealer, row: &TwoFactor) -> Result<Vec<u8>, DomainError> {
    sealer
        .open(&seal_label(row.user_id), &row.sealed_key)
        .map_err(|e| DomainError::Unexpected(anyhow::Error::new(e).context("TOTP key")))
}

fn seal_error(e: crate::sealed::SealError) -> DomainError {
    DomainError::Unexpected(anyhow::Error::new(e).context("sealing a TOTP key"))
}

/// Whether the user has two-factor sign-in on.
pub async fn is_enabled(conn: &mut AsyncPgConnection, user: UserId) -> Result<bool, DomainError> {
    Ok(TwoFactor::find(conn, user)
        .await?
        .is_some_and(|r| r.enabled()))
}

/// Starts setting up two-factor for the acting user with a new key (replacing one not yet
/// confirmed).
pub async fn start_enrolment(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    actor: &Actor,
) -> Result<(), DomainError> {
    let user = staff(actor)?;
    let key = random::os_random::<{ totp::KEY_BYTES }>()?;
    let sealed = sealer
        .seal(&seal_label(user.id), &key)
        .map_err(seal_error)?;
    conn.transaction(async |conn| {
        if TwoFactor::lock(conn, user.id)
            .await?
            .is_some_and(|r| r.enabled())
        {
            return Err(DomainError::Conflict(
                "Two-factor sign-in is already on.".into(),
            ));
        }
        TwoFactor::start(conn, user.id, &sealed, actor.now).await?;
        Ok(())
    })
    .await
}

/// The key waiting to be confirmed, if the user started setting up two-factor.
pub async fn pending_enrolment(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    user: &User,
) -> Result<Option<Enrolment>, DomainError> {
    let Some(row) = TwoFactor::find(conn, user.id)
        .await?
        .filter(|r| !r.enabled())
    else {
        return Ok(None);
    };
    let key = open_key(sealer, &row)?;
    let uri = totp::otpauth_uri(ISSUER, &user.email, &key);
    let qr_svg = totp::qr_svg(&uri)
        .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("QR code of the TOTP URI")))?;
    Ok(Some(Enrolment {
        key_base32: totp::key_base32(&key),
        qr_svg,
    }))
}

/// Checks `typed` (a TOTP code, or when `recovery` allows, a recovery code) for `user`,
/// throttled and audited. A passed TOTP step is spent.
///
/// Every attempt is counted before it is checked: on the (user, address) and address
/// throttle, and on the account's ceiling of wrong codes in a row from every address
/// (`CODE_CEILING`). Past the ceiling the app's codes are refused, right ones too, until a
/// recovery code passes (it sets the count back to 0, as any right code does) or a Super
/// Admin resets two-factor: recovery codes carry 80 random bits, so the throttle alone keeps
/// them out of reach.
pub async fn check_code(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    user: &User,
    typed: &str,
    recovery: bool,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Check, DomainError> {
    let Some(row) = TwoFactor::find(conn, user.id).await? else {
        return Err(DomainError::Conflict(NOT_ON.into()));
    };
    let keys = ThrottleKeys::two_factor(user.id, meta.ip);
    if let Some(secs) = throttle::reserve(conn, &keys, now).await? {
        return Ok(Check::Throttled(secs));
    }
    let counted = TwoFactor::reserve_code_attempt(conn, user.id).await?;
    let key = open_key(sealer, &row)?;
    let typed = typed.trim();
    let mut passed = None;
    if counted.is_some()
        && let Some(step) = totp::matching_step(&key, typed, now, row.last_used_step)
        && TwoFactor::use_step(conn, user.id, step).await?
    {
        passed = Some(Method::Totp);
    }
    if passed.is_none() && recovery && row.enabled() {
        let digest = random::sha256(normalise_recovery_code(typed).as_bytes());
        if rows::use_recovery_code(conn, user.id, &digest, now).await? {
            audit(
                conn,
                AuditAction::UserRecoveryCodeUsed,
                (user, meta, now),
                json!({}),
            )
            .await?;
            passed = Some(Method::RecoveryCode);
        }
    }
    if let Some(method) = passed {
        throttle::record_success(conn, &keys).await?;
        TwoFactor::clear_failed_codes(conn, user.id).await?;
        return Ok(Check::Passed(method));
    }
    let lockouts = throttle::record_failure(conn, &keys, now).await?;
    let who = (user, meta, now);
    let details = json!({ "locked_out": lockouts });
    audit(conn, AuditAction::UserTwoFactorFailed, who, details).await?;
    tracing::info!(user_id = %user.id, "two-factor code refused");
    match counted {
        None => Ok(Check::Locked),
        Some(count) => {
            if count == CODE_CEILING {
                let details = json!({ "wrong_codes_in_a_row": count });
                audit(conn, AuditAction::UserTwoFactorLocked, who, details).await?;
                tracing::warn!(user_id = %user.id, "two-factor codes locked after the ceiling");
            }
            Ok(Check::Wrong)
        }
    }
}

/// An audit row of `user`'s own sign-in steps (no session acts yet: the request's address).
async fn audit(
    conn: &mut AsyncPgConnection,
    action: AuditAction,
    (user, meta, now): (&User, &RequestMeta, DateTime<Utc>),
    details: serde_json::Value,
) -> diesel::QueryResult<()> {
    NewAuditEvent::new(action, meta, now)
        .by(user)
        .details(details)
        .record(conn)
        .await
}

/// The code step of signing in, for the pending sign-in `pending` (its id): one of its
/// `PENDING_CODE_ATTEMPTS`, then `check_code` with recovery codes allowed. A pass writes the
/// `user.login` row (saying which factor was used); a wrong code tells the owner that their
/// password was used (`notices::account`, at most once an hour).
pub async fn complete_sign_in(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    user: &User,
    pending: &str,
    typed: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Check, DomainError> {
    let Some(attempt) = throttle::reserve_pending_attempt(conn, pending, now).await? else {
        return Ok(Check::Exhausted);
    };
    let check = check_code(conn, sealer, user, typed, true, meta, now).await?;
    match check {
        Check::Passed(method) => {
            throttle::forget_pending(conn, pending).await?;
            let details = json!({ "second_factor": method.as_str() });
            audit(conn, AuditAction::UserLogin, (user, meta, now), details).await?;
            tracing::info!(user_id = %user.id, "signed in with a second factor");
        }
        Check::Wrong | Check::Locked => {
            account::password_with_wrong_code(conn, user, meta, now).await?;
            if attempt >= throttle::PENDING_CODE_ATTEMPTS {
                return Ok(Check::Exhausted);
            }
        }
        Check::Throttled(_) | Check::Exhausted => {}
    }
    Ok(check)
}

/// Refuses unless `check` passed.
fn passed(check: Check) -> Result<Method, DomainError> {
    match check {
        Check::Passed(method) => Ok(method),
        Check::Wrong | Check::Exhausted => Err(DomainError::invalid("code", WRONG_CODE)),
        Check::Locked => Err(DomainError::invalid("code", LOCKED)),
        Check::Throttled(secs) => Err(DomainError::invalid(
            "code",
            format!("Too many wrong codes. Try again in {secs} seconds."),
        )),
    }
}

/// Confirms the enrolment with a current code: two-factor is on, and the first recovery
/// codes are returned (to be shown once).
pub async fn confirm_enrolment(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    actor: &Actor,
    typed: &str,
) -> Result<RecoveryCodes, DomainError> {
    let user = staff(actor)?;
    match TwoFactor::find(conn, user.id).await? {
        None => return Err(DomainError::Conflict(NOT_ENROLLING.into())),
        Some(r) if r.enabled() => {
            return Err(DomainError::Conflict(
                "Two-factor sign-in is already on.".into(),
            ));
        }
        Some(_) => {}
    }
    passed(check_code(conn, sealer, user, typed, false, &actor.meta, actor.now).await?)?;
    let (codes, digests) = new_recovery_codes()?;
    conn.transaction(async |conn| {
        TwoFactor::enable(conn, user.id, actor.now).await?;
        rows::replace_recovery_codes(conn, user.id, &digests).await?;
        actor
            .audit(AuditAction::UserTwoFactorEnabled)
            .record(conn)
            .await?;
        account::two_factor_changed(conn, user, TwoFactorChange::TurnedOn, actor.now).await?;
        Ok(codes)
    })
    .await
}

/// The acting user, once they have two-factor on and `typed` is one of their current codes
/// (never a recovery code): what a change to a working two-factor asks for.
async fn confirmed_by_code<'a>(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    actor: &'a Actor,
    typed: &str,
) -> Result<&'a User, DomainError> {
    let user = staff(actor)?;
    if !is_enabled(conn, user.id).await? {
        return Err(DomainError::Conflict(NOT_ON.into()));
    }
    passed(check_code(conn, sealer, user, typed, false, &actor.meta, actor.now).await?)?;
    Ok(user)
}

/// New recovery codes (the old ones stop working), after a current code.
pub async fn regenerate_recovery_codes(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    actor: &Actor,
    typed: &str,
) -> Result<RecoveryCodes, DomainError> {
    let user = confirmed_by_code(conn, sealer, actor, typed).await?;
    let (codes, digests) = new_recovery_codes()?;
    conn.transaction(async |conn| {
        rows::replace_recovery_codes(conn, user.id, &digests).await?;
        actor
            .audit(AuditAction::UserRecoveryCodesRegenerated)
            .record(conn)
            .await?;
        Ok(codes)
    })
    .await
}

/// Turns two-factor off for the acting user, after a current code.
pub async fn disable(
    conn: &mut AsyncPgConnection,
    sealer: &Sealer,
    actor: &Actor,
    typed: &str,
) -> Result<(), DomainError> {
    let user = confirmed_by_code(conn, sealer, actor, typed).await?;
    conn.transaction(async |conn| {
        TwoFactor::delete(conn, user.id).await?;
        actor
            .audit(AuditAction::UserTwoFactorDisabled)
            .record(conn)
            .await?;
        account::two_factor_changed(conn, user, TwoFactorChange::TurnedOff, actor.now).await?;
        Ok(())
    })
    .await
}

/// A Super Admin removes `target`'s two-factor (a lost phone); the target's sessions end,
/// and they set it up again at their next sign-in if the policy asks for it.
pub async fn reset(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: UserId,
) -> Result<User, DomainError> {
    actor.require(
        StaffRole::SuperAdmin,
        "reset another user's two-factor sign-in",
    )?;
    conn.transaction(async |conn| {
        let user = User::find_in_org(conn, actor.org_id(), target).await?;
        if !TwoFactor::delete(conn, target).await? {
            return Err(DomainError::Conflict(format!(
                "{} has no two-factor sign-in to reset.",
                user.email
            )));
        }
        sessions::delete_for_user(conn, target).await?;
        actor
            .audit(AuditAction::UserTwoFactorReset)
            .target("user", target, &user.email)
            .record(conn)
            .await?;
        let by = actor.staff_user().map_or("", |u| u.email.as_str());
        account::two_factor_changed(conn, &user, TwoFactorChange::Reset { by }, actor.now).await?;
        Ok(user)
    })
    .await
}

/// How a recovery code is compared: spaces and dashes dropped, lower case.
fn normalise_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Ten codes of 80 random bits each (base32, grouped `xxxx-xxxx-xxxx-xxxx`), and their
/// SHA-256 digests.
fn new_recovery_codes() -> Result<(RecoveryCodes, Vec<Vec<u8>>), DomainError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut digests = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw = data_encoding::BASE32_NOPAD
            .encode(&random::os_random::<10>()?)
            .to_ascii_lowercase();
        digests.push(random::sha256(raw.as_bytes()));
        let grouped: Vec<String> = raw
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        codes.push(grouped.join("-"));
    }
    Ok((RecoveryCodes(codes), digests))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_compare_as_typed_loosely() {
        let Ok((codes, digests)) = new_recovery_codes() else {
            return;
        };
        assert_eq!(codes.0.len(), RECOVERY_CODES);
        for (code, digest) in codes.0.iter().zip(&digests) {
            assert_eq!(code.len(), 19);
            let typed = code.to_uppercase().replace('-', " ");
            assert_eq!(
                &random::sha256(normalise_recovery_code(&typed).as_bytes()),
                digest
            );
        }
        let mut unique = codes.0.clone();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert!(!format!("{codes:?}").contains(codes.0.first().map_or("x", |c| c.as_str())));
    }
}
