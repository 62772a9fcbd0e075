//! Where a webhook may go. The URL rules (length, scheme, no user name or password, no
//! control characters), and the guard against server-side request forgery: the host is
//! resolved here and every address it gives is checked, at registration and again before
//! each attempt, whose connection is then pinned to the address checked (so a DNS answer
//! that changes in between cannot send it elsewhere). Internal addresses are refused unless
//! `WEBHOOK_ALLOW_PRIVATE` says otherwise.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

use crate::input::{self, Lines};

/// The longest URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2000;
/// How long a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks the URL's form (not where it leads): the normalised URL, or the message for its
/// field.
pub fn check_url(raw: &str, allow_insecure: bool) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Enter the URL the events are sent to.".into());
    }
    if let Err(refusal) = input::check(raw, MAX_URL_CHARS, Lines::Single) {
        return Err(refusal.to_string());
    }
    let example = "Enter a full URL, such as https://hooks.example.com/m2m.";
    let url = Url::parse(raw).map_err(|_| example.to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        "http" => {
            return Err(
                "Use an https:// URL: events are only sent over an encrypted connection.".into(),
            );
        }
        _ => return Err(example.into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(example.into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "Remove the user name and password from the URL: events are authenticated by their signature."
                .into(),
        );
    }
    if url.fragment().is_some() {
        return Err("Remove the #fragment from the URL: it is never sent.".into());
    }
    if url.as_str().chars().count() > MAX_URL_CHARS {
        return Err(format!("Use at most {MAX_URL_CHARS} characters."));
    }
    Ok(url)
}

/// Why an address may not be reached, or `None` for a public one.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RULES: &[([u8; 4], u32, &str)] = &[
        ([169, 254, 169, 254], 32, "a cloud metadata address"),
        ([0, 0, 0, 0], 8, "an unspecified address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([100, 64, 0, 0], 10, "a shared (carrier-grade NAT) address"),
        ([192, 0, 0, 0], 24, "a reserved address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a reserved address"),
        ([255, 255, 255, 255], 32, "the broadcast address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
    ];
    RULES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The IPv4 address in the last 32 bits of `ip`.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & u128::from(u32::MAX)) as u32)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let net = |s: &str| s.parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::UNSPECIFIED);
    // NAT64 carries an IPv4 address in its last 32 bits, 6to4 in bits 16 to 48.
    if in_v6(ip, net("64:ff9b::"), 96) {
        return forbidden_v4(low_v4(ip));
    }
    if in_v6(ip, net("2002::"), 16) {
        let embedded = ((u128::from(ip) >> 80) & u128::from(u32::MAX)) as u32;
        return forbidden_v4(Ipv4Addr::from(embedded));
    }
    let rules: [(&str, u32, &'static str); 11] = [
        ("fd00:ec2::254", 128, "a cloud metadata address"),
        ("::", 128, "an unspecified address"),
        ("::1", 128, "a loopback address"),
        // IPv4-compatible (deprecated) and other addresses of the reserved ::/8 block.
        ("::", 8, "a reserved address"),
        ("100::", 64, "a discard address"),
        ("2001::", 32, "a tunnelling (Teredo) address"),
        ("2001:db8::", 32, "a documentation address"),
        ("fc00::", 7, "a private (unique local) address"),
        ("fe80::", 10, "a link-local address"),
        ("fec0::", 10, "a site-local address"),
        ("ff00::", 8, "a multicast address"),
    ];
    rules
        .iter()
        .find(|(network, prefix, _)| in_v6(ip, net(network), *prefix))
        .map(|(_, _, why)| *why)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestinationError {
    #[error("the host name could not be resolved")]
    Unresolvable,
    #[error("{ip} is {why}")]
    Forbidden { ip: IpAddr, why: &'static str },
}

impl DestinationError {
    /// The message next to the URL field.
    pub fn field_message(&self) -> String {
        match self {
            DestinationError::Unresolvable => {
                "The host name could not be resolved: check it, or try again later.".into()
            }
            DestinationError::Forbidden { ip, why } => format!(
                "This URL leads to {ip}, {why}: webhooks are only sent to public addresses."
            ),
        }
    }
}

/// The address to connect to for `url`: the host's addresses, each checked (any internal
/// one refuses the whole name, unless `allow_private`).
pub async fn resolve(url: &Url, allow_private: bool) -> Result<SocketAddr, DestinationError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(Host::Domain(name)) => {
            match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port))).await
            {
                Ok(Ok(found)) => found.collect(),
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    if !allow_private
        && let Some((ip, why)) = addresses
            .iter()
            .find_map(|a| forbidden(a.ip()).map(|why| (a.ip(), why)))
    {
        return Err(DestinationError::Forbidden { ip, why });
    }
    addresses
        .into_iter()
        .next()
        .ok_or(DestinationError::Unresolvable)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        forbidden(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_allowed() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
        assert_eq!(
            forbidden("169.254.169.254".parse().unwrap()),
            Some("a cloud metadata address")
        );
    }

    #[test]
    fn urls_must_be_https_without_credentials_and_bounded() {
        assert!(check_url("https://hooks.example.com/m2m?x=1", false).is_ok());
        assert!(
            check_url("http://hooks.example.com/", false)
                .unwrap_err()
                .contains("https")
        );
        assert!(check_url("http://hooks.example.com/", true).is_ok());
        for bad in [
            "",
            "hooks.example.com",
            "ftp://hooks.example.com/",
            "https://",
            "javascript:alert(1)",
            "https://user:pw@hooks.example.com/",
            "https://user@hooks.example.com/",
            "https://hooks.example.com/a#b",
            "https://hooks.example.com/\u{0}",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad:?}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(2000));
        assert!(check_url(&long, false).unwrap_err().contains("2000"));
    }

    #[tokio::test]
    async fn literal_and_resolved_addresses_are_checked() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(matches!(
            resolve(&url("http://127.0.0.1:9/"), false).await,
            Err(DestinationError::Forbidden { .. })
        ));
        assert!(matches!(
            resolve(&url("http://[::ffff:7f00:1]/"), false).await,
            Err(DestinationError::Forbidden { .. })
        ));
        // The url crate reads these forms as the IPv4 address they spell.
        assert!(matches!(
            resolve(&url("http://0x7f000001/"), false).await,
            Err(DestinationError::Forbidden { .. })
        ));
        assert!(matches!(
            resolve(&url("http://localhost:9/"), false).await,
            Err(DestinationError::Forbidden { .. })
        ));
        assert_eq!(
            resolve(&url("http://127.0.0.1:9/"), true).await,
            Ok("127.0.0.1:9".parse().unwrap())
        );
    }
}
