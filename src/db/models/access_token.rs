//! OAuth access tokens and the lookups of the machine-facing hot path: each is one SQL
//! statement, so a token request costs two round trips and a bearer check one.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, OrgId};
use crate::db::schema::access_tokens;

/// Access tokens live an hour; clients fetch a new one.
pub const TOKEN_LIFETIME: Duration = Duration::seconds(3600);
/// Live tokens per credential: issuing one more revokes the oldest.
pub const MAX_LIVE_TOKENS: i32 = 10;

/// The scopes a credential may use now: its role's APIs, narrowed to its own selection when
/// Fine Grained. SQL twin of `Credential::effective_apis`, inlined here so the hot path reads
/// it in the same statement as the credential.
const EFFECTIVE_SCOPES: &str = "ARRAY(SELECT a.scope FROM role_apis ra JOIN apis a ON a.id = ra.api_id \
     WHERE ra.role_id = c.role_id AND (c.access_level = 'full' OR EXISTS \
     (SELECT 1 FROM credential_apis ca WHERE ca.credential_id = c.id AND ca.api_id = a.id)) ORDER BY a.scope)";

/// A credential as the token endpoint needs it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClientRecord {
    #[diesel(sql_type = SqlUuid)]
    pub id: CredentialId,
    #[diesel(sql_type = SqlUuid)]
    pub org_id: OrgId,
    #[diesel(sql_type = Bytea)]
    pub secret_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Array<Text>)]
    pub allowed_ips: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub scopes: Vec<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
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
    diesel::sql_query(format!(
        "SELECT c.id, c.org_id, c.secret_hash, c.revoked_at, c.expires_at, c.allowed_ips, \
         {EFFECTIVE_SCOPES} AS scopes, c.last_used_at FROM credentials c WHERE c.client_id = $1"
    ))
    .bind::<Text, _>(client_id)
    .get_result(conn)
    .await
    .optional()
}

#[derive(QueryableByName)]
struct IssuedId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Issues a token in one statement: inserts it only if the credential is, at this instant,
/// active with the secret the caller proved (`FOR SHARE` makes a concurrent rotation,
/// revocation or deletion wait for this insert and then revoke what it inserted, and makes
/// an insert that starts after one of them see the change and insert nothing), and marks
/// as revoked the tokens it pushes beyond the newest `MAX_LIVE_TOKENS`. That clean-up skips
/// rows other requests hold (no lock waits, no deadlocks between concurrent issues): it may
/// leave an old token unmarked, never mark a live one, and `find_active` does not count on it.
/// `None` when the credential no longer qualifies.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    secret_hash: &[u8],
    token_hash: &[u8],
    scopes: &[String],
    now: DateTime<Utc>,
    ip: Option<&str>,
) -> QueryResult<Option<i64>> {
    diesel::sql_query(
        "WITH cred AS ( \
             SELECT id FROM credentials WHERE id = $1 AND secret_hash = $2 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $5) FOR SHARE), \
         pushed_out AS ( \
             UPDATE access_tokens SET revoked_at = $5 WHERE id IN ( \
                 SELECT t.id FROM access_tokens t JOIN cred ON cred.id = t.credential_id \
                 WHERE t.revoked_at IS NULL ORDER BY t.id DESC OFFSET $8 - 1 \
                 FOR UPDATE OF t SKIP LOCKED)) \
         INSERT INTO access_tokens (token_hash, credential_id, scopes, issued_at, expires_at, issuing_ip) \
         SELECT $3, cred.id, $4, $5, $6, $7 FROM cred RETURNING id",
    )
    .bind::<SqlUuid, _>(credential)
    .bind::<Bytea, _>(secret_hash)
    .bind::<Bytea, _>(token_hash)
    .bind::<Array<Text>, _>(scopes)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now + TOKEN_LIFETIME)
    .bind::<Nullable<Text>, _>(ip)
    .bind::<Integer, _>(MAX_LIVE_TOKENS)
    .get_result::<IssuedId>(conn)
    .await
    .optional()
    .map(|r| r.map(|r| r.id))
}

/// A live token with its credential, as a bearer check or introspection needs it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ActiveToken {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub token_id: i64,
    #[diesel(sql_type = Array<Text>)]
    pub scopes: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    pub issued_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = SqlUuid)]
    pub credential_id: CredentialId,
    #[diesel(sql_type = SqlUuid)]
    pub org_id: OrgId,
    #[diesel(sql_type = Text)]
    pub client_id: String,
    #[diesel(sql_type = Text)]
    pub credential_name: String,
    #[diesel(sql_type = Text)]
    pub org_name: String,
    #[diesel(sql_type = Array<Text>)]
    pub allowed_ips: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub effective_scopes: Vec<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
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
/// unexpired, and among the newest `MAX_LIVE_TOKENS` of its credential.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<ActiveToken>> {
    diesel::sql_query(format!(
        "SELECT t.id AS token_id, t.scopes, t.issued_at, t.expires_at, t.last_used_at, c.id AS credential_id, \
         c.org_id, c.client_id, c.name AS credential_name, o.name AS org_name, c.allowed_ips, \
         {EFFECTIVE_SCOPES} AS effective_scopes, c.last_used_at AS credential_last_used_at \
         FROM access_tokens t JOIN credentials c ON c.id = t.credential_id JOIN organisations o ON o.id = c.org_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 \
         AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > $2) \
         AND (SELECT count(*) FROM access_tokens n WHERE n.credential_id = t.credential_id \
              AND n.id > t.id AND n.revoked_at IS NULL AND n.expires_at > $2) < {MAX_LIVE_TOKENS}"
    ))
    .bind::<Bytea, _>(token_hash)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
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
    use crate::db::schema::credentials;
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
