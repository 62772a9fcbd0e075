use m2m_console::db::models::user::{StaffRole, User};

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_super_admins_may_manage_users() {
    let app = TestApp::spawn().await;
    let (target, _) = app.login_as(StaffRole::Viewer).await;
    for role in [StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut browser) = app.login_as(role).await;
        assert_eq!(
            browser.get("/settings/users").await.status,
            403,
            "{role:?} lists users"
        );
        assert_eq!(browser.hx_get("/settings/users").await.status, 403);
        let email = format!("by-{}@acme.test", role.as_str());
        let add = browser
            .post_form(
                "/settings/users",
                &[("email", &email), ("role", "super_admin")],
            )
            .await;
        assert_eq!(add.status, 403, "{role:?} invites a user");
        let change = browser
            .post_form(
                &format!("/settings/users/{}/role", target.id),
                &[("role", "super_admin")],
            )
            .await;
        assert_eq!(change.status, 403);
        assert_eq!(
            browser
                .post_form(&format!("/settings/users/{}/disable", target.id), &[])
                .await
                .status,
            403
        );
        assert_eq!(
            browser
                .post_form(&format!("/settings/users/{}/enable", target.id), &[])
                .await
                .status,
            403
        );
        assert!(
            User::find_by_email(&mut *app.conn().await, &email)
                .await
                .unwrap()
                .is_none()
        );
    }
    let still = User::find_by_email(&mut *app.conn().await, &target.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.role, StaffRole::Viewer);
    assert!(!still.disabled);

    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let page = boss.get("/settings/users").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&target.email));

    // Signed out: sent to sign in, not shown a 403.
    let mut anonymous = app.client();
    assert_eq!(anonymous.get("/settings/users").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_invites_a_user_who_can_then_sign_in() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let link = crate::fixtures::invite(&mut boss, "New.Person@Acme.test", "admin").await;
    let (_, res) = crate::fixtures::accept(&app, &link, "violet quarry lantern sideways").await;
    assert_eq!(res.status, 303);

    let mut newcomer = app.client();
    assert!(
        newcomer
            .login("new.person@acme.test", "violet quarry lantern sideways")
            .await
            .signed_in()
    );
    assert!(newcomer.get("/settings").await.body.contains("Admin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_validates_each_field_and_keeps_input() {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .hx_post("/settings/users", &[("email", "nope"), ("role", "emperor")])
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.body
            .trim_start()
            .starts_with("<section id=\"users-section\">"),
        "htmx gets the fragment"
    );
    assert!(res.body.contains("data-testid=\"error-email\""));
    assert!(res.body.contains("Choose a role."));
    assert!(res.body.contains("value=\"nope\""));

    let dup = boss
        .post_form(
            "/settings/users",
            &[("email", &boss_user.email), ("role", "viewer")],
        )
        .await;
    assert_eq!(dup.status, 422);
    assert!(dup.body.contains("already a user of your organisation"));
    assert!(dup.body.contains("<html"), "plain forms get the whole page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_super_admin_can_be_neither_demoted_nor_disabled() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let demote = boss
        .post_form(
            &format!("/settings/users/{}/role", me.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(demote.status, 409);
    assert!(demote.body.contains("at least one active Super Admin"));
    let disable = boss
        .hx_post(&format!("/settings/users/{}/disable", me.id), &[])
        .await;
    assert_eq!(disable.status, 409);
    assert_eq!(disable.header("hx-retarget"), Some("#toasts"));
    let still = User::find_by_email(&mut *app.conn().await, &me.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((still.role, still.disabled), (StaffRole::SuperAdmin, false));

    // With a second Super Admin, the first may step down.
    let (other, _) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .post_form(&format!("/settings/users/{}/disable", other.id), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(
        boss.post_form(
            &format!("/settings/users/{}/role", me.id),
            &[("role", "admin")]
        )
        .await
        .status,
        409
    );
    boss.post_form(&format!("/settings/users/{}/enable", other.id), &[])
        .await;
    let res = boss
        .post_form(
            &format!("/settings/users/{}/role", me.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(
        res.location(),
        Some("/login"),
        "own role change ends own session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_of_another_organisation_are_invisible() {
    let app = TestApp::spawn().await;
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::Admin)
        .await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    assert!(
        !boss
            .get("/settings/users")
            .await
            .body
            .contains("hank@globex.test")
    );
    let res = boss
        .post_form(&format!("/settings/users/{}/disable", outsider.id), &[])
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        boss.post_form(
            &format!("/settings/users/{}/role", outsider.id),
            &[("role", "viewer")]
        )
        .await
        .status,
        404
    );
    let still = User::find_by_email(&mut *app.conn().await, "hank@globex.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((still.role, still.disabled), (StaffRole::Admin, false));
    assert_eq!(
        boss.post_form("/settings/users/not-a-uuid/disable", &[])
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_changes_are_audited() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (target, _) = app.login_as(StaffRole::Viewer).await;
    boss.post_form(
        &format!("/settings/users/{}/role", target.id),
        &[("role", "admin")],
    )
    .await;
    boss.post_form(&format!("/settings/users/{}/disable", target.id), &[])
        .await;
    let events = m2m_console::db::models::audit_event::AuditEvent::list_for_org(
        &mut *app.conn().await,
        me.org_id,
        50,
    )
    .await
    .unwrap();
    let changed = events
        .iter()
        .find(|e| e.action == "user.role_changed")
        .unwrap();
    assert_eq!(changed.actor_email.as_deref(), Some(me.email.as_str()));
    assert_eq!(changed.target_label.as_deref(), Some(target.email.as_str()));
    assert_eq!(
        changed.details,
        serde_json::json!({ "before": "viewer", "after": "admin" })
    );
    assert!(events.iter().any(|e| e.action == "user.disabled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_cannot_be_rewritten() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.login_as(StaffRole::Admin).await;
    let mut conn = app.conn().await;
    let update = diesel::sql_query("UPDATE audit_events SET action = 'nothing'")
        .execute(&mut conn)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = diesel::sql_query("DELETE FROM audit_events")
        .execute(&mut conn)
        .await;
    assert!(delete.is_err());
}
