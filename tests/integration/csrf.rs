use m2m_console::db::models::invitation::Invitation;
use m2m_console::db::models::user::StaffRole;

use crate::helpers::{PASSWORD, TestApp};

/// Whether Acme has an open invitation of `email` (what the users form makes).
async fn user_exists(app: &TestApp, email: &str) -> bool {
    let mut conn = app.conn().await;
    let Some(org) =
        m2m_console::db::models::organisation::Organisation::find_by_name(&mut conn, "Acme")
            .await
            .unwrap()
    else {
        return false;
    };
    Invitation::list_open(&mut conn, org.id)
        .await
        .unwrap()
        .iter()
        .any(|i| i.email == email)
}

const NEW_USER: [(&str, &str); 2] = [("email", "new@acme.test"), ("role", "viewer")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_a_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let res = browser.post_raw("/settings/users", &NEW_USER, &[]).await;
    assert_eq!(res.status, 403);
    assert!(!user_exists(&app, "new@acme.test").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_with_a_wrong_token_is_refused() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let mut fields = NEW_USER.to_vec();
    fields.push(("csrf_token", "forged"));
    assert_eq!(
        browser
            .post_raw("/settings/users", &fields, &[])
            .await
            .status,
        403
    );
    assert_eq!(
        browser
            .post_raw("/settings/users", &NEW_USER, &[("X-CSRF-Token", "forged")])
            .await
            .status,
        403
    );
    assert!(!user_exists(&app, "new@acme.test").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sessions_token_does_not_work() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let (_, mut other) = app.login_as(StaffRole::SuperAdmin).await;
    let stolen = other.csrf().await;
    assert_eq!(
        browser
            .post_raw("/settings/users", &NEW_USER, &[("X-CSRF-Token", &stolen)])
            .await
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_request_is_refused_even_with_the_token() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let token = browser.csrf().await;
    let res = browser
        .post_raw(
            "/settings/users",
            &NEW_USER,
            &[("X-CSRF-Token", &token), ("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    assert_eq!(res.status, 403);
    assert!(!user_exists(&app, "new@acme.test").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_token_in_a_field_or_header_is_accepted() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    assert_eq!(
        browser.post_form("/settings/users", &NEW_USER).await.status,
        200
    );
    let res = browser
        .hx_post(
            "/settings/users",
            &[("email", "second@acme.test"), ("role", "admin")],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(
        user_exists(&app, "new@acme.test").await && user_exists(&app, "second@acme.test").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_logout_need_the_token_too() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    browser.get("/login").await;
    let res = browser
        .post_raw(
            "/login",
            &[("email", "ops@acme.test"), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(res.status, 403);
    let (_, mut signed_in) = app.login_as(StaffRole::Admin).await;
    assert_eq!(signed_in.post_raw("/logout", &[], &[]).await.status, 403);
    assert_eq!(
        signed_in.get("/settings").await.status,
        200,
        "still signed in"
    );
}
