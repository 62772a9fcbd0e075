//! The screens with real data (issue 12): ten credentials with 100-character names,
//! 500-character descriptions and five IPv6 CIDR entries, one failing and one in use, seen
//! at 1280 px and 390 px: the list, a credential's page with its usage chart and data
//! table, and the audit log. No sideways scrolling, the key columns and ⋮ in view, axe
//! clean, no CSP complaint.

use std::time::Duration as StdDuration;

use m2m_console::db::models::user::StaffRole;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, seed_catalog, sign_in};
use crate::helpers::{PASSWORD, TestApp};

const AUDIT: &str = "/settings/audit";

/// `len` characters of `text` repeated.
fn sized(text: &str, len: usize) -> String {
    text.chars().cycle().take(len).collect()
}

/// The text of the element with `data-testid="{id}"` in a page's HTML.
fn testid_text(body: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\"");
    let start = body.find(&marker).unwrap();
    let rest = &body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close].to_string()
}

struct Seeded {
    email: String,
    /// (page path, client ID, secret) of each credential, in creation order.
    credentials: Vec<(String, String, String)>,
}

async fn seed(app: &TestApp) -> Seeded {
    let admin = flows::user(app, StaffRole::Admin).await;
    seed_catalog(app, admin.org_id).await;
    let mut conn = app.conn().await;
    let roles = m2m_console::db::models::api_role::ApiRole::list_for_org(&mut conn, admin.org_id)
        .await
        .unwrap();
    let role = roles[0].id.to_string();
    let mut http = app.client();
    assert_eq!(http.login(&admin.email, PASSWORD).await.status, 303);
    let description = sized(
        "Pulls stock levels from every regional warehouse, reconciles them against the ERP \
         ledger and pushes corrections to the storefront; owned by the fulfilment platform \
         team, paged through the on-call rota. ",
        500,
    );
    let mut credentials = Vec::new();
    for i in 0..10 {
        let name = if i == 3 {
            // One name with no space to break at.
            sized("warehouse-sync-eu-central-", 100)
        } else {
            sized(
                &format!(
                    "Integration {i}: nightly reconciliation of warehouse stock, region EU central, with retries "
                ),
                100,
            )
        };
        let ips: Vec<String> = (1..=5).map(|n| format!("2001:db8:{i}:{n}::/64")).collect();
        let form = [
            ("name", name.as_str()),
            ("description", description.as_str()),
            ("owner_email", "fulfilment-platform-oncall@acme.test"),
            ("role_id", role.as_str()),
            ("access_level", "full"),
            ("allowed_ips", &ips.join("\n")),
            ("expires_at", ""),
        ];
        let page = http.post_form(flows::HOME, &form).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let client_id = testid_text(&page.body, "client-id");
        let secret = testid_text(&page.body, "client-secret");
        let id =
            m2m_console::db::models::credential::Credential::list_for_org(&mut conn, admin.org_id)
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.client_id == client_id)
                .unwrap()
                .id;
        credentials.push((format!("{}/{id}", flows::HOME), client_id, secret));
    }
    Seeded {
        email: admin.email,
        credentials,
    }
}

/// A token request for `(client_id, secret)` from `ip` (the app trusts 127.0.0.1 as a proxy).
async fn request_token(app: &TestApp, client_id: &str, secret: &str, ip: &str) -> u16 {
    reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .header("X-Forwarded-For", ip)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth;";

/// Every element matching `selector` ends inside the window.
async fn all_in_view(b: &Browser, selector: &str) -> bool {
    let script = format!(
        "var els = document.querySelectorAll('{selector}'); \
         return els.length > 0 && Array.from(els).every(function (e) {{ \
           var r = e.getBoundingClientRect(); return r.right <= window.innerWidth + 0.5; }});"
    );
    b.script_bool(&script).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_realistic_credentials_with_usage_fit_at_1280_and_390_px() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await;
    let seeded = seed(&app).await;
    let (used_page, used_id, used_secret) = &seeded.credentials[0];
    let (failing_page, failing_id, failing_secret) = &seeded.credentials[1];
    for _ in 0..3 {
        assert_eq!(
            request_token(&app, used_id, used_secret, "2001:db8:0:1::7").await,
            200
        );
    }
    for ip in ["203.0.113.9", "203.0.113.9", "2001:db8:ffff::1"] {
        assert_eq!(
            request_token(&app, failing_id, failing_secret, ip).await,
            401
        );
    }
    tokio::time::sleep(StdDuration::from_millis(400)).await;

    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &seeded.email).await;
    assert_eq!(b.all_testid("credential-row").await.len(), 10);
    assert_eq!(b.all_testid("failing").await.len(), 1);
    // Needs attention first: the failing credential leads; the one in use shows its address.
    let mut last_used = Vec::new();
    for cell in b.all_testid("last-used").await {
        last_used.push(b.text(&cell).await);
    }
    assert!(
        last_used.iter().any(|t| t.contains("from 2001:db8:0:1::7")),
        "{last_used:?}"
    );
    assert!(last_used[0].contains("Last refused"), "{last_used:?}");
    assert!(
        b.script_bool(FITS).await,
        "the list scrolls sideways at 1280 px"
    );
    for column in ["sort-name", "sort-status", "sort-last_used", "sort-expires"] {
        assert!(
            all_in_view(&b, &format!("[data-testid={column}]")).await,
            "{column} is cut off at 1280 px"
        );
    }
    assert!(
        all_in_view(&b, "[data-testid=row-menu]").await,
        "a ⋮ is cut off"
    );
    b.assert_accessible("the list of ten realistic credentials")
        .await;
    b.screenshot("list-realistic").await;

    // Sorting by status puts the failing credential first, without JavaScript's help.
    b.click_testid("sort-status").await;
    b.wait_until("the list sorted by status", async || {
        b.path().await.contains("sort=status")
    })
    .await;
    b.wait_for_page().await;
    let first = b.all_testid("credential-row").await;
    assert!(
        b.text(&first[0]).await.contains("Failing"),
        "the failing credential comes first"
    );

    b.goto(failing_page).await;
    b.testid("usage-chart").await;
    // Identical refusals are one line each: two from one address, one from another.
    let refusals = b.all_testid("refusal-reason").await;
    assert_eq!(refusals.len(), 2);
    assert_eq!(b.text(&refusals[0]).await, "Address not allowed");
    let counts = b.all_testid("refusal-count").await;
    assert_eq!(b.text(&counts[0]).await, "2");
    assert!(
        b.script_bool(FITS).await,
        "the credential page scrolls sideways at 1280 px"
    );
    b.assert_accessible("a failing credential's page with its chart")
        .await;
    b.assert_clean("the usage charts under the CSP").await;
    b.screenshot("credential-failing").await;

    b.goto(used_page).await;
    let summary = b.text(&b.all_testid("usage-summary").await[0]).await;
    assert_eq!(summary, "3 tokens issued, 0 refused, 0 API calls");
    // The data table is one disclosure away, for screen readers and everyone else.
    b.click(
        &b.driver
            .find(thirtyfour::By::Css(".usage-data summary"))
            .await
            .unwrap(),
    )
    .await;
    let table = b.all_testid("usage-table").await;
    let table = b.text(&table[0]).await.to_lowercase();
    assert!(table.contains("tokens issued"), "{table}");
    b.screenshot("credential-usage").await;

    b.goto(AUDIT).await;
    assert!(
        b.script_bool(FITS).await,
        "the audit log scrolls sideways at 1280 px"
    );
    b.assert_accessible("the audit log with realistic events")
        .await;
    b.screenshot("audit-log").await;
    b.quit().await;

    let mut phone = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut phone, &seeded.email).await;
    for (path, what) in [
        (flows::HOME, "the list"),
        (failing_page.as_str(), "a credential's page"),
        (AUDIT, "the audit log"),
    ] {
        phone.goto(path).await;
        assert!(
            phone.script_bool(FITS).await,
            "{what} scrolls sideways at 390 px"
        );
        phone.assert_accessible(&format!("{what} at 390 px")).await;
        if path == flows::HOME {
            phone.screenshot("list-realistic-390").await;
        }
    }
    phone.quit().await;
}
