use m2m_console::db::models::user::StaffRole;

use crate::helpers::TestApp;

fn assert_security_headers(headers: &reqwest::header::HeaderMap) {
    let csp = headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(headers.get("referrer-policy").unwrap(), "no-referrer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let (_, browser) = app.login_as(StaffRole::Viewer).await;
    for path in [
        "/login",
        "/settings",
        "/settings/users",
        "/no-such-page",
        "/healthz",
    ] {
        let res = browser.http.get(app.url(path)).send().await.unwrap();
        assert_security_headers(res.headers());
    }
    let css = browser
        .http
        .get(app.url(&m2m_console::assets::url_for("app.css")))
        .send()
        .await
        .unwrap();
    assert_security_headers(css.headers());
    assert!(app.setup_link.is_some());
    // No Strict-Transport-Security over plain http.
    let res = browser.http.get(app.url("/login")).send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_use_no_inline_script_or_style() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    for path in [
        "/login",
        "/settings",
        "/settings/integrations",
        "/settings/integrations/machine-to-machine",
        "/settings/users",
    ] {
        let page = browser.get(path).await;
        assert!(
            !page.body.contains("<script>")
                && !page.body.contains("style=")
                && !page.body.contains("hx-on"),
            "{path}"
        );
        assert!(!page.body.contains("<style"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_whole_or_as_fragments_with_vary() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let page = browser.get("/settings/users").await;
    assert!(page.body.trim_start().starts_with("<!doctype html>"));
    assert!(page.body.contains("<meta name=\"csrf-token\""));
    assert!(page.body.contains("hx-headers="));
    assert!(page.body.contains("id=\"modal\"") && page.body.contains("id=\"toasts\""));
    assert_eq!(page.header("vary"), Some("HX-Request"));

    let fragment = browser.hx_get("/settings/users").await;
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<section id=\"users-section\">")
    );
    assert!(!fragment.body.contains("<html"));
    assert_eq!(fragment.header("vary"), Some("HX-Request"));

    // A history restore needs the whole page again.
    let res = browser
        .http
        .get(app.url("/settings/users"))
        .header("HX-Request", "true")
        .header("HX-History-Restore-Request", "true")
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().starts_with("<!doctype html>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_can_click_from_settings_to_machine_to_machine() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
    let settings = browser.get("/settings").await;
    assert!(settings.body.contains("href=\"/settings/integrations\""));
    assert!(
        !settings.body.contains("href=\"/settings/users\""),
        "Admins are not shown Users"
    );
    let integrations = browser.get("/settings/integrations").await;
    assert!(
        integrations
            .body
            .contains("href=\"/settings/integrations/machine-to-machine\"")
    );
    let m2m = browser
        .get("/settings/integrations/machine-to-machine")
        .await;
    assert_eq!(m2m.status, 200);
    assert!(m2m.body.contains("aria-label=\"Breadcrumb\""));
    assert!(
        m2m.body
            .contains("<span aria-current=\"page\">Machine to Machine</span>")
    );
    assert_eq!(
        browser.get("/").await.location(),
        Some("/settings/integrations/machine-to-machine")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_are_versioned_cached_and_revalidated() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let htmx_url = m2m_console::assets::url_for(m2m_console::assets::HTMX_FILE);
    assert!(htmx_url.starts_with("/static/htmx-2.0.11.min.js?v="));
    let res = client.get(app.url(&htmx_url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );
    assert!(
        res.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let etag = res.headers().get("etag").unwrap().clone();
    let again = client.get(app.url("/static/app.css")).send().await.unwrap();
    assert_eq!(again.headers().get("cache-control").unwrap(), "no-cache");
    let cached = client
        .get(app.url(&htmx_url))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(
        client
            .get(app.url("/static/nope.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_probes_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
    assert_eq!(
        reqwest::get(app.url("/readyz")).await.unwrap().status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_fast_503s_and_the_server_recovers() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
    let name = app.settings.database_url.database_name();
    let admin_url = app.settings.database_url.with_database("postgres");
    let mut admin = diesel_async::AsyncPgConnection::establish(admin_url.expose())
        .await
        .unwrap();

    // Refuse new connections and cut the existing ones: the database is "down".
    diesel::sql_query(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&mut admin)
    .await
    .unwrap();

    let started = std::time::Instant::now();
    let page = browser.get("/settings").await;
    assert_eq!(page.status, 503);
    assert!(page.body.contains("temporarily unavailable"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "fast, not a hang"
    );
    assert_eq!(
        reqwest::get(app.url("/readyz")).await.unwrap().status(),
        503
    );
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );

    diesel::sql_query(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if browser.get("/settings").await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the server recovers by itself, and the session survived"
    );
}
