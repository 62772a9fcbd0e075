//! Writes what a `UsageCounter` held, inside the flush's transaction: hourly counts, the
//! latest refusals, each secret's uses and last use, each credential's last use and each
//! token's. Client IDs held for refusals seen before a lookup are matched to credentials here.

use std::collections::HashMap;

use chrono::DateTime;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::ids::CredentialId;
use crate::db::models::usage::{self, CountRow, RefusalRow, UseRow};
use crate::usage::counter::{Pending, Subject, UsageCounter};

/// Writes what `counter` counted, in one transaction; on failure it is kept for the next flush.
pub async fn flush(
    counter: &UsageCounter,
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<()> {
    let pending = counter.take_all();
    if pending.is_empty() {
        return Ok(());
    }
    let written = conn
        .transaction(async |conn| write(conn, &pending).await)
        .await;
    if written.is_err() {
        counter.put_back(pending);
    }
    written
}

pub(crate) async fn write(
    conn: &mut AsyncPgConnection,
    pending: &Pending,
) -> diesel::QueryResult<()> {
    let client_ids: Vec<&str> = pending
        .refusals
        .keys()
        .chain(pending.counts.keys().map(|(s, ..)| s))
        .filter_map(|s| match s {
            Subject::ClientId(id) => Some(&**id),
            Subject::Credential(_) => None,
        })
        .collect();
    let known = usage::credentials_by_client_id(conn, &client_ids).await?;
    let resolve = |subject: &Subject| match subject {
        Subject::Credential(id) => Some(*id),
        Subject::ClientId(client_id) => known.get(&**client_id).copied(),
    };

    // One row per key: a client ID that resolves to a counted credential merges into it.
    let mut counts: HashMap<(CredentialId, i64, &'static str), i64> = HashMap::new();
    for ((subject, hour, event), n) in &pending.counts {
        if let Some(id) = resolve(subject) {
            *counts.entry((id, *hour, event.as_str())).or_default() += n;
        }
    }
    let rows: Vec<CountRow> = counts
        .into_iter()
        .filter_map(|((credential_id, hour, event), count)| {
            Some(CountRow {
                credential_id,
                hour: DateTime::from_timestamp(hour.checked_mul(3600)?, 0)?,
                event,
                count,
            })
        })
        .collect();
    usage::add_counts(conn, &rows).await?;

    let mut refusals = Vec::new();
    for (subject, list) in &pending.refusals {
        let Some(credential_id) = resolve(subject) else {
            continue;
        };
        refusals.extend(list.iter().map(|r| RefusalRow {
            credential_id,
            at: r.at,
            reason: r.reason.as_str(),
            ip: r.ip.map(|ip| ip.to_string()),
        }));
    }
    usage::add_refusals(conn, &refusals).await?;

    // Token requests carry their secret's version; bearer uses only touch the credential.
    let uses: Vec<UseRow> = pending
        .secrets
        .iter()
        .map(|((credential_id, version), s)| UseRow {
            credential_id: *credential_id,
            secret_version: Some(*version),
            uses: s.uses,
            at: s.last.at,
            ip: s.last.ip.map(|ip| ip.to_string()),
        })
        .chain(pending.bearer.iter().map(|(credential_id, last)| UseRow {
            credential_id: *credential_id,
            secret_version: None,
            uses: 0,
            at: last.at,
            ip: last.ip.map(|ip| ip.to_string()),
        }))
        .collect();
    usage::record_uses(conn, &uses).await?;
    let tokens: Vec<_> = pending.tokens.iter().map(|(id, at)| (*id, *at)).collect();
    usage::record_token_uses(conn, &tokens).await
}
