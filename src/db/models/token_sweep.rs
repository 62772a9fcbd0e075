//! Prompt deletion of pushed-out tokens. A token pushed out of its credential's
//! `MAX_LIVE_TOKENS` newest can never be live again (see `access_token::find_active`), so it
//! is deleted within seconds instead of lingering until its expiry: the table then holds about
//! ten tokens per credential plus a few seconds of churn, however often clients ask.
//!
//! Only credentials that got a token since the last run are looked at (tokens above the mark
//! in `token_sweep_progress`), and only tokens older than a credential's tenth newest go:
//! every token that stays is newer than every token deleted, so no remaining token's count of
//! newer tokens changes. Instances take turns through an advisory lock.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::models::access_token::MAX_LIVE_TOKENS;
use crate::db::schema::{access_tokens, token_sweep_progress};

/// The advisory lock key of the sweep's turn ("m2m tokn").
pub const TURN: i64 = 0x6d32_6d20_746f_6b6e;

/// What one run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepRun {
    /// Pushed-out tokens deleted.
    pub deleted: usize,
    /// Whether tokens newer than this run's batch are waiting (run again at once).
    pub more: bool,
}

#[derive(QueryableByName)]
struct Turn {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// Deletes the pushed-out tokens of the credentials that got one of the next `batch` token
/// ids (at most `batch` of them), and moves the mark past those ids once none is left. `None`
/// when another instance holds the turn.
///
/// A token still being issued when the mark moves past its id is not looked at for its own
/// credential this time; the credential's next token brings it back into a run, and the
/// expiry sweep removes what remains a day after it expired.
pub async fn sweep_pushed_out(
    conn: &mut AsyncPgConnection,
    batch: i64,
) -> QueryResult<Option<SweepRun>> {
    conn.transaction(async |conn| {
        let turn: Turn = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS taken")
            .bind::<BigInt, _>(TURN)
            .get_result(conn)
            .await?;
        if !turn.taken {
            return Ok(None);
        }
        let from: i64 = token_sweep_progress::table
            .select(token_sweep_progress::swept_up_to)
            .get_result(conn)
            .await?;
        let newest: Option<i64> = access_tokens::table
            .select(diesel::dsl::max(access_tokens::id))
            .get_result(conn)
            .await?;
        let newest = newest.unwrap_or(from);
        if newest <= from {
            return Ok(Some(SweepRun {
                deleted: 0,
                more: false,
            }));
        }
        let to = newest.min(from.saturating_add(batch));
        // Each fresh credential's pushed-out tokens, read from its index (newest first, past
        // its ten newest), then deleted by primary key: the cost follows what is deleted, not
        // the table's size (a join on the credential made PostgreSQL hash the whole table
        // once many credentials were fresh). At most `batch` a run: a credential with more
        // keeps the mark where it is, and the next run goes on with it.
        let deleted = diesel::sql_query(
            "WITH fresh AS (SELECT DISTINCT credential_id FROM access_tokens \
                            WHERE id > $1 AND id <= $2) \
             DELETE FROM access_tokens WHERE id = ANY (ARRAY( \
                 SELECT gone.id FROM fresh f CROSS JOIN LATERAL ( \
                     SELECT n.id FROM access_tokens n WHERE n.credential_id = f.credential_id \
                     ORDER BY n.id DESC OFFSET $3) gone \
                 LIMIT $4))",
        )
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(to)
        .bind::<BigInt, _>(i64::from(MAX_LIVE_TOKENS))
        .bind::<BigInt, _>(batch)
        .execute(conn)
        .await?;
        if i64::try_from(deleted).unwrap_or(i64::MAX) >= batch {
            return Ok(Some(SweepRun {
                deleted,
                more: true,
            }));
        }
        diesel::update(token_sweep_progress::table)
            .set(token_sweep_progress::swept_up_to.eq(to))
            .execute(conn)
            .await?;
        Ok(Some(SweepRun {
            deleted,
            more: to < newest,
        }))
    })
    .await
}
