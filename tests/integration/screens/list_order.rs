//! The list opens needs-attention-first (failing, expired, expiring soon, then the rest)
//! unless a column is chosen, and a rotation in progress shows on its row.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::fixtures::*;
use crate::helpers::TestApp;

/// The credential IDs of the list's rows, top to bottom.
fn row_ids(body: &str) -> Vec<String> {
    body.split("data-testid=\"credential-row\" data-credential-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_opens_with_what_needs_attention_first_and_shows_a_rotation_in_progress() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await;
    // Created first: the one that is fine, and will be rotating.
    let mut s = setup_on(app, |f| with(f, "allowed_ips", "10.0.0.0/24")).await;
    let fine = s.client.id;
    let soon = (s.app.clock.now() + Duration::days(5))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let form = with(
        with(valid_form(&s.catalog), "name", "Expiring"),
        "expires_at",
        &soon,
    );
    let (expiring, ..) = create_credential(&s.app, &mut s.admin, &form).await;
    let form = with(
        with(valid_form(&s.catalog), "name", "Failing"),
        "allowed_ips",
        "10.0.0.0/24",
    );
    let (failing, client_id, secret) = create_credential(&s.app, &mut s.admin, &form).await;
    let auth = basic(&client_id, &secret);
    let refused = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[
            ("Authorization", auth.as_str()),
            ("X-Forwarded-For", "198.51.100.4"),
        ],
    )
    .await;
    assert_eq!(refused.status, 401);
    usage_events_once(&s.app, failing, 1).await;
    rotate_with_overlap(&mut s, "24h").await;
    let until = (s.app.clock.now() + Duration::hours(24)).format("%-d %b %H:%M UTC");

    let list = s.admin.get(M2M).await;
    assert_eq!(
        row_ids(&list.body),
        [failing, expiring, fine].map(|id| id.to_string())
    );
    assert!(list.body.contains("data-testid=\"sort-hint\""));
    let row = list_row(&list.body, fine);
    assert_eq!(
        testid_text(&row, "rotating").as_deref(),
        Some(format!("Rotating: old secret until {until}").as_str())
    );
    assert!(!list_row(&list.body, expiring).contains("data-testid=\"rotating\""));

    // A chosen column still wins, and the hint goes.
    let by_name = s.admin.get(&format!("{M2M}?sort=name&dir=asc")).await;
    assert_eq!(
        row_ids(&by_name.body),
        [expiring, failing, fine].map(|id| id.to_string()),
        "Expiring, Failing, then the fixture's name"
    );
    assert!(by_name.body.contains("data-testid=\"credentials-table\""));
    assert!(!by_name.body.contains("data-testid=\"sort-hint\""));
}
