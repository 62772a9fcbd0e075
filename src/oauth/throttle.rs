//! Throttling of failed client authentication, per client ID and per address. Only failures
//! are counted, so healthy clients are never slowed. Kept per instance, in memory: it is a
//! brake on guessing, not a security boundary (the 256-bit secrets are the boundary).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Failures allowed per window for one client ID.
const PER_CLIENT: u32 = 20;
/// Failures allowed per window from one address (it may host many clients).
const PER_ADDRESS: u32 = 60;
/// Memory bound: beyond this many tracked keys, expired ones are swept.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Default)]
pub struct FailureThrottle {
    counts: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureThrottle {
    fn keys(client_id: Option<&str>, ip: Option<&str>) -> Vec<(String, u32)> {
        let mut keys = Vec::with_capacity(2);
        if let Some(id) = client_id {
            keys.push((format!("c:{}", &id[..id.len().min(128)]), PER_CLIENT));
        }
        if let Some(ip) = ip {
            keys.push((format!("i:{ip}"), PER_ADDRESS));
        }
        keys
    }

    /// Seconds until another attempt is allowed, when either key is over its allowance.
    pub fn retry_after(&self, client_id: Option<&str>, ip: Option<&str>) -> Option<u64> {
        let counts = self.counts.lock().ok()?;
        let now = Instant::now();
        Self::keys(client_id, ip)
            .into_iter()
            .filter_map(|(key, allowance)| {
                let (count, started) = counts.get(&key)?;
                let elapsed = now.duration_since(*started);
                (elapsed < WINDOW && *count >= allowance)
                    .then(|| (WINDOW - elapsed).as_secs().max(1))
            })
            .max()
    }

    pub fn record_failure(&self, client_id: Option<&str>, ip: Option<&str>) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        let now = Instant::now();
        if counts.len() > MAX_KEYS {
            counts.retain(|_, (_, started)| now.duration_since(*started) < WINDOW);
        }
        for (key, _) in Self::keys(client_id, ip) {
            let entry = counts.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_allowance_are_throttled_per_client() {
        let t = FailureThrottle::default();
        for _ in 0..PER_CLIENT {
            assert_eq!(t.retry_after(Some("a"), Some("1.2.3.4")), None);
            t.record_failure(Some("a"), Some("1.2.3.4"));
        }
        assert!(t.retry_after(Some("a"), Some("5.6.7.8")).is_some());
        assert_eq!(
            t.retry_after(Some("b"), Some("5.6.7.8")),
            None,
            "other clients are not slowed"
        );
    }
}
