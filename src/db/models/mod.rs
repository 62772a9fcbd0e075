//! One module per table: the row struct, its insertable form and its queries.

pub mod access_token;
pub mod api;
pub mod api_role;
pub mod audit_event;
pub mod credential;
pub mod credential_key;
pub mod credential_lifecycle;
pub mod idempotency_key;
pub mod invitation;
pub mod issuance;
pub mod limit_window;
pub mod login_attempt;
pub mod notice;
pub mod org_policy;
pub mod organisation;
pub mod server_secret;
pub mod session;
pub mod setup_token;
pub mod token_sweep;
pub mod two_factor;
pub mod usage;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_delivery_report;
pub mod webhook_endpoint;
