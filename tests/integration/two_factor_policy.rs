//! Two-factor sign-in (issue 14), the organisation's side: the policy that forces
//! enrolment, a Super Admin's reset, and no key or code in the logs or the audit log.

use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{enrol_two_factor, login_with_code, totp_code};
use crate::helpers::{Browser, PASSWORD, TestApp, captured_logs};

const SECURITY: &str = "/settings/account/security";
const M2M: &str = "/settings/integrations/machine-to-machine";

async fn require_two_factor(browser: &mut Browser) {
    let page = browser
        .post_form(
            "/settings/policy",
            &[
                ("expires_soon_days", "30"),
                ("stale_after_days", "90"),
                ("stale_action", "warn"),
                ("require_two_factor", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_takes_admins_to_enrolment_until_they_have_enrolled() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    require_two_factor(&mut boss).await;
    let policy = boss.get(SECURITY).await;
    assert!(policy.body.contains("data-testid=\"two-factor-required\""));

    let (_, mut admin) = app.login_as(StaffRole::Admin).await;
    for path in [M2M, "/settings", "/settings/audit", "/settings/users"] {
        let page = admin.get(path).await;
        assert_eq!(page.location(), Some(SECURITY), "{path}");
    }
    let page = admin.hx_get(M2M).await;
    assert_eq!(page.header("hx-redirect"), Some(SECURITY));
    assert_eq!(admin.get(SECURITY).await.status, 200);
    // Signing out still works.
    let _ = admin.csrf().await;

    // A Viewer is not covered by the policy.
    let (_, mut viewer) = app.login_as(StaffRole::Viewer).await;
    assert_eq!(viewer.get(M2M).await.status, 200);

    enrol_two_factor(&app, &mut admin).await;
    assert_eq!(admin.get(M2M).await.status, 200);
    assert!(admin.get("/settings/policy").await.status != 303);

    let out = admin.post_form("/logout", &[]).await;
    assert_eq!(out.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_is_off_by_default_and_shown_on_the_policy_page() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let page = boss.get("/settings/policy").await;
    assert!(page.body.contains("data-testid=\"require-two-factor\""));
    assert!(
        !page
            .body
            .contains("data-testid=\"require-two-factor\" checked")
    );
    assert_eq!(boss.get(M2M).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_resets_two_factor_and_the_users_sessions_end() {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (user, mut admin) = app.login_as(StaffRole::Admin).await;
    enrol_two_factor(&app, &mut admin).await;
    assert_eq!(admin.get(M2M).await.status, 200);

    let users = boss.get("/settings/users").await;
    assert!(
        users
            .body
            .contains(&format!("/settings/users/{}/two-factor/reset", user.id))
    );
    let res = boss
        .post_form(
            &format!("/settings/users/{}/two-factor/reset", user.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);

    assert_eq!(
        admin.get(M2M).await.status,
        303,
        "the user's sessions ended"
    );
    assert_eq!(boss.get(M2M).await.status, 200, "the Super Admin's did not");
    // The password alone signs in now (no policy requires more).
    let mut again = app.client();
    assert_eq!(
        again.login(&user.email, PASSWORD).await.location(),
        Some(M2M)
    );

    let events = AuditEvent::list_for_org(&mut *app.conn().await, boss_user.org_id, 100)
        .await
        .unwrap();
    let reset = events
        .iter()
        .find(|e| e.action == "user.two_factor_reset")
        .unwrap();
    assert_eq!(reset.actor_user_id, Some(boss_user.id));
    assert_eq!(
        reset.target_id.as_deref(),
        Some(user.id.to_string().as_str())
    );

    // An Admin cannot reset anyone.
    let (_, mut other) = app.login_as(StaffRole::Admin).await;
    let res = other
        .post_form(
            &format!("/settings/users/{}/two-factor/reset", boss_user.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_code_reaches_the_logs_or_the_audit_log() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    let code = totp_code(&app, &keys.key, 0);
    let wrong = if code == "424242" { "242424" } else { "424242" };
    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, wrong).await.status,
        401
    );
    let mut b = app.client();
    assert_eq!(
        login_with_code(&mut b, &user.email, &code).await.status,
        303
    );
    let mut c = app.client();
    let recovery = keys.recovery_codes[0].clone();
    assert_eq!(
        login_with_code(&mut c, &user.email, &recovery).await.status,
        303
    );

    let mut secrets = vec![keys.key_base32.clone(), code.clone(), wrong.to_string()];
    secrets.extend(keys.recovery_codes.iter().cloned());
    secrets.extend(keys.recovery_codes.iter().map(|c| c.replace('-', "")));
    let logs = captured_logs();
    let events = AuditEvent::list_for_org(&mut *app.conn().await, user.org_id, 200)
        .await
        .unwrap();
    let audit = serde_json::to_string(
        &events
            .iter()
            .map(|e| (e.action.clone(), e.details.clone(), e.target_label.clone()))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
        assert!(
            !audit.contains(secret.as_str()),
            "a secret in the audit log"
        );
    }
    assert!(!logs.contains("otpauth"));
    // The key is sealed at rest.
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::user_two_factor;
    let sealed: Vec<u8> = user_two_factor::table
        .find(user.id)
        .select(user_two_factor::sealed_key)
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert!(
        !sealed
            .windows(keys.key.len())
            .any(|w| w == keys.key.as_slice())
    );
}
