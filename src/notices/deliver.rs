//! Sends the notices that are due, one transaction each: the row is claimed with
//! `FOR UPDATE SKIP LOCKED`, so with several instances each email goes out once. A failure
//! the server calls permanent, or one that lasts past `GIVE_UP_AFTER`, is given up; any
//! other is retried with a growing delay. A delivery holds its row, never anything a request
//! needs.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::models::notice::Notice;
use crate::email::{Mailer, SendError};

/// Not sent within this long after it was queued: dropped rather than sent late.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);
/// At most this many emails per run, so one run cannot go on for ever.
const BATCH: usize = 200;

/// The wait before attempt `attempts + 1`: 1, 2, 4, … minutes, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 6) as u32;
    Duration::minutes(2_i64.pow(exponent)).min(Duration::hours(1))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    pub abandoned: usize,
}

enum Outcome {
    Sent,
    Failed,
    Abandoned,
}

/// Sends what is due at `now`, the body followed by a link to `base` + the notice's page.
pub async fn deliver_due(
    conn: &mut AsyncPgConnection,
    mailer: &Mailer,
    base: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Delivered> {
    let mut delivered = Delivered::default();
    for _ in 0..BATCH {
        let outcome = conn
            .transaction(async |conn| {
                let Some(notice) = Notice::claim_due(conn, now).await? else {
                    return Ok::<_, diesel::result::Error>(None);
                };
                Ok(Some(deliver_one(conn, mailer, base, &notice, now).await?))
            })
            .await?;
        match outcome {
            None => break,
            Some(Outcome::Sent) => delivered.sent += 1,
            Some(Outcome::Failed) => delivered.failed += 1,
            Some(Outcome::Abandoned) => delivered.abandoned += 1,
        }
    }
    Ok(delivered)
}

async fn deliver_one(
    conn: &mut AsyncPgConnection,
    mailer: &Mailer,
    base: &str,
    notice: &Notice,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Outcome> {
    if now - notice.created_at > GIVE_UP_AFTER {
        tracing::warn!(notice = %notice.id, "gave up an email not sent within 3 days");
        Notice::abandon(conn, notice.id, "not sent within 3 days", now).await?;
        return Ok(Outcome::Abandoned);
    }
    let body = with_footer(notice, base);
    match mailer.send(&notice.recipient, &notice.subject, &body).await {
        Ok(()) => {
            Notice::mark_sent(conn, notice.id, now).await?;
            Ok(Outcome::Sent)
        }
        Err(SendError::Permanent(error)) => {
            tracing::warn!(notice = %notice.id, server = mailer.server(), %error, "the SMTP server refused an email for good");
            Notice::abandon(conn, notice.id, &error, now).await?;
            Ok(Outcome::Abandoned)
        }
        Err(SendError::Transient(error)) => {
            let retry_at = now + backoff(notice.attempts + 1);
            tracing::warn!(notice = %notice.id, server = mailer.server(), %error, retry_at = %retry_at, "could not send an email; will retry");
            Notice::mark_failed(conn, notice.id, &error, retry_at).await?;
            Ok(Outcome::Failed)
        }
    }
}

fn with_footer(notice: &Notice, base: &str) -> String {
    let link = notice
        .link_path
        .as_deref()
        .map(|path| {
            format!(
                "\n\nOpen it in the console: {}{path}",
                base.trim_end_matches('/')
            )
        })
        .unwrap_or_default();
    let why = if notice.kind.is_about_own_account() {
        "You receive this email because it is about your own staff account."
    } else {
        "You receive this email as the credential's owner or as an Admin of its organisation."
    };
    format!("{}{link}\n\n-- \n{why}\n", notice.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(0).num_minutes(), 1);
        assert_eq!(backoff(i32::MAX).num_minutes(), 60);
    }
}
