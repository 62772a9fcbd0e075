//! Rolling restarts: what an instance does between SIGTERM (or SIGINT) and its exit.
//!
//! 1. `/readyz` answers 503 for `DRAIN_SECONDS` while every other request is still served,
//!    each answer with `Connection: close`, so the load balancer's health check takes the
//!    instance out of rotation and its kept-alive connections move to the other instances.
//! 2. The listener stops accepting; requests in flight finish (`startup`'s shutdown timeout).
//! 3. The background jobs stop at their next wait: a job in the middle of a batch finishes it.
//! 4. The usage counted in memory is written, then the process exits.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;
use tokio::sync::Notify;

use crate::app_state::AppState;

/// Starts the shutdown sequence from outside: the OS signal in production, the test itself in
/// tests. A `stop` before anyone waits is kept, never lost.
#[derive(Debug, Clone, Default)]
pub struct Stopper(Arc<Notify>);

impl Stopper {
    pub fn stop(&self) {
        self.0.notify_one();
    }

    pub async fn stopped(&self) {
        self.0.notified().await;
    }
}

/// Resolves at the first SIGTERM or SIGINT; never when the handlers cannot be installed (the
/// process then dies of the signal as it would without us).
pub async fn os_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for SIGTERM/SIGINT; stopping will not drain");
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "stopping");
}

/// While draining, every answer closes its connection: a client or load balancer holding a
/// kept-alive connection opens its next one elsewhere instead of finding this one gone.
pub async fn close_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.readiness.is_draining());
    let mut res = next.call(req).await?;
    if draining {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}
