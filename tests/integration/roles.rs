//! Roles (Settings → Roles): a Super Admin adds, edits and deletes them with plain forms and
//! with htmx, each field validated with the input kept.

use m2m_console::db::ids::{OrgId, RoleId};
use m2m_console::db::models::api_role::ApiRole;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{insert_api, insert_role, rows};
use crate::helpers::TestApp;

pub(crate) async fn roles(app: &TestApp, org: OrgId) -> Vec<ApiRole> {
    ApiRole::list_for_org(&mut *app.conn().await, org)
        .await
        .unwrap()
}

pub(crate) async fn scopes_of(app: &TestApp, role: RoleId) -> Vec<String> {
    ApiRole::apis(&mut *app.conn().await, role)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.scope)
        .collect()
}

pub(crate) async fn events(app: &TestApp, org: OrgId) -> Vec<AuditEvent> {
    AuditEvent::list_for_org(&mut *app.conn().await, org, 200)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_adds_edits_and_deletes_a_role_with_plain_forms() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let read = insert_api(&app, me.org_id, "orders:read").await;
    let write = insert_api(&app, me.org_id, "orders:write").await;
    let (read_id, write_id) = (read.id.to_string(), write.id.to_string());

    let page = boss.get("/settings/roles").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"roles-empty\""));
    assert!(
        page.body.contains("<fieldset")
            && page.body.contains("<legend>APIs this role allows</legend>")
    );
    assert!(page.body.contains(&format!(
        "<label class=\"checkbox\"><input type=\"checkbox\" name=\"apis\" value=\"{read_id}\">"
    )));

    let res = boss
        .post_form(
            "/settings/roles",
            &[
                ("name", "Order sync"),
                ("description", "The ERP."),
                ("apis", &read_id),
                ("apis", &write_id),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), Some("/settings/roles"));
    let page = boss.get("/settings/roles").await;
    assert!(page.body.contains("Added the role Order sync."));
    assert_eq!(rows(&page, "role-row"), 1);
    assert!(page.body.contains("<code>orders:write</code>"));
    let role = roles(&app, me.org_id).await.remove(0);
    assert_eq!(
        (role.name.as_str(), role.description.as_str()),
        ("Order sync", "The ERP.")
    );
    assert_eq!(
        scopes_of(&app, role.id).await,
        ["orders:read", "orders:write"]
    );

    let edit = boss.get(&format!("/settings/roles/{}/edit", role.id)).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("<html") && edit.body.contains("value=\"Order sync\""));
    assert!(
        edit.body.contains(&format!("value=\"{write_id}\" checked")),
        "granted APIs are ticked"
    );
    let res = boss
        .post_form(
            &format!("/settings/roles/{}", role.id),
            &[
                ("name", "Order reader"),
                ("description", ""),
                ("apis", &read_id),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    assert!(
        boss.get("/settings/roles")
            .await
            .body
            .contains("Saved the role Order reader.")
    );
    assert_eq!(scopes_of(&app, role.id).await, ["orders:read"]);
    // No boxes ticked: the role allows nothing.
    let res = boss
        .post_form(
            &format!("/settings/roles/{}", role.id),
            &[("name", "Order reader"), ("description", "")],
        )
        .await;
    assert_eq!(res.status, 303);
    assert!(scopes_of(&app, role.id).await.is_empty());

    let confirm = boss
        .get(&format!("/settings/roles/{}/delete", role.id))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("No credential uses it."));
    assert!(confirm.body.contains("<h1>Delete role Order reader?</h1>"));
    let res = boss
        .post_form(&format!("/settings/roles/{}/delete", role.id), &[])
        .await;
    assert_eq!(res.status, 303);
    assert!(
        boss.get("/settings/roles")
            .await
            .body
            .contains("Deleted the role Order reader.")
    );
    assert!(roles(&app, me.org_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_manages_roles_with_htmx() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let read = insert_api(&app, me.org_id, "orders:read").await;
    let read_id = read.id.to_string();

    let fragment = boss.hx_get("/settings/roles").await;
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<section id=\"roles-section\">")
    );
    assert_eq!(fragment.header("vary"), Some("HX-Request"));

    let res = boss
        .hx_post(
            "/settings/roles",
            &[
                ("name", "Reporting"),
                ("description", ""),
                ("apis", &read_id),
            ],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(
        res.body
            .trim_start()
            .starts_with("<section id=\"roles-section\">")
    );
    assert!(res.body.contains("hx-swap-oob") && res.body.contains("Added the role Reporting."));
    assert_eq!(rows(&res, "role-row"), 1);
    let role = roles(&app, me.org_id).await.remove(0);

    let edit = boss
        .hx_get(&format!("/settings/roles/{}/edit", role.id))
        .await;
    assert!(
        edit.body
            .trim_start()
            .starts_with("<section id=\"roles-section\">")
            && edit.body.contains("hx-post=\"/settings/roles/")
    );
    let res = boss
        .hx_post(
            &format!("/settings/roles/{}", role.id),
            &[("name", "Reports"), ("description", "Monthly.")],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Saved the role Reports.") && res.body.contains("Monthly."));
    assert!(scopes_of(&app, role.id).await.is_empty());

    let confirm = boss
        .hx_get(&format!("/settings/roles/{}/delete", role.id))
        .await;
    assert!(
        confirm
            .body
            .trim_start()
            .starts_with("<section id=\"roles-section\">")
            && confirm.body.contains("Delete role")
    );
    let res = boss
        .hx_post(&format!("/settings/roles/{}/delete", role.id), &[])
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(rows(&res, "role-row"), 0);
    assert!(roles(&app, me.org_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_forms_validate_each_field_and_keep_input() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::SuperAdmin)
        .await;
    let theirs = insert_api(&app, outsider.org_id, "globex:secret").await;
    let read = insert_api(&app, me.org_id, "orders:read").await;
    let read_id = read.id.to_string();
    insert_role(&app, me.org_id, "Reporting", &[]).await;

    let res = boss
        .hx_post(
            "/settings/roles",
            &[("name", ""), ("description", "Kept."), ("apis", &read_id)],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.body
            .trim_start()
            .starts_with("<section id=\"roles-section\">")
    );
    assert!(res.body.contains("data-testid=\"error-name\""));
    assert!(
        res.body.contains(">Kept.</textarea>"),
        "the description is kept"
    );
    assert!(
        res.body.contains(&format!("value=\"{read_id}\" checked")),
        "ticked boxes stay ticked"
    );

    let dup = boss
        .post_form(
            "/settings/roles",
            &[("name", "  reporting "), ("description", "")],
        )
        .await;
    assert_eq!(dup.status, 422, "names are unique regardless of case");
    assert!(dup.body.contains("<html") && dup.body.contains("already exists"));
    assert!(dup.body.contains("value=\"reporting\""));

    let res = boss
        .post_form(
            "/settings/roles",
            &[
                ("name", &"n".repeat(101)),
                ("description", &"d".repeat(501)),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.body.contains("data-testid=\"error-name\"")
            && res.body.contains("data-testid=\"error-description\"")
    );

    let random = uuid::Uuid::new_v4().to_string();
    let theirs_id = theirs.id.to_string();
    for bad in [
        "not-a-uuid",
        random.as_str(),
        theirs_id.as_str(),
        "'; DROP TABLE roles; --",
    ] {
        let res = boss
            .post_form(
                "/settings/roles",
                &[
                    ("name", "Sneaky"),
                    ("description", ""),
                    ("apis", &read_id),
                    ("apis", bad),
                ],
            )
            .await;
        assert_eq!(res.status, 422, "{bad}");
        assert!(res.body.contains("data-testid=\"error-apis\""), "{bad}");
        assert!(res.body.contains("value=\"Sneaky\""));
    }
    assert_eq!(roles(&app, me.org_id).await.len(), 1, "nothing was added");

    // The same checks on edit; the role keeps its own name.
    let role = insert_role(&app, me.org_id, "Ops", &[read.id]).await;
    let path = format!("/settings/roles/{}", role.id);
    let res = boss
        .hx_post(
            &path,
            &[
                ("name", "REPORTING"),
                ("description", ""),
                ("apis", &theirs_id),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("already exists") && res.body.contains("data-testid=\"error-apis\""));
    assert_eq!(
        scopes_of(&app, role.id).await,
        ["orders:read"],
        "nothing changed"
    );
    let res = boss
        .post_form(
            &path,
            &[
                ("name", "OPS"),
                ("description", ""),
                ("apis", &read_id),
                ("apis", &read_id),
            ],
        )
        .await;
    assert_eq!(
        res.status, 303,
        "its own name in another case, a box sent twice"
    );
    assert_eq!(
        roles(&app, me.org_id)
            .await
            .iter()
            .find(|r| r.id == role.id)
            .unwrap()
            .name,
        "OPS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_in_a_role_is_stored_verbatim_and_rendered_escaped() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let name = "<script>alert(1)</script>";
    assert_eq!(
        boss.post_form(
            "/settings/roles",
            &[("name", name), ("description", "<i>x</i>")]
        )
        .await
        .status,
        303
    );
    let role = roles(&app, me.org_id).await.remove(0);
    assert_eq!(role.name, name);
    for path in [
        "/settings/roles".to_string(),
        format!("/settings/roles/{}/edit", role.id),
        format!("/settings/roles/{}/delete", role.id),
    ] {
        let page = boss.get(&path).await;
        assert!(
            !page.body.contains("<script>") && !page.body.contains("<i>"),
            "{path}"
        );
        assert!(page.body.contains("&#60;script&#62;"), "{path}");
    }
}
