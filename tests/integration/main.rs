//! Integration tests: the real application over HTTP against real PostgreSQL.
// Test code: a panic here is a failed test, not a crashed worker.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic
)]

mod fixtures;
mod helpers;

mod account_emails;
mod account_sessions;
mod apis;
mod apis_access;
mod audit;
mod audit_export;
mod cli;
mod credentials;
mod credentials_changes;
mod csrf;
mod database_hosts;
mod fuzz;
mod hot_path;
mod input_rules;
mod introspection_limit;
mod invitations;
mod leaks;
mod lifecycle;
mod list;
mod login;
mod login_hardening;
mod mail_server;
mod management_access;
mod management_api;
mod metrics;
mod oauth;
mod oauth_endpoints;
mod oauth_hardening;
mod oauth_liveness;
mod oauth_queries;
mod passwords;
mod policy;
mod private_key_jwt;
mod reminders;
mod reveal;
mod roles;
mod roles_access;
mod rolling_restart;
mod schema;
mod schemathesis;
mod screens;
mod seams;
mod sessions;
mod setup;
mod shared_commits;
mod shared_limits;
mod shared_statements;
mod shell;
mod snapshots;
mod stale;
mod step_up;
mod step_up_gate;
mod token_lifetime;
mod two_factor;
mod two_factor_limits;
mod two_factor_policy;
mod usable_rule;
mod usage;
mod users;
mod webhook_receiver;
mod webhooks;
mod webhooks_delivery;
mod webhooks_retry;
