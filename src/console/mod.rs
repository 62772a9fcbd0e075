//! Handlers of the admin console pages.

pub mod account;
pub mod apis;
pub mod audit;
pub mod credentials;
pub mod invitations;
pub mod policy;
pub mod request;
pub mod roles;
pub mod section;
pub mod sessions;
pub mod settings;
pub mod step_up;
pub mod step_up_gate;
pub mod users;
pub mod webhooks;

use crate::error::AppError;

/// The id in a URL path; anything that does not parse is a 404, like an id that does not exist.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}
