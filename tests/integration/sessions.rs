use chrono::Duration;
use m2m_console::db::models::user::StaffRole;

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
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    browser.get("/login").await;
    assert!(
        session_cookie(&browser).is_none(),
        "the sign-in form starts no session"
    );
    // A key planted before sign-in (session fixation) is not the one signed in.
    let planted = "m2m_session=planted-by-an-attacker";
    browser
        .jar
        .add_cookie_str(planted, &app.address.parse().unwrap());
    browser
        .post_form(
            "/login",
            &[("email", "ops@acme.test"), ("password", PASSWORD)],
        )
        .await;
    let after = session_cookie(&browser).unwrap();
    assert_ne!(after, planted);
    assert_eq!(status_with_cookie(&app, planted, "/settings").await, 303);
    assert_eq!(status_with_cookie(&app, &after, "/settings").await, 200);
}

/// The session cookie this browser holds, as `name=value`.
fn session_cookie(browser: &crate::helpers::Browser) -> Option<String> {
    browser
        .cookie_header()?
        .split("; ")
        .find(|c| c.starts_with("m2m_session="))
        .map(str::to_string)
}

/// Signs in with a hand-driven client (so a `Secure` cookie is still sent over the test's
/// plain http) and returns the `Set-Cookie` line of the session cookie.
async fn session_set_cookie(app: &TestApp, form_cookie: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(app.url("/login")).send().await.unwrap();
    let form = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(form_cookie))
        .expect("the sign-in form sets its CSRF cookie");
    assert!(form.contains("HttpOnly") && form.contains("SameSite=Strict"));
    let pair = form.split(';').next().unwrap().to_string();
    let token = crate::helpers::csrf_in(&page.text().await.unwrap()).unwrap();
    let res = client
        .post(app.url("/login"))
        .header("Cookie", pair)
        .form(&[
            ("email", "ops@acme.test"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.contains("m2m_session="))
        .expect("sign-in sets the session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_httponly_and_lax() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let set_cookie = session_set_cookie(&app, "m2m_form_csrf=").await;
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
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let set_cookie = session_set_cookie(&app, "__Host-m2m_form_csrf=").await;
    assert!(set_cookie.starts_with("__Host-m2m_session="));
    assert!(set_cookie.contains("Secure"));
    assert!(set_cookie.contains("Path=/"));
    assert!(!set_cookie.contains("Domain"));
    let res = reqwest::get(app.url("/login")).await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
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
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (admin, mut victim) = app.login_as(StaffRole::Admin).await;
    assert_eq!(victim.get("/settings").await.status, 200);

    let res = boss
        .post_form(&format!("/settings/users/{}/disable", admin.id), &[])
        .await;
    assert_eq!(res.status, 303);
    let next = victim.get("/settings").await;
    assert_eq!(next.status, 303);
    assert!(next.location().unwrap().starts_with("/login"));
    // And they cannot sign back in.
    assert!(
        victim
            .login(&admin.email, PASSWORD)
            .await
            .refused_on_the_form()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_ends_that_users_sessions() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (admin, mut other) = app.login_as(StaffRole::Admin).await;
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
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
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
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
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
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
    let cookie = browser.cookie_header().unwrap();
    assert_eq!(status_with_cookie(&other, &cookie, "/settings").await, 200);
    browser.post_form("/logout", &[]).await;
    assert_eq!(status_with_cookie(&other, &cookie, "/settings").await, 303);
}
