//! `/metrics` on its own listener: off by default, and when on, counters by outcome and
//! reason, latency by route pattern, the pool and the jobs; never a client ID or a secret.

use std::time::Duration as StdDuration;

use crate::fixtures::{basic, post, setup_on, with};
use crate::helpers::TestApp;

async fn scrape(app: &TestApp) -> String {
    let port = app.metrics_port.expect("a metrics listener");
    let res = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    res.text().await.unwrap()
}

/// The value of the sample line that starts with `series` (labels included).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_unless_asked_for_and_never_on_the_public_listener() {
    let app = TestApp::spawn().await;
    assert!(app.metrics_port.is_none());
    let res = app.client().get("/metrics").await;
    assert_ne!(res.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_reasons_latency_pool_and_jobs_are_exported_without_secrets() {
    let app = TestApp::spawn_with(|s| {
        s.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await;
    let s = setup_on(app, |f| with(f, "allowed_ips", "10.0.0.0/24")).await;
    let auth = basic(&s.client.client_id, &s.client.secret);
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Forwarded-For", "10.0.0.7"),
    ];
    let issued = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &headers,
    )
    .await;
    assert_eq!(issued.status, 200);
    let token = issued.json()["access_token"].as_str().unwrap().to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Forwarded-For", "198.51.100.4"),
    ];
    for _ in 0..2 {
        let refused = post(
            &s.app,
            "/oauth/token",
            "grant_type=client_credentials",
            &headers,
        )
        .await;
        assert_eq!(refused.status, 401);
    }
    tokio::time::sleep(StdDuration::from_millis(200)).await;

    let text = scrape(&s.app).await;
    assert_eq!(
        sample(
            &text,
            "m2m_token_requests_total{outcome=\"issued\",reason=\"\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "m2m_token_requests_total{outcome=\"refused\",reason=\"ip_not_allowed\"}"
        ),
        2.0
    );
    assert!(text.contains(
        "m2m_http_request_duration_seconds_count{method=\"POST\",route=\"/oauth/token\",status=\"2xx\"} 1"
    ));
    assert!(text.contains("m2m_db_pool_connections{state=\"in_use\"}"));
    assert!(sample(&text, "m2m_job_runs_total{job=\"flush_counts\"}") >= 1.0);
    for secret in [&s.client.secret, &s.client.client_id, &token] {
        assert!(
            !text.contains(secret.as_str()),
            "no client ID, secret or token"
        );
    }
    // Paths with IDs are grouped by their pattern.
    let page = format!("/settings/integrations/machine-to-machine/{}", s.client.id);
    let mut admin = s.admin;
    assert_eq!(admin.get(&page).await.status, 200);
    let text = scrape(&s.app).await;
    assert!(text.contains("route=\"/settings/integrations/machine-to-machine/{id}\""));
    assert!(!text.contains(&s.client.id.to_string()));
}
