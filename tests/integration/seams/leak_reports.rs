//! One leak report is one record: copies within a request count once, an already-disabled
//! credential's reports are recorded at most once an hour, and the per-address limit counts
//! recognised items, not requests.

use chrono::Duration;
use m2m_console::db::models::user::StaffRole;
use m2m_console::tokens::{Kind, generate};
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::helpers::TestApp;

fn items(secret: &str, copies: usize) -> Value {
    let item =
        json!({ "token": secret, "type": "m2m_client_secret", "url": "https://gist.github.com/x" });
    Value::Array(vec![item; copies])
}

async fn report(app: &TestApp, body: &Value, from: &str) -> Answer {
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Forwarded-For", from),
    ];
    post(app, "/api/v1/leaks", &body.to_string(), &headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_a_disabled_secret_are_recorded_once_an_hour() {
    let app = TestApp::spawn_with(|s| {
        local_webhooks(s);
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let s = setup_on(app, |f| f).await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let events = ["credential.leak_reported"];
    register_webhook(&s.app, &mut boss, "http://127.0.0.1:9/hook", &events).await;

    let first = report(&s.app, &items(&s.client.secret, 200), "203.0.113.1").await;
    assert_eq!(first.status, 202);
    let rows = audited(&s.app, s.org, "credential.leak_reported").await;
    assert_eq!(rows.len(), 1, "200 copies are one report");
    assert_eq!(rows[0].details["outcome"], "credential_disabled");
    assert_eq!(audited(&s.app, s.org, "credential.disabled").await.len(), 1);

    for from in ["203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        let again = report(&s.app, &items(&s.client.secret, 200), from).await;
        assert_eq!(again.status, 202);
    }
    let rows = audited(&s.app, s.org, "credential.leak_reported").await;
    let outcomes: Vec<&Value> = rows.iter().map(|e| &e.details["outcome"]).collect();
    assert_eq!(
        outcomes,
        [&json!("already_disabled"), &json!("credential_disabled")]
    );
    assert_eq!(
        queued_events(&s.app, s.org, "credential.leak_reported").await,
        2
    );

    s.app.clock.advance(Duration::minutes(61));
    report(&s.app, &items(&s.client.secret, 3), "203.0.113.5").await;
    assert_eq!(
        audited(&s.app, s.org, "credential.leak_reported")
            .await
            .len(),
        3,
        "an hour later it is recorded again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_counts_recognised_items_not_requests() {
    let app =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let ours = |n: usize| -> Value {
        let all = (0..n)
            .map(|_| {
                let secret = generate(Kind::ClientSecret).unwrap();
                json!({ "token": secret.expose(), "type": "m2m_client_secret", "url": "https://x.test" })
            })
            .collect();
        Value::Array(all)
    };
    // Thirty secrets of ours (none live) in one request use the address's minute.
    assert_eq!(report(&app, &ours(30), "198.51.100.7").await.status, 202);
    let refused = report(&app, &ours(1), "198.51.100.7").await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.header("retry-after").is_some());

    // Copies of one secret count once; strings that are not ours cost the request only.
    let copies = items(generate(Kind::ClientSecret).unwrap().expose(), 500);
    assert_eq!(report(&app, &copies, "198.51.100.8").await.status, 202);
    let mut junk: Vec<Value> = (0..500)
        .map(|i| json!({ "token": format!("ghp_{i}") }))
        .collect();
    junk.extend(ours(29).as_array().unwrap().iter().cloned());
    assert_eq!(
        report(&app, &Value::Array(junk), "198.51.100.8")
            .await
            .status,
        202
    );
    assert_eq!(report(&app, &ours(1), "198.51.100.8").await.status, 429);
    assert_eq!(
        report(&app, &json!([]), "198.51.100.9").await.status,
        202,
        "others are not"
    );
}
