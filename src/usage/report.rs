//! A credential's usage as its page shows it: the last 24 hours by hour, the last 30 days by
//! day (UTC), and its latest refusals.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::db::ids::CredentialId;
use crate::db::models::usage::{self, StoredRefusal};
use crate::usage::{RefusalReason, UsageEvent};

pub const HOURS: i64 = 24;
pub const DAYS: i64 = 30;

/// What happened in one hour or day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub issued: i64,
    pub introspected: i64,
    pub bearer_used: i64,
    pub refused: BTreeMap<RefusalReason, i64>,
}

impl Bucket {
    fn empty(start: DateTime<Utc>) -> Self {
        Self {
            start,
            issued: 0,
            introspected: 0,
            bearer_used: 0,
            refused: BTreeMap::new(),
        }
    }

    fn add(&mut self, event: UsageEvent, n: i64) {
        let slot = match event {
            UsageEvent::TokenIssued => &mut self.issued,
            UsageEvent::Introspected => &mut self.introspected,
            UsageEvent::BearerUsed => &mut self.bearer_used,
            UsageEvent::Refused(reason) => self.refused.entry(reason).or_default(),
        };
        *slot = slot.saturating_add(n);
    }

    pub fn refused_total(&self) -> i64 {
        self.refused.values().sum()
    }

    pub fn refused_for(&self, reason: RefusalReason) -> i64 {
        self.refused.get(&reason).copied().unwrap_or(0)
    }
}

/// A refusal as the page lists it.
#[derive(Debug, Clone)]
pub struct RecentRefusal {
    pub at: DateTime<Utc>,
    /// `None`: a value this build does not know (written by a newer one).
    pub reason: Option<RefusalReason>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UsageReport {
    /// Oldest first; the last is the current hour.
    pub hours: Vec<Bucket>,
    /// Oldest first; the last is today.
    pub days: Vec<Bucket>,
    pub refusals: Vec<RecentRefusal>,
}

fn truncate(at: DateTime<Utc>, unit: Duration) -> DateTime<Utc> {
    at.duration_trunc(unit).unwrap_or(at)
}

/// Buckets `rows` (hour, event, count) into `n` buckets of `unit` ending with the one holding
/// `now`.
fn buckets(
    rows: &[(DateTime<Utc>, String, i64)],
    now: DateTime<Utc>,
    unit: Duration,
    n: i64,
) -> Vec<Bucket> {
    let last = truncate(now, unit);
    let first = last - unit * i32::try_from(n - 1).unwrap_or(0);
    let mut out: Vec<Bucket> = (0..n)
        .map(|i| Bucket::empty(first + unit * i32::try_from(i).unwrap_or(0)))
        .collect();
    for (hour, event, count) in rows {
        let (Some(event), true) = (UsageEvent::parse(event), *hour >= first) else {
            continue;
        };
        let index = (truncate(*hour, unit) - first).num_seconds() / unit.num_seconds().max(1);
        if let Some(bucket) = usize::try_from(index).ok().and_then(|i| out.get_mut(i)) {
            bucket.add(event, *count);
        }
    }
    out
}

/// The report of `credential` at `now`; the caller has checked the credential is the actor's.
pub async fn for_credential(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    now: DateTime<Utc>,
) -> QueryResult<UsageReport> {
    let since = truncate(now, Duration::days(1)) - Duration::days(DAYS - 1);
    let rows = usage::hourly_since(conn, credential, since).await?;
    let refusals = usage::recent_refusals(conn, credential)
        .await?
        .into_iter()
        .map(|StoredRefusal { at, reason, ip }| RecentRefusal {
            at,
            reason: RefusalReason::parse(&reason),
            ip,
        })
        .collect();
    Ok(UsageReport {
        hours: buckets(&rows, now, Duration::hours(1), HOURS),
        days: buckets(&rows, now, Duration::days(1), DAYS),
        refusals,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn rows_land_in_their_hour_and_day_and_old_ones_are_left_out() {
        let now = at("2026-12-02T15:24:00Z");
        let rows = vec![
            (at("2026-12-02T15:00:00Z"), "token_issued".to_string(), 3),
            (at("2026-12-02T14:00:00Z"), "refused_address".to_string(), 2),
            (at("2026-12-01T16:00:00Z"), "refused_secret".to_string(), 1),
            (at("2026-12-01T15:00:00Z"), "token_issued".to_string(), 7),
            (at("2026-11-03T00:00:00Z"), "token_issued".to_string(), 5),
            (at("2026-11-02T23:00:00Z"), "token_issued".to_string(), 99),
            (at("2026-12-02T15:00:00Z"), "from_the_future".to_string(), 1),
        ];
        let hours = buckets(&rows, now, Duration::hours(1), HOURS);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[23].start, at("2026-12-02T15:00:00Z"));
        assert_eq!(hours[23].issued, 3);
        assert_eq!(hours[22].refused_for(RefusalReason::AddressNotAllowed), 2);
        assert_eq!(hours[0].start, at("2026-12-01T16:00:00Z"));
        assert_eq!(hours[0].refused_total(), 1);
        assert_eq!(
            hours.iter().map(|h| h.issued).sum::<i64>(),
            3,
            "15:00 yesterday is out"
        );

        let days = buckets(&rows, now, Duration::days(1), DAYS);
        assert_eq!(days.len(), 30);
        assert_eq!(days[29].start, at("2026-12-02T00:00:00Z"));
        assert_eq!(days[29].issued, 3);
        assert_eq!(days[28].issued, 7);
        assert_eq!(days[0].start, at("2026-11-03T00:00:00Z"));
        assert_eq!(days[0].issued, 5, "the day before the window is out");
    }
}
