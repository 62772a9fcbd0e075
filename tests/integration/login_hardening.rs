//! Sign-in as an attacker tries it: oversized and hostile input, bursts of concurrent
//! guesses, lock-outs a stranger would like to hold, log flooding, anonymous rows and
//! open redirects.

use diesel::QueryDsl;
use diesel_async::RunQueryDsl;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;
use m2m_console::db::schema::{audit_events, login_attempts, sessions};

use crate::helpers::{Browser, PASSWORD, Page, TestApp, captured_logs};

const HOME: &str = "/settings/integrations/machine-to-machine";

async fn count_rows(app: &TestApp, table: &str) -> i64 {
    let mut conn = app.conn().await;
    match table {
        "login_attempts" => login_attempts::table.count().get_result(&mut conn).await,
        "sessions" => sessions::table.count().get_result(&mut conn).await,
        "audit_events" => audit_events::table.count().get_result(&mut conn).await,
        other => panic!("no such table {other}"),
    }
    .unwrap()
}

/// A sign-in attempt that claims to come from `ip` (the app trusts 127.0.0.1 as a proxy).
async fn login_from(browser: &mut Browser, ip: &str, email: &str, password: &str) -> Page {
    browser.get("/login").await;
    let token = browser.csrf().await;
    browser
        .post_raw(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ],
            &[("X-Forwarded-For", ip)],
        )
        .await
}

async fn behind_a_proxy() -> TestApp {
    TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await
}

async fn events(app: &TestApp, action: &str) -> Vec<AuditEvent> {
    let user =
        m2m_console::db::models::user::User::find_by_email(&mut *app.conn().await, "ops@acme.test")
            .await
            .unwrap()
            .unwrap();
    AuditEvent::list_for_org(&mut *app.conn().await, user.org_id, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_control_character_input_is_refused_before_any_work() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    let huge_email = format!("{}@acme.test", "a".repeat(3000));
    for _ in 0..30 {
        let res = browser.login(&huge_email, "wrong").await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.body.contains("Enter a valid email address"));
    }
    for email in ["ops\0@acme.test", "ops@acme.test\u{1b}"] {
        assert_eq!(browser.login(email, "wrong").await.status, 422);
    }
    let huge_password = "p".repeat(1025);
    assert_eq!(
        browser.login("ops@acme.test", &huge_password).await.status,
        401
    );
    assert_eq!(
        browser.login("ops@acme.test", "pass\0word").await.status,
        401
    );
    assert_eq!(
        count_rows(&app, "login_attempts").await,
        0,
        "nothing reached the throttle, the database or argon2"
    );
    assert!(!captured_logs().contains(&huge_email));
    // The owner is not slowed by any of it.
    let res = browser.login("ops@acme.test", PASSWORD).await;
    assert_eq!(res.status, 303);
    assert_ne!(res.location(), Some("/login/code"), "signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_never_get_more_tries_than_the_allowance() {
    // Enough argon2 slots that only the throttle stands in the way.
    let app = TestApp::spawn_with(|s| s.argon2_slots = 64).await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browsers = Vec::new();
    for _ in 0..60 {
        let mut b = app.client();
        b.get("/login").await;
        browsers.push(b);
    }
    let attempts = browsers.iter_mut().map(|b| async move {
        let token = b.csrf().await;
        b.post_raw(
            "/login",
            &[
                ("email", "ops@acme.test"),
                ("password", "not the password"),
                ("csrf_token", &token),
            ],
            &[],
        )
        .await
        .status
    });
    let statuses = futures::future::join_all(attempts).await;
    let verified = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    assert!(
        (1..=5).contains(&verified),
        "{verified} passwords were verified, the allowance is 5: {statuses:?}"
    );
    assert_eq!(events(&app, "user.login_failed").await.len(), verified);
}

/// `n` users of Acme with the fixtures' password, each with a client showing the sign-in form.
async fn people_at_the_sign_in_form(app: &TestApp, n: usize) -> Vec<(Browser, String)> {
    let mut people = Vec::new();
    for i in 0..n {
        let email = format!("user{i}@acme.test");
        app.create_user("Acme", &email, StaffRole::Viewer).await;
        let mut b = app.client();
        b.get("/login").await;
        people.push((b, email));
    }
    people
}

/// Everyone signs in with the right password at the same moment: each answer, and how long
/// it took.
async fn all_at_once(people: &mut [(Browser, String)]) -> Vec<(Page, std::time::Duration)> {
    let attempts = people.iter_mut().map(|(b, email)| async move {
        let token = b.csrf().await;
        let started = std::time::Instant::now();
        let page = b
            .post_raw(
                "/login",
                &[
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                    ("csrf_token", &token),
                ],
                &[],
            )
            .await;
        (page, started.elapsed())
    });
    futures::future::join_all(attempts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_people_signing_in_at_once_on_two_argon2_slots_all_get_in() {
    let app = TestApp::spawn_with(|s| s.argon2_slots = 2).await;
    let mut people = people_at_the_sign_in_form(&app, 5).await;
    let answers = all_at_once(&mut people).await;
    let statuses: Vec<u16> = answers.iter().map(|(p, _)| p.status).collect();
    assert_eq!(statuses, [303; 5], "a short wait for a slot, not a 503");
    assert!(answers.iter().all(|(p, _)| p.location() == Some(HOME)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_the_queue_gets_503_with_retry_after_at_once() {
    // One slot: one sign-in hashing, four waiting, the rest turned away.
    let app = TestApp::spawn_with(|s| s.argon2_slots = 1).await;
    let mut people = people_at_the_sign_in_form(&app, 40).await;
    let answers = all_at_once(&mut people).await;
    assert!(
        answers.iter().all(|(p, _)| [303, 503].contains(&p.status)),
        "{:?}",
        answers.iter().map(|(p, _)| p.status).collect::<Vec<_>>()
    );
    let busy: Vec<&(Page, std::time::Duration)> =
        answers.iter().filter(|(p, _)| p.status == 503).collect();
    assert!(!busy.is_empty(), "forty at once cannot all fit the queue");
    assert!(answers.iter().any(|(p, _)| p.status == 303));
    for (page, _) in &busy {
        assert_eq!(page.header("retry-after"), Some("1"));
        assert!(page.body.contains("Try again in a moment"));
    }
    // Those beyond the queue are answered at once, not after the wait (1.5 s).
    let quickest = busy.iter().map(|(_, took)| *took).min().unwrap();
    assert!(
        quickest < std::time::Duration::from_secs(1),
        "the fastest 503 took {quickest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_failing_from_elsewhere_never_locks_the_owner_out() {
    let app = behind_a_proxy().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::SuperAdmin)
        .await;
    let mut attacker = app.client();
    for i in 0..40 {
        // Several addresses, as a botnet would.
        let ip = format!("198.51.100.{}", i % 4);
        let res = login_from(&mut attacker, &ip, "ops@acme.test", "guess").await;
        assert!([401, 429].contains(&res.status), "{}", res.status);
    }
    assert_eq!(
        login_from(&mut attacker, "198.51.100.0", "ops@acme.test", PASSWORD)
            .await
            .status,
        429,
        "the failing address stays throttled, even with the right password"
    );
    let mut owner = app.client();
    let res = login_from(&mut owner, "203.0.113.7", "ops@acme.test", PASSWORD).await;
    assert_eq!(res.status, 303, "the owner's address never failed");
    assert_ne!(res.location(), Some("/login/code"), "signed in");
    // An IPv6 attacker cannot dodge by walking through its /64.
    let mut v6 = app.client();
    for i in 0..5 {
        login_from(&mut v6, &format!("2001:db8::{i}"), "ops@acme.test", "guess").await;
    }
    assert_eq!(
        login_from(&mut v6, "2001:db8::99", "ops@acme.test", "guess")
            .await
            .status,
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_audited_once_per_lock_out_not_per_attempt() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    let mut browser = app.client();
    for _ in 0..5 {
        assert_eq!(browser.login("ops@acme.test", "wrong").await.status, 401);
    }
    let before = count_rows(&app, "audit_events").await;
    for _ in 0..25 {
        assert_eq!(browser.login("ops@acme.test", "wrong").await.status, 429);
    }
    assert_eq!(
        count_rows(&app, "audit_events").await,
        before,
        "refused attempts add no rows"
    );
    let throttled = events(&app, "user.login_throttled").await;
    assert_eq!(throttled.len(), 1, "one row for the one episode");
    assert_eq!(throttled[0].actor_email.as_deref(), Some("ops@acme.test"));
    assert_eq!(throttled[0].details["scope"], "account_at_address");
    assert_eq!(events(&app, "user.login_failed").await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pages_store_nothing_on_the_server() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    for path in [
        "/login",
        "/login?next=%2Fsettings",
        "/setup?token=nope",
        "/",
        "/settings",
        "/settings/integrations/machine-to-machine",
        "/no-such-page",
    ] {
        // A fresh, cookie-less client each time, as a crawler or an attacker would be.
        let res = app.client().get(path).await;
        assert!(res.status < 500, "{path}: {}", res.status);
    }
    let mut browser = app.client();
    browser.login("ops@acme.test", "wrong").await;
    assert_eq!(count_rows(&app, "sessions").await, 0);
    // The form keeps its CSRF protection: a token without its cookie is refused.
    let mut stranger = app.client();
    let token = browser.csrf().await;
    let res = stranger
        .post_raw(
            "/login",
            &[
                ("email", "ops@acme.test"),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
            &[],
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(browser.login("ops@acme.test", PASSWORD).await.status, 303);
    assert_eq!(count_rows(&app, "sessions").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_never_leaves_the_console_whatever_characters_it_hides() {
    let app = TestApp::spawn().await;
    app.create_user("Acme", "ops@acme.test", StaffRole::Admin)
        .await;
    for hostile in [
        "/\t/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "https://evil.example/settings",
        "/settings\r\nSet-Cookie: planted=1",
        "/login",
    ] {
        let mut browser = app.client();
        browser.get("/login").await;
        let res = browser
            .post_form(
                "/login",
                &[
                    ("email", "ops@acme.test"),
                    ("password", PASSWORD),
                    ("next", hostile),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{hostile:?}");
        let location = res.location().unwrap();
        assert!(
            location == HOME || location.starts_with("/settings"),
            "{hostile:?} went to {location}"
        );
        assert!(
            !location.contains("evil")
                && res
                    .header("set-cookie")
                    .is_none_or(|c| !c.contains("planted"))
        );
    }
    let form = app
        .client()
        .get("/login?next=%2F%0D%0A%2Fevil.example")
        .await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains(&format!("value=\"{HOME}\"")));
    assert!(!form.body.contains("evil.example"));
}
