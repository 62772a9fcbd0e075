//! The machine side: an OAuth 2.0 authorization server for the credentials the console
//! manages. Token issuance (RFC 6749 §4.4), introspection (RFC 7662), revocation (RFC 7009),
//! server metadata (RFC 8414) and a bearer-protected `whoami` (RFC 6750).
//!
//! Errors here are `OAuthError` / `BearerError` JSON, never the console's HTML `AppError`.

pub mod bearer;
pub mod client_auth;
pub mod error;
pub mod form;
pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod throttle;
pub mod token;

use std::net::IpAddr;
use std::sync::atomic::AtomicU64;

use ipnet::IpNet;

/// The `realm` of our `WWW-Authenticate` challenges.
pub const REALM: &str = "m2m-console";

/// Counters for a future metrics endpoint.
#[derive(Debug, Default)]
pub struct TokenMetrics {
    pub issued: AtomicU64,
    pub failed: AtomicU64,
}

/// State of the machine side shared by all requests of one instance.
#[derive(Debug, Default)]
pub struct OAuthState {
    pub throttle: throttle::FailureThrottle,
    pub metrics: TokenMetrics,
}

/// Whether `ip` may use a credential whose allow-list is `allowed` (empty: any address).
pub fn ip_allowed(ip: Option<IpAddr>, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    allowed.iter().any(|entry| match entry.parse::<IpNet>() {
        Ok(net) => net.contains(&ip),
        Err(_) => entry.parse::<IpAddr>().is_ok_and(|a| a == ip),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_matches_addresses_and_blocks() {
        let list = vec![
            "203.0.113.7".to_string(),
            "10.0.0.0/8".to_string(),
            "2001:db8::/32".to_string(),
        ];
        for ok in ["203.0.113.7", "10.200.1.1", "2001:db8::5"] {
            assert!(ip_allowed(Some(ok.parse().unwrap()), &list), "{ok}");
        }
        for no in ["203.0.113.8", "11.0.0.1", "2001:db9::1"] {
            assert!(!ip_allowed(Some(no.parse().unwrap()), &list), "{no}");
        }
        assert!(ip_allowed(None, &[]));
        assert!(!ip_allowed(None, &list));
    }
}
