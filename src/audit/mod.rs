//! Writing to the audit log, with its outbox: every audit row is appended together with the
//! webhook deliveries it stands for, in the caller's transaction, by the one call below. The
//! data layer only appends rows. An action's webhook event comes with its typed details
//! (`Payload`), so each event's payload has one documented shape.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde_json::Value;

use crate::actor::Actor;
use crate::db::ids::CredentialId;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::webhook_delivery::{self, Event, EventActor};

pub(crate) mod payload;

pub use payload::Payload;

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

/// The audit row of a change to the credential `id` (named `name`) that is also a webhook
/// event, with its deliveries.
pub async fn credential_event<P: Payload>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    name: &str,
    details: &P,
) -> QueryResult<()> {
    actor
        .audit_event(details)
        .target("credential", id, name)
        .record(conn)
        .await
}

/// The webhook deliveries of an audit row just written (`audit_id`), if its action is an
/// event: the transactional outbox.
async fn enqueue_for_audit(
    conn: &mut AsyncPgConnection,
    audit: &NewAuditEvent,
    audit_id: i64,
) -> QueryResult<usize> {
    let (Some(event), Some(org)) = (audit.webhook, audit.org_id) else {
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
