//! The work each instance does at start and then every `JOB_INTERVAL_SECONDS`: queue the
//! expiry reminders that are due (with their `credential.expiring` webhooks), disable what the
//! staleness policies say, queue the `credential.expired` webhooks, send the emails that are
//! due, and delete usage older than `usage::RETENTION_DAYS`. Every step is safe with several instances at once (unique notice
//! keys, row locks, `SKIP LOCKED`), and a failing step does not stop the others.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

use crate::credentials::stale;
use crate::db;
use crate::email::Mailer;
use crate::notices::deliver::{self, Delivered};
use crate::notices::expiry;
use crate::usage;
use crate::webhooks;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Reminder emails queued.
    pub reminders: usize,
    /// Credentials disabled as stale.
    pub disabled: usize,
    /// `credential.expired` webhook deliveries queued.
    pub expired_events: usize,
    pub delivered: Delivered,
    /// Usage rows (hourly counts and refusals) past retention, deleted.
    pub pruned: usize,
    /// Steps that failed (each logged).
    pub failures: usize,
}

impl Report {
    fn failed(&mut self, e: &dyn std::fmt::Display, what: &'static str) {
        self.failures += 1;
        tracing::warn!(error = %e, "{what}");
    }
}

/// One run at `now`; `base` is the console's public address for the emails' links.
pub async fn run_once(
    conn: &mut AsyncPgConnection,
    mailer: Option<&Mailer>,
    base: &str,
    now: DateTime<Utc>,
) -> Report {
    let mut report = Report::default();
    match expiry::enqueue_reminders(conn, now).await {
        Ok(n) => report.reminders = n,
        Err(e) => report.failed(&e, "could not queue the expiry reminders"),
    }
    match stale::disable_stale(conn, now).await {
        Ok(n) => report.disabled = n,
        Err(e) => report.failed(&e, "could not disable the stale credentials"),
    }
    match webhooks::expiry::enqueue_expired(conn, now).await {
        Ok(n) => report.expired_events = n,
        Err(e) => report.failed(&e, "could not queue the credential.expired webhooks"),
    }
    let cutoff = now - Duration::days(usage::RETENTION_DAYS);
    match db::models::usage::prune(conn, cutoff).await {
        Ok(n) => report.pruned = n,
        Err(e) => report.failed(&e, "could not delete old usage"),
    }
    if let Some(mailer) = mailer {
        match deliver::deliver_due(conn, mailer, base, now).await {
            Ok(delivered) => report.delivered = delivered,
            Err(e) => report.failed(&e, "could not deliver the emails that are due"),
        }
    }
    if report != Report::default() {
        tracing::info!(
            reminders = report.reminders,
            disabled = report.disabled,
            expired_events = report.expired_events,
            sent = report.delivered.sent,
            failed = report.delivered.failed,
            abandoned = report.delivered.abandoned,
            pruned = report.pruned,
            "scheduled jobs ran"
        );
    }
    report
}
