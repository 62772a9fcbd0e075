//! What the machine side keeps per instance: the failure throttle and counters.

use std::sync::atomic::AtomicU64;

use crate::oauth::throttle::FailureThrottle;
use crate::oauth::usage::SecretUses;

/// Counters for a future metrics endpoint.
#[derive(Debug, Default)]
pub struct TokenMetrics {
    pub issued: AtomicU64,
    pub failed: AtomicU64,
}

/// State of the machine side shared by all requests of one instance.
#[derive(Debug, Default)]
pub struct OAuthState {
    pub throttle: FailureThrottle,
    pub secret_uses: SecretUses,
    pub metrics: TokenMetrics,
}
