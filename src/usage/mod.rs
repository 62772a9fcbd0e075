//! What each credential's clients did: tokens issued, introspections and bearer uses of its
//! tokens, and refused token requests by reason. Counted in memory on the hot path
//! (`UsageCounter`) and shown to admins on the credential's page; the caller itself only
//! ever gets one `invalid_client`.

pub(crate) mod counter;
pub mod flush;
pub(crate) mod refusal_groups;
pub(crate) mod report;

pub use counter::UsageCounter;

use crate::db::models::issuance::Refusal;

/// How long hourly counts and refusals are kept.
pub const RETENTION_DAYS: i64 = 90;
/// How many refusals are kept per credential.
pub use crate::db::models::usage::RECENT_REFUSALS;

/// Why a token request of a known credential was refused, as admins see it. Revoked and
/// disabled are one reason: either way the credential was switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefusalReason {
    WrongSecret,
    Disabled,
    Expired,
    AddressNotAllowed,
    ScopeNotAllowed,
    Throttled,
    /// The right secret, but the credential accepts signed assertions only.
    KeysOnly,
    /// A signed assertion that is malformed, for another audience or client, too long-lived,
    /// or whose signature does not verify.
    BadAssertion,
    AssertionExpired,
    /// An assertion whose `jti` was already used.
    AssertionReplayed,
    /// An assertion naming a key the credential does not have (or it has none).
    UnknownKey,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 11] = [
        RefusalReason::WrongSecret,
        RefusalReason::Disabled,
        RefusalReason::Expired,
        RefusalReason::AddressNotAllowed,
        RefusalReason::ScopeNotAllowed,
        RefusalReason::Throttled,
        RefusalReason::KeysOnly,
        RefusalReason::BadAssertion,
        RefusalReason::AssertionExpired,
        RefusalReason::AssertionReplayed,
        RefusalReason::UnknownKey,
    ];

    /// The stored value (the usage migration's CHECK lists them).
    pub fn as_str(self) -> &'static str {
        UsageEvent::Refused(self).as_str()
    }

    pub fn label(self) -> &'static str {
        match self {
            RefusalReason::WrongSecret => "Wrong secret",
            RefusalReason::Disabled => "Disabled or revoked",
            RefusalReason::Expired => "Expired",
            RefusalReason::AddressNotAllowed => "Address not allowed",
            RefusalReason::ScopeNotAllowed => "Scope not allowed",
            RefusalReason::Throttled => "Throttled",
            RefusalReason::KeysOnly => "Secret sent, keys only",
            RefusalReason::BadAssertion => "Assertion not valid",
            RefusalReason::AssertionExpired => "Assertion expired",
            RefusalReason::AssertionReplayed => "Assertion replayed",
            RefusalReason::UnknownKey => "Unknown key",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match UsageEvent::parse(stored)? {
            UsageEvent::Refused(reason) => Some(reason),
            _ => None,
        }
    }
}

impl From<Refusal> for RefusalReason {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::WrongSecret => RefusalReason::WrongSecret,
            Refusal::Revoked | Refusal::Disabled => RefusalReason::Disabled,
            Refusal::Expired => RefusalReason::Expired,
            Refusal::AddressNotAllowed => RefusalReason::AddressNotAllowed,
            Refusal::ScopeNotAllowed => RefusalReason::ScopeNotAllowed,
            Refusal::KeysOnly => RefusalReason::KeysOnly,
        }
    }
}

/// One thing counted per credential and hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsageEvent {
    TokenIssued,
    /// A token of the credential was introspected (by any client of its organisation).
    Introspected,
    /// A token of the credential was presented as a bearer token and accepted.
    BearerUsed,
    Refused(RefusalReason),
}

impl UsageEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageEvent::TokenIssued => "token_issued",
            UsageEvent::Introspected => "introspected",
            UsageEvent::BearerUsed => "bearer_used",
            UsageEvent::Refused(RefusalReason::WrongSecret) => "refused_secret",
            UsageEvent::Refused(RefusalReason::Disabled) => "refused_disabled",
            UsageEvent::Refused(RefusalReason::Expired) => "refused_expired",
            UsageEvent::Refused(RefusalReason::AddressNotAllowed) => "refused_address",
            UsageEvent::Refused(RefusalReason::ScopeNotAllowed) => "refused_scope",
            UsageEvent::Refused(RefusalReason::Throttled) => "refused_throttled",
            UsageEvent::Refused(RefusalReason::KeysOnly) => "refused_keys_only",
            UsageEvent::Refused(RefusalReason::BadAssertion) => "refused_assertion",
            UsageEvent::Refused(RefusalReason::AssertionExpired) => "refused_assertion_expired",
            UsageEvent::Refused(RefusalReason::AssertionReplayed) => "refused_assertion_replayed",
            UsageEvent::Refused(RefusalReason::UnknownKey) => "refused_unknown_key",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        [
            UsageEvent::TokenIssued,
            UsageEvent::Introspected,
            UsageEvent::BearerUsed,
        ]
        .into_iter()
        .chain(RefusalReason::ALL.map(UsageEvent::Refused))
        .find(|e| e.as_str() == stored)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_what_it_stores() {
        for reason in RefusalReason::ALL {
            assert_eq!(RefusalReason::parse(reason.as_str()), Some(reason));
        }
        for event in [
            UsageEvent::TokenIssued,
            UsageEvent::Introspected,
            UsageEvent::BearerUsed,
        ] {
            assert_eq!(UsageEvent::parse(event.as_str()), Some(event));
            assert_eq!(RefusalReason::parse(event.as_str()), None);
        }
        assert_eq!(UsageEvent::parse("refused_"), None);
    }

    #[test]
    fn revoked_and_disabled_are_one_reason() {
        assert_eq!(
            RefusalReason::from(Refusal::Revoked),
            RefusalReason::Disabled
        );
        assert_eq!(
            RefusalReason::from(Refusal::Disabled),
            RefusalReason::Disabled
        );
    }
}
