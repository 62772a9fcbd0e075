//! The code step's limits (issue 19): a pending sign-in gets a handful of codes whatever
//! addresses they come from, the account a ceiling of wrong codes in a row across every
//! address, and a pending sign-in ends with its user's sessions.

use diesel::sql_types::{BigInt, Integer, Uuid};
use diesel_async::RunQueryDsl;
use m2m_console::db::ids::UserId;
use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::fixtures::*;
use crate::helpers::{Browser, PASSWORD, Page, TestApp};

const M2M: &str = paths::M2M;

/// A code other than `right`.
fn wrong_to(right: &str) -> &'static str {
    if right == "123456" {
        "654321"
    } else {
        "123456"
    }
}

/// Posts `code` to the code step as if from `ip` (the app trusts 127.0.0.1 as a proxy).
async fn code_from(browser: &mut Browser, ip: &str, code: &str) -> Page {
    let token = browser.csrf().await;
    browser
        .post_raw(
            paths::LOGIN_CODE,
            &[("code", code), ("csrf_token", &token)],
            &[("X-Forwarded-For", ip)],
        )
        .await
}

/// A signed-in Admin with two-factor on, on an app that believes `X-Forwarded-For`.
async fn enrolled_admin() -> (TestApp, m2m_console::db::models::user::User, TwoFactorKeys) {
    let app = TestApp::spawn_with(trusting_localhost).await;
    let (user, mut browser) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut browser).await;
    start_of_step(&app);
    (app, user, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pending_sign_in_gets_five_codes_from_any_addresses_then_the_password_again() {
    let (app, user, keys) = enrolled_admin().await;
    let right = totp_code(&app, &keys.key, 0);
    let wrong = wrong_to(&right);

    let mut b = app.client();
    assert!(b.login(&user.email, PASSWORD).await.to_code_step());
    b.get(paths::LOGIN_CODE).await;
    for i in 0..4 {
        let res = code_from(&mut b, &format!("198.51.100.{i}"), wrong).await;
        assert_eq!(res.status, 401, "attempt {i}: {}", res.body);
    }
    let fifth = code_from(&mut b, "198.51.100.4", wrong).await;
    assert_eq!(fifth.status, 303, "{}", fifth.body);
    assert_eq!(fifth.location(), Some(paths::LOGIN), "back to the password");

    // The right code, from yet another address, no longer finishes that sign-in.
    let late = code_from(&mut b, "198.51.100.5", &right).await;
    assert_eq!(late.location(), Some(paths::LOGIN));
    assert_eq!(b.get(M2M).await.status, 303, "not signed in");
    let page = b.get(paths::LOGIN).await;
    assert!(
        page.body
            .contains("Too many wrong codes. Sign in again with your password."),
        "{}",
        page.body
    );

    // The password again, then the right code: signed in.
    let res = login_with_code(&mut b, &user.email, &right).await;
    assert_eq!(res.location(), Some(M2M), "{}", res.body);
    assert_eq!(b.get(M2M).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_wrong_codes_from_twenty_addresses_lock_the_app_codes_until_a_recovery_code() {
    let (app, user, keys) = enrolled_admin().await;
    let wrong = wrong_to(&totp_code(&app, &keys.key, 0));

    // Someone with the password, from a new address each time it is asked for again: five
    // codes per pending sign-in, twenty sign-ins, each under every per-address allowance.
    let mut refused = 0;
    for round in 0..20 {
        let ip = format!("203.0.113.{round}");
        let mut b = device(&app, FIREFOX_ON_WINDOWS, &ip);
        assert!(b.login(&user.email, PASSWORD).await.to_code_step(), "{ip}");
        b.get(paths::LOGIN_CODE).await;
        for _ in 0..5 {
            let res = b.post_form(paths::LOGIN_CODE, &[("code", wrong)]).await;
            assert!([401, 303].contains(&res.status), "{ip}: {}", res.status);
            refused += 1;
        }
    }
    assert_eq!(refused, 100);

    // From an address that never failed, the right code of the app is refused too.
    let mut owner = device(&app, CHROME_ON_ANDROID, "192.0.2.77");
    assert!(owner.login(&user.email, PASSWORD).await.to_code_step());
    owner.get(paths::LOGIN_CODE).await;
    let res = owner
        .post_form(
            paths::LOGIN_CODE,
            &[("code", &totp_code(&app, &keys.key, 0))],
        )
        .await;
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(
        testid_text(&res.body, "code-error")
            .unwrap()
            .contains("Use one of your recovery codes")
    );
    assert_eq!(owner.get(M2M).await.status, 303);
    let locked = audit_rows(&app, user.org_id, "user.two_factor_locked").await;
    assert_eq!(locked.len(), 1, "audited once, when the ceiling is reached");

    // A recovery code still signs the owner in, and ends the lock.
    let res = owner
        .post_form(paths::LOGIN_CODE, &[("code", &keys.recovery_codes[0])])
        .await;
    assert_eq!(res.location(), Some(M2M), "{}", res.body);
    app.clock.advance(chrono::Duration::seconds(30));
    let mut later = device(&app, CHROME_ON_ANDROID, "192.0.2.78");
    let res = login_with_code(&mut later, &user.email, &totp_code(&app, &keys.key, 0)).await;
    assert_eq!(res.location(), Some(M2M), "the app's codes work again");
    assert_eq!(failed_codes(&app, user.id).await, 0);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The account's count of wrong codes in a row.
async fn failed_codes(app: &TestApp, user: UserId) -> i64 {
    diesel::sql_query("SELECT failed_codes::bigint AS n FROM user_two_factor WHERE user_id = $1")
        .bind::<Uuid, _>(user)
        .get_result::<Count>(&mut *app.conn().await)
        .await
        .unwrap()
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admins_reset_ends_a_locked_two_factor() {
    let (app, user, keys) = enrolled_admin().await;
    diesel::sql_query("UPDATE user_two_factor SET failed_codes = $2 WHERE user_id = $1")
        .bind::<Uuid, _>(user.id)
        .bind::<Integer, _>(100)
        .execute(&mut *app.conn().await)
        .await
        .unwrap();
    let mut b = app.client();
    let res = login_with_code(&mut b, &user.email, &totp_code(&app, &keys.key, 0)).await;
    assert_eq!(res.status, 429, "locked: {}", res.body);

    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .post_form(&paths::user_action(user.id, "two-factor/reset"), &[])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let res = app.client().login(&user.email, PASSWORD).await;
    assert!(res.signed_in(), "the password alone, until set up again");
}

/// Sessions still holding a pending sign-in of `user`.
async fn pending_rows(app: &TestApp, user: UserId) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM sessions WHERE pending_user_id = $1")
        .bind::<Uuid, _>(user)
        .get_result::<Count>(&mut *app.conn().await)
        .await
        .unwrap()
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_sign_in_ends_when_its_users_password_changes_or_sessions_end() {
    let app = TestApp::spawn().await;
    let (user, mut owner) = app.login_as(StaffRole::Admin).await;
    let keys = enrol_two_factor(&app, &mut owner).await;
    start_of_step(&app);

    // Someone with the password waits at the code step; the owner changes the password.
    let mut intruder = app.client();
    assert!(intruder.login(&user.email, PASSWORD).await.to_code_step());
    intruder.get(paths::LOGIN_CODE).await;
    let res = owner
        .post_form(
            &paths::account_security_action("password"),
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let res = intruder
        .post_form(
            paths::LOGIN_CODE,
            &[("code", &totp_code(&app, &keys.key, 0))],
        )
        .await;
    assert_ne!(res.location(), Some(M2M), "{}", res.body);
    assert_eq!(intruder.get(M2M).await.status, 303, "not signed in");
    assert_eq!(pending_rows(&app, user.id).await, 0);

    // Again with the new password; a Super Admin signs the user out everywhere.
    app.clock.advance(chrono::Duration::seconds(30));
    let mut intruder = app.client();
    assert!(
        intruder
            .login(&user.email, NEW_PASSWORD)
            .await
            .to_code_step()
    );
    intruder.get(paths::LOGIN_CODE).await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .post_form(&paths::user_action(user.id, "sessions/end"), &[])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let res = intruder
        .post_form(
            paths::LOGIN_CODE,
            &[("code", &totp_code(&app, &keys.key, 0))],
        )
        .await;
    assert_ne!(res.location(), Some(M2M), "{}", res.body);
    assert_eq!(intruder.get(M2M).await.status, 303, "not signed in");
    assert_eq!(pending_rows(&app, user.id).await, 0);

    // The owner, untouched by all this, signs in as usual.
    let mut b = app.client();
    let first = b.login(&user.email, NEW_PASSWORD).await;
    assert!(first.to_code_step());
    b.get(paths::LOGIN_CODE).await;
    let res = b
        .post_form(
            paths::LOGIN_CODE,
            &[("code", &totp_code(&app, &keys.key, 0))],
        )
        .await;
    assert_eq!(res.location(), Some(M2M), "{}", res.body);
}
