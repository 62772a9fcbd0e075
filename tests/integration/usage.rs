//! Usage and refusals per credential: what each token request, introspection and bearer use
//! adds, why a caller was refused (the caller still only sees `invalid_client`), how many
//! refusals are kept and for how long, the Failing flag, and the credential page's chart.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::Duration;
use m2m_console::db::ids::CredentialId;
use m2m_console::db::models::usage;
use m2m_console::db::models::user::StaffRole;
use m2m_console::jobs::scheduled;

use crate::fixtures::{Client, Setup, basic, post, setup_on, with};
use crate::helpers::TestApp;

const M2M: &str = "/settings/integrations/machine-to-machine";

/// An app that trusts 127.0.0.1 as a proxy (so tests choose the caller's address) and writes
/// usage every 50 ms, with one credential allowed from 10.0.0.0/24 only.
async fn stage() -> Setup {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await;
    setup_on(app, |f| with(f, "allowed_ips", "10.0.0.0/24")).await
}

async fn token_from(app: &TestApp, client: &Client, ip: &str, extra: &str) -> u16 {
    let auth = basic(&client.client_id, &client.secret);
    let body = format!("grant_type=client_credentials{extra}");
    let headers = [("Authorization", auth.as_str()), ("X-Forwarded-For", ip)];
    post(app, "/oauth/token", &body, &headers).await.status
}

/// The stored counts of `id` by event, once they add up to `expected` events (flushes are
/// asynchronous); panics after 5 s.
async fn counts_once(app: &TestApp, id: CredentialId, expected: i64) -> HashMap<String, i64> {
    let since = app.clock.now() - Duration::days(2);
    for _ in 0..100 {
        let rows = usage::hourly_since(&mut *app.conn().await, id, since)
            .await
            .unwrap();
        let mut by_event = HashMap::new();
        for (_, event, n) in rows {
            *by_event.entry(event).or_default() += n;
        }
        if by_event.values().sum::<i64>() >= expected {
            return by_event;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the usage of {id} never reached {expected} events");
}

fn wrong_secret(client: &Client) -> Client {
    let secret = m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret).unwrap();
    Client {
        id: client.id,
        client_id: client.client_id.clone(),
        secret: secret.expose().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_counted_with_the_reason_only_admins_see() {
    let mut s = stage().await;
    let app = &s.app;
    assert_eq!(token_from(app, &s.client, "10.0.0.7", "").await, 200);
    for _ in 0..3 {
        assert_eq!(token_from(app, &s.client, "198.51.100.4", "").await, 401);
    }
    assert_eq!(
        token_from(app, &s.client, "10.0.0.7", "&scope=billing:read").await,
        400
    );
    let wrong = wrong_secret(&s.client);
    assert_eq!(token_from(app, &wrong, "10.0.0.8", "").await, 401);
    let malformed = Client {
        secret: "m2m_sk_not-a-real-secret".into(),
        ..wrong_secret(&s.client)
    };
    assert_eq!(token_from(app, &malformed, "10.0.0.9", "").await, 401);

    // A token of the credential, introspected and used.
    let auth = basic(&s.client.client_id, &s.client.secret);
    let from = [
        ("Authorization", auth.as_str()),
        ("X-Forwarded-For", "10.0.0.7"),
    ];
    let issued = post(app, "/oauth/token", "grant_type=client_credentials", &from).await;
    let token = issued.json()["access_token"].as_str().unwrap().to_string();
    let body = format!("token={token}");
    let answer = post(app, "/oauth/introspect", &body, &from).await;
    assert_eq!(answer.json()["active"], true);
    let bearer = format!("Bearer {token}");
    let res = app
        .client()
        .http
        .get(app.url("/api/v1/whoami"))
        .header("Authorization", &bearer)
        .header("X-Forwarded-For", "10.0.0.7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let counts = counts_once(app, s.client.id, 10).await;
    let expected: HashMap<String, i64> = [
        ("token_issued", 2),
        ("refused_address", 3),
        ("refused_scope", 1),
        ("refused_secret", 2),
        ("introspected", 1),
        ("bearer_used", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expected);

    let refusals = usage::recent_refusals(&mut *app.conn().await, s.client.id)
        .await
        .unwrap();
    assert_eq!(refusals.len(), 6);
    let newest = refusals.first().unwrap();
    assert_eq!(
        (newest.reason.as_str(), newest.ip.as_deref()),
        ("refused_secret", Some("10.0.0.9"))
    );

    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert_eq!(page.status, 200);
    for shown in [
        "data-testid=\"usage-chart\"",
        "data-testid=\"usage-table\"",
        "Address not allowed",
        "Scope not allowed",
        "Wrong secret",
        "198.51.100.4",
        "2 tokens issued, 6 refused",
    ] {
        assert!(page.body.contains(shown), "the page shows {shown}");
    }
    for secret in [&s.client.secret, &wrong.secret, &token] {
        assert!(!page.body.contains(secret.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_callers_are_counted_and_fifty_refusals_are_kept_for_ninety_days() {
    let s = stage().await;
    let wrong = wrong_secret(&s.client);
    let mut throttled = 0;
    for _ in 0..60 {
        if token_from(&s.app, &wrong, "10.0.0.5", "").await == 429 {
            throttled += 1;
        }
    }
    assert!(throttled > 0, "the throttle answered");
    let counts = counts_once(&s.app, s.client.id, 60).await;
    assert_eq!(counts.get("refused_throttled"), Some(&throttled));
    assert_eq!(counts.get("refused_secret"), Some(&(60 - throttled)));
    let kept = usage::recent_refusals(&mut *s.app.conn().await, s.client.id)
        .await
        .unwrap();
    assert_eq!(kept.len(), 50, "only the latest 50 refusals are kept");

    // The scheduled jobs delete what is past retention, and nothing younger.
    let mut conn = s.app.conn().await;
    let base = s.app.settings.issuer();
    let now = s.app.clock.now();
    let report = scheduled::run_once(&mut conn, None, &base, now + Duration::days(89)).await;
    assert_eq!(report.pruned, 0);
    let report = scheduled::run_once(&mut conn, None, &base, now + Duration::days(91)).await;
    assert!(
        report.pruned >= 51,
        "the counts and the 50 refusals went: {report:?}"
    );
    let left = usage::recent_refusals(&mut conn, s.client.id)
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_refused_without_success_for_an_hour_is_failing() {
    let mut s = stage().await;
    let failing_row = |body: &str| body.contains("data-testid=\"failing\"");
    let list = s.admin.get(M2M).await;
    assert!(!failing_row(&list.body), "a new credential is not failing");

    assert_eq!(token_from(&s.app, &s.client, "198.51.100.4", "").await, 401);
    counts_once(&s.app, s.client.id, 1).await;
    let list = s.admin.get(M2M).await;
    assert!(failing_row(&list.body), "refused and never used: failing");
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert!(failing_row(&page.body));

    // A success clears it.
    assert_eq!(token_from(&s.app, &s.client, "10.0.0.7", "").await, 200);
    s.app.flush_usage().await;
    let list = s.admin.get(M2M).await;
    assert!(!failing_row(&list.body), "it succeeded since");
    assert!(
        list.body
            .contains("from <span class=\"ip\">10.0.0.7</span>")
    );

    // Refused again an hour later with no success in between: failing again, until the
    // refusals themselves are over an hour old. (Signed in afresh: the session went idle.)
    s.app.clock.advance(Duration::minutes(61));
    assert_eq!(token_from(&s.app, &s.client, "198.51.100.4", "").await, 401);
    counts_once(&s.app, s.client.id, 3).await;
    let (_, mut admin) = s.app.login_as(StaffRole::Admin).await;
    assert!(failing_row(&admin.get(M2M).await.body));
    s.app.clock.advance(Duration::minutes(61));
    let (_, mut admin) = s.app.login_as(StaffRole::Admin).await;
    assert!(!failing_row(&admin.get(M2M).await.body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_stored_whatever_time_zone_the_database_session_is_in() {
    use diesel_async::RunQueryDsl;
    let s = stage().await;
    let mut conn = s.app.conn().await;
    // Half an hour off UTC: a whole UTC hour is not a whole local hour there.
    diesel::sql_query("SET timezone = 'Asia/Kolkata'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let now = s.app.clock.now().timestamp();
    let hour = chrono::DateTime::from_timestamp(now - now.rem_euclid(3600), 0).unwrap();
    let row = usage::CountRow {
        credential_id: s.client.id,
        hour,
        event: "token_issued",
        count: 2,
    };
    usage::add_counts(&mut conn, &[row]).await.unwrap();
    let stored = usage::hourly_since(&mut conn, s.client.id, hour)
        .await
        .unwrap();
    assert_eq!(stored, [(hour, "token_issued".to_string(), 2)]);
}
