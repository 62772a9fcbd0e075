//! Signing in and joining in a real browser (issue 19): a mistyped password is answered on
//! the sign-in form with the email kept, and an invited user chooses their own password from
//! the link a Super Admin passed on (email off), each screen checked with axe.

use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::driver::Browser;
use crate::flows::{self, HOME, sign_in};
use crate::helpers::{PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_password_is_answered_on_the_sign_in_form_with_the_email_kept() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let mut b = Browser::open(&app.address).await;
    b.goto(paths::LOGIN).await;
    b.fill("Email", &admin.email).await;
    b.fill("Password", "not the password").await;
    // The refusal's status is 401, which Chrome logs.
    b.expect_console("the server responded with a status of 401");
    b.click_testid("login-submit").await;
    let error = b.testid("login-error").await;
    assert_eq!(b.text(&error).await, "Email or password is not right.");
    assert_eq!(b.path().await, paths::LOGIN);
    assert!(!b.has_testid("code-form").await, "no code step");
    let email = b.field("Email").await;
    assert_eq!(b.value(&email).await, admin.email, "the email is kept");
    b.assert_accessible("a refused sign-in").await;

    b.fill("Password", PASSWORD).await;
    b.click_testid("login-submit").await;
    b.wait_until("the console after sign-in", async || b.path().await == HOME)
        .await;
    b.assert_clean("signing in after a typo").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_user_chooses_their_password_from_the_link_passed_on() {
    let app = TestApp::spawn().await;
    let boss = flows::user(&app, StaffRole::SuperAdmin).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &boss.email).await;
    b.goto(paths::USERS).await;
    b.fill("Email", "new.person@acme.test").await;
    b.choose("Role", "Admin").await;
    b.click_testid("invite-submit").await;
    let link = b.testid("invitation-link").await;
    let link = b.text(&link).await;
    assert!(link.contains("/invitation?token="), "{link}");
    let row = b.testid("invitation-row").await;
    assert!(b.text(&row).await.contains("Admin"));
    b.assert_accessible("the users page with an open invitation")
        .await;
    b.screenshot("users-invitation").await;
    b.assert_clean("inviting").await;

    let mut invitee = Browser::open(&app.address).await;
    let url = url::Url::parse(&link).unwrap();
    invitee
        .goto(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await;
    invitee.testid("invitation-form").await;
    invitee.assert_accessible("accepting an invitation").await;
    invitee.screenshot("invitation-accept").await;
    invitee
        .fill(
            "Password (at least 12 characters)",
            "violet quarry lantern sideways",
        )
        .await;
    invitee
        .fill("Repeat password", "violet quarry lantern sideways")
        .await;
    invitee.click_testid("invitation-submit").await;
    invitee
        .wait_until("the console after joining", async || {
            invitee.path().await == HOME
        })
        .await;
    invitee.assert_clean("joining").await;
    invitee.quit().await;
    b.quit().await;
}
