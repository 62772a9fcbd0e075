//! Changing one's password, the sessions page, signing out the other sessions, and a Super
//! Admin signing a user out everywhere (issue 14).

use chrono::Duration;
use m2m_console::db::models::session::{self, NewSession};
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{
    CHROME_ON_ANDROID, FIREFOX_ON_WINDOWS, NEW_PASSWORD, audit_rows, device, testid_text,
    testid_texts, trusting_localhost,
};
use crate::helpers::{PASSWORD, TestApp, captured_logs};

const SECURITY: &str = "/settings/account/security";
const CHANGE: &str = "/settings/account/security/password";
const SESSIONS: &str = "/settings/account/sessions";
const END_OTHERS: &str = "/settings/account/sessions/end-others";

/// Whether the browser is still signed in (the settings page answers instead of a redirect).
async fn signed_in(browser: &mut crate::helpers::Browser) -> bool {
    browser.get("/settings").await.status == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_current_password_is_refused_next_to_its_field() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Viewer).await;
    let page = browser
        .hx_post(
            CHANGE,
            &[
                ("current_password", "not-my-password-at-all"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        testid_text(&page.body, "error-current_password").as_deref(),
        Some("That is not your current password.")
    );
    assert!(!page.body.contains(NEW_PASSWORD) && !page.body.contains("not-my-password"));
    assert!(
        audit_rows(&app, user.org_id, "user.password_changed")
            .await
            .is_empty()
    );
    assert!(app.client().login(&user.email, PASSWORD).await.signed_in());
    assert!(
        app.client()
            .login(&user.email, NEW_PASSWORD)
            .await
            .refused_on_the_form()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_are_throttled_like_sign_ins() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
    for _ in 0..5 {
        let page = browser
            .post_form(
                CHANGE,
                &[
                    ("current_password", "a guess at it"),
                    ("new_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
    }
    let page = browser
        .post_form(
            CHANGE,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 429, "even the right one, while the lock holds");
    let retry: i64 = page.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry));
    app.clock.advance(Duration::seconds(31));
    let page = browser
        .post_form(
            CHANGE,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_ends_the_other_sessions_but_not_this_one() {
    let app = TestApp::spawn().await;
    let (user, mut here) = app.login_as(StaffRole::Admin).await;
    let mut elsewhere = app.client();
    assert!(elsewhere.login(&user.email, PASSWORD).await.signed_in());

    let page = here
        .post_form(
            CHANGE,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some(SECURITY));
    assert!(!page.body.contains(PASSWORD) && !page.body.contains(NEW_PASSWORD));
    let after = here.get(SECURITY).await;
    assert_eq!(after.status, 200, "this session stays signed in");
    assert!(
        after
            .body
            .contains("Password changed. 1 other session was signed out.")
    );
    assert!(!after.body.contains(NEW_PASSWORD));
    assert!(!signed_in(&mut elsewhere).await, "the other session ended");

    let rows = audit_rows(&app, user.org_id, "user.password_changed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].target_id.as_deref(),
        Some(user.id.to_string().as_str())
    );
    assert_eq!(rows[0].details["sessions_ended"], 1);
    let dump = serde_json::to_string(&rows[0].details).unwrap();
    assert!(!dump.contains(PASSWORD) && !dump.contains(NEW_PASSWORD));
    let logs = captured_logs();
    assert!(!logs.contains(NEW_PASSWORD));

    assert!(
        app.client()
            .login(&user.email, PASSWORD)
            .await
            .refused_on_the_form()
    );
    assert!(
        app.client()
            .login(&user.email, NEW_PASSWORD)
            .await
            .signed_in()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_page_lists_each_sign_in_this_one_first() {
    let app = TestApp::spawn_with(trusting_localhost).await;
    let user = app
        .create_user("Acme", "ops@acme.test", StaffRole::Viewer)
        .await;
    let mut phone = device(&app, CHROME_ON_ANDROID, "198.51.100.7");
    assert!(phone.login(&user.email, PASSWORD).await.signed_in());
    app.clock.advance(Duration::minutes(5));
    let mut laptop = device(&app, FIREFOX_ON_WINDOWS, "203.0.113.5");
    assert!(laptop.login(&user.email, PASSWORD).await.signed_in());
    // A session signed in before sessions kept where they came from.
    let now = app.clock.now();
    session::insert(
        &mut *app.conn().await,
        &NewSession {
            key_hash: &[7; 32],
            user_id: Some(user.id),
            pending_user_id: None,
            state: serde_json::json!({ "user_id": format!("\"{}\"", user.id) }),
            created_at: now,
            idle_expires_at: now + Duration::minutes(30),
            absolute_expires_at: now + Duration::hours(12),
        },
    )
    .await
    .unwrap();
    // The phone has been idle since it signed in; the older session was last active at 5.
    app.clock.advance(Duration::minutes(2));
    let page = laptop.get(SESSIONS).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        testid_texts(&page.body, "session-browser"),
        ["Firefox 133 ", "Unknown", "Chrome 131"]
    );
    assert_eq!(
        testid_texts(&page.body, "session-os"),
        ["Windows", "Unknown", "Android"]
    );
    let addresses = testid_texts(&page.body, "session-address");
    assert_eq!(addresses.len(), 3);
    assert_eq!(page.body.matches("data-testid=\"this-session\"").count(), 1);
    let first = page.body.find("data-testid=\"session-row\"").unwrap();
    assert!(page.body[first..].starts_with("data-testid=\"session-row\" data-current=\"true\""));
    assert!(page.body.contains("203.0.113.5") && page.body.contains("198.51.100.7"));
    assert!(
        page.body.contains("7 minutes ago"),
        "the phone's last activity"
    );
    assert!(page.body.contains("data-testid=\"end-others-submit\""));

    // The account security page links here.
    let security = laptop.get(SECURITY).await;
    assert!(security.body.contains(&format!("href=\"{SESSIONS}\"")));
    // Another user's sessions are not listed.
    let (_, mut other) = app.login_as(StaffRole::Viewer).await;
    let theirs = other.hx_get(SESSIONS).await;
    assert_eq!(testid_texts(&theirs.body, "session-row").len(), 1);
    assert!(!theirs.body.contains("203.0.113.5"));
    assert!(theirs.body.contains("data-testid=\"no-other-sessions\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_other_sessions_keeps_this_one_with_or_without_htmx() {
    let app = TestApp::spawn_with(trusting_localhost).await;
    let (user, mut here) = app.login_as(StaffRole::Admin).await;
    let mut phone = device(&app, CHROME_ON_ANDROID, "198.51.100.7");
    assert!(phone.login(&user.email, PASSWORD).await.signed_in());
    let mut tablet = app.client();
    assert!(tablet.login(&user.email, PASSWORD).await.signed_in());

    // Without JavaScript: a redirect and a flash.
    let res = here.post_form(END_OTHERS, &[]).await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), Some(SESSIONS));
    let page = here.get(SESSIONS).await;
    assert!(page.body.contains("Signed out 2 other sessions."));
    assert_eq!(testid_texts(&page.body, "session-row").len(), 1);
    assert!(signed_in(&mut here).await);
    assert!(!signed_in(&mut phone).await && !signed_in(&mut tablet).await);
    let rows = audit_rows(&app, user.org_id, "user.sessions_ended").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].details["sessions_ended"], 2);
    assert_eq!(rows[0].actor_user_id, Some(user.id));

    // With htmx: the section and a toast; the CSRF token is required either way.
    assert!(phone.login(&user.email, PASSWORD).await.signed_in());
    let res = here.hx_post(END_OTHERS, &[]).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("id=\"account-sessions\""));
    assert!(res.body.contains("Signed out 1 other session."));
    assert!(!signed_in(&mut phone).await);
    let forged = here.post_raw(END_OTHERS, &[], &[]).await;
    assert_eq!(forged.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_signs_a_user_of_their_organisation_out_everywhere() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (victim, mut victim_here) = app.login_as(StaffRole::Viewer).await;
    let mut victim_there = app.client();
    assert_eq!(
        victim_there.login(&victim.email, PASSWORD).await.status,
        303
    );
    let end = format!("/settings/users/{}/sessions/end", victim.id);

    // An Admin may not.
    let (_, mut admin) = app.login_as(StaffRole::Admin).await;
    assert_eq!(admin.post_form(&end, &[]).await.status, 403);
    assert!(signed_in(&mut victim_here).await);

    let users = boss.get("/settings/users").await;
    assert!(users.body.contains(&format!("action=\"{end}\"")));
    let res = boss.post_form(&end, &[]).await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), Some("/settings/users"));
    assert!(boss.get("/settings/users").await.body.contains(&format!(
        "Signed {} out everywhere (2 sessions).",
        victim.email
    )));
    assert!(!signed_in(&mut victim_here).await && !signed_in(&mut victim_there).await);
    assert!(signed_in(&mut boss).await);
    let rows = audit_rows(&app, victim.org_id, "user.sessions_ended").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].details["sessions_ended"], 2);
    assert_eq!(
        rows[0].target_id.as_deref(),
        Some(victim.id.to_string().as_str())
    );

    // A user of another organisation is not found, and keeps their sessions.
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::Viewer)
        .await;
    let mut outsider_browser = app.client();
    assert_eq!(
        outsider_browser
            .login(&outsider.email, PASSWORD)
            .await
            .status,
        303
    );
    let res = boss
        .post_form(
            &format!("/settings/users/{}/sessions/end", outsider.id),
            &[],
        )
        .await;
    assert_eq!(res.status, 404);
    assert!(signed_in(&mut outsider_browser).await);
    let res = boss
        .post_form("/settings/users/not-a-user/sessions/end", &[])
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_still_to_enrol_in_two_factor_may_still_manage_their_own_sign_in() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let policy = boss
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
    assert_eq!(policy.status, 303);
    let (user, mut admin) = app.login_as(StaffRole::Admin).await;
    assert_eq!(admin.get("/settings").await.location(), Some(SECURITY));
    assert_eq!(admin.get(SESSIONS).await.status, 200);
    assert_eq!(admin.post_form(END_OTHERS, &[]).await.status, 303);
    let page = admin
        .post_form(
            CHANGE,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(
        app.client()
            .login(&user.email, NEW_PASSWORD)
            .await
            .signed_in()
    );
}
