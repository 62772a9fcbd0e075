//! The caller's lookup for the endpoints that authenticate a client without issuing a token
//! (introspection, revocation): whether it is throttled, its credential with the checks of
//! `issuance`, and its introspection window, in one statement. Introspection joins the token
//! it asks about (`access_token::find_active`'s statement) into the same statement, so a whole
//! introspection is one statement and one round trip.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Cidr, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::access_token::{self, ActiveToken, ActiveTokenSql};
use crate::db::models::issuance::{
    LOOKUP_COLUMNS, Lookup, LookupRow, LookupRowSql, Presented, record_columns, throttle_column,
};
use crate::db::models::limit_window::{LimitKind, Window};

/// Whether the caller is throttled, and the credential with this client ID checked against
/// what the caller presented (no scope asked for), with the client ID's introspection window
/// (`LimitKind::Introspection`, read in the same statement so that the limit costs no round
/// trip).
pub async fn find_client(
    mut conn: &AsyncPgConnection,
    presented: Presented<'_>,
) -> QueryResult<Lookup> {
    let (row, hits, started_at) = FindClient { presented }.get_result(&mut conn).await?;
    Ok(with_window(row, hits, started_at))
}

/// `find_client`, and the live token with this digest (`access_token::find_active`, with no
/// address to check: a token's allow-list is about its bearer, not about who introspects it)
/// in the same statement. The token is the caller's to use only once the caller has
/// authenticated.
pub async fn find_client_and_token(
    mut conn: &AsyncPgConnection,
    presented: Presented<'_>,
    token_hash: &[u8],
) -> QueryResult<(Lookup, Option<ActiveToken>)> {
    let token = access_token::find_active_query(token_hash, presented.now, None);
    let query = FindClientAndToken { presented, token };
    let (row, hits, started_at, token) = query.get_result(&mut conn).await?;
    Ok((with_window(row, hits, started_at), token))
}

fn with_window(row: LookupRow, hits: Option<i32>, started_at: Option<DateTime<Utc>>) -> Lookup {
    let mut lookup = row.into_lookup();
    lookup.calls = hits
        .zip(started_at)
        .map(|(hits, started_at)| Window { hits, started_at });
    lookup
}

/// The statement, with the token's lookup (`token`) joined as `k` when there is one.
fn walk_find_client<'b>(
    mut out: AstPass<'_, 'b, Pg>,
    p: &'b Presented<'b>,
    token: Option<&'b dyn QueryFragment<Pg>>,
) -> QueryResult<()> {
    out.push_sql("SELECT ");
    out.push_sql(LOOKUP_COLUMNS);
    out.push_sql(", r.hits, r.started_at");
    if token.is_some() {
        out.push_sql(", k.*");
    }
    out.push_sql(" FROM (SELECT ");
    throttle_column(&mut out, p)?;
    out.push_sql(") t LEFT JOIN (SELECT hits, started_at FROM limit_windows WHERE kind = ");
    out.push_bind_param::<Text, _>(LimitKind::Introspection.as_str())?;
    out.push_sql(" AND subject = ");
    out.push_bind_param::<Text, _>(p.client_id)?;
    out.push_sql(" AND network = ");
    out.push_bind_param::<Cidr, _>(&p.calls_network)?;
    out.push_sql(" AND started_at > ");
    out.push_bind_param::<Timestamptz, _>(&p.calls_since)?;
    out.push_sql(") r ON true LEFT JOIN (SELECT ");
    record_columns(&mut out, p, None)?;
    out.push_sql(" FROM credentials WHERE client_id = ");
    out.push_bind_param::<Text, _>(p.client_id)?;
    out.push_sql(") c ON true");
    if let Some(token) = token {
        out.push_sql(" LEFT JOIN (");
        token.walk_ast(out.reborrow())?;
        out.push_sql(") k ON true");
    }
    Ok(())
}

fixed_statement!(FindClient<'a> { presented: Presented<'a> }
    -> (LookupRowSql, Nullable<Integer>, Nullable<Timestamptz>));

impl QueryFragment<Pg> for FindClient<'_> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        walk_find_client(out, &self.presented, None)
    }
}

/// `FindClient` with the token's lookup; generic over that query's (unnameable) type, so it
/// names its statement cache key itself.
struct FindClientAndToken<'a, T> {
    presented: Presented<'a>,
    token: T,
}

/// `FindClientAndToken`'s statement cache key (its token query is always the same).
struct FindClientAndTokenId;

impl<T> QueryId for FindClientAndToken<'_, T> {
    type QueryId = FindClientAndTokenId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<T: QueryFragment<Pg>> Query for FindClientAndToken<'_, T> {
    type SqlType = (
        LookupRowSql,
        Nullable<Integer>,
        Nullable<Timestamptz>,
        Nullable<ActiveTokenSql>,
    );
}

impl<T: QueryFragment<Pg>> QueryFragment<Pg> for FindClientAndToken<'_, T> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        walk_find_client(out, &self.presented, Some(&self.token))
    }
}
