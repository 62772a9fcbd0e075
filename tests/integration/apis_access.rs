//! Who reaches the API catalog: Admins and Viewers read it, other organisations cannot, and
//! deleting an entry takes it from roles and audits the credentials that lose it.

use m2m_console::db::ids::ApiId;
use m2m_console::db::models::api_role::ApiRole;
use m2m_console::db::models::credential::{AccessLevel, Credential};
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{insert_api, insert_credential, insert_role, rows};
use crate::helpers::TestApp;

// Fixtures shared with the roles and audit tests: rows written straight to the database.
use crate::apis::{catalog, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_viewers_read_the_catalog_but_cannot_change_it() {
    let app = TestApp::spawn().await;
    let (boss, _) = app.login_as(StaffRole::SuperAdmin).await;
    let api = insert_api(&app, boss.org_id, "orders:read").await;
    for role in [StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut browser) = app.login_as(role).await;
        let page = browser.get("/settings/apis").await;
        assert_eq!(page.status, 200, "{role:?} reads the catalog");
        assert_eq!(rows(&page, "api-row"), 1);
        assert!(
            !page.body.contains("action=\"/settings/apis") && !page.body.contains("/edit\""),
            "{role:?} sees no forms"
        );
        let fragment = browser.hx_get("/settings/apis").await;
        assert_eq!(fragment.status, 200);
        assert!(
            !fragment.body.contains("<form") && !fragment.body.contains("<button"),
            "{role:?} sees no forms"
        );

        assert_eq!(
            browser
                .get(&format!("/settings/apis/{}/edit", api.id))
                .await
                .status,
            403
        );
        assert_eq!(
            browser
                .hx_get(&format!("/settings/apis/{}/delete", api.id))
                .await
                .status,
            403
        );
        let add = browser
            .post_form(
                "/settings/apis",
                &[
                    ("scope", "sneaky:add"),
                    ("name", "Sneaky"),
                    ("description", ""),
                ],
            )
            .await;
        assert_eq!(add.status, 403, "{role:?} adds");
        let edit = browser
            .hx_post(
                &format!("/settings/apis/{}", api.id),
                &[
                    ("scope", "sneaky:edit"),
                    ("name", "Sneaky"),
                    ("description", ""),
                ],
            )
            .await;
        assert_eq!(edit.status, 403, "{role:?} edits");
        assert_eq!(
            browser
                .post_form(&format!("/settings/apis/{}/delete", api.id), &[])
                .await
                .status,
            403,
            "{role:?} deletes"
        );
        assert_eq!(
            browser
                .hx_post(&format!("/settings/apis/{}/delete", api.id), &[])
                .await
                .status,
            403
        );
    }
    assert_eq!(catalog(&app, boss.org_id).await, vec![api]);
    assert!(
        events(&app, boss.org_id)
            .await
            .iter()
            .all(|e| !e.action.starts_with("api."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apis_of_another_organisation_are_out_of_reach() {
    let app = TestApp::spawn().await;
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::SuperAdmin)
        .await;
    let theirs = insert_api(&app, outsider.org_id, "globex:secret").await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;

    assert!(
        !boss
            .get("/settings/apis")
            .await
            .body
            .contains("globex:secret")
    );
    assert_eq!(
        boss.get(&format!("/settings/apis/{}/edit", theirs.id))
            .await
            .status,
        404
    );
    assert_eq!(
        boss.get(&format!("/settings/apis/{}/delete", theirs.id))
            .await
            .status,
        404
    );
    let edit = boss
        .post_form(
            &format!("/settings/apis/{}", theirs.id),
            &[("scope", "mine:now"), ("name", "Mine"), ("description", "")],
        )
        .await;
    assert_eq!(edit.status, 404);
    assert_eq!(
        boss.hx_post(&format!("/settings/apis/{}/delete", theirs.id), &[])
            .await
            .status,
        404
    );
    assert_eq!(catalog(&app, outsider.org_id).await, vec![theirs]);

    // A scope only has to be unique within its own organisation.
    let res = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", "globex:secret"),
                ("name", "Ours"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 303);

    for path in [
        "/settings/apis/not-a-uuid/edit",
        "/settings/apis/not-a-uuid/delete",
    ] {
        assert_eq!(boss.get(path).await.status, 404, "{path}");
    }
    assert_eq!(
        boss.post_form(
            "/settings/apis/not-a-uuid",
            &[("scope", "x"), ("name", "x")]
        )
        .await
        .status,
        404
    );
    assert_eq!(
        boss.post_form("/settings/apis/not-a-uuid/delete", &[])
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_api_removes_it_from_roles_and_audits_the_credentials_that_lose_it() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let read = insert_api(&app, me.org_id, "orders:read").await;
    let write = insert_api(&app, me.org_id, "orders:write").await;
    let role = insert_role(&app, me.org_id, "Order sync", &[read.id, write.id]).await;
    let full = insert_credential(
        &app,
        me.org_id,
        role.id,
        "Nightly ERP sync",
        AccessLevel::Full,
        &[],
    )
    .await;
    let picked = insert_credential(
        &app,
        me.org_id,
        role.id,
        "Warehouse reader",
        AccessLevel::FineGrained,
        &[read.id],
    )
    .await;
    let other = insert_credential(
        &app,
        me.org_id,
        role.id,
        "Invoice writer",
        AccessLevel::FineGrained,
        &[write.id],
    )
    .await;

    let confirm = boss
        .get(&format!("/settings/apis/{}/delete", read.id))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm
            .body
            .contains("data-testid=\"affected-role\">Order sync<")
    );
    assert!(confirm.body.contains("Nightly ERP sync") && confirm.body.contains("Warehouse reader"));
    assert!(
        !confirm.body.contains("Invoice writer"),
        "a Fine Grained credential without it loses nothing"
    );

    let res = boss
        .post_form(&format!("/settings/apis/{}/delete", read.id), &[])
        .await;
    assert_eq!(res.status, 303);
    let mut conn = app.conn().await;
    let left: Vec<ApiId> = ApiRole::apis(&mut conn, role.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(left, vec![write.id], "the role lost it");
    assert!(
        Credential::selected_apis(&mut conn, picked.id)
            .await
            .unwrap()
            .is_empty(),
        "the credential's selection lost it"
    );
    let full = Credential::find_in_org(&mut conn, me.org_id, full.id)
        .await
        .unwrap();
    let effective: Vec<String> = Credential::effective_apis(&mut conn, &full)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.scope)
        .collect();
    assert_eq!(effective, vec!["orders:write".to_string()]);
    drop(conn);

    let deleted = events(&app, me.org_id)
        .await
        .into_iter()
        .find(|e| e.action == "api.deleted")
        .unwrap();
    assert_eq!(deleted.target_label.as_deref(), Some("orders:read"));
    let names: Vec<&str> = deleted.details["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Nightly ERP sync", "Warehouse reader"]);
    assert_eq!(deleted.details["credentials"][0]["id"], full.id.to_string());
    assert!(!deleted.details.to_string().contains(&other.id.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_links_to_apis_roles_and_the_audit_log_for_every_staff_role() {
    let app = TestApp::spawn().await;
    for role in [StaffRole::SuperAdmin, StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut browser) = app.login_as(role).await;
        let page = browser.get("/settings").await;
        for href in ["/settings/apis", "/settings/roles", "/settings/audit"] {
            assert!(
                page.body.contains(&format!("<a href=\"{href}\">")),
                "{role:?} sees {href}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_pages_use_no_inline_script_or_style_and_label_every_checkbox() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let api = insert_api(&app, me.org_id, "orders:read").await;
    let role = insert_role(&app, me.org_id, "Order sync", &[api.id]).await;
    let paths = [
        "/settings/apis".to_string(),
        format!("/settings/apis/{}/edit", api.id),
        format!("/settings/apis/{}/delete", api.id),
        "/settings/roles".to_string(),
        format!("/settings/roles/{}/edit", role.id),
        format!("/settings/roles/{}/delete", role.id),
        "/settings/audit?actor=x".to_string(),
    ];
    for path in &paths {
        let page = boss.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.header("vary"), Some("HX-Request"), "{path}");
        assert!(
            page.body.trim_start().starts_with("<!doctype html>"),
            "{path}"
        );
        assert!(
            !page.body.contains("<script>")
                && !page.body.contains("style=")
                && !page.body.contains("hx-on"),
            "{path}"
        );
        assert!(
            page.body.contains("<a href=\"/settings\">Settings</a>"),
            "{path}: breadcrumbs"
        );
        // Every checkbox sits inside its label.
        assert_eq!(
            page.body.matches("type=\"checkbox\"").count(),
            page.body
                .matches("<label class=\"checkbox\"><input type=\"checkbox\"")
                .count(),
            "{path}"
        );
        let fragment = boss.hx_get(path).await;
        assert!(
            fragment.body.trim_start().starts_with("<section id=\""),
            "{path}"
        );
    }
}
