//! One snapshot per webhook event: the whole payload an endpoint receives, as built from the
//! typed details (`snapshots/`). A change to a public payload shows here, and needs the
//! README's "Webhook events" to change with it.

use chrono::TimeZone;
use serde_json::Value;

use super::*;
use crate::db::ids::CredentialId;
use crate::db::models::webhook_delivery::{Event, EventActor, ping_payload};

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 9, 30, 0).unwrap()
}

fn sent(event: WebhookEvent, details: &impl Serialize, actor: EventActor<'_>) -> Value {
    let details = details.to_json();
    Event {
        event,
        at: at(),
        credential_id: Some(CredentialId(uuid::Uuid::from_u128(0x0193_9f2c_5e1a_7c3b))),
        client_id: Some("m2m_ci_4mQ7xZ2pLk9v"),
        name: Some("Orders sync"),
        actor,
        details: &details,
    }
    .payload()
}

/// The payload of a change recorded by a staff member.
fn of<P: Payload>(details: &P) -> Value {
    let event = details.event().expect("an event");
    sent(event, details, EventActor::Staff("ops@acme.test"))
}

fn settings() -> Value {
    serde_json::json!({
        "name": "Orders sync",
        "owner_email": "ops@acme.test",
        "role": "Orders writer",
        "access_level": "fine_grained",
        "apis": ["Orders"],
        "allowed_ips": ["10.0.0.0/24"],
        "expires_at": null,
        "management_scopes": [],
        "token_lifetime_seconds": 3600,
    })
}

#[test]
fn credential_created() {
    let details = CredentialCreated {
        client_id: "m2m_ci_4mQ7xZ2pLk9v".into(),
        after: settings(),
    };
    insta::assert_json_snapshot!("credential.created", of(&details));
}

#[test]
fn credential_updated() {
    let details = CredentialUpdated {
        before: serde_json::json!({ "allowed_ips": ["10.0.0.0/24"] }),
        after: serde_json::json!({ "allowed_ips": ["10.0.0.0/24", "203.0.113.7/32"] }),
    };
    insta::assert_json_snapshot!("credential.updated", of(&details));
}

#[test]
fn credential_secret_rotated() {
    let details = SecretRotated {
        overlap: "24h",
        previous_secret_retires_at: Some(at() + chrono::Duration::hours(24)),
        earlier_secret_retired: false,
        tokens_revoked: 0,
    };
    insta::assert_json_snapshot!("credential.secret_rotated", of(&details));
}

#[test]
fn credential_previous_secret_retired() {
    let details = PreviousSecretRetired {
        last_four: Some("x9Qa".into()),
        last_used_at: Some(at() - chrono::Duration::minutes(5)),
        uses: 1_204,
    };
    insta::assert_json_snapshot!("credential.previous_secret_retired", of(&details));
}

#[test]
fn credential_disabled_by_hand_and_as_unused() {
    let manual = CredentialDisabled {
        reason: "manual",
        why: Some("Disabled by ops@acme.test".into()),
        tokens_revoked: 3,
    };
    insta::assert_json_snapshot!("credential.disabled", of(&manual));
    let stale = CredentialDisabled {
        reason: "stale",
        why: Some("Disabled automatically: it had not been used for 91 days".into()),
        tokens_revoked: 0,
    };
    let payload = sent(stale.event().expect("an event"), &stale, EventActor::System);
    insta::assert_json_snapshot!("credential.stale_disabled", payload);
}

#[test]
fn credential_enabled_revoked_and_deleted() {
    insta::assert_json_snapshot!("credential.enabled", of(&CredentialEnabled {}));
    let revoked = CredentialRevoked { tokens_revoked: 2 };
    insta::assert_json_snapshot!("credential.revoked", of(&revoked));
    let deleted = CredentialDeleted {
        client_id: "m2m_ci_4mQ7xZ2pLk9v".into(),
    };
    insta::assert_json_snapshot!("credential.deleted", of(&deleted));
}

#[test]
fn credential_leak_reported() {
    let details = LeakReported {
        what: "secret",
        url: "https://github.com/acme/orders/blob/main/.env".into(),
        outcome: "credential_disabled",
    };
    let payload = sent(
        details.event().expect("an event"),
        &details,
        EventActor::System,
    );
    insta::assert_json_snapshot!("credential.leak_reported", payload);
}

#[test]
fn credential_keys_added_and_removed() {
    let added = KeyAdded {
        kid: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
        algorithm: "ES256".into(),
        expires_at: None,
    };
    insta::assert_json_snapshot!("credential.key_added", of(&added));
    let removed = KeyRemoved {
        kid: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
        algorithm: "ES256".into(),
        last_used_at: Some(at() - chrono::Duration::days(2)),
    };
    insta::assert_json_snapshot!("credential.key_removed", of(&removed));
}

#[test]
fn credential_expiring_and_expired() {
    let expiring = Expiring {
        days: 7,
        expires_at: at() + chrono::Duration::days(7),
    };
    let payload = sent(WebhookEvent::Expiring, &expiring, EventActor::System);
    insta::assert_json_snapshot!("credential.expiring", payload);
    let expired = Expired { expires_at: at() };
    let payload = sent(WebhookEvent::Expired, &expired, EventActor::System);
    insta::assert_json_snapshot!("credential.expired", payload);
}

#[test]
fn ping() {
    insta::assert_json_snapshot!("ping", ping_payload("ops@acme.test", at()));
}

#[test]
fn every_event_has_a_snapshot() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/audit/snapshots");
    for event in WebhookEvent::ALL {
        let file = dir.join(format!(
            "m2m_console__audit__payload__tests__{}.snap",
            event.as_str()
        ));
        assert!(file.exists(), "no snapshot for {}", event.as_str());
    }
}

#[test]
fn a_change_made_through_the_api_names_the_calling_credential() {
    let revoked = CredentialRevoked { tokens_revoked: 0 };
    let payload = sent(
        WebhookEvent::Revoked,
        &revoked,
        EventActor::Credential("m2m_ci_pipeline"),
    );
    assert_eq!(
        payload["data"]["actor"],
        serde_json::json!({ "type": "credential", "client_id": "m2m_ci_pipeline" })
    );
}
