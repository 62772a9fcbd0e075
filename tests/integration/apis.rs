//! The API catalog (Settings → APIs): a Super Admin adds, edits and deletes entries with plain
//! forms and with htmx, each field validated with the input kept.

use m2m_console::db::ids::OrgId;
use m2m_console::db::models::api::Api;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{insert_api, rows};
use crate::helpers::TestApp;

// Fixtures shared with the roles and audit tests: rows written straight to the database.

pub(crate) async fn catalog(app: &TestApp, org: OrgId) -> Vec<Api> {
    Api::list_for_org(&mut *app.conn().await, org)
        .await
        .unwrap()
}

pub(crate) async fn events(app: &TestApp, org: OrgId) -> Vec<AuditEvent> {
    AuditEvent::list_for_org(&mut *app.conn().await, org, 200)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_adds_edits_and_deletes_an_api_with_plain_forms() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;

    let empty = boss.get("/settings/apis").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("<html") && empty.body.contains("data-testid=\"apis-empty\""));
    assert!(
        empty.body.contains("<a href=\"/settings\">Settings</a>"),
        "breadcrumbs lead back to Settings"
    );

    let res = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", "orders:read"),
                ("name", "Read orders"),
                ("description", "Lists orders."),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), Some("/settings/apis"));
    let page = boss.get("/settings/apis").await;
    assert!(
        page.body.contains("Added orders:read to the catalog."),
        "flash after the redirect"
    );
    assert_eq!(rows(&page, "api-row"), 1);
    let api = catalog(&app, me.org_id).await.remove(0);
    assert_eq!(
        (
            api.scope.as_str(),
            api.name.as_str(),
            api.description.as_str()
        ),
        ("orders:read", "Read orders", "Lists orders.")
    );

    let edit = boss.get(&format!("/settings/apis/{}/edit", api.id)).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("<html") && edit.body.contains("value=\"Read orders\""));
    let res = boss
        .post_form(
            &format!("/settings/apis/{}", api.id),
            &[
                ("scope", "orders:list"),
                ("name", "List orders"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    assert!(
        boss.get("/settings/apis")
            .await
            .body
            .contains("Saved orders:list.")
    );
    let edited = catalog(&app, me.org_id).await.remove(0);
    assert_eq!(
        (
            edited.id,
            edited.scope.as_str(),
            edited.name.as_str(),
            edited.description.as_str()
        ),
        (api.id, "orders:list", "List orders", "")
    );

    let confirm = boss.get(&format!("/settings/apis/{}/delete", api.id)).await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm
            .body
            .contains("No role or credential holds this API.")
    );
    assert!(
        confirm
            .body
            .contains(&format!("action=\"/settings/apis/{}/delete\"", api.id))
    );
    let res = boss
        .post_form(&format!("/settings/apis/{}/delete", api.id), &[])
        .await;
    assert_eq!(res.status, 303);
    assert!(
        boss.get("/settings/apis")
            .await
            .body
            .contains("Deleted orders:list from the catalog.")
    );
    assert!(catalog(&app, me.org_id).await.is_empty());

    let events = events(&app, me.org_id).await;
    let created = events.iter().find(|e| e.action == "api.created").unwrap();
    assert_eq!(created.actor_email.as_deref(), Some(me.email.as_str()));
    assert_eq!(created.target_type.as_deref(), Some("api"));
    assert_eq!(created.target_label.as_deref(), Some("orders:read"));
    let updated = events.iter().find(|e| e.action == "api.updated").unwrap();
    assert_eq!(updated.details["before"]["scope"], "orders:read");
    assert_eq!(updated.details["after"]["scope"], "orders:list");
    assert_eq!(updated.details["before"]["name"], "Read orders");
    assert_eq!(updated.details["after"]["name"], "List orders");
    let deleted = events.iter().find(|e| e.action == "api.deleted").unwrap();
    assert_eq!(
        deleted.target_id.as_deref(),
        Some(api.id.to_string().as_str())
    );
    assert_eq!(deleted.details["credentials"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_manages_the_catalog_with_htmx() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;

    let fragment = boss.hx_get("/settings/apis").await;
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<section id=\"apis-section\">")
    );
    assert!(!fragment.body.contains("<html"));
    assert_eq!(fragment.header("vary"), Some("HX-Request"));

    let res = boss
        .hx_post(
            "/settings/apis",
            &[
                ("scope", "invoices:write"),
                ("name", "Write invoices"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(
        res.body
            .trim_start()
            .starts_with("<section id=\"apis-section\">")
    );
    assert!(
        res.body.contains("hx-swap-oob")
            && res.body.contains("Added invoices:write to the catalog.")
    );
    assert_eq!(rows(&res, "api-row"), 1);
    let api = catalog(&app, me.org_id).await.remove(0);

    let edit = boss
        .hx_get(&format!("/settings/apis/{}/edit", api.id))
        .await;
    assert_eq!(edit.status, 200);
    assert!(
        edit.body
            .trim_start()
            .starts_with("<section id=\"apis-section\">")
            && edit.body.contains("hx-post=\"/settings/apis/")
    );
    let res = boss
        .hx_post(
            &format!("/settings/apis/{}", api.id),
            &[
                ("scope", "invoices:write"),
                ("name", "Create invoices"),
                ("description", "New ones."),
            ],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Saved invoices:write.") && res.body.contains("Create invoices"));

    // Saving without a change changes nothing, and writes no event.
    let res = boss
        .hx_post(
            &format!("/settings/apis/{}", api.id),
            &[
                ("scope", "invoices:write"),
                ("name", "Create invoices"),
                ("description", "New ones."),
            ],
        )
        .await;
    assert!(res.body.contains("No changes to invoices:write."));
    assert_eq!(
        events(&app, me.org_id)
            .await
            .iter()
            .filter(|e| e.action == "api.updated")
            .count(),
        1
    );

    let confirm = boss
        .hx_get(&format!("/settings/apis/{}/delete", api.id))
        .await;
    assert!(
        confirm
            .body
            .trim_start()
            .starts_with("<section id=\"apis-section\">")
            && confirm.body.contains("Delete API")
    );
    let res = boss
        .hx_post(&format!("/settings/apis/{}/delete", api.id), &[])
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(rows(&res, "api-row"), 0);
    assert!(
        res.body
            .contains("Deleted invoices:write from the catalog.")
    );
    assert!(catalog(&app, me.org_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_an_api_validates_each_field_and_keeps_input() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    insert_api(&app, me.org_id, "orders:read").await;

    let too_long = "a".repeat(65);
    for scope in ["Orders:Read", "a b", too_long.as_str(), "", "orders/read"] {
        let res = boss
            .hx_post(
                "/settings/apis",
                &[("scope", scope), ("name", "Orders"), ("description", "")],
            )
            .await;
        assert_eq!(res.status, 422, "{scope:?}");
        assert!(
            res.body
                .trim_start()
                .starts_with("<section id=\"apis-section\">")
        );
        assert!(
            res.body.contains("data-testid=\"error-scope\""),
            "{scope:?}"
        );
        assert!(
            res.body.contains("<div class=\"field field-invalid\">"),
            "the field is marked invalid"
        );
        assert!(res.body.contains("value=\"Orders\""), "the name is kept");
    }
    let res = boss
        .hx_post(
            "/settings/apis",
            &[("scope", "Orders:Read"), ("name", ""), ("description", "")],
        )
        .await;
    assert!(
        res.body.contains("value=\"Orders:Read\""),
        "the scope is kept"
    );
    assert!(res.body.contains("data-testid=\"error-name\""));

    let dup = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", "orders:read"),
                ("name", "Again"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(dup.status, 422);
    assert!(dup.body.contains("<html"), "plain forms get the whole page");
    assert!(dup.body.contains("already in the catalog"));

    let long_name = "n".repeat(101);
    let res = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", "orders:write"),
                ("name", &long_name),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("data-testid=\"error-name\""));
    let long_description = "d".repeat(501);
    let res = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", "orders:write"),
                ("name", "Write"),
                ("description", &long_description),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("data-testid=\"error-description\""));
    assert!(
        res.body.contains(&long_description),
        "the description is kept"
    );

    // Limits are inclusive: 64 characters of scope, 100 of name, 500 of description.
    let scope64 = format!("x{}", "1".repeat(63));
    let res = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", &scope64),
                ("name", &"n".repeat(100)),
                ("description", &"d".repeat(500)),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    let scopes: Vec<String> = catalog(&app, me.org_id)
        .await
        .into_iter()
        .map(|a| a.scope)
        .collect();
    assert_eq!(scopes, vec!["orders:read".to_string(), scope64]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_an_api_validates_and_refuses_a_scope_already_taken() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let read = insert_api(&app, me.org_id, "orders:read").await;
    insert_api(&app, me.org_id, "orders:write").await;

    let path = format!("/settings/apis/{}", read.id);
    let res = boss
        .hx_post(
            &path,
            &[
                ("scope", "orders:write"),
                ("name", "Read"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.body
            .trim_start()
            .starts_with("<section id=\"apis-section\">")
    );
    assert!(
        res.body.contains("already in the catalog") && res.body.contains("value=\"orders:write\"")
    );
    let res = boss
        .post_form(
            &path,
            &[
                ("scope", "Bad Scope"),
                ("name", ""),
                ("description", &"d".repeat(501)),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("<html"));
    for field in ["scope", "name", "description"] {
        assert!(
            res.body.contains(&format!("data-testid=\"error-{field}\"")),
            "{field}"
        );
    }
    let unchanged = Api::find_in_org(&mut *app.conn().await, me.org_id, read.id)
        .await
        .unwrap();
    assert_eq!(unchanged, read);

    // Its own scope is not "taken".
    let res = boss
        .post_form(
            &path,
            &[
                ("scope", "orders:read"),
                ("name", "Read them"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_in_an_api_is_stored_verbatim_and_rendered_escaped() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let name = "<script>alert('name')</script>";
    let description = "<b>bold</b> & <img src=x onerror=alert(1)>";
    let res = boss
        .post_form(
            "/settings/apis",
            &[
                ("scope", "orders:read"),
                ("name", name),
                ("description", description),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    let api = catalog(&app, me.org_id).await.remove(0);
    assert_eq!(
        (api.name.as_str(), api.description.as_str()),
        (name, description)
    );

    for page in [
        boss.get("/settings/apis").await,
        boss.get(&format!("/settings/apis/{}/edit", api.id)).await,
    ] {
        assert!(
            !page.body.contains("<script>")
                && !page.body.contains("<img")
                && !page.body.contains("<b>")
        );
        assert!(page.body.contains("&#60;script&#62;") && page.body.contains("&#60;img"));
    }
}
