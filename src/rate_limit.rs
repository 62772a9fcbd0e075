//! A request allowance per address (or per calling credential) over a fixed window, kept per instance in memory: each
//! request reserves its place before any work is done, so a burst cannot slip past it, and
//! a window ends on its own, so no one can hold an address locked out for longer.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::client_ip::throttle_block;

/// Memory bound: beyond this many tracked keys, expired windows are swept.
const MAX_KEYS: usize = 50_000;

/// What is left of a key's allowance after a request took its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub remaining: u32,
    /// Seconds until the window ends and the allowance is whole again.
    pub reset_after: u64,
}

/// An allowance per key (an address block, a calling credential) and window.
#[derive(Debug)]
pub struct WindowLimiter<K = Option<IpNet>> {
    allowance: u32,
    window: Duration,
    counts: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Hash + Eq> WindowLimiter<K> {
    pub fn new(allowance: u32, window: Duration) -> Self {
        Self {
            allowance,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    pub fn allowance(&self) -> u32 {
        self.allowance
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    fn counts(&self) -> MutexGuard<'_, HashMap<K, (u32, Instant)>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one place for `key`, or says in how many seconds the next one frees up.
    pub fn take(&self, key: K) -> Result<Left, u64> {
        let mut counts = self.counts();
        let now = Instant::now();
        if counts.len() > MAX_KEYS {
            counts.retain(|_, (_, started)| now.duration_since(*started) < self.window);
        }
        let entry = counts.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        let left = self.window.saturating_sub(now.duration_since(entry.1));
        let reset_after = left.as_secs().max(1);
        if entry.0 >= self.allowance {
            return Err(reset_after);
        }
        entry.0 += 1;
        Ok(Left {
            remaining: self.allowance - entry.0,
            reset_after,
        })
    }
}

impl WindowLimiter<Option<IpNet>> {
    /// Takes one place for `ip` (an IPv6 caller counts by its /64), or says in how many
    /// seconds the next one frees up.
    pub fn reserve(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        self.take(ip.map(throttle_block)).map(|_| ())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn each_address_gets_its_allowance_per_window() {
        let limiter = WindowLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.reserve(ip("192.0.2.1")), Ok(()));
        }
        let retry = limiter.reserve(ip("192.0.2.1")).unwrap_err();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(limiter.reserve(ip("192.0.2.2")), Ok(()), "another address");
        assert!(limiter.reserve(ip("2001:db8::1")).is_ok());
    }

    #[test]
    fn take_says_what_is_left() {
        let limiter = WindowLimiter::new(2, Duration::from_secs(60));
        assert_eq!(limiter.take(7).unwrap().remaining, 1);
        assert_eq!(limiter.take(7).unwrap().remaining, 0);
        assert!(limiter.take(7).is_err());
        assert_eq!(limiter.take(8).unwrap().remaining, 1);
    }

    #[test]
    fn a_window_ends_on_its_own() {
        let limiter = WindowLimiter::new(1, Duration::from_millis(50));
        assert!(limiter.reserve(ip("192.0.2.1")).is_ok());
        assert!(limiter.reserve(ip("192.0.2.1")).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.reserve(ip("192.0.2.1")).is_ok());
    }
}
