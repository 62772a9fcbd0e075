//! The two events no audit row stands for: `credential.expiring`, queued by the reminder job
//! with each reminder, and `credential.expired`, queued by the scheduled jobs for credentials
//! that have expired. Each is queued once per endpoint, credential, expiry (and threshold),
//! however many instances run: the outbox's key says so.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::audit::payload::{self, Details};
use crate::db::models::credential::Credential;
use crate::db::models::webhook_delivery::{self, Event, EventActor};
use crate::db::models::webhook_endpoint::WebhookEvent;

/// A credential that expired while the server was down this long is still announced.
pub const LOOKBACK: Duration = Duration::days(7);

/// Queues `credential.expiring` for the reminder `days` before `expires_at` (in the
/// reminder's transaction).
pub async fn enqueue_expiring(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    days: i64,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let details = payload::Expiring { days, expires_at }.to_json();
    let event = Event {
        event: WebhookEvent::Expiring,
        at: now,
        credential_id: Some(credential.id),
        client_id: Some(&credential.client_id),
        name: Some(&credential.name),
        actor: EventActor::System,
        details: &details,
    };
    let key = format!(
        "expiring:{}:{}:{days}",
        credential.id,
        expires_at.timestamp()
    );
    webhook_delivery::enqueue(conn, credential.org_id, &event, &key, None, now).await
}

/// Queues `credential.expired` for every credential that expired since `LOOKBACK` and is not
/// announced yet to an endpoint that was there when it expired; how many deliveries.
pub async fn enqueue_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let mut queued = 0;
    for expired in webhook_delivery::expired_unannounced(conn, now, now - LOOKBACK).await? {
        let details = payload::Expired {
            expires_at: expired.expires_at,
        }
        .to_json();
        let event = Event {
            event: WebhookEvent::Expired,
            at: expired.expires_at,
            credential_id: Some(expired.id),
            client_id: Some(&expired.client_id),
            name: Some(&expired.name),
            actor: EventActor::System,
            details: &details,
        };
        queued += webhook_delivery::enqueue(
            conn,
            expired.org_id,
            &event,
            &webhook_delivery::expired_key(expired.id, expired.expires_at),
            Some(expired.expires_at),
            now,
        )
        .await?;
    }
    Ok(queued)
}
