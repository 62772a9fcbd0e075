//! Prometheus metrics of this instance, served in the text format on `METRICS_ADDR` only (a
//! listener of its own, off by default, so the numbers are never public by accident).
//! Labels have bounded values: outcomes, reasons, route patterns, job names; never a client
//! ID, a secret or an address. The hot path increments counters resolved at start (no label
//! lookup per request).

pub(crate) mod http;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
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

/// A hot route's metrics, resolved at start.
pub(crate) struct HotRoute {
    route: &'static str,
    method: &'static str,
    /// The latency histogram by status class (1xx first).
    seconds: [Histogram; 5],
    statements: IntCounter,
}

impl HotRoute {
    pub(crate) fn observe(&self, status_class: usize, seconds: f64, statements: u32) {
        if let Some(histogram) = self.seconds.get(status_class) {
            histogram.observe(seconds);
        }
        self.statements.inc_by(u64::from(statements));
    }
}

/// How an introspection was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introspection {
    Active,
    Inactive,
    Refused,
}

/// The background jobs, as labels.
pub const JOBS: [&str; 4] = ["scheduled", "sweep", "flush_counts", "token_sweep"];

/// The machine-side routes, whose latency histograms are resolved at start (no label lookup,
/// no route-pattern string per request): their paths are their patterns.
const HOT_ROUTES: [(&str, &str); 4] = [
    ("/oauth/token", "POST"),
    ("/oauth/introspect", "POST"),
    ("/oauth/revoke", "POST"),
    ("/api/v1/whoami", "GET"),
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

pub struct Metrics {
    registry: Registry,
    token_issued: IntCounter,
    token_refused: IntCounterVec,
    /// Introspections answered active, inactive, refused.
    introspections: [IntCounter; 3],
    /// Bearer checks ok, invalid.
    bearer_checks: [IntCounter; 2],
    request_seconds: HistogramVec,
    statements: IntCounterVec,
    /// Each hot route's (`HOT_ROUTES`) metrics, resolved.
    hot_routes: Vec<HotRoute>,
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
        let statements = counter_vec(
            "db_statements_total",
            "Statements sent to PostgreSQL by requests, by route pattern.",
            &["route"],
        )?;
        let hot_routes = HOT_ROUTES
            .iter()
            .map(|&(route, method)| HotRoute {
                route,
                method,
                seconds: STATUS_CLASSES
                    .map(|class| request_seconds.with_label_values(&[route, method, class])),
                statements: statements.with_label_values(&[route]),
            })
            .collect();
        Ok(Self {
            token_issued: token_requests.with_label_values(&["issued", ""]),
            token_refused: token_requests,
            introspections: ["active", "inactive", "refused"]
                .map(|outcome| introspections.with_label_values(&[outcome])),
            bearer_checks: ["ok", "invalid"]
                .map(|outcome| bearer_checks.with_label_values(&[outcome])),
            request_seconds,
            statements,
            hot_routes,
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

    pub fn introspection(&self, outcome: Introspection) {
        let [active, inactive, refused] = &self.introspections;
        match outcome {
            Introspection::Active => active.inc(),
            Introspection::Inactive => inactive.inc(),
            Introspection::Refused => refused.inc(),
        }
    }

    pub fn bearer_check(&self, ok: bool) {
        let [valid, invalid] = &self.bearer_checks;
        if ok { valid.inc() } else { invalid.inc() }
    }

    /// The resolved metrics of a hot route, when `path` and `method` name one.
    pub(crate) fn hot_route(&self, path: &str, method: &str) -> Option<&HotRoute> {
        self.hot_routes
            .iter()
            .find(|r| r.route == path && r.method == method)
    }

    /// A request of any other route: its latency and statements under its pattern.
    pub(crate) fn observe(
        &self,
        route: &str,
        method: &str,
        status: &str,
        seconds: f64,
        statements: u32,
    ) {
        self.request_seconds
            .with_label_values(&[route, method, status])
            .observe(seconds);
        if statements > 0 {
            self.statements
                .with_label_values(&[route])
                .inc_by(u64::from(statements));
        }
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
