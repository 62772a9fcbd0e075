//! m2m-console: an admin console for machine-to-machine API credentials, and the OAuth 2.0
//! authorization server those credentials talk to.

pub mod actor;
pub mod app_state;
pub mod assets;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod console;
pub mod credentials;
pub mod db;
pub mod domain_error;
pub mod error;
pub mod forms;
pub mod health;
pub mod html_form;
pub mod htmx;
pub mod input;
pub mod jobs;
pub mod memory;
pub mod oauth;
pub mod paths;
pub mod policy;
pub mod random;
pub mod render;
pub mod routes;
pub mod security_headers;
pub mod session;
pub mod session_store;
pub mod staff;
pub mod startup;
pub mod telemetry;
pub mod tokens;
pub mod views;
