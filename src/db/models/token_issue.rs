//! The issuing statement: token requests checked and their tokens stored, one request or many
//! in one statement. Each request's values are an element of arrays that `unnest` turns into
//! rows `b`; each row gets its own throttle (`t`), its own credential with the checks of
//! `issuance` (`c`, read at the request's own instant) and, when every check of that row
//! passes, its own token. Requests that arrive together on one worker share the statement, its
//! round trip and its commit (`oauth::token_batch`); nothing one caller presented decides
//! another's answer, and each is answered only once the commit that stored its token is done.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bytea, Cidr, Integer, Nullable, Text, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ipnet::IpNet;

use crate::db::models::issuance::{
    Granted, IssueOutcome, LOOKUP_COLUMNS, LookupRow, LookupRowSql, TokenRequest, record_columns,
    throttle_column,
};
use crate::db::models::lookup_args::{Arg, PresentedArgs, in_order};

/// The issuing statement for one request (`issue_many` with one).
pub async fn issue_for_client(
    conn: &mut AsyncPgConnection,
    request: TokenRequest<'_>,
) -> QueryResult<IssueOutcome> {
    issue_many(conn, &[request])
        .await?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

/// The token endpoint's whole database work for every request in `requests`, in one
/// statement: reads each caller's throttle windows, looks its client up with the checks and,
/// only when that caller is not throttled and every check passes at its instant, stores its
/// token under the secret version it presented. Each credential comes back either way, so a
/// refusal can be named without a second query. One outcome per request, in order.
///
/// The oldest live token is pushed out by this insert's commit, with no write to it: a token
/// is live only while fewer than `MAX_LIVE_TOKENS` tokens of its credential are newer (see
/// `access_token::find_active`); tokens stored together are ordered as their requests.
pub async fn issue_many(
    conn: &mut AsyncPgConnection,
    requests: &[TokenRequest<'_>],
) -> QueryResult<Vec<IssueOutcome>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let statement = IssueMany {
        batch: Batch::of(requests),
    };
    type Row = (i64, LookupRow, Option<Vec<String>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = statement.load(conn).await?;
    let rows = rows.into_iter().map(|(place, row, scopes, expires_at)| {
        let granted = scopes
            .zip(expires_at)
            .map(|(scopes, expires_at)| Granted { scopes, expires_at });
        (place, (row.into_lookup(), granted))
    });
    // Each row of `b` yields exactly one row (one throttle row, left joins on unique keys).
    in_order(requests.len(), rows)
        .into_iter()
        .map(|outcome| outcome.ok_or(diesel::result::Error::NotFound))
        .collect()
}

/// Each request's values, one array per column of `b` (`BATCH_COLUMNS`, in this order).
struct Batch<'a> {
    client_ids: Vec<&'a str>,
    secret_hashes: Vec<&'a [u8]>,
    key_ids: Vec<Option<uuid::Uuid>>,
    ips: Vec<Option<&'a str>>,
    now: Vec<DateTime<Utc>>,
    networks: Vec<IpNet>,
    since: Vec<DateTime<Utc>>,
    per_client_at_address: Vec<i32>,
    per_address: Vec<i32>,
    token_hashes: Vec<&'a [u8]>,
    /// The scopes asked for, space-separated (a scope token holds no space: `parse_scope`), or
    /// NULL for everything allowed: arrays of arrays must be rectangular.
    scopes: Vec<Option<String>>,
}

impl<'a> Batch<'a> {
    fn of(requests: &[TokenRequest<'a>]) -> Self {
        let presented = || requests.iter().map(|r| &r.presented);
        Self {
            client_ids: presented().map(|p| p.client_id).collect(),
            secret_hashes: presented().map(|p| p.secret_hash).collect(),
            key_ids: presented().map(|p| p.key_id).collect(),
            ips: presented().map(|p| p.ip).collect(),
            now: presented().map(|p| p.now).collect(),
            networks: presented().map(|p| p.throttle.network).collect(),
            since: presented().map(|p| p.throttle.since).collect(),
            per_client_at_address: presented()
                .map(|p| p.throttle.per_client_at_address)
                .collect(),
            per_address: presented().map(|p| p.throttle.per_address).collect(),
            token_hashes: requests.iter().map(|r| r.token_hash).collect(),
            scopes: requests
                .iter()
                .map(|r| r.scopes.map(|s| s.join(" ")))
                .collect(),
        }
    }
}

/// The columns of `u` (then `b`, with `asked`), as `PresentedArgs::batch_row` reads them; the
/// introspection window's columns are not among them (issuing reads none).
const BATCH_COLUMNS: &str = "u(client_id, secret_hash, key_id, ip, now, network, since, \
     per_client_at_address, per_address, token_hash, scopes, i)";

/// Whether a row's token is stored: not throttled, and every check passed.
const ISSUE_WHEN: &str = "t.retry_after = 0 AND c.secret_ok AND c.method_ok AND c.not_revoked \
     AND c.enabled AND c.unexpired AND c.ip_ok AND c.scope_ok";

fixed_statement!(IssueMany<'a> { batch: Batch<'a> }
    -> (BigInt, LookupRowSql, Nullable<Array<Text>>, Nullable<Timestamptz>));

impl QueryFragment<Pg> for IssueMany<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let b = &self.batch;
        out.push_sql("WITH b AS (SELECT u.*, string_to_array(u.scopes, ' ') AS asked FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&b.client_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bytea>, _>(&b.secret_hashes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Uuid>>, _>(&b.key_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&b.ips)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&b.now)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Cidr>, _>(&b.networks)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&b.since)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&b.per_client_at_address)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&b.per_address)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bytea>, _>(&b.token_hashes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&b.scopes)?;
        out.push_sql(") WITH ORDINALITY AS ");
        out.push_sql(BATCH_COLUMNS);
        let args = PresentedArgs::batch_row(Arg::column("b.now"));
        out.push_sql("), t AS (SELECT b.i, ");
        throttle_column(&mut out, args)?;
        // LATERAL: each row looks its credential up by the client ID's index. A token lives as
        // long as its credential's token lifetime (`make_interval` takes whole seconds).
        out.push_sql(" FROM b), c AS (SELECT b.i, x.* FROM b CROSS JOIN LATERAL (SELECT ");
        record_columns(&mut out, args, Some("b.asked"))?;
        out.push_sql(
            " FROM credentials WHERE client_id = b.client_id) x), \
             issued AS (INSERT INTO access_tokens (token_hash, credential_id, secret_version, \
             scopes, issued_at, expires_at, issuing_ip) SELECT b.token_hash, c.id, \
             c.matched_version, coalesce(b.asked, c.scopes), b.now, \
             b.now + make_interval(secs => c.token_lifetime_seconds), b.ip \
             FROM b JOIN t ON t.i = b.i JOIN c ON c.i = b.i WHERE ",
        );
        out.push_sql(ISSUE_WHEN);
        out.push_sql(" ORDER BY b.i RETURNING token_hash, scopes, expires_at) SELECT b.i, ");
        out.push_sql(LOOKUP_COLUMNS);
        out.push_sql(
            ", issued.scopes, issued.expires_at FROM b JOIN t ON t.i = b.i \
             LEFT JOIN c ON c.i = b.i LEFT JOIN issued ON issued.token_hash = b.token_hash",
        );
        Ok(())
    }
}
