//! OAuth access tokens and the lookups of the machine-facing hot path. Each is one statement
//! written with diesel's DSL, so it is prepared once per connection and cached (raw SQL is
//! never cached by diesel): a token request costs two round trips and a bearer check one.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, OrgId};
use crate::db::schema::{access_tokens, credentials, organisations};

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

/// (Takes a shared connection so that it can be pipelined with another query.)
pub async fn find_client(
    mut conn: &AsyncPgConnection,
    client_id: &str,
) -> QueryResult<Option<ClientRecord>> {
    credentials::table
        .filter(credentials::client_id.eq(client_id))
        .select((
            credentials::id,
            credentials::org_id,
            credentials::secret_hash,
            credentials::revoked_at,
            credentials::expires_at,
            credentials::allowed_ips,
            credentials::scopes,
            credentials::last_used_at,
        ))
        .first(&mut conn)
        .await
        .optional()
}

/// Stores a new token, in one statement and only if the credential is, at this instant,
/// active with the secret the caller proved. `FOR SHARE` on the credential row makes a
/// concurrent rotation, revocation or deletion wait for this insert to commit (and then
/// revoke what it inserted), and makes an insert that starts after one of them see the change
/// and insert nothing. `None` when the credential no longer qualifies.
///
/// The oldest live token is pushed out by this insert's commit, with no write to it: a token
/// is live only while fewer than `MAX_LIVE_TOKENS` unrevoked, unexpired tokens of its
/// credential are newer (`find_active`). Marking the old rows revoked on this path cost half
/// the issuance rate (32 requests for one credential all updating its oldest rows), so
/// `sweep` does it in the background.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    secret_hash: &[u8],
    token_hash: &[u8],
    scopes: &[String],
    now: DateTime<Utc>,
    ip: Option<&str>,
) -> QueryResult<Option<i64>> {
    use diesel::sql_types::{Array, Bytea, Nullable, Text, Timestamptz};
    let qualifying = credentials::table
        .filter(credentials::id.eq(credential))
        .filter(credentials::secret_hash.eq(secret_hash))
        .filter(credentials::revoked_at.is_null())
        .filter(
            credentials::expires_at
                .is_null()
                .or(credentials::expires_at.gt(now)),
        )
        .select((
            token_hash.into_sql::<Bytea>(),
            credentials::id,
            scopes.into_sql::<Array<Text>>(),
            now.into_sql::<Timestamptz>(),
            (now + TOKEN_LIFETIME).into_sql::<Timestamptz>(),
            ip.into_sql::<Nullable<Text>>(),
        ))
        .for_share();
    diesel::insert_into(access_tokens::table)
        .values(qualifying)
        .into_columns((
            access_tokens::token_hash,
            access_tokens::credential_id,
            access_tokens::scopes,
            access_tokens::issued_at,
            access_tokens::expires_at,
            access_tokens::issuing_ip,
        ))
        .returning(access_tokens::id)
        .get_result(conn)
        .await
        .optional()
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
    mut conn: &AsyncPgConnection,
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
        .inner_join(credentials::table.inner_join(organisations::table))
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
            credentials::scopes,
            credentials::last_used_at,
        ))
        .first(&mut conn)
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

/// How long expired tokens are kept before `sweep` deletes them.
pub const EXPIRED_TOKEN_RETENTION: Duration = Duration::days(1);

/// Housekeeping, off the request path: marks as revoked the tokens pushed out of their
/// credential's newest `MAX_LIVE_TOKENS` (already refused by `find_active`; marking them keeps
/// the index of unrevoked tokens small) and deletes tokens expired for over a day. Returns
/// (marked, deleted).
pub async fn sweep(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<(usize, usize)> {
    use diesel::sql_types::{Integer, Timestamptz};
    // A window function is not in diesel's DSL; this statement runs once a minute, so an
    // unprepared query costs nothing that matters.
    let marked = diesel::sql_query(
        "UPDATE access_tokens SET revoked_at = $1 WHERE id IN (
             SELECT id FROM (
                 SELECT id, row_number() OVER (PARTITION BY credential_id ORDER BY id DESC) AS newest
                 FROM access_tokens WHERE revoked_at IS NULL AND expires_at > $1
             ) ranked WHERE newest > $2)",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(MAX_LIVE_TOKENS)
    .execute(conn)
    .await?;
    let deleted = diesel::delete(
        access_tokens::table.filter(access_tokens::expires_at.lt(now - EXPIRED_TOKEN_RETENTION)),
    )
    .execute(conn)
    .await?;
    Ok((marked, deleted))
}
