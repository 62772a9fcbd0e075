//! Writing to the audit log, with its outbox: every audit row is appended together with the
//! webhook deliveries it stands for, in the caller's transaction, by the one call below. The
//! data layer only appends rows; which action is which public event is decided here.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde_json::Value;

use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::webhook_delivery::{self, Event, EventActor};
use crate::db::models::webhook_endpoint::WebhookEvent;

/// Records an audit row (`actor.audit(...)` or `NewAuditEvent::new(...)`) and queues its
/// webhook deliveries in the same transaction.
pub trait Record {
    fn record(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> impl std::future::Future<Output = QueryResult<()>> + Send;
}

impl Record for NewAuditEvent {
    async fn record(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        let id = self.append(conn).await?;
        enqueue_for_audit(conn, self, id).await?;
        Ok(())
    }
}

/// The webhook event an audit action reports, if any: the one table from one to the other.
fn event_for_audit(action: &str, details: &Value) -> Option<WebhookEvent> {
    Some(match action {
        "credential.created" => WebhookEvent::CredentialCreated,
        "credential.updated" => WebhookEvent::CredentialUpdated,
        "credential.secret_rotated" => WebhookEvent::SecretRotated,
        "credential.previous_secret_retired" => WebhookEvent::PreviousSecretRetired,
        "credential.disabled" if details.get("reason").and_then(Value::as_str) == Some("stale") => {
            WebhookEvent::StaleDisabled
        }
        "credential.disabled" => WebhookEvent::Disabled,
        "credential.enabled" => WebhookEvent::Enabled,
        "credential.revoked" => WebhookEvent::Revoked,
        "credential.deleted" => WebhookEvent::Deleted,
        "credential.leak_reported" => WebhookEvent::LeakReported,
        "credential.key_added" => WebhookEvent::KeyAdded,
        "credential.key_removed" => WebhookEvent::KeyRemoved,
        _ => return None,
    })
}

/// The webhook deliveries of an audit row just written (`audit_id`), if its action is an
/// event: the transactional outbox.
async fn enqueue_for_audit(
    conn: &mut AsyncPgConnection,
    audit: &NewAuditEvent,
    audit_id: i64,
) -> QueryResult<usize> {
    let (Some(event), Some(org)) = (event_for_audit(&audit.action, &audit.details), audit.org_id)
    else {
        return Ok(0);
    };
    let credential_id = match (audit.target_type.as_deref(), &audit.target_id) {
        (Some("credential"), Some(id)) => id.parse().ok(),
        _ => None,
    };
    let actor = match (
        &audit.actor_user_id,
        &audit.actor_email,
        &audit.actor_client_id,
    ) {
        (Some(_), Some(email), _) => EventActor::Staff(email),
        (_, _, Some(client_id)) => EventActor::Credential(client_id),
        _ => EventActor::System,
    };
    let event = Event {
        event,
        at: audit.created_at,
        credential_id,
        // A deleted credential's client ID is in its audit details.
        client_id: audit.details.get("client_id").and_then(Value::as_str),
        name: audit.target_label.as_deref(),
        actor,
        details: &audit.details,
    };
    webhook_delivery::enqueue(
        conn,
        org,
        &event,
        &format!("audit:{audit_id}"),
        None,
        audit.created_at,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_actions_map_to_events_and_stale_disabling_has_its_own() {
        let none = json!({});
        assert_eq!(
            event_for_audit("credential.secret_rotated", &none),
            Some(WebhookEvent::SecretRotated)
        );
        assert_eq!(
            event_for_audit("credential.disabled", &json!({ "reason": "manual" })),
            Some(WebhookEvent::Disabled)
        );
        assert_eq!(
            event_for_audit("credential.disabled", &json!({ "reason": "stale" })),
            Some(WebhookEvent::StaleDisabled)
        );
        for quiet in [
            "credential.token_generated",
            "user.login",
            "webhook.created",
        ] {
            assert_eq!(event_for_audit(quiet, &none), None, "{quiet}");
        }
    }
}
