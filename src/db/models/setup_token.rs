//! The first-run setup link's token, stored as a digest.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::setup_tokens;

/// Replaces any earlier token: only the most recently printed link works.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(setup_tokens::table).execute(conn).await?;
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(hash),
            setup_tokens::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn exists(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(setup_tokens::table.find(hash)))
        .get_result(conn)
        .await
}

/// Deletes the token if present; true when this call consumed it (only one caller can).
pub async fn consume(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<bool> {
    diesel::delete(setup_tokens::table.find(hash))
        .execute(conn)
        .await
        .map(|n| n == 1)
}

pub async fn delete_all(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::delete(setup_tokens::table)
        .execute(conn)
        .await
        .map(|_| ())
}
