//! Management access: who may give it, and what a calling credential can never gain through
//! the management API (issue 13's escalation attempts).

use m2m_console::db::models::user::StaffRole;
use serde_json::json;

use crate::fixtures::*;

const READ: &str = "m2m.credentials:read";
const WRITE: &str = "m2m.credentials:write";
const ROTATE: &str = "m2m.credentials:rotate";

/// The setup, a Super Admin's browser, and a management credential with `scopes` and its token.
async fn manager(scopes: &[&str]) -> (Setup, crate::helpers::Browser, Client, String) {
    let s = setup().await;
    let (_, mut super_admin) = s.app.login_as(StaffRole::SuperAdmin).await;
    let manager = management_client(&s.app, &mut super_admin, &s.catalog, "Pipeline", scopes).await;
    let token = access_token(&s.app, &manager).await;
    (s, super_admin, manager, token)
}

#[tokio::test]
async fn a_super_admin_gives_management_scopes_and_the_token_carries_them() {
    let (s, _, manager, token) = manager(&[READ, ROTATE]).await;
    let me = whoami(&s.app, &token).await;
    let scopes = me.json()["scopes"].clone();
    for scope in [READ, ROTATE] {
        assert!(
            scopes.as_array().unwrap().iter().any(|v| v == scope),
            "{scopes}"
        );
    }
    assert!(!scopes.as_array().unwrap().iter().any(|v| v == WRITE));
    let list = api_call(&s.app, "GET", "/api/v1/credentials", &token, None, &[]).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let mine = items
        .iter()
        .find(|c| c["client_id"] == manager.client_id.as_str())
        .unwrap();
    assert_eq!(mine["management_scopes"], json!([READ, ROTATE]));
}

#[tokio::test]
async fn an_admin_can_neither_give_management_scopes_nor_touch_a_credential_holding_them() {
    let (mut s, _, manager, _) = manager(&[READ]).await;
    // The form does not offer it to an Admin, and the server refuses it anyway.
    let form = s.admin.get(m2m_console::paths::NEW_CREDENTIAL).await;
    assert!(
        form.body.contains("data-testid=\"expiry-choices\""),
        "the form"
    );
    assert!(!form.body.contains("data-testid=\"management-access\""));
    let mut sneaky = with(valid_form(&s.catalog), "name", "Sneaky");
    sneaky.push(("management_scopes", READ.into()));
    let refused = create_via_htmx(&mut s.admin, &sneaky).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let base = format!("{}/{}", m2m_console::paths::M2M, manager.id);
    for (path, fields) in [
        (base.clone(), valid_form(&s.catalog)),
        (
            format!("{base}/rotate"),
            vec![("overlap", "now".to_string())],
        ),
        (format!("{base}/token"), vec![]),
    ] {
        let page = s.admin.hx_post(&path, &pairs(&fields)).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
    }
    // Still the same secret: the manager's token requests work.
    assert_eq!(token(&s.app, &manager, "").await.status, 200);
}

#[tokio::test]
async fn the_catalog_refuses_scopes_in_the_management_namespace() {
    let s = setup().await;
    let (_, mut super_admin) = s.app.login_as(StaffRole::SuperAdmin).await;
    let page = super_admin
        .hx_post(
            m2m_console::paths::APIS,
            &[
                ("scope", "m2m.credentials:write"),
                ("name", "Sneaky"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("kept for management access"));
}

#[tokio::test]
async fn a_write_scoped_caller_cannot_give_management_scopes_to_anyone_or_itself() {
    let (s, _, manager, token) = manager(&[READ, WRITE]).await;
    let mut body = new_credential_json(&s.catalog, "Escalated");
    body["management_scopes"] = json!([READ]);
    let created = api_call(
        &s.app,
        "POST",
        "/api/v1/credentials",
        &token,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(created.status, 403, "{}", created.text);
    assert_eq!(
        created.header("content-type"),
        Some("application/problem+json")
    );

    for target in [s.client.id, manager.id] {
        let path = format!("/api/v1/credentials/{target}");
        let patch = json!({ "management_scopes": [READ, WRITE, ROTATE] });
        let res = api_call(&s.app, "PATCH", &path, &token, Some(patch), &[]).await;
        assert_eq!(res.status, 403, "{target}: {}", res.text);
    }
    let mine = api_call(
        &s.app,
        "GET",
        &format!("/api/v1/credentials/{}", manager.id),
        &token,
        None,
        &[],
    )
    .await;
    assert_eq!(mine.json()["management_scopes"], json!([READ, WRITE]));
}

#[tokio::test]
async fn a_caller_cannot_give_a_credential_scopes_it_lacks() {
    // The manager has role Orders (orders:read, orders:write); Billing grants invoices:read.
    let (s, _, _, token) = manager(&[READ, WRITE]).await;
    let mut body = new_credential_json(&s.catalog, "Billing bot");
    body["role_id"] = json!(s.catalog.other_role.to_string());
    let res = api_call(
        &s.app,
        "POST",
        "/api/v1/credentials",
        &token,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let path = format!("/api/v1/credentials/{}", s.client.id);
    let patch = json!({ "role_id": s.catalog.other_role.to_string() });
    let res = api_call(&s.app, "PATCH", &path, &token, Some(patch), &[]).await;
    assert_eq!(res.status, 403, "{}", res.text);
    // Within its own rights it may.
    let body = new_credential_json(&s.catalog, "Orders bot");
    let res = api_call(
        &s.app,
        "POST",
        "/api/v1/credentials",
        &token,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
}

#[tokio::test]
async fn a_caller_rotates_itself_only_with_the_rotate_scope_and_never_a_more_powerful_credential() {
    let (mut s, mut super_admin, manager, manager_token) = manager(&[READ, WRITE]).await;
    let own = format!("/api/v1/credentials/{}/rotate", manager.id);
    let res = api_call(&s.app, "POST", &own, &manager_token, None, &[]).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(
        res.json()["type"],
        "/api/v1/docs#problem-insufficient-scope"
    );

    let rotator =
        management_client(&s.app, &mut super_admin, &s.catalog, "Rotator", &[ROTATE]).await;
    let rotator_token = access_token(&s.app, &rotator).await;
    // The other manager holds management scopes the rotator lacks: its secret is out of reach.
    let other = format!("/api/v1/credentials/{}/rotate", manager.id);
    let res = api_call(&s.app, "POST", &other, &rotator_token, None, &[]).await;
    assert_eq!(res.status, 403, "{}", res.text);
    // Itself: yes, and the old secret stops at once.
    let mine = format!("/api/v1/credentials/{}/rotate", rotator.id);
    let res = api_call(&s.app, "POST", &mine, &rotator_token, None, &[]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.json()["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("m2m_sk_")
    );
    assert_eq!(token(&s.app, &rotator, "").await.status, 401);
    // A plain credential within its rights: yes.
    let plain = format!("/api/v1/credentials/{}/rotate", s.client.id);
    let rotator = Client {
        secret: res.json()["client_secret"].as_str().unwrap().into(),
        ..rotator
    };
    let rotator_token = access_token(&s.app, &rotator).await;
    let res = api_call(&s.app, "POST", &plain, &rotator_token, None, &[]).await;
    assert_eq!(
        res.status, 200,
        "the rotator has orders:* itself: {}",
        res.text
    );
    let _ = &mut s;
}

#[tokio::test]
async fn ids_of_another_organisation_are_not_found() {
    let (s, _, _, token) = manager(&[READ, WRITE]).await;
    let (stranger, mut theirs) = {
        let user = s
            .app
            .create_user("Globex", "admin@globex.test", StaffRole::Admin)
            .await;
        let mut browser = s.app.client();
        assert_eq!(
            browser
                .login("admin@globex.test", crate::helpers::PASSWORD)
                .await
                .status,
            303
        );
        (user, browser)
    };
    let catalog = seed_catalog(&s.app, stranger.org_id).await;
    let (their_id, _, _) = create_credential(&s.app, &mut theirs, &valid_form(&catalog)).await;
    for (method, path) in [
        ("GET", format!("/api/v1/credentials/{their_id}")),
        ("PATCH", format!("/api/v1/credentials/{their_id}")),
        ("DELETE", format!("/api/v1/credentials/{their_id}")),
        ("POST", format!("/api/v1/credentials/{their_id}/disable")),
        ("GET", format!("/api/v1/credentials/{their_id}/tokens")),
        ("GET", "/api/v1/credentials/not-a-uuid".to_string()),
    ] {
        let body = (method == "PATCH").then(|| json!({ "name": "Mine now" }));
        let res = api_call(&s.app, method, &path, &token, body, &[]).await;
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
    }
}

#[tokio::test]
async fn every_api_change_is_audited_with_the_calling_client_id() {
    let (s, mut super_admin, manager, token) = manager(&[READ, WRITE]).await;
    let path = format!("/api/v1/credentials/{}/disable", s.client.id);
    let res = api_call(
        &s.app,
        "POST",
        &path,
        &token,
        None,
        &[("User-Agent", "pipeline/1.0")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let log = super_admin
        .get(&format!(
            "{}?action=credential.disabled",
            m2m_console::paths::AUDIT
        ))
        .await;
    assert!(log.body.contains(&manager.client_id), "{}", log.body);
    let mut conn = s.app.conn().await;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::audit_events as ae;
    let (client, ip): (Option<String>, Option<String>) = ae::table
        .filter(ae::action.eq("credential.disabled"))
        .select((ae::actor_client_id, ae::ip))
        .first(&mut *conn)
        .await
        .unwrap();
    assert_eq!(client.as_deref(), Some(manager.client_id.as_str()));
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}
