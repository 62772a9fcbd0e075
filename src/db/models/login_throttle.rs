//! Failed sign-in counters per account and per IP address.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_throttle;

/// The latest lock among `keys` that is still in force.
pub async fn locked_until(
    conn: &mut AsyncPgConnection,
    keys: &[String],
    now: DateTime<Utc>,
) -> QueryResult<Option<DateTime<Utc>>> {
    login_throttle::table
        .filter(login_throttle::key.eq_any(keys))
        .filter(login_throttle::locked_until.gt(now))
        .select(diesel::dsl::max(login_throttle::locked_until))
        .get_result::<Option<DateTime<Utc>>>(conn)
        .await
}

/// Counts one failure for `key` inside a window that starts afresh once `window_start`
/// has passed it; returns the failures counted in the current window.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    key: &str,
    now: DateTime<Utc>,
    window_start: DateTime<Utc>,
) -> QueryResult<i32> {
    use diesel::upsert::excluded;
    let stale = login_throttle::window_started_at.lt(window_start);
    diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::key.eq(key),
            login_throttle::failures.eq(1),
            login_throttle::window_started_at.eq(now),
        ))
        .on_conflict(login_throttle::key)
        .do_update()
        .set((
            login_throttle::failures.eq(
                diesel::dsl::case_when::<_, _, diesel::sql_types::Integer>(stale, 1)
                    .otherwise(login_throttle::failures + 1),
            ),
            login_throttle::window_started_at.eq(diesel::dsl::case_when::<
                _,
                _,
                diesel::sql_types::Timestamptz,
            >(
                login_throttle::window_started_at.lt(window_start),
                excluded(login_throttle::window_started_at),
            )
            .otherwise(login_throttle::window_started_at)),
        ))
        .returning(login_throttle::failures)
        .get_result(conn)
        .await
}

pub async fn lock(
    conn: &mut AsyncPgConnection,
    key: &str,
    until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(login_throttle::table.find(key))
        .set(login_throttle::locked_until.eq(until))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .await
        .map(|_| ())
}
