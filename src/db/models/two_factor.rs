//! A staff member's TOTP enrolment and recovery codes (see the two_factor migration). The
//! key is stored sealed; the codes as SHA-256 digests.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{OrgId, UserId};
use crate::db::schema::{org_policies, recovery_codes, user_two_factor, users};

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = user_two_factor)]
pub struct TwoFactor {
    pub user_id: UserId,
    pub sealed_key: Vec<u8>,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_used_step: Option<i64>,
}

/// Wrong codes in a row after which the account's app codes are refused (NIST SP 800-63B
/// §5.2.2 allows at most 100).
pub const CODE_CEILING: i32 = 100;

impl TwoFactor {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }

    pub async fn find(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<Self>> {
        user_two_factor::table
            .find(user)
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The row locked for the rest of the transaction.
    pub async fn lock(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<Self>> {
        user_two_factor::table
            .find(user)
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// Starts (or restarts) an enrolment with a new sealed key; not yet enabled.
    pub async fn start(
        conn: &mut AsyncPgConnection,
        user: UserId,
        sealed_key: &[u8],
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::insert_into(user_two_factor::table)
            .values((
                user_two_factor::user_id.eq(user),
                user_two_factor::sealed_key.eq(sealed_key),
                user_two_factor::created_at.eq(now),
            ))
            .on_conflict(user_two_factor::user_id)
            .do_update()
            .set((
                user_two_factor::sealed_key.eq(sealed_key),
                user_two_factor::enabled_at.eq(None::<DateTime<Utc>>),
                user_two_factor::last_used_step.eq(None::<i64>),
                user_two_factor::created_at.eq(now),
                user_two_factor::failed_codes.eq(0),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Records `step` as used, only if it is later than the last one used: `false` when a
    /// concurrent request used it (or a later one) first.
    pub async fn use_step(
        conn: &mut AsyncPgConnection,
        user: UserId,
        step: i64,
    ) -> QueryResult<bool> {
        diesel::update(
            user_two_factor::table.find(user).filter(
                user_two_factor::last_used_step
                    .is_null()
                    .or(user_two_factor::last_used_step.lt(step)),
            ),
        )
        .set(user_two_factor::last_used_step.eq(step))
        .execute(conn)
        .await
        .map(|n| n == 1)
    }

    /// Counts one more code attempt against the account's ceiling before it is checked: the
    /// count with it, or `None` when the ceiling is reached (nothing counted). Atomic, so
    /// concurrent attempts from any number of addresses never pass it.
    pub async fn reserve_code_attempt(
        conn: &mut AsyncPgConnection,
        user: UserId,
    ) -> QueryResult<Option<i32>> {
        diesel::update(
            user_two_factor::table
                .find(user)
                .filter(user_two_factor::failed_codes.lt(CODE_CEILING)),
        )
        .set(user_two_factor::failed_codes.eq(user_two_factor::failed_codes + 1))
        .returning(user_two_factor::failed_codes)
        .get_result(conn)
        .await
        .optional()
    }

    /// A right code: the count of wrong ones in a row starts again.
    pub async fn clear_failed_codes(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
        diesel::update(user_two_factor::table.find(user))
            .set(user_two_factor::failed_codes.eq(0))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Takes the right to alert the owner at `now` when no alert went out within `every`:
    /// of concurrent callers, one gets it.
    pub async fn claim_alert(
        conn: &mut AsyncPgConnection,
        user: UserId,
        now: DateTime<Utc>,
        every: chrono::Duration,
    ) -> QueryResult<bool> {
        diesel::update(
            user_two_factor::table.find(user).filter(
                user_two_factor::alerted_at
                    .is_null()
                    .or(user_two_factor::alerted_at.le(now - every)),
            ),
        )
        .set(user_two_factor::alerted_at.eq(now))
        .execute(conn)
        .await
        .map(|n| n == 1)
    }

    pub async fn enable(
        conn: &mut AsyncPgConnection,
        user: UserId,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(user_two_factor::table.find(user))
            .set(user_two_factor::enabled_at.eq(now))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Removes the enrolment and its recovery codes; whether there was one.
    pub async fn delete(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<bool> {
        diesel::delete(user_two_factor::table.find(user))
            .execute(conn)
            .await
            .map(|n| n > 0)
    }

    /// The users of `org` who have two-factor on, each with whether their app codes are
    /// locked (`CODE_CEILING` wrong ones in a row).
    pub async fn enabled_in_org(
        conn: &mut AsyncPgConnection,
        org: OrgId,
    ) -> QueryResult<Vec<(UserId, bool)>> {
        user_two_factor::table
            .inner_join(users::table)
            .filter(users::org_id.eq(org))
            .filter(user_two_factor::enabled_at.is_not_null())
            .select((
                user_two_factor::user_id,
                user_two_factor::failed_codes.ge(CODE_CEILING),
            ))
            .load(conn)
            .await
    }

    /// Whether `user` (of `org`, with a role the policy covers) must enrol before anything
    /// else: the policy asks for two-factor and theirs is not on. One query.
    pub async fn enrolment_required(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        user: UserId,
    ) -> QueryResult<bool> {
        let required = org_policies::table
            .find(org)
            .select(org_policies::require_two_factor)
            .single_value()
            .assume_not_null();
        let enabled = diesel::dsl::exists(
            user_two_factor::table
                .find(user)
                .filter(user_two_factor::enabled_at.is_not_null()),
        );
        diesel::select(
            required
                .nullable()
                .is_not_distinct_from(true)
                .and(enabled.eq(false)),
        )
        .get_result(conn)
        .await
    }
}

/// Replaces `user`'s recovery codes with the digests given.
pub async fn replace_recovery_codes(
    conn: &mut AsyncPgConnection,
    user: UserId,
    digests: &[Vec<u8>],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = digests
        .iter()
        .map(|d| {
            (
                recovery_codes::user_id.eq(user),
                recovery_codes::code_hash.eq(d.as_slice()),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(rows)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Marks the unused code with `digest` used; whether there was one.
pub async fn use_recovery_code(
    conn: &mut AsyncPgConnection,
    user: UserId,
    digest: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user))
            .filter(recovery_codes::code_hash.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// How many of `user`'s recovery codes are left.
pub async fn recovery_codes_left(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
        .await
}
