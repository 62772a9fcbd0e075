//! Webhook delivery to a real HTTP receiver in the test process: each credential operation
//! sends its event once, signed per Standard Webhooks (checked with the reference library)
//! and without secrets; retries with backoff while the receiver is down, no redirects
//! followed, given up after 24 hours; Redeliver; the SSRF guard at delivery time; and two
//! instances on one database delivering each event once.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use m2m_console::actor::Actor;
use m2m_console::credentials::lifecycle::{DisableReason, disable_credential};
use m2m_console::db::models::user::StaffRole;
use m2m_console::db::schema::webhook_attempts;
use m2m_console::jobs::scheduled;
use m2m_console::paths;
use serde_json::json;

use crate::fixtures::{
    all_webhook_events, local_webhooks, pairs, post, register_webhook, rotate_with_overlap,
    setup_on, valid_form, with,
};
use crate::helpers::{TestApp, captured_logs};
use crate::webhook_receiver::{Received, Receiver, check, verify};

const M2M: &str = paths::M2M;

fn count_by_event(received: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in received {
        *counts.entry(r.event()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_credential_operation_sends_its_event_once_signed_and_without_secrets() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let narrow = Receiver::start();
    let off = Receiver::start();
    let (_, secret) =
        register_webhook(&app, &mut owner, &receiver.url(), &all_webhook_events()).await;
    register_webhook(&app, &mut owner, &narrow.url(), &["credential.revoked"]).await;
    let (off_id, _) = register_webhook(&app, &mut owner, &off.url(), &all_webhook_events()).await;
    let off_form = [("url", off.url()), ("events", "credential.revoked".into())];
    let off_form: Vec<(&str, &str)> = off_form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        owner
            .post_form(&paths::webhook(off_id), &off_form)
            .await
            .status,
        303,
        "switched off"
    );

    let mut s = setup_on(app, |f| f).await;
    let id = s.client.id;
    let mut secrets = vec![s.client.secret.clone()];
    let renamed = with(valid_form(&s.catalog), "name", "Renamed sync");
    let edit = s
        .admin
        .post_form(&format!("{M2M}/{id}"), &pairs(&renamed))
        .await;
    assert_eq!(edit.status, 303, "{}", edit.body);
    secrets.push(rotate_with_overlap(&mut s, "now").await.secret);
    secrets.push(rotate_with_overlap(&mut s, "1h").await.secret);
    for action in ["retire", "token", "disable", "enable", "revoke", "delete"] {
        let res = s
            .admin
            .post_form(&format!("{M2M}/{id}/{action}"), &[])
            .await;
        assert!(matches!(res.status, 200 | 303), "{action}: {}", res.body);
    }

    let received = receiver.settled(9).await;
    let counts = count_by_event(&received);
    let expected: HashMap<String, usize> = [
        ("credential.created", 1),
        ("credential.updated", 1),
        ("credential.secret_rotated", 2),
        ("credential.previous_secret_retired", 1),
        ("credential.disabled", 1),
        ("credential.enabled", 1),
        ("credential.revoked", 1),
        ("credential.deleted", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expected, "no event for the generated token");
    let mut ids: Vec<&str> = received.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 9, "a message id each");
    for r in &received {
        verify(&secret, r);
        assert!(r.header("webhook-id").starts_with("msg_"));
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.path, "/hooks/m2m");
        let body = r.json();
        assert!(
            DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok(),
            "{body}"
        );
        assert_eq!(
            body["data"]["credential_id"],
            json!(id.to_string()),
            "{body}"
        );
        assert_eq!(
            body["data"]["client_id"],
            json!(s.client.client_id),
            "{body}"
        );
        assert_eq!(body["data"]["actor"]["type"], "staff");
        assert_eq!(body["data"]["actor"]["email"], json!(s.admin_email));
        let text = r.text();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a client secret in {text}");
        }
        assert!(
            !text.contains("whsec_") && !text.contains("m2m_at_"),
            "{text}"
        );
        assert!(!text.contains("hash"), "{text}");
    }
    let rotated = received
        .iter()
        .find(|r| r.event() == "credential.secret_rotated")
        .unwrap()
        .json();
    assert!(
        rotated["data"]["details"]["overlap"].is_string(),
        "{rotated}"
    );
    let updated = received
        .iter()
        .find(|r| r.event() == "credential.updated")
        .unwrap()
        .json();
    assert_eq!(updated["data"]["name"], "Renamed sync");
    assert_eq!(
        updated["data"]["details"]["before"]["name"],
        "Warehouse sync"
    );

    let narrow_got = narrow.settled(1).await;
    assert_eq!(narrow_got[0].event(), "credential.revoked");
    assert!(
        off.received().is_empty(),
        "a disabled endpoint gets nothing"
    );
    for secret in &secrets {
        assert!(!captured_logs().contains(secret.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_disabling_and_leak_reports_have_events_of_their_own() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let events = [
        "credential.disabled",
        "credential.stale_disabled",
        "credential.leak_reported",
        "credential.enabled",
    ];
    let (_, secret) = register_webhook(&app, &mut owner, &receiver.url(), &events).await;
    let s = setup_on(app, |f| f).await;

    // The staleness job's own call (see `credentials::stale`).
    let now = s.app.clock.now();
    let reason = DisableReason::Stale {
        cutoff: now,
        policy_days: 30,
    };
    disable_credential(
        &mut *s.app.conn().await,
        &Actor::system(s.org, now),
        s.client.id,
        reason,
    )
    .await
    .unwrap();
    let first = receiver.settled(1).await;
    assert_eq!(first[0].event(), "credential.stale_disabled");
    assert_eq!(
        first[0].json()["data"]["actor"],
        json!({ "type": "system" })
    );
    assert_eq!(first[0].json()["data"]["details"]["reason"], "stale");

    let mut admin = s.admin;
    let enabled = admin
        .post_form(&format!("{M2M}/{}/enable", s.client.id), &[])
        .await;
    assert_eq!(enabled.status, 303);
    let report = json!([{
        "token": s.client.secret,
        "type": "m2m_client_secret",
        "url": "https://github.com/acme/app/blob/main/.env",
    }]);
    let answer = post(
        &s.app,
        "/api/v1/leaks",
        &report.to_string(),
        &[("Content-Type", "application/json")],
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let all = receiver.settled(4).await;
    let counts = count_by_event(&all);
    for event in events {
        assert_eq!(counts.get(event), Some(&1), "{event}: {counts:?}");
    }
    let leak = all
        .iter()
        .find(|r| r.event() == "credential.leak_reported")
        .unwrap();
    verify(&secret, leak);
    assert!(!leak.text().contains(&s.client.secret), "{}", leak.text());
    assert_eq!(
        leak.json()["data"]["details"]["url"],
        "https://github.com/acme/app/blob/main/.env"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_and_expired_are_sent_once_per_threshold_with_two_instances() {
    let app = TestApp::spawn_with(|s| {
        local_webhooks(s);
        s.job_interval = StdDuration::from_secs(3600);
    })
    .await;
    let other = app.second_instance().await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let events = ["credential.expiring", "credential.expired"];
    let (_, secret) = register_webhook(&app, &mut owner, &receiver.url(), &events).await;
    let at = (app.clock.now() + Duration::days(40))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let s = setup_on(app, |f| with(f, "expires_at", &at)).await;

    // Several runs at once, as several instances' job loops would.
    let run_all = async |app: &TestApp| {
        let runs = (0..4).map(|_| {
            let pool = app.pool.clone();
            let (base, now) = (app.address.clone(), app.clock.now());
            tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                scheduled::run_once(&mut conn, None, &base, now).await
            })
        });
        for report in futures::future::join_all(runs).await {
            assert_eq!(report.unwrap().failures, 0);
        }
    };
    run_all(&s.app).await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "40 days ahead: nothing");

    let mut expected = 0;
    let steps = [
        (Duration::days(11), 30),
        (Duration::days(23), 7),
        (Duration::days(5) + Duration::hours(12), 1),
    ];
    for (advance, days) in steps {
        s.app.clock.advance(advance);
        run_all(&s.app).await;
        run_all(&s.app).await;
        expected += 1;
        let got = receiver.settled(expected).await;
        let last = got.last().unwrap();
        assert_eq!(last.event(), "credential.expiring");
        assert_eq!(last.json()["data"]["details"]["days"], json!(days));
        assert_eq!(last.json()["data"]["actor"]["type"], "system");
        assert_eq!(last.json()["data"]["client_id"], json!(s.client.client_id));
        verify(&secret, last);
    }
    s.app.clock.advance(Duration::days(2));
    run_all(&s.app).await;
    run_all(&s.app).await;
    let got = receiver.settled(4).await;
    let expired = got.last().unwrap();
    assert_eq!(expired.event(), "credential.expired");
    assert_eq!(
        expired.json()["data"]["credential_id"],
        json!(s.client.id.to_string())
    );
    verify(&secret, expired);
    s.app.clock.advance(Duration::days(1));
    run_all(&s.app).await;
    receiver.settled(4).await;
    drop(other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let fast = |s: &mut m2m_console::config::Settings| {
        local_webhooks(s);
        s.webhooks.poll = StdDuration::from_millis(10);
    };
    let app = TestApp::spawn_with(fast).await;
    let other = app.second_instance().await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receivers: Vec<Receiver> = (0..3).map(|_| Receiver::start()).collect();
    let mut secrets = Vec::new();
    for r in &receivers {
        secrets.push(
            register_webhook(&app, &mut owner, &r.url(), &all_webhook_events())
                .await
                .1,
        );
    }
    let mut s = setup_on(app, |f| f).await;
    let id = s.client.id;
    for _ in 0..3 {
        rotate_with_overlap(&mut s, "now").await;
    }
    for action in ["disable", "enable", "revoke", "delete"] {
        s.admin
            .post_form(&format!("{M2M}/{id}/{action}"), &[])
            .await;
    }
    // created, 3 rotations, disabled, enabled, revoked, deleted: 8 events to 3 endpoints.
    for (r, secret) in receivers.iter().zip(&secrets) {
        let got = r.settled(8).await;
        let mut ids: Vec<&str> = got.iter().map(|g| g.header("webhook-id")).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 8, "each message once");
        assert!(got.iter().all(|g| check(secret, g).is_ok()));
    }
    let attempts: i64 = webhook_attempts::table
        .count()
        .get_result(&mut *s.app.conn().await)
        .await
        .unwrap();
    assert_eq!(attempts, 24);
    drop(other);
}
