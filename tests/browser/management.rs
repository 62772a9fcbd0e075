//! The management API's screens: the reference page (read at 1280 and 390 px, without
//! JavaScript too) and the Management access section a Super Admin sees in the credential
//! form.

use m2m_console::db::models::user::StaffRole;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, seed_catalog, sign_in};
use crate::helpers::TestApp;

const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_reads_well_on_a_desktop_a_phone_and_without_javascript() {
    let app = TestApp::spawn().await;
    for (mut b, scripts, shot) in [
        (Browser::open(&app.url("")).await, true, "api-reference"),
        (
            Browser::with_size(&app.url(""), PHONE).await,
            true,
            "api-reference-390",
        ),
        (Browser::without_javascript(&app.url("")).await, false, ""),
    ] {
        b.goto("/api/v1/docs").await;
        b.testid("api-reference").await;
        b.testid("reference-index").await;
        assert!(!b.all_testid("example-request").await.is_empty());
        assert!(
            b.script_bool(FITS).await,
            "no sideways scroll: {}",
            b.overflowing().await
        );
        assert!(
            b.script_bool("return !!document.getElementById('problem-precondition-failed');")
                .await
        );
        // axe is injected as a script, which the browser without JavaScript does not run.
        if scripts {
            b.assert_accessible("API reference").await;
            b.screenshot(shot).await;
        }
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_sees_management_access_with_its_warning_and_an_admin_does_not() {
    let app = TestApp::spawn().await;
    let owner = flows::user(&app, StaffRole::SuperAdmin).await;
    seed_catalog(&app, owner.org_id).await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    let mut b = Browser::open(&app.url("")).await;
    sign_in(&mut b, &owner.email).await;
    b.goto(m2m_console::paths::NEW_CREDENTIAL).await;
    let section = b.testid("management-access").await;
    let text = section.text().await.unwrap();
    assert!(text.contains("m2m.credentials:rotate"), "{text}");
    assert!(text.contains("whoever holds its secret"), "{text}");
    b.assert_accessible("credential form with management access")
        .await;
    b.quit().await;

    let mut b = Browser::open(&app.url("")).await;
    sign_in(&mut b, &admin.email).await;
    b.goto(m2m_console::paths::NEW_CREDENTIAL).await;
    assert!(!b.has_testid("management-access").await);
    b.quit().await;
}
