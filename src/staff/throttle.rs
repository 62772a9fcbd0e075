//! Sign-in throttling, per (account, address) and per address, never per account alone: a
//! stranger failing from elsewhere must not keep an account's owner out. So a correct
//! password from an address that has not been failing is never refused by the throttle.
//!
//! Every attempt is reserved before its password is verified (one atomic statement over
//! both counters), so N concurrent attempts can never run more verifications than the
//! allowance; a correct password hands its reservation back. Once the reserved attempts
//! reach the allowance, a failure starts a lock-out episode (30 s, doubling with each
//! further episode in the window, at most 15 minutes), after which one more attempt is
//! allowed. Counters live in PostgreSQL, keyed on SHA-256 digests, so every instance sees
//! the same ones and no input ever becomes a key.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

use crate::client_ip::throttle_block;
use crate::db::models::login_attempt;
use crate::random;

/// How long counters last once their first attempt is made.
pub const WINDOW: Duration = Duration::minutes(15);
const FIRST_DELAY: Duration = Duration::seconds(30);
const MAX_DELAY: Duration = Duration::minutes(15);
/// Attempts per account from one address before a lock-out.
const ACCOUNT_AT_ADDRESS_ALLOWANCE: i32 = 5;
/// Per address, more: many people may sign in from behind one office NAT.
const ADDRESS_ALLOWANCE: i32 = 20;

/// What a lock-out episode was about, named in its audit row's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    AccountAtAddress,
    Address,
}

pub struct ThrottleKeys {
    account_at_address: Vec<u8>,
    address: Vec<u8>,
}

impl ThrottleKeys {
    /// `email` must already be normalised and checked (no control characters); unknown
    /// addresses are counted like real ones, so the throttle says nothing about which
    /// accounts exist. An IPv6 caller is counted by its /64.
    pub fn new(email: &str, ip: Option<IpAddr>) -> Self {
        let block = ip.map_or_else(
            || "unknown".to_string(),
            |ip| throttle_block(ip).to_string(),
        );
        Self {
            account_at_address: random::sha256(
                format!("account-at-address\n{email}\n{block}").as_bytes(),
            ),
            address: random::sha256(format!("address\n{block}").as_bytes()),
        }
    }

    /// The keys of second-factor codes for `user`: counted apart from passwords, so the
    /// code step has its own allowance (per user at an address, and per address).
    pub fn two_factor(user: crate::db::ids::UserId, ip: Option<IpAddr>) -> Self {
        let block = ip.map_or_else(
            || "unknown".to_string(),
            |ip| throttle_block(ip).to_string(),
        );
        Self {
            account_at_address: random::sha256(
                format!("two-factor-at-address\n{user}\n{block}").as_bytes(),
            ),
            address: random::sha256(format!("two-factor-address\n{block}").as_bytes()),
        }
    }

    fn with_allowances(&self) -> [(Vec<u8>, i32, Scope); 2] {
        [
            (
                self.account_at_address.clone(),
                ACCOUNT_AT_ADDRESS_ALLOWANCE,
                Scope::AccountAtAddress,
            ),
            (self.address.clone(), ADDRESS_ALLOWANCE, Scope::Address),
        ]
    }
}

/// Reserves this attempt under both keys, or neither: `Ok(None)` when reserved, otherwise
/// the seconds to wait.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    keys: &ThrottleKeys,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<i64>> {
    let pairs: Vec<(Vec<u8>, i32)> = keys
        .with_allowances()
        .into_iter()
        .map(|(key, allowance, _)| (key, allowance))
        .collect();
    let refused_until = login_attempt::reserve(conn, &pairs, now, WINDOW).await?;
    Ok(refused_until.map(|t| (t - now).num_seconds().max(1)))
}

/// Code attempts one pending sign-in (a right password waiting for its code) may make,
/// whatever addresses they come from; then the password step starts again.
pub const PENDING_CODE_ATTEMPTS: i32 = 5;

fn pending_key(pending: &str) -> Vec<u8> {
    random::sha256(format!("two-factor-pending\n{pending}").as_bytes())
}

/// Counts a code attempt of the pending sign-in `pending` (its random id): which attempt it
/// is, or `None` once it had `PENDING_CODE_ATTEMPTS`.
pub async fn reserve_pending_attempt(
    conn: &mut AsyncPgConnection,
    pending: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<i32>> {
    login_attempt::count_up_to(conn, &pending_key(pending), PENDING_CODE_ATTEMPTS, now).await
}

/// The pending sign-in is over (signed in): its counter goes.
pub async fn forget_pending(
    conn: &mut AsyncPgConnection,
    pending: &str,
) -> diesel::QueryResult<()> {
    login_attempt::forget(conn, &pending_key(pending)).await
}

/// Records a failed attempt; returns the scopes whose lock-out episode it started.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    keys: &ThrottleKeys,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Scope>> {
    let mut started = Vec::new();
    for (key, allowance, scope) in keys.with_allowances() {
        if login_attempt::record_failure(conn, &key, allowance, now, FIRST_DELAY, MAX_DELAY).await?
        {
            started.push(scope);
        }
    }
    Ok(started)
}

/// A correct password: the account's owner is forgiven at this address, and the address
/// gets its reservation back.
pub async fn record_success(
    conn: &mut AsyncPgConnection,
    keys: &ThrottleKeys,
) -> diesel::QueryResult<()> {
    login_attempt::forget(conn, &keys.account_at_address).await?;
    login_attempt::release(conn, &keys.address).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_digests_and_ipv6_callers_count_by_their_64() {
        let a = ThrottleKeys::new("ops@acme.test", "2001:db8::1".parse().ok());
        let b = ThrottleKeys::new("ops@acme.test", "2001:db8::ffff".parse().ok());
        let c = ThrottleKeys::new("ops@acme.test", "2001:db8:0:1::1".parse().ok());
        assert_eq!(a.account_at_address, b.account_at_address);
        assert_ne!(a.account_at_address, c.account_at_address);
        assert_eq!(a.address.len(), 32);
        let long = ThrottleKeys::new(&"x".repeat(10_000), None);
        assert_eq!(long.account_at_address.len(), 32);
    }
}
