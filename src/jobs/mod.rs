//! Background work every instance runs: housekeeping once a minute, adding the secrets' use
//! counts every few seconds, and the scheduled jobs (reminders, stale credentials, email)
//! every `JOB_INTERVAL_SECONDS`. Each task takes a pooled connection only while it works.

pub mod scheduled;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use crate::app_state::AppState;
use crate::auth::throttle;
use crate::db;

const SWEEP_EVERY: StdDuration = StdDuration::from_secs(60);
const FLUSH_USES_EVERY: StdDuration = StdDuration::from_secs(5);

/// Starts every background task of this instance.
pub fn spawn(state: Arc<AppState>) {
    tokio::spawn(sweep(state.clone()));
    tokio::spawn(flush_secret_uses(state.clone()));
    tokio::spawn(run_scheduled(state));
}

/// The scheduled jobs: at start, then every `JOB_INTERVAL_SECONDS`.
async fn run_scheduled(state: Arc<AppState>) {
    let mut every = tokio::time::interval(state.settings.job_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let base = state.settings.issuer();
    loop {
        every.tick().await;
        let Ok(mut conn) = state.pool.get().await else {
            continue;
        };
        scheduled::run_once(&mut conn, state.mailer.as_deref(), &base, state.clock.now()).await;
    }
}

/// Adds the token requests counted in memory to each secret's count (see `oauth::usage`).
async fn flush_secret_uses(state: Arc<AppState>) {
    let mut every = tokio::time::interval(FLUSH_USES_EVERY);
    loop {
        every.tick().await;
        let Ok(mut conn) = state.pool.get().await else {
            continue;
        };
        if let Err(e) = state.oauth.secret_uses.flush(&mut conn).await {
            tracing::warn!(error = %e, "could not add the secrets' use counts; kept for next time");
        }
    }
}

/// Housekeeping once a minute: deletes idle and over-age session rows (already refused on
/// load) and tidies the access tokens (see `access_token::sweep`).
async fn sweep(state: Arc<AppState>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        let Ok(mut conn) = state.pool.get().await else {
            continue;
        };
        let now = state.clock.now();
        match db::models::session::delete_expired(&mut conn, now).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept expired sessions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep expired sessions"),
        }
        match db::models::login_attempt::sweep(&mut conn, now, throttle::WINDOW).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept sign-in counters"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep sign-in counters"),
        }
        match db::models::access_token::sweep(&mut conn, now).await {
            Ok(deleted) if deleted > 0 => tracing::debug!(deleted, "swept access tokens"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep access tokens"),
        }
    }
}
