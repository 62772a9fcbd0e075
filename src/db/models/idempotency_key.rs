//! The answers to management API POSTs sent with an `Idempotency-Key`, kept 24 hours per
//! calling credential (see `api::v1::idempotency`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::CredentialId;
use crate::db::schema::api_idempotency_keys;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_idempotency_keys)]
pub struct StoredAnswer {
    pub request_digest: Vec<u8>,
    pub status: i32,
    pub body: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The answer kept for `(caller, key)`, if any (however old).
pub async fn find(
    conn: &mut AsyncPgConnection,
    caller: CredentialId,
    key: &str,
) -> QueryResult<Option<StoredAnswer>> {
    api_idempotency_keys::table
        .filter(api_idempotency_keys::caller_id.eq(caller))
        .filter(api_idempotency_keys::key.eq(key))
        .select(StoredAnswer::as_select())
        .first(conn)
        .await
        .optional()
}

/// Claims `key` for a request, inside the transaction of the change: a concurrent request
/// with the same key waits on this row until the change commits, then finds the answer
/// (`false`: already claimed).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    caller: CredentialId,
    key: &str,
    digest: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::insert_into(api_idempotency_keys::table)
        .values((
            api_idempotency_keys::caller_id.eq(caller),
            api_idempotency_keys::key.eq(key),
            api_idempotency_keys::request_digest.eq(digest),
            api_idempotency_keys::status.eq(0),
            api_idempotency_keys::body.eq(serde_json::Value::Null),
            api_idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Records the answer to a claimed key, in the same transaction as the claim.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    caller: CredentialId,
    key: &str,
    status: i32,
    body: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(
        api_idempotency_keys::table
            .filter(api_idempotency_keys::caller_id.eq(caller))
            .filter(api_idempotency_keys::key.eq(key)),
    )
    .set((
        api_idempotency_keys::status.eq(status),
        api_idempotency_keys::body.eq(body),
    ))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Forgets answers kept before `cutoff`.
pub async fn sweep(conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(api_idempotency_keys::table.filter(api_idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
        .await
}

/// Forgets one answer (kept beyond its 24 hours).
pub async fn forget(
    conn: &mut AsyncPgConnection,
    caller: CredentialId,
    key: &str,
) -> QueryResult<usize> {
    diesel::delete(
        api_idempotency_keys::table
            .filter(api_idempotency_keys::caller_id.eq(caller))
            .filter(api_idempotency_keys::key.eq(key)),
    )
    .execute(conn)
    .await
}
