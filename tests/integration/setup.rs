use m2m_console::db::models::user::User;

use crate::helpers::{PASSWORD, TestApp};

fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn token_of(link: &str) -> String {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_link_creates_the_organisation_and_super_admin_once() {
    let app = TestApp::spawn().await;
    let link = app
        .setup_link
        .clone()
        .expect("an empty database prints a setup link");
    assert!(link.starts_with("http://127.0.0.1:") && link.contains("/setup?token="));

    let mut browser = app.client();
    let form = browser.get(&path_of(&link)).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.header("cache-control"), Some("no-store"));

    let token = token_of(&link);
    let done = browser
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("org_name", "Acme Corp"),
                ("email", "Founder@Acme.test"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location(),
        Some("/settings/integrations/machine-to-machine")
    );

    // Signed in as the new Super Admin, on the Machine to Machine page.
    let home = browser
        .get("/settings/integrations/machine-to-machine")
        .await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("founder@acme.test"));
    assert!(home.body.contains("Super Admin"));

    // The link is dead now, for viewing and for posting.
    let mut other = app.client();
    assert_eq!(other.get(&path_of(&link)).await.status, 404);
    let again = other
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("org_name", "Evil"),
                ("email", "evil@x.test"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, 404);
    let mut conn = app.conn().await;
    assert!(
        User::find_by_email(&mut conn, "evil@x.test")
            .await
            .unwrap()
            .is_none()
    );

    // A restart with users in the database prints no link.
    let second = app.second_instance().await;
    assert!(second.setup_link.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_form_keeps_input_and_explains_each_error() {
    let app = TestApp::spawn().await;
    let link = app.setup_link.clone().unwrap();
    let mut browser = app.client();
    browser.get(&path_of(&link)).await;
    let page = browser
        .post_form(
            "/setup",
            &[
                ("token", &token_of(&link)),
                ("org_name", "<b>Acme</b>"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("data-testid=\"error-email\""));
    assert!(page.body.contains("data-testid=\"error-password\""));
    assert!(page.body.contains("value=\"not-an-email\""));
    assert!(
        page.body.contains("value=\"&#60;b&#62;Acme&#60;/b&#62;\""),
        "input is kept, escaped"
    );
    // Nothing was created and the link still works.
    assert_eq!(browser.get(&path_of(&link)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_setup_token_is_refused() {
    let app = TestApp::spawn().await;
    let mut browser = app.client();
    assert_eq!(browser.get("/setup?token=nope").await.status, 404);
    assert_eq!(browser.get("/setup").await.status, 404);
}
