//! The journeys an administrator takes, one test each, acting only through the browser.

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
        "a long enough passphrase",
    )
    .await;
    b.fill("Repeat password", "a long enough passphrase").await;
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
    b.refresh().await;
    assert_eq!(b.all_testid("credential-row").await.len(), 1);
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_reported_next_to_each_field_and_kept() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;

    b.click_testid("create-credential").await;
    b.dialog().await;
    b.fill("Name", "Bad input").await;
    b.choose("Role", "Orders").await;
    let submit = b.testid("submit-credential").await;
    submit.wait_until().enabled().await.unwrap();
    // The browser itself refuses an address without "@": Create stays off.
    b.fill("Owner email (the responsible contact)", "not-an-email")
        .await;
    submit.wait_until().not_enabled().await.unwrap();
    // One the browser accepts but the server does not (no dot in the domain).
    b.fill("Owner email (the responsible contact)", "ops@localhost")
        .await;
    b.fill("Allowed IPs", "203.0.113.7\n10.0.0.0/33").await;
    b.type_date("Chosen date and time (UTC)", "2020-01-01T10:30")
        .await;
    let expires = b.field("Chosen date and time (UTC)").await;
    assert_eq!(b.value(&expires).await, "2020-01-01T10:30");
    submit.wait_until().enabled().await.unwrap();
    b.expect_console("status of 422");
    b.click(&submit).await;

    for field in ["owner_email", "allowed_ips", "expires_at"] {
        let error = b.testid(&format!("error-{field}")).await;
        assert!(!b.text(&error).await.is_empty());
        // The message sits with its field and is announced with it.
        let input = b.driver.find(By::Id(format!("f-{field}"))).await.unwrap();
        let described = input
            .attr("aria-describedby")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(
            described.contains(&format!("f-{field}-error")),
            "{field}: {described}"
        );
        assert_eq!(
            input.attr("aria-invalid").await.unwrap().as_deref(),
            Some("true")
        );
    }
    assert!(
        b.text(&b.testid("error-allowed_ips").await)
            .await
            .contains("10.0.0.0/33")
    );
    assert_eq!(b.value(&b.field("Name").await).await, "Bad input");
    assert_eq!(
        b.value(&b.field("Owner email (the responsible contact)").await)
            .await,
        "ops@localhost"
    );
    assert_eq!(
        b.value(&b.field("Allowed IPs").await).await,
        "203.0.113.7\n10.0.0.0/33"
    );
    assert_eq!(
        b.value(&b.field("Chosen date and time (UTC)").await).await,
        "2020-01-01T10:30"
    );
    let role = b.field("Role").await;
    assert!(
        b.text(&role.find(By::Css("option:checked")).await.unwrap())
            .await
            .starts_with("Orders")
    );
    // Focus goes to the first field in error.
    let focused = b.focused().await;
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("f-owner_email")
    );
    b.assert_clean("the rejected form").await;
    b.screenshot("validation-errors").await;

    // Fixing the fields lets it through.
    b.fill("Owner email (the responsible contact)", "ops@acme.test")
        .await;
    b.fill("Allowed IPs", "10.0.0.0/24").await;
    b.field("Chosen date and time (UTC)")
        .await
        .clear()
        .await
        .unwrap();
    b.click_testid("expiry-never").await;
    b.click(&b.testid("submit-credential").await).await;
    read_reveal(&b).await;
    b.assert_clean("the accepted form").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_sees_no_create_button_and_no_row_menus() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let viewer = flows::user(&app, StaffRole::Viewer).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    create_credential(&mut b, "Warehouse sync").await;
    sign_out(&mut b).await;

    sign_in(&mut b, &viewer.email).await;
    b.testid("credential-row").await;
    for id in [
        "create-credential",
        "create-credential-empty",
        "row-menu",
        "menu-rotate",
    ] {
        assert!(!b.has_testid(id).await, "a Viewer sees {id}");
    }
    assert_eq!(
        b.driver
            .find_all(By::XPath("//main//button[not(@data-copy)]"))
            .await
            .unwrap()
            .len(),
        0,
        "a Viewer sees action buttons"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_alone_creates_a_credential_and_focus_is_managed() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;

    // Tab from the top of the page to the create button; Enter opens the modal.
    b.tab_to("create-credential", 40).await;
    b.press(Key::Enter).await;
    b.dialog().await;
    b.wait_for_page().await;
    let focused = b.focused().await;
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("f-name"),
        "focus starts on Name"
    );
    b.type_text("Keyboard job").await;
    b.press(Key::Tab).await; // Description
    b.press(Key::Tab).await; // Owner email (filled in)
    b.press(Key::Tab).await; // Role
    assert_eq!(
        b.focused().await.attr("id").await.unwrap().as_deref(),
        Some("f-role_id")
    );
    b.press(Key::Down).await;
    b.tab_to("submit-credential", 20).await;
    assert!(b.focused().await.is_enabled().await.unwrap());
    b.press(Key::Enter).await;
    read_reveal(&b).await;
    b.assert_clean("revealing by keyboard").await;

    // Once the secret is stored, Escape closes the reveal and focus goes back to the create
    // button.
    b.click_testid("reveal-ack").await;
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;
    b.testid("credential-row").await;
    b.wait_until("focus back on the create button", async || {
        b.focused_testid().await == "create-credential"
    })
    .await;

    // Focus stays inside an open modal: Tab from the last control wraps to the first,
    // Shift+Tab from the first to the last (Create is disabled on an empty form: Cancel).
    b.press(Key::Enter).await;
    b.dialog().await;
    b.wait_for_page().await;
    let cancel = b.button("Cancel").await;
    cancel.focus().await.unwrap();
    b.press(Key::Tab).await;
    assert_eq!(
        b.focused().await.attr("id").await.unwrap().as_deref(),
        Some("f-name"),
        "Tab from the last control left the modal"
    );
    b.press_shift_tab().await;
    assert!(b.focus_in_dialog().await, "Shift+Tab left the modal");
    assert_eq!(
        b.text(&b.focused().await).await,
        "Cancel",
        "Shift+Tab from the first control"
    );
    for _ in 0..15 {
        b.press(Key::Tab).await;
        assert!(b.focus_in_dialog().await, "Tab left the modal");
    }
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;
    b.wait_until("focus back on the create button", async || {
        b.focused_testid().await == "create-credential"
    })
    .await;

    // The ⋮ menu: Enter opens it on its first item, Escape closes it and returns focus.
    b.tab_to("row-menu", 40).await;
    b.press(Key::Enter).await;
    b.testid("credential-menu").await;
    b.wait_until("focus on the first menu item", async || {
        b.focused_testid().await == "menu-details"
    })
    .await;
    b.press(Key::Escape).await;
    b.wait_testid_gone("credential-menu").await;
    assert_eq!(b.focused_testid().await, "row-menu");
    // Tab out of an open menu closes it too.
    b.press(Key::Enter).await;
    b.wait_until("focus on the first menu item", async || {
        b.focused_testid().await == "menu-details"
    })
    .await;
    b.press(Key::Tab).await;
    b.wait_testid_gone("credential-menu").await;
    assert_eq!(
        b.focused().await.attr("aria-expanded").await.unwrap(),
        None,
        "focus stayed on a menu control"
    );
    b.tab_to("row-menu", 40).await;

    // A modal opened from the menu gives focus back to the ⋮ button.
    b.press(Key::Enter).await;
    b.testid("credential-menu").await;
    b.wait_until("focus on the first menu item", async || {
        b.focused_testid().await == "menu-details"
    })
    .await;
    // Details, Edit, Generate token, Rotate secret.
    for _ in 0..3 {
        b.press(Key::Down).await;
    }
    assert_eq!(b.focused_testid().await, "menu-rotate");
    b.press(Key::Enter).await;
    b.testid("confirm-rotate").await;
    b.wait_for_page().await;
    assert!(b.focus_in_dialog().await);
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;
    b.wait_until("focus back on the ⋮ button", async || {
        b.focused_testid().await == "row-menu"
    })
    .await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_create_rotate_and_delete_work_as_plain_forms() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::without_javascript(&app.address).await;
    sign_in(&mut b, &admin.email).await;

    b.click_testid("create-credential").await;
    b.wait_until("the create page", async || {
        b.path().await == format!("{HOME}/new")
    })
    .await;
    assert!(!b.has_testid("credential-modal").await);
    // app.js would disable Create on an empty form: it really did not run.
    assert!(
        b.testid("submit-credential")
            .await
            .is_enabled()
            .await
            .unwrap()
    );
    b.fill("Name", "No script job").await;
    b.choose("Role", "Orders").await;
    b.click_testid("submit-credential").await;
    let created = read_reveal(&b).await;
    b.assert_clean("the reveal page").await;
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_until("the list", async || b.path().await == HOME)
        .await;
    row(&b, "No script job").await;

    // Rotate: ⋮ opens the menu as a page, then the confirmation page, then the reveal page.
    let row_el = row(&b, "No script job").await;
    b.click(&b.testid_in(&row_el, "row-menu").await).await;
    let menu = b.testid("credential-menu").await;
    // The menu page shows the menu in the page, not floating over the top bar.
    let top = menu.rect().await.unwrap().y;
    let main_top = b
        .driver
        .find(By::Css("main"))
        .await
        .unwrap()
        .rect()
        .await
        .unwrap()
        .y;
    assert!(
        top >= main_top,
        "the menu page's menu overlaps the header ({top} < {main_top})"
    );
    b.click_testid("menu-rotate").await;
    b.testid("confirm-rotate").await;
    b.click_testid("confirm-rotate").await;
    let rotated = read_reveal(&b).await;
    assert_eq!(rotated.client_id, created.client_id);
    assert_ne!(rotated.secret, created.secret);
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_until("the list", async || b.path().await == HOME)
        .await;
    assert_eq!(
        token_request(&app, &created.client_id, &created.secret)
            .await
            .0,
        401
    );
    assert_eq!(
        token_request(&app, &rotated.client_id, &rotated.secret)
            .await
            .0,
        200
    );

    // Delete: a confirmation page, then a redirect to the list with a notice.
    row_action(&mut b, "No script job", "menu-delete").await;
    b.click_testid("confirm-delete").await;
    b.wait_until("the list", async || b.path().await == HOME)
        .await;
    b.testid("empty-state").await;
    let toast = b.driver.find(By::Css("#toasts .toast")).await.unwrap();
    assert!(b.text(&toast).await.contains("Deleted"));
    b.assert_clean("after delete").await;
    b.quit().await;
}
