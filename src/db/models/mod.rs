//! One module per table: the row struct, its insertable form and its queries.

/// The lookups of a table that belongs to an organisation, written once so that none of them
/// can leave out the organisation filter (see STYLE: a tenant's data is read by `OrgId`).
/// Inside the row type's `impl`: `find_in_org`, and with `$list ordered by $order` a list of
/// all the organisation's rows. The caller's module imports diesel's prelude and
/// `diesel_async::{AsyncPgConnection, RunQueryDsl}`, as every model module does.
macro_rules! org_scoped {
    ($table:ident, $id:ty) => {
        /// The row `id` when it belongs to `org`; `NotFound` otherwise, as if it did not exist.
        pub async fn find_in_org(
            conn: &mut AsyncPgConnection,
            org: crate::db::ids::OrgId,
            id: $id,
        ) -> QueryResult<Self> {
            $table::table
                .filter($table::org_id.eq(org))
                .filter($table::id.eq(id))
                .select(Self::as_select())
                .first(conn)
                .await
        }
    };
    ($table:ident, $id:ty, $list:ident ordered by $order:expr) => {
        org_scoped!($table, $id);

        /// Every row of `org`.
        pub async fn $list(
            conn: &mut AsyncPgConnection,
            org: crate::db::ids::OrgId,
        ) -> QueryResult<Vec<Self>> {
            $table::table
                .filter($table::org_id.eq(org))
                .order($order)
                .select(Self::as_select())
                .load(conn)
                .await
        }
    };
}

/// Declares a hand-written statement `$name` holding `$field`, whose SQL text never changes:
/// its static `QueryId` lets diesel prepare it once per connection (raw SQL never is). Its
/// `QueryFragment` is written beside it.
macro_rules! fixed_statement {
    ($(#[$meta:meta])* $name:ident<$lt:lifetime> { $field:ident: $ty:ty } -> $sql:ty) => {
        $(#[$meta])*
        struct $name<$lt> {
            $field: $ty,
        }

        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl diesel::query_builder::Query for $name<'_> {
            type SqlType = $sql;
        }
    };
}

pub mod access_token;
pub mod api;
pub mod api_role;
pub(crate) mod audit_action;
pub mod audit_event;
pub mod client_lookup;
pub mod credential;
pub mod credential_key;
pub(crate) mod credential_lifecycle;
pub(crate) mod idempotency_key;
pub mod invitation;
pub mod issuance;
pub mod limit_window;
pub(crate) mod login_attempt;
pub mod lookup_args;
pub(crate) mod notice;
pub(crate) mod org_policy;
pub mod organisation;
pub(crate) mod server_secret;
pub mod session;
pub(crate) mod setup_token;
pub mod token_issue;
pub mod token_sweep;
pub(crate) mod two_factor;
pub mod usable;
pub mod usage;
pub mod user;
pub(crate) mod webhook_attempt;
pub(crate) mod webhook_delivery;
pub(crate) mod webhook_delivery_report;
pub mod webhook_endpoint;
