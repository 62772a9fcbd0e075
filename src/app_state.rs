//! What every handler shares: the pool, the clock, the settings and per-instance state. Its
//! own module, so that handlers can name it without importing the server that routes to them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::cookie::Key;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::DbPool;
use crate::email::Mailer;
use crate::oauth::state::OAuthState;
use crate::rate_limit::WindowLimiter;
use crate::sealed::Sealer;
use crate::staff::password;

/// Shared by every handler.
pub struct AppState {
    pub pool: DbPool,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    pub oauth: OAuthState,
    pub argon2: password::Argon2Pool,
    /// Signs the session cookie and the sign-in form's CSRF cookie.
    pub cookie_key: Key,
    /// Sends the reminders and alerts; `None` when email is off.
    pub mailer: Option<Arc<Mailer>>,
    /// Leak reports allowed per address and minute (`api::leaks`).
    pub leak_reports: WindowLimiter,
    /// Management API requests allowed per calling credential and minute (`api::v1`).
    pub api_calls: WindowLimiter,
    /// Seals and opens secrets kept at rest (webhook signing secrets).
    pub sealer: Sealer,
    /// Whether this instance is stopping (`/readyz` answers 503 meanwhile; see `shutdown`).
    pub readiness: Readiness,
}

/// The machine side's connections of one worker thread (see `startup`): created on that
/// thread, so their drivers run on it and a request and its database I/O share one event
/// loop, with no wake-up of another thread per statement.
#[derive(Clone)]
pub struct WorkerPool(pub DbPool);

impl AppState {
    /// The pool of the worker thread serving `req`, or the instance's pool outside a worker.
    pub fn machine_pool<'a>(&'a self, req: &'a actix_web::HttpRequest) -> &'a DbPool {
        req.app_data::<WorkerPool>().map_or(&self.pool, |w| &w.0)
    }

    /// The caller's address: the peer, or what a trusted proxy reports (see `client_ip`).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        crate::client_ip::resolve(
            req.peer_addr().map(|a| a.ip()),
            req.headers(),
            &self.settings.trusted_proxies,
        )
    }
}

/// Whether this instance is on its way out. Shared by the probe, the middleware and the
/// shutdown sequence.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}
