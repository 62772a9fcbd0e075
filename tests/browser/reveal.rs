//! The one-time reveal in a real browser (issue 12): Done waits for "I have stored the
//! secret", Escape asks before the secret is lost, "Copy both" and "Download .env" carry the
//! values shown, the secret stays one line at 390 px, and axe finds nothing serious.

use m2m_console::db::models::user::StaffRole;
use thirtyfour::prelude::*;

use crate::driver::Browser;
use crate::flows::{self, Revealed, read_reveal, seed_catalog, sign_in};
use crate::helpers::TestApp;

/// Opens the create modal, creates `name` with role "Orders" and waits for the reveal.
async fn reveal_new(b: &mut Browser, name: &str) -> Revealed {
    b.click_testid("create-credential").await;
    b.dialog().await;
    b.fill("Name", name).await;
    b.choose("Role", flows::ROLE_NAME).await;
    let submit = b.testid("submit-credential").await;
    submit.wait_until().enabled().await.unwrap();
    b.click(&submit).await;
    let revealed = read_reveal(b).await;
    b.wait_for_page().await;
    b.assert_clean("revealing the secret").await;
    revealed
}

async fn done_enabled(b: &Browser) -> bool {
    b.testid("reveal-done").await.is_enabled().await.unwrap()
}

async fn asking(b: &Browser) -> bool {
    b.testid("leave-confirm")
        .await
        .is_displayed()
        .await
        .unwrap()
}

/// Replaces the clipboard and the download with recorders: headless Chromium keeps the
/// clipboard closed and would write the file to disk.
const RECORDERS: &str = r#"
    window.__copied = null; window.__downloaded = null; window.__blob = null;
    navigator.clipboard.writeText = function (text) { window.__copied = text; return Promise.resolve(); };
    var make = URL.createObjectURL.bind(URL);
    URL.createObjectURL = function (blob) { window.__blob = blob; return make(blob); };
    HTMLAnchorElement.prototype.click = function () { window.__downloaded = this.download; };
"#;

async fn script_string(b: &Browser, script: &str) -> String {
    b.driver
        .execute_async(script, vec![])
        .await
        .unwrap()
        .json()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_reveal_waits_for_the_acknowledgement_and_asks_before_closing() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::open(&app.address).await;
    sign_in(&mut b, &admin.email).await;
    let revealed = reveal_new(&mut b, "Reveal job").await;

    // Done waits for the box; the script-only tools are there.
    assert!(!done_enabled(&b).await, "Done is enabled before the box");
    for tool in ["copy-both", "download-env", "copy-curl"] {
        assert!(
            b.testid(tool).await.is_displayed().await.unwrap(),
            "{tool} is not shown"
        );
    }
    assert!(!asking(&b).await);
    b.assert_accessible("the secret reveal with its acknowledgement")
        .await;
    b.screenshot("secret-reveal-acknowledge").await;

    // Copy both: two lines; Download .env: a file made in the page, with the token URL.
    b.driver.execute(RECORDERS, vec![]).await.unwrap();
    b.click_testid("copy-both").await;
    let copied = script_string(
        &b,
        "var done = arguments[0]; var wait = function () { if (window.__copied) { done(window.__copied); } else { setTimeout(wait, 50); } }; wait();",
    )
    .await;
    assert_eq!(
        copied,
        format!(
            "M2M_CLIENT_ID={}\nM2M_CLIENT_SECRET={}\n",
            revealed.client_id, revealed.secret
        )
    );
    b.click_testid("download-env").await;
    let file = script_string(
        &b,
        "var done = arguments[0]; window.__blob.text().then(done);",
    )
    .await;
    assert_eq!(
        file,
        format!(
            "M2M_CLIENT_ID={}\nM2M_CLIENT_SECRET={}\nM2M_TOKEN_URL={}/oauth/token\n",
            revealed.client_id,
            revealed.secret,
            app.settings.issuer()
        )
    );
    assert_eq!(
        script_string(&b, "arguments[0](window.__downloaded);").await,
        "reveal-job.env"
    );
    let curl = b.text(&b.testid("reveal-curl").await).await;
    assert!(
        curl.contains(&format!("{}:{}", revealed.client_id, revealed.secret)),
        "{curl}"
    );

    // Escape asks first, with the safe answer focused; Escape again keeps the dialog.
    b.press(Key::Escape).await;
    b.wait_until("the question", async || asking(&b).await)
        .await;
    let question = b.text(&b.testid("leave-confirm").await).await;
    assert!(
        question.contains("The secret will not be shown again. Close anyway?"),
        "{question}"
    );
    assert_eq!(b.focused_testid().await, "leave-stay");
    b.assert_accessible("the reveal asking before it closes")
        .await;
    b.screenshot("secret-reveal-ask").await;
    b.press(Key::Escape).await;
    b.wait_until("the question to go", async || !asking(&b).await)
        .await;
    assert_eq!(b.focused_testid().await, "reveal-ack");
    b.dialog().await;
    b.press(Key::Escape).await;
    b.wait_until("the question", async || asking(&b).await)
        .await;
    b.click_testid("leave-stay").await;
    b.wait_until("the question to go", async || !asking(&b).await)
        .await;
    assert!(b.has_testid("secret-reveal").await, "the reveal closed");

    // The box enables Done, unticking disables it again; ticked, Escape just closes.
    b.click_testid("reveal-ack").await;
    assert!(done_enabled(&b).await);
    b.click_testid("reveal-ack").await;
    assert!(!done_enabled(&b).await);
    b.click_testid("reveal-ack").await;
    b.press(Key::Escape).await;
    b.wait_dialog_closed().await;
    b.testid("credential-row").await;
    b.assert_clean("closing the acknowledged reveal").await;

    // "Close anyway" leaves without the box.
    reveal_new(&mut b, "Second job").await;
    b.press(Key::Escape).await;
    b.wait_until("the question", async || asking(&b).await)
        .await;
    b.click_testid("leave-close").await;
    b.wait_dialog_closed().await;
    b.wait_until("both rows", async || {
        b.all_testid("credential-row").await.len() == 2
    })
    .await;
    b.assert_clean("closing anyway").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_390_px_the_secret_stays_one_line_and_the_keyboard_finishes_the_reveal() {
    let app = TestApp::spawn().await;
    let admin = flows::user(&app, StaffRole::Admin).await;
    seed_catalog(&app, admin.org_id).await;
    let mut b = Browser::with_size(&app.address, (390, 844)).await;
    sign_in(&mut b, &admin.email).await;
    reveal_new(&mut b, "Narrow job").await;

    // One line, scrolling inside its own box; the page does not scroll sideways.
    let one_line = "var el = document.querySelector('[data-testid=client-secret]'); var r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length === 1;";
    assert!(b.script_bool(one_line).await, "the secret wraps");
    assert!(
        b.script_bool("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await,
        "the page scrolls sideways"
    );
    assert!(
        b.script_bool(
            "var d = document.querySelector('dialog[open]'); return d.scrollWidth <= d.clientWidth;"
        )
        .await,
        "the dialog scrolls sideways"
    );
    b.assert_accessible("the secret reveal at 390 px").await;
    b.screenshot("secret-reveal-390").await;

    // Keyboard only: tick the box, then Done.
    b.tab_to("reveal-ack", 30).await;
    b.press(Key::Space).await;
    b.wait_until("Done enabled", async || done_enabled(&b).await)
        .await;
    b.tab_to("reveal-done", 5).await;
    b.press(Key::Enter).await;
    b.wait_dialog_closed().await;
    b.assert_clean("finishing by keyboard").await;
    b.quit().await;
}
