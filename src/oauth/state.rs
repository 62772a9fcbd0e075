//! What the machine side keeps per instance: the usage counter and the metrics. The failure
//! throttle lives in PostgreSQL, shared by every instance (`oauth::throttle`).

use crate::metrics::Metrics;
use crate::oauth::introspection_limit::IntrospectionLimit;
use crate::usage::UsageCounter;

/// State of the machine side shared by all requests of one instance.
#[derive(Debug)]
pub struct OAuthState {
    /// What each credential's clients did (`usage`), written every few seconds.
    pub usage: UsageCounter,
    pub metrics: Metrics,
    /// Introspections and revocations per calling credential (`introspection_limit`).
    pub introspections: IntrospectionLimit,
}

impl OAuthState {
    pub fn new(metrics: Metrics, introspections_per_minute: u32) -> Self {
        Self {
            usage: UsageCounter::default(),
            metrics,
            introspections: IntrospectionLimit::new(introspections_per_minute),
        }
    }
}
