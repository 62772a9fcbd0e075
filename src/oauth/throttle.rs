//! Throttling of failed client authentication. Failures are counted per (client ID, caller's
//! address) and per address, never per client ID alone: client IDs are not secret, so a
//! count that anyone could raise would let a stranger lock a real integration out. A correct
//! secret from an address that has not been failing is therefore never refused. Only
//! failures are counted, so healthy clients are never slowed.
//!
//! Kept per instance, in memory: it is a brake on guessing, not a security boundary (the
//! 256-bit secrets are). Keys hold only a validated client ID and a network, never raw input.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::client_ip::throttle_block;

const WINDOW: Duration = Duration::from_secs(60);
/// Failures allowed per window for one client ID from one address.
const PER_CLIENT_AND_ADDRESS: u32 = 20;
/// Failures allowed per window from one address (it may host many clients).
const PER_ADDRESS: u32 = 60;
/// Memory bound: beyond this many tracked keys, expired ones are swept.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A well-formed client ID (see `tokens::is_client_id`) from one network.
    ClientAt(String, Option<IpNet>),
    Address(Option<IpNet>),
}

#[derive(Debug, Default)]
pub struct FailureThrottle {
    counts: Mutex<HashMap<Key, (u32, Instant)>>,
}

impl FailureThrottle {
    fn keys(client_id: Option<&str>, ip: Option<IpAddr>) -> Vec<(Key, u32)> {
        let block = ip.map(throttle_block);
        let mut keys = vec![(Key::Address(block), PER_ADDRESS)];
        if let Some(id) = client_id {
            keys.push((Key::ClientAt(id.to_string(), block), PER_CLIENT_AND_ADDRESS));
        }
        keys
    }

    /// The counters, even after a panic elsewhere poisoned the lock: a counter map has no
    /// invariant a half-finished update could break, and losing the throttle is worse.
    fn counts(&self) -> MutexGuard<'_, HashMap<Key, (u32, Instant)>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Seconds until another attempt is allowed, when either key is over its allowance.
    /// `client_id` must already be known to be well-formed.
    pub fn retry_after(&self, client_id: Option<&str>, ip: Option<IpAddr>) -> Option<u64> {
        let counts = self.counts();
        let now = Instant::now();
        Self::keys(client_id, ip)
            .into_iter()
            .filter_map(|(key, allowance)| {
                let (count, started) = counts.get(&key)?;
                let elapsed = now.duration_since(*started);
                (elapsed < WINDOW && *count >= allowance)
                    .then(|| WINDOW.saturating_sub(elapsed).as_secs().max(1))
            })
            .max()
    }

    pub fn record_failure(&self, client_id: Option<&str>, ip: Option<IpAddr>) {
        let mut counts = self.counts();
        let now = Instant::now();
        if counts.len() > MAX_KEYS {
            counts.retain(|_, (_, started)| now.duration_since(*started) < WINDOW);
        }
        for (key, _) in Self::keys(client_id, ip) {
            let entry = counts.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 = entry.0.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn failures_are_throttled_per_client_and_address_not_per_client() {
        let t = FailureThrottle::default();
        for _ in 0..PER_CLIENT_AND_ADDRESS {
            assert_eq!(t.retry_after(Some("m2m_ci_a"), ip("192.0.2.1")), None);
            t.record_failure(Some("m2m_ci_a"), ip("192.0.2.1"));
        }
        assert!(t.retry_after(Some("m2m_ci_a"), ip("192.0.2.1")).is_some());
        assert_eq!(
            t.retry_after(Some("m2m_ci_a"), ip("198.51.100.7")),
            None,
            "the same client from another address is not slowed"
        );
        assert_eq!(
            t.retry_after(Some("m2m_ci_b"), ip("192.0.2.1")),
            None,
            "other clients at the failing address are not slowed yet"
        );
    }

    #[test]
    fn an_address_failing_for_many_clients_is_throttled() {
        let t = FailureThrottle::default();
        for i in 0..PER_ADDRESS {
            t.record_failure(Some(&format!("m2m_ci_{i}")), ip("2001:db8::1"));
        }
        assert!(
            t.retry_after(Some("m2m_ci_new"), ip("2001:db8::2"))
                .is_some(),
            "one IPv6 /64 is one caller"
        );
        assert_eq!(t.retry_after(Some("m2m_ci_new"), ip("2001:db8:1::1")), None);
    }

    #[test]
    fn a_poisoned_lock_does_not_turn_the_throttle_off() {
        let t = std::sync::Arc::new(FailureThrottle::default());
        let poisoner = t.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.counts.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(t.counts.is_poisoned());
        for _ in 0..PER_CLIENT_AND_ADDRESS {
            t.record_failure(Some("m2m_ci_a"), ip("192.0.2.1"));
        }
        assert!(t.retry_after(Some("m2m_ci_a"), ip("192.0.2.1")).is_some());
    }
}
