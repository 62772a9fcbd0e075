//! Introspections that arrive together on one worker thread share one statement
//! (`client_lookup::find_clients_and_tokens`), the way PostgreSQL groups commits: a request
//! that finds fewer than `IN_FLIGHT` statements running starts one at once with itself (an
//! idle server adds no wait); the requests that arrive while those run go together in the
//! next. Nothing is cached or shared between requests but the round trip: every request's
//! lookup is its own row of a statement that starts after the request arrived, so a
//! revocation committed before that is always seen.
//!
//! `m2m_db_statements_total{route="/oauth/introspect"}` counts the statements sent, so over
//! `m2m_introspections_total` it says how many introspections a statement carried.
//!
//! One queue per worker thread (it lives in the worker's `App`, with the worker's pool): no
//! lock, no wake-up of another thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use tokio::sync::oneshot;

use crate::db::DbPool;
use crate::db::models::access_token::ActiveToken;
use crate::db::models::client_lookup;
use crate::db::models::issuance::Lookup;
use crate::db::statements::{self, RequestCount};
use crate::oauth::client_auth::Attempt;
use crate::oauth::error::OAuthError;

/// Statements in flight per worker: one, so that the requests that arrive while it runs form
/// the next batch (every worker has its own, so the database still gets one per core). With
/// two, the benchmark measured 96 % of its floor; with one, 176 % at 7.7 introspections per
/// statement (tests/bench/RESULTS.md).
const IN_FLIGHT: usize = 1;
/// Introspections per statement at most (each is one more element of each array; the bound
/// keeps one statement's wait short).
const MAX_BATCH: usize = 32;

/// What a lookup gives back: the attempt (to finish it), the caller's lookup and the token.
pub type Looked = (Attempt, Option<Lookup>, Option<ActiveToken>);

struct Ask {
    attempt: Attempt,
    /// The request's statement count: the first request of a batch is charged its statement,
    /// so the route's statement total counts statements sent, however many requests shared
    /// each.
    statements: Option<RequestCount>,
    token_hash: Vec<u8>,
    reply: oneshot::Sender<Result<Looked, OAuthError>>,
}

/// A worker's queue of introspections waiting for a statement.
#[derive(Clone)]
pub struct IntrospectionBatches(Rc<Queue>);

struct Queue {
    pool: DbPool,
    waiting: RefCell<VecDeque<Ask>>,
    running: Cell<usize>,
}

impl IntrospectionBatches {
    /// A queue for the worker thread that owns `pool`; built in that thread.
    pub fn new(pool: DbPool) -> Self {
        Self(Rc::new(Queue {
            pool,
            waiting: RefCell::new(VecDeque::new()),
            running: Cell::new(0),
        }))
    }

    /// The caller's lookup and the live token with this digest, in the next statement this
    /// worker sends. A caller that is already a "no" (`Attempt::lookup_with_token`) waits for
    /// nothing.
    pub async fn lookup(&self, attempt: Attempt, token_hash: &[u8]) -> Result<Looked, OAuthError> {
        if attempt.checkable().is_none() {
            return Ok((attempt, None, None));
        }
        let (reply, answer) = oneshot::channel();
        self.0.waiting.borrow_mut().push_back(Ask {
            attempt,
            statements: statements::current(),
            token_hash: token_hash.to_vec(),
            reply,
        });
        if self.0.running.get() < IN_FLIGHT {
            self.0.running.set(self.0.running.get() + 1);
            actix_web::rt::spawn(send_batches(Running(self.0.clone())));
        }
        // The sender goes only with its task (a panic, or the worker stopping).
        answer
            .await
            .unwrap_or_else(|_| Err(OAuthError::unavailable()))
    }
}

/// A running sender of batches; counted out when it ends, however it ends.
struct Running(Rc<Queue>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.set(self.0.running.get().saturating_sub(1));
    }
}

/// Sends what is waiting, a batch at a time, until nothing is.
async fn send_batches(running: Running) {
    let queue = &running.0;
    loop {
        let batch: Vec<Ask> = {
            let mut waiting = queue.waiting.borrow_mut();
            let size = waiting.len().min(MAX_BATCH);
            waiting.drain(..size).collect()
        };
        if batch.is_empty() {
            return;
        }
        let charged = batch.first().and_then(|ask| ask.statements.clone());
        match statements::charged_to(charged, look_up(&queue.pool, &batch)).await {
            Ok(found) => {
                for (ask, (lookup, token)) in batch.into_iter().zip(found) {
                    let _ = ask.reply.send(Ok((ask.attempt, Some(lookup), token)));
                }
            }
            Err(error) => {
                for ask in batch {
                    let _ = ask.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

async fn look_up(
    pool: &DbPool,
    batch: &[Ask],
) -> Result<Vec<(Lookup, Option<ActiveToken>)>, OAuthError> {
    let asked = batch
        .iter()
        .map(|ask| Some((ask.attempt.checkable()?, ask.token_hash.as_slice())))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            // `lookup` queues only attempts that are checkable.
            tracing::error!("an introspection was queued that cannot be looked up");
            OAuthError::unavailable()
        })?;
    let conn = pool.get().await?;
    Ok(client_lookup::find_clients_and_tokens(&conn, &asked).await?)
}
