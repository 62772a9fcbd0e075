//! Invitations replace "add a user with a password" (issue 19): the Super Admin gives an
//! email and a role, the invitee gets a one-time link and chooses their own password; the
//! answer never tells whether another organisation has the address.

use chrono::Duration;
use diesel::sql_types::{BigInt, Bytea};
use diesel_async::RunQueryDsl;
use m2m_console::db::models::user::{StaffRole, User};
use m2m_console::paths;

use crate::fixtures::*;
use crate::helpers::{PASSWORD, TestApp, captured_logs};
use crate::mail_server::MailServer;

const CHOSEN: &str = "violet quarry lantern sideways";

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Invitations stored under the digest of `token` (the token itself is stored nowhere).
async fn stored_under_digest(app: &TestApp, token: &str) -> i64 {
    let digest = m2m_console::random::sha256(token.as_bytes());
    diesel::sql_query("SELECT count(*) AS n FROM invitations WHERE token_hash = $1")
        .bind::<Bytea, _>(digest)
        .get_result::<Count>(&mut *app.conn().await)
        .await
        .unwrap()
        .n
}

fn token_of(link: &str) -> &str {
    link.split_once("token=").unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emailed_invitation_lets_the_invitee_choose_their_password_once() {
    let mail = MailServer::start();
    let app = TestApp::spawn_with(mailing_to(&mail)).await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .post_form(
            paths::USERS,
            &[("email", " New.Person@Acme.test "), ("role", "admin")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = boss.get(paths::USERS).await;
    assert!(
        page.body
            .contains("Invitation sent to new.person@acme.test."),
        "{}",
        page.body
    );
    assert_eq!(rows(&page, "invitation-row"), 1);
    assert!(
        testid_text(&page.body, "invitation-email-status")
            .unwrap()
            .starts_with("Emailed")
    );
    assert!(!page.body.contains("data-testid=\"invitation-link\""));
    assert!(
        !page.body.contains("name=\"password\""),
        "no password to type"
    );

    let received = mail.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["new.person@acme.test"]);
    assert_eq!(
        received[0].subject(),
        "You are invited to Acme on the API console"
    );
    let body = received[0].body();
    assert!(
        body.contains(&boss_user.email) && body.contains("Admin"),
        "{body}"
    );
    let link = link_in(&body);
    assert_eq!(stored_under_digest(&app, token_of(&link)).await, 1);

    let mut invitee = app.client();
    let form = invitee.get(&link).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.header("cache-control"), Some("no-store"));
    assert!(form.body.contains("Join Acme"));
    assert!(
        form.body
            .contains("value=\"new.person@acme.test\" readonly")
    );
    let weak = invitee
        .post_form(
            paths::INVITATION,
            &[
                ("token", token_of(&link)),
                ("password", "qwertyuiopasdfgh"),
                ("password_confirm", "qwertyuiopasdfgh"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(
        testid_text(&weak.body, "error-password")
            .unwrap()
            .starts_with("This password is too easy to guess.")
    );
    assert!(!weak.body.contains("qwertyuiopasdfgh"), "never echoed");

    let (mut signed_in, res) = accept(&app, &link, CHOSEN).await;
    assert_eq!(res.location(), Some(paths::M2M), "{}", res.body);
    let home = signed_in.get(paths::M2M).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("new.person@acme.test"));
    let user = User::find_by_email(&mut *app.conn().await, "new.person@acme.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.org_id, user.role),
        (boss_user.org_id, StaffRole::Admin)
    );

    // Once: the link is spent, and the invitation is no longer listed.
    assert_eq!(app.client().get(&link).await.status, 404);
    let page = boss.get(paths::USERS).await;
    assert_eq!(rows(&page, "invitation-row"), 0);
    assert!(page.body.contains("new.person@acme.test"), "a user now");
    assert!(
        app.client()
            .login("new.person@acme.test", CHOSEN)
            .await
            .signed_in()
    );

    for action in ["user.invited", "user.invitation_accepted"] {
        assert_eq!(
            audit_rows(&app, user.org_id, action).await.len(),
            1,
            "{action}"
        );
    }
    let audit = format!("{:?}", audit_rows(&app, user.org_id, "user.invited").await);
    assert!(!audit.contains(token_of(&link)));
    assert!(!captured_logs().contains(token_of(&link)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_is_the_same_whether_or_not_another_organisation_has_the_address() {
    let mail = MailServer::start();
    let app = TestApp::spawn_with(mailing_to(&mail)).await;
    let hank = app
        .create_user("Globex", "hank@globex.test", StaffRole::Admin)
        .await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;

    // The same answer for both: with htmx the section and a toast, without a redirect.
    for email in ["hank@globex.test", "nobody@elsewhere.test"] {
        let res = boss
            .hx_post_from(
                paths::USERS,
                paths::USERS,
                &[("email", email), ("role", "viewer")],
            )
            .await;
        assert_eq!(res.status, 200, "{email}: {}", res.body);
        assert!(
            res.body
                .contains(&format!("Invitation sent to {email}. The link works once")),
            "{}",
            res.body
        );
        assert!(!res.body.contains("already"), "{email}");
        assert!(!res.body.contains("error-email"), "{email}");
        let plain = boss
            .post_form(paths::USERS, &[("email", email), ("role", "viewer")])
            .await;
        assert_eq!((plain.status, plain.location()), (303, Some(paths::USERS)));
        assert!(
            boss.get(paths::USERS)
                .await
                .body
                .contains(&format!("Invitation sent to {email}."))
        );
    }
    assert_eq!(mail.received().len(), 4, "each one is emailed");

    // Only whoever opens the link learns that the address cannot join.
    let to_hank = mail
        .received()
        .into_iter()
        .rfind(|m| m.to == ["hank@globex.test"])
        .unwrap();
    let link = link_in(&to_hank.body());
    let opened = app.client().get(&link).await;
    assert_eq!(opened.status, 409);
    assert!(opened.body.contains("already has a staff account"));
    let still = User::find_by_email(&mut *app.conn().await, "hank@globex.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((still.org_id, still.role), (hank.org_id, StaffRole::Admin));
    // Acme's audit log says it invited the address, nothing about Globex.
    let audit = format!(
        "{:?}",
        audit_rows(&app, boss_user.org_id, "user.invited").await
    );
    assert!(audit.contains("hank@globex.test"), "{audit}");
    assert!(!audit.contains("Globex") && !audit.contains(&hank.org_id.to_string()));

    // A user of the Super Admin's own organisation is said to be one (they are listed).
    let res = boss
        .post_form(
            paths::USERS,
            &[("email", &boss_user.email), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("is already a user of your organisation."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_email_off_the_link_is_shown_once_to_the_super_admin() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let res = boss
        .post_form(
            paths::USERS,
            &[("email", "ann@acme.test"), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.body.contains("Email is off on this server"));
    let link = link_path(&testid_text(&res.body, "invitation-link").unwrap());

    let again = boss.get(paths::USERS).await;
    assert_eq!(rows(&again, "invitation-row"), 1);
    assert!(!again.body.contains(token_of(&link)), "shown once");
    assert!(
        testid_text(&again.body, "invitation-email-status")
            .unwrap()
            .contains("email is off")
    );

    let (_, res) = accept(&app, &link, CHOSEN).await;
    assert_eq!(res.location(), Some(paths::M2M));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_expires_and_can_be_sent_again_or_revoked() {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let first = invite(&mut boss, "ben@acme.test", "admin").await;
    app.clock.advance(Duration::days(3) + Duration::minutes(1));
    assert_eq!(app.client().get(&first).await.status, 404, "expired");
    // Days later: signed in again, and a while ago.
    let mut boss = app.client();
    assert!(boss.login(&boss_user.email, PASSWORD).await.signed_in());
    app.clock.advance(Duration::minutes(11));
    let page = boss.get(paths::USERS).await;
    assert!(page.body.contains("Expired"), "{}", page.body);

    // Send again (a stale session asks first): a new link, the old one still dead.
    let id = page
        .body
        .split("data-invitation-id=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let resend = paths::invitation_action(&id, "resend");
    let dialog = boss.post_form(&resend, &[]).await;
    assert!(dialog.body.contains("data-testid=\"step-up-form\""));
    let res = boss
        .post_form(&resend, &[("confirm_password", PASSWORD)])
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let second = link_path(&testid_text(&res.body, "invitation-link").unwrap());
    assert_ne!(first, second);
    assert_eq!(app.client().get(&first).await.status, 404);
    assert_eq!(app.client().get(&second).await.status, 200);

    let res = boss
        .post_form(&paths::invitation_action(&id, "revoke"), &[])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.client().get(&second).await.status, 404, "revoked");
    for action in [
        "user.invited",
        "user.invitation_resent",
        "user.invitation_revoked",
    ] {
        assert_eq!(
            audit_rows(&app, boss_user.org_id, action).await.len(),
            1,
            "{action}"
        );
    }
    assert!(
        User::find_by_email(&mut *app.conn().await, "ben@acme.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_policy_asks_for_two_factor_the_invitee_sets_it_up_first() {
    let app = TestApp::spawn().await;
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let link = invite(&mut boss, "cleo@acme.test", "admin").await;
    let page = boss
        .post_form(
            paths::POLICY,
            &[
                ("expires_soon_days", "30"),
                ("stale_after_days", "90"),
                ("stale_action", "warn"),
                ("require_two_factor", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (mut cleo, res) = accept(&app, &link, CHOSEN).await;
    assert_eq!(res.location(), Some(paths::ACCOUNT_SECURITY));
    assert_eq!(
        cleo.get(paths::M2M).await.location(),
        Some(paths::ACCOUNT_SECURITY),
        "nothing else until two-factor is on"
    );
    let security = cleo.get(paths::ACCOUNT_SECURITY).await;
    assert!(security.body.contains("data-testid=\"setup-submit\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_super_admin_invites_and_a_link_is_refused_without_its_token() {
    let app = TestApp::spawn().await;
    for role in [StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut browser) = app.login_as(role).await;
        let res = browser
            .post_form(
                paths::USERS,
                &[("email", "eve@acme.test"), ("role", "super_admin")],
            )
            .await;
        assert_eq!(res.status, 403, "{role:?}");
    }
    let (_, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let link = invite(&mut boss, "fay@acme.test", "viewer").await;
    for bad in [
        "/invitation",
        "/invitation?token=",
        "/invitation?token=nope",
    ] {
        let res = app.client().get(bad).await;
        assert_eq!(res.status, 404, "{bad}");
        assert!(res.body.contains("not valid"));
    }
    let mut stranger = app.client();
    stranger.get(&link).await;
    let res = stranger
        .post_form(
            paths::INVITATION,
            &[
                ("token", "nope"),
                ("password", CHOSEN),
                ("password_confirm", CHOSEN),
            ],
        )
        .await;
    assert_eq!(res.status, 404);
    assert!(
        User::find_by_email(&mut *app.conn().await, "fay@acme.test")
            .await
            .unwrap()
            .is_none()
    );
}
