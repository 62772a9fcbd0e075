//! Stopping an instance for a rolling restart: not ready while still serving for the drain,
//! then no new connections, the requests in flight answered, the usage counted in memory
//! written, the background jobs stopped, and an end.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures::{access_token, basic, setup_on, testid_text, token};
use crate::helpers::TestApp;

const M2M: &str = "/settings/integrations/machine-to-machine";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_issued_right_before_a_stop_are_counted_on_the_credentials_page() {
    // No periodic flush after the one at start: only the stop can write these counts.
    let app = TestApp::spawn_with(|s| s.usage_flush = Duration::from_secs(3600)).await;
    let mut s = setup_on(app, |f| f).await;
    let other = s.app.second_instance().await;
    for _ in 0..7 {
        access_token(&s.app, &s.client).await;
    }
    s.app.stop().await;

    s.admin.base = other.address.clone();
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        testid_text(&page.body, "secret-current-uses").as_deref(),
        Some("7"),
        "{}",
        page.body
    );
    let summary = testid_text(&page.body, "usage-summary").unwrap();
    assert!(summary.starts_with("7 tokens issued"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_instance_is_not_ready_but_serves_until_the_drain_ends() {
    let app = TestApp::spawn_with(|s| s.drain = Duration::from_secs(2)).await;
    let s = setup_on(app, |f| f).await;
    let ready = reqwest::get(s.app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        ready
            .headers()
            .get("connection")
            .is_none_or(|v| v != "close")
    );

    let started = Instant::now();
    s.app.begin_stop();
    let mut readyz = 200;
    for _ in 0..20 {
        readyz = reqwest::get(s.app.url("/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16();
        if readyz == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(readyz, 503, "not ready as soon as the stop begins");
    let probe = reqwest::get(s.app.url("/readyz")).await.unwrap();
    assert_eq!(probe.headers().get("connection").unwrap(), "close");
    assert_eq!(probe.text().await.unwrap(), "draining");

    // Still serving: tokens, liveness, the console.
    let answer = token(&s.app, &s.client, "").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.header("connection"),
        Some("close"),
        "moves clients away"
    );
    let live = reqwest::get(s.app.url("/healthz")).await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "all within the drain"
    );

    s.app.stopped().await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    let after = reqwest::get(s.app.url("/healthz")).await;
    assert!(after.is_err(), "no longer accepting: {after:?}");
}

/// A request whose body is still arriving when the stop begins is read to its end and
/// answered; a new connection after the stop is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_when_the_instance_stops_is_answered() {
    let app = TestApp::spawn().await;
    let s = setup_on(app, |f| f).await;
    let addr = s.app.address.trim_start_matches("http://").to_string();
    let body = "grant_type=client_credentials";
    let head = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        basic(&s.client.client_id, &s.client.secret),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    // Let the server read the head before the stop begins.
    tokio::time::sleep(Duration::from_millis(200)).await;

    s.app.begin_stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "a new connection is refused once stopping (no drain here)"
    );
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"access_token\""), "{response}");
    s.app.stopped().await;
}
