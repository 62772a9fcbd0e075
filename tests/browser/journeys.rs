//! Journeys through the console as people make them: first-run setup, creating a Fine Grained
//! credential and its one-time secret, rotating, revoking and deleting from the row menu.

use m2m_console::db::models::user::StaffRole;
use thirtyfour::prelude::*;

use crate::driver::Browser;
use crate::flows::{
    self, HOME, create_credential, read_reveal, row, row_action, seed_catalog, sign_in, sign_out,
    token_request,
};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_creates_the_organisation_and_lands_on_machine_to_machine() {
    let app = TestApp::spawn().await;
    let printed = app
        .setup_link
        .clone()
        .expect("a fresh database prints a setup link");
    // The printed link names PUBLIC_URL; the test server listens on an ephemeral port.
    let link = &printed[printed.find("/setup").unwrap()..];
    let mut b = Browser::open(&app.address).await;

    b.goto(link).await;
    b.fill("Organisation name", "Acme").await;
    b.fill("Your email", "owner@acme.test").await;
    b.fill(
        "Password (at least 12 characters)",
        "violet quarry lantern sideways",
    )
    .await;
    b.fill("Repeat password", "violet quarry lantern sideways")
        .await;
    b.click_testid("setup-submit").await;

    b.wait_until("the Machine to Machine page", async || {
        b.path().await == HOME
    })
    .await;
    b.wait_for_page().await;
    b.assert_clean("finishing setup").await;
    let crumbs = b
        .driver
        .find(By::Css("nav[aria-label=Breadcrumb]"))
        .await
        .unwrap();
    let crumbs = b.text(&crumbs).await.replace('\n', " ");
    assert!(
        crumbs.contains("Settings")
            && crumbs.contains("Integrations")
            && crumbs.contains("Machine to Machine"),
        "breadcrumbs: {crumbs}"
    );
    let h1 = b.driver.find(By::Css("main h1")).await.unwrap();
    assert_eq!(b.text(&h1).await, "API Access");
    assert_eq!(
        b.text(&b.testid("current-user").await).await,
        "owner@acme.test"
    );
    assert!(
        b.text(&b.driver.find(By::Css(".badge-role")).await.unwrap())
            .await
            .contains("Super Admin")
    );
    // A new organisation has no APIs or roles yet: the checklist, not a form it cannot
    // complete.
    b.testid("first-run").await;
    b.screenshot("api-access-empty").await;

    // The link worked once.
    sign_out(&mut b).await;
    b.expect_console("status of 404");
    b.goto(link).await;
    assert!(
        !b.has_testid("setup-submit").await,
        "the setup link still works after use"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_a_fine_grained_credential_and_sees_its_secret_once() {
    let app = TestApp::spawn().await;
    let owner = flows::user(&app, StaffRole::SuperAdmin).await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let mut b = Browser::open(&app.address).await;

    // The Super Admin builds the catalog and a role in the UI.
    sign_in(&mut b, &owner.email).await;
    b.goto("/settings/apis").await;
    for (scope, name) in [
        ("orders:read", "Read orders"),
        ("orders:write", "Write orders"),
    ] {
        let form = b.testid("add-api-form").await;
        b.fill(
            "Scope (lowercase letters, digits and _ - . :, such as orders:read)",
            scope,
        )
        .await;
        b.fill("Display name", name).await;
        let submit = form.find(By::Css("button[type=submit]")).await.unwrap();
        b.click(&submit).await;
        b.wait_until(&format!("API {scope} in the catalog"), async || {
            let mut found = false;
            for row in b.all_testid("api-row").await {
                found |= row.text().await.unwrap_or_default().contains(scope);
            }
            found
        })
        .await;
        b.assert_clean("adding an API").await;
    }
    b.goto("/settings/roles").await;
    b.fill("Name", "Orders").await;
    for scope in ["orders:read", "orders:write"] {
        let label = b
            .driver
            .find(By::XPath(format!(
                "//form[@data-testid='add-role-form']//label[.//code[.='{scope}']]"
            )))
            .await
            .unwrap();
        b.click(&label).await;
    }
    let form = b.testid("add-role-form").await;
    b.click(&form.find(By::Css("button[type=submit]")).await.unwrap())
        .await;
    b.testid("role-row").await;
    b.assert_clean("adding a role").await;
    sign_out(&mut b).await;

    // An Admin creates a Fine Grained credential.
    sign_in(&mut b, &admin.email).await;
    b.mark_document().await;
    b.click_testid("create-credential").await;
    let dialog = b.dialog().await;
    b.assert_clean("opening the create modal").await;
    let submit = b.testid("submit-credential").await;
    assert!(
        !submit.is_enabled().await.unwrap(),
        "Create is enabled on an empty form"
    );
    b.fill("Name", "Warehouse sync").await;
    b.fill("Description", "Nightly stock export").await;
    let owner_email = b.field("Owner email (the responsible contact)").await;
    assert_eq!(
        b.value(&owner_email).await,
        admin.email,
        "owner email defaults to the user"
    );
    assert!(
        !submit.is_enabled().await.unwrap(),
        "Create is enabled without a role"
    );
    b.choose("Role", "Orders").await;
    submit.wait_until().enabled().await.unwrap();

    let fine = dialog
        .find(By::XPath(".//label[.//strong[.='Fine Grained']]"))
        .await
        .unwrap();
    b.click(&fine).await;
    submit.wait_until().not_enabled().await.unwrap();
    let boxes = || async {
        let mut states = Vec::new();
        for cb in dialog
            .find_all(By::Css(
                "[data-role-apis]:not([hidden]) input[type=checkbox]",
            ))
            .await
            .unwrap()
        {
            states.push(cb.is_selected().await.unwrap());
        }
        states
    };
    assert_eq!(boxes().await, [false, false], "no API is chosen at first");
    b.click(&b.button("Select all").await).await;
    assert_eq!(boxes().await, [true, true]);
    submit.wait_until().enabled().await.unwrap();
    b.click(&b.button("Unselect all").await).await;
    assert_eq!(boxes().await, [false, false]);
    submit.wait_until().not_enabled().await.unwrap();
    let read = dialog
        .find(By::XPath(".//label[.//code[.='orders:read']]"))
        .await
        .unwrap();
    b.click(&read).await;
    submit.wait_until().enabled().await.unwrap();
    b.screenshot("create-modal").await;
    b.click(&submit).await;

    let revealed = read_reveal(&b).await;
    b.assert_clean("revealing the secret").await;
    b.screenshot("secret-reveal").await;
    // Copy: the clipboard when headless Chromium grants it, else the text is selected.
    b.click_testid("copy-secret").await;
    let copied = b.copied_text().await;
    assert_eq!(copied, revealed.secret, "copy gave something else");
    if !b
        .script_bool("return String(window.getSelection()) !== '';")
        .await
    {
        b.testid("copy-secret")
            .await
            .wait_until()
            .has_text("Copied")
            .await
            .unwrap();
    }
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_dialog_closed().await;
    let row = row(&b, "Warehouse sync").await;
    let row_text = b.text(&row).await;
    assert!(row_text.contains(&revealed.client_id), "row: {row_text}");
    assert!(row_text.contains("Fine Grained (1 API)"), "row: {row_text}");
    assert!(b.marker_survived().await, "the page reloaded after create");
    b.assert_clean("closing the reveal").await;
    b.screenshot("api-access-list").await;

    b.refresh().await;
    assert_eq!(b.all_testid("credential-row").await.len(), 1);
    let html = b.driver.source().await.unwrap();
    assert!(
        !html.contains(&revealed.secret),
        "the secret is shown again after reload"
    );
    assert!(
        !html.contains("m2m_sk_"),
        "a secret is on the page after reload"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_from_the_row_menu_replaces_the_secret_at_once() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    let first = create_credential(&mut b, "Billing export").await;
    create_credential(&mut b, "Warehouse sync").await;
    assert_eq!(
        token_request(&app, &first.client_id, &first.secret).await.0,
        200
    );

    let row_el = row(&b, "Billing export").await;
    b.click(&b.testid_in(&row_el, "row-menu").await).await;
    b.testid("credential-menu").await;
    b.assert_clean("opening the row menu").await;
    b.screenshot("row-menu").await;
    b.click_testid("menu-rotate").await;
    b.dialog().await;
    b.testid("confirm-rotate").await;
    b.assert_clean("opening the rotate confirmation").await;
    b.screenshot("rotate-confirm").await;
    b.click_testid("confirm-rotate").await;

    let rotated = read_reveal(&b).await;
    assert_eq!(
        rotated.client_id, first.client_id,
        "rotation keeps the client ID"
    );
    assert_ne!(
        rotated.secret, first.secret,
        "rotation gave the same secret"
    );
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_dialog_closed().await;
    b.assert_clean("closing the reveal").await;

    let (status, body) = token_request(&app, &first.client_id, &first.secret).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, body) = token_request(&app, &rotated.client_id, &rotated.secret).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("m2m_at_"))
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_marks_the_row_revoked_and_deleting_removes_it() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    create_credential(&mut b, "Old integration").await;
    create_credential(&mut b, "Current integration").await;

    row_action(&mut b, "Old integration", "menu-revoke").await;
    b.dialog().await;
    b.click_testid("confirm-revoke").await;
    b.wait_dialog_closed().await;
    b.wait_until("the Revoked badge", async || {
        let row = row(&b, "Old integration").await;
        match row.find(By::Css("[data-testid=status]")).await {
            Ok(badge) => badge.text().await.unwrap_or_default().trim() == "Revoked",
            Err(_) => false,
        }
    })
    .await;
    b.assert_clean("revoking").await;
    let other = row(&b, "Current integration").await;
    assert_eq!(b.text(&b.testid_in(&other, "status").await).await, "Active");

    row_action(&mut b, "Old integration", "menu-delete").await;
    b.dialog().await;
    b.click_testid("confirm-delete").await;
    b.wait_dialog_closed().await;
    b.wait_until("the row to go", async || {
        b.all_testid("credential-row").await.len() == 1
    })
    .await;
    b.assert_clean("deleting").await;
    let left = b.text(&b.testid("credential-row").await).await;
    assert!(left.contains("Current integration"), "left: {left}");
    // The success notices can be dismissed, and leave the page by themselves.
    let toast = b
        .driver
        .find(By::Css("#toasts .toast-success"))
        .await
        .unwrap();
    let close = toast.find(By::Css(".toast-close")).await.unwrap();
    assert!(close.is_displayed().await.unwrap());
    b.wait_until("the notices to leave", async || {
        let toasts = b.driver.find_all(By::Css("#toasts .toast")).await;
        toasts.is_ok_and(|t| t.is_empty())
    })
    .await;
    b.refresh().await;
    assert_eq!(b.all_testid("credential-row").await.len(), 1);
    b.quit().await;
}
