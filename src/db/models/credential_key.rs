//! The public keys of a credential, for `private_key_jwt` (see the client_keys migration), and
//! the assertion ids seen while their assertions are valid.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::CredentialId;
use crate::db::schema::{client_assertion_jtis, credential_keys, credentials};

text_enum! {
    /// The signing algorithm a key is pinned to: the only one it verifies.
    pub enum Algorithm ("key algorithm") {
        Rs256 = "RS256",
        Es256 = "ES256",
    }
}

/// At most this many keys per credential: one in use, one being rolled in.
pub const MAX_KEYS_PER_CREDENTIAL: usize = 2;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credential_keys)]
pub struct CredentialKey {
    pub id: uuid::Uuid,
    pub credential_id: CredentialId,
    pub algorithm: Algorithm,
    /// The public JWK members (never a private member).
    pub jwk: serde_json::Value,
    /// RFC 7638 thumbprint, also its `kid`.
    pub thumbprint: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// The staff member's email or the calling credential's client ID that added it.
    pub added_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = credential_keys)]
pub struct NewCredentialKey<'a> {
    pub id: uuid::Uuid,
    pub credential_id: CredentialId,
    pub algorithm: Algorithm,
    pub jwk: &'a serde_json::Value,
    pub thumbprint: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub added_by: &'a str,
    pub created_at: DateTime<Utc>,
}

/// A key as client authentication needs it: whose, which, and what verifies.
#[derive(Debug, Clone, Queryable)]
pub struct VerifyingKey {
    pub credential_id: CredentialId,
    pub key_id: uuid::Uuid,
    pub algorithm: Algorithm,
    pub jwk: serde_json::Value,
    pub thumbprint: String,
}

impl CredentialKey {
    /// The keys of `credential`, oldest first.
    pub async fn of(
        conn: &mut AsyncPgConnection,
        credential: CredentialId,
    ) -> QueryResult<Vec<Self>> {
        credential_keys::table
            .filter(credential_keys::credential_id.eq(credential))
            .order((credential_keys::created_at, credential_keys::id))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: &NewCredentialKey<'_>,
    ) -> QueryResult<Self> {
        diesel::insert_into(credential_keys::table)
            .values(new)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Removes key `id` of `credential`; the removed key, if there was one.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        credential: CredentialId,
        id: uuid::Uuid,
    ) -> QueryResult<Option<Self>> {
        diesel::delete(
            credential_keys::table
                .filter(credential_keys::credential_id.eq(credential))
                .filter(credential_keys::id.eq(id)),
        )
        .returning(Self::as_returning())
        .get_result(conn)
        .await
        .optional()
    }
}

/// The unexpired keys of the credential with `client_id` (none when there is no such
/// credential): what an assertion claiming to be that client may be signed with.
pub async fn verifying_keys(
    mut conn: &AsyncPgConnection,
    client_id: &str,
    now: DateTime<Utc>,
) -> QueryResult<Vec<VerifyingKey>> {
    credential_keys::table
        .inner_join(credentials::table)
        .filter(credentials::client_id.eq(client_id))
        .filter(
            credential_keys::expires_at
                .is_null()
                .or(credential_keys::expires_at.gt(now)),
        )
        .select((
            credential_keys::credential_id,
            credential_keys::id,
            credential_keys::algorithm,
            credential_keys::jwk,
            credential_keys::thumbprint,
        ))
        .load(&mut conn)
        .await
}

/// Notes an assertion's `jti` until it expires, and the key's use: `false` when the jti was
/// already seen for this credential (a replay, on whichever instance it was first seen). The
/// key's last use is written at most once a minute unless the address changes.
pub async fn accept_assertion(
    conn: &mut AsyncPgConnection,
    key: &VerifyingKey,
    jti: &str,
    expires_at: DateTime<Utc>,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Accepted {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        fresh: bool,
    }
    let accepted: Accepted = diesel::sql_query(
        "WITH seen AS (INSERT INTO client_assertion_jtis (credential_id, jti, expires_at) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1), \
         used AS (UPDATE credential_keys SET last_used_at = $5, last_used_ip = $4 \
         WHERE id = $6 AND EXISTS (SELECT 1 FROM seen) AND (last_used_at IS NULL \
         OR last_used_at < $5 - interval '1 minute' OR last_used_ip IS DISTINCT FROM $4) \
         RETURNING 1) SELECT EXISTS (SELECT 1 FROM seen) AS fresh",
    )
    .bind::<SqlUuid, _>(key.credential_id)
    .bind::<Text, _>(jti)
    .bind::<Timestamptz, _>(expires_at)
    .bind::<Nullable<Text>, _>(ip)
    .bind::<Timestamptz, _>(now)
    .bind::<SqlUuid, _>(key.key_id)
    .get_result(conn)
    .await?;
    Ok(accepted.fresh)
}

/// Forgets assertion ids whose assertions have expired (they can no longer be replayed).
pub async fn sweep_jtis(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(client_assertion_jtis::table.filter(client_assertion_jtis::expires_at.lt(now)))
        .execute(conn)
        .await
}
