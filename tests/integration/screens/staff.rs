//! First run ends each step with "Next: …"; the users page shows two-factor and the last
//! sign-in of each user; a Viewer is told the console is read-only; the TOTP key is shown
//! in groups of four.

use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::fixtures::*;
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_first_run_step_says_what_comes_next() {
    let app = TestApp::spawn().await;
    let (boss, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let apis = browser.get(paths::APIS).await;
    assert!(apis.body.contains("data-testid=\"apis-empty\""));
    assert!(
        !apis.body.contains("data-testid=\"next-step\""),
        "nothing to go on with yet"
    );

    let catalog = seed_catalog(&app, boss.org_id).await;
    // APIs and a role exist (the fixture makes both): the roles page points on.
    let roles = browser.get(paths::ROLES).await;
    let next = roles
        .body
        .split("data-testid=\"next-step\"")
        .nth(1)
        .unwrap();
    assert!(
        next.contains(&format!("href=\"{}\"", paths::NEW_CREDENTIAL)),
        "{next}"
    );
    assert!(next.contains("create a credential"));
    let apis = browser.get(paths::APIS).await;
    assert!(apis.body.contains("data-testid=\"apis-table\""));
    assert!(
        !apis.body.contains("data-testid=\"next-step\""),
        "a role exists already"
    );

    // The reveal of the first credential points at its test token.
    let (id, ..) = create_credential(&app, &mut browser, &valid_form(&catalog)).await;
    let reveal = create_via_htmx(&mut browser, &with(valid_form(&catalog), "name", "Second")).await;
    assert!(reveal.body.contains("generate a test token on its page"));
    let roles = browser.get(paths::ROLES).await;
    assert!(roles.body.contains("data-testid=\"roles-table\""));
    assert!(
        !roles.body.contains("data-testid=\"next-step\""),
        "{id} exists"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apis_page_points_to_roles_while_there_is_none() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let added = boss
        .post_form(
            paths::APIS,
            &[
                ("scope", "orders:read"),
                ("name", "Read orders"),
                ("description", ""),
            ],
        )
        .await;
    assert!(added.status == 303 || added.status == 200, "{}", added.body);
    let apis = boss.get(paths::APIS).await;
    let next = testid_text(&apis.body, "next-step-link");
    assert_eq!(next.as_deref(), Some("define a role"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_show_two_factor_and_last_sign_in_and_a_viewer_reads_only() {
    let app = TestApp::spawn().await;
    let (boss, mut browser) = app.login_as(StaffRole::SuperAdmin).await;
    let users = browser.get(paths::USERS).await;
    assert_eq!(users.status, 200);
    let mine = users
        .body
        .split(&format!("data-user-id=\"{}\"", boss.id))
        .nth(1)
        .unwrap();
    let mine = &mine[..mine.find("</tr>").unwrap()];
    assert!(testid_text(mine, "user-last-sign-in").is_some());
    assert!(mine.contains("just now"), "{mine}");
    assert!(mine.contains("data-testid=\"user-two-factor\"><span class=\"badge badge-muted\">Off"));
    assert!(!users.body.contains("data-testid=\"read-only-note\""));

    let (_, mut reader) = app.login_as(StaffRole::Viewer).await;
    let page = reader.get(paths::M2M).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"read-only-note\""));
    assert!(
        page.body
            .contains("as a Viewer you can see everything here but change nothing")
    );
}
