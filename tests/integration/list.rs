//! The credentials list beyond its rows: server-side sorting by plain links, and the first-run
//! checklist of an organisation that has no APIs or roles yet.

use m2m_console::db::models::credential::AccessLevel;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{insert_api, insert_credential, insert_role, seed_catalog};
use crate::helpers::TestApp;

const M2M: &str = "/settings/integrations/machine-to-machine";

/// The names in the order the page lists them.
fn names(body: &str) -> Vec<String> {
    body.split("data-testid=\"credential-name\">")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_sorts_by_name_status_and_expiry_with_plain_links() {
    let app = TestApp::spawn().await;
    let (user, mut admin) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, user.org_id).await;
    for name in ["beta", "Alpha", "gamma"] {
        insert_credential(
            &app,
            user.org_id,
            catalog.role,
            name,
            AccessLevel::Full,
            &[],
        )
        .await;
    }
    let created = names(&admin.get(M2M).await.body);
    assert_eq!(
        created,
        ["beta", "Alpha", "gamma"],
        "by creation by default"
    );

    let page = admin.get(&format!("{M2M}?sort=name&dir=asc")).await;
    assert_eq!(
        names(&page.body),
        ["Alpha", "beta", "gamma"],
        "case-insensitive"
    );
    assert!(page.body.contains("aria-sort=\"ascending\""));
    assert!(
        page.body
            .contains(&format!("href=\"{M2M}?sort=name&#38;dir=desc\"")),
        "the header link turns the order round"
    );
    let page = admin.get(&format!("{M2M}?sort=name&dir=desc")).await;
    assert_eq!(names(&page.body), ["gamma", "beta", "Alpha"]);

    for nonsense in [
        "sort=%27%3B--",
        "sort=name&dir=sideways",
        "sort=",
        "dir=desc&sort=%00",
    ] {
        let page = admin.get(&format!("{M2M}?{nonsense}")).await;
        assert_eq!(page.status, 200, "{nonsense}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_organisation_gets_a_checklist_instead_of_a_form_it_cannot_complete() {
    let app = TestApp::spawn().await;
    let (boss, mut super_admin) = app.login_as(StaffRole::SuperAdmin).await;
    let (_, mut admin) = app.login_as(StaffRole::Admin).await;

    let page = super_admin.get(M2M).await;
    assert!(page.body.contains("data-testid=\"first-run\""));
    assert!(!page.body.contains("data-testid=\"create-credential\""));
    assert!(
        page.body.contains("href=\"/settings/apis\""),
        "the first step links"
    );

    let page = admin.get(M2M).await;
    assert!(page.body.contains("data-testid=\"first-run\""));
    assert!(
        page.body.contains(&format!("mailto:{}", boss.email)),
        "an Admin is told which Super Admin to ask"
    );
    assert!(!page.body.contains("href=\"/settings/apis\" class"));

    // APIs but no role yet: the second step is next.
    let api = insert_api(&app, boss.org_id, "orders:read").await;
    let page = super_admin.get(M2M).await;
    assert!(page.body.contains("href=\"/settings/roles\""));

    insert_role(&app, boss.org_id, "Orders", &[api.id]).await;
    let page = admin.get(M2M).await;
    assert!(!page.body.contains("data-testid=\"first-run\""));
    assert!(page.body.contains("data-testid=\"create-credential\""));
}
