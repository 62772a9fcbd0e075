//! The endpoints around the token: introspection (RFC 7662), revocation (RFC 7009), server
//! metadata (RFC 8414), whoami (RFC 6750), and a credential's tokens in the console.

use m2m_console::db::models::user::StaffRole;
use serde_json::Value;

use crate::fixtures::{
    Client, access_token, answer, basic, create_credential, introspect, post, seed_catalog, setup,
    valid_form, whoami,
};
use crate::helpers::TestApp;

const BASE: &str = "/settings/integrations/machine-to-machine";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_needs_a_client_of_the_same_organisation() {
    let mut s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    let unauthenticated = post(&s.app, "/oauth/introspect", &format!("token={token}"), &[]).await;
    assert_eq!(unauthenticated.status, 401);

    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let resource_server = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    let res = introspect(&s.app, &resource_server, &token).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], s.client.client_id.as_str());
    assert_eq!(body["sub"], s.client.client_id.as_str());
    assert_eq!(body["scope"], "orders:read orders:write");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        3600
    );

    for junk in ["m2m_at_unknown", "", "x"] {
        let res = introspect(&s.app, &resource_server, junk).await;
        if junk.is_empty() {
            assert_eq!(res.status, 400);
        } else {
            assert_eq!(res.json(), serde_json::json!({ "active": false }));
        }
    }

    // Another organisation's client learns nothing.
    let outsider = s
        .app
        .create_user("Globex", "hank@globex.test", StaffRole::Admin)
        .await;
    let mut globex = s.app.client();
    globex
        .login(&outsider.email, crate::helpers::PASSWORD)
        .await;
    let globex_catalog = seed_catalog(&s.app, outsider.org_id).await;
    let (gid, gcid, gsk) =
        create_credential(&s.app, &mut globex, &valid_form(&globex_catalog)).await;
    let spy = Client {
        id: gid,
        client_id: gcid,
        secret: gsk,
    };
    assert_eq!(
        introspect(&s.app, &spy, &token).await.json(),
        serde_json::json!({ "active": false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_revokes_its_own_tokens_but_not_anothers() {
    let mut s = setup().await;
    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let other = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    let mine = access_token(&s.app, &s.client).await;
    let theirs = access_token(&s.app, &other).await;
    let auth = basic(&s.client.client_id, &s.client.secret);

    let refused = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={theirs}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "unauthorized_client");
    assert_eq!(whoami(&s.app, &theirs).await.status, 200, "still active");

    let ok = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={mine}&token_type_hint=access_token"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(whoami(&s.app, &mine).await.status, 401);
    let again = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={mine}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(again.status, 200, "already revoked is fine");
    let unknown = post(
        &s.app,
        "/oauth/revoke",
        "token=m2m_at_nothing",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(
        post(&s.app, "/oauth/revoke", &format!("token={mine}"), &[])
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_metadata_describes_the_endpoints() {
    let app =
        TestApp::spawn_with(|s| s.public_url = "https://auth.example.com".parse().unwrap()).await;
    let res = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["issuer"], "https://auth.example.com");
    assert_eq!(
        body["token_endpoint"],
        "https://auth.example.com/oauth/token"
    );
    assert_eq!(
        body["introspection_endpoint"],
        "https://auth.example.com/oauth/introspect"
    );
    assert_eq!(
        body["revocation_endpoint"],
        "https://auth.example.com/oauth/revoke"
    );
    assert_eq!(
        body["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        body["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_follows_rfc_6750() {
    let s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    let http = reqwest::Client::new();

    let missing = answer(http.get(s.app.url("/api/v1/whoami")).send().await.unwrap()).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"m2m-console\"")
    );

    for header in ["Bearer", "Bearer ", "Bearer a b", "Bearer ünïcode"] {
        let res = answer(
            http.get(s.app.url("/api/v1/whoami"))
                .header("Authorization", header)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(res.status, 400, "{header}");
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_request\"")
        );
    }
    let in_query = answer(
        http.get(s.app.url(&format!("/api/v1/whoami?access_token={token}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(in_query.status, 400);
    let bogus = whoami(&s.app, "m2m_at_thisisnotatoken").await;
    assert_eq!(bogus.status, 401);
    assert!(
        bogus
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_eq!(whoami(&s.app, &token).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_generates_and_revokes_tokens() {
    let mut s = setup().await;
    let issued = access_token(&s.app, &s.client).await;
    let detail = s.admin.get(&format!("{BASE}/{}", s.client.id)).await;
    assert!(detail.body.contains("data-testid=\"token-row\""));
    assert!(detail.body.contains("127.0.0.1"));
    assert!(!detail.body.contains(&issued));

    let page = s
        .admin
        .hx_post(&format!("{BASE}/{}/token", s.client.id), &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    let generated = crate::fixtures::testid_text(&page.body, "access-token").unwrap();
    assert_eq!(whoami(&s.app, &generated).await.status, 200);

    let live = m2m_console::db::models::access_token::list_live(
        &mut *s.app.conn().await,
        s.client.id,
        s.app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(live.len(), 2);
    let res = s
        .admin
        .hx_post(
            &format!("{BASE}/{}/tokens/{}/revoke", s.client.id, live[0].id),
            &[],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Token revoked."));
    assert_eq!(
        whoami(&s.app, &generated).await.status,
        401,
        "the newest was revoked"
    );
    assert_eq!(whoami(&s.app, &issued).await.status, 200);
    let res = s
        .admin
        .post_form(&format!("{BASE}/{}/tokens/revoke", s.client.id), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(whoami(&s.app, &issued).await.status, 401);

    let (_, mut viewer) = s.app.login_as(StaffRole::Viewer).await;
    assert_eq!(
        viewer
            .post_form(&format!("{BASE}/{}/token", s.client.id), &[])
            .await
            .status,
        403
    );
}
