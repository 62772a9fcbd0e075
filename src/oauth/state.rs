//! What the machine side keeps per instance: the usage counter and the metrics. The failure
//! throttle lives in PostgreSQL, shared by every instance (`oauth::throttle`).

use crate::metrics::Metrics;
use crate::usage::UsageCounter;

/// State of the machine side shared by all requests of one instance.
#[derive(Debug)]
pub struct OAuthState {
    /// What each credential's clients did (`usage`), written every few seconds.
    pub usage: UsageCounter,
    pub metrics: Metrics,
}

impl OAuthState {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            usage: UsageCounter::default(),
            metrics,
        }
    }
}
