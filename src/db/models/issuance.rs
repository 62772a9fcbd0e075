//! Client authentication and token issuance: the rule of whether a credential may
//! authenticate, and get a token, is decided here and only here, in SQL: each check is one
//! column (`ClientChecks`), and the issuing statement stores a token only when every column is
//! true. Rust reads the columns to name a refusal; it never decides again. The issuing
//! statement is `token_issue`'s; the lookup without issuance (introspection, revocation) is
//! `client_lookup`'s, both built from the same columns.
//!
//! Each statement is a typed query with a static `QueryId` (diesel's DSL has no
//! data-modifying CTE, and raw SQL is never cached), so each is prepared once per connection:
//! a token request is one round trip. None locks the credential row (see the
//! lock_free_issuance migration).

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Uuid};
use ipnet::IpNet;

use crate::db::ids::{CredentialId, OrgId};
use crate::db::models::limit_window::{LimitKind, Window};
use crate::db::models::lookup_args::{Arg, PresentedArgs};

/// One column per check of a credential against what the caller presented, in the order a
/// refusal is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct ClientChecks {
    /// The presented secret's digest is the current secret's, or the previous one's while it
    /// overlaps; or the caller proved a key of the credential that has not expired.
    pub secret: bool,
    /// The way the caller authenticated is allowed: a key, or a secret unless the credential
    /// accepts keys only.
    pub method: bool,
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
    KeysOnly,
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
            Refusal::KeysOnly => "keys_only",
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
            (self.method, Refusal::KeysOnly),
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
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub id: CredentialId,
    pub org_id: OrgId,
    /// What the credential may use now (role, narrowed by a Fine Grained selection).
    pub scopes: Vec<String>,
    /// The version of the secret the caller presented: the current one, or the one before
    /// during an overlap (meaningful when `checks.secret`).
    pub secret_version: i32,
    pub checks: ClientChecks,
}

/// What a lookup statement found: whether the caller is throttled, and its credential.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// Seconds until the failure throttle lets this caller try again; 0 when it may.
    pub retry_after: u64,
    /// The credential with the presented client ID, if there is one.
    pub client: Option<ClientRecord>,
    /// The caller's current introspection window, shared by every instance (read by
    /// `find_client` only; `None` when it has none running).
    pub calls: Option<Window>,
}

/// One row of a lookup statement: the throttle, then the credential's columns (all NULL when
/// no credential has the client ID), then the scopes granted when a token was stored.
#[derive(Debug, Clone, Queryable)]
pub(super) struct LookupRow {
    retry_after: i32,
    id: Option<CredentialId>,
    org_id: Option<OrgId>,
    scopes: Option<Vec<String>>,
    matched_version: Option<i32>,
    checks: NullableChecks,
}

/// `ClientChecks` as a lookup row holds them: all NULL when no credential was found.
type NullableChecks = (
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
);

pub(super) type LookupRowSql = (
    Integer,
    Nullable<Uuid>,
    Nullable<Uuid>,
    Nullable<Array<Text>>,
    Nullable<Integer>,
    (
        Nullable<Bool>,
        Nullable<Bool>,
        Nullable<Bool>,
        Nullable<Bool>,
        Nullable<Bool>,
        Nullable<Bool>,
        Nullable<Bool>,
    ),
);

impl LookupRow {
    pub(super) fn into_lookup(self) -> Lookup {
        let (secret, method, not_revoked, enabled, unexpired, address, scope) = self.checks;
        let client = (|| {
            Some(ClientRecord {
                id: self.id?,
                org_id: self.org_id?,
                scopes: self.scopes?,
                secret_version: self.matched_version?,
                checks: ClientChecks {
                    secret: secret?,
                    method: method?,
                    not_revoked: not_revoked?,
                    enabled: enabled?,
                    unexpired: unexpired?,
                    address: address?,
                    scope: scope?,
                },
            })
        })();
        Lookup {
            retry_after: u64::try_from(self.retry_after).unwrap_or(0),
            client,
            calls: None,
        }
    }
}

/// The failure throttle as the lookup statements check it: the caller's windows in
/// `limit_windows` (see `limit_window`), read in the same statement as the credential, so a
/// caller that authenticates pays no round trip for it.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleCheck {
    /// The caller's address block (`limit_window::any_network()` when unknown).
    pub network: IpNet,
    /// Windows that started at or before this are over.
    pub since: DateTime<Utc>,
    /// Failures allowed per window for one client ID from one address block.
    pub per_client_at_address: i32,
    /// Failures allowed per window from one address block.
    pub per_address: i32,
}

/// What a caller presented, to check a credential against.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// A client ID of our shape (`tokens::is_client_id`), or '' when the caller's is not:
    /// then only the address is throttled and no credential is found.
    pub client_id: &'a str,
    /// Digest of the secret the caller presented (empty when it was malformed or the caller
    /// signed an assertion: no credential's secret then matches).
    pub secret_hash: &'a [u8],
    /// The key whose signature the caller's assertion carried (`oauth::assertion`), instead
    /// of a secret: it passes the secret check while the key is still the credential's.
    pub key_id: Option<uuid::Uuid>,
    /// The caller's address (`None`: unknown).
    pub ip: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub throttle: ThrottleCheck,
    /// The network of the caller's introspection window (`limit_window::any_network()`: it
    /// counts by credential, from anywhere).
    pub calls_network: IpNet,
    /// Introspection windows that started at or before this are over.
    pub calls_since: DateTime<Utc>,
}

impl<'a> Presented<'a> {
    /// These values, bound, for the lookup statements.
    pub(super) fn args(&'a self) -> PresentedArgs<'a> {
        PresentedArgs {
            client_id: Arg::bound(self.client_id),
            secret_hash: Arg::bound(self.secret_hash),
            key_id: Arg::bound(&self.key_id),
            ip: Arg::bound(&self.ip),
            now: Arg::bound(&self.now),
            network: Arg::bound(&self.throttle.network),
            since: Arg::bound(&self.throttle.since),
            per_client_at_address: Arg::bound(&self.throttle.per_client_at_address),
            per_address: Arg::bound(&self.throttle.per_address),
            calls_network: Arg::bound(&self.calls_network),
            calls_since: Arg::bound(&self.calls_since),
        }
    }
}

/// `retry_after`: the seconds until the longer of the caller's two throttle windows that are
/// over their allowance ends, or 0.
pub(super) fn throttle_column<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    p: PresentedArgs<'b>,
) -> QueryResult<()> {
    let window = |out: &mut AstPass<'_, 'b, Pg>,
                  kind: &'static str,
                  subject: Arg<'b, Text, str>,
                  allowance: Arg<'b, Integer, i32>|
     -> QueryResult<()> {
        out.push_sql("(SELECT ceil(extract(epoch FROM started_at - ");
        p.since.push(out)?;
        out.push_sql("))::int4 FROM limit_windows WHERE kind = ");
        out.push_bind_param::<Text, _>(kind)?;
        out.push_sql(" AND subject = ");
        subject.push(out)?;
        out.push_sql(" AND network = ");
        p.network.push(out)?;
        out.push_sql(" AND started_at > ");
        p.since.push(out)?;
        out.push_sql(" AND hits >= ");
        allowance.push(out)?;
        out.push_sql(")");
        Ok(())
    };
    out.push_sql("coalesce(greatest(");
    let address_kind = LimitKind::OAuthAddress.as_str();
    window(out, address_kind, Arg::bound(""), p.per_address)?;
    out.push_sql(", ");
    let client_kind = LimitKind::OAuthClientAtAddress.as_str();
    window(out, client_kind, p.client_id, p.per_client_at_address)?;
    out.push_sql("), 0) AS retry_after");
    Ok(())
}

/// The columns of `ClientRecord` over a `credentials` row, ending with the checks. The one
/// place the rule is written. `asked`: the column holding the scopes a token request asks for
/// (NULL: everything the credential may use, which must then not be nothing); `None` for a
/// lookup that asks for no token, whose scope check is always true.
pub(super) fn record_columns<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    p: PresentedArgs<'b>,
    asked: Option<&'static str>,
) -> QueryResult<()> {
    // The secret digest is compared in SQL, not in constant time: what could leak is how much
    // of a SHA-256 digest of the caller's own guess matches, which says nothing about the
    // secret (whose digest alone is stored).
    let (secret, key, now) = (p.secret_hash, p.key_id, p.now);
    // A token issued on a key's signature belongs to the current secret version: it lives and
    // dies with the credential's tokens, not with a previous secret.
    out.push_sql("id, org_id, scopes, CASE WHEN secret_hash = ");
    secret.push(out)?;
    out.push_sql(" OR ");
    key.push(out)?;
    out.push_sql(
        "::uuid IS NOT NULL THEN secret_version ELSE secret_version - 1 END AS matched_version, \
         CASE WHEN ",
    );
    key.push(out)?;
    out.push_sql("::uuid IS NULL THEN (secret_hash = ");
    secret.push(out)?;
    out.push_sql(" OR coalesce(previous_secret_hash = ");
    secret.push(out)?;
    out.push_sql(" AND previous_secret_retires_at > ");
    now.push(out)?;
    out.push_sql(
        ", false)) ELSE EXISTS (SELECT 1 FROM credential_keys k WHERE k.credential_id = credentials.id AND k.id = ",
    );
    key.push(out)?;
    out.push_sql(" AND (k.expires_at IS NULL OR k.expires_at > ");
    now.push(out)?;
    out.push_sql(")) END AS secret_ok, (");
    key.push(out)?;
    out.push_sql(
        "::uuid IS NOT NULL OR NOT keys_only) AS method_ok, revoked_at IS NULL AS not_revoked, \
         disabled_at IS NULL AS enabled, (expires_at IS NULL OR expires_at > ",
    );
    now.push(out)?;
    out.push_sql(") AS unexpired, ip_allowed(");
    p.ip.push(out)?;
    out.push_sql(", allowed_ips) AS ip_ok, ");
    match asked {
        None => out.push_sql("true"),
        Some(asked) => {
            out.push_sql("CASE WHEN ");
            out.push_sql(asked);
            out.push_sql(" IS NULL THEN cardinality(scopes) > 0 ELSE scopes @> ");
            out.push_sql(asked);
            out.push_sql(" END");
        }
    }
    out.push_sql(" AS scope_ok, token_lifetime_seconds");
    Ok(())
}

/// The columns a lookup statement ends with, from `t` (the throttle) and `c` (the credential).
pub(super) const LOOKUP_COLUMNS: &str = "t.retry_after, c.id, c.org_id, c.scopes, c.matched_version, \
     c.secret_ok, c.method_ok, c.not_revoked, c.enabled, c.unexpired, c.ip_ok, c.scope_ok";

/// A token request for the issuing statement (`token_issue`).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub presented: Presented<'a>,
    pub token_hash: &'a [u8],
    /// The scopes asked for (parsed, deduplicated, sorted); `None` asks for all allowed.
    pub scopes: Option<&'a [String]>,
}

/// A token the issuing statement stored: its scopes and when it expires (its credential's
/// token lifetime from the request).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Granted {
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// What the issuing statement (`token_issue`) saw and did: the lookup, and the token if one
/// was stored.
pub type IssueOutcome = (Lookup, Option<Granted>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failing_check_names_the_refusal() {
        let all = ClientChecks {
            secret: true,
            method: true,
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
