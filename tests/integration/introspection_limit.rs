//! Issue 23: introspection and revocation limited per calling credential (RFC 7662 §4),
//! shared by every instance, with 429 and `Retry-After`; a credential introspects only its
//! own organisation's tokens.

use m2m_console::db::models::user::StaffRole;

use crate::fixtures::*;
use crate::helpers::TestApp;

/// An app whose callers may introspect or revoke `n` times a minute, with its setup.
async fn limited(n: u32) -> Setup {
    let app = TestApp::spawn_with(|s| {
        s.introspection_rate_limit = n;
        s.usage_flush = std::time::Duration::from_secs(3600);
    })
    .await;
    setup_on(app, |f| f).await
}

/// A second credential of the setup's organisation.
async fn second_client(s: &mut Setup, name: &str) -> Client {
    let form = with(valid_form(&s.catalog), "name", name);
    let (id, client_id, secret) = create_credential(&s.app, &mut s.admin, &form).await;
    Client {
        id,
        client_id,
        secret,
    }
}

#[tokio::test]
async fn a_caller_over_its_introspection_allowance_gets_429_with_retry_after_and_others_do_not() {
    let mut s = limited(3).await;
    let checker = second_client(&mut s, "Checker").await;
    let live = access_token(&s.app, &s.client).await;
    for _ in 0..3 {
        let seen = introspect(&s.app, &checker, &live).await;
        assert_eq!(seen.status, 200, "{}", seen.text);
        assert_eq!(seen.json()["active"], true);
    }
    let refused = introspect(&s.app, &checker, &live).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.json()["error"], "slow_down");
    let wait: u64 = refused.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(!refused.text.contains("active"), "{}", refused.text);

    // Another caller, and the token endpoint, are not affected.
    let other = introspect(&s.app, &s.client, &live).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.json()["active"], true);
    assert_eq!(token(&s.app, &checker, "").await.status, 200);

    // Revocation counts against the same allowance.
    let auth = basic(&checker.client_id, &checker.secret);
    let body = format!("token={live}");
    let revoke = post(&s.app, "/oauth/revoke", &body, &[("Authorization", &auth)]).await;
    assert_eq!(revoke.status, 429);
    assert_eq!(whoami(&s.app, &live).await.status, 200, "not revoked");

    // Once the window is over the whole allowance is back.
    s.app.flush_usage().await;
    s.app.clock.advance(chrono::Duration::seconds(61));
    let fresh = access_token(&s.app, &s.client).await;
    assert_eq!(introspect(&s.app, &checker, &fresh).await.status, 200);
}

#[tokio::test]
async fn the_introspection_allowance_is_shared_by_every_instance() {
    let mut s = limited(4).await;
    let checker = second_client(&mut s, "Checker").await;
    let token = access_token(&s.app, &s.client).await;
    let other = s.app.second_instance().await;
    for _ in 0..3 {
        assert_eq!(introspect(&s.app, &checker, &token).await.status, 200);
    }
    // The first instance's calls reach the shared window with its flush.
    s.app.flush_usage().await;
    let seen = introspect(&other, &checker, &token).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json()["active"], true);
    let refused = introspect(&other, &checker, &token).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.header("Retry-After").is_some());
}

#[tokio::test]
async fn a_refused_caller_is_still_refused_as_invalid_client_not_rate_limited() {
    let s = limited(1).await;
    let token = access_token(&s.app, &s.client).await;
    let wrong = Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret: m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret)
            .unwrap()
            .expose()
            .to_string(),
    };
    for _ in 0..3 {
        let refused = introspect(&s.app, &wrong, &token).await;
        assert_eq!(refused.status, 401, "{}", refused.text);
        assert_eq!(refused.json()["error"], "invalid_client");
    }
    // Failures took nothing from the real caller's allowance.
    let seen = introspect(&s.app, &s.client, &token).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.json()["active"], true);
}

#[tokio::test]
async fn a_credential_of_another_organisation_sees_only_inactive() {
    let s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    // Another organisation with its own catalog and credential.
    let stranger_user = s
        .app
        .create_user("Globex", "admin@globex.test", StaffRole::Admin)
        .await;
    let mut stranger_admin = s.app.client();
    stranger_admin
        .login("admin@globex.test", crate::helpers::PASSWORD)
        .await;
    let catalog = seed_catalog(&s.app, stranger_user.org_id).await;
    let (id, client_id, secret) =
        create_credential(&s.app, &mut stranger_admin, &valid_form(&catalog)).await;
    let stranger = Client {
        id,
        client_id,
        secret,
    };
    let seen = introspect(&s.app, &stranger, &token).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json(), serde_json::json!({ "active": false }));
    // The same token is active to its own organisation.
    assert_eq!(
        introspect(&s.app, &s.client, &token).await.json()["active"],
        true
    );
}
