//! The lifecycle dialogs in a real browser: rotating with an overlap, the evidence on the
//! credential's page, retiring the old secret, disabling and enabling, each checked with axe.

use m2m_console::db::models::user::StaffRole;

use crate::driver::Browser;
use crate::flows::{
    self, create_credential, read_reveal, row, row_action, seed_catalog, sign_in, token_request,
};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_with_an_overlap_keeps_both_secrets_until_the_old_one_is_retired() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    let first = create_credential(&mut b, "Billing export").await;
    assert_eq!(
        token_request(&app, &first.client_id, &first.secret).await.0,
        200
    );

    row_action(&mut b, "Billing export", "menu-rotate").await;
    b.dialog().await;
    b.testid("confirm-facts").await;
    b.click_testid("overlap-24h").await;
    b.assert_accessible("the rotate confirmation with an overlap chosen")
        .await;
    b.click_testid("confirm-rotate").await;
    let rotated = read_reveal(&b).await;
    let notice = b.text(&b.dialog().await).await;
    assert!(
        notice.contains("The previous secret keeps working until"),
        "{notice}"
    );
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_dialog_closed().await;

    assert_eq!(
        token_request(&app, &first.client_id, &first.secret).await.0,
        200,
        "old"
    );
    assert_eq!(
        token_request(&app, &rotated.client_id, &rotated.secret)
            .await
            .0,
        200,
        "new"
    );

    // The evidence: both secrets, each with its ending, last use and count.
    row_action(&mut b, "Billing export", "menu-details").await;
    b.testid("credential-detail").await;
    let previous = b.text(&b.testid("secret-previous").await).await;
    let ending = &first.secret[first.secret.len() - 4..];
    assert!(
        previous.to_lowercase().contains(&ending.to_lowercase()),
        "{previous}"
    );
    b.assert_accessible("the credential page during an overlap")
        .await;
    b.screenshot("overlap-evidence").await;

    b.click_testid("retire-previous").await;
    b.dialog().await;
    b.testid("confirm-retire").await;
    b.assert_accessible("the retire confirmation").await;
    b.click_testid("confirm-retire").await;
    b.wait_until("the overlap to end", async || {
        b.all_testid("secret-previous").await.is_empty()
    })
    .await;
    b.assert_clean("retiring the old secret").await;
    assert_eq!(
        token_request(&app, &first.client_id, &first.secret).await.0,
        401
    );
    assert_eq!(
        token_request(&app, &rotated.client_id, &rotated.secret)
            .await
            .0,
        200
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_and_enabling_from_the_row_menu() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    let created = create_credential(&mut b, "Warehouse sync").await;

    row_action(&mut b, "Warehouse sync", "menu-disable").await;
    b.dialog().await;
    b.click_testid("confirm-disable").await;
    b.wait_dialog_closed().await;
    let status = async |b: &Browser| {
        let row = row(b, "Warehouse sync").await;
        b.text(&b.testid_in(&row, "status").await).await
    };
    b.wait_until("the Disabled badge", async || {
        status(&b).await == "Disabled"
    })
    .await;
    b.assert_clean("disabling").await;
    assert_eq!(
        token_request(&app, &created.client_id, &created.secret)
            .await
            .0,
        401
    );

    row_action(&mut b, "Warehouse sync", "menu-enable").await;
    b.dialog().await;
    b.testid("confirm-enable").await;
    b.assert_accessible("the enable confirmation").await;
    b.click_testid("confirm-enable").await;
    b.wait_dialog_closed().await;
    b.wait_until("the Active badge", async || status(&b).await == "Active")
        .await;
    assert_eq!(
        token_request(&app, &created.client_id, &created.secret)
            .await
            .0,
        200
    );
    b.quit().await;
}

/// Ten realistic credentials, three expiring within a week, two "Expires soon", all unused
/// for 98 days (stale by the default policy).
async fn full_list(app: &TestApp) -> String {
    let admin = flows::user(app, StaffRole::Admin).await;
    seed_catalog(app, admin.org_id).await;
    let role = m2m_console::db::models::api_role::ApiRole::list_for_org(
        &mut *app.conn().await,
        admin.org_id,
    )
    .await
    .unwrap()[0]
        .id
        .to_string();
    let mut http = app.client();
    assert_eq!(
        http.login(&admin.email, crate::helpers::PASSWORD)
            .await
            .status,
        303
    );
    let names = [
        ("Warehouse sync", "ops@acme.test", Some(103)),
        ("Billing export", "finance-systems@acme.test", Some(104)),
        ("Payroll push", "payroll@acme.test", Some(105)),
        ("CRM contacts import", "sales-ops@acme.test", Some(120)),
        (
            "Nightly data warehouse ETL",
            "data-platform@acme.test",
            Some(125),
        ),
        ("Partner portal (EU)", "partners@acme.test", None),
        ("Shipping label printer", "logistics@acme.test", None),
        ("Fraud scoring", "risk@acme.test", None),
        ("Customer support bot", "support-tools@acme.test", None),
        ("Marketing analytics feed", "marketing-ops@acme.test", None),
    ];
    for (name, owner, days) in names {
        let expires = days
            .map(|d| {
                (app.clock.now() + chrono::Duration::days(d))
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let form = [
            ("name", name),
            ("description", "Runs from the integration cluster"),
            ("owner_email", owner),
            ("role_id", role.as_str()),
            ("access_level", "full"),
            ("allowed_ips", "203.0.113.0/24\n198.51.100.7"),
            ("expires_at", expires.as_str()),
        ];
        let page = http.post_form(flows::HOME, &form).await;
        assert_eq!(page.status, 200, "{name}: {}", page.body);
    }
    app.clock.advance(chrono::Duration::days(98));
    admin.email
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_list_with_warnings_reads_well_at_1280_and_390_px() {
    let app = TestApp::spawn().await;
    let email = full_list(&app).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &email).await;
    let banner = b.text(&b.testid("expiring-banner").await).await;
    assert!(
        banner.contains("3 credentials expire within 7 days"),
        "{banner}"
    );
    assert_eq!(b.all_testid("stale").await.len(), 10);
    b.assert_accessible("the list with the banner and stale flags")
        .await;
    let widths =
        "var w = document.querySelector('.table-wrap'); return [w.scrollWidth, w.clientWidth];";
    let widths = b
        .driver
        .execute(widths, vec![])
        .await
        .unwrap()
        .json()
        .clone();
    assert!(
        widths[0].as_i64() <= widths[1].as_i64(),
        "the table scrolls sideways at 1280 px, hiding the ⋮ menus: {widths}"
    );
    b.screenshot("list-warnings").await;
    b.quit().await;

    let mut phone = Browser::with_size(&app.address, crate::driver::PHONE).await;
    sign_in(&mut phone, &email).await;
    phone.testid("expiring-banner").await;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    assert!(
        phone.script_bool(fits).await,
        "the page scrolls sideways at 390 px"
    );
    phone.screenshot("list-warnings-390").await;
    phone.quit().await;
}
