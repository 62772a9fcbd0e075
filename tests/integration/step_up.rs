//! Step-up before sensitive actions (issue 14): after 10 minutes without an authentication
//! the action answers "Confirm it's you" instead of acting, and the dialog's submission
//! carries the original form, so the action then goes on once: with htmx (in the modal)
//! and without JavaScript (a page).

use chrono::Duration;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::fixtures::*;
use crate::helpers::{Browser, PASSWORD, Page, captured_logs};

const STALE: Duration = Duration::minutes(11);

/// The hidden fields the dialog carries, as (name, value).
fn carried(body: &str) -> Vec<(String, String)> {
    body.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.strip_prefix(" value=\"")?.split_once('"')?.0;
            Some((name.to_string(), value.to_string()))
        })
        .filter(|(name, _)| name != "csrf_token")
        .collect()
}

fn is_dialog(page: &Page) -> bool {
    page.body.contains("data-testid=\"step-up-form\"")
}

/// Sends the dialog's form back as a plain form with `password` (and `code`).
async fn confirm(browser: &mut Browser, path: &str, dialog: &Page, proof: &[(&str, &str)]) -> Page {
    let fields = carried(&dialog.body);
    let mut all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend_from_slice(proof);
    browser.post_form(path, &all).await
}

async fn actions(s: &Setup) -> Vec<String> {
    AuditEvent::list_for_org(&mut *s.app.conn().await, s.org, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn without_javascript_a_stale_rotation_asks_first_and_then_goes_on_once() {
    let mut s = setup().await;
    s.app.clock.advance(STALE);
    let path = paths::credential_action(s.client.id, "rotate");
    let key = uuid::Uuid::new_v4().to_string();
    let form = [("overlap", "1h"), ("rotation_key", key.as_str())];

    let dialog = s.admin.post_form(&path, &form).await;
    assert_eq!(dialog.status, 200, "{}", dialog.body);
    assert!(is_dialog(&dialog));
    assert!(
        dialog
            .body
            .contains("<h2 id=\"step-up-title\">Confirm it's you</h2>")
    );
    assert!(dialog.body.contains("<html"), "a page without JavaScript");
    assert!(!dialog.body.contains("hx-post"), "a plain form");
    assert_eq!(dialog.header("cache-control"), Some("no-store"));
    assert_eq!(
        carried(&dialog.body),
        vec![
            ("overlap".to_string(), "1h".to_string()),
            ("rotation_key".to_string(), key.clone())
        ]
    );
    assert!(!dialog.body.contains("client-secret"));
    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        200,
        "not rotated"
    );

    let wrong = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[("confirm_password", "not it")],
    )
    .await;
    assert_eq!(wrong.status, 422);
    assert!(is_dialog(&wrong));
    assert_eq!(carried(&wrong.body), carried(&dialog.body), "nothing lost");
    assert!(
        !wrong.body.contains("not it"),
        "the password is never echoed"
    );
    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        200,
        "not rotated"
    );

    let done = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[("confirm_password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let secret = testid_text(&done.body, "client-secret").expect("the new secret, once");
    let rotated = Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret,
    };
    assert_eq!(token(&s.app, &rotated, "").await.status, 200);

    // The same dialog sent again does nothing twice: the rotation key was spent.
    let again = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[("confirm_password", PASSWORD)],
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(testid_text(&again.body, "client-secret").is_none());
    let log = actions(&s).await;
    assert_eq!(
        log.iter()
            .filter(|a| *a == "credential.secret_rotated")
            .count(),
        1
    );
    assert_eq!(
        log.iter().filter(|a| *a == "user.reauthenticated").count(),
        1
    );
    assert_eq!(
        log.iter()
            .filter(|a| *a == "user.reauthentication_failed")
            .count(),
        1
    );
    assert!(!captured_logs().contains(PASSWORD));
}

#[tokio::test]
async fn with_htmx_the_dialog_opens_in_the_modal_and_the_action_continues_there() {
    let mut s = setup().await;
    s.app.clock.advance(STALE);
    let path = paths::credential_action(s.client.id, "rotate");
    let key = uuid::Uuid::new_v4().to_string();
    let csrf = s.admin.csrf().await;
    let current = s.app.url(paths::M2M);
    let headers = [
        ("HX-Request", "true"),
        ("X-CSRF-Token", csrf.as_str()),
        ("HX-Current-URL", current.as_str()),
        ("HX-Target", "modal"),
    ];
    let form = [("overlap", "now"), ("rotation_key", key.as_str())];
    let dialog = s.admin.post_raw(&path, &form, &headers).await;
    assert_eq!(dialog.status, 200, "{}", dialog.body);
    assert_eq!(dialog.header("hx-retarget"), Some("#modal"));
    assert_eq!(dialog.header("hx-reswap"), Some("innerHTML"));
    assert!(dialog.body.starts_with("<dialog") || dialog.body.contains("<dialog class=\"modal\""));
    assert!(!dialog.body.contains("<html"), "a fragment");
    assert!(
        dialog
            .body
            .contains(&format!("hx-post=\"{path}\" hx-target=\"#modal\""))
    );

    let mut fields: Vec<(String, String)> = carried(&dialog.body);
    fields.push(("confirm_password".into(), PASSWORD.into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = s.admin.post_raw(&path, &pairs, &headers).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.header("hx-retarget").is_none());
    assert!(testid_text(&done.body, "client-secret").is_some());
    assert!(
        done.body.contains("credentials-section"),
        "the list behind the modal"
    );
    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        401,
        "rotated now"
    );
}

#[tokio::test]
async fn a_dialog_for_a_change_outside_a_modal_posts_a_plain_form() {
    let s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let other = s
        .app
        .create_user("Acme", "dana@acme.test", StaffRole::Viewer)
        .await;
    s.app.clock.advance(STALE);
    let path = paths::user_action(other.id, "role");
    let dialog = boss.hx_post(&path, &[("role", "admin")]).await;
    assert_eq!(dialog.status, 200, "{}", dialog.body);
    assert_eq!(dialog.header("hx-retarget"), Some("#modal"));
    assert!(is_dialog(&dialog));
    assert!(
        !dialog.body.contains("hx-post"),
        "continues as a plain form"
    );
    let done = confirm(&mut boss, &path, &dialog, &[("confirm_password", PASSWORD)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some(paths::USERS));
    let page = boss.get(paths::USERS).await;
    assert!(
        page.body.contains("dana@acme.test is now Admin."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn ten_minutes_after_an_authentication_the_next_sensitive_action_asks_again() {
    let mut s = setup().await;
    let path = paths::credential_action(s.client.id, "token");
    s.app.clock.advance(Duration::minutes(9));
    let page = s.admin.post_form(&path, &[]).await;
    assert!(!is_dialog(&page), "signed in 9 minutes ago");
    assert!(
        testid_text(&page.body, "access-token").is_some(),
        "{}",
        page.body
    );

    s.app.clock.advance(Duration::minutes(1));
    let dialog = s.admin.post_form(&path, &[]).await;
    assert!(is_dialog(&dialog), "10 minutes after signing in");
    let done = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[("confirm_password", PASSWORD)],
    )
    .await;
    assert!(
        testid_text(&done.body, "access-token").is_some(),
        "{}",
        done.body
    );

    s.app.clock.advance(Duration::minutes(9));
    let page = s.admin.post_form(&path, &[]).await;
    assert!(!is_dialog(&page), "confirmed 9 minutes ago");
}

#[tokio::test]
async fn every_sensitive_action_asks_and_does_nothing_until_confirmed() {
    let mut s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let other = s
        .app
        .create_user("Acme", "eve@acme.test", StaffRole::Admin)
        .await;
    s.app.clock.advance(STALE);
    let id = s.client.id;
    let mut with_scope = valid_form(&s.catalog);
    with_scope.push(("management_scopes", "m2m.credentials:read".into()));
    let create = with(valid_form(&s.catalog), "name", "Another");
    let cases: Vec<(String, Vec<(&str, String)>)> = vec![
        (paths::M2M.to_string(), create),
        (paths::credential_action(id, "rotate"), vec![]),
        (paths::credential_action(id, "token"), vec![]),
        (paths::credential_action(id, "disable"), vec![]),
        (paths::credential_action(id, "revoke"), vec![]),
        (paths::credential_action(id, "delete"), vec![]),
        (paths::credential(id), with_scope),
        (
            paths::user_action(other.id, "role"),
            vec![("role", "viewer".into())],
        ),
        (paths::user_action(other.id, "disable"), vec![]),
        (paths::user_action(other.id, "two-factor/reset"), vec![]),
        (
            paths::POLICY.to_string(),
            vec![("require_two_factor", "on".into())],
        ),
    ];
    let before = actions(&s).await.len();
    for (path, fields) in &cases {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = boss.post_form(path, &pairs).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(is_dialog(&page), "{path} asks first");
    }
    assert_eq!(actions(&s).await.len(), before, "nothing was done");
    assert_eq!(token(&s.app, &s.client, "").await.status, 200);

    // Deny by default: an edit that gives no management access asks too, and goes on once
    // confirmed.
    let edit = with(
        valid_form(&s.catalog),
        "description",
        "Edited after a while",
    );
    let dialog = s
        .admin
        .post_form(&paths::credential(id), &pairs(&edit))
        .await;
    assert!(is_dialog(&dialog), "{}", dialog.body);
    let done = confirm(
        &mut s.admin,
        &paths::credential(id),
        &dialog,
        &[("confirm_password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = s.admin.get(&paths::credential(id)).await;
    assert!(page.body.contains("Edited after a while"));
}

#[tokio::test]
async fn with_two_factor_on_the_dialog_also_asks_for_a_code() {
    let mut s = setup().await;
    let keys = enrol_two_factor(&s.app, &mut s.admin).await;
    s.app.clock.advance(STALE);
    start_of_step(&s.app);
    let path = paths::credential_action(s.client.id, "token");
    let dialog = s.admin.post_form(&path, &[]).await;
    assert!(is_dialog(&dialog));
    assert!(dialog.body.contains("data-testid=\"step-up-code\""));

    let code = totp_code(&s.app, &keys.key, 0);
    let wrong_code = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let wrong = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[
            ("confirm_password", PASSWORD),
            ("confirm_code", &wrong_code),
        ],
    )
    .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(
        testid_text(&wrong.body, "step-up-error").as_deref(),
        Some("The password or the code is not right.")
    );
    let no_code = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[("confirm_password", PASSWORD)],
    )
    .await;
    assert_eq!(no_code.status, 422);

    let done = confirm(
        &mut s.admin,
        &path,
        &dialog,
        &[("confirm_password", PASSWORD), ("confirm_code", &code)],
    )
    .await;
    assert!(
        testid_text(&done.body, "access-token").is_some(),
        "{}",
        done.body
    );
    let events = AuditEvent::list_for_org(&mut *s.app.conn().await, s.org, 200)
        .await
        .unwrap();
    let confirmed = events
        .iter()
        .find(|e| e.action == "user.reauthenticated")
        .unwrap();
    assert_eq!(confirmed.details["second_factor"], "totp");
    assert!(!confirmed.details.to_string().contains(&code));
    assert!(!captured_logs().contains(&keys.key_base32));
}

#[tokio::test]
async fn wrong_passwords_in_the_dialog_are_throttled_like_sign_in() {
    let mut s = setup().await;
    s.app.clock.advance(STALE);
    let path = paths::credential_action(s.client.id, "disable");
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            s.admin
                .post_form(&path, &[("confirm_password", "wrong password")])
                .await,
        );
    }
    let last = last.unwrap();
    assert_eq!(last.status, 429, "{}", last.body);
    assert!(last.header("retry-after").is_some());
    assert!(is_dialog(&last));
    let right = s
        .admin
        .post_form(&path, &[("confirm_password", PASSWORD)])
        .await;
    assert_eq!(
        right.status, 429,
        "the throttle holds the right password back too"
    );
    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        200,
        "not disabled"
    );
}

#[tokio::test]
async fn an_htmx_delete_continues_as_the_plain_form_post() {
    let mut s = setup().await;
    s.app.clock.advance(STALE);
    let csrf = s.admin.csrf().await;
    let res = s
        .admin
        .http
        .delete(s.app.url(&paths::credential(s.client.id)))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let delete = paths::credential_action(s.client.id, "delete");
    assert!(body.contains(&format!("action=\"{delete}\"")), "{body}");
    let done = confirm(
        &mut s.admin,
        &delete,
        &Page {
            status: 200,
            headers: Default::default(),
            body,
        },
        &[("confirm_password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(token(&s.app, &s.client, "").await.status, 401, "deleted");
}
