//! Invitations of new staff (see the invitations migration): one open invitation per address
//! and organisation, found by the digest of its one-time link's token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{InvitationId, OrgId, UserId};
use crate::db::models::user::StaffRole;
use crate::db::schema::invitations;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: StaffRole,
    pub invited_by_email: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub emailed_at: Option<DateTime<Utc>>,
    pub email_error: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new link for an invitation: who sends it, when, until when, and its token's digest.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = invitations)]
pub struct NewLink<'a> {
    pub token_hash: &'a [u8],
    pub role: StaffRole,
    pub invited_by: UserId,
    pub invited_by_email: &'a str,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Invitation {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// The organisation's open invitations (neither accepted nor revoked), newest first.
    pub async fn list_open(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Vec<Self>> {
        invitations::table
            .filter(invitations::org_id.eq(org))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .order(invitations::sent_at.desc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// The open invitation `id` of `org`, locked for the transaction.
    pub async fn lock_open(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: InvitationId,
    ) -> QueryResult<Self> {
        invitations::table
            .filter(invitations::org_id.eq(org))
            .filter(invitations::id.eq(id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// The open, unexpired invitation whose link's token has `token_hash`, locked when
    /// `lock` (accepting it) so two submissions cannot both use it.
    pub async fn find_usable(
        conn: &mut AsyncPgConnection,
        token_hash: &[u8],
        now: DateTime<Utc>,
        lock: bool,
    ) -> QueryResult<Option<Self>> {
        let query = invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .select(Self::as_select());
        if lock {
            query.for_update().first(conn).await.optional()
        } else {
            query.first(conn).await.optional()
        }
    }

    /// Opens an invitation of `email` to `org` with `link`, or when one is open already,
    /// gives it the new link (the old one stops working) and role. The invitation.
    pub async fn open_or_renew(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        email: &str,
        link: &NewLink<'_>,
    ) -> QueryResult<Self> {
        let open = invitations::table
            .filter(invitations::org_id.eq(org))
            .filter(invitations::email.eq(email))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .select(invitations::id)
            .for_update()
            .first::<InvitationId>(conn)
            .await
            .optional()?;
        match open {
            Some(id) => Self::renew(conn, id, link).await,
            None => {
                diesel::insert_into(invitations::table)
                    .values((
                        invitations::id.eq(InvitationId::new_random()),
                        invitations::org_id.eq(org),
                        invitations::email.eq(email),
                        link,
                        invitations::created_at.eq(link.sent_at),
                    ))
                    .returning(Self::as_returning())
                    .get_result(conn)
                    .await
            }
        }
    }

    /// Gives invitation `id` a new link; the email of the old one no longer matters.
    pub async fn renew(
        conn: &mut AsyncPgConnection,
        id: InvitationId,
        link: &NewLink<'_>,
    ) -> QueryResult<Self> {
        diesel::update(invitations::table.find(id))
            .set((
                link,
                invitations::emailed_at.eq(None::<DateTime<Utc>>),
                invitations::email_error.eq(None::<String>),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// What became of the email with the link `token_hash` (a newer link leaves it be).
    pub async fn record_email(
        conn: &mut AsyncPgConnection,
        id: InvitationId,
        token_hash: &[u8],
        outcome: Result<DateTime<Utc>, &str>,
    ) -> QueryResult<()> {
        let (emailed_at, error) = match outcome {
            Ok(at) => (Some(at), None),
            Err(error) => (None, Some(error)),
        };
        diesel::update(
            invitations::table
                .find(id)
                .filter(invitations::token_hash.eq(token_hash)),
        )
        .set((
            invitations::emailed_at.eq(emailed_at),
            invitations::email_error.eq(error),
        ))
        .execute(conn)
        .await
        .map(|_| ())
    }

    pub async fn revoke(
        conn: &mut AsyncPgConnection,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(invitations::table.find(id))
            .set(invitations::revoked_at.eq(now))
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub async fn accept(
        conn: &mut AsyncPgConnection,
        id: InvitationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(invitations::table.find(id))
            .set((
                invitations::accepted_at.eq(now),
                invitations::accepted_user_id.eq(user),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    }
}
