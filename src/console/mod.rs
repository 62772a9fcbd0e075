//! Handlers of the admin console pages.

pub mod apis;
pub mod audit;
pub mod credentials;
pub mod request;
pub mod roles;
pub mod settings;
pub mod users;

use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::session::TypedSession;
use crate::views::{Crumb, Shell};

/// The shell of a console page for the signed-in user, with any pending flash notice.
pub fn shell(
    title: &str,
    user: &CurrentUser,
    session: &TypedSession,
    crumbs: Vec<Crumb>,
) -> Result<Shell, AppError> {
    Ok(Shell::new(title, session.csrf_token()?, Some(&user.0))
        .crumbs(crumbs)
        .flash(session.take_flash()))
}

/// The id in a URL path; anything that does not parse is a 404, like an id that does not exist.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}
