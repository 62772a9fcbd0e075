//! Staff authentication and authorisation: passwords, sign-in and its throttle, the
//! first-run setup, accepting an invitation, the role guard and CSRF protection.

pub mod common_passwords;
pub mod csrf;
pub mod guard;
pub mod invitation;
pub mod login;
pub mod password;
pub mod setup;
pub mod sign_in;
pub mod throttle;
pub mod totp;
pub mod two_factor_login;
