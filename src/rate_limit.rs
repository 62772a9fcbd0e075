//! Request allowances over fixed windows (per address block, per calling credential), shared
//! by every instance through PostgreSQL (`limit_window`), so that an allowance means what it
//! says however many instances serve. Each request reserves its place before any work is done,
//! so a burst cannot slip past it, and a window ends on its own, so no one can hold a key
//! locked out for longer.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use ipnet::IpNet;

use crate::client_ip::throttle_block;
use crate::db::models::limit_window::{self, LimitKind, Window, WindowKey};

/// What is left of a key's allowance after a request took its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub remaining: u32,
    /// Seconds until the window ends and the allowance is whole again.
    pub reset_after: u64,
}

/// An allowance per key and window, for one kind of limit.
#[derive(Debug, Clone, Copy)]
pub struct WindowLimiter {
    kind: LimitKind,
    allowance: u32,
    window: Duration,
}

impl WindowLimiter {
    pub fn new(kind: LimitKind, allowance: u32, window: std::time::Duration) -> Self {
        Self {
            kind,
            allowance,
            window: Duration::from_std(window).unwrap_or(Duration::seconds(60)),
        }
    }

    pub fn allowance(&self) -> u32 {
        self.allowance
    }

    /// The window's length in whole seconds.
    pub fn window_secs(&self) -> u64 {
        u64::try_from(self.window.num_seconds()).unwrap_or(0)
    }

    /// Takes `n` places for `subject` (a calling credential's id, say) counted from anywhere;
    /// `Ok(Err(seconds))` when that would go over the allowance.
    pub async fn take(
        &self,
        conn: &mut AsyncPgConnection,
        subject: &str,
        n: u32,
        now: DateTime<Utc>,
    ) -> QueryResult<Result<Left, u64>> {
        let window = self
            .hit(conn, subject, limit_window::any_network(), n, now)
            .await?;
        Ok(self.left(window, now))
    }

    /// Takes `n` places for the caller at `ip` (an IPv6 caller counts by its /64).
    pub async fn take_for_address(
        &self,
        conn: &mut AsyncPgConnection,
        ip: Option<IpAddr>,
        n: u32,
        now: DateTime<Utc>,
    ) -> QueryResult<Result<Left, u64>> {
        let window = self.hit(conn, "", address_block(ip), n, now).await?;
        Ok(self.left(window, now))
    }

    /// Takes up to `n` places for the caller at `ip`: how many it got and, when that is
    /// fewer than `n`, the seconds until the window frees up. The window is charged all `n`.
    pub async fn take_up_to_for_address(
        &self,
        conn: &mut AsyncPgConnection,
        ip: Option<IpAddr>,
        n: u32,
        now: DateTime<Utc>,
    ) -> QueryResult<(u32, Option<u64>)> {
        let Some(window) = self.hit(conn, "", address_block(ip), n, now).await? else {
            return Ok((0, Some(self.window_secs().max(1))));
        };
        let hits = u32::try_from(window.hits).unwrap_or(u32::MAX);
        let before = hits.saturating_sub(n);
        let granted = self.allowance.saturating_sub(before).min(n);
        let short = (granted < n).then(|| window.seconds_left(self.window, now));
        Ok((granted, short))
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Adds `n` places taken elsewhere (counted in memory, see `oauth::introspection_limit`)
    /// to `subject`'s window, counted from anywhere.
    pub async fn add(
        &self,
        conn: &mut AsyncPgConnection,
        subject: &str,
        n: u32,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        self.hit(conn, subject, limit_window::any_network(), n, now)
            .await
            .map(|_| ())
    }

    /// What is left of the allowance once a request took its places in `window` (as `hit`
    /// returned it), or, when that went over, the seconds until the window frees up.
    fn left(&self, window: Option<Window>, now: DateTime<Utc>) -> Result<Left, u64> {
        let Some(window) = window else {
            return Err(self.window_secs().max(1));
        };
        let reset_after = window.seconds_left(self.window, now);
        let hits = u32::try_from(window.hits).unwrap_or(u32::MAX);
        if hits > self.allowance {
            return Err(reset_after);
        }
        Ok(Left {
            remaining: self.allowance - hits,
            reset_after,
        })
    }

    async fn hit(
        &self,
        conn: &mut AsyncPgConnection,
        subject: &str,
        network: IpNet,
        n: u32,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<Window>> {
        let key = WindowKey {
            kind: self.kind,
            subject,
            network,
        };
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        let windows = limit_window::hit(conn, &[key], n, self.window, now).await?;
        Ok(windows.first().copied())
    }
}

/// The block a caller counts in (an IPv6 caller by its /64).
fn address_block(ip: Option<IpAddr>) -> IpNet {
    ip.map(throttle_block)
        .unwrap_or_else(limit_window::any_network)
}
