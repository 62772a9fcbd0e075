//! Throttling of failed client authentication. Failures are counted per (client ID, caller's
//! address block) and per address block, never per client ID alone: client IDs are not
//! secret, so a count that anyone could raise would let a stranger lock a real integration
//! out. A correct secret from an address that has not been failing is therefore never
//! refused. Only failures are counted, so healthy clients are never slowed.
//!
//! The counters are windows in PostgreSQL (`limit_window`), shared by every instance, so the
//! allowances hold whatever the instance count. They are read by the statement that looks the
//! client up anyway (`issuance::ThrottleCheck`) and written only when a client fails: a client
//! that authenticates pays nothing for them. Windows hold only a validated client ID and an
//! address block, never raw input.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use ipnet::IpNet;

use crate::client_ip::throttle_block;
use crate::db::models::issuance::ThrottleCheck;
use crate::db::models::limit_window::{self, LimitKind, WindowKey};

/// The length of a throttle window.
pub const WINDOW: Duration = Duration::seconds(60);
/// Failures allowed per window for one client ID from one address block.
pub const PER_CLIENT_AND_ADDRESS: i32 = 20;
/// Failures allowed per window from one address block (it may host many clients).
pub const PER_ADDRESS: i32 = 60;

/// The block a caller counts in (an IPv6 caller by its /64).
pub fn network(ip: Option<IpAddr>) -> IpNet {
    ip.map(throttle_block)
        .unwrap_or_else(limit_window::any_network)
}

/// What the lookup statements check for a caller at `ip`.
pub fn check(ip: Option<IpAddr>, now: DateTime<Utc>) -> ThrottleCheck {
    ThrottleCheck {
        network: network(ip),
        since: now - WINDOW,
        per_client_at_address: PER_CLIENT_AND_ADDRESS,
        per_address: PER_ADDRESS,
    }
}

/// Counts one failed authentication from `ip` (and of `client_id`, when it has our shape).
/// Returns the seconds to wait when the caller was already over an allowance before this
/// failure (it was not checked by a lookup: its client ID or secret was malformed).
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    client_id: Option<&str>,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> QueryResult<Option<u64>> {
    let network = network(ip);
    let mut keys = vec![(
        WindowKey {
            kind: LimitKind::OAuthAddress,
            subject: "",
            network,
        },
        PER_ADDRESS,
    )];
    if let Some(client_id) = client_id {
        let key = WindowKey {
            kind: LimitKind::OAuthClientAtAddress,
            subject: client_id,
            network,
        };
        keys.push((key, PER_CLIENT_AND_ADDRESS));
    }
    let windows = limit_window::hit(
        conn,
        &keys.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        1,
        WINDOW,
        now,
    )
    .await?;
    Ok(windows
        .iter()
        .zip(&keys)
        .filter(|(window, (_, allowance))| window.hits > *allowance)
        .map(|(window, _)| window.seconds_left(WINDOW, now))
        .max())
}
