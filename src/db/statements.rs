//! Counts the statements each request sends to PostgreSQL: the pool's connections report
//! every statement they start (diesel's instrumentation), and a request that runs inside
//! `counted` adds them to its own count, whichever connection and however many pipelined
//! futures carry them. Background jobs run outside any count. The metrics middleware uses it
//! for `m2m_db_statements_total`, which is how the README's statements-per-request figures
//! are checked.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

tokio::task_local! {
    static REQUEST_STATEMENTS: Arc<AtomicU32>;
}

/// Runs `future` and returns its output with the statements it started.
pub async fn counted<F: Future>(future: F) -> (F::Output, u32) {
    let count = Arc::new(AtomicU32::new(0));
    let output = REQUEST_STATEMENTS.scope(count.clone(), future).await;
    (output, count.load(Ordering::Relaxed))
}

/// The statement count of the request a task serves, to charge to it a statement that
/// another task sends on its behalf (`charged_to`).
#[derive(Clone)]
pub struct RequestCount(Arc<AtomicU32>);

/// The count of the request this task serves, if it runs inside `counted`.
pub fn current() -> Option<RequestCount> {
    REQUEST_STATEMENTS
        .try_with(|count| RequestCount(count.clone()))
        .ok()
}

/// Runs `future` with the statements it starts charged to `count` (none when `None`).
pub async fn charged_to<F: Future>(count: Option<RequestCount>, future: F) -> F::Output {
    match count {
        Some(RequestCount(count)) => REQUEST_STATEMENTS.scope(count, future).await,
        None => future.await,
    }
}

/// The instrumentation every pooled connection carries.
#[derive(Debug, Default)]
pub struct CountStatements;

impl Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            let _ = REQUEST_STATEMENTS.try_with(|count| count.fetch_add(1, Ordering::Relaxed));
        }
    }
}
