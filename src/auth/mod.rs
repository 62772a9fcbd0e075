//! The sign-in front end: the sign-in and two-factor forms, the first-run setup, accepting an
//! invitation, the role guard and CSRF protection. What they check (passwords, the sign-in
//! throttle, TOTP) is the staff domain's (`crate::staff`).

pub(crate) mod csrf;
pub(crate) mod guard;
pub(crate) mod invitation;
pub(crate) mod login;
pub(crate) mod setup;
pub(crate) mod two_factor_login;
