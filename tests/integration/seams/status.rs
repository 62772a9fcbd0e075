//! One rule per status: "Failing" as soon as a credential's latest refusal is newer than its
//! latest success, with the last refusal and its reason in the list; and "Expires soon" by
//! the organisation's window in the console, the API and the reminder job alike.

use std::time::Duration as StdDuration;

use chrono::Duration;
use m2m_console::db::models::user::StaffRole;
use m2m_console::jobs::scheduled;

use crate::fixtures::*;
use crate::helpers::TestApp;
use crate::management_api::api;

/// A token request for `client` from `ip` (the app trusts 127.0.0.1 as a proxy).
async fn token_from(app: &TestApp, client: &Client, ip: &str) -> u16 {
    let auth = basic(&client.client_id, &client.secret);
    let headers = [("Authorization", auth.as_str()), ("X-Forwarded-For", ip)];
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
async fn refusals_after_a_recent_success_show_failing_at_once_with_the_last_reason() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await;
    let mut s = setup_on(app, |f| with(f, "allowed_ips", "10.0.0.0/24")).await;
    assert_eq!(token_from(&s.app, &s.client, "10.0.0.7").await, 200);
    // Eleven refusals over fifteen minutes after that one success.
    for _ in 0..11 {
        s.app.clock.advance(Duration::seconds(80));
        assert_eq!(token_from(&s.app, &s.client, "198.51.100.4").await, 401);
    }
    usage_events_once(&s.app, s.client.id, 12).await;

    let list = s.admin.get(M2M).await;
    let row = list_row(&list.body, s.client.id);
    assert!(row.contains("data-testid=\"failing\""), "{row}");
    let refused = testid_text(&row, "last-refused").expect("the last refusal is shown");
    assert!(refused.contains("Address not allowed"), "{refused}");
    assert!(testid_text(&row, "last-used").is_some(), "{row}");
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert!(page.body.contains("data-testid=\"failing\""));

    // A success since clears the flag; the last refusal stays on record.
    assert_eq!(token_from(&s.app, &s.client, "10.0.0.7").await, 200);
    usage_events_once(&s.app, s.client.id, 13).await;
    let row = list_row(&s.admin.get(M2M).await.body, s.client.id);
    assert!(!row.contains("data-testid=\"failing\""), "{row}");
    assert!(testid_text(&row, "last-refused").is_some(), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_the_api_and_the_reminders_agree_on_expires_soon() {
    let a = api().await;
    let app = &a.s.app;
    let mut admin = app.login_as(StaffRole::Admin).await.1;
    let at = (app.clock.now() + Duration::days(40))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let form = with(
        with(valid_form(&a.s.catalog), "name", "Billing"),
        "expires_at",
        &at,
    );
    let (id, ..) = create_credential(app, &mut admin, &form).await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    save_policy(&mut boss, &policy_fields("", "14", "90", "warn")).await;

    let check = async |label: &str, api_status: &str| {
        let (_, mut viewer) = app.login_as(StaffRole::Viewer).await;
        let row = list_row(&viewer.get(M2M).await.body, id);
        assert_eq!(testid_text(&row, "status").as_deref(), Some(label), "{row}");
        let token = access_token(app, &a.manager).await;
        let path = format!("/api/v1/credentials/{id}");
        let res = api_call(app, "GET", &path, &token, None, &[]).await;
        assert_eq!(res.json()["status"], api_status, "{}", res.text);
    };
    let run = async || {
        let mut conn = app.conn().await;
        scheduled::run_once(&mut conn, None, &app.address, app.clock.now()).await
    };

    // 20 days left, the window is 14: active everywhere, and no reminder yet.
    app.clock.advance(Duration::days(20));
    check("Active", "active").await;
    assert_eq!(run().await.reminders, 0);

    // 13 days left: expires soon everywhere, and the first reminder goes.
    app.clock.advance(Duration::days(7));
    check("Expires soon", "expires_soon").await;
    assert!(run().await.reminders > 0);
}
