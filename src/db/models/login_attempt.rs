//! Sign-in attempt counters, keyed on digests (see the hardening migration and
//! `staff::throttle`, which holds the rule's numbers).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Integer, Interval, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_attempts;

diesel::define_sql_function! {
    /// See the hardening migration: reserves an attempt under every key or none.
    fn reserve_login_attempts(
        keys: Array<Bytea>,
        allowances: Array<Integer>,
        now: Timestamptz,
        window: Interval,
    ) -> Nullable<Timestamptz>;
}

/// Reserves one attempt under each of `keys` (with its allowance), atomically: `None` when
/// reserved, or the time until which the caller is refused (nothing was reserved then).
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    keys: &[(Vec<u8>, i32)],
    now: DateTime<Utc>,
    window: Duration,
) -> QueryResult<Option<DateTime<Utc>>> {
    let digests: Vec<&[u8]> = keys.iter().map(|(k, _)| k.as_slice()).collect();
    let allowances: Vec<i32> = keys.iter().map(|(_, a)| *a).collect();
    let window = diesel::data_types::PgInterval::from_microseconds(
        window.num_microseconds().unwrap_or(i64::MAX),
    );
    diesel::select(reserve_login_attempts(digests, allowances, now, window))
        .get_result(conn)
        .await
}

/// A failed attempt under `key`: when the reserved attempts have reached `allowance` and no
/// lock holds, starts a lock-out episode of `first_delay` doubled per earlier episode in
/// this window, at most `max_delay`, and leaves one attempt for after it. Returns whether
/// this failure started the episode (of concurrent failures, exactly one does).
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    key: &[u8],
    allowance: i32,
    now: DateTime<Utc>,
    first_delay: Duration,
    max_delay: Duration,
) -> QueryResult<bool> {
    let started = diesel::sql_query(
        "UPDATE login_attempts SET \
             locked_until = $3 + least(make_interval(secs => $4 * power(2, least(lockouts, 20))), \
                                       make_interval(secs => $5)), \
             lockouts = lockouts + 1, \
             attempts = $2 - 1 \
         WHERE key = $1 AND attempts >= $2 AND (locked_until IS NULL OR locked_until <= $3)",
    )
    .bind::<Bytea, _>(key)
    .bind::<Integer, _>(allowance)
    .bind::<Timestamptz, _>(now)
    .bind::<diesel::sql_types::Double, _>(first_delay.num_seconds() as f64)
    .bind::<diesel::sql_types::Double, _>(max_delay.num_seconds() as f64)
    .execute(conn)
    .await?;
    Ok(started > 0)
}

#[derive(QueryableByName)]
struct Attempts {
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Counts one more attempt under `key`, which allows `cap` in all (no lock-out, no window of
/// its own beyond the sweep's): the count with it, or `None` once `cap` were made. Atomic.
pub async fn count_up_to(
    conn: &mut AsyncPgConnection,
    key: &[u8],
    cap: i32,
    now: DateTime<Utc>,
) -> QueryResult<Option<i32>> {
    diesel::sql_query(
        "INSERT INTO login_attempts (key, attempts, window_started_at) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET attempts = login_attempts.attempts + 1 \
         WHERE login_attempts.attempts < $3 \
         RETURNING attempts",
    )
    .bind::<Bytea, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(cap)
    .get_result::<Attempts>(conn)
    .await
    .optional()
    .map(|row| row.map(|r| r.attempts))
}

/// Hands back one reservation under `key` (the attempt succeeded).
pub async fn release(conn: &mut AsyncPgConnection, key: &[u8]) -> QueryResult<()> {
    diesel::update(
        login_attempts::table
            .find(key)
            .filter(login_attempts::attempts.gt(0)),
    )
    .set(login_attempts::attempts.eq(login_attempts::attempts - 1))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Forgets `key` altogether (the account's owner proved the password from this address).
pub async fn forget(conn: &mut AsyncPgConnection, key: &[u8]) -> QueryResult<()> {
    diesel::delete(login_attempts::table.find(key))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes counters whose window has passed with no lock in force: they would start
/// afresh anyway. Returns how many went.
pub async fn sweep(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    window: Duration,
) -> QueryResult<usize> {
    diesel::delete(
        login_attempts::table
            .filter(login_attempts::window_started_at.le(now - window))
            .filter(
                login_attempts::locked_until
                    .is_null()
                    .or(login_attempts::locked_until.le(now)),
            ),
    )
    .execute(conn)
    .await
}
