//! Emails to a staff member about their own account: a right password followed by a wrong
//! two-factor code (someone may have the password), and two-factor turned on or off. Queued in
//! the notices outbox like every other email, in the transaction of what they report.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::client_ip::RequestMeta;
use crate::db::models::notice::{NewNotice, NoticeKind};
use crate::db::models::organisation::Organisation;
use crate::db::models::two_factor::TwoFactor;
use crate::db::models::user::User;
use crate::notices::utc;
use crate::paths;

/// At most one "your password was followed by a wrong code" email per account this often.
pub const ALERT_EVERY: Duration = Duration::hours(1);

async fn queue(
    conn: &mut AsyncPgConnection,
    user: &User,
    kind: NoticeKind,
    subject: String,
    body: String,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    NewNotice {
        org_id: user.org_id,
        credential_id: None,
        kind,
        subject_at: now,
        recipient: user.email.clone(),
        subject,
        body,
        link_path: Some(paths::ACCOUNT_SECURITY.to_string()),
        next_attempt_at: now,
        created_at: now,
    }
    .insert(conn)
    .await
}

/// Tells `user` that their right password was just followed by a wrong code, unless they
/// were told so within `ALERT_EVERY`. Whether an email was queued.
pub async fn password_with_wrong_code(
    conn: &mut AsyncPgConnection,
    user: &User,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        if !TwoFactor::claim_alert(conn, user.id, now, ALERT_EVERY).await? {
            return Ok(false);
        }
        let org = Organisation::find(conn, user.org_id).await?;
        let from = meta
            .ip
            .map(|ip| format!(" from the address {ip}"))
            .unwrap_or_default();
        let body = format!(
            "On {} someone signed in to {} as {} with your right password{from}, then entered \
             a wrong two-factor code, so they were not signed in.\n\n\
             If that was you mistyping the code, there is nothing to do.\n\n\
             If it was not you, someone knows your password: change it now under Settings → \
             Account security (that also signs out your other sessions). You will get at most \
             one such email an hour.",
            utc(now),
            org.name,
            user.email
        );
        queue(
            conn,
            user,
            NoticeKind::PasswordWithWrongCode,
            "Your password was used with a wrong two-factor code".into(),
            body,
            now,
        )
        .await
    })
    .await
}

/// How two-factor sign-in changed, for the email that says so.
pub enum TwoFactorChange<'a> {
    TurnedOn,
    TurnedOff,
    /// A Super Admin (`by`) reset it.
    Reset {
        by: &'a str,
    },
}

/// Tells `user` that two-factor sign-in of their account was turned on or off.
pub async fn two_factor_changed(
    conn: &mut AsyncPgConnection,
    user: &User,
    change: TwoFactorChange<'_>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let org = Organisation::find(conn, user.org_id).await?;
    let at = utc(now);
    let not_you = "If that was not you, someone has access to your account: change your \
                   password under Settings → Account security and tell a Super Admin of your \
                   organisation.";
    let (kind, subject, body) = match change {
        TwoFactorChange::TurnedOn => (
            NoticeKind::TwoFactorEnabled,
            "Two-factor sign-in was turned on",
            format!(
                "On {at} two-factor sign-in was turned on for {} in {}. Signing in now takes \
                 a code from the authenticator app as well as the password.\n\n{not_you}",
                user.email, org.name
            ),
        ),
        TwoFactorChange::TurnedOff => (
            NoticeKind::TwoFactorDisabled,
            "Two-factor sign-in was turned off",
            format!(
                "On {at} two-factor sign-in was turned off for {} in {}. Signing in now takes \
                 only the password.\n\n{not_you}",
                user.email, org.name
            ),
        ),
        TwoFactorChange::Reset { by } => (
            NoticeKind::TwoFactorDisabled,
            "Two-factor sign-in was reset",
            format!(
                "On {at} {by}, a Super Admin of {}, reset two-factor sign-in for {}: your \
                 sessions were signed out, and the authenticator app and recovery codes no \
                 longer work. Set it up again under Settings → Account security.\n\n\
                 If you did not ask for this, tell another Super Admin of your organisation.",
                org.name, user.email
            ),
        ),
    };
    queue(conn, user, kind, subject.to_string(), body, now).await
}
