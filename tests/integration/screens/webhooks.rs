//! A failing webhook endpoint says so in the list and on its page (how many retrying, since
//! when, the next attempt), with the last success, each delivery's request and response,
//! and "Send test event".

use std::time::Duration as StdDuration;

use m2m_console::db::ids::WebhookEndpointId;
use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::fixtures::{deliveries, local_webhooks, register_webhook, testid_text};
use crate::helpers::TestApp;
use crate::webhook_receiver::{Receiver, Reply};

/// Waits until `endpoint` has `n` deliveries with an attempt each (10 s at most).
async fn attempted(app: &TestApp, endpoint: WebhookEndpointId, n: usize) {
    for _ in 0..200 {
        let state = deliveries(app, endpoint).await;
        if state.len() >= n && state.iter().all(|d| d.1 >= 1) {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("{:?}", deliveries(app, endpoint).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_says_so_and_shows_each_request_and_response() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let receiver = Receiver::start();
    receiver.reply(Reply::Status(503));
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let (endpoint, _) =
        register_webhook(&app, &mut owner, &receiver.url(), &["credential.created"]).await;
    let page_path = paths::webhook(endpoint);
    let before = owner.get(&page_path).await;
    assert_eq!(
        testid_text(&before.body, "webhook-last-success").as_deref(),
        Some("Never")
    );
    assert!(!before.body.contains("data-testid=\"webhook-failing\""));

    let sent = owner.post_form(&format!("{page_path}/test"), &[]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    attempted(&app, endpoint, 1).await;
    let got = receiver.received();
    assert_eq!(got[0].json()["type"], "ping");

    let list = owner.get(paths::WEBHOOKS).await;
    let failing = testid_text(&list.body, "webhook-failing").expect("the list says it fails");
    assert!(
        failing.starts_with("Failing: 1 delivery retrying since ")
            && failing.contains(", next attempt "),
        "{failing}"
    );
    let page = owner.get(&page_path).await;
    assert!(testid_text(&page.body, "webhook-failing").is_some());
    let request = testid_text(&page.body, "delivery-request")
        .unwrap()
        .replace("&#34;", "\"");
    assert!(
        request.starts_with(&format!("POST {}", receiver.url())),
        "{request}"
    );
    assert!(request.contains("\"type\": \"ping\""), "{request}");
    let response = testid_text(&page.body, "delivery-response").unwrap();
    assert!(response.starts_with("HTTP 503 after "), "{response}");
    assert!(
        response.ends_with("\n\nno"),
        "the body the endpoint answered: {response}"
    );

    // Once the endpoint answers, a test event goes through and the last success shows.
    receiver.reply(Reply::Ok);
    let sent = owner.post_form(&format!("{page_path}/test"), &[]).await;
    assert_eq!(sent.status, 303);
    attempted(&app, endpoint, 2).await;
    let page = owner.get(&page_path).await;
    let last = testid_text(&page.body, "webhook-last-success").unwrap();
    assert_ne!(last, "Never");
    assert!(page.body.contains("data-testid=\"delivery-exchange\""));
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_endpoint_is_sent_no_test_event() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let (endpoint, _) = register_webhook(
        &app,
        &mut owner,
        "http://127.0.0.1:9/hooks",
        &["credential.created"],
    )
    .await;
    let page_path = paths::webhook(endpoint);
    let off = owner
        .post_form(
            &page_path,
            &[
                ("url", "http://127.0.0.1:9/hooks"),
                ("events", "credential.created"),
            ],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    let page = owner.get(&page_path).await;
    assert!(page.body.contains("data-testid=\"webhook-detail\""));
    assert!(!page.body.contains("data-testid=\"send-test-event\""));
    let refused = owner.post_form(&format!("{page_path}/test"), &[]).await;
    assert_eq!(refused.status, 409);
    assert!(deliveries(&app, endpoint).await.is_empty());
}
