//! The delivery job's side of the webhook outbox: claiming the deliveries that are due (one
//! instance each) and recording every attempt and what follows it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::db::ids::{WebhookDeliveryId, WebhookEndpointId};
use crate::db::models::webhook_delivery::DeliveryStatus;
use crate::db::schema::webhook_attempts;

/// A delivery the job has claimed, with what sending it needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Uuid)]
    pub id: WebhookDeliveryId,
    #[diesel(sql_type = Uuid)]
    pub endpoint_id: WebhookEndpointId,
    #[diesel(sql_type = Jsonb)]
    pub payload: Value,
    /// Attempts made before this one.
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub first_attempt_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Bytea)]
    pub secret_sealed: Vec<u8>,
    #[diesel(sql_type = Bool)]
    pub enabled: bool,
}

impl Claimed {
    /// The Standard Webhooks message id: the same for every attempt and Redeliver.
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.id.0.simple())
    }
}

/// How one attempt ended, as recorded.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    /// Short, and never a secret (no URL, no body).
    pub error: Option<String>,
    pub duration_ms: i32,
    /// The start of the endpoint's answer (4 KB at most), for the endpoint's page.
    pub response_body: Option<String>,
    /// What follows: delivered, another try at a time, or given up.
    pub next: DeliveryStatus,
    pub retry_at: Option<DateTime<Utc>>,
}

/// Claims up to `limit` deliveries due at `now` for this run (`claim`): each is skipped by
/// every other instance (`SKIP LOCKED`, then its due time moves to `lease_until`) until the
/// outcome is recorded, or the lease lapses because this instance died.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    claim: uuid::Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE webhook_deliveries d SET claim = $1, next_attempt_at = $3 \
         FROM webhook_endpoints e \
         WHERE e.id = d.endpoint_id AND d.id IN ( \
             SELECT id FROM webhook_deliveries \
             WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING d.id, d.endpoint_id, d.payload, d.attempts, d.first_attempt_at, e.url, \
             e.secret_sealed, e.enabled",
    )
    .bind::<Uuid, _>(claim)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<Int8, _>(limit)
    .load(conn)
    .await
}

/// Records an attempt of `delivery` made under `claim`. The attempt is always kept; the
/// delivery changes only if the claim is still this one's (a Redeliver meanwhile wins).
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    delivery: WebhookDeliveryId,
    claim: uuid::Uuid,
    attempt: &Attempt,
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(delivery),
                webhook_attempts::attempted_at.eq(attempt.at),
                webhook_attempts::status_code.eq(attempt.status_code),
                webhook_attempts::error.eq(&attempt.error),
                webhook_attempts::duration_ms.eq(attempt.duration_ms),
                webhook_attempts::response_body.eq(&attempt.response_body),
            ))
            .execute(conn)
            .await?;
        let delivered = attempt.next == DeliveryStatus::Delivered;
        let failed = attempt.next == DeliveryStatus::Failed;
        diesel::sql_query(
            "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, \
                 first_attempt_at = COALESCE(first_attempt_at, $4), last_attempt_at = $4, \
                 last_status_code = $5, last_error = $6, \
                 next_attempt_at = COALESCE($7, next_attempt_at), claim = NULL, \
                 delivered_at = CASE WHEN $8 THEN $4 END, \
                 failed_at = CASE WHEN $9 THEN $4 END \
             WHERE id = $1 AND claim = $2",
        )
        .bind::<Uuid, _>(delivery)
        .bind::<Uuid, _>(claim)
        .bind::<Text, _>(attempt.next)
        .bind::<Timestamptz, _>(attempt.at)
        .bind::<Nullable<Int4>, _>(attempt.status_code)
        .bind::<Nullable<Text>, _>(&attempt.error)
        .bind::<Nullable<Timestamptz>, _>(attempt.retry_at)
        .bind::<Bool, _>(delivered)
        .bind::<Bool, _>(failed)
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
}

/// The latest attempt of a delivery as the endpoint's page shows it.
#[derive(Debug, Clone, QueryableByName)]
pub struct LastExchange {
    #[diesel(sql_type = Uuid)]
    pub delivery_id: WebhookDeliveryId,
    #[diesel(sql_type = Nullable<Int4>)]
    pub status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub response_body: Option<String>,
    #[diesel(sql_type = Int4)]
    pub duration_ms: i32,
}

/// The latest attempt of each of `deliveries` that has one.
pub async fn latest_exchanges(
    conn: &mut AsyncPgConnection,
    deliveries: &[WebhookDeliveryId],
) -> QueryResult<Vec<LastExchange>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "SELECT DISTINCT ON (delivery_id) delivery_id, attempted_at, status_code, error, \
             response_body, duration_ms \
         FROM webhook_attempts WHERE delivery_id = ANY ($1) \
         ORDER BY delivery_id, attempted_at DESC, id DESC",
    )
    .bind::<diesel::sql_types::Array<Uuid>, _>(deliveries)
    .load(conn)
    .await
}
