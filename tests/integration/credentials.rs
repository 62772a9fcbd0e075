//! Creating credentials: the one-time secret, validation next to each field, the limit of ten,
//! and text that looks like HTML or SQL.

use chrono::Duration;
use m2m_console::db::ids::RoleId;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{
    create_credential, create_via_htmx, pairs, seed_catalog, testid_text, valid_form, with,
};
use crate::helpers::{TestApp, captured_logs};

const BASE: &str = "/settings/integrations/machine-to-machine";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_credential_and_sees_the_secret_exactly_once() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;

    let list = browser.get(BASE).await;
    assert!(list.body.contains("data-testid=\"empty-state\""));
    assert!(list.body.contains("0 of 10"));

    let modal = browser.hx_get(&format!("{BASE}/new")).await;
    assert_eq!(modal.status, 200);
    assert!(modal.body.trim_start().starts_with("<dialog"));
    assert!(modal.body.contains("data-testid=\"security-warning\""));
    assert!(modal.body.contains("name=\"creation_key\""));
    assert!(modal.body.contains("Create credentials") && modal.body.contains("Cancel"));

    let page = create_via_htmx(
        &mut browser,
        &with(
            valid_form(&catalog),
            "creation_key",
            &uuid::Uuid::new_v4().to_string(),
        ),
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.body.contains("hx-history=\"false\""));
    let client_id = testid_text(&page.body, "client-id").unwrap();
    let secret = testid_text(&page.body, "client-secret").unwrap();
    assert!(client_id.starts_with("m2m_ci_"));
    assert!(m2m_console::tokens::parse(m2m_console::tokens::Kind::ClientSecret, &secret).is_some());
    assert!(page.body.contains("never be shown again"));
    // The refreshed table rides along out of band, without the secret in it.
    let oob = page.body.split("hx-swap-oob=\"outerHTML\"").nth(1).unwrap();
    assert!(oob.contains("data-testid=\"credential-row\"") && oob.contains(&client_id));
    assert!(!oob.contains(&secret));

    // Stored only as a SHA-256 digest.
    let mut conn = app.conn().await;
    let stored = Credential::list_for_org(&mut conn, admin.org_id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        stored.secret_hash,
        m2m_console::random::sha256(secret.as_bytes())
    );
    assert_eq!(stored.name, "Warehouse sync");

    // Never again: not in the list, the detail page, the menu or the edit form.
    for path in [
        BASE.to_string(),
        format!("{BASE}/{}", stored.id),
        format!("{BASE}/{}/edit", stored.id),
        format!("{BASE}/{}/menu", stored.id),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(&secret), "{path} shows the secret");
    }
    let list = browser.get(BASE).await;
    assert!(list.body.contains("1 of 10"));
    assert!(
        list.body
            .contains(&format!("data-credential-id=\"{}\"", stored.id))
    );

    // The audit log has the event, without secret or digest; the logs never saw the secret.
    let events = AuditEvent::list_for_org(&mut conn, admin.org_id, 10)
        .await
        .unwrap();
    let created = events
        .iter()
        .find(|e| e.action == "credential.created")
        .unwrap();
    assert_eq!(
        created.target_id.as_deref(),
        Some(stored.id.to_string().as_str())
    );
    let dump = format!("{events:?}");
    assert!(!dump.contains(&secret) && !dump.contains(&hex::encode(&stored.secret_hash)));
    assert!(!captured_logs().contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_create_shows_the_secret_page_then_the_list() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let form_page = browser.get(&format!("{BASE}/new")).await;
    assert!(form_page.body.trim_start().starts_with("<!doctype html>"));
    assert!(!form_page.body.contains("<dialog"), "a page, not a modal");
    let page = browser.post_form(BASE, &pairs(&valid_form(&catalog))).await;
    assert_eq!(page.status, 200);
    assert!(page.body.trim_start().starts_with("<!doctype html>"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let secret = testid_text(&page.body, "client-secret").unwrap();
    assert!(secret.starts_with("m2m_sk_"));
    assert!(
        page.body
            .contains(&format!("href=\"{BASE}\" data-testid=\"reveal-done\""))
    );
    let list = browser.get(BASE).await;
    assert!(list.body.contains("Warehouse sync"));
    assert!(!list.body.contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submitted_create_form_makes_one_credential() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let form = with(
        valid_form(&catalog),
        "creation_key",
        &uuid::Uuid::new_v4().to_string(),
    );
    assert_eq!(browser.post_form(BASE, &pairs(&form)).await.status, 200);
    let again = browser.post_form(BASE, &pairs(&form)).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already submitted"));
    assert!(testid_text(&again.body, "client-secret").is_none());
    assert_eq!(
        Credential::count_in_org(&mut *app.conn().await, admin.org_id)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_field_is_validated_with_its_message_next_to_it_and_input_kept() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let past = (app.clock.now() - Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let past_kept = format!("value=\"{past}\"");
    /// A form, the field whose message must show, and the input that must be kept.
    type Case<'a> = (Vec<(&'static str, String)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            with(valid_form(&catalog), "owner_email", "not-an-email"),
            "error-owner_email",
            "value=\"not-an-email\"",
        ),
        (
            with(valid_form(&catalog), "allowed_ips", "10.0.0.1\n10.0.0.0/33"),
            "error-allowed_ips",
            "10.0.0.0/33</textarea>",
        ),
        (
            with(valid_form(&catalog), "expires_at", &past),
            "error-expires_at",
            &past_kept,
        ),
        (
            with(valid_form(&catalog), "expires_at", "next tuesday"),
            "error-expires_at",
            "value=\"next tuesday\"",
        ),
        (
            with(valid_form(&catalog), "access_level", "fine_grained"),
            "error-apis",
            "Choose at least one API",
        ),
        (
            with(
                with(valid_form(&catalog), "access_level", "fine_grained"),
                "apis",
                &catalog.other.to_string(),
            ),
            "error-apis",
            "only APIs that the selected role allows",
        ),
        (
            with(valid_form(&catalog), "apis", "not-a-uuid"),
            "submit-credential",
            "",
        ),
        (
            with(valid_form(&catalog), "name", ""),
            "error-name",
            "This field is required.",
        ),
        (
            with(valid_form(&catalog), "name", &"n".repeat(101)),
            "error-name",
            "at most 100",
        ),
        (
            with(valid_form(&catalog), "description", &"d".repeat(501)),
            "error-description",
            "at most 500",
        ),
        (
            with(valid_form(&catalog), "role_id", "not-a-role"),
            "error-role_id",
            "Choose a role.",
        ),
        (
            with(
                valid_form(&catalog),
                "role_id",
                &RoleId::new_random().to_string(),
            ),
            "error-role_id",
            "Choose a role.",
        ),
        (
            with(valid_form(&catalog), "access_level", "everything"),
            "error-access_level",
            "Full or Fine Grained",
        ),
    ];
    for (form, testid, kept) in cases {
        let page = create_via_htmx(&mut browser, &form).await;
        if testid == "submit-credential" {
            // An API id that is not even a UUID is ignored while the access level is Full.
            assert_eq!(page.status, 200);
            continue;
        }
        assert_eq!(page.status, 422, "{testid}: {}", page.body);
        assert!(
            page.body.contains(&format!("data-testid=\"{testid}\"")),
            "{testid}"
        );
        assert!(page.body.contains(kept), "{testid}: {kept}");
        assert!(
            page.body.trim_start().starts_with("<dialog"),
            "the modal is re-rendered"
        );
    }
    assert_eq!(
        Credential::count_in_org(&mut *app.conn().await, admin.org_id)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fine_grained_credentials_keep_their_chosen_apis_and_ips_are_normalised() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let mut form = with(valid_form(&catalog), "access_level", "fine_grained");
    form.push(("apis", catalog.read.to_string()));
    form.push(("apis", catalog.read.to_string()));
    let form = with(
        form,
        "allowed_ips",
        // Everything the form accepts must also pass the database's CIDR check.
        "203.0.113.7\n10.1.2.3/8\n203.0.113.7/32\n2001:DB8::1\n2001:db8:ffff::1/32\n::ffff:192.0.2.1",
    );
    let future = (app.clock.now() + Duration::days(30))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let form = with(form, "expires_at", &future);
    let (id, _, _) = create_credential(&app, &mut browser, &form).await;
    let mut conn = app.conn().await;
    let c = Credential::find_in_org(&mut conn, admin.org_id, id)
        .await
        .unwrap();
    assert_eq!(
        c.allowed_ips,
        [
            "203.0.113.7",
            "10.0.0.0/8",
            "2001:db8::1",
            "2001:db8::/32",
            "::ffff:192.0.2.1"
        ]
    );
    assert!(c.expires_at.is_some());
    let apis: Vec<String> = Credential::effective_apis(&mut conn, &c)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.scope)
        .collect();
    assert_eq!(apis, ["orders:read"]);
    let list = browser.get(BASE).await;
    assert!(list.body.contains("Fine Grained (1 API)"));
    assert!(list.body.contains("10.0.0.0/8"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_and_sql_looking_text_is_stored_verbatim_and_rendered_escaped() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let name = "<script>alert(1)</script>'; DROP TABLE credentials; --";
    let form = with(
        with(valid_form(&catalog), "name", name),
        "description",
        "<img src=x onerror=alert(2)>",
    );
    let (id, _, _) = create_credential(&app, &mut browser, &form).await;
    let c = Credential::find_in_org(&mut *app.conn().await, admin.org_id, id)
        .await
        .unwrap();
    assert_eq!(c.name, name);
    for path in [BASE.to_string(), format!("{BASE}/{id}")] {
        let page = browser.get(&path).await;
        assert!(!page.body.contains("<script>alert(1)"), "{path}");
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_credential_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    for i in 0..10 {
        create_credential(
            &app,
            &mut browser,
            &with(valid_form(&catalog), "name", &format!("c{i}")),
        )
        .await;
    }
    let list = browser.get(BASE).await;
    assert!(list.body.contains("10 of 10"));
    assert!(list.body.contains("data-testid=\"limit-reached\""));
    let refused = create_via_htmx(&mut browser, &valid_form(&catalog)).await;
    assert_eq!(refused.status, 409);
    assert!(
        testid_text(&refused.body, "form-error")
            .unwrap()
            .contains("10 credentials")
    );
    assert_eq!(
        Credential::count_in_org(&mut *app.conn().await, admin.org_id)
            .await
            .unwrap(),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simultaneous_creates_at_nine_give_exactly_one_success() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    for i in 0..9 {
        create_credential(
            &app,
            &mut browser,
            &with(valid_form(&catalog), "name", &format!("c{i}")),
        )
        .await;
    }
    let token = browser.csrf().await;
    let body = serde_urlencoded::to_string(pairs(&valid_form(&catalog))).unwrap();
    let requests = (0..20).map(|_| {
        let request = browser
            .http
            .post(app.url(BASE))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("HX-Request", "true")
            .header("X-CSRF-Token", &token)
            .body(body.clone())
            .send();
        async move { request.await.unwrap().status().as_u16() }
    });
    let mut statuses = futures::future::join_all(requests).await;
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        Credential::count_in_org(&mut *app.conn().await, admin.org_id)
            .await
            .unwrap(),
        10
    );
}
