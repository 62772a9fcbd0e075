//! Fixed-window counters shared by every instance (`limit_windows`, see the shared_limits
//! migration): the OAuth failure throttle, the management API's rate limit, leak reports and
//! introspection. A window is (kind, subject, network); the first hit after it expired starts
//! it again, so no key stays locked past its window.
//!
//! The OAuth throttle is read inside the statements that look a client up
//! (`issuance::throttle_column`) and written only on a failure (`record_oauth_failure`), so
//! a client that authenticates pays no round trip for it.

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ipnet::{IpNet, Ipv4Net};

use crate::db::schema::limit_windows;

/// Which limit a window belongs to (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Failed client authentications of one client ID from one address block.
    OAuthClientAtAddress,
    /// Failed client authentications from one address block, whatever the client ID.
    OAuthAddress,
    /// Management API requests of one calling credential.
    ApiCalls,
    /// Leaked strings reported from one address block.
    LeakReports,
    /// Introspection and revocation requests of one calling credential.
    Introspection,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::OAuthClientAtAddress => "oauth_client_address",
            LimitKind::OAuthAddress => "oauth_address",
            LimitKind::ApiCalls => "api_calls",
            LimitKind::LeakReports => "leak_reports",
            LimitKind::Introspection => "introspection",
        }
    }
}

/// The network of a window that does not count by address, and of a caller whose address is
/// unknown.
pub fn any_network() -> IpNet {
    IpNet::V4(Ipv4Net::default())
}

/// One window's key.
#[derive(Debug, Clone, Copy)]
pub struct WindowKey<'a> {
    pub kind: LimitKind,
    /// What is counted ('' when only the address counts).
    pub subject: &'a str,
    pub network: IpNet,
}

/// A window after a hit: how many hits it holds and when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Window {
    pub hits: i32,
    pub started_at: DateTime<Utc>,
}

impl Window {
    /// Whole seconds until a window of `length` that started at `started_at` ends (at least 1).
    pub fn seconds_left(&self, length: Duration, now: DateTime<Utc>) -> u64 {
        let left = (self.started_at + length - now).num_seconds();
        u64::try_from(left).unwrap_or(0).max(1)
    }
}

/// Adds `n` hits to each key's window (starting it again when it is older than `length`) in
/// one statement, and returns the windows as they are now, in the order of `keys`.
pub async fn hit(
    conn: &mut AsyncPgConnection,
    keys: &[WindowKey<'_>],
    n: i32,
    length: Duration,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Window>> {
    use limit_windows::dsl as w;
    let rows: Vec<_> = keys
        .iter()
        .map(|k| {
            (
                w::kind.eq(k.kind.as_str()),
                w::subject.eq(k.subject),
                w::network.eq(k.network),
                w::started_at.eq(now),
                w::hits.eq(n),
            )
        })
        .collect();
    let expired = w::started_at.le(now - length);
    let windows: Vec<(String, String, IpNet, Window)> = diesel::insert_into(w::limit_windows)
        .values(rows)
        .on_conflict((w::kind, w::subject, w::network))
        .do_update()
        .set((
            w::hits.eq(case_when::<_, _, Integer>(expired, n).otherwise(w::hits + n)),
            w::started_at.eq(case_when::<_, _, Timestamptz>(expired, now).otherwise(w::started_at)),
        ))
        .returning((w::kind, w::subject, w::network, (w::hits, w::started_at)))
        .get_results(conn)
        .await?;
    // RETURNING follows no promised order: match each key to its row.
    Ok(keys
        .iter()
        .filter_map(|k| {
            windows
                .iter()
                .find(|(kind, subject, network, _)| {
                    kind == k.kind.as_str() && subject == k.subject && *network == k.network
                })
                .map(|(.., window)| *window)
        })
        .collect())
}

/// Deletes windows that ended before `now - longest`; how many went.
pub async fn sweep(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    longest: Duration,
) -> QueryResult<usize> {
    diesel::delete(limit_windows::table.filter(limit_windows::started_at.lt(now - longest)))
        .execute(conn)
        .await
}
