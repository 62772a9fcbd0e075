use chrono::Duration;
use m2m_console::db::models::user::StaffRole;

use crate::helpers::{PASSWORD, TestApp, captured_logs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_the_right_password_lands_in_the_console() {
    let app = TestApp::spawn().await;
    let user = app
        .create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    let res = browser.login("  OPS@acme.test ", PASSWORD).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.location(),
        Some("/settings/integrations/machine-to-machine")
    );
    let page = browser
        .get("/settings/integrations/machine-to-machine")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&user.email));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;

    let mut a = app.client();
    let wrong_password = a.login("ops@acme.test", "not the password").await;
    let mut b = app.client();
    let unknown_email = b.login("nobody@acme.test", "not the password").await;

    let disabled = app
        .create_user("Acme", "gone@acme.test", StaffRole::Admin)
        .await;
    m2m_console::db::models::user::User::update(
        &mut *app.conn().await,
        disabled.org_id,
        disabled.id,
        &m2m_console::db::models::user::UserChanges {
            role: None,
            disabled: Some(true),
            updated_at: app.clock.now(),
        },
    )
    .await
    .unwrap();
    let mut c = app.client();
    let disabled_account = c.login("gone@acme.test", PASSWORD).await;

    // Answered on the sign-in form itself, never the code step: the same status, message and
    // page for all three, with the email kept.
    let message = |body: &str| crate::fixtures::testid_text(body, "login-error");
    for (res, email) in [
        (&wrong_password, "ops@acme.test"),
        (&unknown_email, "nobody@acme.test"),
        (&disabled_account, "gone@acme.test"),
    ] {
        assert_eq!(res.status, 401, "{email}");
        assert!(res.location().is_none());
        assert_eq!(
            message(&res.body).as_deref(),
            Some("Email or password is not right."),
            "{email}"
        );
        assert!(
            res.body.contains(&format!("value=\"{email}\"")),
            "{email} is kept"
        );
        assert!(res.body.contains("data-testid=\"login-submit\""));
        assert!(!res.body.contains("code-form"), "{email}");
    }
    let page = |res: &crate::helpers::Page, email: &str| res.body.replace(email, "EMAIL");
    let csrf = |body: &str| crate::helpers::csrf_in(body).unwrap();
    assert_eq!(
        page(&wrong_password, "ops@acme.test").replace(&csrf(&wrong_password.body), "T"),
        page(&unknown_email, "nobody@acme.test").replace(&csrf(&unknown_email.body), "T"),
        "the same page"
    );
    // None of them sets a signed-in or pending session.
    assert_eq!(a.get("/settings").await.status, 303);
    assert_eq!(a.get("/login/code").await.location(), Some("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_goes_back_to_the_page_asked_for_but_never_off_site() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::SuperAdmin)
        .await;
    let mut browser = app.client();
    let bounce = browser.get("/settings/users").await;
    assert_eq!(bounce.location(), Some("/login?next=%2Fsettings%2Fusers"));
    browser.get("/login").await;
    let res = browser
        .post_form(
            "/login",
            &[
                ("email", "ops@acme.test"),
                ("password", PASSWORD),
                ("next", "/settings/users"),
            ],
        )
        .await;
    assert_eq!(res.location(), Some("/settings/users"));

    let mut other = app.client();
    other.get("/login").await;
    let res = other
        .post_form(
            "/login",
            &[
                ("email", "ops@acme.test"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(
        res.location(),
        Some("/settings/integrations/machine-to-machine")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_throttle_the_account_for_a_while_only() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    for _ in 0..5 {
        assert_eq!(browser.login("ops@acme.test", "wrong").await.status, 401);
    }
    // Even the right password is refused while the lock holds; the answer says when to retry.
    let locked = browser.login("ops@acme.test", PASSWORD).await;
    assert_eq!(locked.status, 429);
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry));
    // Unknown accounts are throttled the same way, so the lock reveals nothing.
    for _ in 0..5 {
        browser.login("ghost@acme.test", "wrong").await;
    }
    assert_eq!(browser.login("ghost@acme.test", "wrong").await.status, 429);

    // Once the delay has passed, the real user gets in and the counter is forgiven.
    app.clock.advance(Duration::seconds(31));
    let res = browser.login("ops@acme.test", PASSWORD).await;
    assert_eq!(res.status, 303);
    assert_ne!(res.location(), Some("/login/code"), "signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delay_grows_with_each_further_failure() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    for _ in 0..5 {
        browser.login("ops@acme.test", "wrong").await;
    }
    app.clock.advance(Duration::seconds(31));
    assert_eq!(browser.login("ops@acme.test", "wrong").await.status, 401);
    let locked = browser.login("ops@acme.test", PASSWORD).await;
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(
        retry > 30 && retry <= 60,
        "second lock lasts about a minute, got {retry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_failures_from_one_address_throttle_that_address() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    for i in 0..20 {
        browser.login(&format!("spray{i}@acme.test"), "wrong").await;
    }
    assert_eq!(browser.login("ops@acme.test", PASSWORD).await.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_failures_are_audited_without_the_password() {
    let app = TestApp::spawn().await;
    let user = app
        .create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    browser.login("ops@acme.test", "a-wrong-password-77").await;
    browser.login("ops@acme.test", PASSWORD).await;
    browser.get("/settings").await;
    browser.post_form("/logout", &[]).await;

    let mut conn = app.conn().await;
    let events =
        m2m_console::db::models::audit_event::AuditEvent::list_for_org(&mut conn, user.org_id, 50)
            .await
            .unwrap();
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.login_failed", "user.login", "user.logout"]);
    let dump = format!("{events:?}");
    assert!(!dump.contains(PASSWORD) && !dump.contains("a-wrong-password-77"));
    assert!(events.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_passwords_or_session_keys() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "logcheck@acme.test", StaffRole::SuperAdmin)
        .await;
    let mut browser = app.client();
    browser
        .login("logcheck@acme.test", "wrong-password-for-the-log-test")
        .await;
    let res = browser
        .http
        .post(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    drop(res);
    browser.login("logcheck@acme.test", PASSWORD).await;
    browser.get("/settings/users").await;
    let cookie = browser.cookie_header().unwrap();
    let session_key = cookie.split_once('=').unwrap().1.to_string();
    let csrf = browser.csrf().await;

    let logs = captured_logs();
    assert!(logs.contains("sign-in failed"), "the log capture works");
    assert!(!logs.contains(PASSWORD));
    assert!(!logs.contains("wrong-password-for-the-log-test"));
    assert!(!logs.contains(&csrf));
    assert!(!logs.contains(&session_key));
}
