//! One module per table: the row struct, its insertable form and its queries.

pub mod audit_event;
pub mod login_throttle;
pub mod organisation;
pub mod server_secret;
pub mod session;
pub mod setup_token;
pub mod user;
pub mod api;
pub mod credential;
pub mod role;
