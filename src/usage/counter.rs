//! Usage counted in memory on the hot path (one map increment under a mutex, no write) and
//! added to the database every few seconds by `flush`, in one transaction. A crash loses at
//! most the counts since the last flush (`USAGE_FLUSH_SECONDS`, default 5); with several
//! instances, each adds its own. Refusals seen before the credential was looked up (a
//! throttled caller, a malformed secret) are held by client ID and matched at flush; client
//! IDs that are not ours are dropped then, and at most `MAX_PENDING_CLIENT_IDS` are held.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::ids::CredentialId;
use crate::db::models::usage::{self, CountRow, RefusalRow};
use crate::usage::{RECENT_REFUSALS, RefusalReason, UsageEvent};

/// Bounds what strangers can make this instance hold between flushes.
const MAX_PENDING_CLIENT_IDS: usize = 1_000;

/// Whose usage: a credential, or (not looked up yet) whatever credential has this client ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Credential(CredentialId),
    ClientId(Box<str>),
}

#[derive(Debug, Clone)]
struct Refused {
    at: DateTime<Utc>,
    reason: RefusalReason,
    ip: Option<IpAddr>,
}

#[derive(Debug, Default)]
struct Pending {
    /// (subject, hour as whole hours since the epoch, event) → count.
    counts: HashMap<(Subject, i64, UsageEvent), i64>,
    /// The latest refusals per subject, oldest first.
    refusals: HashMap<Subject, VecDeque<Refused>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.refusals.is_empty()
    }

    fn count(&mut self, subject: Subject, hour: i64, event: UsageEvent, n: i64) {
        *self.counts.entry((subject, hour, event)).or_default() += n;
    }

    fn keep_refusal(&mut self, subject: Subject, refused: Refused) {
        let list = self.refusals.entry(subject).or_default();
        if list.len() == RECENT_REFUSALS {
            list.pop_front();
        }
        list.push_back(refused);
    }

    fn holds_client_id(&self, client_id: &str) -> bool {
        self.refusals
            .contains_key(&Subject::ClientId(client_id.into()))
    }

    fn client_ids(&self) -> usize {
        self.refusals
            .keys()
            .filter(|s| matches!(s, Subject::ClientId(_)))
            .count()
    }
}

fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// Usage of this instance since the last flush.
#[derive(Debug, Default)]
pub struct UsageCounter {
    pending: Mutex<Pending>,
}

impl UsageCounter {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A token issued, introspected or used for `credential` at `at`.
    pub fn record(&self, credential: CredentialId, event: UsageEvent, at: DateTime<Utc>) {
        self.pending()
            .count(Subject::Credential(credential), hour_of(at), event, 1);
    }

    /// A token request of `credential` refused for `reason`.
    pub fn refuse(
        &self,
        credential: CredentialId,
        reason: RefusalReason,
        ip: Option<IpAddr>,
        at: DateTime<Utc>,
    ) {
        let subject = Subject::Credential(credential);
        let mut pending = self.pending();
        pending.count(subject.clone(), hour_of(at), UsageEvent::Refused(reason), 1);
        pending.keep_refusal(subject, Refused { at, reason, ip });
    }

    /// A token request presenting `client_id` refused before its credential was looked up.
    pub fn refuse_client_id(
        &self,
        client_id: &str,
        reason: RefusalReason,
        ip: Option<IpAddr>,
        at: DateTime<Utc>,
    ) {
        let mut pending = self.pending();
        if !pending.holds_client_id(client_id) && pending.client_ids() >= MAX_PENDING_CLIENT_IDS {
            return;
        }
        let subject = Subject::ClientId(client_id.into());
        pending.count(subject.clone(), hour_of(at), UsageEvent::Refused(reason), 1);
        pending.keep_refusal(subject, Refused { at, reason, ip });
    }

    /// Writes what was counted; on failure it is kept for the next flush.
    pub async fn flush(&self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
        let pending = std::mem::take(&mut *self.pending());
        if pending.is_empty() {
            return Ok(());
        }
        let written = conn
            .transaction(async |conn| write(conn, &pending).await)
            .await;
        if written.is_err() {
            self.put_back(pending);
        }
        written
    }

    fn put_back(&self, old: Pending) {
        let mut pending = self.pending();
        for ((subject, hour, event), n) in old.counts {
            pending.count(subject, hour, event, n);
        }
        for (subject, list) in old.refusals {
            // Newer refusals (already in `pending`) stay last.
            let newer = pending.refusals.remove(&subject).unwrap_or_default();
            for refused in list.into_iter().chain(newer) {
                pending.keep_refusal(subject.clone(), refused);
            }
        }
    }
}

async fn write(conn: &mut AsyncPgConnection, pending: &Pending) -> diesel::QueryResult<()> {
    let client_ids: Vec<&str> = pending
        .refusals
        .keys()
        .chain(pending.counts.keys().map(|(s, ..)| s))
        .filter_map(|s| match s {
            Subject::ClientId(id) => Some(&**id),
            Subject::Credential(_) => None,
        })
        .collect();
    let known = usage::credentials_by_client_id(conn, &client_ids).await?;
    let resolve = |subject: &Subject| match subject {
        Subject::Credential(id) => Some(*id),
        Subject::ClientId(client_id) => known.get(&**client_id).copied(),
    };

    // One row per key: a client ID that resolves to a counted credential merges into it.
    let mut counts: HashMap<(CredentialId, i64, UsageEvent), i64> = HashMap::new();
    for ((subject, hour, event), n) in &pending.counts {
        if let Some(id) = resolve(subject) {
            *counts.entry((id, *hour, *event)).or_default() += n;
        }
    }
    let rows: Vec<CountRow> = counts
        .into_iter()
        .filter_map(|((credential_id, hour, event), count)| {
            Some(CountRow {
                credential_id,
                hour: DateTime::from_timestamp(hour.checked_mul(3600)?, 0)?,
                event: event.as_str(),
                count,
            })
        })
        .collect();
    usage::add_counts(conn, &rows).await?;

    let mut refusals = Vec::new();
    for (subject, list) in &pending.refusals {
        let Some(credential_id) = resolve(subject) else {
            continue;
        };
        refusals.extend(list.iter().map(|r| RefusalRow {
            credential_id,
            at: r.at,
            reason: r.reason.as_str(),
            ip: r.ip.map(|ip| ip.to_string()),
        }));
    }
    usage::add_refusals(conn, &refusals).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_latest_refusals_are_held_per_subject() {
        let counter = UsageCounter::default();
        let id = CredentialId::new_random();
        let now = Utc::now();
        for _ in 0..RECENT_REFUSALS + 7 {
            counter.refuse(id, RefusalReason::WrongSecret, None, now);
        }
        let pending = counter.pending();
        let subject = Subject::Credential(id);
        assert_eq!(
            pending.refusals.get(&subject).map(VecDeque::len),
            Some(RECENT_REFUSALS)
        );
        let refused = UsageEvent::Refused(RefusalReason::WrongSecret);
        let key = (subject, hour_of(now), refused);
        assert_eq!(
            pending.counts.get(&key),
            Some(&(RECENT_REFUSALS as i64 + 7))
        );
    }

    #[test]
    fn strangers_cannot_make_an_instance_hold_unbounded_client_ids() {
        let counter = UsageCounter::default();
        let now = Utc::now();
        for i in 0..MAX_PENDING_CLIENT_IDS + 50 {
            counter.refuse_client_id(&format!("m2m_ci_{i}"), RefusalReason::Throttled, None, now);
        }
        // A client ID already held is still counted.
        counter.refuse_client_id("m2m_ci_0", RefusalReason::Throttled, None, now);
        let pending = counter.pending();
        assert_eq!(pending.client_ids(), MAX_PENDING_CLIENT_IDS);
        let key = (
            Subject::ClientId("m2m_ci_0".into()),
            hour_of(now),
            UsageEvent::Refused(RefusalReason::Throttled),
        );
        assert_eq!(pending.counts.get(&key), Some(&2));
    }

    #[test]
    fn a_failed_flush_keeps_everything_with_newer_refusals_last() {
        let counter = UsageCounter::default();
        let id = CredentialId::new_random();
        let t0 = Utc::now();
        counter.refuse(id, RefusalReason::Expired, None, t0);
        let old = std::mem::take(&mut *counter.pending());
        let t1 = t0 + chrono::Duration::seconds(1);
        counter.refuse(id, RefusalReason::WrongSecret, None, t1);
        counter.put_back(old);
        let pending = counter.pending();
        let list: Vec<_> = pending
            .refusals
            .get(&Subject::Credential(id))
            .into_iter()
            .flatten()
            .map(|r| r.reason)
            .collect();
        assert_eq!(list, [RefusalReason::Expired, RefusalReason::WrongSecret]);
        assert_eq!(pending.counts.len(), 2);
    }
}
