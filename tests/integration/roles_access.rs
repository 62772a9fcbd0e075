//! Who reaches roles and what guards them: Admins and Viewers read, other organisations
//! cannot, a role in use is not deleted, and every change is audited with before and after.

use m2m_console::db::models::credential::AccessLevel;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{insert_api, insert_credential, insert_role, rows};
use crate::helpers::TestApp;
use crate::roles::{events, roles, scopes_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_viewers_read_roles_but_cannot_change_them() {
    let app = TestApp::spawn().await;
    let (boss, _) = app.login_as(StaffRole::SuperAdmin).await;
    let read = insert_api(&app, boss.org_id, "orders:read").await;
    let read_id = read.id.to_string();
    let role = insert_role(&app, boss.org_id, "Reporting", &[read.id]).await;
    for who in [StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut browser) = app.login_as(who).await;
        let page = browser.get("/settings/roles").await;
        assert_eq!(page.status, 200, "{who:?} reads roles");
        assert_eq!(rows(&page, "role-row"), 1);
        assert!(page.body.contains("<code>orders:read</code>"));
        assert!(
            !page.body.contains("action=\"/settings/roles") && !page.body.contains("/edit\""),
            "{who:?} sees no forms"
        );
        let fragment = browser.hx_get("/settings/roles").await;
        assert!(
            !fragment.body.contains("<form")
                && !fragment.body.contains("<button")
                && !fragment.body.contains("checkbox")
        );

        assert_eq!(
            browser
                .get(&format!("/settings/roles/{}/edit", role.id))
                .await
                .status,
            403
        );
        assert_eq!(
            browser
                .get(&format!("/settings/roles/{}/delete", role.id))
                .await
                .status,
            403
        );
        let add = browser
            .post_form("/settings/roles", &[("name", "Sneaky"), ("apis", &read_id)])
            .await;
        assert_eq!(add.status, 403, "{who:?} adds");
        let edit = browser
            .hx_post(
                &format!("/settings/roles/{}", role.id),
                &[("name", "Sneaky"), ("description", "")],
            )
            .await;
        assert_eq!(edit.status, 403, "{who:?} edits");
        assert_eq!(
            browser
                .post_form(&format!("/settings/roles/{}/delete", role.id), &[])
                .await
                .status,
            403,
            "{who:?} deletes"
        );
    }
    let all = roles(&app, boss.org_id).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "Reporting");
    assert_eq!(scopes_of(&app, role.id).await, ["orders:read"]);
    assert!(
        events(&app, boss.org_id)
            .await
            .iter()
            .all(|e| !e.action.starts_with("role."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_of_another_organisation_are_out_of_reach() {
    let app = TestApp::spawn().await;
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::SuperAdmin)
        .await;
    let theirs = insert_role(&app, outsider.org_id, "Globex secret role", &[]).await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;

    assert!(
        !boss
            .get("/settings/roles")
            .await
            .body
            .contains("Globex secret role")
    );
    assert_eq!(
        boss.get(&format!("/settings/roles/{}/edit", theirs.id))
            .await
            .status,
        404
    );
    assert_eq!(
        boss.hx_get(&format!("/settings/roles/{}/delete", theirs.id))
            .await
            .status,
        404
    );
    let edit = boss
        .post_form(
            &format!("/settings/roles/{}", theirs.id),
            &[("name", "Mine now"), ("description", "")],
        )
        .await;
    assert_eq!(edit.status, 404);
    assert_eq!(
        boss.post_form(&format!("/settings/roles/{}/delete", theirs.id), &[])
            .await
            .status,
        404
    );
    let still = roles(&app, outsider.org_id).await;
    assert_eq!(still.len(), 1);
    assert_eq!(still[0].name, "Globex secret role");

    // Names only have to be unique within an organisation.
    assert_eq!(
        boss.post_form("/settings/roles", &[("name", "Globex secret role")])
            .await
            .status,
        303
    );

    assert_eq!(
        boss.get("/settings/roles/not-a-uuid/edit").await.status,
        404
    );
    assert_eq!(
        boss.get("/settings/roles/not-a-uuid/delete").await.status,
        404
    );
    assert_eq!(
        boss.post_form("/settings/roles/not-a-uuid", &[("name", "x")])
            .await
            .status,
        404
    );
    assert_eq!(
        boss.post_form("/settings/roles/not-a-uuid/delete", &[])
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_in_use_cannot_be_deleted_and_the_answer_names_its_credentials() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let role = insert_role(&app, me.org_id, "Order sync", &[]).await;
    insert_credential(
        &app,
        me.org_id,
        role.id,
        "Nightly ERP sync",
        AccessLevel::Full,
        &[],
    )
    .await;
    insert_credential(
        &app,
        me.org_id,
        role.id,
        "Warehouse reader",
        AccessLevel::Full,
        &[],
    )
    .await;

    let list = boss.get("/settings/roles").await;
    assert!(
        list.body.contains("<td data-label=\"Credentials\">2</td>"),
        "the table counts the credentials"
    );

    let confirm = boss
        .get(&format!("/settings/roles/{}/delete", role.id))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("data-testid=\"role-in-use\""));
    assert!(confirm.body.contains("Nightly ERP sync") && confirm.body.contains("Warehouse reader"));
    assert!(
        !confirm.body.contains("data-testid=\"confirm-delete\""),
        "no delete button while in use"
    );

    let res = boss
        .post_form(&format!("/settings/roles/{}/delete", role.id), &[])
        .await;
    assert_eq!(res.status, 409);
    assert!(
        res.body.contains("Nightly ERP sync, Warehouse reader")
            && res.body.contains("reassign them first")
    );
    let res = boss
        .hx_post(&format!("/settings/roles/{}/delete", role.id), &[])
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(res.header("hx-retarget"), Some("#toasts"));
    assert!(res.body.contains("Nightly ERP sync"));

    assert_eq!(
        roles(&app, me.org_id).await.len(),
        1,
        "the role is still there"
    );
    assert!(
        events(&app, me.org_id)
            .await
            .iter()
            .all(|e| e.action != "role.deleted")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_changes_are_audited_with_before_and_after() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let read = insert_api(&app, me.org_id, "orders:read").await;
    let write = insert_api(&app, me.org_id, "orders:write").await;
    let (read_id, write_id) = (read.id.to_string(), write.id.to_string());
    boss.post_form(
        "/settings/roles",
        &[("name", "Order sync"), ("apis", &read_id)],
    )
    .await;
    let role = roles(&app, me.org_id).await.remove(0);
    boss.post_form(
        &format!("/settings/roles/{}", role.id),
        &[
            ("name", "Order writer"),
            ("apis", &read_id),
            ("apis", &write_id),
        ],
    )
    .await;
    boss.post_form(&format!("/settings/roles/{}/delete", role.id), &[])
        .await;

    let events = events(&app, me.org_id).await;
    let created = events.iter().find(|e| e.action == "role.created").unwrap();
    assert_eq!(created.actor_email.as_deref(), Some(me.email.as_str()));
    assert_eq!(created.target_type.as_deref(), Some("role"));
    assert_eq!(created.target_label.as_deref(), Some("Order sync"));
    assert_eq!(created.details["apis"], serde_json::json!(["orders:read"]));
    let updated = events.iter().find(|e| e.action == "role.updated").unwrap();
    assert_eq!(updated.details["before"]["name"], "Order sync");
    assert_eq!(updated.details["after"]["name"], "Order writer");
    assert_eq!(
        updated.details["before"]["apis"],
        serde_json::json!(["orders:read"])
    );
    assert_eq!(
        updated.details["after"]["apis"],
        serde_json::json!(["orders:read", "orders:write"])
    );
    let deleted = events.iter().find(|e| e.action == "role.deleted").unwrap();
    assert_eq!(
        deleted.target_id.as_deref(),
        Some(role.id.to_string().as_str())
    );
    assert_eq!(deleted.details["name"], "Order writer");
}
