//! OAuth access tokens and the lookups of the machine-facing hot path. Each is one statement
//! written with diesel's DSL, so it is prepared once per connection and cached (raw SQL is
//! never cached by diesel): a token request costs two round trips and a bearer check one.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, OrgId};
use crate::db::schema::{
    access_tokens, credential_scopes, credentials, issue_access_token, organisations,
};

/// Access tokens live an hour; clients fetch a new one.
pub const TOKEN_LIFETIME: Duration = Duration::seconds(3600);
/// Live tokens per credential: issuing one more revokes the oldest.
pub const MAX_LIVE_TOKENS: i32 = 10;

/// A credential as the token endpoint needs it.
#[derive(Debug, Clone, Queryable)]
pub struct ClientRecord {
    pub id: CredentialId,
    pub org_id: OrgId,
    pub secret_hash: Vec<u8>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowed_ips: Vec<String>,
    /// What the credential may use now (role, narrowed by a Fine Grained selection).
    pub scopes: Vec<String>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ClientRecord {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

pub async fn find_client(
    conn: &mut AsyncPgConnection,
    client_id: &str,
) -> QueryResult<Option<ClientRecord>> {
    credentials::table
        .inner_join(credential_scopes::table)
        .filter(credentials::client_id.eq(client_id))
        .select((
            credentials::id,
            credentials::org_id,
            credentials::secret_hash,
            credentials::revoked_at,
            credentials::expires_at,
            credentials::allowed_ips,
            credential_scopes::scopes,
            credentials::last_used_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Issues a token through `issue_access_token` (see the access_tokens migration): inserted
/// only if the credential is still active with this secret, pushing out the oldest beyond
/// the newest `MAX_LIVE_TOKENS`. `None` when the credential no longer qualifies.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    secret_hash: &[u8],
    token_hash: &[u8],
    scopes: &[String],
    now: DateTime<Utc>,
    ip: Option<&str>,
) -> QueryResult<Option<i64>> {
    diesel::select(issue_access_token(
        credential,
        secret_hash,
        token_hash,
        scopes,
        now,
        now + TOKEN_LIFETIME,
        ip,
        MAX_LIVE_TOKENS,
    ))
    .get_result(conn)
    .await
}

/// A live token with its credential, as a bearer check or introspection needs it.
#[derive(Debug, Clone, Queryable)]
pub struct ActiveToken {
    pub token_id: i64,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub credential_id: CredentialId,
    pub org_id: OrgId,
    pub client_id: String,
    pub credential_name: String,
    pub org_name: String,
    pub allowed_ips: Vec<String>,
    pub effective_scopes: Vec<String>,
    pub credential_last_used_at: Option<DateTime<Utc>>,
}

impl ActiveToken {
    /// A token never carries more than its credential may do now: once a role or catalog
    /// edit takes a scope away, the token stops being valid.
    pub fn within_current_rights(&self) -> bool {
        self.scopes
            .iter()
            .all(|s| self.effective_scopes.contains(s))
    }
}

/// The token with this digest if it, and its credential, are live at `now`: unrevoked,
/// unexpired, and among the newest `MAX_LIVE_TOKENS` of its credential (fewer than that many
/// live tokens of the credential are newer; see the access_tokens migration).
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<ActiveToken>> {
    let newer = diesel::alias!(access_tokens as newer);
    let newer_live = newer
        .filter(
            newer
                .field(access_tokens::credential_id)
                .eq(access_tokens::credential_id),
        )
        .filter(newer.field(access_tokens::id).gt(access_tokens::id))
        .filter(newer.field(access_tokens::revoked_at).is_null())
        .filter(newer.field(access_tokens::expires_at).gt(now))
        .select(newer.field(access_tokens::id))
        .offset((MAX_LIVE_TOKENS - 1).into());
    access_tokens::table
        .inner_join(
            credentials::table
                .inner_join(organisations::table)
                .inner_join(credential_scopes::table),
        )
        .filter(access_tokens::token_hash.eq(token_hash))
        .filter(access_tokens::revoked_at.is_null())
        .filter(access_tokens::expires_at.gt(now))
        .filter(credentials::revoked_at.is_null())
        .filter(
            credentials::expires_at
                .is_null()
                .or(credentials::expires_at.gt(now)),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(newer_live)))
        .select((
            access_tokens::id,
            access_tokens::scopes,
            access_tokens::issued_at,
            access_tokens::expires_at,
            access_tokens::last_used_at,
            credentials::id,
            credentials::org_id,
            credentials::client_id,
            credentials::name,
            organisations::name,
            credentials::allowed_ips,
            credential_scopes::scopes,
            credentials::last_used_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Who a token (live or not) belongs to, for RFC 7009 revocation.
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<CredentialId>> {
    access_tokens::table
        .filter(access_tokens::token_hash.eq(token_hash))
        .select(access_tokens::credential_id)
        .first(conn)
        .await
        .optional()
}

pub async fn revoke_by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        access_tokens::table
            .filter(access_tokens::token_hash.eq(token_hash))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Revokes one token of `credential` (the console's per-token Revoke); returns whether it was live.
pub async fn revoke_by_id(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    id: i64,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        access_tokens::table
            .filter(access_tokens::id.eq(id))
            .filter(access_tokens::credential_id.eq(credential))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Revokes every live token of a credential (rotation, revocation, "Revoke all").
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        access_tokens::table
            .filter(access_tokens::credential_id.eq(credential))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)
    .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_tokens)]
pub struct TokenSummary {
    pub id: i64,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub issuing_ip: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Live tokens of a credential, newest first (never their values: those are not stored).
/// Unrevoked tokens beyond the newest `MAX_LIVE_TOKENS` are not live (see the migration).
pub async fn list_live(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    now: DateTime<Utc>,
) -> QueryResult<Vec<TokenSummary>> {
    access_tokens::table
        .filter(access_tokens::credential_id.eq(credential))
        .filter(access_tokens::revoked_at.is_null())
        .filter(access_tokens::expires_at.gt(now))
        .order(access_tokens::id.desc())
        .limit(MAX_LIVE_TOKENS.into())
        .select(TokenSummary::as_select())
        .load(conn)
        .await
}

pub async fn touch(conn: &mut AsyncPgConnection, id: i64, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(access_tokens::table.find(id))
        .set(access_tokens::last_used_at.eq(now))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records use of a credential, skipping the write when it was recorded within the last minute.
pub async fn touch_credential(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        credentials::table
            .filter(credentials::id.eq(credential))
            .filter(
                credentials::last_used_at
                    .is_null()
                    .or(credentials::last_used_at.lt(now - Duration::minutes(1))),
            ),
    )
    .set((
        credentials::last_used_at.eq(now),
        credentials::last_used_ip.eq(ip),
    ))
    .execute(conn)
    .await
    .map(|_| ())
}
