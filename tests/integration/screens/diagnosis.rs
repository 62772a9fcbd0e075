//! The Failing banner names the dominant reason and its fix, with a link that does it;
//! identical refusals are grouped (reason, address, count, first, last); the usage charts
//! have a y scale and show API calls beside tokens issued.

use std::time::Duration as StdDuration;

use chrono::Duration;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::*;
use crate::helpers::TestApp;

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

async fn spawn() -> TestApp {
    TestApp::spawn_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await
}

/// The value of the first `attr="…"` after `data-testid="{id}"`.
fn attr_of(body: &str, id: &str, attr: &str) -> Option<String> {
    let start = body.find(&format!("data-testid=\"{id}\""))?;
    let tag_start = body[..start].rfind('<')?;
    let tag = &body[tag_start..start + body[start..].find('>')?];
    let at = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    Some(tag[at..at + tag[at..].find('"')?].replace("&amp;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_address_is_named_with_an_add_it_link_and_its_refusals_are_one_group() {
    let mut s = setup_on(spawn().await, |f| with(f, "allowed_ips", "10.0.0.0/24")).await;
    assert_eq!(token_from(&s.app, &s.client, "10.0.0.7").await, 200);
    // Eleven refusals over thirteen minutes after that one success.
    for _ in 0..11 {
        s.app.clock.advance(Duration::seconds(80));
        assert_eq!(token_from(&s.app, &s.client, "198.51.100.4").await, 401);
    }
    usage_events_once(&s.app, s.client.id, 12).await;

    let page_path = format!("{M2M}/{}", s.client.id);
    let page = s.admin.get(&page_path).await;
    assert_eq!(page.status, 200);
    let cause = testid_text(&page.body, "failing-cause").expect("a Failing banner");
    assert_eq!(
        cause,
        "Refused 11 times in 13 min: address 198.51.100.4 is not in the allowed IPs."
    );
    assert_eq!(
        testid_text(&page.body, "failing-action").as_deref(),
        Some("Add it")
    );
    let add = attr_of(&page.body, "failing-action", "href").unwrap();
    assert_eq!(add, format!("{page_path}/edit?add_ip=198.51.100.4"));
    // Grouped: one line with its count, not eleven rows.
    assert_eq!(page.body.matches("data-testid=\"refusal\"").count(), 1);
    assert_eq!(
        testid_text(&page.body, "refusal-count").as_deref(),
        Some("11")
    );
    assert_eq!(
        testid_text(&page.body, "refusal-reason").as_deref(),
        Some("Address not allowed")
    );

    // "Add it" opens the edit form with the address added under the kept block.
    let form = s.admin.hx_get(&add).await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("10.0.0.0/24\n198.51.100.4</textarea>"),
        "{}",
        form.body
    );
    // Anything but one address is ignored, never echoed.
    let odd = s
        .admin
        .hx_get(&format!("{page_path}/edit?add_ip=%3Cscript%3E1"))
        .await;
    assert_eq!(odd.status, 200);
    assert!(odd.body.contains("10.0.0.0/24</textarea>"), "{}", odd.body);
    assert!(!odd.body.contains("&lt;script"), "{}", odd.body);

    // A Viewer reads the same diagnosis, without the button.
    let (_, mut viewer) = s.app.login_as(StaffRole::Viewer).await;
    let seen = viewer.get(&page_path).await;
    assert_eq!(testid_text(&seen.body, "failing-cause").unwrap(), cause);
    assert!(!seen.body.contains("data-testid=\"failing-action\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_after_retiring_the_old_one_says_the_old_secret_was_retired_then() {
    let mut s = setup_on(spawn().await, |f| f).await;
    let old = Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret: s.client.secret.clone(),
    };
    assert_eq!(token_from(&s.app, &old, "10.0.0.7").await, 200);
    let new = rotate_with_overlap(&mut s, "1h").await;
    s.app.clock.advance(Duration::minutes(5));
    let retired = s
        .admin
        .post_form(&format!("{M2M}/{}/retire", s.client.id), &[])
        .await;
    assert_eq!(retired.status, 303, "{}", retired.body);
    let retired_at = s.app.clock.now();
    s.app.clock.advance(Duration::minutes(2));
    for _ in 0..3 {
        assert_eq!(token_from(&s.app, &old, "10.0.0.7").await, 401);
    }
    usage_events_once(&s.app, s.client.id, 4).await;

    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    let cause = testid_text(&page.body, "failing-cause").expect("a Failing banner");
    let since = (retired_at + Duration::minutes(2)).format("%H:%M UTC");
    assert_eq!(
        cause,
        format!(
            "Wrong secret since {since}: the old secret was retired then ({}), and 10.0.0.7 still sends it (3 times).",
            retired_at.format("%H:%M UTC")
        )
    );
    let fix = testid_text(&page.body, "failing-fix").unwrap();
    let ending: String = new
        .secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(fix.contains(&format!("ending in …{ending}")), "{fix}");
    assert!(!page.body.contains(new.secret.as_str()));

    // A success with the current secret ends the diagnosis.
    assert_eq!(token_from(&s.app, &new, "10.0.0.7").await, 200);
    usage_events_once(&s.app, s.client.id, 5).await;
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert!(page.body.contains("data-testid=\"credential-detail\""));
    assert!(!page.body.contains("data-testid=\"failing-banner\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_have_a_y_scale_and_count_api_calls_beside_tokens_issued() {
    let s = setup_on(spawn().await, |f| f).await;
    let mut admin = s.admin;
    let token = access_token(&s.app, &s.client).await;
    for _ in 0..3 {
        assert_eq!(whoami(&s.app, &token).await.status, 200);
    }
    usage_events_once(&s.app, s.client.id, 4).await;
    let page = admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert_eq!(
        testid_text(&page.body, "usage-summary").as_deref(),
        Some("1 token issued, 0 refused, 3 API calls")
    );
    assert_eq!(
        testid_text(&page.body, "usage-unit").as_deref(),
        Some("Requests per hour")
    );
    let scale = testid_texts(&page.body, "usage-scale");
    assert_eq!(&scale[..2], ["0", "5"], "0 to 5: three calls rounded up");
    assert!(page.body.contains("class=\"bar-api\""));
    assert!(page.body.contains("API calls (bearer uses)"));
}
