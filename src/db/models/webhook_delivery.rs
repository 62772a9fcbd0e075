//! The webhook outbox: one row per event and subscribed endpoint, written in the transaction
//! of the change it reports (see `enqueue`, which `NewAuditEvent::insert` calls for every
//! audit row), then claimed and sent by the delivery job of any instance, once
//! (`webhook_attempt`).

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Nullable, Text, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::db::ids::{CredentialId, OrgId, WebhookDeliveryId, WebhookEndpointId};
use crate::db::models::webhook_endpoint::WebhookEvent;
use crate::db::schema::webhook_deliveries;

text_enum! {
    pub enum DeliveryStatus ("webhook delivery status") {
        /// Not tried yet (or sent again with Redeliver).
        Pending = "pending",
        /// Tried and failed; tried again later.
        Retrying = "retrying",
        Delivered = "delivered",
        /// Given up: still failing 24 hours after the first attempt, or its endpoint is off.
        Failed = "failed",
    }
}

impl DeliveryStatus {
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Retrying => "Retrying",
            DeliveryStatus::Delivered => "Delivered",
            DeliveryStatus::Failed => "Failed",
        }
    }

    pub fn badge_class(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "badge-muted",
            DeliveryStatus::Retrying => "badge-warn",
            DeliveryStatus::Delivered => "badge-ok",
            DeliveryStatus::Failed => "badge-danger",
        }
    }
}

/// Who caused an event, as the payload names them.
pub enum EventActor<'a> {
    Staff(&'a str),
    /// A credential calling the management API, by its client ID.
    Credential(&'a str),
    System,
}

/// What one event says: the payload's `type`, `timestamp` and `data`. Never a secret, token
/// or hash: `details` come from audit rows, which never hold one.
pub struct Event<'a> {
    pub event: WebhookEvent,
    pub at: DateTime<Utc>,
    pub credential_id: Option<CredentialId>,
    pub client_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub actor: EventActor<'a>,
    pub details: &'a Value,
}

impl Event<'_> {
    pub fn payload(&self) -> Value {
        let actor = match self.actor {
            EventActor::Staff(email) => json!({ "type": "staff", "email": email }),
            EventActor::Credential(client_id) => {
                json!({ "type": "credential", "client_id": client_id })
            }
            EventActor::System => json!({ "type": "system" }),
        };
        let mut data = json!({
            "credential_id": self.credential_id,
            "name": self.name,
            "actor": actor,
            "details": self.details,
        });
        if let (Some(client_id), Some(object)) = (self.client_id, data.as_object_mut()) {
            object.insert("client_id".into(), client_id.into());
        }
        json!({
            "type": self.event.as_str(),
            "timestamp": self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        })
    }
}

/// Queues `event` for every enabled endpoint of `org` subscribed to it (created by
/// `existed_at`, when given), once per endpoint and `dedup_key`, in one statement: an
/// organisation without endpoints pays one index lookup. The credential's client ID is
/// added when the credential still exists. How many deliveries were queued.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    event: &Event<'_>,
    dedup_key: &str,
    existed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO webhook_deliveries (endpoint_id, org_id, event, credential_id, payload, \
             dedup_key, next_attempt_at, created_at) \
         SELECT e.id, e.org_id, $1, $2, \
             CASE WHEN c.client_id IS NULL THEN $3 \
                  ELSE jsonb_set($3, '{data,client_id}', to_jsonb(c.client_id)) END, \
             $4, $5, $5 \
         FROM webhook_endpoints e \
         LEFT JOIN credentials c ON c.id = $2 AND c.org_id = e.org_id \
         WHERE e.org_id = $6 AND e.enabled AND $1 = ANY (e.events) \
             AND ($7::timestamptz IS NULL OR e.created_at <= $7) \
         ON CONFLICT (endpoint_id, dedup_key) DO NOTHING",
    )
    .bind::<Text, _>(event.event.as_str())
    .bind::<Nullable<Uuid>, _>(event.credential_id)
    .bind::<Jsonb, _>(event.payload())
    .bind::<Text, _>(dedup_key)
    .bind::<Timestamptz, _>(now)
    .bind::<Uuid, _>(org)
    .bind::<Nullable<Timestamptz>, _>(existed_at)
    .execute(conn)
    .await
}

/// What "Send test event" sends: the `ping` event.
pub fn ping_payload(sent_by: &str, now: DateTime<Utc>) -> Value {
    json!({
        "type": "ping",
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "message": "A test event sent from the console. Answer with a 2xx status.",
            "actor": { "type": "staff", "email": sent_by },
        },
    })
}

/// Queues a `ping` event for `endpoint` alone, whatever it subscribes to: its
/// owner sees a delivery (and its answer) at once. The delivery's id.
pub async fn enqueue_test(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    endpoint: WebhookEndpointId,
    sent_by: &str,
    now: DateTime<Utc>,
) -> QueryResult<WebhookDeliveryId> {
    let id = WebhookDeliveryId(uuid::Uuid::new_v4());
    let payload = ping_payload(sent_by, now);
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(id),
            webhook_deliveries::endpoint_id.eq(endpoint),
            webhook_deliveries::org_id.eq(org),
            webhook_deliveries::event.eq("ping"),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::dedup_key.eq(format!("test:{}", id.0)),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// A credential that has expired, as `credential.expired` names it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Expired {
    #[diesel(sql_type = Uuid)]
    pub id: CredentialId,
    #[diesel(sql_type = Uuid)]
    pub org_id: OrgId,
    #[diesel(sql_type = Text)]
    pub client_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

/// The outbox key of `credential.expired` for an expiry (the SQL below builds the same).
pub fn expired_key(id: CredentialId, expires_at: DateTime<Utc>) -> String {
    format!("expired:{id}:{}", expires_at.timestamp())
}

/// Credentials not revoked that expired in `(since, now]`, of which an enabled endpoint
/// subscribed to `credential.expired`, there when it expired, has not been told.
pub async fn expired_unannounced(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> QueryResult<Vec<Expired>> {
    diesel::sql_query(
        "SELECT c.id, c.org_id, c.client_id, c.name, c.expires_at FROM credentials c \
         WHERE c.expires_at <= $1 AND c.expires_at > $2 AND c.revoked_at IS NULL \
           AND EXISTS (SELECT 1 FROM webhook_endpoints e \
             WHERE e.org_id = c.org_id AND e.enabled AND $3 = ANY (e.events) \
               AND e.created_at <= c.expires_at \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                 WHERE d.endpoint_id = e.id AND d.dedup_key = 'expired:' || c.id::text || ':' \
                   || floor(extract(epoch FROM c.expires_at))::bigint::text))",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(since)
    .bind::<Text, _>(WebhookEvent::Expired.as_str())
    .load(conn)
    .await
}

/// A delivery as the endpoint's page lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl WebhookDelivery {
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.id.0.simple())
    }

    /// The latest of `endpoint`'s deliveries, newest first.
    pub async fn recent(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        endpoint: WebhookEndpointId,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        webhook_deliveries::table
            .filter(webhook_deliveries::org_id.eq(org))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint))
            .order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Sends `id` again from now (same message id, a fresh 24 hours of retries); `NotFound`
    /// unless it is a delivery of `endpoint` in `org`.
    pub async fn redeliver(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::org_id.eq(org))
                .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                .find(id),
        )
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::claim.eq(None::<uuid::Uuid>),
            webhook_deliveries::first_attempt_at.eq(None::<DateTime<Utc>>),
            webhook_deliveries::failed_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_names_the_event_the_credential_and_the_actor() {
        let details = json!({ "overlap": "now" });
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let payload = Event {
            event: WebhookEvent::SecretRotated,
            at,
            credential_id: None,
            client_id: Some("m2m_ci_x"),
            name: Some("Sync"),
            actor: EventActor::Staff("ops@acme.test"),
            details: &details,
        }
        .payload();
        assert_eq!(
            payload,
            json!({
                "type": "credential.secret_rotated",
                "timestamp": "1970-01-01T00:00:00.000Z",
                "data": {
                    "credential_id": null,
                    "client_id": "m2m_ci_x",
                    "name": "Sync",
                    "actor": { "type": "staff", "email": "ops@acme.test" },
                    "details": { "overlap": "now" },
                },
            })
        );
    }
}
