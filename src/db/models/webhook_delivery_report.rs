//! What the webhook pages read of `webhook_deliveries`: how each endpoint's deliveries stand
//! (retrying since when, next attempt, last success) and the payloads sent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int8, Nullable, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::db::ids::{OrgId, WebhookDeliveryId, WebhookEndpointId};
use crate::db::schema::webhook_deliveries;

/// How one endpoint's deliveries stand.
#[derive(Debug, Clone, QueryableByName)]
pub struct EndpointHealth {
    #[diesel(sql_type = Uuid)]
    pub endpoint_id: WebhookEndpointId,
    /// Deliveries that failed and wait for another attempt.
    #[diesel(sql_type = Int8)]
    pub retrying: i64,
    /// The first attempt of the oldest delivery still retrying.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub failing_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_success_at: Option<DateTime<Utc>>,
    /// The latest delivery given up on.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_failure_at: Option<DateTime<Utc>>,
}

impl EndpointHealth {
    /// Deliveries are failing: some wait for a retry, or the latest one to end was given up.
    pub fn failing(&self) -> bool {
        self.retrying > 0
            || self
                .last_failure_at
                .is_some_and(|failed| self.last_success_at.is_none_or(|ok| failed > ok))
    }
}

/// The health of every endpoint of `org` that has deliveries, by endpoint.
pub async fn health(
    conn: &mut AsyncPgConnection,
    org: OrgId,
) -> QueryResult<HashMap<WebhookEndpointId, EndpointHealth>> {
    let rows: Vec<EndpointHealth> = diesel::sql_query(
        "SELECT endpoint_id, \
             count(*) FILTER (WHERE status = 'retrying') AS retrying, \
             min(first_attempt_at) FILTER (WHERE status = 'retrying') AS failing_since, \
             min(next_attempt_at) FILTER (WHERE status = 'retrying') AS next_attempt_at, \
             max(delivered_at) AS last_success_at, \
             max(failed_at) AS last_failure_at \
         FROM webhook_deliveries WHERE org_id = $1 GROUP BY endpoint_id",
    )
    .bind::<Uuid, _>(org)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|h| (h.endpoint_id, h)).collect())
}

/// The payloads (request bodies) of `ids`, deliveries of `org`.
pub async fn payloads(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    ids: &[WebhookDeliveryId],
) -> QueryResult<HashMap<WebhookDeliveryId, Value>> {
    let rows: Vec<(WebhookDeliveryId, Value)> = webhook_deliveries::table
        .filter(webhook_deliveries::org_id.eq(org))
        .filter(webhook_deliveries::id.eq_any(ids))
        .select((webhook_deliveries::id, webhook_deliveries::payload))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}
