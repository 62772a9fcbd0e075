//! The process's one TLS crypto provider. Both TLS clients run on rustls: lettre (SMTP) names
//! ring itself, and reqwest (webhook deliveries) takes the process default, which rustls only
//! has once one is installed. Installing ring here keeps a second provider (aws-lc, with its C
//! build) out of the binary, and a client built before it can never find none.

/// Makes ring the process's default provider; later calls do nothing.
pub fn install_crypto_provider() {
    // An error only says a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
