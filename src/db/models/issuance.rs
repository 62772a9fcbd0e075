//! Client authentication and token issuance: the two statements of the hot path that look a
//! client up. The rule of whether a credential may authenticate, and get a token, is decided
//! here and only here, in SQL: each check is one column (`ClientChecks`), and the issuing
//! statement stores a token only when every column is true. Rust reads the columns to name a
//! refusal; it never decides again.
//!
//! Both are typed queries with a static `QueryId` (diesel's DSL has no data-modifying CTE,
//! and raw SQL is never cached), so each is prepared once per connection: a token request
//! and the caller's half of an introspection are one round trip each. Neither locks the
//! credential row (see the lock_free_issuance migration).

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Bytea, Nullable, Text, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, OrgId};
use crate::db::models::access_token::TOKEN_LIFETIME;

/// One column per check of a credential against what the caller presented, in the order a
/// refusal is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct ClientChecks {
    /// The presented secret's digest is the current secret's, or the previous one's while it
    /// overlaps.
    pub secret: bool,
    pub not_revoked: bool,
    pub enabled: bool,
    pub unexpired: bool,
    /// The caller's address is in the credential's allow-list.
    pub address: bool,
    /// The scopes asked for are within what the credential may use now (always true for a
    /// lookup that asks for none).
    pub scope: bool,
}

/// Why a credential was refused: the first failing check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    WrongSecret,
    Revoked,
    Disabled,
    Expired,
    AddressNotAllowed,
    ScopeNotAllowed,
}

impl Refusal {
    /// For the log (never shown to the caller, who gets one `invalid_client` for all of them
    /// but the scope).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::WrongSecret => "wrong_secret",
            Refusal::Revoked => "revoked",
            Refusal::Disabled => "disabled",
            Refusal::Expired => "expired",
            Refusal::AddressNotAllowed => "ip_not_allowed",
            Refusal::ScopeNotAllowed => "scope_not_allowed",
        }
    }
}

impl ClientChecks {
    /// The first failing check, if any.
    pub fn refusal(&self) -> Option<Refusal> {
        [
            (self.secret, Refusal::WrongSecret),
            (self.not_revoked, Refusal::Revoked),
            (self.enabled, Refusal::Disabled),
            (self.unexpired, Refusal::Expired),
            (self.address, Refusal::AddressNotAllowed),
            (self.scope, Refusal::ScopeNotAllowed),
        ]
        .into_iter()
        .find_map(|(passed, refusal)| (!passed).then_some(refusal))
    }
}

/// A credential as client authentication sees it.
#[derive(Debug, Clone, Queryable)]
pub struct ClientRecord {
    pub id: CredentialId,
    pub org_id: OrgId,
    /// What the credential may use now (role, narrowed by a Fine Grained selection).
    pub scopes: Vec<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Which secret the caller presented (meaningful when `checks.secret`).
    pub secret: SecretUsed,
    pub checks: ClientChecks,
}

/// The secret a caller authenticated with: its version (the current one, or the one before
/// during an overlap) and when it was last used.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct SecretUsed {
    pub version: i32,
    pub last_used_at: Option<DateTime<Utc>>,
}

type ClientRecordSql = (
    Uuid,
    Uuid,
    Array<Text>,
    Nullable<Timestamptz>,
    (diesel::sql_types::Integer, Nullable<Timestamptz>),
    (Bool, Bool, Bool, Bool, Bool, Bool),
);

/// What a caller presented, to check a credential against.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub client_id: &'a str,
    /// Digest of the secret the caller presented.
    pub secret_hash: &'a [u8],
    /// The caller's address (`None`: unknown).
    pub ip: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// The columns of `ClientRecord` over a `credentials` row, ending with the checks. The one
/// place the rule is written. `scopes`: the scopes asked for (`None`: everything the
/// credential may use, which must then not be nothing); `without_scope`: a lookup that asks
/// for no token, whose scope check is always true.
fn record_columns<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    presented: &'b Presented<'b>,
    scopes: Option<&'b Option<&'b [String]>>,
) -> QueryResult<()> {
    // The secret digest is compared in SQL, not in constant time: what could leak is how much
    // of a SHA-256 digest of the caller's own guess matches, which says nothing about the
    // secret (whose digest alone is stored).
    let secret = presented.secret_hash;
    out.push_sql("id, org_id, scopes, last_used_at, CASE WHEN secret_hash = ");
    out.push_bind_param::<Bytea, _>(secret)?;
    out.push_sql(" THEN secret_version ELSE secret_version - 1 END AS matched_version, CASE WHEN secret_hash = ");
    out.push_bind_param::<Bytea, _>(secret)?;
    out.push_sql(
        " THEN secret_last_used_at ELSE previous_secret_last_used_at END AS secret_last_used_at, \
         (secret_hash = ",
    );
    out.push_bind_param::<Bytea, _>(secret)?;
    out.push_sql(" OR coalesce(previous_secret_hash = ");
    out.push_bind_param::<Bytea, _>(secret)?;
    out.push_sql(" AND previous_secret_retires_at > ");
    out.push_bind_param::<Timestamptz, _>(&presented.now)?;
    out.push_sql(
        ", false)) AS secret_ok, revoked_at IS NULL AS not_revoked, disabled_at IS NULL AS enabled, \
         (expires_at IS NULL OR expires_at > ",
    );
    out.push_bind_param::<Timestamptz, _>(&presented.now)?;
    out.push_sql(") AS unexpired, ip_allowed(");
    out.push_bind_param::<Nullable<Text>, _>(&presented.ip)?;
    out.push_sql(", allowed_ips) AS ip_ok, ");
    match scopes {
        None => out.push_sql("true"),
        Some(asked) => {
            out.push_sql("CASE WHEN ");
            out.push_bind_param::<Nullable<Array<Text>>, _>(asked)?;
            out.push_sql(" IS NULL THEN cardinality(scopes) > 0 ELSE scopes @> ");
            out.push_bind_param::<Nullable<Array<Text>>, _>(asked)?;
            out.push_sql(" END");
        }
    }
    out.push_sql(" AS scope_ok");
    Ok(())
}

/// The credential with this client ID, checked against what the caller presented (no scope
/// asked for). Takes a shared connection, so that it can be pipelined with another query.
pub async fn find_client(
    mut conn: &AsyncPgConnection,
    presented: Presented<'_>,
) -> QueryResult<Option<ClientRecord>> {
    FindClient { presented }
        .get_result(&mut conn)
        .await
        .optional()
}

struct FindClient<'a> {
    presented: Presented<'a>,
}

impl QueryId for FindClient<'_> {
    type QueryId = FindClient<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for FindClient<'_> {
    type SqlType = ClientRecordSql;
}

impl QueryFragment<Pg> for FindClient<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        record_columns(&mut out, &self.presented, None)?;
        out.push_sql(" FROM credentials WHERE client_id = ");
        out.push_bind_param::<Text, _>(self.presented.client_id)
    }
}

/// A token request for `issue_for_client`.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub presented: Presented<'a>,
    pub token_hash: &'a [u8],
    /// The scopes asked for (parsed, deduplicated, sorted); `None` asks for all allowed.
    pub scopes: Option<&'a [String]>,
}

/// What `issue_for_client` saw and did: the caller's credential with its checks, if the
/// client ID exists, and the granted scopes if a token was stored.
pub type IssueOutcome = Option<(ClientRecord, Option<Vec<String>>)>;

/// The token endpoint's whole database work in one statement: looks the client up with its
/// checks and, only when every check passes at this instant, stores the token under the
/// credential's current secret version. The credential comes back either way, so a refusal
/// can be named without a second query.
///
/// The oldest live token is pushed out by this insert's commit, with no write to it: a token
/// is live only while fewer than `MAX_LIVE_TOKENS` tokens of its credential are newer (see
/// `access_token::find_active`).
pub async fn issue_for_client(
    conn: &mut AsyncPgConnection,
    request: TokenRequest<'_>,
) -> QueryResult<IssueOutcome> {
    IssueForClient {
        expires_at: request.presented.now + TOKEN_LIFETIME,
        request,
    }
    .get_result(conn)
    .await
    .optional()
}

struct IssueForClient<'a> {
    request: TokenRequest<'a>,
    expires_at: DateTime<Utc>,
}

impl QueryId for IssueForClient<'_> {
    type QueryId = IssueForClient<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for IssueForClient<'_> {
    type SqlType = (ClientRecordSql, Nullable<Array<Text>>);
}

impl QueryFragment<Pg> for IssueForClient<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let r = &self.request;
        out.push_sql("WITH c AS (SELECT ");
        record_columns(&mut out, &r.presented, Some(&r.scopes))?;
        out.push_sql(" FROM credentials WHERE client_id = ");
        out.push_bind_param::<Text, _>(r.presented.client_id)?;
        out.push_sql(
            "), issued AS (INSERT INTO access_tokens (token_hash, credential_id, \
             secret_version, scopes, issued_at, expires_at, issuing_ip) SELECT ",
        );
        out.push_bind_param::<Bytea, _>(r.token_hash)?;
        out.push_sql(", c.id, c.matched_version, coalesce(");
        out.push_bind_param::<Nullable<Array<Text>>, _>(&r.scopes)?;
        out.push_sql(", c.scopes), ");
        out.push_bind_param::<Timestamptz, _>(&r.presented.now)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&r.presented.ip)?;
        out.push_sql(
            " FROM c WHERE c.secret_ok AND c.not_revoked AND c.enabled AND c.unexpired \
             AND c.ip_ok AND c.scope_ok RETURNING scopes) \
             SELECT c.id, c.org_id, c.scopes, c.last_used_at, c.matched_version, \
             c.secret_last_used_at, c.secret_ok, c.not_revoked, c.enabled, c.unexpired, c.ip_ok, \
             c.scope_ok, issued.scopes FROM c LEFT JOIN issued ON true",
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failing_check_names_the_refusal() {
        let all = ClientChecks {
            secret: true,
            not_revoked: true,
            enabled: true,
            unexpired: true,
            address: true,
            scope: true,
        };
        assert_eq!(all.refusal(), None);
        let revoked_and_outside = ClientChecks {
            not_revoked: false,
            address: false,
            ..all
        };
        assert_eq!(revoked_and_outside.refusal(), Some(Refusal::Revoked));
        let only_scope = ClientChecks {
            scope: false,
            ..all
        };
        assert_eq!(only_scope.refusal(), Some(Refusal::ScopeNotAllowed));
    }
}
