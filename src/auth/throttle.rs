//! Sign-in throttling per account and per IP: after a few failures inside a window, each
//! further attempt is refused for a delay that doubles, capped so that a real user is never
//! locked out for long. Counters live in Postgres, so every instance sees the same ones.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::models::login_throttle;

const WINDOW: Duration = Duration::minutes(15);
const FIRST_DELAY_SECS: i64 = 30;
const MAX_DELAY: Duration = Duration::minutes(15);
/// Free failures per account before delays start.
const ACCOUNT_ALLOWANCE: i32 = 5;
/// Per address, more: many people may sign in from behind one office NAT.
const IP_ALLOWANCE: i32 = 20;

pub struct ThrottleKeys {
    account: String,
    ip: Option<String>,
}

impl ThrottleKeys {
    /// `email` must already be normalised; unknown addresses are counted like real ones so
    /// the throttle says nothing about which accounts exist.
    pub fn new(email: &str, ip: Option<IpAddr>) -> Self {
        Self {
            account: format!("email:{email}"),
            ip: ip.map(|ip| format!("ip:{ip}")),
        }
    }

    fn all(&self) -> Vec<String> {
        std::iter::once(self.account.clone())
            .chain(self.ip.clone())
            .collect()
    }
}

/// Seconds to wait when any key is locked.
pub async fn retry_after(
    conn: &mut AsyncPgConnection,
    keys: &ThrottleKeys,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<i64>> {
    let until = login_throttle::locked_until(conn, &keys.all(), now).await?;
    Ok(until.map(|t| (t - now).num_seconds().max(1)))
}

fn delay_after(failures: i32, allowance: i32) -> Option<Duration> {
    let over = failures - allowance;
    if over < 0 {
        return None;
    }
    let doubled = FIRST_DELAY_SECS.saturating_mul(1_i64 << over.min(20));
    Some(Duration::seconds(doubled).min(MAX_DELAY))
}

pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    keys: &ThrottleKeys,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let window_start = now - WINDOW;
    let mut targets = vec![(keys.account.as_str(), ACCOUNT_ALLOWANCE)];
    if let Some(ip) = &keys.ip {
        targets.push((ip.as_str(), IP_ALLOWANCE));
    }
    for (key, allowance) in targets {
        let failures = login_throttle::record_failure(conn, key, now, window_start).await?;
        if let Some(delay) = delay_after(failures, allowance) {
            login_throttle::lock(conn, key, now + delay).await?;
        }
    }
    Ok(())
}

/// A successful sign-in forgives the account's failures (not the address's).
pub async fn record_success(
    conn: &mut AsyncPgConnection,
    keys: &ThrottleKeys,
) -> diesel::QueryResult<()> {
    login_throttle::clear(conn, &keys.account).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_starts_at_the_allowance_and_doubles_up_to_the_cap() {
        assert_eq!(delay_after(4, 5), None);
        assert_eq!(delay_after(5, 5), Some(Duration::seconds(30)));
        assert_eq!(delay_after(6, 5), Some(Duration::seconds(60)));
        assert_eq!(delay_after(7, 5), Some(Duration::seconds(120)));
        assert_eq!(delay_after(60, 5), Some(MAX_DELAY));
    }
}
