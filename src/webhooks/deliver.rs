//! Sends the webhook deliveries that are due. A run claims a batch (`FOR UPDATE SKIP LOCKED`,
//! then a short lease, so no other instance takes them and no connection is held while
//! sending), POSTs each signed payload with a 10-second timeout and no redirects followed,
//! and records every attempt. A 2xx is delivered; anything else (a 3xx included) is retried
//! with exponential backoff and jitter until 24 hours after the first attempt, then failed.
//! The destination is checked again before each attempt and the connection pinned to the
//! address checked (`destination`).

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use url::Url;

use crate::config::WebhookSettings;
use crate::db::DbPool;
use crate::db::models::webhook_attempt::{self, Attempt, Claimed};
use crate::db::models::webhook_delivery::DeliveryStatus;
use crate::db::models::webhook_endpoint::WebhookEndpoint;
use crate::domain_error::DomainError;
use crate::random;
use crate::sealed::Sealer;
use crate::webhooks::destination;
use crate::webhooks::signature::SigningSecret;

/// How long one attempt may take.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// Retries stop this long after the first attempt.
pub const RETRY_FOR: Duration = Duration::hours(24);
/// Deliveries one run claims (and sends at once).
pub const BATCH: i64 = 10;
/// How long a claim keeps other instances away: past the timeout, with room to record.
const LEASE: Duration = Duration::seconds(60);

/// The wait after `failures` failed attempts: 5 s, 10 s, 20 s, … doubling up to 2 hours,
/// shortened by `jitter` (0 to 1) by up to half, so retries of many deliveries spread out.
pub fn backoff(failures: i32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).clamp(0, 20) as u32;
    let full = Duration::seconds(5_i64.saturating_mul(2_i64.pow(exponent))).min(Duration::hours(2));
    let jitter = jitter.clamp(0.0, 1.0);
    let millis = full.num_milliseconds() as f64 * (1.0 - jitter / 2.0);
    Duration::milliseconds(millis as i64)
}

/// A number from 0 to 1 from the OS generator (0 if it fails: no jitter then).
fn jitter() -> f64 {
    random::os_random::<2>().map_or(0.0, |b| {
        f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
    })
}

/// What happens after a failed attempt at `at` of a delivery first tried at `first`:
/// another at a time, or given up once 24 hours have gone by.
pub fn after_failure(
    first: DateTime<Utc>,
    failures: i32,
    at: DateTime<Utc>,
    jitter: f64,
) -> (DeliveryStatus, Option<DateTime<Utc>>) {
    let deadline = first + RETRY_FOR;
    if at >= deadline {
        return (DeliveryStatus::Failed, None);
    }
    // The last retry happens at the deadline itself.
    let next = (at + backoff(failures, jitter)).min(deadline);
    (DeliveryStatus::Retrying, Some(next))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub claimed: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// How one attempt went, before it is recorded.
struct Outcome {
    status_code: Option<i32>,
    error: Option<String>,
    /// The start of what the endpoint answered (`RESPONSE_KEPT` bytes at most).
    response_body: Option<String>,
    delivered: bool,
    /// Not worth retrying: the endpoint was switched off.
    give_up: bool,
}

impl Outcome {
    fn error(message: impl Into<String>) -> Self {
        Self {
            status_code: None,
            error: Some(message.into()),
            response_body: None,
            delivered: false,
            give_up: false,
        }
    }
}

/// How much of a response body is kept for the endpoint's page (the column's CHECK).
const RESPONSE_KEPT: usize = 4096;

/// The start of `response`'s body as text: at most `RESPONSE_KEPT` bytes read (a huge or
/// endless body is never read to its end), cut on a character boundary, without NULs and
/// other control characters (PostgreSQL text refuses NUL); `None` when empty.
async fn body_start(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    Some(kept_text(&bytes)).filter(|text| !text.is_empty())
}

fn kept_text(bytes: &[u8]) -> String {
    let mut text = String::new();
    for c in String::from_utf8_lossy(bytes).chars() {
        let c = if c.is_control() && c != '\n' && c != '\t' {
            '\u{FFFD}'
        } else {
            c
        };
        if text.len() + c.len_utf8() > RESPONSE_KEPT {
            break;
        }
        text.push(c);
    }
    text
}

/// One run at `now`: claims up to `BATCH` due deliveries, sends them concurrently and
/// records each outcome.
pub async fn deliver_due(
    pool: &DbPool,
    sealer: &Sealer,
    rules: &WebhookSettings,
    now: DateTime<Utc>,
) -> Result<Report, DomainError> {
    let claim = uuid::Uuid::new_v4();
    let claimed = {
        let mut conn = pool.get().await?;
        webhook_attempt::claim_due(&mut conn, claim, now, now + LEASE, BATCH).await?
    };
    let mut report = Report {
        claimed: claimed.len(),
        ..Report::default()
    };
    if claimed.is_empty() {
        return Ok(report);
    }
    let sends = claimed.iter().map(|delivery| async move {
        let started = Instant::now();
        let outcome = send(delivery, sealer, rules, now).await;
        (delivery, outcome, started.elapsed())
    });
    let outcomes = futures_util::future::join_all(sends).await;
    let mut conn = pool.get().await?;
    for (delivery, outcome, took) in outcomes {
        let (next, retry_at) = if outcome.delivered {
            (DeliveryStatus::Delivered, None)
        } else if outcome.give_up {
            (DeliveryStatus::Failed, None)
        } else {
            let first = delivery.first_attempt_at.unwrap_or(now);
            after_failure(first, delivery.attempts.saturating_add(1), now, jitter())
        };
        match next {
            DeliveryStatus::Delivered => report.delivered += 1,
            DeliveryStatus::Failed => report.failed += 1,
            _ => report.retrying += 1,
        }
        if let Some(error) = &outcome.error {
            tracing::info!(delivery = %delivery.id, status = ?outcome.status_code, %error, next = next.as_str(), "webhook attempt failed");
        }
        let attempt = Attempt {
            at: now,
            status_code: outcome.status_code,
            error: outcome.error,
            response_body: outcome.response_body,
            duration_ms: i32::try_from(took.as_millis()).unwrap_or(i32::MAX),
            next,
            retry_at,
        };
        webhook_attempt::record_attempt(&mut conn, delivery.id, claim, &attempt).await?;
    }
    Ok(report)
}

/// One attempt: check where it goes, sign, POST.
async fn send(
    delivery: &Claimed,
    sealer: &Sealer,
    rules: &WebhookSettings,
    now: DateTime<Utc>,
) -> Outcome {
    if !delivery.enabled {
        return Outcome {
            give_up: true,
            ..Outcome::error("the endpoint is disabled")
        };
    }
    let url = match destination::check_url(&delivery.url, rules.allow_insecure) {
        Ok(url) => url,
        Err(_) => return Outcome::error("destination refused: the URL is no longer allowed"),
    };
    let address = match destination::resolve(&url, rules.allow_private).await {
        Ok(address) => address,
        Err(e) => return Outcome::error(format!("destination refused: {e}")),
    };
    let secret = sealer
        .open(
            &WebhookEndpoint::seal_label(delivery.endpoint_id),
            &delivery.secret_sealed,
        )
        .ok()
        .and_then(SigningSecret::from_stored);
    let Some(secret) = secret else {
        tracing::error!(endpoint = %delivery.endpoint_id, "a webhook signing secret cannot be opened with this server's DATA_KEY");
        return Outcome::error("the signing secret cannot be read: rotate it");
    };
    let Ok(body) = serde_json::to_vec(&delivery.payload) else {
        return Outcome::error("the payload cannot be written");
    };
    let id = delivery.message_id();
    let timestamp = now.timestamp();
    let Some(signature) = secret.sign(&id, timestamp, &body) else {
        return Outcome::error("the signing secret cannot be read: rotate it");
    };
    post(&url, address, &id, timestamp, &signature, body).await
}

async fn post(
    url: &Url,
    address: std::net::SocketAddr,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: Vec<u8>,
) -> Outcome {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .no_proxy()
        .user_agent(concat!("m2m-console-webhooks/", env!("CARGO_PKG_VERSION")));
    // Connect to the address just checked, whatever the name resolves to by now.
    if let Some(url::Host::Domain(domain)) = url.host() {
        builder = builder.resolve(domain, address);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client");
            return Outcome::error("the HTTP client could not be set up");
        }
    };
    let sent = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            let code = Some(i32::from(status.as_u16()));
            let response_body = body_start(response).await;
            if status.is_success() {
                Outcome {
                    status_code: code,
                    error: None,
                    response_body,
                    delivered: true,
                    give_up: false,
                }
            } else {
                let error = if status.is_redirection() {
                    format!("HTTP {}: redirects are not followed", status.as_u16())
                } else {
                    format!("HTTP {}", status.as_u16())
                };
                Outcome {
                    status_code: code,
                    error: Some(error),
                    response_body,
                    delivered: false,
                    give_up: false,
                }
            }
        }
        Err(e) => Outcome::error(describe(&e)),
    }
}

/// A short account of a failed request: never the URL (it may carry a token) or a body.
fn describe(e: &reqwest::Error) -> String {
    let io = {
        let mut source = std::error::Error::source(e);
        let mut found = None;
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                found = Some(io.kind());
                break;
            }
            source = s.source();
        }
        found
    };
    if e.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        match io {
            Some(std::io::ErrorKind::ConnectionRefused) => {
                "could not connect: connection refused".into()
            }
            Some(kind) => format!("could not connect: {kind}"),
            None => "could not connect (network or TLS)".into(),
        }
    } else {
        match io {
            Some(kind) => format!("the request failed: {kind}"),
            None => "the request failed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_response_is_at_most_4_kb_of_whole_characters_without_nul() {
        let long = "é".repeat(3000);
        let kept = kept_text(long.as_bytes());
        assert_eq!(kept.len(), 4096);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(kept_text(b"ok\0\x01\n"), "ok\u{FFFD}\u{FFFD}\n");
        assert_eq!(kept_text(&[0x66, 0xff]), "f\u{FFFD}");
    }

    #[test]
    fn retries_back_off_exponentially_up_to_two_hours_with_jitter() {
        let secs: Vec<i64> = (1..=13).map(|n| backoff(n, 0.0).num_seconds()).collect();
        assert_eq!(
            secs,
            [
                5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 7200, 7200
            ]
        );
        assert_eq!(backoff(0, 0.0).num_seconds(), 5);
        assert_eq!(backoff(i32::MAX, 0.0).num_seconds(), 7200);
        assert_eq!(backoff(1, 1.0).num_milliseconds(), 2500, "at most halved");
        assert!(backoff(3, 0.5) < backoff(3, 0.0));
    }

    #[test]
    fn retries_stop_24_hours_after_the_first_attempt() {
        let first = DateTime::<Utc>::UNIX_EPOCH;
        let (status, next) = after_failure(first, 1, first, 0.0);
        assert_eq!(
            (status, next),
            (DeliveryStatus::Retrying, Some(first + Duration::seconds(5)))
        );
        let late = first + Duration::hours(23) + Duration::minutes(59);
        assert_eq!(
            after_failure(first, 30, late, 0.0),
            (DeliveryStatus::Retrying, Some(first + RETRY_FOR)),
            "one last try at the deadline"
        );
        assert_eq!(
            after_failure(first, 31, first + RETRY_FOR, 0.0),
            (DeliveryStatus::Failed, None)
        );
    }
}
