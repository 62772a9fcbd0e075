//! The realistic organisation of issue 24, seeded over HTTP as an admin would make it: ten
//! credentials with 84–100-character names (one without a space), 500-character
//! descriptions and IPv6 allow-lists; one in use, two failing (an address not allowed, a
//! wrong secret), one disabled, one revoked; a Super Admin and a Viewer.

use std::time::Duration as StdDuration;

use m2m_console::db::models::user::StaffRole;

use crate::flows::{self, seed_catalog};
use crate::helpers::{PASSWORD, TestApp};

/// `len` characters of `text` repeated.
pub fn sized(text: &str, len: usize) -> String {
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

pub struct Credential {
    /// The credential's page.
    pub page: String,
    pub client_id: String,
    pub secret: String,
}

pub struct Realistic {
    pub email: String,
    /// In creation order: 0 in use, 1 refused for its address, 2 a wrong secret, 3 the
    /// name without a space, 4 disabled, 5 revoked.
    pub credentials: Vec<Credential>,
}

/// The application as the realistic tests need it: behind a trusted proxy (so a test can
/// choose the caller's address) and flushing usage every 50 ms.
pub async fn spawn() -> TestApp {
    TestApp::spawn_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.usage_flush = StdDuration::from_millis(50);
    })
    .await
}

fn name_of(i: usize) -> String {
    let len = 84 + i * 16 / 9;
    if i == 3 {
        sized(
            "northwind_traders.warehouse_management_system.production.eu-central-1.inventory_reconciliation_",
            len,
        )
    } else {
        sized(
            &format!(
                "Integration {i}: nightly reconciliation of warehouse stock levels, region EU central, with retries and backoff "
            ),
            len,
        )
    }
}

/// A token request for `(client_id, secret)` from `ip`.
pub async fn request_token(app: &TestApp, client_id: &str, secret: &str, ip: &str) -> u16 {
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

pub async fn seed(app: &TestApp) -> Realistic {
    let admin = flows::user(app, StaffRole::Admin).await;
    flows::user(app, StaffRole::Viewer).await;
    flows::user(app, StaffRole::SuperAdmin).await;
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
        let name = name_of(i);
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
        credentials.push(Credential {
            page: format!("{}/{id}", flows::HOME),
            client_id,
            secret,
        });
    }
    for (i, action) in [(4, "disable"), (5, "revoke")] {
        let path = format!("{}/{action}", credentials[i].page);
        assert_eq!(http.post_form(&path, &[]).await.status, 303, "{action}");
    }
    let used = &credentials[0];
    for _ in 0..3 {
        let status = request_token(app, &used.client_id, &used.secret, "2001:db8:0:1::7").await;
        assert_eq!(status, 200);
    }
    let refused = &credentials[1];
    for _ in 0..11 {
        let status = request_token(
            app,
            &refused.client_id,
            &refused.secret,
            "2001:db8:ffff::30",
        )
        .await;
        assert_eq!(status, 401);
    }
    // Another credential's secret: well formed, wrong for this one.
    let (wrong, other) = (&credentials[2], &credentials[9].secret);
    for _ in 0..4 {
        let status = request_token(app, &wrong.client_id, other, "2001:db8:2:1::9").await;
        assert_eq!(status, 401);
    }
    // The usage flush is asynchronous: wait until the refusals are kept.
    for _ in 0..100 {
        let page = http.get(&credentials[2].page).await;
        if page.body.contains("data-testid=\"failing-banner\"") {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    Realistic {
        email: admin.email,
        credentials,
    }
}
