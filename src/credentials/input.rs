//! What the credential operations take: typed input, parsed at the edges (the console's form,
//! the management API's JSON) with the parsers below, so the domain never re-reads a form's
//! strings. An edit is a change set: a field left `None` stays as it is and is not judged.

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ipnet::IpNet;

use crate::db::ids::{ApiId, RoleId};
use crate::db::models::credential::AccessLevel;

pub const MAX_ALLOWED_IPS: usize = 50;
/// The expiry presets the console offers, in days.
pub const PRESET_DAYS: [i64; 3] = [30, 90, 365];
/// The longest lifetime a "days from now" expiry may ask for (ten years).
pub const MAX_DAYS: i64 = 3650;

/// How long the access tokens of a credential live: one of the lifetimes offered (Hydra keeps
/// one per client; a nightly batch wants a day, a payment integration minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenLifetime(i32);

impl TokenLifetime {
    /// Every lifetime offered, shortest first, in seconds (the column's CHECK says the same).
    pub const ALL: [TokenLifetime; 5] = [
        TokenLifetime(300),
        TokenLifetime(900),
        TokenLifetime(3600),
        TokenLifetime(21_600),
        TokenLifetime(86_400),
    ];
    /// What a new credential gets unless someone chooses (the product's hour).
    pub const DEFAULT: TokenLifetime = TokenLifetime(3600);
    /// The longest one, and an organisation's maximum until it sets one.
    pub const LONGEST: TokenLifetime = TokenLifetime(86_400);

    /// One of the offered lifetimes, by its seconds.
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|l| i64::from(l.0) == seconds)
    }

    /// One of the offered lifetimes as a form sends it (its seconds).
    pub fn parse(text: &str) -> Option<Self> {
        text.trim().parse::<i64>().ok().and_then(Self::from_seconds)
    }

    /// A stored value; anything the column would not hold reads as the default.
    pub fn stored(seconds: i32) -> Self {
        Self::from_seconds(seconds.into()).unwrap_or(Self::DEFAULT)
    }

    pub fn seconds(self) -> i32 {
        self.0
    }

    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::seconds(self.0.into())
    }

    /// "5 minutes", "1 hour", "24 hours".
    pub fn label(self) -> String {
        let s = self.0;
        match (s % 3600, s / 3600, s / 60) {
            (0, 1, _) => "1 hour".into(),
            (0, hours, _) => format!("{hours} hours"),
            (_, _, minutes) => format!("{minutes} minutes"),
        }
    }

    /// The lifetimes an organisation whose maximum is `max` allows.
    pub fn allowed_up_to(max: TokenLifetime) -> impl Iterator<Item = TokenLifetime> {
        Self::ALL.into_iter().filter(move |l| *l <= max)
    }
}

/// When a credential stops working, as chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// This many days after the moment it is saved.
    InDays(i64),
    At(DateTime<Utc>),
}

impl Expiry {
    /// The moment it means for a credential saved at `now`.
    pub fn resolve(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Expiry::Never => None,
            Expiry::InDays(days) => Some(now + chrono::Duration::days(days)),
            Expiry::At(at) => Some(at),
        }
    }

    /// The form field a message about this choice belongs to: a date is typed, the rest is
    /// picked.
    pub fn field(self) -> &'static str {
        match self {
            Expiry::At(_) => "expires_at",
            Expiry::Never | Expiry::InDays(_) => "expiry",
        }
    }
}

/// A credential's settings as chosen. To create one, the required fields are given (see
/// `NewCredential`); in an edit, `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_email: Option<String>,
    pub role_id: Option<RoleId>,
    pub access_level: Option<AccessLevel>,
    /// The Fine Grained selection (ignored, and cleared, while the access level is Full).
    pub apis: Option<Vec<ApiId>>,
    /// Empty: any address.
    pub allowed_ips: Option<Vec<IpNet>>,
    pub expiry: Option<Expiry>,
    /// Built-in management scopes, as named (checked against the known ones).
    pub management_scopes: Option<Vec<String>>,
    /// How long its access tokens live (a new credential without a choice: an hour, or the
    /// organisation's maximum when that is shorter).
    pub token_lifetime: Option<TokenLifetime>,
}

/// A credential to create: its settings (name, owner email, role and access level are
/// required; the rest default to empty, any address, never expiring) and the key that makes
/// a form sent twice create one credential.
#[derive(Debug, Clone, Default)]
pub struct NewCredential {
    pub settings: CredentialChanges,
    pub creation_key: Option<uuid::Uuid>,
}

/// One address or CIDR block per line (commas also separate), for a form's text area.
pub fn parse_allowed_ips(text: &str) -> Result<Vec<IpNet>, String> {
    let entries: Vec<&str> = text.split(['\n', ',']).collect();
    parse_networks(&entries)
}

/// Bad entries named one by one in a refusal; beyond them only how many more.
const NAMED_BAD_ENTRIES: usize = 10;

/// Addresses and CIDR blocks, each normalised to its network (`10.1.2.3/8` → `10.0.0.0/8`),
/// duplicates dropped, order kept, blanks skipped; at most `MAX_ALLOWED_IPS`. `Err` names
/// every entry that is neither (the first ten, then how many more), so one round trip fixes
/// them all.
pub fn parse_networks<S: AsRef<str>>(entries: &[S]) -> Result<Vec<IpNet>, String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (index, raw) in entries.iter().enumerate() {
        let entry = raw.as_ref().trim();
        if entry.is_empty() {
            continue;
        }
        let net = if entry.contains('/') {
            entry.parse::<IpNet>().map(|n| n.trunc()).ok()
        } else {
            entry.parse::<IpAddr>().map(IpNet::from).ok()
        };
        match net {
            Some(net) => {
                if seen.insert(net) {
                    out.push(net);
                }
            }
            None => bad.push((index + 1, entry)),
        }
    }
    if !bad.is_empty() {
        return Err(bad_entries_message(&bad));
    }
    if out.len() > MAX_ALLOWED_IPS {
        return Err(format!(
            "Use at most {MAX_ALLOWED_IPS} entries (there are {}).",
            out.len()
        ));
    }
    Ok(out)
}

/// "Entry 2 (“x”) is not …" or "Entries 2 (“x”), 5 (“y”) and 3 more are not …".
fn bad_entries_message(bad: &[(usize, &str)]) -> String {
    let named: Vec<String> = bad
        .iter()
        .take(NAMED_BAD_ENTRIES)
        .map(|(line, entry)| format!("{line} (“{}”)", crate::input::quoted(entry, 60)))
        .collect();
    let example = "such as 203.0.113.7 or 10.0.0.0/24.";
    if let [one] = named.as_slice() {
        return format!("Entry {one} is not an IP address or CIDR block, {example}");
    }
    let more = bad.len().saturating_sub(NAMED_BAD_ENTRIES);
    let list = if more > 0 {
        format!("{} and {more} more", named.join(", "))
    } else {
        named.join(", ")
    };
    format!("Entries {list} are not IP addresses or CIDR blocks, {example}")
}

/// A network as stored and shown: a single host bare (`203.0.113.7`), a block with its
/// prefix (`10.0.0.0/8`).
pub fn network_text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// `YYYY-MM-DDTHH:MM[:SS]` (what `<input type=datetime-local>` sends) or a date alone (end of
/// that day), read as UTC.
pub fn parse_expiry_text(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let bad = || "Enter a date and time such as 2027-01-31T17:00 (UTC).".to_string();
    if text.is_empty() || text.len() > 32 {
        return Err(bad());
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(bad)
}

/// How a form shows an expiry in its date field: to the minute, as the browser's picker does.
pub fn expiry_field_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shown(list: &[IpNet]) -> Vec<String> {
        list.iter().map(network_text).collect()
    }

    #[test]
    fn allowed_ips_are_normalised_and_deduplicated() {
        let list = parse_allowed_ips(" 203.0.113.7\n10.1.2.3/8\n\n10.0.0.0/8, 2001:db8::1/128\n203.0.113.7/32\n::ffff:0:0/96").unwrap();
        assert_eq!(
            shown(&list),
            [
                "203.0.113.7",
                "10.0.0.0/8",
                "2001:db8::1",
                "::ffff:0.0.0.0/96"
            ]
        );
        assert!(parse_allowed_ips("").unwrap().is_empty());
        assert_eq!(parse_networks(&["10.0.0.1", " "]).unwrap().len(), 1);
    }

    #[test]
    fn bad_allowed_ips_name_the_entry() {
        let err = parse_allowed_ips("10.0.0.1\n10.0.0.0/33").unwrap_err();
        assert!(
            err.contains("Entry 2") && err.contains("10.0.0.0/33"),
            "{err}"
        );
        assert!(parse_allowed_ips("300.1.1.1").is_err());
        assert!(parse_allowed_ips("example.com").is_err());
        let many: String = (0..51).map(|i| format!("10.0.{i}.1\n")).collect();
        assert!(parse_allowed_ips(&many).unwrap_err().contains("at most 50"));
    }

    #[test]
    fn every_bad_allowed_ip_is_named_up_to_ten_then_counted() {
        let err = parse_allowed_ips("10.0.0.1\nfoo\n10.0.0.0/24\n::1/129\nbar").unwrap_err();
        assert_eq!(
            err,
            "Entries 2 (“foo”), 4 (“::1/129”), 5 (“bar”) are not IP addresses or CIDR blocks, such as 203.0.113.7 or 10.0.0.0/24."
        );
        let many: String = (0..14).map(|i| format!("bad{i}\n")).collect();
        let err = parse_allowed_ips(&many).unwrap_err();
        assert!(err.contains("10 (“bad9”) and 4 more are not"), "{err}");
        assert!(!err.contains("bad10"), "{err}");
    }

    #[test]
    fn expiry_accepts_the_browser_format_and_dates() {
        assert!(parse_expiry_text("").is_err());
        assert_eq!(
            parse_expiry_text("2027-01-31T17:00").unwrap().to_rfc3339(),
            "2027-01-31T17:00:00+00:00"
        );
        assert_eq!(
            parse_expiry_text("2027-01-31").unwrap().to_rfc3339(),
            "2027-01-31T23:59:59+00:00"
        );
        assert!(parse_expiry_text("31/01/2027").is_err());
        assert!(parse_expiry_text("2027-02-30T10:00").is_err());
    }

    #[test]
    fn token_lifetimes_are_the_offered_ones_only() {
        assert_eq!(TokenLifetime::parse(" 300 ").unwrap().label(), "5 minutes");
        assert_eq!(TokenLifetime::parse("3600").unwrap().label(), "1 hour");
        assert_eq!(TokenLifetime::parse("86400").unwrap().label(), "24 hours");
        for bad in ["", "301", "-300", "3600000000000", "1h"] {
            assert!(TokenLifetime::parse(bad).is_none(), "{bad:?}");
        }
        let max = TokenLifetime::parse("900").unwrap();
        let allowed: Vec<i32> = TokenLifetime::allowed_up_to(max)
            .map(|l| l.seconds())
            .collect();
        assert_eq!(allowed, [300, 900]);
    }

    #[test]
    fn an_expiry_resolves_against_the_moment_of_saving() {
        let now = parse_expiry_text("2027-01-01T00:00").unwrap();
        assert_eq!(Expiry::Never.resolve(now), None);
        assert_eq!(
            Expiry::InDays(30).resolve(now),
            Some(parse_expiry_text("2027-01-31T00:00").unwrap())
        );
        assert_eq!(Expiry::At(now).field(), "expires_at");
        assert_eq!(Expiry::InDays(30).field(), "expiry");
    }
}
