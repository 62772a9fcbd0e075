//! Edits as change sets: a tightened lifetime policy judges only what an edit changes (an
//! untouched expiry stays as it is, seconds included), in the console and through `PATCH`;
//! and a save that changes nothing leaves no audit row and sends no webhook event.

use chrono::{Duration, SubsecRound};
use m2m_console::db::models::user::StaffRole;
use serde_json::json;

use crate::fixtures::*;
use crate::helpers::TestApp;
use crate::management_api::api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tightened_maximum_lifetime_leaves_an_untouched_expiry_alone_in_the_console() {
    let mut s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    save_policy(&mut boss, &policy_fields("90", "30", "90", "warn")).await;
    let path = format!("{M2M}/{}", s.client.id);

    // It never expires; the form comes back with only the description changed.
    let form = with(
        edit_form(&mut s.admin, s.client.id).await,
        "description",
        "Runs at 02:00",
    );
    assert!(form.contains(&("expiry", "never".to_string())), "{form:?}");
    let saved = s.admin.post_form(&path, &pairs(&form)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let c = stored(&s.app, s.org, s.client.id).await;
    assert_eq!(c.description, "Runs at 02:00");
    assert_eq!(c.expires_at, None, "still never expires");

    // An expiry beyond the new maximum, to the second, is kept when the form (which shows
    // minutes) comes back untouched.
    let far = (s.app.clock.now() + Duration::days(200) + Duration::seconds(17)).trunc_subsecs(6);
    store_expiry(&s.app, s.client.id, Some(far)).await;
    let form = with(
        edit_form(&mut s.admin, s.client.id).await,
        "name",
        "Warehouse sync (EU)",
    );
    assert!(form.contains(&("expiry", "custom".to_string())), "{form:?}");
    let saved = s.admin.post_form(&path, &pairs(&form)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let c = stored(&s.app, s.org, s.client.id).await;
    assert_eq!(c.name, "Warehouse sync (EU)");
    assert_eq!(c.expires_at, Some(far), "the expiry, seconds included");

    // A new expiry is judged as before.
    for (expiry, at, field) in [
        ("365", String::new(), "expiry"),
        (
            "custom",
            (s.app.clock.now() + Duration::days(120))
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            "expires_at",
        ),
    ] {
        let form = with(
            with(edit_form(&mut s.admin, s.client.id).await, "expiry", expiry),
            "expires_at",
            &at,
        );
        let refused = s.admin.post_form(&path, &pairs(&form)).await;
        assert_eq!(refused.status, 422, "{expiry}: {}", refused.body);
        assert!(
            testid_text(&refused.body, &format!("error-{field}"))
                .is_some_and(|e| e.contains("at most 90 days")),
            "{expiry}: {}",
            refused.body
        );
    }
    assert_eq!(
        stored(&s.app, s.org, s.client.id).await.expires_at,
        Some(far)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tightened_maximum_lifetime_leaves_an_untouched_expiry_alone_through_patch() {
    let a = api().await;
    let (_, mut boss) = a.s.app.login_as(StaffRole::SuperAdmin).await;
    save_policy(&mut boss, &policy_fields("90", "30", "90", "warn")).await;
    let path = format!("/api/v1/credentials/{}", a.s.client.id);

    let res = a
        .call("PATCH", &path, Some(json!({ "description": "Nightly" })))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["expires_at"], serde_json::Value::Null);

    let far = (a.s.app.clock.now() + Duration::days(200) + Duration::seconds(17)).trunc_subsecs(6);
    store_expiry(&a.s.app, a.s.client.id, Some(far)).await;
    let same = json!({ "name": "Renamed", "expires_at": far.to_rfc3339() });
    let res = a.call("PATCH", &path, Some(same)).await;
    assert_eq!(
        res.status, 200,
        "the same expiry is no change: {}",
        res.text
    );
    let c = stored(&a.s.app, a.s.org, a.s.client.id).await;
    assert_eq!((c.name.as_str(), c.expires_at), ("Renamed", Some(far)));

    let later = (a.s.app.clock.now() + Duration::days(120)).to_rfc3339();
    let res = a
        .call("PATCH", &path, Some(json!({ "expires_at": later })))
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert!(res.text.contains("at most 90 days"), "{}", res.text);
    let res = a
        .call("PATCH", &path, Some(json!({ "expires_at": null })))
        .await;
    assert_eq!(res.status, 422, "never is a change too: {}", res.text);
    assert_eq!(
        stored(&a.s.app, a.s.org, a.s.client.id).await.expires_at,
        Some(far)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_that_changes_nothing_writes_no_audit_row_and_sends_no_event() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let mut s = setup_on(app, |f| with(f, "allowed_ips", "10.0.0.0/24")).await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let events = ["credential.updated"];
    register_webhook(&s.app, &mut boss, "http://127.0.0.1:9/hook", &events).await;
    let path = format!("{M2M}/{}", s.client.id);

    let form = edit_form(&mut s.admin, s.client.id).await;
    let saved = s.admin.post_form(&path, &pairs(&form)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = s.admin.get(&path).await;
    assert!(page.body.contains("No changes to"), "{}", page.body);
    assert!(
        audited(&s.app, s.org, "credential.updated")
            .await
            .is_empty()
    );
    assert_eq!(queued_events(&s.app, s.org, "credential.updated").await, 0);

    let a = api_for(&s, &mut boss).await;
    let same = json!({ "name": "Warehouse sync", "allowed_ips": ["10.0.0.0/24"] });
    let res = api_call(
        &s.app,
        "PATCH",
        &format!("/api/v1/credentials/{}", s.client.id),
        &a,
        Some(same),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        audited(&s.app, s.org, "credential.updated")
            .await
            .is_empty()
    );

    // A real change is recorded and announced, once.
    let changed = with(form, "description", "Now hourly");
    let saved = s.admin.post_form(&path, &pairs(&changed)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(audited(&s.app, s.org, "credential.updated").await.len(), 1);
    assert_eq!(queued_events(&s.app, s.org, "credential.updated").await, 1);

    // The policy saved twice unchanged: one row.
    let fields = policy_fields("", "30", "90", "warn");
    save_policy(&mut boss, &fields).await;
    save_policy(&mut boss, &fields).await;
    let rows = audited(&s.app, s.org, "policy.updated").await;
    assert!(rows.is_empty(), "the defaults saved again change nothing");
    save_policy(&mut boss, &policy_fields("", "14", "90", "warn")).await;
    save_policy(&mut boss, &policy_fields("", "14", "90", "warn")).await;
    assert_eq!(audited(&s.app, s.org, "policy.updated").await.len(), 1);

    // Roles, the catalog and webhook endpoints saved unchanged record nothing either.
    let (read, write) = (s.catalog.read.to_string(), s.catalog.write.to_string());
    let role = [
        ("name", "Orders"),
        ("description", ""),
        ("apis", &read),
        ("apis", &write),
    ];
    let api = [
        ("scope", "orders:read"),
        ("name", "API orders:read"),
        ("description", ""),
    ];
    let endpoint = [
        ("url", "http://127.0.0.1:9/hook"),
        ("events", events[0]),
        ("enabled", "on"),
    ];
    let hook = webhook_id(&s).await;
    for (path, form) in [
        (m2m_console::paths::role(s.catalog.role), &role[..]),
        (m2m_console::paths::api(s.catalog.read), &api[..]),
        (m2m_console::paths::webhook(hook), &endpoint[..]),
    ] {
        let saved = boss.post_form(&path, form).await;
        assert_eq!(saved.status, 303, "{path}: {}", saved.body);
    }
    for action in ["role.updated", "api.updated", "webhook.updated"] {
        assert!(audited(&s.app, s.org, action).await.is_empty(), "{action}");
    }
}

/// The organisation's one webhook endpoint.
async fn webhook_id(s: &Setup) -> m2m_console::db::ids::WebhookEndpointId {
    use diesel::prelude::QueryDsl;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::webhook_endpoints;
    webhook_endpoints::table
        .select(webhook_endpoints::id)
        .first(&mut *s.app.conn().await)
        .await
        .unwrap()
}

/// A bearer token of a new management credential (every scope) made by `boss`.
async fn api_for(s: &Setup, boss: &mut crate::helpers::Browser) -> String {
    let manager = management_client(
        &s.app,
        boss,
        &s.catalog,
        "Pipeline",
        &crate::management_api::ALL,
    )
    .await;
    access_token(&s.app, &manager).await
}
