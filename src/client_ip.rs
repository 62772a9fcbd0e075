//! The caller's address: the socket peer, or the `X-Forwarded-For` hop a trusted proxy
//! reports. A forged header from anyone else changes nothing.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// Walks `X-Forwarded-For` from the right, skipping our own trusted proxies, and stops at
/// the first address none of them vouches for: that is the client.
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
            // Garbage in the chain: trust nothing further left.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// The block a throttle treats as one caller: an IPv4 address, or an IPv6 /64 (one
/// subscriber's allocation, through which a caller can move at will).
pub fn throttle_block(ip: IpAddr) -> IpNet {
    let prefix = if ip.is_ipv4() { 32 } else { 64 };
    IpNet::new(ip, prefix)
        .map(|net| net.trunc())
        .unwrap_or_else(|_| IpNet::from(ip))
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are their IPv4 selves.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Who made this request, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn from_request(req: &HttpRequest, trusted: &[IpNet]) -> Self {
        Self::from_parts(req.peer_addr().map(|a| a.ip()), req.headers(), trusted)
    }

    pub fn from_service_request(req: &ServiceRequest, trusted: &[IpNet]) -> Self {
        Self::from_parts(req.peer_addr().map(|a| a.ip()), req.headers(), trusted)
    }

    fn from_parts(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let user_agent = headers
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Self {
            ip: resolve(peer, headers, trusted),
            user_agent,
        }
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(xff).unwrap(),
        );
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let ip = resolve(
            Some("203.0.113.9".parse().unwrap()),
            &headers("10.0.0.1"),
            &[],
        );
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn forwarded_for_is_followed_through_trusted_proxies_only() {
        let trusted = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.1.0.0/16".parse().unwrap(),
        ];
        let ip = resolve(
            Some("127.0.0.1".parse().unwrap()),
            &headers("6.6.6.6, 198.51.100.7, 10.1.2.3"),
            &trusted,
        );
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn mapped_ipv6_is_read_as_ipv4() {
        let ip = resolve(
            Some("::ffff:192.0.2.1".parse().unwrap()),
            &HeaderMap::new(),
            &[],
        );
        assert_eq!(ip, Some("192.0.2.1".parse().unwrap()));
    }
}
