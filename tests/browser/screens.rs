//! Issue 24 in a real browser, with the realistic organisation (`realistic.rs`): the list
//! needs-attention-first, a Failing credential's diagnosis with its fix, every table
//! stacked at 390 px with no action off screen, long names wrapping inside the page, the
//! audit log's columns sized to their content; axe clean, and screenshots at both widths.

use m2m_console::db::models::user::StaffRole;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, sign_in};
use crate::realistic::{self, Realistic};

const AUDIT: &str = "/settings/audit";
const USERS: &str = "/settings/users";
const ROLES: &str = "/settings/roles";
const APIS: &str = "/settings/apis";

const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth;";

/// Every link, button and form control on the page ends inside the window (none needs a
/// sideways scroll to reach).
const ACTIONS_IN_VIEW: &str = "return Array.from(document.querySelectorAll('main a, main button, main input, main select')).filter(function (e) { var r = e.getBoundingClientRect(); return r.width > 0 && !e.closest('[hidden], details:not([open]), .visually-hidden'); }).every(function (e) { return e.getBoundingClientRect().right <= window.innerWidth + 0.5; });";

/// Every element matching `selector` is laid out on one line (an identifier never broken).
fn one_line(selector: &str) -> String {
    format!(
        "var els = document.querySelectorAll('{selector}'); return els.length > 0 && Array.from(els).every(function (e) {{ return e.getClientRects().length === 1; }});"
    )
}

async fn check_fits(b: &mut Browser, what: &str) {
    assert!(
        b.script_bool(FITS).await,
        "{what} scrolls sideways: {}",
        b.overflowing().await
    );
    assert!(
        b.script_bool(ACTIONS_IN_VIEW).await,
        "an action of {what} is off screen"
    );
    b.assert_accessible(what).await;
    b.assert_clean(what).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realistic_screens_explain_failures_and_fit_at_1280_and_390_px() {
    let app = realistic::spawn().await;
    let Realistic { email, credentials } = realistic::seed(&app).await;
    let (refused, wrong, spaceless) = (&credentials[1], &credentials[2], &credentials[3]);

    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &email).await;
    // Needs attention first: the two failing credentials lead the list.
    let rows = b.all_testid("credential-row").await;
    assert_eq!(rows.len(), 10);
    for row in &rows[..2] {
        assert!(
            b.text(row).await.contains("Failing"),
            "{}",
            b.text(row).await
        );
    }
    assert!(!b.text(&rows[2]).await.contains("Failing"));
    b.testid("sort-hint").await;
    check_fits(&mut b, "the realistic list at 1280 px").await;
    b.screenshot("screens-list-1280").await;

    b.goto(&refused.page).await;
    let cause = b.text(&b.testid("failing-cause").await).await;
    assert!(
        cause.starts_with("Refused 11 times in")
            && cause.ends_with("address 2001:db8:ffff::30 is not in the allowed IPs."),
        "{cause}"
    );
    assert_eq!(b.text(&b.testid("failing-action").await).await, "Add it");
    assert_eq!(
        b.all_testid("refusal").await.len(),
        1,
        "eleven refusals, one group"
    );
    assert_eq!(b.text(&b.testid("refusal-count").await).await, "11");
    b.testid("usage-scale").await;
    check_fits(&mut b, "a failing credential's page at 1280 px").await;
    b.screenshot("screens-failing-1280").await;

    // "Add it" opens the edit dialog with the address added, ready to save.
    b.click_testid("failing-action").await;
    let dialog = b.dialog().await;
    let ips = b.field("Allowed IPs").await;
    assert!(
        b.value(&ips)
            .await
            .ends_with("2001:db8:4:5::/64\n2001:db8:ffff::30")
            || b.value(&ips).await.ends_with("\n2001:db8:ffff::30"),
        "{}",
        b.value(&ips).await
    );
    b.assert_accessible("the edit dialog opened by Add it")
        .await;
    b.click_testid("submit-credential").await;
    b.wait_dialog_closed().await;
    drop(dialog);
    let status = realistic::request_token(
        &app,
        &refused.client_id,
        &refused.secret,
        "2001:db8:ffff::30",
    )
    .await;
    assert_eq!(status, 200, "the added address now gets a token");

    b.goto(&wrong.page).await;
    let cause = b.text(&b.testid("failing-cause").await).await;
    assert!(cause.starts_with("Wrong secret since"), "{cause}");
    assert!(cause.contains("2001:db8:2:1::9"), "{cause}");

    // A name with no space wraps inside the page; its client ID stays on one line.
    b.goto(&spaceless.page).await;
    check_fits(&mut b, "the page of a name without spaces at 1280 px").await;
    assert!(b.script_bool(&one_line("#detail-client-id")).await);

    b.goto(AUDIT).await;
    check_fits(&mut b, "the audit log at 1280 px").await;
    assert!(
        b.script_bool(&one_line(".audit-actor")).await,
        "an actor's email is broken across lines"
    );
    assert!(b.script_bool(&one_line(".audit .action")).await);
    b.screenshot("screens-audit-1280").await;
    b.quit().await;

    // Users, roles and the catalog are a Super Admin's pages.
    let boss = format!(
        "{}@acme.test",
        StaffRole::SuperAdmin.as_str().replace('_', "-")
    );
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &boss).await;
    for (path, what, shot) in [
        (USERS, "users", "screens-users-1280"),
        (ROLES, "roles", "screens-roles-1280"),
        (APIS, "APIs", "screens-apis-1280"),
    ] {
        b.goto(path).await;
        check_fits(&mut b, &format!("{what} at 1280 px")).await;
        b.screenshot(shot).await;
    }
    b.quit().await;

    let mut phone = Browser::with_size(&app.address, PHONE).await;
    sign_in(&mut phone, &boss).await;
    for (path, what, shot) in [
        (flows::HOME, "the list", "screens-list-390"),
        (
            wrong.page.as_str(),
            "a failing credential's page",
            "screens-failing-390",
        ),
        (spaceless.page.as_str(), "a name without spaces", ""),
        (AUDIT, "the audit log", "screens-audit-390"),
        (USERS, "users", "screens-users-390"),
        (ROLES, "roles", "screens-roles-390"),
        (APIS, "APIs", "screens-apis-390"),
    ] {
        phone.goto(path).await;
        check_fits(&mut phone, &format!("{what} at 390 px")).await;
        if !shot.is_empty() {
            phone.screenshot(shot).await;
        }
    }
    // The credential page's tables are stacked: each cell under its column's name.
    phone.goto(&credentials[0].page).await;
    let stacked = "return getComputedStyle(document.querySelector('[data-testid=secrets] td')).display === 'block';";
    assert!(
        phone.script_bool(stacked).await,
        "the secrets table is not stacked"
    );
    check_fits(&mut phone, "a credential in use at 390 px").await;
    phone.screenshot_full("screens-credential-390").await;
    phone.quit().await;

    // A Viewer reads the diagnosis without the button.
    let viewer = format!("{}@acme.test", StaffRole::Viewer.as_str().replace('_', "-"));
    let mut v = Browser::open(&app.address).await;
    sign_in(&mut v, &viewer).await;
    v.goto(&wrong.page).await;
    v.testid("failing-cause").await;
    assert!(!v.has_testid("failing-action").await);
    v.quit().await;
}
