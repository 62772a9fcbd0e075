//! The new-password rule (issue 14) at every place that sets a password: first-run setup,
//! accepting an invitation, `create-user` and changing one's own. Sign-in keeps accepting any
//! existing password.

use std::io::Write;
use std::process::{Command, Stdio};

use m2m_console::db::models::user::{StaffRole, User};

use crate::fixtures::testid_text;
use crate::helpers::{PASSWORD, TestApp};

const COMMON: &str = "Scandinavian";
const WEAK: &str = "qwertyuiopasdfgh";

/// The password inputs of a form that sets one: bounded, for password managers, pasteable.
fn assert_new_password_input(body: &str, name: &str) {
    let start = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} input"));
    let input = &body[start..start + body[start..].find('>').unwrap()];
    for attribute in [
        "type=\"password\"",
        "minlength=\"12\"",
        "maxlength=\"128\"",
        "autocomplete=\"new-password\"",
    ] {
        assert!(input.contains(attribute), "{name}: {attribute} in {input}");
    }
    for blocker in ["onpaste", "oncopy", "hx-on"] {
        assert!(!body.contains(blocker), "{blocker}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_a_common_or_weak_password_with_422() {
    let app = TestApp::spawn().await;
    let link = url::Url::parse(app.setup_link.as_ref().unwrap()).unwrap();
    let token = link
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let mut browser = app.client();
    let form = browser
        .get(&format!("{}?{}", link.path(), link.query().unwrap()))
        .await;
    assert_new_password_input(&form.body, "password");

    let submit = async |browser: &mut crate::helpers::Browser, password: &str| {
        browser
            .post_form(
                "/setup",
                &[
                    ("token", &token),
                    ("org_name", "Acme Corp"),
                    ("email", "founder@acme.test"),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await
    };
    let page = submit(&mut browser, COMMON).await;
    assert_eq!(page.status, 422);
    let message = testid_text(&page.body, "error-password").unwrap();
    assert!(message.contains("among the most common"), "{message}");
    assert!(!page.body.contains(COMMON), "the password is not echoed");

    let page = submit(&mut browser, WEAK).await;
    assert_eq!(page.status, 422);
    let message = testid_text(&page.body, "error-password").unwrap();
    assert!(message.starts_with("This password is too easy to guess."));
    assert!(
        message.contains("similar to a commonly used password"),
        "zxcvbn's warning: {message}"
    );

    // The user's own email (strong for a stranger) is weak for anyone who knows it.
    let page = submit(&mut browser, "founder@acme.test").await;
    assert_eq!(page.status, 422, "the email counts against it");

    let page = submit(&mut browser, "elevenchars").await;
    assert_eq!(page.status, 422);
    assert_eq!(
        testid_text(&page.body, "error-password").as_deref(),
        Some("Use at least 12 characters.")
    );
    assert!(
        !User::any_exists(&mut *app.conn().await).await.unwrap(),
        "nothing was created"
    );
    assert_eq!(submit(&mut browser, PASSWORD).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_an_invitation_refuses_a_common_or_weak_password_with_422() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let link = crate::fixtures::invite(&mut boss, "new.person@acme.test", "viewer").await;
    let mut invitee = app.client();
    let form = invitee.get(&link).await;
    assert_new_password_input(&form.body, "password");
    let token = link.split_once("token=").unwrap().1.to_string();
    for (password, says) in [
        (COMMON, "among the most common"),
        (WEAK, "too easy to guess"),
        ("new.person@acme.test", "too easy to guess"),
        (&"x".repeat(129), "Use at most 128 characters."),
    ] {
        let page = invitee
            .post_form(
                "/invitation",
                &[
                    ("token", &token),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{password}");
        let message = testid_text(&page.body, "error-password").unwrap();
        assert!(message.contains(says), "{message}");
        assert!(
            page.body.contains("new.person@acme.test"),
            "the email is shown"
        );
    }
    assert!(
        User::find_by_email(&mut *app.conn().await, "new.person@acme.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_user_on_the_command_line_refuses_a_weak_password() {
    let app = TestApp::spawn().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_m2m-console"))
        .args([
            "create-user",
            "--org",
            "Initech",
            "--email",
            "bill@initech.test",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .env("DATABASE_URL", app.settings.database_url.expose())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{WEAK}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("password: This password is too easy to guess."),
        "{stderr}"
    );
    assert!(!stderr.contains(WEAK));
    assert!(
        User::find_by_email(&mut *app.conn().await, "bill@initech.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_password_refuses_a_weak_new_one_with_422() {
    let app = TestApp::spawn().await;
    let (user, mut browser) = app.login_as(StaffRole::Viewer).await;
    let page = browser.get("/settings/account/security").await;
    assert_new_password_input(&page.body, "new_password");
    assert!(page.body.contains("autocomplete=\"current-password\""));
    for (new, says) in [
        (COMMON, "among the most common"),
        (WEAK, "too easy to guess"),
        (PASSWORD, "different from your current one"),
    ] {
        let page = browser
            .post_form(
                "/settings/account/security/password",
                &[("current_password", PASSWORD), ("new_password", new)],
            )
            .await;
        assert_eq!(page.status, 422, "{new}");
        let message = testid_text(&page.body, "error-new_password").unwrap();
        assert!(message.contains(says), "{message}");
        assert!(!page.body.contains(PASSWORD) && !page.body.contains(new));
    }
    // The user's own email is weak for them (zxcvbn is told it).
    let page = browser
        .post_form(
            "/settings/account/security/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", &user.email),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    let message = testid_text(&page.body, "error-new_password").unwrap();
    assert!(message.contains("too easy to guess"), "{message}");
    // Nothing changed: the old password still signs in.
    assert_eq!(app.client().login(&user.email, PASSWORD).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_still_accepts_a_password_set_under_older_rules() {
    let app = TestApp::spawn().await;
    let user = app
        .create_user("Acme", "old@acme.test", StaffRole::Viewer)
        .await;
    let pool = m2m_console::staff::password::Argon2Pool::new(1);
    let hash = m2m_console::staff::password::hash_password(
        pool.slot().await.unwrap(),
        "qwertyqwerty".to_string().into(),
    )
    .await
    .unwrap();
    User::set_password_hash(&mut *app.conn().await, user.id, &hash, app.clock.now())
        .await
        .unwrap();
    let res = app.client().login("old@acme.test", "qwertyqwerty").await;
    assert_eq!(res.status, 303);
    assert_ne!(res.location(), Some("/login/code"), "signed in");
}
