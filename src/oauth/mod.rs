//! The machine side: an OAuth 2.0 authorization server for the credentials the console
//! manages. Token issuance (RFC 6749 §4.4), introspection (RFC 7662), revocation (RFC 7009),
//! server metadata (RFC 8414) and a bearer-protected `whoami` (RFC 6750).
//!
//! Errors here are `OAuthError` / `BearerError` JSON, never the console's HTML `AppError`.

pub mod assertion;
pub mod bearer;
pub mod client_auth;
pub mod error;
pub mod form;
pub mod introspect;
pub mod introspection_limit;
pub mod metadata;
pub mod revoke;
pub mod state;
pub mod throttle;
pub mod token;

/// The `realm` of our `WWW-Authenticate` challenges.
pub const REALM: &str = "m2m-console";
