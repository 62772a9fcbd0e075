//! The work each instance does at start and then every `JOB_INTERVAL_SECONDS`: queue the
//! expiry reminders that are due, disable what the staleness policies say, and send the
//! emails that are due. Every step is safe with several instances at once (unique notice
//! keys, row locks, `SKIP LOCKED`), and a failing step does not stop the others.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::credentials::stale;
use crate::email::Mailer;
use crate::notices::deliver::{self, Delivered};
use crate::notices::expiry;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Reminder emails queued.
    pub reminders: usize,
    /// Credentials disabled as stale.
    pub disabled: usize,
    pub delivered: Delivered,
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
        Err(e) => tracing::warn!(error = %e, "could not queue the expiry reminders"),
    }
    match stale::disable_stale(conn, now).await {
        Ok(n) => report.disabled = n,
        Err(e) => tracing::warn!(error = %e, "could not disable the stale credentials"),
    }
    if let Some(mailer) = mailer {
        match deliver::deliver_due(conn, mailer, base, now).await {
            Ok(delivered) => report.delivered = delivered,
            Err(e) => tracing::warn!(error = %e, "could not deliver the emails that are due"),
        }
    }
    if report != Report::default() {
        tracing::info!(
            reminders = report.reminders,
            disabled = report.disabled,
            sent = report.delivered.sent,
            failed = report.delivered.failed,
            abandoned = report.delivered.abandoned,
            "scheduled jobs ran"
        );
    }
    report
}
