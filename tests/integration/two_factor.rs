//! Two-factor sign-in for staff (issue 14): enrolment, the code step of signing in, the
//! ±1 step window, replay, recovery codes and the throttle. The policy, the Super Admin's
//! reset and the no-secrets checks are in `two_factor_policy`.

use chrono::Duration;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{enrol_two_factor, login_with_code, start_of_step, testid_text, totp_code};
use crate::helpers::{PASSWORD, TestApp};

const SECURITY: &str = "/settings/account/security";
const M2M: &str = "/settings/integrations/machine-to-machine";

async fn actions(app: &TestApp, org: m2m_console::db::ids::OrgId) -> Vec<String> {
    AuditEvent::list_for_org(&mut *app.conn().await, org, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_needs_a_right_code_and_then_shows_ten_recovery_codes() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Viewer).await;

    let page = browser.get(SECURITY).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"setup-submit\""));

    let page = browser.post_form(&format!("{SECURITY}/setup"), &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let key_text = testid_text(&page.body, "totp-key")
        .unwrap()
        .replace(' ', "");
    let key = data_encoding::BASE32_NOPAD
        .decode(key_text.as_bytes())
        .unwrap();
    assert_eq!(key.len(), 20);
    assert!(page.body.contains("src=\"data:image/svg+xml;base64,"));
    assert!(page.body.contains("autocomplete=\"one-time-code\""));
    assert!(page.body.contains("inputmode=\"numeric\""));
    assert!(
        !page.body.contains("otpauth://"),
        "the URI is only inside the QR code"
    );

    start_of_step(&app);
    let wrong = format!(
        "{:06}",
        (totp_code(&app, &key, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let page = browser
        .post_form(&format!("{SECURITY}/confirm"), &[("code", &wrong)])
        .await;
    assert_eq!(page.status, 422);
    assert!(testid_text(&page.body, "error-code").is_some());
    assert!(
        page.body.contains("data-testid=\"enrolment\""),
        "still enrolling"
    );

    let page = browser
        .post_form(
            &format!("{SECURITY}/confirm"),
            &[("code", &totp_code(&app, &key, 0))],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let codes = crate::fixtures::testid_texts(&page.body, "recovery-code");
    assert_eq!(codes.len(), 10);
    assert!(
        page.body
            .contains("Two-factor sign-in is <strong>on</strong>")
    );

    // Shown once: the next visit lists none.
    let page = browser.get(SECURITY).await;
    assert!(crate::fixtures::testid_texts(&page.body, "recovery-code").is_empty());
    assert_eq!(
        testid_text(&page.body, "recovery-codes-left").as_deref(),
        Some("10")
    );
    let actions = actions(&app, user.org_id).await;
    assert!(actions.contains(&"user.two_factor_enabled".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_asks_for_the_code_after_the_password_and_only_the_right_one_passes() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;

    // A wrong password with a right code: refused on the sign-in form, the code step is
    // never reached.
    let mut stranger = app.client();
    let res = stranger.login(&user.email, "not the password").await;
    assert!(res.refused_on_the_form(), "{}", res.body);
    let res = stranger
        .post_form("/login/code", &[("code", &totp_code(&app, &keys.key, 0))])
        .await;
    // No pending sign-in, so no session token either: refused before any code is looked at.
    assert!(matches!(res.status, 303 | 403), "{}", res.status);
    assert_eq!(stranger.get(M2M).await.status, 303);

    // The right password: not signed in yet, the code form instead.
    let mut b = app.client();
    let res = b.login(&user.email, PASSWORD).await;
    assert_eq!(res.location(), Some("/login/code"));
    assert_eq!(
        b.get(M2M).await.status,
        303,
        "not signed in by the password alone"
    );
    let form = b.get("/login/code").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("autocomplete=\"one-time-code\""));

    let res = b.post_form("/login/code", &[("code", "000000")]).await;
    let res = if totp_code(&app, &keys.key, 0) == "000000" {
        b.post_form("/login/code", &[("code", "111111")]).await
    } else {
        res
    };
    assert_eq!(res.status, 401);
    assert!(testid_text(&res.body, "code-error").is_some());
    assert_eq!(b.get(M2M).await.status, 303);
    assert!(
        actions(&app, user.org_id)
            .await
            .contains(&"user.two_factor_failed".to_string())
    );

    let res =
        crate::fixtures::login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, 0)).await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), Some(M2M));
    assert_eq!(b.get(M2M).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_one_step_off_pass_two_steps_off_do_not_and_a_used_step_is_refused() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    start_of_step(&app);

    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, -2))
            .await
            .status,
        401
    );
    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, 2))
            .await
            .status,
        401
    );
    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, -1))
            .await
            .status,
        303
    );

    // The same code again, in the same step: refused.
    let mut b = app.client();
    let replay = login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, -1)).await;
    assert_eq!(replay.status, 401);

    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, 1))
            .await
            .status,
        303
    );
    // Once a later step was used, an earlier one (the current step) is spent too.
    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, 0))
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    let code = keys.recovery_codes[3].clone();

    let mut b = app.client();
    let res = login_with_code(&mut b, &user.email, &code.to_uppercase()).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(b.get(M2M).await.status, 200);
    let page = b.get(SECURITY).await;
    assert_eq!(
        testid_text(&page.body, "recovery-codes-left").as_deref(),
        Some("9")
    );

    let mut again = app.client();
    assert_eq!(
        login_with_code(&mut again, &user.email, &code).await.status,
        401
    );
    let actions = actions(&app, user.org_id).await;
    assert!(actions.contains(&"user.recovery_code_used".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_attempts_are_throttled_and_a_right_code_waits_too() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    start_of_step(&app);
    let right = totp_code(&app, &keys.key, 0);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };

    let mut b = app.client();
    assert_eq!(
        b.login(&user.email, PASSWORD).await.location(),
        Some("/login/code")
    );
    b.get("/login/code").await;
    for _ in 0..4 {
        assert_eq!(
            b.post_form("/login/code", &[("code", wrong)]).await.status,
            401
        );
    }
    // The fifth ends this pending sign-in (see `two_factor_limits`).
    let fifth = b.post_form("/login/code", &[("code", wrong)]).await;
    assert_eq!(fifth.location(), Some("/login"));
    // The password again, from the same address: the code throttle holds even the right
    // code back for a while.
    assert!(b.login(&user.email, PASSWORD).await.to_code_step());
    b.get("/login/code").await;
    let refused = b.post_form("/login/code", &[("code", &right)]).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(b.get(M2M).await.status, 303);

    // After the lock-out, the right code passes (the password step is still fresh).
    app.clock.advance(Duration::seconds(31));
    let code = totp_code(&app, &keys.key, 0);
    let res = b.post_form("/login/code", &[("code", &code)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_step_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    let mut b = app.client();
    b.login(&user.email, PASSWORD).await;
    b.get("/login/code").await;
    app.clock.advance(Duration::minutes(6));
    let res = b
        .post_form("/login/code", &[("code", &totp_code(&app, &keys.key, 0))])
        .await;
    assert_eq!(res.location(), Some("/login"));
    assert_eq!(b.get(M2M).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerating_and_turning_off_need_a_current_code() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    start_of_step(&app);

    let page = browser
        .post_form(&format!("{SECURITY}/recovery-codes"), &[("code", "")])
        .await;
    assert_eq!(page.status, 422);
    let page = browser
        .post_form(
            &format!("{SECURITY}/recovery-codes"),
            &[("code", &totp_code(&app, &keys.key, 0))],
        )
        .await;
    assert_eq!(page.status, 200);
    let fresh = crate::fixtures::testid_texts(&page.body, "recovery-code");
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&keys.recovery_codes[0]));

    let page = browser
        .post_form(&format!("{SECURITY}/disable"), &[("code", "")])
        .await;
    assert_eq!(page.status, 422);
    let page = browser
        .post_form(
            &format!("{SECURITY}/disable"),
            &[("code", &totp_code(&app, &keys.key, 1))],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"setup-submit\""));

    // Off: the password alone signs in again.
    let mut b = app.client();
    assert_eq!(b.login(&user.email, PASSWORD).await.location(), Some(M2M));
    let actions = actions(&app, user.org_id).await;
    assert!(actions.contains(&"user.recovery_codes_regenerated".to_string()));
    assert!(actions.contains(&"user.two_factor_disabled".to_string()));
}
