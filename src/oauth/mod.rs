//! The machine side: an OAuth 2.0 authorization server for the credentials the console
//! manages. Token issuance (RFC 6749 §4.4), introspection (RFC 7662), revocation (RFC 7009),
//! server metadata (RFC 8414) and a bearer-protected `whoami` (RFC 6750).
//!
//! Errors here are `OAuthError` / `BearerError` JSON, never the console's HTML `AppError`.

pub(crate) mod assertion;
pub(crate) mod basic_auth;
pub(crate) mod batch_queue;
pub(crate) mod bearer;
pub(crate) mod client_auth;
pub(crate) mod error;
pub(crate) mod form;
pub(crate) mod introspect;
pub(crate) mod introspect_batch;
pub(crate) mod introspection_limit;
pub(crate) mod metadata;
pub(crate) mod revoke;
pub(crate) mod state;
pub mod throttle;
pub(crate) mod token;
pub(crate) mod token_batch;

/// The `realm` of our `WWW-Authenticate` challenges.
pub const REALM: &str = "m2m-console";
