//! Issue 23: a token lifetime per credential, bounded by the organisation's maximum. The
//! token endpoint's `expires_in`, introspection's `exp` and the console's generated token all
//! follow it; choosing and shortening are audited.

use m2m_console::db::models::user::StaffRole;

use crate::fixtures::*;
use crate::management_api::api;

/// A policy form as a Super Admin sends it, with `max` as the token maximum.
fn policy_with_token_max(max: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("default_lifetime_days", ""),
        ("max_lifetime_days", ""),
        ("expires_soon_days", "30"),
        ("stale_after_days", "90"),
        ("stale_action", "warn"),
        ("max_token_lifetime_seconds", max),
    ]
}

#[tokio::test]
async fn a_five_minute_credential_gets_expires_in_300_and_introspection_exp_follows() {
    let s = setup_with(|f| with(f, "token_lifetime", "300")).await;
    let now = s.app.clock.now().timestamp();
    let answer = token(&s.app, &s.client, "").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["expires_in"], 300);
    let access = answer.json()["access_token"].as_str().unwrap().to_string();

    let seen = introspect(&s.app, &s.client, &access).await.json();
    assert_eq!(seen["active"], true);
    let exp = seen["exp"].as_i64().unwrap();
    assert!(
        (now + 299..=now + 301).contains(&exp),
        "exp {exp}, now {now}"
    );

    // Five minutes later the token is over, on the server's clock.
    s.app.clock.advance(chrono::Duration::seconds(301));
    let later = introspect(&s.app, &s.client, &access).await.json();
    assert_eq!(later, serde_json::json!({ "active": false }));
    assert_eq!(whoami(&s.app, &access).await.status, 401);
}

#[tokio::test]
async fn a_credential_without_a_choice_gets_the_hour_and_the_detail_page_says_so() {
    let mut s = setup().await;
    assert_eq!(
        token(&s.app, &s.client, "").await.json()["expires_in"],
        3600
    );
    let page = s
        .admin
        .get(&format!("{}/{}", m2m_console::paths::M2M, s.client.id))
        .await;
    assert_eq!(testid_text(&page.body, "token-lifetime").unwrap(), "1 hour");
}

#[tokio::test]
async fn editing_the_lifetime_is_audited_and_the_next_token_follows_it() {
    let mut s = setup().await;
    let first = token(&s.app, &s.client, "").await;
    let form = with(valid_form(&s.catalog), "token_lifetime", "86400");
    let path = m2m_console::paths::credential(s.client.id);
    let page = s.admin.post_form(&path, &pairs(&form)).await;
    assert_eq!(page.status, 303, "{}", page.body);

    let second = token(&s.app, &s.client, "").await;
    assert_eq!(second.json()["expires_in"], 86400);
    // The token issued before keeps its hour.
    let old = first.json()["access_token"].as_str().unwrap().to_string();
    let exp = introspect(&s.app, &s.client, &old).await.json()["exp"]
        .as_i64()
        .unwrap();
    assert!(exp <= s.app.clock.now().timestamp() + 3600);

    let edits = audited(&s.app, s.org, "credential.updated").await;
    let details = &edits.first().unwrap().details;
    assert_eq!(details["before"]["token_lifetime_seconds"], 3600);
    assert_eq!(details["after"]["token_lifetime_seconds"], 86400);
}

#[tokio::test]
async fn a_lifetime_beyond_the_policy_maximum_is_refused_on_the_form() {
    let mut s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let saved = boss.post_form(POLICY, &policy_with_token_max("900")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    let form = with(valid_form(&s.catalog), "token_lifetime", "3600");
    let path = m2m_console::paths::credential(s.client.id);
    let page = s.admin.post_form(&path, &pairs(&form)).await;
    assert_eq!(page.status, 422, "{}", page.body);
    let message = testid_text(&page.body, "error-token_lifetime").unwrap();
    assert!(message.contains("at most 15 minutes"), "{message}");
    // The form offers only what the policy allows.
    let offered = s
        .admin
        .get(&format!("{}/{}/edit", m2m_console::paths::M2M, s.client.id))
        .await;
    assert!(offered.body.contains("<option value=\"900\""));
    assert!(!offered.body.contains("<option value=\"3600\""));

    // A new credential without a choice gets the maximum, as the hour is not allowed.
    let (id, ..) = create_credential(
        &s.app,
        &mut s.admin,
        &with(valid_form(&s.catalog), "name", "Short"),
    )
    .await;
    assert_eq!(stored(&s.app, s.org, id).await.token_lifetime_seconds, 900);
}

#[tokio::test]
async fn lowering_the_maximum_shortens_longer_lifetimes_from_the_next_token() {
    let s = setup_with(|f| with(f, "token_lifetime", "86400")).await;
    assert_eq!(
        token(&s.app, &s.client, "").await.json()["expires_in"],
        86400
    );
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let saved = boss.post_form(POLICY, &policy_with_token_max("900")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    assert_eq!(token(&s.app, &s.client, "").await.json()["expires_in"], 900);
    let policy = audited(&s.app, s.org, "policy.updated").await;
    let details = &policy.first().unwrap().details;
    assert_eq!(details["after"]["max_token_lifetime_seconds"], 900);
    assert_eq!(
        details["token_lifetime_shortened"],
        serde_json::json!(["Warehouse sync"])
    );
}

#[tokio::test]
async fn a_policy_maximum_that_is_not_offered_is_refused() {
    let app = crate::helpers::TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let page = boss.post_form(POLICY, &policy_with_token_max("1000")).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(testid_text(&page.body, "error-max_token_lifetime_seconds").is_some());
}

#[tokio::test]
async fn the_management_api_sets_and_shows_the_lifetime_and_refuses_others() {
    let a = api().await;
    let mut body = new_credential_json(&a.s.catalog, "Payments");
    body["token_lifetime_seconds"] = 300.into();
    let created = a.call("POST", "/api/v1/credentials", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let view = &created.json()["credential"];
    assert_eq!(view["token_lifetime_seconds"], 300, "{}", created.text);

    let id = view["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/credentials/{id}");
    let bad = serde_json::json!({ "token_lifetime_seconds": 301 });
    let refused = a.call("PATCH", &path, Some(bad)).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("token_lifetime_seconds"));

    let good = serde_json::json!({ "token_lifetime_seconds": 21600 });
    let changed = a.call("PATCH", &path, Some(good)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["token_lifetime_seconds"], 21600);
}
