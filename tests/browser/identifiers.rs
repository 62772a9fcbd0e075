//! Identifiers are shown exactly as they are (issue 19): no client ID, secret ending, IP,
//! scope or action name is re-cased or broken across lines on a console page, at 1280 px and
//! at 390 px. Secrets are case-sensitive, and the "ending in" hint exists to be matched
//! against a vault.

use m2m_console::db::models::user::StaffRole;

use crate::driver::{Browser, PHONE};
use crate::flows::{self, seed_catalog, sign_in};
use crate::helpers::{PASSWORD, TestApp};

/// Every identifier on the page (`code` and `.ip`) that CSS re-cases, or that the browser
/// shows otherwise than its text or lays out on more than one line; empty when none is.
const MISSHOWN: &str = r#"
var bad = [];
document.querySelectorAll('code, .ip').forEach(function (e) {
  var text = e.textContent;
  var transform = getComputedStyle(e).textTransform;
  if (transform !== 'none') { bad.push('re-cased (' + transform + '): ' + text); return; }
  // Inside a closed disclosure: not laid out, so nothing more to see.
  if (!e.checkVisibility()) return;
  if (e.innerText.trim() !== text.trim()) { bad.push('shown as ' + e.innerText + ': ' + text); return; }
  var range = document.createRange();
  range.selectNodeContents(e);
  var lines = new Set(Array.from(range.getClientRects())
    .filter(function (r) { return r.width > 0; })
    .map(function (r) { return Math.round(r.top); }));
  if (lines.size > 1) bad.push('broken over ' + lines.size + ' lines: ' + text);
});
return bad;
"#;

async fn misshown(b: &Browser) -> Vec<String> {
    let found = b.driver.execute(MISSHOWN, vec![]).await.unwrap();
    serde_json::from_value(found.json().clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_are_never_re_cased_or_broken_across_lines() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let role = m2m_console::db::models::api_role::ApiRole::list_for_org(
        &mut *app.conn().await,
        admin.org_id,
    )
    .await
    .unwrap()[0]
        .id
        .to_string();
    let mut http = app.client();
    assert_eq!(http.login(&admin.email, PASSWORD).await.status, 303);
    let ips = "2001:db8:abcd:12::/64\n2001:db8:85a3:8d3:1319:8a2e:370:7348\n203.0.113.7";
    let form = [
        ("name", "Warehouse sync"),
        ("description", ""),
        ("owner_email", "ops@acme.test"),
        ("role_id", role.as_str()),
        ("access_level", "full"),
        ("allowed_ips", ips),
        ("expires_at", ""),
    ];
    assert_eq!(http.post_form(flows::HOME, &form).await.status, 200);
    let credential = m2m_console::db::models::credential::Credential::list_for_org(
        &mut *app.conn().await,
        admin.org_id,
    )
    .await
    .unwrap()
    .remove(0);
    let page = format!("{}/{}", flows::HOME, credential.id);
    let ending = format!("…{}", credential.secret_last_four.unwrap());

    for size in [None, Some(PHONE)] {
        let mut b = match size {
            None => Browser::open(&app.address).await,
            Some(size) => Browser::with_size(&app.address, size).await,
        };
        sign_in(&mut b, &admin.email).await;
        for path in [page.as_str(), flows::HOME, "/settings/audit"] {
            b.goto(path).await;
            b.wait_for_page().await;
            let bad = misshown(&b).await;
            assert!(bad.is_empty(), "{path} at {size:?}: {bad:?}");
        }
        // The positive anchor: the ending as the browser renders it, in its own case.
        b.goto(&page).await;
        let shown = b.text(&b.testid("secret-current-ending").await).await;
        assert_eq!(shown, ending);
        b.quit().await;
    }
}
