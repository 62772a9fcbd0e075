//! Issue 24's safe defaults in a real browser: the rotate dialog's warning follows the
//! choice, actions taken on a credential's own page refresh that page, and the create dialog
//! says why Create is disabled, lists every bad IP entry and shows the first error.

use m2m_console::db::models::user::StaffRole;
use thirtyfour::prelude::*;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, create_credential, seed_catalog, sign_in};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotate_warning_follows_the_choice_and_the_page_behind_refreshes() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    create_credential(&mut b, "Billing export").await;
    let row = flows::row(&b, "Billing export").await;
    let link = b.testid_in(&row, "credential-name").await;
    b.click(&link).await;
    b.testid("credential-detail").await;
    b.wait_for_page().await;
    b.mark_document().await;

    // Rotate, by keyboard: Now is the default, with its red warning.
    b.click(&b.button("Rotate secret").await).await;
    b.dialog().await;
    let warning = b.testid("rotate-now-warning").await;
    assert!(warning.is_displayed().await.unwrap());
    assert!(
        !b.testid("rotate-outcome")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    let confirm = b.testid("confirm-rotate").await;
    assert!(
        confirm
            .class_name()
            .await
            .unwrap()
            .unwrap()
            .contains("btn-danger-solid")
    );
    b.testid("overlap-now").await.focus().await.unwrap();
    b.press(Key::Down).await;
    b.press(Key::Down).await;
    assert_eq!(b.focused_testid().await, "overlap-24h");
    let outcome = b.testid("rotate-outcome").await;
    assert!(outcome.is_displayed().await.unwrap());
    assert!(
        !warning.is_displayed().await.unwrap(),
        "the Now warning stays"
    );
    let said = b.text(&outcome).await;
    let until = b
        .testid("overlap-24h")
        .await
        .attr("data-until")
        .await
        .unwrap()
        .unwrap();
    assert!(
        said.starts_with(&format!("The old secret works until {until}")),
        "{said}"
    );
    assert!(until.ends_with(" UTC"), "{until}");
    let class = confirm.class_name().await.unwrap().unwrap();
    assert!(
        !class.contains("btn-danger") && class.contains("btn-primary"),
        "{class}"
    );
    b.assert_accessible("the rotate dialog with an overlap chosen")
        .await;
    b.screenshot("rotate-overlap").await;
    b.tab_to("confirm-rotate", 12).await;
    b.press(Key::Enter).await;
    b.testid("client-secret").await;
    // Behind the reveal, the page already lists the old secret with its end.
    b.wait_until(
        "the page behind the reveal to show the old secret",
        async || b.has_testid("secret-previous").await,
    )
    .await;
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_dialog_closed().await;

    // Generate token: its row shows behind the one-time token.
    assert!(!b.has_testid("token-row").await);
    b.click_testid("generate-token").await;
    b.dialog().await;
    b.wait_until("the new token behind the dialog", async || {
        b.has_testid("token-row").await
    })
    .await;
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;

    // Disable: the page says so at once, without a reload.
    b.click_testid("disable").await;
    b.click_testid("confirm-disable").await;
    b.wait_dialog_closed().await;
    b.wait_until("the page to show Disabled", async || {
        b.has_testid("enable").await
    })
    .await;
    assert!(
        b.marker_survived().await,
        "the page was reloaded, not refreshed"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_create_dialog_says_why_create_is_disabled_and_lists_every_bad_address() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut b, &admin.email).await;
    b.click_testid("create-credential-empty").await;
    b.dialog().await;
    let why = b.testid("submit-why").await;
    assert_eq!(b.text(&why).await, "Create credentials needs: Name, Role.");
    assert!(
        !b.testid("submit-credential")
            .await
            .is_enabled()
            .await
            .unwrap()
    );
    b.fill("Name", "Billing export").await;
    assert_eq!(b.text(&why).await, "Create credentials needs: Role.");
    b.choose("Role", flows::ROLE_NAME).await;
    b.wait_until("the reason to go", async || {
        !why.is_displayed().await.unwrap()
    })
    .await;
    b.fill(
        "Allowed IPs",
        "10.0.0.1\nexample.com\n10.0.0.0/33\n2001:db8::/48",
    )
    .await;
    b.expect_console("status of 422");
    b.click_testid("submit-credential").await;
    let error = b.testid("error-allowed_ips").await;
    let said = b.text(&error).await;
    assert!(
        said.ends_with(
            "Entries 2 (“example.com”), 3 (“10.0.0.0/33”) are not IP addresses or CIDR blocks, such as 203.0.113.7 or 10.0.0.0/24."
        ),
        "{said}"
    );
    assert_eq!(
        b.focused().await.attr("id").await.unwrap().as_deref(),
        Some("f-allowed_ips")
    );
    let in_view = "var r = document.querySelector('[data-testid=error-allowed_ips]').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;";
    assert!(
        b.script_bool(in_view).await,
        "the first error is out of view"
    );
    b.assert_accessible("the create dialog with every bad address named")
        .await;
    b.screenshot("create-errors-390").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_endpoint_says_so_and_shows_its_exchange_at_both_widths() {
    let app = TestApp::spawn_with(|s| {
        s.webhooks.allow_private = true;
        s.webhooks.allow_insecure = true;
        s.webhooks.poll = std::time::Duration::from_millis(50);
    })
    .await;
    let owner = flows::user(&app, StaffRole::SuperAdmin).await;
    // Nothing listens on port 9 of this machine: every attempt is refused.
    let url = "http://127.0.0.1:9/hooks/m2m";
    let mut http = app.client();
    assert_eq!(
        http.login(&owner.email, crate::helpers::PASSWORD)
            .await
            .status,
        303
    );
    let added = http
        .post_form(
            m2m_console::paths::WEBHOOKS,
            &[
                ("url", url),
                ("events", "credential.created"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &owner.email).await;
    b.goto(m2m_console::paths::WEBHOOKS).await;
    let link = b.testid("webhook-link").await;
    b.click(&link).await;
    b.wait_for_page().await;
    let page = b.path().await;
    b.tab_to("send-test-event", 40).await;
    b.press(Key::Enter).await;
    // The delivery job runs every 50 ms; the page says so once it has tried.
    for _ in 0..100 {
        b.goto(&page).await;
        if b.has_testid("webhook-failing").await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let failing = b.text(&b.testid("webhook-failing").await).await;
    assert!(
        failing.starts_with("Failing: 1 delivery retrying since"),
        "{failing}"
    );
    assert_eq!(
        b.text(&b.testid("webhook-last-success").await).await,
        "Never"
    );
    b.click(
        &b.driver
            .find(By::Css("[data-testid=delivery-exchange] summary"))
            .await
            .unwrap(),
    )
    .await;
    let response = b.text(&b.testid("delivery-response").await).await;
    assert!(
        response.starts_with("No answer: could not connect"),
        "{response}"
    );
    let request = b.text(&b.testid("delivery-request").await).await;
    assert!(request.contains("\"type\": \"ping\""), "{request}");
    assert!(
        b.script_bool("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await
    );
    b.assert_accessible("a failing webhook endpoint with its exchange")
        .await;
    b.screenshot("webhook-failing-1280").await;
    b.quit().await;

    let mut phone = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut phone, &owner.email).await;
    for (path, shot) in [
        (m2m_console::paths::WEBHOOKS, "webhooks-390"),
        (page.as_str(), "webhook-failing-390"),
    ] {
        phone.goto(path).await;
        phone.testid("webhook-failing").await;
        assert!(
            phone
                .script_bool("return document.documentElement.scrollWidth <= window.innerWidth;")
                .await,
            "{path} scrolls sideways at 390 px: {}",
            phone.overflowing().await
        );
        phone.assert_accessible(&format!("{path} at 390 px")).await;
        phone.screenshot(shot).await;
    }
    phone.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotate_dialog_with_an_overlap_fits_a_390_px_phone() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut b, &admin.email).await;
    create_credential(&mut b, "Billing export").await;
    flows::row_action(&mut b, "Billing export", "menu-rotate").await;
    b.dialog().await;
    b.click_testid("overlap-24h").await;
    assert!(
        b.testid("rotate-outcome")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert!(
        b.script_bool("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await,
        "the rotate dialog scrolls sideways at 390 px"
    );
    b.assert_accessible("the rotate dialog with an overlap at 390 px")
        .await;
    b.screenshot("rotate-overlap-390").await;
    b.quit().await;
}
