//! Emails about a staff member's own account (issue 19), through the notices outbox to a real
//! SMTP server: a right password followed by a wrong code (at most one an hour), and
//! two-factor turned on, off or reset.

use chrono::Duration;
use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::fixtures::*;
use crate::helpers::{PASSWORD, TestApp};
use crate::mail_server::{MailServer, Received};

const WRONG_CODE_SUBJECT: &str = "Your password was used with a wrong two-factor code";

fn to(message: &Received) -> &str {
    message.to.first().map(String::as_str).unwrap_or_default()
}

/// Someone at `ip` with the right password types a wrong code.
async fn wrong_code_after_the_password(app: &TestApp, email: &str, ip: &str, key: &[u8]) {
    let mut b = device(app, FIREFOX_ON_WINDOWS, ip);
    assert!(b.login(email, PASSWORD).await.to_code_step());
    b.get(paths::LOGIN_CODE).await;
    let right = totp_code(app, key, 0);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let res = b.post_form(paths::LOGIN_CODE, &[("code", wrong)]).await;
    assert_eq!(res.status, 401, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_password_then_a_wrong_code_emails_the_owner_at_most_once_an_hour() {
    let mail = MailServer::start();
    let app = TestApp::spawn_with(|s| {
        mailing_to(&mail)(s);
        trusting_localhost(s);
    })
    .await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    start_of_step(&app);
    assert_eq!(deliver_emails(&app, &mail).await.sent, 1, "two-factor on");
    let before = mail.received().len();

    // A wrong password alone says nothing about the password being known: no email.
    let mut guesser = app.client();
    assert!(
        guesser
            .login(&user.email, "not the password")
            .await
            .refused_on_the_form()
    );
    assert_eq!(deliver_emails(&app, &mail).await.sent, 0);

    wrong_code_after_the_password(&app, &user.email, "198.51.100.23", &keys.key).await;
    assert_eq!(deliver_emails(&app, &mail).await.sent, 1);
    let received = mail.received();
    let alert = &received[before];
    assert_eq!(to(alert), user.email);
    assert_eq!(alert.subject(), WRONG_CODE_SUBJECT);
    let body = alert.body();
    assert!(body.contains("198.51.100.23"), "{body}");
    assert!(body.contains("change it now"), "{body}");
    assert!(body.contains(paths::ACCOUNT_SECURITY), "{body}");
    assert!(body.contains("about your own staff account"), "{body}");
    assert!(!body.contains(PASSWORD));

    // More wrong codes within the hour, from anywhere: no second email.
    app.clock.advance(Duration::minutes(30));
    wrong_code_after_the_password(&app, &user.email, "198.51.100.24", &keys.key).await;
    assert_eq!(deliver_emails(&app, &mail).await.sent, 0);
    assert_eq!(mail.received().len(), before + 1);

    // An hour after the first, the next one is told again.
    app.clock.advance(Duration::minutes(31));
    wrong_code_after_the_password(&app, &user.email, "198.51.100.25", &keys.key).await;
    assert_eq!(deliver_emails(&app, &mail).await.sent, 1);
    let last = mail.received().pop().unwrap();
    assert_eq!(last.subject(), WRONG_CODE_SUBJECT);
    assert!(last.body().contains("198.51.100.25"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_two_factor_on_or_off_or_a_reset_emails_the_user() {
    let mail = MailServer::start();
    let app = TestApp::spawn_with(mailing_to(&mail)).await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    assert_eq!(deliver_emails(&app, &mail).await.sent, 1);
    let on = mail.received().pop().unwrap();
    assert_eq!(to(&on), user.email);
    assert_eq!(on.subject(), "Two-factor sign-in was turned on");

    start_of_step(&app);
    let page = browser
        .post_form(
            &paths::account_security_action("disable"),
            &[("code", &totp_code(&app, &keys.key, 0))],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(deliver_emails(&app, &mail).await.sent, 1);
    let off = mail.received().pop().unwrap();
    assert_eq!(off.subject(), "Two-factor sign-in was turned off");
    assert!(off.body().contains("only the password"));

    // On again, then a Super Admin resets it: the user hears who did.
    enrol_two_factor(&app, &mut browser).await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .post_form(&paths::user_action(user.id, "two-factor/reset"), &[])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(deliver_emails(&app, &mail).await.sent, 2);
    let reset = mail.received().pop().unwrap();
    assert_eq!(to(&reset), user.email);
    assert_eq!(reset.subject(), "Two-factor sign-in was reset");
    assert!(reset.body().contains(&boss_user.email));
}
