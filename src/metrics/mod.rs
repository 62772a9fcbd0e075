//! Prometheus metrics of this instance, served in the text format on `METRICS_ADDR` only (a
//! listener of its own, off by default, so the numbers are never public by accident).
//! Labels have bounded values: outcomes, reasons, route patterns, job names; never a client
//! ID, a secret or an address. The hot path increments counters resolved at start (no label
//! lookup per request).

pub mod http;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::db::DbPool;

/// Why a token request was not answered with a token, as a label.
const TOKEN_REASONS: [&str; 12] = [
    "wrong_secret",
    "disabled",
    "revoked",
    "expired",
    "ip_not_allowed",
    "scope_not_allowed",
    "throttled",
    "unknown_client",
    "malformed_client_id",
    "malformed_secret",
    "invalid_request",
    "unsupported_grant_type",
];

/// The background jobs, as labels.
pub const JOBS: [&str; 3] = ["scheduled", "sweep", "flush_counts"];

pub struct Metrics {
    registry: Registry,
    token_issued: IntCounter,
    token_refused: IntCounterVec,
    introspections: IntCounterVec,
    bearer_checks: IntCounterVec,
    pub(crate) request_seconds: HistogramVec,
    pool: IntGaugeVec,
    job_runs: IntCounterVec,
    job_failures: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// A registered metric; registering fixed, distinct names cannot fail, but if it did the
/// metric would only be missing from the output.
fn registered<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, m: T) -> T {
    if let Err(e) = registry.register(Box::new(m.clone())) {
        tracing::warn!(error = %e, "a metric could not be registered");
    }
    m
}

impl Metrics {
    /// Fails only if a name, label or bucket list below is malformed (a unit test builds it).
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("m2m".into()), None)?;
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).map(|m| registered(&registry, m))
        };
        let token_requests = counter_vec(
            "token_requests_total",
            "Token requests by outcome (issued or refused) and refusal reason.",
            &["outcome", "reason"],
        )?;
        for reason in TOKEN_REASONS {
            token_requests.with_label_values(&["refused", reason]);
        }
        let introspections = counter_vec(
            "introspections_total",
            "Introspection requests by outcome (active, inactive, refused).",
            &["outcome"],
        )?;
        let bearer_checks = counter_vec(
            "bearer_checks_total",
            "Bearer token checks by outcome (ok, invalid).",
            &["outcome"],
        )?;
        let job_runs = counter_vec("job_runs_total", "Background job runs.", &["job"])?;
        let job_failures = counter_vec(
            "job_failures_total",
            "Background job runs that failed.",
            &["job"],
        )?;
        for job in JOBS {
            job_runs.with_label_values(&[job]);
            job_failures.with_label_values(&[job]);
        }
        let request_seconds = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Request latency by route pattern, method and status class.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
                &["route", "method", "status"],
            )?,
        );
        let pool = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "db_pool_connections",
                    "Database pool connections: in_use, idle, waiting (requests queued).",
                ),
                &["state"],
            )?,
        );
        Ok(Self {
            token_issued: token_requests.with_label_values(&["issued", ""]),
            token_refused: token_requests,
            introspections,
            bearer_checks,
            request_seconds,
            pool,
            job_runs,
            job_failures,
            registry,
        })
    }

    pub fn token_issued(&self) {
        self.token_issued.inc();
    }

    /// A token request refused; `reason` is one of `TOKEN_REASONS`.
    pub fn token_refused(&self, reason: &'static str) {
        self.token_refused
            .with_label_values(&["refused", reason])
            .inc();
    }

    pub fn introspection(&self, outcome: &'static str) {
        self.introspections.with_label_values(&[outcome]).inc();
    }

    pub fn bearer_check(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "invalid" };
        self.bearer_checks.with_label_values(&[outcome]).inc();
    }

    pub fn job_ran(&self, job: &'static str, ok: bool) {
        self.job_runs.with_label_values(&[job]).inc();
        if !ok {
            self.job_failures.with_label_values(&[job]).inc();
        }
    }

    /// The text format, with the pool's gauges read now.
    pub fn render(&self, pool: &DbPool) -> String {
        let status = pool.status();
        let idle = i64::try_from(status.available).unwrap_or(0);
        let size = i64::try_from(status.size).unwrap_or(0);
        let waiting = i64::try_from(status.waiting).unwrap_or(0);
        self.pool.with_label_values(&["in_use"]).set(size - idle);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool.with_label_values(&["waiting"]).set(waiting);
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn every_metric_registers_and_renders_without_a_pool() {
        let m = Metrics::new().unwrap();
        m.token_issued();
        m.token_refused("throttled");
        m.job_ran("sweep", false);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&m.registry.gather(), &mut out)
            .ok();
        let text = String::from_utf8(out).unwrap_or_default();
        assert!(text.contains("m2m_token_requests_total{outcome=\"issued\",reason=\"\"} 1"));
        assert!(
            text.contains("m2m_token_requests_total{outcome=\"refused\",reason=\"throttled\"} 1")
        );
        assert!(text.contains("m2m_job_failures_total{job=\"sweep\"} 1"));
    }
}
