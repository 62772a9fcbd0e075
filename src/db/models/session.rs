//! Server-side session rows. The cookie carries a random key; the row is found by the key's
//! SHA-256 digest and carries its own idle and absolute deadlines.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::UserId;
use crate::db::schema::sessions;

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub key_hash: &'a [u8],
    pub user_id: Option<UserId>,
    /// The user whose pending sign-in (waiting for a code) the session holds.
    pub pending_user_id: Option<UserId>,
    pub state: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(new)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The state of a live session: neither idle nor past its absolute lifetime.
pub async fn load_live(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<serde_json::Value>> {
    sessions::table
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::idle_expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .select(sessions::state)
        .first(conn)
        .await
        .optional()
}

/// Returns whether the (live) row still existed. `users` are the signed-in user and the user
/// of a pending sign-in, as the state holds them.
pub async fn update_state(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    (user_id, pending_user_id): (Option<UserId>, Option<UserId>),
    state: serde_json::Value,
    now: DateTime<Utc>,
    idle_expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .filter(sessions::key_hash.eq(key_hash))
            .filter(sessions::absolute_expires_at.gt(now)),
    )
    .set((
        sessions::user_id.eq(user_id),
        sessions::pending_user_id.eq(pending_user_id),
        sessions::state.eq(state),
        sessions::idle_expires_at.eq(idle_expires_at),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

pub async fn touch(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    idle_expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .set(sessions::idle_expires_at.eq(idle_expires_at))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete(conn: &mut AsyncPgConnection, key_hash: &[u8]) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends every session of a user: logout everywhere, role change, disable, two-factor reset.
/// Sign-ins of theirs still waiting for a code end too.
pub async fn delete_for_user(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::user_id
                .eq(user_id)
                .or(sessions::pending_user_id.eq(user_id)),
        ),
    )
    .execute(conn)
    .await
}

/// Ends the user's sign-ins still waiting for a code (their password changed, or they signed
/// their other sessions out).
pub async fn delete_pending_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::pending_user_id.eq(user_id)))
        .execute(conn)
        .await
}

pub async fn delete_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::idle_expires_at
                .le(now)
                .or(sessions::absolute_expires_at.le(now)),
        ),
    )
    .execute(conn)
    .await
}

/// One of a user's sessions, as the sessions page and "sign out other sessions" see it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct UserSession {
    pub key_hash: Vec<u8>,
    pub state: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
}

impl UserSession {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.idle_expires_at > now && self.absolute_expires_at > now
    }
}

/// How many of a user's sessions are read at most: each sign-in makes one, and a page
/// listing thousands helps nobody.
pub const MAX_LISTED: i64 = 200;

/// The user's live sessions, most recently active first (at most `MAX_LISTED`).
pub async fn list_live_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    now: DateTime<Utc>,
) -> QueryResult<Vec<UserSession>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::idle_expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .order(sessions::idle_expires_at.desc())
        .limit(MAX_LISTED)
        .select(UserSession::as_select())
        .load(conn)
        .await
}

/// Every session row of the user, locked until the transaction ends (ending them all but one
/// needs all of them, not a page).
pub async fn lock_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<Vec<UserSession>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(UserSession::as_select())
        .for_update()
        .load(conn)
        .await
}

/// Deletes the sessions with these key digests.
pub async fn delete_keys(
    conn: &mut AsyncPgConnection,
    key_hashes: &[Vec<u8>],
) -> QueryResult<usize> {
    if key_hashes.is_empty() {
        return Ok(0);
    }
    diesel::delete(sessions::table.filter(sessions::key_hash.eq_any(key_hashes)))
        .execute(conn)
        .await
}
