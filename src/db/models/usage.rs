//! The usage tables (see the usage migration): hourly counts per credential and event, the
//! latest refusals per credential, and the last-use columns of credentials and tokens. Written
//! only by `usage::UsageCounter::flush`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{CredentialId, TokenId};
use crate::db::schema::{credential_refusals, credential_usage, credentials};

/// How many refusals are kept per credential.
pub const RECENT_REFUSALS: usize = 50;

/// Counts to add to one (credential, hour, event); keys are unique within a batch.
#[derive(Debug, Clone)]
pub struct CountRow {
    pub credential_id: CredentialId,
    pub hour: DateTime<Utc>,
    pub event: &'static str,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct RefusalRow {
    pub credential_id: CredentialId,
    pub at: DateTime<Utc>,
    pub reason: &'static str,
    pub ip: Option<String>,
}

/// Uses of a credential since the last flush: token requests with the secret of
/// `secret_version` (how many, the latest, from where), or bearer uses (`secret_version` and
/// `uses` unset: only the credential's last use moves).
#[derive(Debug, Clone)]
pub struct UseRow {
    pub credential_id: CredentialId,
    pub secret_version: Option<i32>,
    pub uses: i64,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
}

/// A stored refusal, for the credential's page.
#[derive(Debug, Clone, Queryable)]
pub struct StoredRefusal {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub ip: Option<String>,
}

/// The credentials these client IDs belong to; unknown ones are left out.
pub async fn credentials_by_client_id(
    conn: &mut AsyncPgConnection,
    client_ids: &[&str],
) -> QueryResult<HashMap<String, CredentialId>> {
    if client_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(String, CredentialId)> = credentials::table
        .filter(credentials::client_id.eq_any(client_ids))
        .select((credentials::client_id, credentials::id))
        .load(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// Adds the counts in one statement. Rows of a credential deleted meanwhile are dropped.
pub async fn add_counts(conn: &mut AsyncPgConnection, rows: &[CountRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<CredentialId> = rows.iter().map(|r| r.credential_id).collect();
    let hours: Vec<DateTime<Utc>> = rows.iter().map(|r| r.hour).collect();
    let events: Vec<&str> = rows.iter().map(|r| r.event).collect();
    let counts: Vec<i64> = rows.iter().map(|r| r.count).collect();
    diesel::sql_query(
        "INSERT INTO credential_usage (credential_id, hour, event, count) \
         SELECT u.credential_id, u.hour, u.event, u.count \
         FROM unnest($1, $2, $3, $4) AS u (credential_id, hour, event, count) \
         WHERE EXISTS (SELECT 1 FROM credentials c WHERE c.id = u.credential_id) \
         ON CONFLICT (credential_id, hour, event) \
         DO UPDATE SET count = credential_usage.count + excluded.count",
    )
    .bind::<Array<Uuid>, _>(ids)
    .bind::<Array<Timestamptz>, _>(hours)
    .bind::<Array<Text>, _>(events)
    .bind::<Array<BigInt>, _>(counts)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Appends refusals, then keeps only the latest `RECENT_REFUSALS` of each credential touched.
pub async fn add_refusals(conn: &mut AsyncPgConnection, rows: &[RefusalRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<CredentialId> = rows.iter().map(|r| r.credential_id).collect();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.at).collect();
    let reasons: Vec<&str> = rows.iter().map(|r| r.reason).collect();
    let ips: Vec<Option<&str>> = rows.iter().map(|r| r.ip.as_deref()).collect();
    diesel::sql_query(
        "INSERT INTO credential_refusals (credential_id, at, reason, ip) \
         SELECT u.credential_id, u.at, u.reason, u.ip \
         FROM unnest($1, $2, $3, $4) AS u (credential_id, at, reason, ip) \
         WHERE EXISTS (SELECT 1 FROM credentials c WHERE c.id = u.credential_id)",
    )
    .bind::<Array<Uuid>, _>(&ids)
    .bind::<Array<Timestamptz>, _>(times)
    .bind::<Array<Text>, _>(reasons)
    .bind::<Array<Nullable<Text>>, _>(ips)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "DELETE FROM credential_refusals WHERE id IN ( \
           SELECT id FROM ( \
             SELECT id, row_number() OVER ( \
               PARTITION BY credential_id ORDER BY at DESC, id DESC) AS n \
             FROM credential_refusals WHERE credential_id = ANY($1)) ranked \
           WHERE n > $2)",
    )
    .bind::<Array<Uuid>, _>(&ids)
    .bind::<BigInt, _>(RECENT_REFUSALS as i64)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Adds secrets' uses and moves last uses forward (never back: another instance may have
/// written a later one), in one statement. The credentials' rows are locked in id order first,
/// so the secret a version names is the one it names when the row is written, and two
/// instances flushing at once cannot deadlock. A version that is neither the current secret's
/// nor the previous one's (rotated twice since) only moves the credential's last use.
pub async fn record_uses(conn: &mut AsyncPgConnection, rows: &[UseRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<CredentialId> = rows.iter().map(|r| r.credential_id).collect();
    let versions: Vec<Option<i32>> = rows.iter().map(|r| r.secret_version).collect();
    let uses: Vec<i64> = rows.iter().map(|r| r.uses).collect();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.at).collect();
    let ips: Vec<Option<&str>> = rows.iter().map(|r| r.ip.as_deref()).collect();
    diesel::sql_query(
        "WITH u AS (SELECT * FROM unnest($1, $2, $3, $4, $5) AS u (id, version, uses, at, ip)), \
         locked AS (SELECT id, secret_version FROM credentials \
                    WHERE id IN (SELECT id FROM u) ORDER BY id FOR UPDATE), \
         a AS (SELECT l.id, \
           sum(u.uses) FILTER (WHERE u.version = l.secret_version) AS cur_uses, \
           max(u.at) FILTER (WHERE u.version = l.secret_version) AS cur_at, \
           (array_agg(u.ip ORDER BY u.at DESC) \
              FILTER (WHERE u.version = l.secret_version))[1] AS cur_ip, \
           sum(u.uses) FILTER (WHERE u.version = l.secret_version - 1) AS prev_uses, \
           max(u.at) FILTER (WHERE u.version = l.secret_version - 1) AS prev_at, \
           (array_agg(u.ip ORDER BY u.at DESC) \
              FILTER (WHERE u.version = l.secret_version - 1))[1] AS prev_ip, \
           max(u.at) AS any_at, (array_agg(u.ip ORDER BY u.at DESC))[1] AS any_ip \
           FROM locked l JOIN u ON u.id = l.id GROUP BY l.id) \
         UPDATE credentials c SET \
           secret_uses = c.secret_uses + coalesce(a.cur_uses, 0), \
           previous_secret_uses = c.previous_secret_uses + coalesce(a.prev_uses, 0), \
           secret_last_used_ip = CASE WHEN a.cur_at > coalesce(c.secret_last_used_at, '-infinity') \
             THEN a.cur_ip ELSE c.secret_last_used_ip END, \
           secret_last_used_at = greatest(c.secret_last_used_at, a.cur_at), \
           previous_secret_last_used_ip = \
             CASE WHEN a.prev_at > coalesce(c.previous_secret_last_used_at, '-infinity') \
             THEN a.prev_ip ELSE c.previous_secret_last_used_ip END, \
           previous_secret_last_used_at = greatest(c.previous_secret_last_used_at, a.prev_at), \
           last_used_ip = CASE WHEN a.any_at > coalesce(c.last_used_at, '-infinity') \
             THEN a.any_ip ELSE c.last_used_ip END, \
           last_used_at = greatest(c.last_used_at, a.any_at) \
         FROM a WHERE c.id = a.id",
    )
    .bind::<Array<Uuid>, _>(ids)
    .bind::<Array<Nullable<Integer>>, _>(versions)
    .bind::<Array<BigInt>, _>(uses)
    .bind::<Array<Timestamptz>, _>(times)
    .bind::<Array<Nullable<Text>>, _>(ips)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Moves tokens' last use forward.
pub async fn record_token_uses(
    conn: &mut AsyncPgConnection,
    tokens: &[(TokenId, DateTime<Utc>)],
) -> QueryResult<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let ids: Vec<TokenId> = tokens.iter().map(|(id, _)| *id).collect();
    let times: Vec<DateTime<Utc>> = tokens.iter().map(|(_, at)| *at).collect();
    diesel::sql_query(
        "UPDATE access_tokens t SET last_used_at = u.at \
         FROM unnest($1, $2) AS u (id, at) \
         WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Timestamptz>, _>(times)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Deletes counts and refusals from before `cutoff`; how many rows went.
pub async fn prune(conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    let counts = diesel::delete(credential_usage::table.filter(credential_usage::hour.lt(cutoff)))
        .execute(conn)
        .await?;
    let refusals =
        diesel::delete(credential_refusals::table.filter(credential_refusals::at.lt(cutoff)))
            .execute(conn)
            .await?;
    Ok(counts + refusals)
}

/// A credential's hourly counts from `since` on: (hour, event, count).
pub async fn hourly_since(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    since: DateTime<Utc>,
) -> QueryResult<Vec<(DateTime<Utc>, String, i64)>> {
    credential_usage::table
        .filter(credential_usage::credential_id.eq(credential))
        .filter(credential_usage::hour.ge(since))
        .select((
            credential_usage::hour,
            credential_usage::event,
            credential_usage::count,
        ))
        .load(conn)
        .await
}

/// A credential's latest refusals, newest first.
pub async fn recent_refusals(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
) -> QueryResult<Vec<StoredRefusal>> {
    credential_refusals::table
        .filter(credential_refusals::credential_id.eq(credential))
        .order((
            credential_refusals::at.desc(),
            credential_refusals::id.desc(),
        ))
        .limit(RECENT_REFUSALS as i64)
        .select((
            credential_refusals::at,
            credential_refusals::reason,
            credential_refusals::ip,
        ))
        .load(conn)
        .await
}

/// Which of `credentials` had a token request refused after `since`.
pub async fn refused_since(
    conn: &mut AsyncPgConnection,
    credentials: &[CredentialId],
    since: DateTime<Utc>,
) -> QueryResult<HashSet<CredentialId>> {
    if credentials.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<CredentialId> = credential_refusals::table
        .filter(credential_refusals::credential_id.eq_any(credentials))
        .filter(credential_refusals::at.gt(since))
        .select(credential_refusals::credential_id)
        .distinct()
        .load(conn)
        .await?;
    Ok(ids.into_iter().collect())
}

/// The latest refusal of each of `credentials` that has one (for the list's "Last refused"
/// and the Failing rule), from the index the table keeps per credential.
pub async fn latest_refusals(
    conn: &mut AsyncPgConnection,
    credentials: &[CredentialId],
) -> QueryResult<HashMap<CredentialId, StoredRefusal>> {
    if credentials.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(CredentialId, DateTime<Utc>, String, Option<String>)> =
        credential_refusals::table
            .filter(credential_refusals::credential_id.eq_any(credentials))
            .distinct_on(credential_refusals::credential_id)
            .order((
                credential_refusals::credential_id,
                credential_refusals::at.desc(),
                credential_refusals::id.desc(),
            ))
            .select((
                credential_refusals::credential_id,
                credential_refusals::at,
                credential_refusals::reason,
                credential_refusals::ip,
            ))
            .load(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, at, reason, ip)| (id, StoredRefusal { at, reason, ip }))
        .collect())
}
