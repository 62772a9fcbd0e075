//! "Public keys" on a credential's page (issue 23), in the realistic organisation: an Admin
//! pastes a public key and removes it at 1280 px by keyboard alone, at 390 px, and without
//! JavaScript; each screen checked with axe where scripts run.

use thirtyfour::Key;

use crate::driver::{Browser, PHONE};
use crate::flows::sign_in;
use crate::realistic;

/// A P-256 public key as a JWK (made for these tests only).
const JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_and_removes_a_key_by_keyboard_on_a_phone_and_without_javascript() {
    let app = realistic::spawn().await;
    let org = realistic::seed(&app).await;
    let browsers = [
        (
            Browser::open(&app.address).await,
            true,
            "credential-keys-1280",
        ),
        (
            Browser::with_size(&app.address, PHONE).await,
            true,
            "credential-keys-390",
        ),
        (Browser::without_javascript(&app.address).await, false, ""),
    ];
    for (i, (mut b, scripts, shot)) in browsers.into_iter().enumerate() {
        sign_in(&mut b, &org.email).await;
        let credential = &org.credentials[6 + i];
        b.goto(&credential.page).await;
        b.testid("no-keys").await;
        if i == 0 {
            // Keyboard alone: Tab to the field, type, Tab to the button, Enter.
            b.tab_to("key-text", 200).await;
            b.type_text(JWK).await;
            b.tab_to("add-key", 10).await;
            b.press(Key::Enter).await;
        } else {
            b.fill("Public key", JWK).await;
            b.click_testid("add-key").await;
        }
        b.wait_for_page().await;
        let kid = b.text(&b.testid("key-kid").await).await;
        assert_eq!(kid.len(), 43, "the fingerprint is whole: {kid:?}");
        assert!(
            b.script_bool(FITS).await,
            "the keys scroll sideways: {}",
            b.overflowing().await
        );
        if scripts {
            b.assert_accessible("a credential with a public key").await;
            assert!(
                b.script_bool(
                    "document.getElementById('keys-section').scrollIntoView(); return true;"
                )
                .await
            );
            b.screenshot(shot).await;
        }
        b.click_testid("remove-key").await;
        b.wait_for_page().await;
        b.testid("no-keys").await;
        b.quit().await;
    }
}
