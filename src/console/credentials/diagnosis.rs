//! Why a Failing credential fails, in one sentence with its fix: the refusals since its
//! latest success are grouped (reason, address), and the largest group names the cause
//! ("Refused 11 times in 13 min: address 10.12.9.30 is not in the allowed IPs [Add it]").

use chrono::{DateTime, Duration, Utc};

use crate::console::credentials::views::{CredentialRow, FailingBanner};
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::AuditEvent;
use crate::usage::RefusalReason;
use crate::usage::refusal_groups::RefusalGroup;
use crate::views::clock_time;

/// A wrong secret this soon after the old secret stopped is read as "still using it".
const OLD_SECRET_LINK: Duration = Duration::hours(2);

fn span(g: &RefusalGroup) -> String {
    let minutes = (g.last - g.first).num_minutes();
    match minutes {
        0 => "in under a minute".into(),
        1..=119 => format!("in {minutes} min"),
        _ => format!("in {} hours", minutes / 60),
    }
}

fn refused(g: &RefusalGroup) -> String {
    if g.count == 1 {
        "Refused once".into()
    } else {
        format!("Refused {} times {}", g.count, span(g))
    }
}

/// When the credential's old secret last stopped working: its overlap ended, it was retired,
/// or a rotation with no overlap replaced it (`events` is the credential's audit trail).
pub fn old_secret_stopped(row: &CredentialRow, events: &[AuditEvent]) -> Option<DateTime<Utc>> {
    let c = &row.c;
    let overlap_ended = c.previous_secret_retires_at.filter(|t| *t <= row.now);
    let retired = events
        .iter()
        .filter(|e| e.action == AuditAction::CredentialPreviousSecretRetired.as_str())
        .map(|e| e.created_at)
        .max();
    // No overlap recorded after a rotation: it was "Now" (or retired, counted above).
    let rotated_now = c
        .secret_rotated_at
        .filter(|_| c.previous_secret_retires_at.is_none());
    [overlap_ended, retired, rotated_now]
        .into_iter()
        .flatten()
        .max()
}

/// The banner of `row` when it is Failing; `groups` are its refusals since its latest
/// success, largest first (`refusal_groups::group`).
pub fn failing_banner(
    row: &CredentialRow,
    groups: &[RefusalGroup],
    old_stopped: Option<DateTime<Utc>>,
) -> Option<FailingBanner> {
    if !row.failing {
        return None;
    }
    let g = groups.first()?;
    let may_act = row.can_manage && !row.locked && !row.c.is_revoked();
    let url = row.url();
    let ip = g.ip.clone().unwrap_or_else(|| "an unknown address".into());
    let act = |label: &'static str, href: String| may_act.then_some((label, href));
    let banner = match g.reason {
        Some(RefusalReason::AddressNotAllowed) => FailingBanner {
            cause: format!(
                "{}: address {ip} is not in the allowed IPs.",
                refused(g)
            ),
            fix: "If that address is yours, add it to the allowed IPs; otherwise someone else holds the secret: rotate it.".into(),
            action: g.ip.as_ref().and_then(|addr| {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("add_ip", addr)
                    .finish();
                act("Add it", format!("{url}/edit?{query}"))
            }),
        },
        Some(RefusalReason::WrongSecret) => {
            let since = clock_time(g.first, row.now);
            match old_stopped.filter(|t| *t <= g.first && g.first - *t <= OLD_SECRET_LINK) {
                Some(stopped) => FailingBanner {
                    cause: format!(
                        "Wrong secret since {since}: the old secret was retired then ({}), and {ip} still sends it ({} times).",
                        clock_time(stopped, row.now),
                        g.count
                    ),
                    fix: format!(
                        "Give the integration at {ip} the current secret, ending in {}.",
                        row.ending(&row.c.secret_last_four)
                    ),
                    action: None,
                },
                None => FailingBanner {
                    cause: format!(
                        "Wrong secret since {since}: {ip} sent a secret that is not this credential's ({} times).",
                        g.count
                    ),
                    fix: "Check the secret in the integration's configuration; if it is lost, rotate it and deploy the new one.".into(),
                    action: act("Rotate secret", format!("{url}/rotate")),
                },
            }
        }
        Some(RefusalReason::Disabled) if row.c.is_revoked() => FailingBanner {
            cause: format!("{}: the credential is revoked, for good.", refused(g)),
            fix: format!("Create a new credential for the integration at {ip}."),
            action: None,
        },
        Some(RefusalReason::Disabled) => FailingBanner {
            cause: format!("{}: the credential is disabled.", refused(g)),
            fix: "Enable it if the integration should work again.".into(),
            action: act("Enable", format!("{url}/enable")),
        },
        Some(RefusalReason::Expired) => FailingBanner {
            cause: format!("{}: the credential has expired.", refused(g)),
            fix: "Choose a later expiry to let it work again.".into(),
            action: act("Change the expiry", format!("{url}/edit")),
        },
        Some(RefusalReason::ScopeNotAllowed) => FailingBanner {
            cause: format!(
                "{}: {ip} asks for a scope this credential may not use.",
                refused(g)
            ),
            fix: "Give it that API (its role or access level), or make the integration ask for less.".into(),
            action: act("Edit", format!("{url}/edit")),
        },
        Some(RefusalReason::Throttled) => FailingBanner {
            cause: format!(
                "{}: {ip} is throttled after repeated failed requests.",
                refused(g)
            ),
            fix: "The throttle lifts by itself once the failures stop: fix what made them fail.".into(),
            action: None,
        },
        Some(RefusalReason::KeysOnly) => FailingBanner {
            cause: format!(
                "{}: {ip} sends the secret, but the credential accepts signed assertions only.",
                refused(g)
            ),
            fix: "Configure that integration to sign with its private key (private_key_jwt), or turn “keys only” off.".into(),
            action: None,
        },
        Some(
            reason @ (RefusalReason::BadAssertion
            | RefusalReason::AssertionExpired
            | RefusalReason::AssertionReplayed
            | RefusalReason::UnknownKey),
        ) => FailingBanner {
            cause: format!("{}: {ip} sent a signed assertion that was refused ({}).", refused(g), reason.label().to_lowercase()),
            fix: assertion_fix(reason).into(),
            action: None,
        },
        None => FailingBanner {
            cause: format!("{} for a reason this version does not know.", refused(g)),
            fix: "See the refusals under Usage below.".into(),
            action: None,
        },
    };
    Some(banner)
}

/// What to do about a refused assertion.
fn assertion_fix(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::UnknownKey => {
            "Add the integration's public key under Public keys below, or check the key id (kid) it sends."
        }
        RefusalReason::AssertionExpired => {
            "Check the clock of the integration's machine: an assertion must be made just before it is sent."
        }
        RefusalReason::AssertionReplayed => {
            "Each assertion may be used once: make the integration sign a new one, with a new jti, per request."
        }
        _ => {
            "Check the assertion: RS256 or ES256 as its key, iss and sub the client ID, aud this server, exp within 5 minutes."
        }
    }
}
