//! Settings → Webhooks: who may see and change endpoints, what a registration must pass, the
//! signing secret shown once and sealed at rest, rotation, the limit of 10, and the audit
//! trail. Delivery is in `webhooks_delivery`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;
use m2m_console::db::schema::{webhook_deliveries, webhook_endpoints};
use m2m_console::paths;

use crate::fixtures::{local_webhooks, register_webhook, rows, testid_text};
use crate::helpers::{TestApp, captured_logs};
use crate::webhook_receiver::Receiver;

const EVENTS: &[&str] = &["credential.secret_rotated", "credential.revoked"];

async fn endpoint_count(app: &TestApp) -> i64 {
    webhook_endpoints::table
        .count()
        .get_result(&mut *app.conn().await)
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp, org: m2m_console::db::ids::OrgId) -> Vec<String> {
    AuditEvent::list_for_org(&mut *app.conn().await, org, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_super_admin_sees_or_changes_webhooks() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let (id, _) = register_webhook(&app, &mut owner, &receiver.url(), EVENTS).await;
    let settings = owner.get(paths::SETTINGS).await;
    assert!(
        settings.body.contains(paths::WEBHOOKS),
        "on the Settings index"
    );

    for role in [StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut other) = app.login_as(role).await;
        let index = other.get(paths::SETTINGS).await;
        assert!(
            !index.body.contains(paths::WEBHOOKS),
            "{role:?} sees no link"
        );
        for path in [
            paths::WEBHOOKS.to_string(),
            paths::webhook(id),
            paths::webhook_action(id, "edit"),
            paths::webhook_action(id, "rotate"),
        ] {
            let page = other.get(&path).await;
            assert_eq!(page.status, 403, "{role:?} GET {path}");
            assert!(
                !page.body.contains(&receiver.url()),
                "{role:?} sees nothing"
            );
        }
        let events = [("url", receiver.url()), ("events", EVENTS[0].to_string())];
        let events: Vec<(&str, &str)> = events.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for path in [
            paths::WEBHOOKS.to_string(),
            paths::webhook(id),
            paths::webhook_action(id, "rotate"),
            paths::webhook_action(id, "delete"),
            paths::webhook_redeliver(id, uuid::Uuid::new_v4()),
        ] {
            let res = other.post_form(&path, &events).await;
            assert_eq!(res.status, 403, "{role:?} POST {path}");
        }
    }
    assert_eq!(
        endpoint_count(&app).await,
        1,
        "nothing was added or deleted"
    );
    let page = owner.get(&paths::webhook(id)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&receiver.url()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisations_endpoint_is_not_found() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let (id, _) = register_webhook(&app, &mut owner, &receiver.url(), EVENTS).await;

    app.create_user("Globex", "root@globex.test", StaffRole::SuperAdmin)
        .await;
    let mut stranger = app.client();
    assert_eq!(
        stranger
            .login("root@globex.test", crate::helpers::PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(stranger.get(&paths::webhook(id)).await.status, 404);
    assert_eq!(
        stranger
            .get(&paths::webhook_action(id, "delete"))
            .await
            .status,
        404
    );
    let form = [("url", "http://127.0.0.1:9/x"), ("events", EVENTS[0])];
    for path in [
        paths::webhook(id),
        paths::webhook_action(id, "delete"),
        paths::webhook_action(id, "rotate"),
    ] {
        assert_eq!(stranger.post_form(&path, &form).await.status, 404, "{path}");
    }
    let list = stranger.get(paths::WEBHOOKS).await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains(&receiver.url()),
        "only its own endpoints"
    );
    let saved: String = webhook_endpoints::table
        .find(id)
        .select(webhook_endpoints::url)
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert_eq!(saved, receiver.url(), "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_what_breaks_a_rule_next_to_its_field() {
    // https only here: WEBHOOK_ALLOW_INSECURE is off.
    let app = TestApp::spawn_with(|s| s.webhooks.allow_private = true).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let long = format!("https://127.0.0.1/{}", "a".repeat(2000));
    let cases: &[(&str, &[&str], &str)] = &[
        ("", EVENTS, "url"),
        ("not a url", EVENTS, "url"),
        ("https://", EVENTS, "url"),
        ("ftp://127.0.0.1/x", EVENTS, "url"),
        ("http://127.0.0.1/x", EVENTS, "url"),
        ("https://user:pw@127.0.0.1/x", EVENTS, "url"),
        ("https://token@127.0.0.1/x", EVENTS, "url"),
        ("https://127.0.0.1/x\u{0}y", EVENTS, "url"),
        ("https://127.0.0.1/x\ny", EVENTS, "url"),
        ("https://127.0.0.1/x#frag", EVENTS, "url"),
        (long.as_str(), EVENTS, "url"),
        ("https://127.0.0.1/x", &[], "events"),
        (
            "https://127.0.0.1/x",
            &["credential.token_generated"],
            "events",
        ),
        (
            "https://127.0.0.1/x",
            &["credential.revoked\u{0}"],
            "events",
        ),
    ];
    for (url, events, field) in cases {
        let mut form = vec![("url", *url)];
        form.extend(events.iter().map(|e| ("events", *e)));
        for hx in [true, false] {
            let page = if hx {
                owner.hx_post(paths::WEBHOOKS, &form).await
            } else {
                owner.post_form(paths::WEBHOOKS, &form).await
            };
            assert_eq!(page.status, 422, "{url:?} {events:?}: {}", page.body);
            assert!(
                page.body
                    .contains(&format!("data-testid=\"error-{field}\"")),
                "{url:?} {events:?} should be refused on {field}"
            );
            assert!(!page.body.contains("whsec_"));
        }
    }
    let page = owner
        .post_form(paths::WEBHOOKS, &[("url", "http://127.0.0.1/x")])
        .await;
    assert!(
        testid_text(&page.body, "error-url")
            .unwrap()
            .contains("https://"),
        "{}",
        page.body
    );
    assert_eq!(endpoint_count(&app).await, 0);
    // A valid one passes with https.
    let ok = owner
        .hx_post(
            paths::WEBHOOKS,
            &[("url", "https://127.0.0.1/x"), ("events", EVENTS[0])],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(endpoint_count(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused_at_registration_unless_allowed() {
    let app = TestApp::spawn_with(|s| s.webhooks.allow_insecure = true).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    // None of these is ever contacted: the address is judged before anything is sent.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
        "http://0x7f000001:9/hook",
        "http://0.0.0.0:9/hook",
    ] {
        let page = owner
            .post_form(paths::WEBHOOKS, &[("url", url), ("events", EVENTS[0])])
            .await;
        assert_eq!(page.status, 422, "{url}");
        let error = testid_text(&page.body, "error-url").unwrap_or_default();
        assert!(error.contains("public addresses"), "{url}: {error}");
    }
    assert_eq!(endpoint_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_secret_is_shown_once_sealed_at_rest_and_rotated() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (owner_user, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    // Without JavaScript: the reveal is a whole page, never cached.
    let mut form = vec![("url", receiver.url())];
    form.push(("events", EVENTS[0].to_string()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = owner.post_form(paths::WEBHOOKS, &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let secret = testid_text(&page.body, "webhook-secret").unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let key = base64_decode(secret.trim_start_matches("whsec_"));
    assert_eq!(key.len(), 32, "32 random bytes");
    let (id, sealed): (m2m_console::db::ids::WebhookEndpointId, Vec<u8>) = webhook_endpoints::table
        .select((webhook_endpoints::id, webhook_endpoints::secret_sealed))
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert!(
        !contains(&sealed, secret.as_bytes()) && !contains(&sealed, &key),
        "stored sealed, not in clear"
    );

    for path in [
        paths::WEBHOOKS.to_string(),
        paths::webhook(id),
        paths::webhook_action(id, "edit"),
        paths::webhook_action(id, "rotate"),
        paths::AUDIT.to_string(),
    ] {
        let page = owner.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            !page.body.contains(&secret),
            "{path} shows the secret again"
        );
    }

    let rotated = owner
        .hx_post(&paths::webhook_action(id, "rotate"), &[])
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = testid_text(&rotated.body, "webhook-secret").unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let resealed: Vec<u8> = webhook_endpoints::table
        .find(id)
        .select(webhook_endpoints::secret_sealed)
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert_ne!(resealed, sealed);

    let actions = audit_actions(&app, owner_user.org_id).await;
    assert!(
        actions.contains(&"webhook.created".to_string()),
        "{actions:?}"
    );
    assert!(actions.contains(&"webhook.secret_rotated".to_string()));
    let audit = owner.get(paths::AUDIT).await.body;
    assert!(audit.contains("Webhook signing secret rotated"), "labelled");
    for s in [&secret, &new_secret] {
        assert!(!audit.contains(s.as_str()));
        assert!(!captured_logs().contains(s.as_str()), "never logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_has_at_most_ten_endpoints() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    for n in 0..10 {
        let url = format!("http://127.0.0.1:9/hook/{n}");
        register_webhook(&app, &mut owner, &url, EVENTS).await;
    }
    let page = owner.get(paths::WEBHOOKS).await;
    assert_eq!(rows(&page, "webhook-row"), 10);
    assert!(page.body.contains("data-testid=\"webhooks-limit\""));
    let res = owner
        .hx_post(
            paths::WEBHOOKS,
            &[("url", "http://127.0.0.1:9/eleven"), ("events", EVENTS[0])],
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("10 webhook endpoints"), "{}", res.body);
    assert_eq!(endpoint_count(&app).await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_and_deleting_an_endpoint_are_audited() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (owner_user, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let (id, _) = register_webhook(&app, &mut owner, &receiver.url(), EVENTS).await;

    let edit = owner.get(&paths::webhook_action(id, "edit")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("data-testid=\"edit-webhook-form\""));
    let bad = owner
        .post_form(&paths::webhook(id), &[("url", "https://127.0.0.1/x")])
        .await;
    assert_eq!(bad.status, 422, "no event chosen");
    assert!(bad.body.contains("data-testid=\"error-events\""));
    let new_url = format!("{}/v2", receiver.url());
    let saved = owner
        .post_form(
            &paths::webhook(id),
            &[("url", &new_url), ("events", "credential.deleted")],
        )
        .await;
    assert_eq!(saved.status, 303, "plain form: redirect");
    assert_eq!(saved.location(), Some(paths::webhook(id).as_str()));
    let (url, events, enabled): (String, Vec<String>, bool) = webhook_endpoints::table
        .find(id)
        .select((
            webhook_endpoints::url,
            webhook_endpoints::events,
            webhook_endpoints::enabled,
        ))
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert_eq!(
        (url.as_str(), events, enabled),
        (
            new_url.as_str(),
            vec!["credential.deleted".to_string()],
            false
        ),
        "the box was not ticked: disabled"
    );

    let confirm = owner.get(&paths::webhook_action(id, "delete")).await;
    assert!(confirm.body.contains("data-testid=\"confirm-delete\""));
    let deleted = owner
        .hx_post(&paths::webhook_action(id, "delete"), &[])
        .await;
    assert_eq!(deleted.status, 200);
    assert!(deleted.body.contains("data-testid=\"webhooks-empty\""));
    assert_eq!(endpoint_count(&app).await, 0);
    let remaining: i64 = webhook_deliveries::table
        .count()
        .get_result(&mut *app.conn().await)
        .await
        .unwrap();
    assert_eq!(remaining, 0);
    let actions = audit_actions(&app, owner_user.org_id).await;
    for action in ["webhook.created", "webhook.updated", "webhook.deleted"] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{action}: {actions:?}"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
