//! Keys on a credential: added in the console and the API, used at every OAuth endpoint,
//! removed (refused on the very next request, on every instance), "keys only", and who may.

use m2m_console::db::models::user::StaffRole;
use serde_json::json;

use super::*;
use crate::management_api::api;

#[tokio::test]
async fn an_es256_key_added_in_the_console_gets_a_token_that_introspects_active() {
    let mut s = setup_with(|f| with(f, "token_lifetime", "300")).await;
    let signer = Signer::es256();
    let page = add_key_in_console(&mut s, &signer.jwk().to_string()).await;
    assert_eq!(page.status, 303, "{}", page.body);

    let answer = token_with(&s.app, &assertion(&s.app, &signer, &s.client.client_id)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["expires_in"], 300);
    let access = answer.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        introspect(&s.app, &s.client, &access).await.json()["active"],
        true
    );
    assert_eq!(whoami(&s.app, &access).await.status, 200);

    // The page lists it with its fingerprint and last use; the secret was not used.
    let detail = s
        .admin
        .get(&m2m_console::paths::credential(s.client.id))
        .await;
    assert_eq!(rows(&detail, "key-row"), 1);
    assert_ne!(testid_text(&detail.body, "key-last-used").unwrap(), "Never");
    let added = audited(&s.app, s.org, "credential.key_added").await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].details["algorithm"], "ES256");

    // The token counts as issued; the secret's own uses do not move.
    s.app.flush_usage().await;
    let c = m2m_console::db::models::credential::Credential::find_in_org(
        &mut *s.app.conn().await,
        s.org,
        s.client.id,
    )
    .await
    .unwrap();
    assert_eq!(c.secret_uses, 0);
    assert!(c.last_used_at.is_some());
}

#[tokio::test]
async fn an_rs256_pem_key_added_through_the_api_authenticates_introspection_and_revocation() {
    let a = api().await;
    let target = &a.s.client;
    let path = format!("/api/v1/credentials/{}/keys", target.id);
    let added = a
        .call("POST", &path, Some(json!({ "public_key": RSA_PUBLIC_PEM })))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json()["algorithm"], "RS256");
    let kid = added.json()["kid"].as_str().unwrap().to_string();
    assert_eq!(kid.len(), 43);
    let listed = a.call("GET", &path, None).await;
    assert_eq!(listed.json()["items"][0]["kid"], kid.as_str());

    // Keys only through the API: the choice must be said; an empty body changes nothing.
    let only = format!("/api/v1/credentials/{}/keys-only", target.id);
    assert_eq!(a.call("POST", &only, None).await.status, 422);
    assert_eq!(a.call("POST", &only, Some(json!({}))).await.status, 422);
    let switched = a
        .call("POST", &only, Some(json!({ "keys_only": true })))
        .await;
    assert_eq!(switched.status, 200, "{}", switched.text);
    assert_eq!(switched.json()["keys_only"], true);
    assert_eq!(token(&a.s.app, target, "").await.status, 401);

    let signer = Signer::rs256();
    let header = json!({ "alg": "RS256", "kid": kid });
    let access = {
        let jws = signer.jws(&header, &claims(&a.s.app, &target.client_id));
        let answer = token_with(&a.s.app, &jws).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()["access_token"].as_str().unwrap().to_string()
    };
    // The same key authenticates introspection and revocation, with the issuer as audience.
    let for_issuer = |app: &TestApp| {
        let mut c = claims(app, &target.client_id);
        c["aud"] = app.state.settings.issuer().into();
        signer.jws(&header, &c)
    };
    let seen = post(
        &a.s.app,
        "/oauth/introspect",
        &body(&for_issuer(&a.s.app), &format!("&token={access}")),
        &[],
    )
    .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json()["active"], true);
    let revoked = post(
        &a.s.app,
        "/oauth/revoke",
        &body(&for_issuer(&a.s.app), &format!("&token={access}")),
        &[],
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(
        introspect(&a.s.app, &a.manager, &access).await.json()["active"],
        false
    );
}

#[tokio::test]
async fn a_removed_key_is_refused_on_the_next_request_on_every_instance() {
    let mut s = setup().await;
    let signer = Signer::es256();
    add_key_in_console(&mut s, &signer.jwk().to_string()).await;
    let other = s.app.second_instance().await;
    let before = token_with(&other, &assertion(&other, &signer, &s.client.client_id)).await;
    assert_eq!(before.status, 200, "{}", before.text);

    let key_id = keys_of(&s.app, s.client.id).await[0].id;
    let path = format!(
        "{}/keys/{key_id}/remove",
        m2m_console::paths::credential(s.client.id)
    );
    assert_eq!(s.admin.post_form(&path, &[]).await.status, 303);

    for app in [&s.app, &other] {
        let after = token_with(app, &assertion(app, &signer, &s.client.client_id)).await;
        assert_eq!(after.status, 401, "{}", after.text);
        assert_eq!(after.json()["error"], "invalid_client");
    }
    assert_eq!(
        audited(&s.app, s.org, "credential.key_removed").await.len(),
        1
    );
}

#[tokio::test]
async fn keys_only_refuses_the_secret_and_needs_a_key() {
    let mut s = setup().await;
    let path = format!("{}/keys-only", m2m_console::paths::credential(s.client.id));
    // Without a key it would lock the credential out: refused.
    let refused = s.admin.post_form(&path, &[("keys_only", "yes")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);

    let signer = Signer::es256();
    add_key_in_console(&mut s, &signer.jwk().to_string()).await;
    assert_eq!(
        s.admin
            .post_form(&path, &[("keys_only", "yes")])
            .await
            .status,
        303
    );
    let with_secret = token(&s.app, &s.client, "").await;
    assert_eq!(with_secret.status, 401, "{}", with_secret.text);
    let signed = token_with(&s.app, &assertion(&s.app, &signer, &s.client.client_id)).await;
    assert_eq!(signed.status, 200, "{}", signed.text);

    s.app.flush_usage().await;
    let reasons = refusal_reasons(&s.app, s.client.id).await;
    assert_eq!(reasons, ["refused_keys_only"]);

    // Its last key cannot be removed while it accepts keys only.
    let key_id = keys_of(&s.app, s.client.id).await[0].id;
    let remove = format!(
        "{}/keys/{key_id}/remove",
        m2m_console::paths::credential(s.client.id)
    );
    assert_eq!(s.admin.post_form(&remove, &[]).await.status, 409);

    assert_eq!(
        s.admin
            .post_form(&path, &[("keys_only", "no")])
            .await
            .status,
        303
    );
    assert_eq!(token(&s.app, &s.client, "").await.status, 200);
}

#[tokio::test]
async fn pasted_private_keys_third_keys_and_duplicates_are_refused() {
    let mut s = setup().await;
    let private = super::RSA_PRIVATE_PEM;
    let page = add_key_in_console(&mut s, private).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("private key"));
    assert!(
        !page.body.contains(&private[40..80]),
        "the private key is echoed"
    );

    let first = Signer::es256();
    assert_eq!(
        add_key_in_console(&mut s, &first.jwk().to_string())
            .await
            .status,
        303
    );
    assert_eq!(
        add_key_in_console(&mut s, &first.jwk().to_string())
            .await
            .status,
        409
    );
    assert_eq!(add_key_in_console(&mut s, RSA_PUBLIC_PEM).await.status, 303);
    let third = add_key_in_console(&mut s, &Signer::es256().jwk().to_string()).await;
    assert_eq!(third.status, 409, "{}", third.body);
}

#[tokio::test]
async fn only_a_super_admin_adds_keys_to_a_credential_with_management_access() {
    let s = setup().await;
    let (_, mut super_admin) = s.app.login_as(StaffRole::SuperAdmin).await;
    let manager = management_client(
        &s.app,
        &mut super_admin,
        &s.catalog,
        "Pipeline",
        &["m2m.credentials:read"],
    )
    .await;
    let (_, mut admin) = s.app.login_as(StaffRole::Admin).await;
    let path = format!("{}/keys", m2m_console::paths::credential(manager.id));
    let jwk = Signer::es256().jwk().to_string();
    let as_admin = admin.post_form(&path, &[("public_key", &jwk)]).await;
    assert_eq!(as_admin.status, 403, "{}", as_admin.body);
    let as_super = super_admin.post_form(&path, &[("public_key", &jwk)]).await;
    assert_eq!(as_super.status, 303, "{}", as_super.body);
    let (_, mut viewer) = s.app.login_as(StaffRole::Viewer).await;
    let mine = format!("{}/keys", m2m_console::paths::credential(s.client.id));
    assert_eq!(
        viewer
            .post_form(&mine, &[("public_key", &jwk)])
            .await
            .status,
        403
    );

    // Through the API, adding a key takes m2m.credentials:rotate; reading lists them.
    let reader = access_token(&s.app, &manager).await;
    let path = format!("/api/v1/credentials/{}/keys", s.client.id);
    let body = serde_json::json!({ "public_key": jwk });
    let refused = api_call(&s.app, "POST", &path, &reader, Some(body), &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let listed = api_call(&s.app, "GET", &path, &reader, None, &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json()["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_metadata_advertises_private_key_jwt_with_its_algorithms() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    let meta: serde_json::Value = res.json().await.unwrap();
    let methods = meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")));
    assert_eq!(
        meta["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
}

/// The refusal reasons kept for the credential, oldest first.
pub async fn refusal_reasons(app: &TestApp, id: m2m_console::db::ids::CredentialId) -> Vec<String> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::credential_refusals as r;
    r::table
        .filter(r::credential_id.eq(id))
        .order(r::id)
        .select(r::reason)
        .load(&mut *app.conn().await)
        .await
        .unwrap()
}
