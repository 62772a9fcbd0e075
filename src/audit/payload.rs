//! The details of every audit action that is also a webhook event: one struct per event, the
//! `data.details` of its payload (README, "Webhook events"). An action's details, its audit
//! row and its delivery come from the same value, so the public contract has one definition.
//! Times are RFC 3339 in UTC to the millisecond (`2026-12-06T09:30:00.000Z`), as the
//! payload's own `timestamp`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::db::models::audit_action::AuditAction;
use crate::db::models::webhook_endpoint::WebhookEvent;

/// Details as JSON. They hold strings, numbers and JSON values only, so serialising cannot
/// fail; were it to, the details would be `null`, never a panic.
pub trait Details: Serialize {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl<T: Serialize> Details for T {}

/// Details with a webhook event: `Actor::audit_event` records them.
pub trait Payload: Serialize {
    const ACTION: AuditAction;

    /// The event deliveries carry; the action's own unless the details say otherwise.
    fn event(&self) -> Option<WebhookEvent> {
        Self::ACTION.webhook()
    }
}

/// A time as payloads write it.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn rfc3339<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    at.map(time_text).serialize(s)
}

fn rfc3339_at<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    rfc3339(&Some(*at), s)
}

/// `credential.created`: its client ID and its settings.
#[derive(Debug, Serialize)]
pub struct CredentialCreated {
    pub client_id: String,
    /// The settings as saved (name, owner, role, APIs, allowed IPs, expiry, scopes, lifetime).
    pub after: serde_json::Value,
}

/// `credential.updated`: the settings that changed, before and after.
#[derive(Debug, Serialize)]
pub struct CredentialUpdated {
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// `credential.secret_rotated`.
#[derive(Debug, Serialize)]
pub struct SecretRotated {
    /// `now`, `1h`, `24h` or `7d`: how long the previous secret keeps working.
    pub overlap: &'static str,
    #[serde(serialize_with = "rfc3339")]
    pub previous_secret_retires_at: Option<DateTime<Utc>>,
    /// An earlier overlap still running was ended by this rotation.
    pub earlier_secret_retired: bool,
    pub tokens_revoked: usize,
}

/// `credential.previous_secret_retired`: what the retired secret had done.
#[derive(Debug, Serialize)]
pub struct PreviousSecretRetired {
    pub last_four: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub last_used_at: Option<DateTime<Utc>>,
    pub uses: i64,
}

/// `credential.disabled`, or `credential.stale_disabled` when the reason is `stale`.
#[derive(Debug, Serialize)]
pub struct CredentialDisabled {
    /// `manual`, `stale` or `leaked`.
    pub reason: &'static str,
    pub why: Option<String>,
    pub tokens_revoked: usize,
}

/// `credential.enabled`: no details.
#[derive(Debug, Serialize)]
pub struct CredentialEnabled {}

/// `credential.revoked`.
#[derive(Debug, Serialize)]
pub struct CredentialRevoked {
    pub tokens_revoked: usize,
}

/// `credential.deleted`: the client ID, which no longer resolves to a credential.
#[derive(Debug, Serialize)]
pub struct CredentialDeleted {
    pub client_id: String,
}

/// `credential.leak_reported`.
#[derive(Debug, Serialize)]
pub struct LeakReported {
    /// `secret` or `token`.
    pub what: &'static str,
    /// Where it was found, as the reporter said.
    pub url: String,
    /// `credential_disabled`, `already_disabled`, `token_revoked`, `nothing_live` or
    /// `repeated`.
    pub outcome: &'static str,
}

/// `credential.key_added`.
#[derive(Debug, Serialize)]
pub struct KeyAdded {
    /// The key's RFC 7638 thumbprint, which assertions name in their `kid`.
    pub kid: String,
    pub algorithm: String,
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `credential.key_removed`.
#[derive(Debug, Serialize)]
pub struct KeyRemoved {
    pub kid: String,
    pub algorithm: String,
    #[serde(serialize_with = "rfc3339")]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `credential.expiring`, sent with each expiry reminder (no audit row stands for it).
#[derive(Debug, Serialize)]
pub struct Expiring {
    /// The reminder's threshold: 30, 7 or 1 days before.
    pub days: i64,
    #[serde(serialize_with = "rfc3339_at")]
    pub expires_at: DateTime<Utc>,
}

/// `credential.expired` (no audit row stands for it).
#[derive(Debug, Serialize)]
pub struct Expired {
    #[serde(serialize_with = "rfc3339_at")]
    pub expires_at: DateTime<Utc>,
}

macro_rules! payload {
    ($($details:ty => $action:ident),* $(,)?) => {
        $(impl Payload for $details {
            const ACTION: AuditAction = AuditAction::$action;
        })*
    };
}

payload! {
    CredentialCreated => CredentialCreated,
    CredentialUpdated => CredentialUpdated,
    SecretRotated => CredentialSecretRotated,
    PreviousSecretRetired => CredentialPreviousSecretRetired,
    CredentialEnabled => CredentialEnabled,
    CredentialRevoked => CredentialRevoked,
    CredentialDeleted => CredentialDeleted,
    LeakReported => CredentialLeakReported,
    KeyAdded => CredentialKeyAdded,
    KeyRemoved => CredentialKeyRemoved,
}

impl Payload for CredentialDisabled {
    const ACTION: AuditAction = AuditAction::CredentialDisabled;

    fn event(&self) -> Option<WebhookEvent> {
        Some(match self.reason {
            "stale" => WebhookEvent::StaleDisabled,
            _ => WebhookEvent::Disabled,
        })
    }
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
