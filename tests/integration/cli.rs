//! The binary itself: subcommands and start-up errors.

use std::io::Write;
use std::process::{Command, Stdio};

use m2m_console::db::models::user::{StaffRole, User};

use crate::helpers::{PASSWORD, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_m2m-console");

#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let out = Command::new(BIN)
        .env("DATABASE_URL", "postgres://app:s3cret-pw@127.0.0.1:1/m2m")
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("m2m-console:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("postgres://app:********@127.0.0.1:1/m2m"),
        "{stderr}"
    );
    assert!(lines[0].contains("DATABASE_URL"));
    assert!(!stderr.contains("s3cret-pw"));
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

#[test]
fn a_bad_setting_names_its_variable() {
    let out = Command::new(BIN)
        .env("SESSION_IDLE_MINUTES", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("m2m-console: SESSION_IDLE_MINUTES: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_user_makes_a_user_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let mut child = Command::new(BIN)
        .args([
            "create-user",
            "--org",
            "Initech",
            "--email",
            "Bill@Initech.test",
            "--role",
            "super-admin",
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
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));

    let user = User::find_by_email(&mut *app.conn().await, "bill@initech.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, StaffRole::SuperAdmin);
    let mut browser = app.client();
    assert_eq!(
        browser.login("bill@initech.test", PASSWORD).await.status,
        303
    );

    // The same email again is refused with a one-line reason.
    let out = Command::new(BIN)
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
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_a_missing_database() {
    let app = TestApp::spawn().await;
    let name = format!(
        "m2m_test_{}_migrate_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let url = app.settings.database_url.with_database(&name);
    let out = Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", url.expose())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Running it again is a no-op.
    let out = Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", url.expose())
        .output()
        .unwrap();
    assert!(out.status.success());
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let mut conn =
        diesel_async::AsyncPgConnection::establish(url.with_database("postgres").expose())
            .await
            .unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
