//! The writes of a credential's lifecycle: rotating its secret (with or without an overlap),
//! retiring the previous secret, revoking, disabling and enabling. The rules of when each is
//! allowed are the domain's (`credentials::lifecycle`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, OrgId};
use crate::db::models::credential::Credential;
use crate::db::models::usable::usable_at;
use crate::db::schema::credentials;

/// The query of one unrevoked credential.
type UsableRow = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<credentials::table, diesel::dsl::Eq<credentials::org_id, OrgId>>,
        diesel::dsl::Eq<credentials::id, CredentialId>,
    >,
    diesel::dsl::IsNull<credentials::revoked_at>,
>;

/// Sets `$changes` on the unrevoked credential `$id` of `$org`, and `updated_at` to `$now`;
/// a future of the changed row (`NotFound` when there is no such credential). A macro: as a
/// function it would have to spell out diesel's update statement type in its bounds.
macro_rules! update_usable {
    ($conn:expr, $org:expr, $id:expr, $now:expr, $changes:expr $(,)?) => {
        diesel::update(Credential::usable_row($org, $id))
            .set(($changes, credentials::updated_at.eq($now)))
            .returning(Credential::as_returning())
            .get_result($conn)
    };
}

/// Why a credential is disabled and by whom, as its row keeps it.
pub struct DisabledNote<'a> {
    /// `manual`, `stale` or `leaked`.
    pub reason: &'a str,
    pub by: Option<&'a str>,
    pub why: Option<&'a str>,
}

/// A new secret, and until when the one it replaces keeps working (`None`: not at all).
pub struct Rotation<'a> {
    pub secret_hash: &'a [u8],
    pub last_four: &'a str,
    pub previous_retires_at: Option<DateTime<Utc>>,
    /// Recorded, so that the same request sent again is recognised as a replay.
    pub key: uuid::Uuid,
    pub now: DateTime<Utc>,
}

impl Credential {
    /// Puts a new secret in place. The version goes up, so tokens of the old secret are
    /// refused (even one stored after this commits: issuing takes no lock on this row) unless
    /// the old secret overlaps; then it moves, with its evidence, to the previous slot, and
    /// whatever was there before is gone at once (at most two secrets live).
    pub async fn rotate_secret(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        rotation: &Rotation<'_>,
    ) -> QueryResult<Self> {
        // A request replayed while the first one commits waits for its row lock, then finds
        // its own key in place and changes nothing (NotFound).
        let target = credentials::table
            .filter(credentials::org_id.eq(org))
            .filter(credentials::id.eq(id))
            .filter(credentials::revoked_at.is_null())
            .filter(credentials::rotation_key.is_distinct_from(rotation.key));
        let new_secret = (
            credentials::secret_hash.eq(rotation.secret_hash),
            credentials::secret_last_four.eq(rotation.last_four),
            credentials::secret_last_used_at.eq(None::<DateTime<Utc>>),
            credentials::secret_last_used_ip.eq(None::<String>),
            credentials::secret_uses.eq(0),
            credentials::secret_version.eq(credentials::secret_version + 1),
            credentials::secret_rotated_at.eq(rotation.now),
            credentials::updated_at.eq(rotation.now),
            credentials::rotation_key.eq(rotation.key),
        );
        match rotation.previous_retires_at {
            Some(retires_at) => {
                diesel::update(target)
                    .set((
                        new_secret,
                        (
                            credentials::previous_secret_hash
                                .eq(credentials::secret_hash.nullable()),
                            credentials::previous_secret_last_four
                                .eq(credentials::secret_last_four),
                            credentials::previous_secret_retires_at.eq(retires_at),
                            credentials::previous_secret_last_used_at
                                .eq(credentials::secret_last_used_at),
                            credentials::previous_secret_last_used_ip
                                .eq(credentials::secret_last_used_ip),
                            credentials::previous_secret_uses.eq(credentials::secret_uses),
                        ),
                    ))
                    .returning(Self::as_returning())
                    .get_result(conn)
                    .await
            }
            None => {
                diesel::update(target)
                    .set((new_secret, Self::no_previous_secret()))
                    .returning(Self::as_returning())
                    .get_result(conn)
                    .await
            }
        }
    }

    /// Empties the previous-secret slot.
    #[allow(clippy::type_complexity)]
    fn no_previous_secret() -> (
        diesel::dsl::Eq<credentials::previous_secret_hash, Option<Vec<u8>>>,
        diesel::dsl::Eq<credentials::previous_secret_last_four, Option<String>>,
        diesel::dsl::Eq<credentials::previous_secret_retires_at, Option<DateTime<Utc>>>,
        diesel::dsl::Eq<credentials::previous_secret_last_used_at, Option<DateTime<Utc>>>,
        diesel::dsl::Eq<credentials::previous_secret_last_used_ip, Option<String>>,
        diesel::dsl::Eq<credentials::previous_secret_uses, i64>,
    ) {
        (
            credentials::previous_secret_hash.eq(None),
            credentials::previous_secret_last_four.eq(None),
            credentials::previous_secret_retires_at.eq(None),
            credentials::previous_secret_last_used_at.eq(None),
            credentials::previous_secret_last_used_ip.eq(None),
            credentials::previous_secret_uses.eq(0),
        )
    }

    /// Ends an overlap: the previous secret, and every token issued under it, stop working.
    pub async fn retire_previous_secret(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            credentials::table
                .filter(credentials::org_id.eq(org))
                .filter(credentials::id.eq(id)),
        )
        .set((Self::no_previous_secret(), credentials::updated_at.eq(now)))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Disables it: `invalid_client` from the next request. `note` says why and by whom.
    pub async fn set_disabled(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        now: DateTime<Utc>,
        note: &DisabledNote<'_>,
    ) -> QueryResult<Self> {
        let note = (
            credentials::disabled_at.eq(now),
            credentials::disabled_reason.eq(note.reason),
            credentials::disabled_by.eq(note.by),
            credentials::disabled_why.eq(note.why),
        );
        update_usable!(conn, org, id, now, note).await
    }

    /// Enables it again, which starts a new period before it counts as stale.
    pub async fn set_enabled(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        let enabled = (
            credentials::disabled_at.eq(None::<DateTime<Utc>>),
            credentials::disabled_reason.eq(None::<String>),
            credentials::disabled_by.eq(None::<String>),
            credentials::disabled_why.eq(None::<String>),
            credentials::enabled_at.eq(now),
        );
        update_usable!(conn, org, id, now, enabled).await
    }

    /// Exempts it from the staleness policy, or ends the exemption.
    pub async fn set_stale_exempt(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        exempt: bool,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        update_usable!(conn, org, id, now, credentials::stale_exempt.eq(exempt)).await
    }

    /// Accepts only signed assertions (`keys_only`), or its secret too.
    pub async fn set_keys_only(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        keys_only: bool,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        update_usable!(conn, org, id, now, credentials::keys_only.eq(keys_only)).await
    }

    /// Notes a report of one of its live secrets found in public at `now`; `repeat`: the
    /// report is recorded although it was already disabled (see `leak_repeat_recorded_at`).
    pub async fn note_leak_report(
        conn: &mut AsyncPgConnection,
        id: CredentialId,
        now: DateTime<Utc>,
        repeat: bool,
    ) -> QueryResult<usize> {
        let target = credentials::table.filter(credentials::id.eq(id));
        if repeat {
            diesel::update(target)
                .set((
                    credentials::leak_reported_at.eq(now),
                    credentials::leak_repeat_recorded_at.eq(now),
                ))
                .execute(conn)
                .await
        } else {
            diesel::update(target)
                .set(credentials::leak_reported_at.eq(now))
                .execute(conn)
                .await
        }
    }

    /// The unrevoked credential `id` of `org`.
    fn usable_row(org: OrgId, id: CredentialId) -> UsableRow {
        credentials::table
            .filter(credentials::org_id.eq(org))
            .filter(credentials::id.eq(id))
            .filter(credentials::revoked_at.is_null())
    }

    /// Permanent: there is no way back from a revocation.
    pub async fn revoke(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        update_usable!(conn, org, id, now, credentials::revoked_at.eq(now)).await
    }
}

/// The queries of the background jobs.
impl Credential {
    /// The credential, locked until the transaction ends: changes of its state wait for
    /// each other.
    pub async fn lock_in_org(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
    ) -> QueryResult<Self> {
        credentials::table
            .filter(credentials::org_id.eq(org))
            .filter(credentials::id.eq(id))
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// Usable credentials of every organisation expiring after `from` and by `until`.
    pub async fn usable_expiring_between(
        conn: &mut AsyncPgConnection,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> QueryResult<Vec<Self>> {
        credentials::table
            .filter(usable_at(from))
            .filter(credentials::expires_at.le(until))
            .order(credentials::expires_at.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Usable credentials of `org`, not exempt from staleness, whose last activity
    /// (`Credential::last_activity`) is at or before `cutoff`: what a "disable" policy
    /// disables.
    pub async fn unused_since(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> QueryResult<Vec<CredentialId>> {
        credentials::table
            .filter(credentials::org_id.eq(org))
            .filter(usable_at(now))
            .filter(credentials::stale_exempt.eq(false))
            .filter(credentials::created_at.le(cutoff))
            .filter(
                credentials::last_used_at
                    .is_null()
                    .or(credentials::last_used_at.le(cutoff)),
            )
            .filter(
                credentials::enabled_at
                    .is_null()
                    .or(credentials::enabled_at.le(cutoff)),
            )
            .select(credentials::id)
            .load(conn)
            .await
    }
}

impl Credential {
    /// The credential `id` of whichever organisation (for the system, which acts in all).
    pub async fn find_any(conn: &mut AsyncPgConnection, id: CredentialId) -> QueryResult<Self> {
        credentials::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The credential whose current secret, or previous secret still overlapping at `now`,
    /// has this digest (a leak report names the secret, not the credential).
    pub async fn find_by_live_secret_hash(
        conn: &mut AsyncPgConnection,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> QueryResult<Option<Self>> {
        credentials::table
            .filter(
                credentials::secret_hash
                    .eq(hash)
                    .or(credentials::previous_secret_hash
                        .eq(hash)
                        .and(credentials::previous_secret_retires_at.gt(now))),
            )
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }
}
