//! Journeys that test the edges of the forms: invalid input kept next to its messages, a
//! Viewer's read-only page, the keyboard alone with focus managed, and JavaScript switched off.

use m2m_console::db::models::user::StaffRole;
use thirtyfour::prelude::*;

use crate::driver::Browser;
use crate::flows::{
    self, HOME, create_credential, read_reveal, row, row_action, seed_catalog, sign_in, sign_out,
    token_request,
};
use crate::helpers::TestApp;

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
    // No close button that could not work, and the notice does not cover the page for good.
    let close = toast.find(By::Css(".toast-close")).await.unwrap();
    assert!(!close.is_displayed().await.unwrap());
    b.wait_until("the notice to fade", async || {
        !toast.is_displayed().await.unwrap_or(true)
    })
    .await;
    b.quit().await;
}
