//! Machine-to-machine credentials: identity, secret digest, role binding, access level,
//! network allow-list, expiry and lifecycle (rotation, revocation, deletion).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{ApiId, CredentialId, OrgId, RoleId, UserId};
use crate::db::models::api::Api;
use crate::db::models::organisation::Organisation;
use crate::db::schema::{access_tokens, apis, credential_apis, credential_scopes, credentials};

/// At most this many credentials per organisation, revoked ones included until deleted.
pub const MAX_CREDENTIALS_PER_ORG: i64 = 10;

text_enum! {
    pub enum AccessLevel ("access level") {
        /// Every API the role allows.
        Full = "full",
        /// A chosen subset of the role's APIs.
        FineGrained = "fine_grained",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    ExpiresSoon,
    Expired,
    Revoked,
    /// Stopped for now (an incident, a paused integration); Enable undoes it.
    Disabled,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::ExpiresSoon => "Expires soon",
            Status::Expired => "Expired",
            Status::Revoked => "Revoked",
            Status::Disabled => "Disabled",
        }
    }

    /// Whether the credential can authenticate and get tokens.
    pub fn is_usable(self) -> bool {
        matches!(self, Status::Active | Status::ExpiresSoon)
    }

    pub fn badge_class(self) -> &'static str {
        match self {
            Status::Active => "badge-ok",
            Status::ExpiresSoon => "badge-warn",
            Status::Expired => "badge-muted",
            Status::Revoked => "badge-danger",
            Status::Disabled => "badge-muted",
        }
    }
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    pub id: CredentialId,
    pub org_id: OrgId,
    pub client_id: String,
    pub secret_hash: Vec<u8>,
    pub name: String,
    pub description: String,
    pub owner_email: String,
    pub role_id: RoleId,
    pub access_level: AccessLevel,
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub created_by: Option<UserId>,
    pub created_by_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub creation_key: Option<uuid::Uuid>,
    pub secret_version: i32,
    /// Evidence of the current secret (see the secret_rotation migration).
    pub secret_last_four: Option<String>,
    pub secret_last_used_at: Option<DateTime<Utc>>,
    pub secret_last_used_ip: Option<String>,
    pub secret_uses: i64,
    /// The previous secret, while it overlaps the current one.
    pub previous_secret_hash: Option<Vec<u8>>,
    pub previous_secret_last_four: Option<String>,
    pub previous_secret_retires_at: Option<DateTime<Utc>>,
    pub previous_secret_last_used_at: Option<DateTime<Utc>>,
    pub previous_secret_last_used_ip: Option<String>,
    pub previous_secret_uses: i64,
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was last enabled again after being disabled.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The key of the rotation that put the current secret in place (see `rotate_secret`).
    pub rotation_key: Option<uuid::Uuid>,
    /// The built-in management scopes it holds (see `credentials::management`).
    pub management_scopes: Vec<String>,
    /// While disabled: `manual`, `stale` or `leaked` (see `credentials::lifecycle`).
    pub disabled_reason: Option<String>,
    /// Who disabled it: a staff member's email or a calling credential's client ID.
    pub disabled_by: Option<String>,
    /// What the system found when it disabled it ("unused for 200 days").
    pub disabled_why: Option<String>,
    /// The latest report of one of its live secrets found in public.
    pub leak_reported_at: Option<DateTime<Utc>>,
    /// When a report was last recorded while it was already disabled (at most once an hour).
    pub leak_repeat_recorded_at: Option<DateTime<Utc>>,
    /// Exempt from the staleness policy: never flagged or disabled as unused.
    pub stale_exempt: bool,
    /// How long its access tokens live (`credentials::input::TokenLifetime`).
    pub token_lifetime_seconds: i32,
    /// Only `private_key_jwt` authenticates it: its secret is refused.
    pub keys_only: bool,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("access_level", &self.access_level)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = credentials)]
pub struct NewCredential<'a> {
    pub id: CredentialId,
    pub org_id: OrgId,
    pub client_id: &'a str,
    pub secret_hash: &'a [u8],
    pub secret_last_four: Option<&'a str>,
    #[diesel(embed)]
    pub settings: CredentialSettings<'a>,
    pub created_by: Option<UserId>,
    pub created_by_email: &'a str,
    pub created_at: DateTime<Utc>,
    pub creation_key: Option<uuid::Uuid>,
}

/// What a person chooses for a credential, at creation and in Edit; never the secret or the
/// client ID.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = credentials)]
pub struct CredentialSettings<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub owner_email: &'a str,
    pub role_id: RoleId,
    pub access_level: AccessLevel,
    pub allowed_ips: &'a [String],
    #[diesel(treat_none_as_null = true)]
    pub expires_at: Option<DateTime<Utc>>,
    pub management_scopes: &'a [String],
    pub token_lifetime_seconds: i32,
    pub updated_at: DateTime<Utc>,
}

impl Credential {
    /// Whether it can authenticate and get tokens at `now` (whatever "expires soon" means).
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.status_within(now, Duration::zero()).is_usable()
    }

    /// The status, "expires soon" starting `soon` before the expiry. The organisation's
    /// window is the policy's: `Policy::status` is the one rule the console, the API and the
    /// reminders use.
    pub fn status_within(&self, now: DateTime<Utc>, soon: Duration) -> Status {
        match (self.revoked_at, self.expires_at) {
            (Some(_), _) => Status::Revoked,
            _ if self.disabled_at.is_some() => Status::Disabled,
            (None, Some(exp)) if exp <= now => Status::Expired,
            (None, Some(exp)) if exp - now <= soon => Status::ExpiresSoon,
            _ => Status::Active,
        }
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// When it was last used, created or enabled again, whichever is latest: what
    /// staleness is measured from.
    pub fn last_activity(&self) -> DateTime<Utc> {
        let used_or_created = self
            .last_used_at
            .unwrap_or(self.created_at)
            .max(self.created_at);
        self.enabled_at
            .map_or(used_or_created, |at| at.max(used_or_created))
    }

    /// The previous secret, while it still authenticates at `now`.
    pub fn previous_secret_live(&self, now: DateTime<Utc>) -> bool {
        self.previous_secret_hash.is_some()
            && self.previous_secret_retires_at.is_some_and(|t| t > now)
    }

    org_scoped!(credentials, CredentialId, list_for_org ordered by (credentials::created_at.asc(), credentials::id.asc()));

    pub async fn find_by_creation_key(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        key: uuid::Uuid,
    ) -> QueryResult<Option<Self>> {
        credentials::table
            .filter(credentials::org_id.eq(org))
            .filter(credentials::creation_key.eq(key))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn count_in_org(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<i64> {
        credentials::table
            .filter(credentials::org_id.eq(org))
            .count()
            .get_result(conn)
            .await
    }

    /// Locks the organisation row, then counts its credentials: inside a transaction this
    /// serialises concurrent creates, so the limit holds under any concurrency.
    pub async fn lock_org_and_count(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<i64> {
        Organisation::lock(conn, org).await?;
        Self::count_in_org(conn, org).await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: &NewCredential<'_>,
    ) -> QueryResult<Self> {
        diesel::insert_into(credentials::table)
            .values(new)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
        changes: &CredentialSettings<'_>,
    ) -> QueryResult<Self> {
        diesel::update(
            credentials::table
                .filter(credentials::org_id.eq(org))
                .filter(credentials::id.eq(id)),
        )
        .set(changes)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// The Fine Grained selection (ignored while the access level is Full).
    pub async fn set_apis(
        conn: &mut AsyncPgConnection,
        id: CredentialId,
        api_ids: &[ApiId],
    ) -> QueryResult<()> {
        diesel::delete(credential_apis::table.filter(credential_apis::credential_id.eq(id)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = api_ids
            .iter()
            .map(|api| {
                (
                    credential_apis::credential_id.eq(id),
                    credential_apis::api_id.eq(*api),
                )
            })
            .collect();
        diesel::insert_into(credential_apis::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The chosen APIs of one credential.
    pub async fn selected_apis(
        conn: &mut AsyncPgConnection,
        id: CredentialId,
    ) -> QueryResult<Vec<Api>> {
        credential_apis::table
            .inner_join(apis::table)
            .filter(credential_apis::credential_id.eq(id))
            .order(apis::scope.asc())
            .select(Api::as_select())
            .load(conn)
            .await
    }

    /// The APIs a credential may use now: its role's, narrowed to its selection when Fine
    /// Grained. The rule lives in one place, the view `credential_scopes`, evaluated at use
    /// time, so role and catalog edits apply on the next request.
    pub async fn effective_apis(
        conn: &mut AsyncPgConnection,
        credential: &Credential,
    ) -> QueryResult<Vec<Api>> {
        let scopes = Self::effective_scopes(conn, credential).await?;
        apis::table
            .filter(apis::org_id.eq(credential.org_id))
            .filter(apis::scope.eq_any(scopes))
            .order(apis::scope.asc())
            .select(Api::as_select())
            .load(conn)
            .await
    }

    /// The scope strings a credential may use now, sorted (see `effective_apis`).
    pub async fn effective_scopes(
        conn: &mut AsyncPgConnection,
        credential: &Credential,
    ) -> QueryResult<Vec<String>> {
        credential_scopes::table
            .find(credential.id)
            .select(credential_scopes::scopes)
            .get_result(conn)
            .await
    }

    /// How many APIs each credential of `org` may use now (for the list).
    pub async fn effective_api_counts(
        conn: &mut AsyncPgConnection,
        org: OrgId,
    ) -> QueryResult<HashMap<CredentialId, i64>> {
        let rows: Vec<(CredentialId, Vec<String>)> = credentials::table
            .inner_join(credential_scopes::table)
            .filter(credentials::org_id.eq(org))
            .select((credentials::id, credential_scopes::scopes))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, scopes)| (id, scopes.len() as i64))
            .collect())
    }

    /// Credentials that may use `api` now: the ones that lose it when the catalog entry goes.
    pub async fn holding_api(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        api: ApiId,
    ) -> QueryResult<Vec<(CredentialId, String)>> {
        let scope: String = apis::table
            .find(api)
            .select(apis::scope)
            .first(conn)
            .await?;
        let held: Vec<(CredentialId, String, Vec<String>)> = credentials::table
            .inner_join(credential_scopes::table)
            .filter(credentials::org_id.eq(org))
            .order(credentials::name.asc())
            .select((
                credentials::id,
                credentials::name,
                credential_scopes::scopes,
            ))
            .load(conn)
            .await?;
        Ok(held
            .into_iter()
            .filter(|(_, _, scopes)| scopes.contains(&scope))
            .map(|(id, name, _)| (id, name))
            .collect())
    }

    /// Deletes the credential with its API selection (cascade) and its tokens. Call it in a
    /// transaction: tokens have no foreign key (issuing would lock this row; see the
    /// lock_free_issuance migration), so they are deleted here. One stored by a request
    /// racing this deletion is refused all the same, and swept once expired.
    /// Shortens every token lifetime of `org` longer than `max` to it (a lower maximum saved
    /// in the policy); returns the names of the credentials it shortened. Tokens already
    /// issued keep their expiry.
    pub async fn shorten_token_lifetimes(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        max: i32,
        now: DateTime<Utc>,
    ) -> QueryResult<Vec<String>> {
        diesel::update(
            credentials::table
                .filter(credentials::org_id.eq(org))
                .filter(credentials::token_lifetime_seconds.gt(max)),
        )
        .set((
            credentials::token_lifetime_seconds.eq(max),
            credentials::updated_at.eq(now),
        ))
        .returning(credentials::name)
        .get_results(conn)
        .await
    }

    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: CredentialId,
    ) -> QueryResult<usize> {
        let deleted = diesel::delete(
            credentials::table
                .filter(credentials::org_id.eq(org))
                .filter(credentials::id.eq(id)),
        )
        .execute(conn)
        .await?;
        if deleted > 0 {
            diesel::delete(access_tokens::table.filter(access_tokens::credential_id.eq(id)))
                .execute(conn)
                .await?;
        }
        Ok(deleted)
    }
}
