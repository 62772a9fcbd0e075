//! Containment: every operation on a credential holding management scopes is a Super
//! Admin's (a credential may rotate itself); a leaked secret's credential stays disabled
//! until its secret is rotated; and a calling credential never creates or edits anything
//! wider than itself (allow-list, expiry), nor obtains such a credential's secret.

use chrono::Duration;
use m2m_console::db::models::user::StaffRole;
use serde_json::json;

use crate::fixtures::*;
use crate::helpers::TestApp;

const READ: &str = "m2m.credentials:read";
const WRITE: &str = "m2m.credentials:write";
const ROTATE: &str = "m2m.credentials:rotate";
const TOKENS: &str = "m2m.tokens:revoke";
const AUDIT: &str = "m2m.audit:read";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_do_nothing_to_a_credential_that_holds_management_scopes() {
    let mut s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let target = management_client(&s.app, &mut boss, &s.catalog, "Auditor", &[AUDIT]).await;
    let live = access_token(&s.app, &target).await;
    let base = format!("{M2M}/{}", target.id);
    let token_id = {
        let page = boss.get(&base).await;
        let marker = format!("{base}/tokens/");
        page.body
            .match_indices(&marker)
            .map(|(at, _)| &page.body[at + marker.len()..])
            .map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().unwrap())
            .find(|id| !id.is_empty())
            .expect("a live token")
            .to_string()
    };
    for action in [
        "disable".to_string(),
        "revoke".to_string(),
        "delete".to_string(),
        "retire".to_string(),
        "tokens/revoke".to_string(),
        format!("tokens/{token_id}/revoke"),
    ] {
        let page = s.admin.post_form(&format!("{base}/{action}"), &[]).await;
        assert_eq!(page.status, 403, "{action}: {}", page.body);
    }
    assert_eq!(whoami(&s.app, &live).await.status, 200, "untouched");
    // The Super Admin disables it; the Admin cannot enable it again.
    assert_eq!(
        boss.post_form(&format!("{base}/disable"), &[]).await.status,
        303
    );
    let page = s.admin.post_form(&format!("{base}/enable"), &[]).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(stored(&s.app, s.org, target.id).await.is_disabled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calling_credential_cannot_revive_or_destroy_a_management_credential() {
    let s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let caller =
        management_client(&s.app, &mut boss, &s.catalog, "Ops", &[READ, WRITE, TOKENS]).await;
    let target = management_client(&s.app, &mut boss, &s.catalog, "Auditor", &[AUDIT]).await;
    assert_eq!(
        boss.post_form(&format!("{M2M}/{}/disable", target.id), &[])
            .await
            .status,
        303
    );
    let bearer = access_token(&s.app, &caller).await;
    let base = format!("/api/v1/credentials/{}", target.id);
    for (method, path, body) in [
        ("POST", format!("{base}/enable"), None),
        ("POST", format!("{base}/revoke"), None),
        ("POST", format!("{base}/tokens/revoke"), None),
        (
            "PATCH",
            base.clone(),
            Some(json!({ "description": "mine now" })),
        ),
        ("DELETE", base.clone(), None),
    ] {
        let res = api_call(&s.app, method, &path, &bearer, body, &[]).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.text);
    }
    // Nor may it edit itself: that is the Super Admin's too.
    let own = format!("/api/v1/credentials/{}", caller.id);
    let res = api_call(
        &s.app,
        "PATCH",
        &own,
        &bearer,
        Some(json!({"name": "Ops 2"})),
        &[],
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let still = stored(&s.app, s.org, target.id).await;
    assert!(still.is_disabled() && !still.is_revoked());
    // A plain credential is within its reach.
    let plain = format!("/api/v1/credentials/{}/disable", s.client.id);
    let res = api_call(&s.app, "POST", &plain, &bearer, None, &[]).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_secret_keeps_its_credential_disabled_until_the_secret_is_rotated() {
    let mut s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let target =
        management_client(&s.app, &mut boss, &s.catalog, "Everything", &[READ, WRITE]).await;
    let report = json!([{ "token": target.secret, "type": "m2m_client_secret", "url": "https://github.com/acme/x" }]);
    let res = post(
        &s.app,
        "/api/v1/leaks",
        &report.to_string(),
        &[("Content-Type", "application/json")],
    )
    .await;
    assert_eq!(res.status, 202);
    assert_eq!(token(&s.app, &target, "").await.status, 401);

    let enable = format!("{M2M}/{}/enable", target.id);
    let refused = boss.post_form(&enable, &[]).await;
    assert_eq!(refused.status, 409, "even a Super Admin: {}", refused.body);
    assert!(refused.body.contains("rotate"), "{}", refused.body);
    assert_eq!(
        token(&s.app, &target, "").await.status,
        401,
        "the leaked secret"
    );

    // The same for a plain credential and its Admin, and through the API.
    let report = json!([{ "token": s.client.secret, "type": "m2m_client_secret", "url": "https://github.com/acme/y" }]);
    post(
        &s.app,
        "/api/v1/leaks",
        &report.to_string(),
        &[("Content-Type", "application/json")],
    )
    .await;
    let plain_enable = format!("{M2M}/{}/enable", s.client.id);
    assert_eq!(s.admin.post_form(&plain_enable, &[]).await.status, 409);

    // Rotated since the report: it may be enabled, and the new secret works.
    let rotated = boss
        .hx_post(
            &format!("{M2M}/{}/rotate", target.id),
            &[("overlap", "now")],
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let fresh = Client {
        secret: testid_text(&rotated.body, "client-secret").unwrap(),
        ..target
    };
    assert_eq!(boss.post_form(&enable, &[]).await.status, 303);
    assert_eq!(token(&s.app, &fresh, "").await.status, 200);
}

/// A token request from `ip` (the app trusts 127.0.0.1 as a proxy).
async fn token_from(app: &TestApp, client: &Client, ip: &str) -> String {
    let auth = basic(&client.client_id, &client.secret);
    let headers = [("Authorization", auth.as_str()), ("X-Forwarded-For", ip)];
    let res = post(
        app,
        "/oauth/token",
        "grant_type=client_credentials",
        &headers,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.json()["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calling_credential_creates_and_edits_nothing_wider_than_itself() {
    let app =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let s = setup_on(app, |f| f).await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    // The form takes minutes.
    let own_text = (s.app.clock.now() + Duration::days(30))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let own_expiry = chrono::NaiveDateTime::parse_from_str(&own_text, "%Y-%m-%dT%H:%M")
        .unwrap()
        .and_utc();
    let mut form = with(valid_form(&s.catalog), "name", "Pipeline");
    form = with(form, "allowed_ips", "10.0.0.0/8");
    form = with(form, "expires_at", &own_text);
    for scope in [READ, WRITE, ROTATE] {
        form.push(("management_scopes", scope.to_string()));
    }
    let (id, client_id, secret) = create_credential(&s.app, &mut boss, &form).await;
    let caller = Client {
        id,
        client_id,
        secret,
    };
    let bearer = token_from(&s.app, &caller, "10.0.0.5").await;
    let call = async |method: &str, path: &str, body: serde_json::Value| {
        let from = [("X-Forwarded-For", "10.0.0.5")];
        api_call(&s.app, method, path, &bearer, Some(body), &from).await
    };
    let new =
        |name: &str, ips: serde_json::Value, expires: Option<chrono::DateTime<chrono::Utc>>| {
            let mut body = new_credential_json(&s.catalog, name);
            body["allowed_ips"] = ips;
            body["expires_at"] = json!(expires.map(|t| t.to_rfc3339()));
            body
        };
    let inside = Some(own_expiry - Duration::days(1));
    let later = Some(own_expiry + Duration::days(1));
    for (what, body) in [
        ("any address", new("A", json!([]), inside)),
        (
            "outside its networks",
            new("B", json!(["192.168.0.0/16"]), inside),
        ),
        ("a wider block", new("C", json!(["10.0.0.0/7"]), inside)),
        ("no expiry", new("D", json!(["10.1.0.0/16"]), None)),
        ("a later expiry", new("E", json!(["10.1.0.0/16"]), later)),
    ] {
        let res = call("POST", "/api/v1/credentials", body).await;
        assert_eq!(res.status, 403, "{what}: {}", res.text);
    }
    let ok = call(
        "POST",
        "/api/v1/credentials",
        new("F", json!(["10.1.0.0/16", "10.9.9.9"]), inside),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);

    let plain = format!("/api/v1/credentials/{}", s.client.id);
    let res = call("PATCH", &plain, json!({ "allowed_ips": ["10.2.3.4"] })).await;
    assert_eq!(res.status, 200, "narrowed within its own: {}", res.text);
    for body in [
        json!({ "allowed_ips": [] }),
        json!({ "allowed_ips": ["10.0.0.1", "172.16.0.1"] }),
        json!({ "expires_at": later.map(|t| t.to_rfc3339()) }),
    ] {
        let res = call("PATCH", &plain, body.clone()).await;
        assert_eq!(res.status, 403, "{body}: {}", res.text);
    }
    let res = call(
        "PATCH",
        &plain,
        json!({ "description": "untouched limits" }),
    )
    .await;
    assert_eq!(
        res.status, 200,
        "what it does not touch is not judged: {}",
        res.text
    );
    // Its own allow-list and expiry stay: editing itself is refused outright.
    let own = format!("/api/v1/credentials/{id}");
    let res = call(
        "PATCH",
        &own,
        json!({ "allowed_ips": [], "expires_at": null }),
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let me = stored(&s.app, s.org, id).await;
    assert_eq!(me.allowed_ips, ["10.0.0.0/8"]);
    assert_eq!(me.expires_at, Some(own_expiry));

    // Nor does it obtain, by rotating, the secret of a credential usable from anywhere.
    let (other, ..) = create_credential(
        &s.app,
        &mut boss,
        &with(valid_form(&s.catalog), "name", "Open"),
    )
    .await;
    let rotate = format!("/api/v1/credentials/{other}/rotate");
    let res = call("POST", &rotate, json!({})).await;
    assert_eq!(res.status, 403, "{}", res.text);
}
