//! Where a lookup statement reads what a caller presented: bound parameters (one request), or
//! the columns of `b`, one row of an `unnest` over arrays of many requests' values
//! (`client_lookup::find_clients_and_tokens`). The lookup rules are written once over these
//! arguments, so the one-request statement and the batched one are the same rule; only where
//! the values come from differs. A batch binds its arrays once, whatever its size, so
//! PostgreSQL plans and binds it once (a `UNION ALL` of one-request statements was measured:
//! it binds branch by branch and loses to separate statements).

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bytea, Cidr, HasSqlType, Integer, Nullable, Text, Timestamptz, Uuid};
use ipnet::IpNet;

/// One value of SQL type `ST`: a bound `T`, or a column of the batch row `b`.
pub struct Arg<'a, ST, T: ?Sized> {
    source: Source<'a, T>,
    sql_type: PhantomData<ST>,
}

enum Source<'a, T: ?Sized> {
    Bound(&'a T),
    Column(&'static str),
}

impl<'a, ST, T: ?Sized> Arg<'a, ST, T> {
    pub fn bound(value: &'a T) -> Self {
        Self {
            source: Source::Bound(value),
            sql_type: PhantomData,
        }
    }

    pub fn column(name: &'static str) -> Self {
        Self {
            source: Source::Column(name),
            sql_type: PhantomData,
        }
    }
}

impl<ST, T: ?Sized> Clone for Arg<'_, ST, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<ST, T: ?Sized> Copy for Arg<'_, ST, T> {}

impl<T: ?Sized> Clone for Source<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Source<'_, T> {}

impl<'a, ST, T> Arg<'a, ST, T>
where
    T: ToSql<ST, Pg> + ?Sized,
    Pg: HasSqlType<ST>,
{
    /// Writes the value into a hand-written statement.
    pub fn push(self, out: &mut AstPass<'_, 'a, Pg>) -> QueryResult<()> {
        match self.source {
            Source::Bound(value) => out.push_bind_param::<ST, T>(value),
            Source::Column(name) => {
                out.push_sql(name);
                Ok(())
            }
        }
    }
}

// As an expression of diesel's DSL (the token lookup).
impl<ST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue, T: ?Sized> Expression
    for Arg<'_, ST, T>
{
    type SqlType = ST;
}

impl<ST, T> QueryFragment<Pg> for Arg<'_, ST, T>
where
    T: ToSql<ST, Pg> + ?Sized,
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.push(&mut out)
    }
}

/// The same key whether the value is bound or a column, so a statement type must use one or
/// the other throughout: the one-request statements bind, `find_clients_and_tokens` (with
/// its own key) reads columns.
impl<ST: 'static, T: ?Sized> QueryId for Arg<'_, ST, T> {
    type QueryId = PhantomData<ST>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<ST, T: ?Sized, QS> AppearsOnTable<QS> for Arg<'_, ST, T> where Self: Expression {}

impl<ST, T: ?Sized, QS> SelectableExpression<QS> for Arg<'_, ST, T> where Self: Expression {}

impl<ST, T: ?Sized, G> ValidGrouping<G> for Arg<'_, ST, T> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// Everything a caller presented that a lookup statement reads, as `Arg`s
/// (`issuance::Presented::args` binds one request's).
#[derive(Clone, Copy)]
pub struct PresentedArgs<'a> {
    pub client_id: Arg<'a, Text, str>,
    pub secret_hash: Arg<'a, Bytea, [u8]>,
    pub key_id: Arg<'a, Nullable<Uuid>, Option<uuid::Uuid>>,
    pub ip: Arg<'a, Nullable<Text>, Option<&'a str>>,
    pub now: Arg<'a, Timestamptz, DateTime<Utc>>,
    pub network: Arg<'a, Cidr, IpNet>,
    pub since: Arg<'a, Timestamptz, DateTime<Utc>>,
    pub per_client_at_address: Arg<'a, Integer, i32>,
    pub per_address: Arg<'a, Integer, i32>,
    pub calls_network: Arg<'a, Cidr, IpNet>,
    pub calls_since: Arg<'a, Timestamptz, DateTime<Utc>>,
}

impl<'a> PresentedArgs<'a> {
    /// The columns of the batch row `b` (`client_lookup::BATCH_COLUMNS` names them), at `now`:
    /// the batch's one instant, or each request's own (a column).
    pub fn batch_row(now: Arg<'a, Timestamptz, DateTime<Utc>>) -> Self {
        Self {
            client_id: Arg::column("b.client_id"),
            secret_hash: Arg::column("b.secret_hash"),
            key_id: Arg::column("b.key_id"),
            ip: Arg::column("b.ip"),
            now,
            network: Arg::column("b.network"),
            since: Arg::column("b.since"),
            per_client_at_address: Arg::column("b.per_client_at_address"),
            per_address: Arg::column("b.per_address"),
            calls_network: Arg::column("b.calls_network"),
            calls_since: Arg::column("b.calls_since"),
        }
    }
}

/// The rows of a batch statement, each tagged with its place (`WITH ORDINALITY`, from 1), in
/// the batch's order: `None` where a place yielded no row.
pub fn in_order<T>(size: usize, rows: impl IntoIterator<Item = (i64, T)>) -> Vec<Option<T>> {
    let mut placed: Vec<Option<T>> = Vec::new();
    placed.resize_with(size, || None);
    for (place, row) in rows {
        let slot = usize::try_from(place - 1)
            .ok()
            .and_then(|i| placed.get_mut(i));
        if let Some(slot) = slot {
            *slot = Some(row);
        }
    }
    placed
}
