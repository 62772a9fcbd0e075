//! The user's own account pages in a real browser (issue 14): the sessions list at 1280 and
//! 390 px and without JavaScript, "Sign out other sessions", and the password form.

use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, sign_in};
use crate::helpers::TestApp;

const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_page_lists_every_sign_in_and_signs_the_others_out() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let mut desktop = Browser::open(&app.address).await;
    sign_in(&mut desktop, &admin.email).await;
    let mut phone = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut phone, &admin.email).await;

    phone.goto(paths::ACCOUNT_SESSIONS).await;
    assert_eq!(phone.all_testid("session-row").await.len(), 2);
    phone.testid("this-session").await;
    assert!(
        phone.script_bool(FITS).await,
        "no sideways scroll at 390 px"
    );
    phone.assert_accessible("the sessions page at 390 px").await;
    phone.screenshot("account-sessions-390").await;

    desktop.goto(paths::ACCOUNT_SESSIONS).await;
    assert!(desktop.script_bool(FITS).await);
    desktop.assert_accessible("the sessions page").await;
    desktop.click_testid("end-others-submit").await;
    desktop.testid("no-other-sessions").await;
    assert_eq!(desktop.all_testid("session-row").await.len(), 1);
    desktop.assert_clean("signing the other sessions out").await;

    // The phone's session ended: its next page is the sign-in.
    phone.goto(flows::HOME).await;
    phone
        .wait_until("the sign-in page", async || {
            phone.path().await.starts_with("/login")
        })
        .await;
    phone.quit().await;

    desktop.goto(paths::ACCOUNT_SECURITY).await;
    desktop.testid("password-form").await;
    desktop
        .assert_accessible("account security with the password form")
        .await;
    desktop.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_the_sessions_page_works_as_plain_forms() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let mut other = Browser::open(&app.address).await;
    sign_in(&mut other, &admin.email).await;
    let mut b = Browser::without_javascript(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    b.goto(paths::ACCOUNT_SESSIONS).await;
    assert_eq!(b.all_testid("session-row").await.len(), 2);
    b.click_testid("end-others-submit").await;
    b.testid("no-other-sessions").await;
    b.quit().await;
    other.quit().await;
}
