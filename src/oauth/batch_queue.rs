//! Lookups that arrive together on one worker thread share one statement, the way PostgreSQL
//! groups commits: a request that finds no statement of its kind running starts one at once
//! with itself (an idle server adds no wait); the requests that arrive while it runs go
//! together in the next. Nothing is cached or shared between requests but the round trip:
//! every request's lookup is its own row of a statement that starts after the request
//! arrived, so a revocation committed before that is always seen.
//!
//! The statement is charged to the first request it carries, so
//! `m2m_db_statements_total{route=…}` counts statements sent, and over the route's requests
//! it says how many a statement carried (`tests/bench/run.sh` prints it for introspection).
//!
//! One queue per worker thread and kind of lookup (it lives in the worker's `App`, with the
//! worker's pool): no lock, no wake-up of another thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use tokio::sync::oneshot;

use crate::db::DbPool;
use crate::db::statements::{self, RequestCount};

/// Statements in flight per worker and kind: one, so that the requests that arrive while it
/// runs form the next batch (every worker has its own, so the database still gets one per
/// core). With two, the benchmark measured introspection at 96 % of its floor; with one, at
/// 176 %, 7.7 requests per statement (tests/bench/RESULTS.md).
const IN_FLIGHT: usize = 1;
/// Requests per statement at most (each is one more element of each array; the bound keeps
/// one statement's wait short).
const MAX_BATCH: usize = 32;

/// A kind of lookup that many requests can share a statement for.
pub trait Batched: 'static {
    /// What one request asks.
    type Ask;
    type Answer;
    type Error: Clone;

    /// The answer of a request whose batch was lost (its task panicked, or the worker stops).
    fn lost() -> Self::Error;

    /// One statement for every ask: one answer each, in order.
    fn look_up(
        pool: &DbPool,
        asks: Vec<Self::Ask>,
    ) -> impl Future<Output = Result<Vec<Self::Answer>, Self::Error>>;
}

struct Waiting<B: Batched> {
    ask: B::Ask,
    /// The request's statement count: the first request of a batch is charged its statement.
    statements: Option<RequestCount>,
    reply: oneshot::Sender<Result<B::Answer, B::Error>>,
}

/// A worker's queue of one kind of lookup.
pub struct Batches<B: Batched>(Rc<Queue<B>>);

impl<B: Batched> Clone for Batches<B> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Queue<B: Batched> {
    pool: DbPool,
    waiting: RefCell<VecDeque<Waiting<B>>>,
    running: Cell<usize>,
}

impl<B: Batched> Batches<B> {
    /// A queue for the worker thread that owns `pool`; built in that thread.
    pub fn new(pool: DbPool) -> Self {
        Self(Rc::new(Queue {
            pool,
            waiting: RefCell::new(VecDeque::new()),
            running: Cell::new(0),
        }))
    }

    /// The answer to `ask`, from the next statement this worker sends.
    pub async fn ask(&self, ask: B::Ask) -> Result<B::Answer, B::Error> {
        let (reply, answer) = oneshot::channel();
        self.0.waiting.borrow_mut().push_back(Waiting {
            ask,
            statements: statements::current(),
            reply,
        });
        if self.0.running.get() < IN_FLIGHT {
            self.0.running.set(self.0.running.get() + 1);
            actix_web::rt::spawn(send_batches(Running(self.0.clone())));
        }
        // The sender goes only with its task (a panic, or the worker stopping).
        answer.await.unwrap_or_else(|_| Err(B::lost()))
    }
}

/// A running sender of batches; counted out when it ends, however it ends.
struct Running<B: Batched>(Rc<Queue<B>>);

impl<B: Batched> Drop for Running<B> {
    fn drop(&mut self) {
        self.0.running.set(self.0.running.get().saturating_sub(1));
    }
}

/// Sends what is waiting, a batch at a time, until nothing is.
async fn send_batches<B: Batched>(running: Running<B>) {
    let queue = &running.0;
    loop {
        let batch: Vec<Waiting<B>> = {
            let mut waiting = queue.waiting.borrow_mut();
            let size = waiting.len().min(MAX_BATCH);
            waiting.drain(..size).collect()
        };
        let Some(charged) = batch.first().map(|w| w.statements.clone()) else {
            return;
        };
        let (asks, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|w| (w.ask, w.reply)).unzip();
        match statements::charged_to(charged, B::look_up(&queue.pool, asks)).await {
            // A reply without an answer (there is none) would get `lost` when dropped.
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
