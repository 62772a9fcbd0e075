//! The one input rule (control characters refused, lengths bounded) on every kind of field,
//! and races a user can start that must end in a message, never a 500.

use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{
    insert_api, insert_role, pairs, post, seed_catalog, testid_text, valid_form, with,
};
use crate::helpers::{Browser, TestApp};

const BASE: &str = "/settings/integrations/machine-to-machine";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_get_a_field_message_or_invalid_request_never_a_500() {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let catalog = seed_catalog(&app, boss_user.org_id).await;

    for (field, value) in [
        ("name", "Ware\0house"),
        ("description", "Nightly\0export"),
        ("owner_email", "ops\0@acme.test"),
    ] {
        let res = boss
            .post_form(BASE, &pairs(&with(valid_form(&catalog), field, value)))
            .await;
        assert_eq!(res.status, 422, "{field}");
        assert!(
            testid_text(&res.body, &format!("error-{field}")).is_some(),
            "{field}: {}",
            res.body
        );
    }
    let res = boss
        .post_form(
            BASE,
            &pairs(&with(
                valid_form(&catalog),
                "description",
                "line one\r\n\tline two",
            )),
        )
        .await;
    assert_eq!(res.status, 200, "line breaks are fine in a description");

    for (path, fields) in [
        ("/settings/roles", vec![("name", "Ro\0le")]),
        (
            "/settings/roles",
            vec![("name", "Role"), ("description", "\0")],
        ),
        ("/settings/apis", vec![("scope", "a:b"), ("name", "A\0PI")]),
        ("/settings/apis", vec![("scope", "a\0:b"), ("name", "API")]),
        (
            "/settings/users",
            vec![("email", "new\0@acme.test"), ("role", "viewer")],
        ),
    ] {
        let res = boss.post_form(path, &fields).await;
        assert_eq!(res.status, 422, "{path} {fields:?}");
    }

    let audit = boss
        .get("/settings/audit?actor=ops%00&action=a%00b&credential=%00")
        .await;
    assert_eq!(audit.status, 200);
    for field in ["actor", "action", "credential"] {
        assert!(
            testid_text(&audit.body, &format!("error-{field}"))
                .is_some_and(|t| t.contains("not allowed")),
            "{field}"
        );
    }

    let mut stranger = app.client();
    assert_eq!(stranger.login("ops\0@acme.test", "x").await.status, 422);
    for body in [
        "grant_type=client_credentials&client_id=m2m_ci_a%00&client_secret=m2m_sk_b",
        "grant_type=client_credentials&client_id=m2m_ci_a&client_secret=m2m_sk_%00",
        "grant_type=client%00",
        "grant_type=client_credentials&scope=a%00",
    ] {
        let res = post(&app, "/oauth/token", body, &[]).await;
        assert_eq!(res.status, 400, "{body}: {}", res.text);
        assert_eq!(res.json()["error"], "invalid_request");
    }
    for path in ["/oauth/introspect", "/oauth/revoke"] {
        let res = post(&app, path, "token=m2m_at_%00", &[]).await;
        assert_eq!(res.status, 400, "{path}");
    }
}

/// Runs `a` and `b` at the same moment, `rounds` times over fresh subjects from `subject`.
async fn race<S, FA, FB, A, B>(
    rounds: usize,
    mut subject: impl AsyncFnMut(usize) -> S,
    mut a: FA,
    mut b: FB,
) -> Vec<(u16, u16)>
where
    FA: FnMut(&S) -> A,
    FB: FnMut(&S) -> B,
    A: Future<Output = u16>,
    B: Future<Output = u16>,
{
    let mut outcomes = Vec::new();
    for round in 0..rounds {
        let s = subject(round).await;
        outcomes.push(futures::join!(a(&s), b(&s)));
    }
    outcomes
}

async fn post_status(
    browser: &tokio::sync::Mutex<Browser>,
    path: &str,
    fields: &[(&str, &str)],
) -> u16 {
    browser.lock().await.post_form(path, fields).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_role_while_a_credential_is_created_with_it_is_never_a_500() {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (_, mut admin) = app.login_as(StaffRole::Admin).await;
    let org = boss_user.org_id;
    let catalog = seed_catalog(&app, org).await;
    boss.csrf().await;
    admin.csrf().await;
    let (boss, admin) = (
        tokio::sync::Mutex::new(boss),
        tokio::sync::Mutex::new(admin),
    );
    let (boss, admin) = (&boss, &admin);
    let outcomes = race(
        9,
        async |round| {
            let api = insert_api(&app, org, &format!("race{round}:read")).await;
            insert_role(&app, org, &format!("Racing {round}"), &[api.id])
                .await
                .id
        },
        |role| {
            let form = with(valid_form(&catalog), "role_id", &role.to_string());
            async move { post_status(admin, BASE, &pairs(&form)).await }
        },
        |role| {
            let path = format!("/settings/roles/{role}/delete");
            async move { post_status(boss, &path, &[]).await }
        },
    )
    .await;
    for (create, delete) in &outcomes {
        assert!([200, 303, 422].contains(create), "{outcomes:?}");
        assert!([303, 409].contains(delete), "{outcomes:?}");
        assert!(
            !(*create == 303 && *delete == 303),
            "both cannot win: {outcomes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_api_while_a_role_is_saved_with_it_is_never_a_500() {
    let app = TestApp::spawn().await;
    let (boss_user, boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (_, other_boss) = app.login_as(StaffRole::SuperAdmin).await;
    let org = boss_user.org_id;
    let (boss, other_boss) = (
        tokio::sync::Mutex::new(boss),
        tokio::sync::Mutex::new(other_boss),
    );
    let (boss, other_boss) = (&boss, &other_boss);
    let outcomes =
        race(
            10,
            async |round| insert_api(&app, org, &format!("gone{round}:read")).await.id,
            |api| {
                let name = format!("Role for {api}");
                let api = api.to_string();
                async move {
                    post_status(boss, "/settings/roles", &[("name", &name), ("apis", &api)]).await
                }
            },
            |api| {
                let path = format!("/settings/apis/{api}/delete");
                async move { post_status(other_boss, &path, &[]).await }
            },
        )
        .await;
    for (save, delete) in &outcomes {
        assert!([303, 409, 422].contains(save), "{outcomes:?}");
        assert_eq!(*delete, 303, "{outcomes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_disabled_while_being_edited_is_never_a_500() {
    let app = TestApp::spawn().await;
    let (_, boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (_, other_boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (boss, other_boss) = (
        tokio::sync::Mutex::new(boss),
        tokio::sync::Mutex::new(other_boss),
    );
    let (boss, other_boss) = (&boss, &other_boss);
    let outcomes = race(
        8,
        async |round| {
            app.create_user(
                "Acme",
                &format!("edited{round}@acme.test"),
                StaffRole::Viewer,
            )
            .await
            .id
        },
        |user| {
            let path = format!("/settings/users/{user}/role");
            async move { post_status(boss, &path, &[("role", "admin")]).await }
        },
        |user| {
            let path = format!("/settings/users/{user}/disable");
            async move { post_status(other_boss, &path, &[]).await }
        },
    )
    .await;
    for (edit, disable) in &outcomes {
        assert!([303, 409].contains(edit), "{outcomes:?}");
        assert!([303, 409].contains(disable), "{outcomes:?}");
    }
}
