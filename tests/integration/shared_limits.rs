//! Limits that mean what they say with several instances: the OAuth failure throttle, the
//! management API's rate limit and the leak-report limit are counted in PostgreSQL, so two
//! instances on one database allow what one does.

use serde_json::json;

use crate::fixtures::{Client, api_call, basic, post, setup_on};
use crate::helpers::TestApp;
use crate::management_api::api_on;

fn wrong_secret(client: &Client) -> String {
    let secret = m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret).unwrap();
    basic(&client.client_id, secret.expose())
}

async fn token_at(app: &TestApp, auth: &str, ip: &str) -> u16 {
    let headers = [("Authorization", auth), ("X-Forwarded-For", ip)];
    post(
        app,
        "/oauth/token",
        "grant_type=client_credentials",
        &headers,
    )
    .await
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_sent_to_two_instances_share_one_allowance() {
    let first =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let s = setup_on(first, |f| f).await;
    let second = s.app.second_instance().await;
    let wrong = wrong_secret(&s.client);
    for n in 0..20 {
        let app = if n % 2 == 0 { &s.app } else { &second };
        assert_eq!(
            token_at(app, &wrong, "203.0.113.7").await,
            401,
            "attempt {n}"
        );
    }
    // The 21st, on either instance, is over the allowance of 20 per client and address.
    for app in [&s.app, &second] {
        let headers = [
            ("Authorization", wrong.as_str()),
            ("X-Forwarded-For", "203.0.113.7"),
        ];
        let refused = post(
            app,
            "/oauth/token",
            "grant_type=client_credentials",
            &headers,
        )
        .await;
        assert_eq!(refused.status, 429);
        assert_eq!(refused.json()["error"], "slow_down");
        let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    // The right secret from another address is not slowed.
    let right = basic(&s.client.client_id, &s.client.secret);
    assert_eq!(token_at(&second, &right, "198.51.100.4").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_client_ids_from_one_address_are_throttled_across_instances() {
    let first =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let second = first.second_instance().await;
    let garbage = basic("not-a-client-id", "whatever");
    for n in 0..60 {
        let app = if n % 2 == 0 { &first } else { &second };
        assert_eq!(
            token_at(app, &garbage, "2001:db8:7::1").await,
            401,
            "attempt {n}"
        );
    }
    // Another address in the same IPv6 /64 is the same caller.
    assert_eq!(token_at(&first, &garbage, "2001:db8:7::2").await, 429);
    assert_eq!(token_at(&second, &garbage, "2001:db8:8::1").await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_rate_limit_holds_across_instances() {
    let a = api_on(TestApp::spawn_with(|s| s.api_rate_limit = 4).await).await;
    let second = a.s.app.second_instance().await;
    for n in 0..4 {
        let app = if n % 2 == 0 { &a.s.app } else { &second };
        let res = api_call(app, "GET", "/api/v1/apis", &a.token, None, &[]).await;
        assert_eq!(res.status, 200, "call {n}");
    }
    let refused = api_call(&second, "GET", "/api/v1/apis", &a.token, None, &[]).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("ratelimit").unwrap().contains(";r=0;"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leak_report_limit_holds_across_instances() {
    let first =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let second = first.second_instance().await;
    let report = async |app: &TestApp| {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/leaks"))
            .header("Content-Type", "application/json")
            .header("X-Forwarded-For", "203.0.113.50")
            .body(json!([]).to_string())
            .send()
            .await
            .unwrap();
        res.status().as_u16()
    };
    for n in 0..30 {
        let app = if n % 2 == 0 { &first } else { &second };
        assert_eq!(report(app).await, 202, "report {n}");
    }
    assert_eq!(report(&first).await, 429);
    assert_eq!(report(&second).await, 429);
}
