//! Webhook delivery when things go wrong, against a real HTTP receiver in the test process:
//! a receiver that is down gets the event with backoff once it is back, redirects are not
//! followed, failures give up after 24 hours, Redeliver sends the same message again, the
//! SSRF guard refuses at delivery time, and what was queued for an endpoint switched off
//! fails unsent.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use m2m_console::db::ids::WebhookEndpointId;
use m2m_console::db::models::user::StaffRole;
use m2m_console::db::schema::{webhook_attempts, webhook_deliveries};
use m2m_console::paths;

use crate::fixtures::{deliveries, local_webhooks, register_webhook, setup_on};
use crate::helpers::{RefusedPort, TestApp};
use crate::webhook_receiver::{Receiver, Reply, check, verify};

const M2M: &str = paths::M2M;

/// Waits until the delivery to `endpoint` reaches `attempts` attempts (10 s at most).
async fn wait_attempts(app: &TestApp, endpoint: WebhookEndpointId, attempts: i32) {
    for _ in 0..200 {
        let state = deliveries(app, endpoint).await;
        if <[_]>::first(&state).is_some_and(|d| d.1 >= attempts) {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("{:?}", deliveries(app, endpoint).await);
}

/// `(last attempt, next attempt)` of the first delivery to `endpoint`.
async fn schedule(app: &TestApp, endpoint: WebhookEndpointId) -> (DateTime<Utc>, DateTime<Utc>) {
    let (last, next): (Option<DateTime<Utc>>, DateTime<Utc>) = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .select((
            webhook_deliveries::last_attempt_at,
            webhook_deliveries::next_attempt_at,
        ))
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    (last.unwrap(), next)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_the_event_with_backoff_when_it_comes_back() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let down = RefusedPort::reserve();
    let port = down.port();
    let url = format!("http://127.0.0.1:{port}/hooks/m2m");
    let (endpoint, secret) =
        register_webhook(&app, &mut owner, &url, &["credential.disabled"]).await;
    let mut s = setup_on(app, |f| f).await;
    let disable = s
        .admin
        .post_form(&format!("{M2M}/{}/disable", s.client.id), &[])
        .await;
    assert_eq!(disable.status, 303);

    wait_attempts(&s.app, endpoint, 1).await;
    let first = deliveries(&s.app, endpoint).await;
    assert_eq!(first[0].0, "retrying", "{first:?}");
    assert!(
        first[0]
            .3
            .as_deref()
            .unwrap()
            .contains("connection refused"),
        "{first:?}"
    );
    let (last, next) = schedule(&s.app, endpoint).await;
    let wait = next - last;
    assert!(
        wait >= Duration::milliseconds(2500) && wait <= Duration::seconds(5),
        "first backoff {wait}"
    );

    // It comes back, failing at first: the wait doubles.
    drop(down);
    let receiver = Receiver::start_on(port);
    receiver.reply(Reply::Status(503));
    s.app.clock.advance(Duration::seconds(6));
    wait_attempts(&s.app, endpoint, 2).await;
    let (last, next) = schedule(&s.app, endpoint).await;
    let wait = next - last;
    assert!(
        wait >= Duration::seconds(5) && wait <= Duration::seconds(10),
        "second backoff {wait}"
    );
    assert_eq!(deliveries(&s.app, endpoint).await[0].2, Some(503));

    receiver.reply(Reply::Ok);
    s.app.clock.advance(Duration::seconds(11));
    wait_attempts(&s.app, endpoint, 3).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("webhook-id"),
        got[1].header("webhook-id"),
        "the same message each time"
    );
    assert_eq!(got[0].body, got[1].body);
    for r in &got {
        verify(&secret, r);
    }
    let done = deliveries(&s.app, endpoint).await;
    assert_eq!(
        (done[0].0.as_str(), done[0].1, done[0].2),
        ("delivered", 3, Some(204))
    );
    let attempts: Vec<(Option<i32>, Option<String>)> = webhook_attempts::table
        .order(webhook_attempts::id.asc())
        .select((webhook_attempts::status_code, webhook_attempts::error))
        .load(&mut *s.app.conn().await)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[1].0, Some(503));
    assert_eq!(attempts[2], (Some(204), None));
    let page = endpoint_page(&s.app, endpoint).await;
    assert!(page.contains("Delivered"), "{page}");
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_failures_give_up_after_24_hours() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    receiver.reply(Reply::Redirect);
    let (endpoint, _) =
        register_webhook(&app, &mut owner, &receiver.url(), &["credential.revoked"]).await;
    let mut s = setup_on(app, |f| f).await;
    let revoke = s
        .admin
        .post_form(&format!("{M2M}/{}/revoke", s.client.id), &[])
        .await;
    assert_eq!(revoke.status, 303);

    wait_attempts(&s.app, endpoint, 1).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "the redirect was not followed");
    assert_eq!(got[0].path, "/hooks/m2m");
    let state = deliveries(&s.app, endpoint).await;
    assert_eq!(state[0].0, "retrying");
    assert_eq!(state[0].2, Some(302));
    assert!(
        state[0].3.as_deref().unwrap().contains("redirect"),
        "{state:?}"
    );

    receiver.reply(Reply::Status(500));
    s.app.clock.advance(Duration::hours(25));
    wait_attempts(&s.app, endpoint, 2).await;
    let state = deliveries(&s.app, endpoint).await;
    assert_eq!((state[0].0.as_str(), state[0].2), ("failed", Some(500)));
    s.app.clock.advance(Duration::hours(25));
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "given up: no more attempts");
    let page = endpoint_page(&s.app, endpoint).await;
    assert!(page.contains("Failed"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeliver_sends_the_same_message_again() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (owner_user, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let (endpoint, secret) =
        register_webhook(&app, &mut owner, &receiver.url(), &["credential.revoked"]).await;
    let mut s = setup_on(app, |f| f).await;
    s.admin
        .post_form(&format!("{M2M}/{}/revoke", s.client.id), &[])
        .await;
    let first = receiver.settled(1).await;

    let page = owner.get(&paths::webhook(endpoint)).await;
    assert_eq!(crate::fixtures::rows(&page, "delivery-row"), 1);
    let delivery: uuid::Uuid = webhook_deliveries::table
        .select(webhook_deliveries::id)
        .first(&mut *s.app.conn().await)
        .await
        .unwrap();
    let forbidden = s
        .admin
        .post_form(&paths::webhook_redeliver(endpoint, delivery), &[])
        .await;
    assert_eq!(forbidden.status, 403, "an Admin may not");
    // A rotated secret signs every attempt from then on, a redelivery included.
    let rotated = owner
        .hx_post(&paths::webhook_action(endpoint, "rotate"), &[])
        .await;
    let new_secret = crate::fixtures::testid_text(&rotated.body, "webhook-secret").unwrap();
    let again = owner
        .hx_post(&paths::webhook_redeliver(endpoint, delivery), &[])
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("data-testid=\"webhook-detail\""));
    let both = receiver.settled(2).await;
    assert_eq!(both[1].header("webhook-id"), first[0].header("webhook-id"));
    assert_eq!(both[1].body, first[0].body);
    verify(&secret, &first[0]);
    verify(&new_secret, &both[1]);
    assert!(
        check(&secret, &both[1]).is_err(),
        "the old secret no longer signs"
    );
    let state = deliveries(&s.app, endpoint).await;
    assert_eq!((state[0].0.as_str(), state[0].1), ("delivered", 2));
    let actions: Vec<String> = m2m_console::db::models::audit_event::AuditEvent::list_for_org(
        &mut *s.app.conn().await,
        owner_user.org_id,
        20,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.action)
    .collect();
    assert!(actions.contains(&"webhook.redelivered".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_destination_is_refused_at_delivery_time() {
    // This instance registers (internal addresses allowed) but never delivers…
    let app = TestApp::spawn_with(|s| {
        local_webhooks(s);
        s.webhooks.poll = StdDuration::from_secs(3600);
    })
    .await;
    // …and this one delivers, with the guard on.
    let guarded = app
        .second_instance_with(|s| {
            s.webhooks.allow_private = false;
            s.webhooks.poll = StdDuration::from_millis(50);
        })
        .await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let (endpoint, _) =
        register_webhook(&app, &mut owner, &receiver.url(), &["credential.revoked"]).await;
    let mut s = setup_on(app, |f| f).await;
    s.admin
        .post_form(&format!("{M2M}/{}/revoke", s.client.id), &[])
        .await;
    wait_attempts(&s.app, endpoint, 1).await;
    let state = deliveries(&s.app, endpoint).await;
    assert_eq!(state[0].0, "retrying");
    let error = state[0].3.clone().unwrap();
    assert!(
        error.contains("destination refused") && error.contains("127.0.0.1"),
        "{error}"
    );
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(receiver.received().is_empty(), "nothing reached it");
    drop(guarded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_queued_for_an_endpoint_switched_off_fails_unsent() {
    let app = TestApp::spawn_with(|s| {
        local_webhooks(s);
        s.webhooks.poll = StdDuration::from_secs(3600);
    })
    .await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = Receiver::start();
    let (endpoint, _) =
        register_webhook(&app, &mut owner, &receiver.url(), &["credential.revoked"]).await;
    let mut s = setup_on(app, |f| f).await;
    s.admin
        .post_form(&format!("{M2M}/{}/revoke", s.client.id), &[])
        .await;
    assert_eq!(deliveries(&s.app, endpoint).await.len(), 1, "queued");
    let off = [
        ("url", receiver.url()),
        ("events", "credential.revoked".into()),
    ];
    let off: Vec<(&str, &str)> = off.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        owner
            .post_form(&paths::webhook(endpoint), &off)
            .await
            .status,
        303
    );
    let delivering = s.app.second_instance_with(local_webhooks).await;
    wait_attempts(&s.app, endpoint, 1).await;
    let state = deliveries(&s.app, endpoint).await;
    assert_eq!(state[0].0, "failed", "{state:?}");
    assert!(state[0].3.as_deref().unwrap().contains("disabled"));
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
    drop(delivering);
}
/// The endpoint's page as a Super Admin signed in now sees it (time may have moved past
/// earlier sessions).
async fn endpoint_page(app: &TestApp, endpoint: WebhookEndpointId) -> String {
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let page = owner.get(&paths::webhook(endpoint)).await;
    assert_eq!(page.status, 200);
    page.body
}
