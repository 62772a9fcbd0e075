//! Integration tests: the real application over HTTP against real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod apis;
mod audit;
mod cli;
mod credentials;
mod csrf;
mod login;
mod oauth;
mod roles;
mod sessions;
mod setup;
mod shell;
mod users;
