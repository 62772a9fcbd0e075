//! The sign-in front end: the sign-in and two-factor forms, the first-run setup, accepting an
//! invitation, the role guard and CSRF protection. What they check (passwords, the sign-in
//! throttle, TOTP) is the staff domain's (`crate::staff`).

pub mod csrf;
pub mod guard;
pub mod invitation;
pub mod login;
pub mod setup;
pub mod two_factor_login;
