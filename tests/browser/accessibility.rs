//! Automated accessibility checks with axe-core, and the narrow-screen layout.
//!
//! `fixtures/axe.min.js` is axe-core 4.14.1, vendored from the npm package `axe-core`
//! (`npm pack axe-core@4.14.1`, file `package/axe.min.js`, MPL-2.0). It is injected through
//! WebDriver, which the page's Content-Security-Policy does not govern.

use m2m_console::db::models::user::StaffRole;
use serde_json::Value;
use thirtyfour::prelude::*;

use crate::driver::{Browser, PHONE};
use crate::flows::{
    self, HOME, create_credential, row, row_action, seed_catalog, sign_in, sign_out,
};
use crate::helpers::TestApp;

const AXE: &str = include_str!("fixtures/axe.min.js");

/// One axe finding.
#[derive(Debug)]
struct Violation {
    id: String,
    impact: String,
    help: String,
    nodes: Vec<String>,
}

impl Browser {
    /// Runs axe on the current document and returns every violation (all impacts).
    async fn axe(&self) -> Vec<Violation> {
        let loaded = self
            .script_bool("return typeof window.axe === 'object';")
            .await;
        if !loaded {
            self.driver
                .execute(format!("{AXE}\n;return true;"), vec![])
                .await
                .unwrap();
        }
        let script = r#"
            var done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] }).then(function (r) {
                done(r.violations.map(function (v) {
                    return { id: v.id, impact: v.impact || "", help: v.help,
                             nodes: v.nodes.map(function (n) { return n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\s+/g, " "); }) };
                }));
            }, function (e) { done({ error: String(e) }); });
        "#;
        let result = self.driver.execute_async(script, vec![]).await.unwrap();
        let json = result.json();
        assert!(json.get("error").is_none(), "axe failed: {json}");
        json.as_array()
            .unwrap()
            .iter()
            .map(|v| Violation {
                id: str_of(v, "id"),
                impact: str_of(v, "impact"),
                help: str_of(v, "help"),
                nodes: v["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap_or_default().to_string())
                    .collect(),
            })
            .collect()
    }

    /// Runs axe and fails on any violation of impact serious or critical; lesser ones are
    /// printed (run with `--nocapture` to see them).
    pub async fn assert_accessible(&mut self, what: &str) {
        let violations = self.axe().await;
        println!("axe [{what}]: {} violation(s)", violations.len());
        for v in &violations {
            println!(
                "axe [{what}] {} ({}): {} — {:?}",
                v.id, v.impact, v.help, v.nodes
            );
        }
        let serious: Vec<&Violation> = violations
            .iter()
            .filter(|v| v.impact == "serious" || v.impact == "critical")
            .collect();
        assert!(
            serious.is_empty(),
            "{what}: axe found serious or critical violations:\n{}",
            serious
                .iter()
                .map(|v| format!(
                    "  {} ({}): {}\n    {}",
                    v.id,
                    v.impact,
                    v.help,
                    v.nodes.join("\n    ")
                ))
                .collect::<Vec<_>>()
                .join("\n")
        );
        self.assert_clean(&format!("axe on {what}")).await;
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// The checks above would pass vacuously if the harness saw nothing: plant one of each
/// problem and make sure it is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_reports_console_errors_csp_violations_and_axe_findings() {
    let app = TestApp::spawn().await;
    let mut b = Browser::open(&app.address).await;
    b.goto("/login").await;
    b.driver
        .execute(
            "var s = document.createElement('script'); s.textContent = 'window.inlineRan = true;'; document.head.appendChild(s); \
             document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=\"unlabelled\">'); \
             setTimeout(function () { console.error('planted error'); }, 0);",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        !b.script_bool("return window.inlineRan === true;").await,
        "the CSP let an inline script run"
    );
    let violations = b.axe().await;
    assert!(
        violations
            .iter()
            .any(|v| v.id == "label" && v.impact == "critical"),
        "axe missed an unlabelled input: {violations:?}"
    );
    let problems = b.console_problems().await.join("\n");
    assert!(problems.contains("planted error"), "{problems}");
    assert!(problems.contains("Content Security Policy"), "{problems}");
    assert!(problems.contains("CSP violation: script-src"), "{problems}");
    b.driver.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_modals_have_no_serious_accessibility_violations() {
    let app = TestApp::spawn().await;
    let owner = flows::user(&app, StaffRole::SuperAdmin).await;
    flows::user(&app, StaffRole::Viewer).await;
    seed_catalog(&app, owner.org_id).await;
    let mut b = Browser::open(&app.address).await;

    b.goto("/login").await;
    b.assert_accessible("the login page").await;
    b.screenshot("login").await;

    sign_in(&mut b, &owner.email).await;
    b.assert_accessible("the empty API Access page").await;
    create_credential(&mut b, "Billing export").await;
    b.assert_accessible("the API Access page with a row").await;

    // Create modal, Fine Grained, with its API picker showing.
    b.click_testid("create-credential").await;
    let dialog = b.dialog().await;
    b.fill("Name", "Warehouse sync").await;
    b.choose("Role", flows::ROLE_NAME).await;
    let fine = dialog
        .find(By::XPath(".//label[.//strong[.='Fine Grained']]"))
        .await
        .unwrap();
    b.click(&fine).await;
    b.assert_accessible("the create modal").await;
    b.click(&b.button("Select all").await).await;
    b.click_testid("submit-credential").await;
    b.testid("client-secret").await;
    b.wait_for_page().await;
    b.assert_accessible("the secret reveal").await;
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_dialog_closed().await;
    b.assert_accessible("the API Access page with rows").await;

    // The ⋮ menu and each confirmation and the edit modal.
    let row_el = row(&b, "Warehouse sync").await;
    b.click(&b.testid_in(&row_el, "row-menu").await).await;
    b.testid("credential-menu").await;
    b.assert_accessible("the open ⋮ menu").await;
    b.press(Key::Escape).await;
    for (item, what) in [
        ("menu-edit", "the edit modal"),
        ("menu-rotate", "the rotate confirmation"),
        ("menu-revoke", "the revoke confirmation"),
        ("menu-delete", "the delete confirmation"),
        ("menu-disable", "the disable confirmation"),
    ] {
        row_action(&mut b, "Warehouse sync", item).await;
        b.dialog().await;
        b.wait_for_page().await;
        b.assert_accessible(what).await;
        b.click(&b.button("Cancel").await).await;
        b.wait_dialog_closed().await;
    }

    // The detail page ("View details").
    row_action(&mut b, "Warehouse sync", "menu-details").await;
    b.testid("credential-detail").await;
    b.assert_accessible("the credential detail page").await;
    b.goto(HOME).await;

    // A form the server rejected.
    b.click_testid("create-credential").await;
    b.dialog().await;
    b.fill("Name", "Broken").await;
    b.choose("Role", flows::ROLE_NAME).await;
    b.fill("Allowed IPs", "10.0.0.0/33").await;
    b.expect_console("status of 422");
    b.click_testid("submit-credential").await;
    b.testid("error-allowed_ips").await;
    b.wait_for_page().await;
    b.assert_accessible("the create modal with errors").await;
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;

    for (path, what, shot) in [
        ("/settings/audit", "the audit log", Some("audit-log")),
        ("/settings/users", "the users page", Some("users")),
        ("/settings/apis", "the API catalog", None),
        ("/settings/roles", "the roles page", None),
        ("/settings", "the settings page", None),
        ("/settings/integrations", "the integrations page", None),
        ("/settings/policy", "the credential policy", Some("policy")),
    ] {
        b.goto(path).await;
        b.assert_accessible(what).await;
        let tables_fit = "return Array.from(document.querySelectorAll('.table-wrap')).every(function (w) { return w.scrollWidth <= w.clientWidth; });";
        assert!(
            b.script_bool(tables_fit).await,
            "{what}: a table needs sideways scrolling at 1280 px"
        );
        if let Some(name) = shot {
            b.screenshot(name).await;
        }
    }

    sign_out(&mut b).await;
    b.assert_accessible("the signed-out login page").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_390_px_window_shows_the_console_without_sideways_scrolling() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::SuperAdmin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut b, &admin.email).await;
    let width = b
        .driver
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap()
        .json()
        .as_i64()
        .unwrap();
    assert_eq!(width, i64::from(PHONE.0), "the viewport is not 390 px wide");

    create_credential(&mut b, "Warehouse sync").await;
    create_credential(&mut b, "Billing export").await;
    assert_eq!(b.path().await, HOME);
    let too_wide = b
        .driver
        .execute(
            "var out = []; document.querySelectorAll('body *').forEach(function (el) { \
               if (el.closest('.table-wrap') && !el.classList.contains('table-wrap')) { return; } \
               var r = el.getBoundingClientRect(); \
               if (r.right > window.innerWidth + 0.5) { out.push(el.tagName + '.' + el.className + ' right=' + Math.round(r.right)); } }); \
             return out;",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(
        too_wide,
        serde_json::json!([]),
        "these overflow a 390 px window"
    );
    let widths = b
        .driver
        .execute(
            "var d = document.documentElement; return [d.scrollWidth, d.clientWidth, window.innerWidth, document.body.scrollWidth, Array.from(document.querySelectorAll('body *')).filter(function (e) { return e.scrollWidth > 390 || e.getBoundingClientRect().width > 390; }).map(function (e) { return e.tagName + '.' + e.className + ':' + e.scrollWidth + '/' + Math.round(e.getBoundingClientRect().width) + '@' + Math.round(e.getBoundingClientRect().left); }).join(' ')];",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    assert!(
        b.script_bool(fits).await,
        "the page scrolls sideways at 390 px: {widths}"
    );
    let create = b.testid("create-credential").await;
    assert!(create.is_displayed().await.unwrap());
    b.assert_accessible("the API Access page at 390 px").await;
    b.screenshot("narrow-390").await;

    // The ⋮ menu and the modal stay inside the window.
    let row_el = row(&b, "Warehouse sync").await;
    let menu_button = b.testid_in(&row_el, "row-menu").await;
    b.click(&menu_button).await;
    let menu = b.testid("credential-menu").await;
    // Measure the menu once it is open, as a user sees it, not mid-swap.
    b.wait_until("the ⋮ menu to open", async || {
        menu_button.attr("aria-expanded").await.unwrap().as_deref() == Some("true")
    })
    .await;
    let inside = "var r = arguments[0].getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && r.bottom <= window.innerHeight;";
    let where_is = "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight].map(Math.round).join(' ');";
    let menu_inside = b
        .driver
        .execute(inside, vec![menu.to_json().unwrap()])
        .await
        .unwrap()
        .json()
        .as_bool()
        .unwrap();
    if !menu_inside {
        let at = b
            .driver
            .execute(where_is, vec![menu.to_json().unwrap()])
            .await
            .unwrap();
        panic!(
            "the ⋮ menu leaves the window at 390 px (left top right bottom, window): {}",
            at.json()
        );
    }
    b.click_testid("menu-rotate").await;
    let dialog = b.dialog().await;
    let dialog_inside = b
        .driver
        .execute(inside, vec![dialog.to_json().unwrap()])
        .await
        .unwrap()
        .json()
        .as_bool()
        .unwrap();
    assert!(dialog_inside, "the modal leaves the window at 390 px");
    b.assert_clean("modal at 390 px").await;
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;

    // The other wide pages scroll their tables, not the page.
    for path in [
        "/settings/audit",
        "/settings/users",
        "/settings/apis",
        "/settings/roles",
        "/settings/policy",
    ] {
        b.goto(path).await;
        assert!(
            b.script_bool(fits).await,
            "{path} scrolls sideways at 390 px"
        );
    }
    sign_out(&mut b).await;
    b.quit().await;
}
