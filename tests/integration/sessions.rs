use chrono::Duration;
use m2m_console::db::models::user::Role;

use crate::helpers::{PASSWORD, TestApp};

/// A client that sends exactly `cookie` (as a stolen or replayed cookie would be).
async fn status_with_cookie(app: &TestApp, cookie: &str, path: &str) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .get(app.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_issues_a_new_session_key() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", Role::Admin).await;
    let mut browser = app.client();
    browser.get("/login").await;
    let before = browser
        .cookie_header()
        .expect("the sign-in form starts an anonymous session");
    browser
        .post_form(
            "/login",
            &[("email", "ops@acme.test"), ("password", PASSWORD)],
        )
        .await;
    let after = browser.cookie_header().unwrap();
    assert_ne!(before, after);
    // The pre-login key is worthless afterwards (no session fixation).
    assert_eq!(status_with_cookie(&app, &before, "/settings").await, 303);
    assert_eq!(status_with_cookie(&app, &after, "/settings").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_httponly_and_lax() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(app.url("/login")).await.unwrap();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.starts_with("m2m_session="));
    assert!(set_cookie.contains("HttpOnly"));
    assert!(set_cookie.contains("SameSite=Lax"));
    assert!(!set_cookie.contains("Secure"), "plain http in development");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_cookie_is_secure_and_host_prefixed() {
    let app =
        TestApp::spawn_with(|s| s.public_url = "https://console.example.com".parse().unwrap())
            .await;
    let res = reqwest::get(app.url("/login")).await.unwrap();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.starts_with("__Host-m2m_session="));
    assert!(set_cookie.contains("Secure"));
    assert!(set_cookie.contains("Path=/"));
    assert!(!set_cookie.contains("Domain"));
    assert!(res.headers().get("strict-transport-security").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(Role::Admin).await;
    let cookie = browser.cookie_header().unwrap();
    let res = browser.post_form("/logout", &[]).await;
    assert_eq!(res.location(), Some("/login?signed_out=1"));
    // Even a copy of the cookie kept from before is refused.
    assert_eq!(status_with_cookie(&app, &cookie, "/settings").await, 303);
    assert_eq!(browser.get("/settings").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_ends_their_sessions_on_the_next_request() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(Role::SuperAdmin).await;
    let (admin, mut victim) = app.login_as(Role::Admin).await;
    assert_eq!(victim.get("/settings").await.status, 200);

    let res = boss
        .post_form(&format!("/settings/users/{}/disable", admin.id), &[])
        .await;
    assert_eq!(res.status, 303);
    let next = victim.get("/settings").await;
    assert_eq!(next.status, 303);
    assert!(next.location().unwrap().starts_with("/login"));
    // And they cannot sign back in.
    assert_eq!(victim.login(&admin.email, PASSWORD).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_ends_that_users_sessions() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(Role::SuperAdmin).await;
    let (admin, mut other) = app.login_as(Role::Admin).await;
    boss.post_form(
        &format!("/settings/users/{}/role", admin.id),
        &[("role", "viewer")],
    )
    .await;
    assert_eq!(other.get("/settings").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_expires_after_the_idle_timeout() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(Role::Admin).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        browser.get("/settings").await.status,
        200,
        "activity within 30 minutes keeps it"
    );
    app.clock.advance(Duration::minutes(29));
    assert_eq!(browser.get("/settings").await.status, 200);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(browser.get("/settings").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_session_still_ends_at_the_absolute_limit() {
    let app = TestApp::spawn_with(|s| s.session_absolute = Duration::hours(1)).await;
    let (_, mut browser) = app.login_as(Role::Admin).await;
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(19));
        assert_eq!(browser.get("/settings").await.status, 200);
    }
    app.clock.advance(Duration::minutes(4));
    assert_eq!(browser.get("/settings").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_honoured_by_every_instance_and_ended_everywhere() {
    let app = TestApp::spawn().await;
    let other = app.second_instance().await;
    let (_, mut browser) = app.login_as(Role::Admin).await;
    let cookie = browser.cookie_header().unwrap();
    assert_eq!(status_with_cookie(&other, &cookie, "/settings").await, 200);
    browser.post_form("/logout", &[]).await;
    assert_eq!(status_with_cookie(&other, &cookie, "/settings").await, 303);
}
