//! Two-factor sign-in and "Confirm it's you" in a real browser (issue 14): a user enrols with
//! a code computed from the key the page shows, signs in with a code, and confirms a rotation
//! after ten minutes, with htmx and without JavaScript, each screen checked with axe.

use chrono::Duration;
use m2m_console::db::models::user::StaffRole;
use m2m_console::staff::totp;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, HOME, create_credential, read_reveal, row_action, seed_catalog, sign_in};
use crate::helpers::{PASSWORD, TestApp};

/// The code of `key` at the app's current 30 s step plus `delta` steps.
fn code(app: &TestApp, key: &[u8], delta: i64) -> String {
    totp::code_at(key, totp::step_at(app.clock.now()) + delta).unwrap()
}

/// Moves the app's clock to the start of a step, so codes computed here stay current.
fn start_of_step(app: &TestApp) {
    let secs = app.clock.now().timestamp().rem_euclid(30);
    app.clock.advance(Duration::seconds(31 - secs));
}

/// Enrols the signed-in user through the page and returns the key read off it.
async fn enrol(app: &TestApp, b: &mut Browser) -> Vec<u8> {
    let key = enrol_to_codes(app, b).await;
    b.assert_accessible("the recovery codes").await;
    b.screenshot("recovery-codes-1280").await;
    // Copy and Download, like a secret; leaving asks until "I have saved them" is ticked.
    assert!(
        b.testid("download-codes")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.click_testid("copy-codes").await;
    let copied = b.copied_text().await;
    assert_eq!(copied.lines().count(), 10, "{copied}");
    b.click_testid("codes-done").await;
    let ask = b.testid("codes-leave-confirm").await;
    b.wait_until("the question before leaving", async || {
        ask.is_displayed().await.unwrap()
    })
    .await;
    assert!(b.has_testid("recovery-codes").await, "still on the codes");
    b.click_testid("codes-ack").await;
    b.click_testid("codes-done").await;
    b.wait_testid_gone("recovery-codes").await;
    b.testid("two-factor-status").await;
    key
}

/// Enrols the signed-in user up to the recovery codes; the key read off the page.
async fn enrol_to_codes(app: &TestApp, b: &mut Browser) -> Vec<u8> {
    b.goto(m2m_console::paths::ACCOUNT_SECURITY).await;
    b.click_testid("setup-submit").await;
    let key_text = b.text(&b.testid("totp-key").await).await;
    assert_eq!(
        key_text.split(' ').next().map(str::len),
        Some(4),
        "in groups of four"
    );
    let key = data_encoding::BASE32_NOPAD
        .decode(key_text.replace(' ', "").as_bytes())
        .expect("the key is base32");
    b.testid("totp-qr").await;
    b.assert_accessible("two-factor enrolment with its QR code")
        .await;
    start_of_step(app);
    b.fill("Current code from your app", &code(app, &key, 0))
        .await;
    b.click_testid("confirm-submit").await;
    b.testid("recovery-codes").await;
    assert_eq!(b.all_testid("recovery-code").await.len(), 10);
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_codes_fit_a_390_px_phone() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let mut b = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut b, &admin.email).await;
    enrol_to_codes(&app, &mut b).await;
    assert!(
        b.script_bool("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await,
        "the recovery codes scroll sideways at 390 px"
    );
    b.assert_accessible("the recovery codes at 390 px").await;
    assert!(
        b.script_bool(
            "document.querySelector('[data-testid=recovery-codes]').scrollIntoView(); return true;"
        )
        .await
    );
    b.screenshot("recovery-codes-390").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_enrols_signs_in_with_a_code_and_confirms_a_rotation() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    create_credential(&mut b, "Billing export").await;
    let key = enrol(&app, &mut b).await;
    flows::sign_out(&mut b).await;

    b.goto("/login").await;
    b.fill("Email", &admin.email).await;
    b.fill("Password", PASSWORD).await;
    b.click_testid("login-submit").await;
    b.testid("code-form").await;
    b.assert_accessible("the code step of signing in").await;
    // The enrolment spent the current step; the next one is accepted too (±1).
    b.fill("Code", &code(&app, &key, 1)).await;
    b.click_testid("code-submit").await;
    b.wait_until("the console after the code", async || {
        b.path().await == HOME
    })
    .await;
    b.assert_clean("signing in with a code").await;

    app.clock.advance(Duration::minutes(11));
    row_action(&mut b, "Billing export", "menu-rotate").await;
    b.dialog().await;
    b.click_testid("confirm-rotate").await;
    b.testid("step-up-form").await;
    b.assert_accessible("Confirm it's you, in the modal").await;
    // Keyboard only: the password field has focus, Tab reaches the code, Enter confirms.
    let focused = b.focused().await;
    assert_eq!(
        focused.attr("data-testid").await.unwrap().as_deref(),
        Some("step-up-password")
    );
    b.type_text(PASSWORD).await;
    b.press(thirtyfour::Key::Tab).await;
    b.type_text(&code(&app, &key, 0)).await;
    b.press(thirtyfour::Key::Enter).await;
    let rotated = read_reveal(&b).await;
    assert_eq!(
        flows::token_request(&app, &rotated.client_id, &rotated.secret)
            .await
            .0,
        200
    );
    b.assert_clean("the rotation after confirming").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_confirming_is_a_page_and_the_action_goes_on() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    create_credential(&mut b, "Billing export").await;
    b.quit().await;

    let mut b = Browser::without_javascript(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    app.clock.advance(Duration::minutes(11));
    row_action(&mut b, "Billing export", "menu-rotate").await;
    b.click_testid("confirm-rotate").await;
    b.testid("step-up-page").await;
    b.fill("Password", PASSWORD).await;
    b.click_testid("step-up-submit").await;
    let rotated = read_reveal(&b).await;
    assert_eq!(
        flows::token_request(&app, &rotated.client_id, &rotated.secret)
            .await
            .0,
        200
    );
    b.quit().await;

    // At 390 px, the dialog fits without sideways scrolling.
    let mut b = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut b, &admin.email).await;
    app.clock.advance(Duration::minutes(11));
    row_action(&mut b, "Billing export", "menu-rotate").await;
    b.dialog().await;
    b.click_testid("confirm-rotate").await;
    b.testid("step-up-form").await;
    assert!(
        b.script_bool("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await
    );
    b.screenshot("step-up-390").await;
    b.quit().await;
}
