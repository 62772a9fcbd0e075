//! Emails owed to people, one row per recipient (see the notices migration): written in the
//! transaction of what they report, claimed one at a time by the delivery job.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, NoticeId, OrgId};
use crate::db::schema::notices;

text_enum! {
    /// What a notice reports; with the credential, the moment and the recipient, it is the
    /// key that keeps each email to one.
    #[derive(Hash)]
    pub enum NoticeKind ("notice kind") {
        ExpiresIn30Days = "expires_in_30_days",
        ExpiresIn7Days = "expires_in_7_days",
        ExpiresIn1Day = "expires_in_1_day",
        Disabled = "disabled",
        Leaked = "leaked",
        /// To a staff member: their right password was followed by a wrong two-factor code.
        PasswordWithWrongCode = "password_with_wrong_code",
        /// To a staff member: two-factor sign-in of their account was turned on, or off.
        TwoFactorEnabled = "two_factor_enabled",
        TwoFactorDisabled = "two_factor_disabled",
    }
}

impl NoticeKind {
    /// Whether the email is about the recipient's own staff account (not a credential).
    pub fn is_about_own_account(self) -> bool {
        matches!(
            self,
            NoticeKind::PasswordWithWrongCode
                | NoticeKind::TwoFactorEnabled
                | NoticeKind::TwoFactorDisabled
        )
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notices)]
pub struct NewNotice {
    pub org_id: OrgId,
    pub credential_id: Option<CredentialId>,
    pub kind: NoticeKind,
    pub subject_at: DateTime<Utc>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub link_path: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl NewNotice {
    /// Adds the notice unless the same one (credential, kind, moment, recipient) exists:
    /// whether it was added.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<bool> {
        diesel::insert_into(notices::table)
            .values(self)
            .on_conflict_do_nothing()
            .execute(conn)
            .await
            .map(|n| n == 1)
    }
}

/// A notice as the delivery job sends it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notices)]
pub struct Notice {
    pub id: NoticeId,
    pub kind: NoticeKind,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub link_path: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

impl Notice {
    /// The (credential, kind, moment) of every notice already queued for `credentials`.
    pub async fn queued_keys(
        conn: &mut AsyncPgConnection,
        credentials: &[CredentialId],
    ) -> QueryResult<HashSet<(CredentialId, NoticeKind, DateTime<Utc>)>> {
        if credentials.is_empty() {
            return Ok(HashSet::new());
        }
        let keys: Vec<(Option<CredentialId>, NoticeKind, DateTime<Utc>)> = notices::table
            .filter(notices::credential_id.eq_any(credentials))
            .select((notices::credential_id, notices::kind, notices::subject_at))
            .distinct()
            .load(conn)
            .await?;
        Ok(keys
            .into_iter()
            .filter_map(|(id, kind, at)| Some((id?, kind, at)))
            .collect())
    }

    /// The next notice due at `now`, locked for this transaction; one another instance holds
    /// is skipped, so two instances never send the same email.
    pub async fn claim_due(
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<Self>> {
        notices::table
            .filter(notices::sent_at.is_null())
            .filter(notices::abandoned_at.is_null())
            .filter(notices::next_attempt_at.le(now))
            .order((notices::next_attempt_at.asc(), notices::id.asc()))
            .select(Self::as_select())
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()
    }

    pub async fn mark_sent(
        conn: &mut AsyncPgConnection,
        id: NoticeId,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(notices::table.find(id))
            .set((
                notices::sent_at.eq(now),
                notices::attempts.eq(notices::attempts + 1),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// A failed attempt, to be retried at `retry_at`.
    pub async fn mark_failed(
        conn: &mut AsyncPgConnection,
        id: NoticeId,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(notices::table.find(id))
            .set((
                notices::attempts.eq(notices::attempts + 1),
                notices::last_error.eq(error),
                notices::next_attempt_at.eq(retry_at),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Given up: never sent.
    pub async fn abandon(
        conn: &mut AsyncPgConnection,
        id: NoticeId,
        error: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(notices::table.find(id))
            .set((notices::abandoned_at.eq(now), notices::last_error.eq(error)))
            .execute(conn)
            .await
            .map(|_| ())
    }
}
