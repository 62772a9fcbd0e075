//! Everything the hot path counts, in memory, with no write and no lock shared between worker
//! threads: each thread records into a shard of its own (an uncontended mutex), and `flush`
//! merges the shards every few seconds and writes them in one transaction: hourly counts per
//! credential and event, the latest refusals, each secret's uses, and the last use (time and
//! address) of each credential, secret and token. So a token request writes nothing but its
//! token, and a bearer check nothing at all. A crash loses at most the counts since the last
//! flush (`USAGE_FLUSH_SECONDS`, default 5; a graceful stop flushes first); with several
//! instances, each adds its own, and a last use only ever moves forward. Refusals seen before
//! the credential was looked up (a throttled caller, a malformed secret) are held by client ID
//! and matched at flush; client IDs that are not ours are dropped then, and at most
//! `MAX_PENDING_CLIENT_IDS` are held.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use crate::db::ids::{CredentialId, TokenId};
use crate::usage::{RECENT_REFUSALS, RefusalReason, UsageEvent};

/// Shards of the counter: more than the worker threads of any instance we run, so that
/// threads rarely share one.
const SHARDS: usize = 8;
/// Bounds what strangers can make this instance hold between flushes.
const MAX_PENDING_CLIENT_IDS: usize = 1_000;
/// Bounds the tokens whose last use is held between flushes (a token's last use is shown on
/// its credential's page; beyond this many, further tokens' uses wait for a later flush).
const MAX_PENDING_TOKENS: usize = 20_000;

/// Whose usage: a credential, or (not looked up yet) whatever credential has this client ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    Credential(CredentialId),
    ClientId(Box<str>),
}

#[derive(Debug, Clone)]
pub(crate) struct Refused {
    pub at: DateTime<Utc>,
    pub reason: RefusalReason,
    pub ip: Option<IpAddr>,
}

/// When something was last used, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastUse {
    pub at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
}

impl LastUse {
    fn merge(&mut self, other: LastUse) {
        if other.at >= self.at {
            *self = other;
        }
    }
}

/// Token requests authenticated with one secret version: how many, and the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretUse {
    pub uses: i64,
    pub last: LastUse,
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// (subject, hour as whole hours since the epoch, event) → count.
    pub counts: HashMap<(Subject, i64, UsageEvent), i64>,
    /// The latest refusals per subject, oldest first.
    pub refusals: HashMap<Subject, VecDeque<Refused>>,
    /// Token requests per (credential, secret version).
    pub secrets: HashMap<(CredentialId, i32), SecretUse>,
    /// The latest bearer use of each credential's tokens.
    pub bearer: HashMap<CredentialId, LastUse>,
    /// The latest use of each token presented as a bearer token.
    pub tokens: HashMap<TokenId, DateTime<Utc>>,
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.refusals.is_empty()
            && self.secrets.is_empty()
            && self.bearer.is_empty()
            && self.tokens.is_empty()
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

    fn secret_used(&mut self, key: (CredentialId, i32), uses: i64, last: LastUse) {
        self.secrets
            .entry(key)
            .and_modify(|s| {
                s.uses += uses;
                s.last.merge(last);
            })
            .or_insert(SecretUse { uses, last });
    }

    fn bearer_used(&mut self, credential: CredentialId, last: LastUse) {
        self.bearer
            .entry(credential)
            .and_modify(|l| l.merge(last))
            .or_insert(last);
    }

    fn token_used(&mut self, token: TokenId, at: DateTime<Utc>) {
        let held = self.tokens.len();
        match self.tokens.get_mut(&token) {
            Some(t) => *t = (*t).max(at),
            None if held < MAX_PENDING_TOKENS / SHARDS => {
                self.tokens.insert(token, at);
            }
            None => {}
        }
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

    /// Adds `older` (counted before what is here) into this.
    fn absorb(&mut self, older: Pending) {
        for ((subject, hour, event), n) in older.counts {
            self.count(subject, hour, event, n);
        }
        for (subject, list) in older.refusals {
            // What is here is newer and stays last.
            let newer = self.refusals.remove(&subject).unwrap_or_default();
            for refused in list.into_iter().chain(newer) {
                self.keep_refusal(subject.clone(), refused);
            }
        }
        for (key, s) in older.secrets {
            self.secret_used(key, s.uses, s.last);
        }
        for (credential, last) in older.bearer {
            self.bearer_used(credential, last);
        }
        for (token, at) in older.tokens {
            self.tokens
                .entry(token)
                .and_modify(|t| *t = (*t).max(at))
                .or_insert(at);
        }
    }
}

fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// The shard of the calling thread, given out in turn as threads first count.
fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// Usage of this instance since the last flush.
#[derive(Debug, Default)]
pub struct UsageCounter {
    shards: [Mutex<Pending>; SHARDS],
}

impl UsageCounter {
    /// The calling thread's shard, even after a panic elsewhere poisoned it: counts have no
    /// invariant a half-finished update could break.
    fn pending(&self) -> MutexGuard<'_, Pending> {
        let shard = self.shards.get(my_shard()).unwrap_or(&self.shards[0]);
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A token issued to `credential`, whose caller authenticated with the secret of
    /// `secret_version`, from `ip` at `at`.
    pub fn token_issued(
        &self,
        credential: CredentialId,
        secret_version: i32,
        ip: Option<IpAddr>,
        at: DateTime<Utc>,
    ) {
        let mut pending = self.pending();
        let subject = Subject::Credential(credential);
        pending.count(subject, hour_of(at), UsageEvent::TokenIssued, 1);
        pending.secret_used((credential, secret_version), 1, LastUse { at, ip });
    }

    /// A token issued to `credential` whose caller signed an assertion with one of its keys:
    /// no secret was used, so only the credential's last use moves (with the bearer uses).
    pub fn token_issued_by_key(
        &self,
        credential: CredentialId,
        ip: Option<IpAddr>,
        at: DateTime<Utc>,
    ) {
        let mut pending = self.pending();
        let subject = Subject::Credential(credential);
        pending.count(subject, hour_of(at), UsageEvent::TokenIssued, 1);
        pending.bearer_used(credential, LastUse { at, ip });
    }

    /// A token of `credential` introspected (by any client of its organisation) at `at`.
    pub fn introspected(&self, credential: CredentialId, at: DateTime<Utc>) {
        let subject = Subject::Credential(credential);
        let event = UsageEvent::Introspected;
        self.pending().count(subject, hour_of(at), event, 1);
    }

    /// `token` of `credential` accepted as a bearer token from `ip` at `at`.
    pub fn bearer_used(
        &self,
        credential: CredentialId,
        token: TokenId,
        ip: Option<IpAddr>,
        at: DateTime<Utc>,
    ) {
        let mut pending = self.pending();
        let subject = Subject::Credential(credential);
        pending.count(subject, hour_of(at), UsageEvent::BearerUsed, 1);
        pending.bearer_used(credential, LastUse { at, ip });
        pending.token_used(token, at);
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
        if !pending.holds_client_id(client_id)
            && pending.client_ids() >= MAX_PENDING_CLIENT_IDS / SHARDS
        {
            return;
        }
        let subject = Subject::ClientId(client_id.into());
        pending.count(subject.clone(), hour_of(at), UsageEvent::Refused(reason), 1);
        pending.keep_refusal(subject, Refused { at, reason, ip });
    }

    /// Everything counted so far, every shard's, merged; the shards start again empty.
    pub(super) fn take_all(&self) -> Pending {
        let mut all = Pending::default();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(PoisonError::into_inner));
            all.absorb(taken);
        }
        all
    }

    /// Returns what a failed flush took, to be written by the next one.
    pub(super) fn put_back(&self, old: Pending) {
        self.pending().absorb(old);
    }
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
        let pending = counter.take_all();
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
        let pending = counter.take_all();
        assert_eq!(pending.client_ids(), MAX_PENDING_CLIENT_IDS / SHARDS);
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

    #[test]
    fn counts_from_every_thread_are_merged_and_the_latest_use_wins() {
        let counter = std::sync::Arc::new(UsageCounter::default());
        let id = CredentialId::new_random();
        let t0 = Utc::now();
        let threads: Vec<_> = (0..SHARDS as i64 * 2)
            .map(|i| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let at = t0 + chrono::Duration::seconds(i);
                    let ip = format!("10.0.0.{i}").parse().ok();
                    counter.token_issued(id, 3, ip, at);
                    counter.token_issued(id, 2, ip, at);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let all = counter.take_all();
        let issued = (
            Subject::Credential(id),
            hour_of(t0),
            UsageEvent::TokenIssued,
        );
        let counted = all.counts.get(&issued).copied().unwrap_or(0);
        let later = all
            .counts
            .iter()
            .filter(|((s, h, e), _)| *s == issued.0 && *h != issued.1 && *e == issued.2)
            .map(|(_, n)| n)
            .sum::<i64>();
        assert_eq!(counted + later, SHARDS as i64 * 4);
        let current = all.secrets.get(&(id, 3)).unwrap();
        assert_eq!(current.uses, SHARDS as i64 * 2);
        let last = t0 + chrono::Duration::seconds(SHARDS as i64 * 2 - 1);
        assert_eq!(current.last.at, last);
        assert_eq!(
            current.last.ip,
            format!("10.0.0.{}", SHARDS * 2 - 1).parse().ok()
        );
        assert!(
            counter.take_all().is_empty(),
            "the shards start again empty"
        );
    }
}
