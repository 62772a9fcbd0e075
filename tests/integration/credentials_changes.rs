//! Changing credentials: who may (viewers, Super Admins, other organisations), edit, rotate,
//! revoke and delete with their audit rows, the status badge and the ⋮ menu.

use chrono::Duration;
use diesel::prelude::QueryDsl;
use diesel_async::RunQueryDsl;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{
    create_credential, create_via_htmx, pairs, seed_catalog, testid_text, valid_form, with,
};
use crate::helpers::TestApp;

const BASE: &str = "/settings/integrations/machine-to-machine";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_no_actions_and_every_write_they_try_is_refused() {
    let app = TestApp::spawn().await;
    let (admin, mut admin_browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (id, _, _) = create_credential(&app, &mut admin_browser, &valid_form(&catalog)).await;
    let (_, mut viewer) = app.login_as(StaffRole::Viewer).await;

    let list = viewer.get(BASE).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("data-testid=\"credential-row\""));
    assert!(!list.body.contains("data-testid=\"create-credential\""));
    assert!(!list.body.contains("data-testid=\"row-menu\""));
    assert_eq!(viewer.get(&format!("{BASE}/{id}")).await.status, 200);

    for path in [
        "new".to_string(),
        format!("{id}/edit"),
        format!("{id}/menu"),
        format!("{id}/rotate"),
        format!("{id}/revoke"),
        format!("{id}/delete"),
    ] {
        assert_eq!(
            viewer.get(&format!("{BASE}/{path}")).await.status,
            403,
            "GET {path}"
        );
    }
    assert_eq!(
        viewer
            .post_form(BASE, &pairs(&valid_form(&catalog)))
            .await
            .status,
        403
    );
    assert_eq!(
        viewer
            .post_form(
                &format!("{BASE}/{id}"),
                &pairs(&with(valid_form(&catalog), "name", "Hijacked"))
            )
            .await
            .status,
        403
    );
    for action in ["rotate", "revoke", "delete"] {
        assert_eq!(
            viewer
                .post_form(&format!("{BASE}/{id}/{action}"), &[])
                .await
                .status,
            403,
            "POST {action}"
        );
    }
    let token = viewer.csrf().await;
    let res = viewer
        .http
        .delete(app.url(&format!("{BASE}/{id}")))
        .header("X-CSRF-Token", token)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let c = Credential::find_in_org(&mut *app.conn().await, admin.org_id, id)
        .await
        .unwrap();
    assert_eq!(c.name, "Warehouse sync");
    assert!(c.revoked_at.is_none() && c.secret_rotated_at.is_none());
    assert_eq!(
        Credential::count_in_org(&mut *app.conn().await, admin.org_id)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn super_admins_manage_credentials_too() {
    let app = TestApp::spawn().await;
    let (boss, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let catalog = seed_catalog(&app, boss.org_id).await;
    let (id, _, _) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;
    assert_eq!(
        browser.hx_get(&format!("{BASE}/{id}/menu")).await.status,
        200
    );
    assert_eq!(
        browser
            .post_form(&format!("{BASE}/{id}/revoke"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        browser
            .post_form(&format!("{BASE}/{id}/delete"), &[])
            .await
            .status,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisations_credential_is_not_found_anywhere() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (id, _, _) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;

    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::Admin)
        .await;
    let mut other = app.client();
    other.login(&outsider.email, crate::helpers::PASSWORD).await;
    let other_catalog = seed_catalog(&app, outsider.org_id).await;
    for path in [
        String::new(),
        "/edit".into(),
        "/menu".into(),
        "/rotate".into(),
        "/revoke".into(),
        "/delete".into(),
    ] {
        assert_eq!(
            other.get(&format!("{BASE}/{id}{path}")).await.status,
            404,
            "GET {path}"
        );
    }
    assert_eq!(
        other
            .post_form(&format!("{BASE}/{id}"), &pairs(&valid_form(&other_catalog)))
            .await
            .status,
        404
    );
    for action in ["rotate", "revoke", "delete"] {
        assert_eq!(
            other
                .post_form(&format!("{BASE}/{id}/{action}"), &[])
                .await
                .status,
            404,
            "POST {action}"
        );
    }
    // Nor can a credential be bound to another organisation's role.
    let page = create_via_htmx(
        &mut other,
        &with(
            valid_form(&other_catalog),
            "role_id",
            &catalog.role.to_string(),
        ),
    )
    .await;
    assert_eq!(page.status, 422);
    let list = other.get(BASE).await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("data-testid=\"credential-count\""),
        "the list"
    );
    assert!(!list.body.contains("Warehouse sync"));

    let c = Credential::find_in_org(&mut *app.conn().await, admin.org_id, id)
        .await
        .unwrap();
    assert!(c.revoked_at.is_none() && c.secret_rotated_at.is_none());
    assert_eq!(browser.get(&format!("{BASE}/not-a-uuid")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_changes_everything_but_the_secret_and_audits_before_and_after() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (id, client_id, _) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;
    let before = Credential::find_in_org(&mut *app.conn().await, admin.org_id, id)
        .await
        .unwrap();

    let form_page = browser.hx_get(&format!("{BASE}/{id}/edit")).await;
    assert!(form_page.body.contains("value=\"Warehouse sync\""));
    assert!(form_page.body.contains("Save changes"));

    let mut form = with(valid_form(&catalog), "name", "Billing export");
    form = with(form, "role_id", &catalog.other_role.to_string());
    form = with(form, "access_level", "fine_grained");
    form.push(("apis", catalog.other.to_string()));
    form = with(form, "allowed_ips", "198.51.100.0/24");
    // htmx from the list: modal emptied, table refreshed out of band, a toast.
    let res = browser
        .hx_post_from(BASE, &format!("{BASE}/{id}"), &pairs(&form))
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Billing export") && res.body.contains("Saved “Billing export”."));

    let after = Credential::find_in_org(&mut *app.conn().await, admin.org_id, id)
        .await
        .unwrap();
    assert_eq!(
        (after.name.as_str(), after.role_id, after.client_id.as_str()),
        ("Billing export", catalog.other_role, client_id.as_str())
    );
    assert_eq!(after.secret_hash, before.secret_hash);
    assert_eq!(after.allowed_ips, ["198.51.100.0/24"]);

    let events = AuditEvent::list_for_org(&mut *app.conn().await, admin.org_id, 10)
        .await
        .unwrap();
    let updated = events
        .iter()
        .find(|e| e.action == "credential.updated")
        .unwrap();
    assert_eq!(updated.details["before"]["role"], "Orders");
    assert_eq!(updated.details["after"]["role"], "Billing");
    assert_eq!(
        updated.details["before"]["apis"],
        serde_json::json!(["orders:read", "orders:write"])
    );
    assert_eq!(
        updated.details["after"]["apis"],
        serde_json::json!(["invoices:read"])
    );
    assert_eq!(
        updated.details["after"]["allowed_ips"],
        serde_json::json!(["198.51.100.0/24"])
    );

    // A plain form edit redirects to the detail page with a notice.
    let res = browser
        .post_form(
            &format!("{BASE}/{id}"),
            &pairs(&with(valid_form(&catalog), "name", "Renamed")),
        )
        .await;
    assert_eq!(res.location(), Some(format!("{BASE}/{id}").as_str()));
    assert!(
        browser
            .get(&format!("{BASE}/{id}"))
            .await
            .body
            .contains("Saved “Renamed”.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_issues_a_new_secret_once_and_the_old_one_no_longer_matches() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (id, client_id, old_secret) =
        create_credential(&app, &mut browser, &valid_form(&catalog)).await;

    let confirm = browser.hx_get(&format!("{BASE}/{id}/rotate")).await;
    assert!(
        confirm
            .body
            .contains("stops working <strong>immediately</strong>")
    );
    let page = browser.hx_post(&format!("{BASE}/{id}/rotate"), &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let new_secret = testid_text(&page.body, "client-secret").unwrap();
    assert_eq!(testid_text(&page.body, "client-id").unwrap(), client_id);
    assert_ne!(new_secret, old_secret);

    let c = Credential::find_in_org(&mut *app.conn().await, admin.org_id, id)
        .await
        .unwrap();
    assert_eq!(
        c.secret_hash,
        m2m_console::random::sha256(new_secret.as_bytes())
    );
    assert_ne!(
        c.secret_hash,
        m2m_console::random::sha256(old_secret.as_bytes())
    );
    assert!(
        !browser
            .get(&format!("{BASE}/{id}"))
            .await
            .body
            .contains(&new_secret)
    );
    let events = AuditEvent::list_for_org(&mut *app.conn().await, admin.org_id, 10)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "credential.secret_rotated")
    );
    assert!(!format!("{events:?}").contains(&new_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_permanent_and_leaves_only_delete() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (id, _, _) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;
    let confirm = browser.hx_get(&format!("{BASE}/{id}/revoke")).await;
    assert!(confirm.body.contains("permanent"));
    let res = browser
        .hx_post_from(BASE, &format!("{BASE}/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Revoked “Warehouse sync”."));
    let list = browser.get(BASE).await;
    assert_eq!(
        testid_text(&list.body, "status").as_deref(),
        Some("Revoked")
    );

    let menu = browser.hx_get(&format!("{BASE}/{id}/menu")).await;
    assert!(menu.body.contains("menu-delete"));
    assert!(
        !menu.body.contains("menu-edit")
            && !menu.body.contains("menu-rotate")
            && !menu.body.contains("menu-revoke")
    );
    assert_eq!(
        browser
            .post_form(&format!("{BASE}/{id}/revoke"), &[])
            .await
            .status,
        409
    );
    assert_eq!(
        browser
            .post_form(&format!("{BASE}/{id}/rotate"), &[])
            .await
            .status,
        409
    );
    assert_eq!(
        browser
            .post_form(&format!("{BASE}/{id}"), &pairs(&valid_form(&catalog)))
            .await
            .status,
        409
    );
    // Revoked credentials still count toward the limit until deleted.
    assert!(list.body.contains("1 of 10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_row_and_keeps_the_audit_record() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let mut fine = with(valid_form(&catalog), "access_level", "fine_grained");
    fine.push(("apis", catalog.read.to_string()));
    let (id, _, _) = create_credential(&app, &mut browser, &fine).await;
    let (plain_id, _, _) = create_credential(
        &app,
        &mut browser,
        &with(valid_form(&catalog), "name", "Second"),
    )
    .await;

    let confirm = browser.hx_get(&format!("{BASE}/{id}/delete")).await;
    assert!(confirm.body.contains("cannot be undone") && confirm.body.contains("Warehouse sync"));
    let token = browser.csrf().await;
    let res = browser
        .http
        .delete(app.url(&format!("{BASE}/{id}")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .header("HX-Current-URL", app.url(BASE))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(!body.contains(&format!("data-credential-id=\"{id}\"")));
    assert!(body.contains("Deleted “Warehouse sync”."));

    let res = browser
        .post_form(&format!("{BASE}/{plain_id}/delete"), &[])
        .await;
    assert_eq!(res.location(), Some(BASE));
    let list = browser.get(BASE).await;
    assert!(list.body.contains("Deleted “Second”."));
    assert!(list.body.contains("data-testid=\"empty-state\""));

    let mut conn = app.conn().await;
    let leftover: i64 = m2m_console::db::schema::credential_apis::table
        .count()
        .get_result(&mut *conn)
        .await
        .unwrap();
    assert_eq!(leftover, 0, "the API selection went with it");
    let events = AuditEvent::list_for_org(&mut conn, admin.org_id, 20)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "credential.deleted")
            .count(),
        2
    );
    assert_eq!(browser.get(&format!("{BASE}/{id}")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_badge_follows_the_expiry() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    // "Expires soon" starts 30 days ahead unless the organisation's policy says otherwise.
    let in_forty_days = (app.clock.now() + Duration::days(40))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    create_credential(
        &app,
        &mut browser,
        &with(valid_form(&catalog), "expires_at", &in_forty_days),
    )
    .await;
    let status = |body: &str| testid_text(body, "status").unwrap_or_else(|| panic!("{body}"));
    let first = browser.get(BASE).await;
    assert_eq!(first.status, 200, "{:?}", first.headers);
    assert_eq!(status(&first.body), "Active");
    // Days pass: the session has long timed out, so sign in again each time.
    app.clock.advance(Duration::days(11));
    browser.login(&admin.email, crate::helpers::PASSWORD).await;
    assert_eq!(status(&browser.get(BASE).await.body), "Expires soon");
    app.clock.advance(Duration::days(30));
    browser.login(&admin.email, crate::helpers::PASSWORD).await;
    assert_eq!(status(&browser.get(BASE).await.body), "Expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_is_an_htmx_partial_and_a_page_without_javascript() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let (id, _, _) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;
    let fragment = browser.hx_get(&format!("{BASE}/{id}/menu")).await;
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<ul class=\"menu\" role=\"menu\"")
    );
    for item in [
        "menu-edit",
        "menu-rotate",
        "menu-revoke",
        "menu-delete",
        "menu-details",
    ] {
        assert!(fragment.body.contains(item), "{item}");
    }
    let page = browser.get(&format!("{BASE}/{id}/menu")).await;
    assert!(
        page.body.trim_start().starts_with("<!doctype html>") && page.body.contains("menu-rotate")
    );
    // Every action's confirmation also works as a page.
    for action in ["edit", "rotate", "revoke", "delete"] {
        let page = browser.get(&format!("{BASE}/{id}/{action}")).await;
        assert_eq!(page.status, 200, "{action}");
        assert!(
            page.body.contains(&format!("action=\"{BASE}/{id}")),
            "{action}"
        );
    }
}
