//! Handlers of the admin console pages.

pub(crate) mod account;
pub(crate) mod apis;
pub(crate) mod audit;
pub(crate) mod credentials;
pub(crate) mod invitations;
pub(crate) mod policy;
pub(crate) mod request;
pub(crate) mod roles;
pub(crate) mod section;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod step_up;
pub mod step_up_gate;
pub(crate) mod users;
pub(crate) mod webhooks;

use crate::error::AppError;

/// The id in a URL path; anything that does not parse is a 404, like an id that does not exist.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}
