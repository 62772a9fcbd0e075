//! Real-browser end-to-end tests: headless Chromium, driven through chromedriver, against the
//! real application (`TestApp::spawn()`). Run with `cargo test --features browser-tests --test browser`.
// Test code: a panic here is a failed test, not a crashed worker.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic
)]

#[allow(dead_code)]
#[path = "../integration/helpers.rs"]
mod helpers;

mod accessibility;
mod account;
mod driver;
mod flows;
mod identifiers;
mod input;
mod journeys;
mod journeys_forms;
mod keys;
mod lifecycle;
mod management;
mod realistic;
mod reveal;
mod screens;
mod screens_dialogs;
mod sign_in;
mod two_factor;
mod usage;
