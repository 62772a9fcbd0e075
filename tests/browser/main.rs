//! Real-browser end-to-end tests: headless Chromium, driven through chromedriver, against the
//! real application (`TestApp::spawn()`). Run with `cargo test --features browser-tests --test browser`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../integration/helpers.rs"]
mod helpers;

mod accessibility;
mod driver;
mod flows;
mod journeys;
