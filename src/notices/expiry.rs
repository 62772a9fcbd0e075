//! Expiry reminders: 30, 7 and 1 days before a usable credential expires, once its
//! organisation's policy calls it "Expires soon" (`Policy::status`). A run sends the
//! nearest threshold crossed since the credential was created, so a server that was down
//! for a week sends one reminder, not three, and a credential created to last 20 days gets
//! no "30 days" email.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::ids::OrgId;
use crate::db::models::credential::{Credential, Status};
use crate::db::models::notice::{Notice, NoticeKind};
use crate::db::models::org_policy::OrgPolicy;
use crate::notices::{self, Draft};
use crate::policy::Policy;
use crate::webhooks;

/// The thresholds, nearest first.
const THRESHOLDS: [(i64, NoticeKind); 3] = [
    (1, NoticeKind::ExpiresIn1Day),
    (7, NoticeKind::ExpiresIn7Days),
    (30, NoticeKind::ExpiresIn30Days),
];

/// The reminder due at `now` for a credential created at `created_at` that expires at
/// `expires_at`, if any.
pub fn reminder_due(
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<NoticeKind> {
    if expires_at <= now {
        return None;
    }
    let (days, kind) = THRESHOLDS
        .into_iter()
        .find(|(days, _)| expires_at - now <= Duration::days(*days))?;
    (expires_at - Duration::days(days) > created_at).then_some(kind)
}

/// How many days before the expiry the reminder `kind` goes out.
fn days_before(kind: NoticeKind) -> i64 {
    THRESHOLDS
        .into_iter()
        .find(|(_, k)| *k == kind)
        .map_or(0, |(days, _)| days)
}

/// "in 7 days", "in 1 day", "in 5 hours", rounded to the nearest (a job runs a little after
/// the moment it looks at).
fn time_left(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = expires_at - now;
    let days = (left + Duration::hours(12)).num_days();
    let hours = (left + Duration::minutes(30)).num_hours();
    match (days, hours) {
        (2.., _) => format!("in {days} days"),
        (_, 24..) => "in 1 day".into(),
        (_, 2..) => format!("in {hours} hours"),
        _ => "within the hour".into(),
    }
}

async fn reminder(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    kind: NoticeKind,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Draft> {
    let label = notices::credential_label(conn, credential).await?;
    let left = time_left(expires_at, now);
    Ok(Draft {
        kind,
        subject_at: expires_at,
        subject: format!("API credential “{}” expires {left}", credential.name),
        body: format!(
            "The API credential {label} expires on {}, {left}.\n\n\
             From then on its token requests get invalid_client and its access tokens stop \
             working. To keep the integration running, set a later expiry (Edit in its ⋮ \
             menu), or create a replacement and move the integration to it before then.\n\n\
             Owner: {}",
            notices::utc(expires_at),
            credential.owner_email
        ),
    })
}

/// Queues the reminders due at `now` in every organisation; how many emails were added.
/// A reminder is about a credential its organisation's policy calls "Expires soon" (the one
/// status rule: an organisation with a 14-day window gets its first reminder 14 days ahead,
/// never one about a credential the console and the API show as Active). Reminders already
/// queued are skipped with one query, so a run that finds nothing new costs three queries
/// however many credentials are expiring.
pub async fn enqueue_reminders(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let horizon = now + Duration::days(30);
    let policies: HashMap<OrgId, Policy> = OrgPolicy::all(conn)
        .await?
        .iter()
        .map(|row| (row.org_id, Policy::of(row)))
        .collect();
    let due: Vec<_> = Credential::usable_expiring_between(conn, now, horizon)
        .await?
        .into_iter()
        .filter(|c| {
            let policy = policies.get(&c.org_id).copied().unwrap_or_default();
            policy.status(c, now) == Status::ExpiresSoon
        })
        .filter_map(|credential| {
            let expires_at = credential.expires_at?;
            let kind = reminder_due(credential.created_at, expires_at, now)?;
            Some((credential, kind, expires_at))
        })
        .collect();
    let ids: Vec<_> = due.iter().map(|(c, ..)| c.id).collect();
    let queued = Notice::queued_keys(conn, &ids).await?;
    let mut added = 0;
    for (credential, kind, expires_at) in due {
        if queued.contains(&(credential.id, kind, expires_at)) {
            continue;
        }
        // All recipients (and webhooks) or none: a crash halfway must not leave some never told.
        added += conn
            .transaction(async |conn| {
                let draft = reminder(conn, &credential, kind, expires_at, now).await?;
                let days = days_before(kind);
                webhooks::expiry::enqueue_expiring(conn, &credential, days, expires_at, now)
                    .await?;
                notices::enqueue(conn, &credential, &draft, now).await
            })
            .await?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(1000 + days)
    }

    #[test]
    fn the_nearest_threshold_crossed_since_creation_is_due() {
        let created = at(0);
        let expires = at(100);
        assert_eq!(reminder_due(created, expires, at(60)), None, "40 days left");
        assert_eq!(
            reminder_due(created, expires, at(70)),
            Some(NoticeKind::ExpiresIn30Days)
        );
        assert_eq!(
            reminder_due(created, expires, at(93)),
            Some(NoticeKind::ExpiresIn7Days)
        );
        assert_eq!(
            reminder_due(created, expires, at(99)),
            Some(NoticeKind::ExpiresIn1Day)
        );
        assert_eq!(reminder_due(created, expires, at(100)), None, "expired");
    }

    #[test]
    fn a_threshold_already_past_at_creation_sends_nothing() {
        let created = at(0);
        assert_eq!(reminder_due(created, at(20), at(1)), None);
        assert_eq!(
            reminder_due(created, at(20), at(14)),
            Some(NoticeKind::ExpiresIn7Days)
        );
        // The 30-day preset: created exactly 30 days ahead.
        assert_eq!(reminder_due(created, at(30), at(0)), None);
    }

    #[test]
    fn the_time_left_reads_naturally() {
        let now = at(0);
        assert_eq!(time_left(now + Duration::days(7), now), "in 7 days");
        assert_eq!(time_left(now + Duration::hours(30), now), "in 1 day");
        assert_eq!(
            time_left(now + Duration::days(29) - Duration::seconds(3), now),
            "in 29 days"
        );
        assert_eq!(time_left(now + Duration::hours(40), now), "in 2 days");
        assert_eq!(time_left(now + Duration::hours(5), now), "in 5 hours");
        assert_eq!(
            time_left(now + Duration::minutes(20), now),
            "within the hour"
        );
    }
}
