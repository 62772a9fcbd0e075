//! Setup that goes behind the browser's back (users and the API catalog, written directly),
//! and the steps several journeys share, done in the browser as a user would.

use m2m_console::db::ids::{ApiId, OrgId, RoleId};
use m2m_console::db::models::api::Api;
use m2m_console::db::models::api_role::ApiRole;
use m2m_console::db::models::user::{StaffRole, User};

use thirtyfour::prelude::*;

use crate::driver::Browser;
use crate::helpers::{PASSWORD, TestApp};

pub const HOME: &str = "/settings/integrations/machine-to-machine";
pub const ORG: &str = "Acme";
pub const ROLE_NAME: &str = "Orders";

/// A user of organisation "Acme" with a readable email (it shows in screenshots).
pub async fn user(app: &TestApp, role: StaffRole) -> User {
    let email = format!("{}@acme.test", role.as_str().replace('_', "-"));
    app.create_user(ORG, &email, role).await
}

/// Two APIs and the role "Orders" that allows both, written straight to the database.
pub async fn seed_catalog(app: &TestApp, org: OrgId) {
    let mut conn = app.conn().await;
    let now = app.clock.now();
    let mut ids = Vec::new();
    for (scope, name) in [
        ("orders:read", "Read orders"),
        ("orders:write", "Write orders"),
    ] {
        let api = Api {
            id: ApiId::new_random(),
            org_id: org,
            scope: scope.into(),
            name: name.into(),
            description: String::new(),
            created_at: now,
            updated_at: now,
        };
        api.insert(&mut conn).await.unwrap();
        ids.push(api.id);
    }
    let role = ApiRole {
        id: RoleId::new_random(),
        org_id: org,
        name: ROLE_NAME.into(),
        description: "Order sync jobs".into(),
        created_at: now,
        updated_at: now,
    };
    role.insert(&mut conn).await.unwrap();
    ApiRole::set_apis(&mut conn, role.id, &ids).await.unwrap();
}

/// Signs in through the login form and waits for the Machine to Machine page.
pub async fn sign_in(b: &mut Browser, email: &str) {
    b.goto("/login").await;
    b.fill("Email", email).await;
    b.fill("Password", PASSWORD).await;
    b.click_testid("login-submit").await;
    b.wait_until("the console after sign-in", async || b.path().await == HOME)
        .await;
    b.wait_for_page().await;
    b.assert_clean("signing in").await;
}

pub async fn sign_out(b: &mut Browser) {
    b.click_testid("logout").await;
    b.wait_until("the login page", async || {
        b.path().await.starts_with("/login")
    })
    .await;
    b.assert_clean("signing out").await;
}

/// What the one-time reveal showed.
pub struct Revealed {
    pub client_id: String,
    pub secret: String,
}

/// Reads the client ID and secret off the reveal (dialog or page).
pub async fn read_reveal(b: &Browser) -> Revealed {
    let secret_el = b.testid("client-secret").await;
    let secret = b.text(&secret_el).await;
    let client_id = b.text(&b.testid("client-id").await).await;
    assert!(is_client_secret(&secret), "not a client secret: {secret:?}");
    assert!(
        client_id.starts_with("m2m_ci_"),
        "not a client ID: {client_id:?}"
    );
    Revealed { client_id, secret }
}

/// `m2m_sk_` followed by URL-safe characters: what the docs promise integrators.
pub fn is_client_secret(s: &str) -> bool {
    s.strip_prefix("m2m_sk_").is_some_and(|rest| {
        rest.len() >= 40
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// Creates a Full-access credential with role "Orders" through the modal, closes the reveal
/// and returns what it showed.
pub async fn create_credential(b: &mut Browser, name: &str) -> Revealed {
    let before = b.all_testid("credential-row").await.len();
    b.click_testid("create-credential").await;
    b.dialog().await;
    b.assert_clean("opening the create modal").await;
    b.fill("Name", name).await;
    b.choose("Role", ROLE_NAME).await;
    let submit = b.testid("submit-credential").await;
    submit.wait_until().enabled().await.unwrap();
    b.click(&submit).await;
    let revealed = read_reveal(b).await;
    b.assert_clean("revealing the secret").await;
    b.click_testid("reveal-ack").await;
    b.click_testid("reveal-done").await;
    b.wait_dialog_closed().await;
    b.wait_until("the new row", async || {
        b.all_testid("credential-row").await.len() == before + 1
    })
    .await;
    b.assert_clean("closing the reveal").await;
    revealed
}

/// The table row of the credential called `name`.
pub async fn row(b: &Browser, name: &str) -> WebElement {
    let xpath = format!(
        "//tr[@data-testid='credential-row'][.//*[@data-testid='credential-name' and normalize-space(.)='{name}']]"
    );
    b.driver
        .query(By::XPath(xpath))
        .first()
        .await
        .unwrap_or_else(|e| panic!("no row for {name:?}: {e}"))
}

/// Opens the ⋮ menu of the row of `name` and clicks the item with `data-testid=item`.
pub async fn row_action(b: &mut Browser, name: &str, item: &str) {
    let row = row(b, name).await;
    let menu_button = b.testid_in(&row, "row-menu").await;
    b.click(&menu_button).await;
    b.click_testid(item).await;
    b.wait_for_page().await;
    b.assert_clean(&format!("choosing {item}")).await;
}

/// `POST /oauth/token` with HTTP Basic client authentication: status and JSON body.
pub async fn token_request(
    app: &TestApp,
    client_id: &str,
    secret: &str,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}
