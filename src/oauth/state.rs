//! What the machine side keeps per instance: the failure throttle, the usage counters and
//! the metrics.

use crate::metrics::Metrics;
use crate::oauth::throttle::FailureThrottle;
use crate::oauth::usage::SecretUses;
use crate::usage::UsageCounter;

/// State of the machine side shared by all requests of one instance.
#[derive(Debug)]
pub struct OAuthState {
    pub throttle: FailureThrottle,
    pub secret_uses: SecretUses,
    /// What each credential's clients did (`usage`).
    pub usage: UsageCounter,
    pub metrics: Metrics,
}

impl OAuthState {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            throttle: FailureThrottle::default(),
            secret_uses: SecretUses::default(),
            usage: UsageCounter::default(),
            metrics,
        }
    }
}
