//! The caller's lookup for the endpoints that authenticate a client without issuing a token
//! (introspection, revocation): whether it is throttled, its credential with the checks of
//! `issuance`, and its introspection window, in one statement. Introspection joins the token
//! it asks about (`access_token::find_active`'s statement) into the same statement, so a whole
//! introspection is one statement and one round trip.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bytea, Cidr, Integer, Nullable, Text, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ipnet::IpNet;

use crate::db::models::access_token::{self, ActiveToken, ActiveTokenSql};
use crate::db::models::issuance::{
    LOOKUP_COLUMNS, Lookup, LookupRow, LookupRowSql, Presented, record_columns, throttle_column,
};
use crate::db::models::limit_window::{LimitKind, Window};
use crate::db::models::lookup_args::{Arg, PresentedArgs, in_order};

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
    let token =
        access_token::find_active_query(Arg::bound(token_hash), presented.now, Arg::bound(&None));
    let query = FindClientAndToken { presented, token };
    let (row, hits, started_at, token) = query.get_result(&mut conn).await?;
    Ok((with_window(row, hits, started_at), token))
}

/// `find_client_and_token` for several introspections at once, in one statement: each
/// request's values are an element of arrays that `unnest` turns into rows `b`, and each row
/// is joined (`LATERAL`) to that statement written over `b`'s columns, so requests that arrive
/// together on one worker share a round trip, and PostgreSQL plans and binds one statement
/// whatever the batch's size. Each row is the whole lookup of its own request: nothing one
/// caller presented decides another's answer. Credentials and tokens are checked at the
/// latest of the requests' instants (each request's throttle windows are its own).
pub async fn find_clients_and_tokens(
    mut conn: &AsyncPgConnection,
    asked: &[(Presented<'_>, &[u8])],
) -> QueryResult<Vec<(Lookup, Option<ActiveToken>)>> {
    let Some(now) = asked.iter().map(|(p, _)| p.now).max() else {
        return Ok(Vec::new());
    };
    let batch = Batch {
        client_ids: asked.iter().map(|(p, _)| p.client_id).collect(),
        secret_hashes: asked.iter().map(|(p, _)| p.secret_hash).collect(),
        key_ids: asked.iter().map(|(p, _)| p.key_id).collect(),
        ips: asked.iter().map(|(p, _)| p.ip).collect(),
        networks: asked.iter().map(|(p, _)| p.throttle.network).collect(),
        since: asked.iter().map(|(p, _)| p.throttle.since).collect(),
        per_client_at_address: asked
            .iter()
            .map(|(p, _)| p.throttle.per_client_at_address)
            .collect(),
        per_address: asked.iter().map(|(p, _)| p.throttle.per_address).collect(),
        calls_networks: asked.iter().map(|(p, _)| p.calls_network).collect(),
        calls_since: asked.iter().map(|(p, _)| p.calls_since).collect(),
        token_hashes: asked.iter().map(|(_, hash)| *hash).collect(),
    };
    let token =
        access_token::find_active_query(Arg::column("b.token_hash"), now, Arg::bound(&None));
    let query = FindMany { batch, now, token };
    type Row = (
        i64,
        LookupRow,
        Option<i32>,
        Option<DateTime<Utc>>,
        Option<ActiveToken>,
    );
    let rows: Vec<Row> = query.load(&mut conn).await?;
    let rows = rows
        .into_iter()
        .map(|(place, row, hits, started_at, token)| {
            (place, (with_window(row, hits, started_at), token))
        });
    // Each row of `b` yields exactly one row (one throttle row, left joins on unique keys).
    in_order(asked.len(), rows)
        .into_iter()
        .map(|answer| answer.ok_or(diesel::result::Error::NotFound))
        .collect()
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
    p: PresentedArgs<'b>,
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
    p.client_id.push(&mut out)?;
    out.push_sql(" AND network = ");
    p.calls_network.push(&mut out)?;
    out.push_sql(" AND started_at > ");
    p.calls_since.push(&mut out)?;
    out.push_sql(") r ON true LEFT JOIN (SELECT ");
    record_columns(&mut out, p, None)?;
    out.push_sql(" FROM credentials WHERE client_id = ");
    p.client_id.push(&mut out)?;
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
        walk_find_client(out, self.presented.args(), None)
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
        walk_find_client(out, self.presented.args(), Some(&self.token))
    }
}

/// Each request's values, one array per column of `b` (`BATCH_COLUMNS`, in this order).
struct Batch<'a> {
    client_ids: Vec<&'a str>,
    secret_hashes: Vec<&'a [u8]>,
    key_ids: Vec<Option<uuid::Uuid>>,
    ips: Vec<Option<&'a str>>,
    networks: Vec<IpNet>,
    since: Vec<DateTime<Utc>>,
    per_client_at_address: Vec<i32>,
    per_address: Vec<i32>,
    calls_networks: Vec<IpNet>,
    calls_since: Vec<DateTime<Utc>>,
    token_hashes: Vec<&'a [u8]>,
}

/// The columns of `b`, as `PresentedArgs::batch_row` reads them, then the token's digest and
/// the request's place.
const BATCH_COLUMNS: &str = "b(client_id, secret_hash, key_id, ip, network, since, \
     per_client_at_address, per_address, calls_network, calls_since, token_hash, i)";

/// The one-request statement of `FindClientAndToken` over each row of a `Batch`.
struct FindMany<'a, T> {
    batch: Batch<'a>,
    now: DateTime<Utc>,
    token: T,
}

/// `FindMany`'s statement cache key: its text is the same whatever the batch's size.
struct FindManyId;

impl<T> QueryId for FindMany<'_, T> {
    type QueryId = FindManyId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<T: QueryFragment<Pg>> Query for FindMany<'_, T> {
    type SqlType = (
        BigInt,
        LookupRowSql,
        Nullable<Integer>,
        Nullable<Timestamptz>,
        Nullable<ActiveTokenSql>,
    );
}

impl<T: QueryFragment<Pg>> QueryFragment<Pg> for FindMany<'_, T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let b = &self.batch;
        out.push_sql("SELECT b.i, q.* FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&b.client_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bytea>, _>(&b.secret_hashes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Uuid>>, _>(&b.key_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&b.ips)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Cidr>, _>(&b.networks)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&b.since)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&b.per_client_at_address)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&b.per_address)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Cidr>, _>(&b.calls_networks)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&b.calls_since)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bytea>, _>(&b.token_hashes)?;
        out.push_sql(") WITH ORDINALITY AS ");
        out.push_sql(BATCH_COLUMNS);
        out.push_sql(" CROSS JOIN LATERAL (");
        let args = PresentedArgs::batch_row(Arg::bound(&self.now));
        walk_find_client(out.reborrow(), args, Some(&self.token))?;
        out.push_sql(") q");
        Ok(())
    }
}
