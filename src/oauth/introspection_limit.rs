//! The limit on introspection and revocation per calling credential (RFC 7662 §4: without
//! one, a leaked introspection credential is a token oracle at line rate). Its allowance is
//! `INTROSPECTION_RATE_LIMIT_PER_MINUTE` per client ID, shared by every instance through the
//! `introspection` windows of `limit_windows`.
//!
//! The success path pays no round trip and takes no row lock for it: the caller's window is
//! read by the statement that looks the caller up anyway (`client_lookup::find_client`), each
//! instance counts its own calls in memory, and the flush job adds them to the window every
//! `USAGE_FLUSH_SECONDS`. A write per call would serialise every call of one credential on
//! one row (each waiting for the previous commit). The price: instances see each other's
//! calls up to one flush late, so a caller spread over N instances may exceed the allowance
//! by what N instances serve in one flush interval, never more.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::db::models::limit_window::{LimitKind, Window};
use crate::rate_limit::WindowLimiter;

/// The length of a window.
pub const WINDOW: Duration = Duration::seconds(60);

/// The allowance and what this instance counted since its last flush.
#[derive(Debug)]
pub struct IntrospectionLimit {
    limiter: WindowLimiter,
    /// Calls per client ID not yet added to the shared window.
    pending: Mutex<HashMap<String, u32>>,
}

impl IntrospectionLimit {
    pub fn new(per_minute: u32) -> Self {
        let window = WINDOW
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60));
        Self {
            limiter: WindowLimiter::new(LimitKind::Introspection, per_minute, window),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call of `client_id`, whose shared window the lookup read as `shared`, and
    /// counts it; `Err(seconds)` when the allowance is used up (the refused call is not
    /// counted, so a caller that waits gets its whole allowance back).
    pub fn admit(
        &self,
        client_id: &str,
        shared: Option<Window>,
        now: DateTime<Utc>,
    ) -> Result<(), u64> {
        let Ok(mut pending) = self.pending.lock() else {
            // A poisoned map only loses counts; never refuse a caller for it.
            return Ok(());
        };
        let here = pending.get(client_id).copied().unwrap_or(0);
        let there = shared.map_or(0, |w| u32::try_from(w.hits).unwrap_or(u32::MAX));
        if here.saturating_add(there) >= self.limiter.allowance() {
            let secs = shared.map_or(self.limiter.window_secs(), |w| {
                w.seconds_left(self.limiter.window(), now)
            });
            return Err(secs.max(1));
        }
        // A caller's key is allocated once per flush interval, not on every call.
        match pending.get_mut(client_id) {
            Some(count) => *count += 1,
            None => {
                pending.insert(client_id.to_string(), 1);
            }
        }
        Ok(())
    }

    /// Adds what this instance counted to the shared windows (the flush job). Counts that
    /// could not be written are kept for the next flush.
    pub async fn flush(&self, conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<()> {
        let taken: Vec<(String, u32)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(()),
        };
        let mut result = Ok(());
        let mut kept = Vec::new();
        for (client_id, n) in taken {
            if result.is_ok() {
                match self.limiter.add(conn, &client_id, n, now).await {
                    Ok(()) => continue,
                    Err(e) => result = Err(e),
                }
            }
            kept.push((client_id, n));
        }
        if !kept.is_empty()
            && let Ok(mut pending) = self.pending.lock()
        {
            for (client_id, n) in kept {
                *pending.entry(client_id).or_insert(0) += n;
            }
        }
        result
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn calls_here_and_elsewhere_share_one_allowance() {
        let limit = IntrospectionLimit::new(3);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let elsewhere = Window {
            hits: 2,
            started_at: now - Duration::seconds(20),
        };
        assert_eq!(limit.admit("a", Some(elsewhere), now), Ok(()));
        assert_eq!(limit.admit("a", Some(elsewhere), now), Err(40));
        // Another caller is not affected.
        assert_eq!(limit.admit("b", None, now), Ok(()));
        assert_eq!(limit.admit("b", None, now), Ok(()));
        assert_eq!(limit.admit("b", None, now), Ok(()));
        assert_eq!(limit.admit("b", None, now), Err(60));
    }
}
