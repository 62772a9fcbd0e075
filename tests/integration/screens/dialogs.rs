//! The safe defaults: the rotate dialog states each overlap's outcome as a time, actions
//! taken on a credential's own page refresh that page, and every bad IP entry is named.

use chrono::Duration;

use crate::fixtures::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_overlap_choice_states_when_the_old_secret_stops_and_now_keeps_its_warning() {
    let s = setup().await;
    let mut admin = s.admin;
    let dialog = admin.hx_get(&format!("{M2M}/{}/rotate", s.client.id)).await;
    assert_eq!(dialog.status, 200);
    let in_a_day = (s.app.clock.now() + Duration::hours(24)).format("%a %-d %b %H:%M UTC");
    assert!(
        dialog.body.contains(&format!(
            "data-testid=\"overlap-24h\" data-until=\"{in_a_day}\""
        )),
        "{}",
        dialog.body
    );
    assert!(dialog.body.contains(&format!("(until {in_a_day})")));
    // Now stays the default, with the warning (hidden by the script once an overlap is
    // chosen) and no time of its own.
    assert!(
        dialog
            .body
            .contains("value=\"now\" checked data-testid=\"overlap-now\">")
    );
    assert!(dialog.body.contains("data-testid=\"rotate-now-warning\""));
    assert!(
        dialog
            .body
            .contains("data-testid=\"rotate-outcome\" data-rotate-outcome hidden")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_on_a_credentials_own_page_refresh_that_page() {
    let mut s = setup().await;
    let page = format!("{M2M}/{}", s.client.id);
    // Generate token from the page: the one-time token, and the page behind it with the
    // new token listed.
    let answer = s
        .admin
        .hx_post_from(&page, &format!("{page}/token"), &[])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("data-testid=\"access-token\""));
    assert!(
        answer
            .body
            .contains("id=\"credential-detail\" class=\"credential-detail\"")
    );
    assert!(answer.body.contains("hx-swap-oob=\"outerHTML\""));
    assert_eq!(answer.body.matches("data-testid=\"token-row\"").count(), 1);

    // Disable from the page: the page comes back out of band (no redirect), with a toast.
    let answer = s
        .admin
        .hx_post_from(&page, &format!("{page}/disable"), &[])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.headers.get("HX-Redirect").is_none());
    assert!(answer.body.contains("data-testid=\"credential-detail\""));
    assert!(answer.body.contains("data-testid=\"enable\""));
    assert!(answer.body.contains("Disabled “"));

    // From the list, the list is refreshed as before.
    let answer = s
        .admin
        .hx_post_from(M2M, &format!("{page}/enable"), &[])
        .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("id=\"credentials-section\""));
    assert!(!answer.body.contains("data-testid=\"credential-detail\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_ip_entry_is_named_in_one_answer() {
    let s = setup().await;
    let mut admin = s.admin;
    let form = with(
        valid_form(&s.catalog),
        "allowed_ips",
        "10.0.0.1\nexample.com\n10.0.0.0/33\n2001:db8::/48\nlocalhost",
    );
    let page = create_via_htmx(&mut admin, &form).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        testid_text(&page.body, "error-allowed_ips").as_deref(),
        Some(
            "Entries 2 (“example.com”), 3 (“10.0.0.0/33”), 5 (“localhost”) are not IP addresses or CIDR blocks, such as 203.0.113.7 or 10.0.0.0/24."
        )
    );
    assert!(page.body.contains("data-testid=\"submit-why\""));
}
