//! "Confirm it's you", deny by default (issue 19): the test walks the route table and proves
//! that every state-changing console route asks a Super Admin or Admin whose last
//! authentication is stale, unless it is listed as exempt with a reason; and that the newly
//! guarded actions go on once confirmed.

use chrono::Duration;
use m2m_console::console::step_up_gate::StepUp;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::user::{StaffRole, User};
use m2m_console::paths;
use m2m_console::routes::console_writes;

use crate::fixtures::*;
use crate::helpers::{Browser, PASSWORD, Page};

const STALE: Duration = Duration::minutes(11);

fn is_dialog(page: &Page) -> bool {
    page.body.contains("data-testid=\"step-up-form\"")
}

async fn audit_count(s: &Setup) -> usize {
    AuditEvent::list_for_org(&mut *s.app.conn().await, s.org, 500)
        .await
        .unwrap()
        .len()
}

/// The route's pattern with its parameters filled: the setup's credential for credential
/// routes, `user` for user routes, random ids elsewhere (the gate answers before any handler
/// looks them up).
fn filled(pattern: &str, s: &Setup, user: &User) -> String {
    let id = if pattern.starts_with(paths::M2M) {
        s.client.id.to_string()
    } else if pattern.starts_with(paths::USERS) {
        user.id.to_string()
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    pattern
        .replace("{id}", &id)
        .replace("{token_id}", &uuid::Uuid::new_v4().to_string())
        .replace("{delivery}", &uuid::Uuid::new_v4().to_string())
}

/// `method` to `path` as htmx sends it (the CSRF token in its header).
async fn send(browser: &mut Browser, method: &str, path: &str) -> Page {
    let token = browser.csrf().await;
    let res = browser
        .http
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", browser.base),
        )
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_changing_console_route_asks_unless_it_is_exempt_with_a_reason() {
    let mut s = setup().await;
    let (_, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let other = s
        .app
        .create_user("Acme", "walt@acme.test", StaffRole::Admin)
        .await;
    s.app.clock.advance(STALE);
    let before = audit_count(&s).await;

    let mut exempt = Vec::new();
    let mut asked = 0;
    for write in console_writes() {
        let path = filled(&write.path, &s, &other);
        match write.step_up {
            StepUp::Exempt(reason) => {
                assert!(reason.len() > 10, "{} says why", write.path);
                exempt.push(format!("{} {}", write.method, write.path));
            }
            StepUp::Ask { .. } => {
                for browser in [&mut boss, &mut s.admin] {
                    let page = send(browser, write.method.as_str(), &path).await;
                    assert_eq!(page.status, 200, "{} {path}: {}", write.method, page.body);
                    assert!(is_dialog(&page), "{} {path} asks first", write.method);
                    assert_eq!(page.header("hx-retarget"), Some("#modal"));
                }
                asked += 1;
            }
        }
    }
    assert!(asked >= 34, "{asked} routes ask");
    assert_eq!(audit_count(&s).await, before, "nothing was done");
    assert_eq!(token(&s.app, &s.client, "").await.status, 200);
    // The exemptions, each with its reason in `routes::console_writes`: a new one shows here.
    assert_eq!(
        exempt,
        [
            "POST /login",
            "POST /login/code",
            "POST /logout",
            "POST /setup",
            "POST /invitation",
            "POST /settings/account/security/password",
            "POST /settings/account/sessions/end-others",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_that_used_to_go_through_now_ask_and_then_go_on_once() {
    let s = setup().await;
    let (boss_user, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let other = s
        .app
        .create_user("Acme", "walt@acme.test", StaffRole::Admin)
        .await;
    let res = boss
        .post_form(&paths::user_action(other.id, "disable"), &[])
        .await;
    assert_eq!(res.status, 303, "signed in just now: no dialog");
    s.app.clock.advance(STALE);

    // Enabling a user, without JavaScript: the dialog, then the action.
    let enable = paths::user_action(other.id, "enable");
    let dialog = boss.post_form(&enable, &[]).await;
    assert!(is_dialog(&dialog), "{}", dialog.body);
    assert!(
        dialog
            .body
            .contains("To enable this user, enter your password")
    );
    let done = boss
        .post_form(&enable, &[("confirm_password", PASSWORD)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let enabled = audit_rows(&s.app, s.org, "user.enabled").await;
    assert_eq!(enabled.len(), 1);
    assert_eq!(
        enabled[0].actor_email.as_deref(),
        Some(boss_user.email.as_str())
    );

    // Adding an API with htmx, in a session confirmed a moment ago: straight through.
    let res = boss
        .hx_post(
            paths::APIS,
            &[
                ("scope", "shipments:read"),
                ("name", "Shipments"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(!is_dialog(&res));
    assert!(res.body.contains("shipments:read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_manages_their_own_two_factor_without_being_asked() {
    let s = setup().await;
    let (_, mut viewer) = s.app.login_as(StaffRole::Viewer).await;
    s.app.clock.advance(STALE);
    let page = viewer
        .post_form(&paths::account_security_action("setup"), &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!is_dialog(&page));
    assert!(testid_text(&page.body, "totp-key").is_some());
}
