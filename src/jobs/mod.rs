//! Background work every instance runs: housekeeping once a minute, adding the secrets' use
//! counts every few seconds, the scheduled jobs (reminders, stale credentials, email) every
//! `JOB_INTERVAL_SECONDS`, and webhook delivery every `WEBHOOK_POLL_MILLISECONDS`. Each task
//! takes a pooled connection only while it works. When the instance stops (`shutdown`), each
//! task ends at its next wait: a batch under way is finished, never cut in the middle, and
//! work not yet claimed stays for the other instances.

pub mod scheduled;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Interval;

use crate::app_state::AppState;
use crate::db;
use crate::staff::throttle;
use crate::webhooks;

const SWEEP_EVERY: StdDuration = StdDuration::from_secs(60);
/// How often pushed-out tokens are deleted (`token_sweep`).
const TOKEN_SWEEP_EVERY: StdDuration = StdDuration::from_secs(2);
/// Token ids looked at, and tokens deleted at most, per run of the token sweep: bounds one
/// transaction's work.
const TOKEN_SWEEP_BATCH: i64 = 50_000;

/// The running background tasks of this instance.
pub struct Jobs {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Asks every task to end at its next wait and waits for them, at most `within`; a task
    /// still busy then (a webhook endpoint that does not answer) is abandoned, and its claimed
    /// work goes to another instance when its claim expires.
    pub async fn stop(self, within: StdDuration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!(
                seconds = within.as_secs(),
                "background jobs still busy at shutdown; abandoned"
            );
        }
    }
}

/// Starts every background task of this instance.
pub fn spawn(state: Arc<AppState>) -> Jobs {
    let (stop, stopping) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(sweep(state.clone(), stopping.clone())),
        tokio::spawn(sweep_pushed_out_tokens(state.clone(), stopping.clone())),
        tokio::spawn(flush_counts(state.clone(), stopping.clone())),
        tokio::spawn(deliver_webhooks(state.clone(), stopping.clone())),
        tokio::spawn(run_scheduled(state, stopping)),
    ];
    Jobs { stop, tasks }
}

/// Waits for the next tick: `false` once the instance is stopping. Checked only here, between
/// runs, so a run under way always finishes.
async fn next_tick(every: &mut Interval, stopping: &mut watch::Receiver<bool>) -> bool {
    if *stopping.borrow() {
        return false;
    }
    tokio::select! {
        _ = every.tick() => !*stopping.borrow(),
        _ = stopping.changed() => false,
    }
}

/// Sends the webhook deliveries that are due, batch after batch while batches come full.
async fn deliver_webhooks(state: Arc<AppState>, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(state.settings.webhooks.poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while next_tick(&mut every, &mut stopping).await {
        loop {
            let run = webhooks::deliver::deliver_due(
                &state.pool,
                &state.sealer,
                &state.settings.webhooks,
                state.clock.now(),
            )
            .await;
            match run {
                Ok(report) if report.claimed == 0 => break,
                Ok(report) => {
                    state.oauth.metrics.job_ran("webhooks", true);
                    let full = usize::try_from(webhooks::deliver::BATCH).unwrap_or(0);
                    if report.claimed < full || *stopping.borrow() {
                        break;
                    }
                }
                Err(e) => {
                    state.oauth.metrics.job_ran("webhooks", false);
                    tracing::warn!(error = %e, "could not deliver the webhooks that are due");
                    break;
                }
            }
        }
    }
}

/// The scheduled jobs: at start, then every `JOB_INTERVAL_SECONDS`.
async fn run_scheduled(state: Arc<AppState>, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(state.settings.job_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let base = state.settings.issuer();
    while next_tick(&mut every, &mut stopping).await {
        let Ok(mut conn) = state.pool.get().await else {
            state.oauth.metrics.job_ran("scheduled", false);
            continue;
        };
        let report =
            scheduled::run_once(&mut conn, state.mailer.as_deref(), &base, state.clock.now()).await;
        state
            .oauth
            .metrics
            .job_ran("scheduled", report.failures == 0);
    }
}

/// Writes what was counted in memory (`usage`): usage, refusals and last uses.
async fn flush_counts(state: Arc<AppState>, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(state.settings.usage_flush);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while next_tick(&mut every, &mut stopping).await {
        let Ok(mut conn) = state.pool.get().await else {
            state.oauth.metrics.job_ran("flush_counts", false);
            continue;
        };
        let mut ok = true;
        if let Err(e) = crate::usage::flush::flush(&state.oauth.usage, &mut conn).await {
            ok = false;
            tracing::warn!(error = %e, "could not write the usage counts; kept for next time");
        }
        let now = state.clock.now();
        if let Err(e) = state.oauth.introspections.flush(&mut conn, now).await {
            ok = false;
            tracing::warn!(error = %e, "could not add the introspection counts; kept for next time");
        }
        state.oauth.metrics.job_ran("flush_counts", ok);
    }
}

/// Deletes pushed-out tokens every few seconds, batch after batch while batches come full
/// (see `token_sweep`).
async fn sweep_pushed_out_tokens(state: Arc<AppState>, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(TOKEN_SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while next_tick(&mut every, &mut stopping).await {
        let Ok(mut conn) = state.pool.get().await else {
            state.oauth.metrics.job_ran("token_sweep", false);
            continue;
        };
        loop {
            match db::models::token_sweep::sweep_pushed_out(&mut conn, TOKEN_SWEEP_BATCH).await {
                Ok(Some(run)) => {
                    state.oauth.metrics.job_ran("token_sweep", true);
                    if run.deleted > 0 {
                        tracing::debug!(deleted = run.deleted, "swept pushed-out tokens");
                    }
                    if !run.more || *stopping.borrow() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    state.oauth.metrics.job_ran("token_sweep", false);
                    tracing::warn!(error = %e, "could not sweep pushed-out tokens");
                    break;
                }
            }
        }
    }
}

/// Housekeeping once a minute: deletes idle and over-age session rows (already refused on
/// load) and tidies the access tokens (see `access_token::sweep`).
async fn sweep(state: Arc<AppState>, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    while next_tick(&mut every, &mut stopping).await {
        let Ok(mut conn) = state.pool.get().await else {
            state.oauth.metrics.job_ran("sweep", false);
            continue;
        };
        let now = state.clock.now();
        let mut ok = true;
        match db::models::session::delete_expired(&mut conn, now).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept expired sessions"),
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(error = %e, "could not sweep expired sessions");
            }
        }
        match db::models::login_attempt::sweep(&mut conn, now, throttle::WINDOW).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept sign-in counters"),
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(error = %e, "could not sweep sign-in counters");
            }
        }
        let kept_since = now - crate::api::v1::idempotency::KEPT_FOR;
        match db::models::idempotency_key::sweep(&mut conn, kept_since).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept idempotency keys"),
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(error = %e, "could not sweep idempotency keys");
            }
        }
        let longest_window = chrono::Duration::hours(1);
        match db::models::limit_window::sweep(&mut conn, now, longest_window).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept limit windows"),
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(error = %e, "could not sweep limit windows");
            }
        }
        match db::models::access_token::sweep(&mut conn, now).await {
            Ok(deleted) if deleted > 0 => tracing::debug!(deleted, "swept access tokens"),
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(error = %e, "could not sweep access tokens");
            }
        }
        match db::models::credential_key::sweep_jtis(&mut conn, now).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept assertion ids"),
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(error = %e, "could not sweep assertion ids");
            }
        }
        state.oauth.metrics.job_ran("sweep", ok);
    }
}
