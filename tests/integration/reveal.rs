//! Screens that hold real data (issue 12): the one-time reveal (its acknowledgement, the
//! `.env` values, a curl that runs as pasted, and what a reload without JavaScript shows), the
//! allow-list hint before "Generate token" with the token's own curl, and the first sign-in
//! hint on an empty database.

use m2m_console::db::ids::CredentialId;
use m2m_console::db::models::user::{StaffRole, User};

use crate::fixtures::{
    create_credential, create_via_htmx, pairs, seed_catalog, setup_on, testid_text, valid_form,
    with,
};
use crate::helpers::{Browser, TestApp};

const BASE: &str = "/settings/integrations/machine-to-machine";

/// Text as the browser shows it: askama escapes quotes and ampersands.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Every `href`, `src` and `action` value on the page: none may carry a secret.
fn urls(body: &str) -> Vec<String> {
    ["href=\"", "src=\"", "action=\"", "hx-post=\"", "hx-get=\""]
        .iter()
        .flat_map(|attr| body.split(attr).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// An app whose `PUBLIC_URL` is its real address, so that commands shown run as pasted.
async fn app_at_its_public_url() -> TestApp {
    TestApp::spawn_with(|s| {
        // Picked as late as possible: the port is free again until the app binds it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        s.bind_addr = format!("127.0.0.1:{port}").parse().unwrap();
        s.public_url = format!("http://127.0.0.1:{port}/").parse().unwrap();
    })
    .await
}

/// Runs `command` through the shell exactly as a person would paste it.
fn run_in_shell(command: &str) -> serde_json::Value {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} --silent --show-error"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reveal_waits_for_the_acknowledgement_and_offers_the_values_as_env() {
    let app = TestApp::spawn_with(|s| {
        s.public_url = "http://console.example.test:8443/".parse().unwrap();
    })
    .await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let page = create_via_htmx(&mut browser, &valid_form(&catalog)).await;
    assert_eq!(page.status, 200);
    let secret = testid_text(&page.body, "client-secret").unwrap();
    let client_id = testid_text(&page.body, "client-id").unwrap();

    // In the dialog, Done waits for the box (app.js enables it), which says what it means.
    assert!(page.body.contains("data-testid=\"reveal-ack\""));
    assert!(page.body.contains("I have stored the secret"));
    assert!(
        page.body
            .contains("data-reveal-done disabled data-testid=\"reveal-done\"")
    );
    assert!(
        page.body
            .contains("The secret will not be shown again. Close anyway?")
    );
    // Copy both and Download .env come with the script that makes them work.
    assert!(page.body.contains("data-testid=\"copy-both\""));
    assert!(page.body.contains("data-testid=\"download-env\""));
    assert!(page.body.contains("data-js-only hidden"));
    assert!(
        page.body
            .contains("data-token-url=\"http://console.example.test:8443/oauth/token\"")
    );
    let curl = unescape(&testid_text(&page.body, "reveal-curl").unwrap());
    assert_eq!(
        curl,
        format!(
            "curl -u \"{client_id}:{secret}\" -d grant_type=client_credentials \"http://console.example.test:8443/oauth/token\""
        )
    );
    for url in urls(&page.body) {
        assert!(!url.contains(&secret), "the secret in a URL: {url}");
    }

    // Without JavaScript the reveal is a page whose Done link always works.
    let plain = browser
        .post_form(
            BASE,
            &pairs(&with(valid_form(&catalog), "name", "Plain job")),
        )
        .await;
    assert_eq!(plain.status, 200);
    assert!(plain.body.trim_start().starts_with("<!doctype html>"));
    assert!(plain.body.contains(&format!(
        "data-reveal-done href=\"{BASE}\" data-testid=\"reveal-done\""
    )));
    assert!(plain.body.contains("data-testid=\"reveal-curl\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_the_reveal_page_without_javascript_says_the_secret_was_already_shown() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let form = with(
        valid_form(&catalog),
        "creation_key",
        &uuid::Uuid::new_v4().to_string(),
    );
    let first = browser.post_form(BASE, &pairs(&form)).await;
    assert_eq!(first.status, 200);
    let secret = testid_text(&first.body, "client-secret").unwrap();

    // A reload sends the same form again: a page of its own, with no secret and no dialog.
    let again = browser.post_form(BASE, &pairs(&form)).await;
    assert_eq!(again.status, 409, "nothing new was created");
    assert!(again.body.trim_start().starts_with("<!doctype html>"));
    assert!(again.body.contains("data-testid=\"secret-already-shown\""));
    assert!(
        again
            .body
            .contains("<h1>This secret was already shown</h1>")
    );
    assert!(again.body.contains(
        "For security it is shown only once. If you did not store it, rotate the secret."
    ));
    assert!(!again.body.contains(&secret) && !again.body.contains("m2m_sk_"));
    assert!(!again.body.contains("<dialog") && !again.body.contains("Close this dialog"));
    let id: CredentialId = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use m2m_console::db::schema::credentials;
        credentials::table
            .select(credentials::id)
            .first(&mut *app.conn().await)
            .await
            .unwrap()
    };
    assert!(again.body.contains(&format!(
        "href=\"{BASE}/{id}\" data-testid=\"open-credential\""
    )));

    // Through htmx (a double click) the dialog keeps its own message.
    let hx = browser.hx_post_from(BASE, BASE, &pairs(&form)).await;
    assert_eq!(hx.status, 409);
    assert!(hx.body.contains("already submitted") && !hx.body.contains("<!doctype html>"));

    // The list is where the URL leads on its own, without the secret.
    let list = browser.get(BASE).await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_shown_run_as_pasted_against_the_public_url() {
    let app = app_at_its_public_url().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let page = create_via_htmx(&mut browser, &valid_form(&catalog)).await;
    let client_id = testid_text(&page.body, "client-id").unwrap();
    let curl = unescape(&testid_text(&page.body, "reveal-curl").unwrap());
    let issued = run_in_shell(&curl);
    assert_eq!(issued["token_type"], "Bearer", "{issued}");

    let id = credential_id(&app, &client_id).await;
    let reveal = browser.hx_post(&format!("{BASE}/{id}/token"), &[]).await;
    assert_eq!(reveal.status, 200, "{}", reveal.body);
    let token = testid_text(&reveal.body, "access-token").unwrap();
    let whoami = unescape(&testid_text(&reveal.body, "whoami-curl").unwrap());
    assert_eq!(
        whoami,
        format!(
            "curl -H \"Authorization: Bearer {token}\" \"{}/api/v1/whoami\"",
            app.address
        )
    );
    let answer = run_in_shell(&whoami);
    assert_eq!(
        answer["credential"]["client_id"],
        client_id.as_str(),
        "{answer}"
    );
    for url in urls(&reveal.body) {
        assert!(!url.contains(&token), "the token in a URL: {url}");
    }
}

async fn credential_id(app: &TestApp, client_id: &str) -> CredentialId {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::credentials;
    credentials::table
        .filter(credentials::client_id.eq(client_id))
        .select(credentials::id)
        .first(&mut *app.conn().await)
        .await
        .unwrap()
}

/// The credential's page as seen from `ip` (the app trusts 127.0.0.1 as its proxy).
async fn detail_from(app: &TestApp, browser: &Browser, id: CredentialId, ip: &str) -> String {
    let res = browser
        .http
        .get(app.url(&format!("{BASE}/{id}")))
        .header("X-Forwarded-For", ip)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_token_warns_when_the_admins_address_is_outside_the_allow_list() {
    let app =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let mut s = setup_on(app, |f| {
        with(
            f,
            "allowed_ips",
            "198.51.100.0/24\n2001:db8::/32\n192.0.2.10",
        )
    })
    .await;
    let id = s.client.id;
    let warning = |ip: &str| {
        format!(
            "Your address {ip} is not in this credential's allowed IPs, so a token generated here will not work from this machine."
        )
    };
    // The token endpoint's own rule: single hosts, v4 and v6 blocks; v4-mapped v6 is v4.
    for inside in [
        "198.51.100.7",
        "2001:db8::5",
        "192.0.2.10",
        "::ffff:198.51.100.9",
    ] {
        let page = detail_from(&s.app, &s.admin, id, inside).await;
        assert!(page.contains("data-testid=\"generate-token\""), "{inside}");
        assert!(
            !page.contains("data-testid=\"ip-hint\""),
            "{inside} is allowed"
        );
    }
    for outside in ["203.0.113.9", "2001:db9::1", "192.0.2.11"] {
        let page = detail_from(&s.app, &s.admin, id, outside).await;
        assert!(page.contains(&warning(outside)), "{outside}: no hint");
        // Still allowed: the token may be meant for another machine.
        assert!(page.contains("data-testid=\"generate-token\" aria-describedby=\"ip-hint\""));
    }

    // The reveal says it again, next to its curl.
    let token = s.admin.csrf().await;
    let reveal = s
        .admin
        .post_raw(
            &format!("{BASE}/{id}/token"),
            &[],
            &[
                ("HX-Request", "true"),
                ("X-CSRF-Token", &token),
                ("X-Forwarded-For", "203.0.113.9"),
            ],
        )
        .await;
    assert_eq!(reveal.status, 200, "{}", reveal.body);
    assert!(reveal.body.contains("data-testid=\"ip-hint\""));
    assert!(reveal.body.contains("Your address 203.0.113.9 is not in"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allow_list_or_a_right_to_generate_there_is_no_hint() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (open, ..) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;
    let (fenced, ..) = create_credential(
        &app,
        &mut browser,
        &with(
            with(valid_form(&catalog), "name", "Fenced"),
            "allowed_ips",
            "10.0.0.0/8",
        ),
    )
    .await;
    let page = browser.get(&format!("{BASE}/{open}")).await;
    assert!(!page.body.contains("data-testid=\"ip-hint\""));
    // The test client is 127.0.0.1, outside 10.0.0.0/8.
    let page = browser.get(&format!("{BASE}/{fenced}")).await;
    assert!(page.body.contains("Your address 127.0.0.1 is not in"));

    // A viewer has no Generate token button, so no hint either.
    let viewer = app
        .create_user("Acme", "viewer@acme.test", StaffRole::Viewer)
        .await;
    let mut viewer_browser = app.client();
    assert_eq!(
        viewer_browser
            .login(&viewer.email, crate::helpers::PASSWORD)
            .await
            .status,
        303
    );
    let page = viewer_browser.get(&format!("{BASE}/{fenced}")).await;
    assert!(!page.body.contains("data-testid=\"generate-token\""));
    assert!(!page.body.contains("data-testid=\"ip-hint\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_points_to_the_setup_link_until_someone_signs_up() {
    let app = TestApp::spawn().await;
    assert!(app.setup_link.is_some(), "an empty database");
    let mut browser = app.client();
    let page = browser.get("/login").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"setup-hint\""));
    assert!(page.body.contains(
        "No one has signed up yet. A one-time setup link was printed in the server log when it started; open it to create the first Super Admin."
    ));
    // Showing the page wrote nothing.
    assert!(!User::any_exists(&mut *app.conn().await).await.unwrap());
    assert!(
        !page.body.contains("token="),
        "the link itself stays in the log"
    );
    // Trying to sign in anyway gets the same pointer with the refusal.
    let refused = browser
        .login("owner@acme.test", "a guess at a password")
        .await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("data-testid=\"setup-hint\""));

    app.create_user("Acme", "first@acme.test", StaffRole::SuperAdmin)
        .await;
    let page = browser.get("/login").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("data-testid=\"setup-hint\""));
    assert!(!page.body.contains("No one has signed up yet"));
}
