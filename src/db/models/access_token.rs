//! OAuth access tokens: their liveness rule and the bearer lookup of the hot path, the
//! console's token list and revocations, and the sweep. Each lookup is one statement that
//! diesel prepares once per connection and caches (written with its DSL): a bearer check and
//! the token half of an introspection cost one round trip each. Client authentication and
//! issuing are in `issuance`.
//!
//! Nothing here locks a credential row. A token records the secret version it was issued
//! under, and every use checks the credential as it is then (see the lock_free_issuance
//! migration for why and what that keeps).

use chrono::{DateTime, Duration, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, OrgId, TokenId};
use crate::db::models::lookup_args::{Arg, in_order};
use crate::db::models::usable::{token_live_at, usable_at};
use crate::db::schema::{access_tokens, credentials, ip_allowed, organisations};

/// Access tokens live an hour unless their credential says otherwise; clients fetch a new one.
pub const TOKEN_LIFETIME: Duration = Duration::seconds(3600);
/// Live tokens per credential: issuing one more revokes the oldest.
pub const MAX_LIVE_TOKENS: i32 = 10;

/// Stores a token for a credential a staff member chose in the console (no secret is
/// presented there), under its current secret version, if it is still active with the
/// secret it had when the page loaded. `None` when it no longer qualifies.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    secret_hash: &[u8],
    token_hash: &[u8],
    scopes: &[String],
    (now, expires_at): (DateTime<Utc>, DateTime<Utc>),
    ip: Option<&str>,
) -> QueryResult<Option<TokenId>> {
    let qualifying = credentials::table
        .filter(credentials::id.eq(credential))
        .filter(credentials::secret_hash.eq(secret_hash))
        .filter(usable_at(now))
        .select((
            token_hash.into_sql::<Bytea>(),
            credentials::id,
            credentials::secret_version,
            scopes.into_sql::<Array<Text>>(),
            now.into_sql::<Timestamptz>(),
            expires_at.into_sql::<Timestamptz>(),
            ip.into_sql::<Nullable<Text>>(),
        ));
    diesel::insert_into(access_tokens::table)
        .values(qualifying)
        .into_columns((
            access_tokens::token_hash,
            access_tokens::credential_id,
            access_tokens::secret_version,
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
    pub token_id: TokenId,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub credential_id: CredentialId,
    pub org_id: OrgId,
    pub client_id: String,
    pub credential_name: String,
    pub org_name: String,
    /// Whether the caller's address is in the credential's allow-list.
    pub ip_allowed: bool,
    pub effective_scopes: Vec<String>,
}

/// The SQL type of an `ActiveToken` row.
pub type ActiveTokenSql = (
    BigInt,
    Array<Text>,
    Timestamptz,
    Timestamptz,
    diesel::sql_types::Uuid,
    diesel::sql_types::Uuid,
    Text,
    Text,
    Text,
    Bool,
    Array<Text>,
);

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
/// unexpired, issued under a live secret of the credential (the current one, or the previous
/// one while it overlaps; `secret_version_live`), the credential neither revoked, disabled
/// nor expired, and the token not pushed out: it is among the `MAX_LIVE_TOKENS` newest tokens
/// of its credential, revoked, expired or not. Counting every newer token means nothing can
/// bring an older token back (revoking or expiring a newer one), and it bounds the check: it
/// reads at most `MAX_LIVE_TOKENS` entries of the credential's index, from its newest end,
/// however many tokens the credential has, so a pushed-out token costs what a live one does.
/// `ip` is the caller's address, checked against the credential's allow-list.
pub async fn find_active(
    mut conn: &AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
    ip: Option<&str>,
) -> QueryResult<Option<ActiveToken>> {
    find_active_query(Arg::bound(token_hash), now, Arg::bound(&ip))
        .get_result(&mut conn)
        .await
        .optional()
}

/// The statement of `find_active` (for tests that look at its plan), with the token's digest
/// bound or read from a batch (`client_lookup::find_clients_and_tokens`).
pub fn find_active_query<'a>(
    token_hash: Arg<'a, Bytea, [u8]>,
    now: DateTime<Utc>,
    ip: Arg<'a, Nullable<Text>, Option<&'a str>>,
) -> impl Query<SqlType = ActiveTokenSql> + QueryFragment<Pg> + QueryId + Send + 'a {
    let newer = diesel::alias!(access_tokens as newer);
    let tenth_newer = newer
        .filter(
            newer
                .field(access_tokens::credential_id)
                .eq(access_tokens::credential_id),
        )
        .filter(newer.field(access_tokens::id).gt(access_tokens::id))
        .select(newer.field(access_tokens::id))
        .offset((MAX_LIVE_TOKENS - 1).into());
    access_tokens::table
        .inner_join(credentials::table.inner_join(organisations::table))
        .filter(access_tokens::token_hash.eq(token_hash))
        .filter(token_live_at(now))
        .filter(usable_at(now))
        .filter(diesel::dsl::not(diesel::dsl::exists(tenth_newer)))
        .select((
            access_tokens::id,
            access_tokens::scopes,
            access_tokens::issued_at,
            access_tokens::expires_at,
            credentials::id,
            credentials::org_id,
            credentials::client_id,
            credentials::name,
            organisations::name,
            ip_allowed(ip, credentials::allowed_ips),
            credentials::scopes,
        ))
        .limit(1)
}

/// `find_active` for several bearer checks at once, in one statement: each check's digest and
/// address are an element of two arrays that `unnest` turns into rows `b`, each joined
/// (`LATERAL`) to `find_active`'s statement over `b`'s columns, so PostgreSQL plans and binds
/// one statement whatever the batch's size. Tokens are checked at the latest of the checks'
/// instants. One answer per check, in order.
pub async fn find_many_active(
    mut conn: &AsyncPgConnection,
    asked: &[(&[u8], Option<&str>, DateTime<Utc>)],
) -> QueryResult<Vec<Option<ActiveToken>>> {
    let Some(now) = asked.iter().map(|(_, _, now)| *now).max() else {
        return Ok(Vec::new());
    };
    let hashes: Vec<&[u8]> = asked.iter().map(|(hash, _, _)| *hash).collect();
    let ips: Vec<Option<&str>> = asked.iter().map(|(_, ip, _)| *ip).collect();
    let token = find_active_query(Arg::column("b.token_hash"), now, Arg::column("b.ip"));
    let rows: Vec<(i64, Option<ActiveToken>)> = FindManyActive { hashes, ips, token }
        .load(&mut conn)
        .await?;
    Ok(in_order(asked.len(), rows)
        .into_iter()
        .map(Option::flatten)
        .collect())
}

struct FindManyActive<'a, T> {
    hashes: Vec<&'a [u8]>,
    ips: Vec<Option<&'a str>>,
    token: T,
}

/// `FindManyActive`'s statement cache key: its text is the same whatever the batch's size.
struct FindManyActiveId;

impl<T> QueryId for FindManyActive<'_, T> {
    type QueryId = FindManyActiveId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<T: QueryFragment<Pg>> Query for FindManyActive<'_, T> {
    type SqlType = (BigInt, Nullable<ActiveTokenSql>);
}

impl<T: QueryFragment<Pg>> QueryFragment<Pg> for FindManyActive<'_, T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT b.i, k.* FROM unnest(");
        out.push_bind_param::<Array<Bytea>, _>(&self.hashes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.ips)?;
        out.push_sql(") WITH ORDINALITY AS b(token_hash, ip, i) LEFT JOIN LATERAL (");
        self.token.walk_ast(out.reborrow())?;
        out.push_sql(") k ON true");
        Ok(())
    }
}

/// The credential of the token with this digest: whether the token is live or not (RFC 7009
/// revocation, `live_at` = `None`), or only while it is unrevoked and unexpired at `live_at`
/// (a leak report).
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    live_at: Option<DateTime<Utc>>,
) -> QueryResult<Option<CredentialId>> {
    let mut query = access_tokens::table
        .filter(access_tokens::token_hash.eq(token_hash))
        .select(access_tokens::credential_id)
        .into_boxed();
    if let Some(now) = live_at {
        query = query
            .filter(access_tokens::revoked_at.is_null())
            .filter(access_tokens::expires_at.gt(now));
    }
    query.first(conn).await.optional()
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
    id: TokenId,
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
    pub id: TokenId,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub issuing_ip: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Live tokens of a credential, newest first (never their values: those are not stored):
/// the unrevoked, unexpired ones of a live secret among its newest `MAX_LIVE_TOKENS` tokens,
/// by the same rule as `find_active`.
pub async fn list_live(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    now: DateTime<Utc>,
) -> QueryResult<Vec<TokenSummary>> {
    let recent = diesel::alias!(access_tokens as recent);
    let newest = recent
        .filter(recent.field(access_tokens::credential_id).eq(credential))
        .order(recent.field(access_tokens::id).desc())
        .limit(MAX_LIVE_TOKENS.into())
        .select(recent.field(access_tokens::id));
    access_tokens::table
        .inner_join(credentials::table)
        .filter(access_tokens::id.eq_any(newest))
        .filter(token_live_at(now))
        .order(access_tokens::id.desc())
        .select(TokenSummary::as_select())
        .load(conn)
        .await
}

/// How long expired tokens are kept before `sweep` deletes them.
pub const EXPIRED_TOKEN_RETENTION: Duration = Duration::days(1);

/// Housekeeping, off the request path: deletes tokens expired for over a day, including any
/// left by a credential deleted while they were being issued. Returns how many went.
///
/// Pushed-out tokens and tokens of a retired secret are not marked: the liveness rule refuses
/// them already (`find_active`), no index depends on a mark, and marking them cost a write of
/// every such row each minute (80,000 a minute under the token benchmark).
pub async fn sweep(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(
        access_tokens::table.filter(access_tokens::expires_at.lt(now - EXPIRED_TOKEN_RETENTION)),
    )
    .execute(conn)
    .await
}
