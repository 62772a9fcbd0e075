//! A credential's lifecycle beyond create and delete: rotation with an overlap (both secrets
//! working, the old one dying on time), retiring the old secret, the evidence that tells an
//! admin when to, and Disable/Enable. The server's clock is moved by the tests.

use chrono::Duration;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{
    Client, Setup, access_token, rotate_with_overlap, setup, setup_with, testid_text, token, whoami,
};

const M2M: &str = "/settings/integrations/machine-to-machine";

async fn credential(s: &Setup) -> Credential {
    Credential::find_in_org(&mut *s.app.conn().await, s.org, s.client.id)
        .await
        .unwrap()
}

fn with_secret(client: &Client, secret: &str) -> Client {
    Client {
        id: client.id,
        client_id: client.client_id.clone(),
        secret: secret.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_an_overlap_both_secrets_work_and_the_old_one_dies_on_time() {
    let mut s = setup().await;
    let wrong = with_secret(
        &s.client,
        m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret)
            .unwrap()
            .expose(),
    );
    let refused_before = token(&s.app, &wrong, "").await;
    let old = with_secret(&s.client, &s.client.secret);
    let new = rotate_with_overlap(&mut s, "1h").await;

    let old_token = access_token(&s.app, &old).await;
    let new_token = access_token(&s.app, &new).await;
    assert_eq!(whoami(&s.app, &old_token).await.status, 200);
    assert_eq!(whoami(&s.app, &new_token).await.status, 200);
    let refused_during = token(&s.app, &wrong, "").await;
    assert_eq!(refused_during.status, 401);
    assert_eq!(
        refused_during.text, refused_before.text,
        "a wrong secret gets the same answer, byte for byte"
    );

    s.app.clock.advance(Duration::minutes(59));
    let late_old_token = access_token(&s.app, &old).await;
    assert_eq!(token(&s.app, &old, "").await.status, 200, "still inside");
    s.app.clock.advance(Duration::minutes(2));
    assert_eq!(
        token(&s.app, &old, "").await.status,
        401,
        "the overlap ended"
    );
    assert_eq!(
        whoami(&s.app, &late_old_token).await.status,
        401,
        "tokens of the old secret end with it, though not yet expired"
    );
    let fresh = access_token(&s.app, &new).await;
    assert_eq!(whoami(&s.app, &fresh).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_again_during_an_overlap_retires_the_older_secret_at_once() {
    let mut s = setup().await;
    let first = with_secret(&s.client, &s.client.secret);
    let second = rotate_with_overlap(&mut s, "24h").await;
    let first_token = access_token(&s.app, &first).await;
    // The dialog warns before the second rotation.
    let dialog = s
        .admin
        .hx_get(&format!("{M2M}/{}/rotate", s.client.id))
        .await;
    assert!(testid_text(&dialog.body, "overlap-ends").is_some());

    let third = rotate_with_overlap(&mut s, "24h").await;
    assert_eq!(token(&s.app, &first, "").await.status, 401);
    assert_eq!(whoami(&s.app, &first_token).await.status, 401);
    assert_eq!(token(&s.app, &second, "").await.status, 200);
    assert_eq!(token(&s.app, &third, "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_the_old_secret_ends_the_overlap_and_its_tokens() {
    let mut s = setup().await;
    let old = with_secret(&s.client, &s.client.secret);
    let new = rotate_with_overlap(&mut s, "7d").await;
    let old_token = access_token(&s.app, &old).await;
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert!(page.body.contains("data-testid=\"retire-previous\""));

    let res = s
        .admin
        .post_form(&format!("{M2M}/{}/retire", s.client.id), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(token(&s.app, &old, "").await.status, 401);
    assert_eq!(whoami(&s.app, &old_token).await.status, 401);
    assert_eq!(token(&s.app, &new, "").await.status, 200);
    let again = s
        .admin
        .post_form(&format!("{M2M}/{}/retire", s.client.id), &[])
        .await;
    assert_eq!(again.status, 409, "nothing left to retire");
    let events = AuditEvent::list_for_target(
        &mut *s.app.conn().await,
        s.org,
        "credential",
        &s.client.id.to_string(),
        10,
    )
    .await
    .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "credential.previous_secret_retired")
    );
    let rotated = events
        .iter()
        .find(|e| e.action == "credential.secret_rotated")
        .unwrap();
    assert_eq!(rotated.details["overlap"], "7d");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlap_never_outlives_the_credential() {
    let mut s = setup().await;
    let expiry = s.app.clock.now() + Duration::minutes(30);
    let form = crate::fixtures::with(
        crate::fixtures::valid_form(&s.catalog),
        "expires_at",
        &expiry.format("%Y-%m-%dT%H:%M").to_string(),
    );
    let res = s
        .admin
        .post_form(
            &format!("{M2M}/{}", s.client.id),
            &crate::fixtures::pairs(&form),
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    rotate_with_overlap(&mut s, "24h").await;
    let c = credential(&s).await;
    assert_eq!(c.previous_secret_retires_at, c.expires_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_page_shows_each_secrets_evidence() {
    let mut s = setup().await;
    let old = with_secret(&s.client, &s.client.secret);
    let new = rotate_with_overlap(&mut s, "24h").await;
    for _ in 0..2 {
        access_token(&s.app, &old).await;
    }
    access_token(&s.app, &new).await;
    // The counts and last uses reach the database with the usage flush.
    s.app.flush_usage().await;
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    assert_eq!(
        testid_text(&page.body, "secret-previous-uses").as_deref(),
        Some("2")
    );
    assert_eq!(
        testid_text(&page.body, "secret-current-uses").as_deref(),
        Some("1")
    );
    let last_four = |secret: &str| {
        secret
            .chars()
            .skip(secret.chars().count() - 4)
            .collect::<String>()
    };
    assert!(page.body.contains(&format!("…{}", last_four(&new.secret))));
    assert!(page.body.contains(&format!("…{}", last_four(&old.secret))));
    assert_eq!(
        testid_text(&page.body, "secret-previous-last-use").as_deref(),
        Some("just now from 127.0.0.1")
    );
    assert!(!page.body.contains(&new.secret) && !page.body.contains(&old.secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotate_dialog_shows_what_to_check_first_and_defaults_to_now() {
    let s = setup_with(|f| f).await;
    access_token(&s.app, &s.client).await;
    s.app.flush_usage().await;
    let mut admin = s.admin;
    let dialog = admin.hx_get(&format!("{M2M}/{}/rotate", s.client.id)).await;
    assert_eq!(
        testid_text(&dialog.body, "confirm-live-tokens").as_deref(),
        Some("1")
    );
    assert!(dialog.body.contains("ops@acme.test"));
    assert!(dialog.body.contains("from 127.0.0.1"));
    assert!(dialog.body.contains(r#"value="now" checked"#));
    for overlap in ["1h", "24h", "7d"] {
        assert!(dialog.body.contains(&format!(r#"value="{overlap}""#)));
    }
    let bad = admin
        .post_form(
            &format!("{M2M}/{}/rotate", s.client.id),
            &[("overlap", "forever")],
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_refuses_at_once_and_enabling_lets_it_ask_again() {
    let mut s = setup().await;
    let before = access_token(&s.app, &s.client).await;
    let unknown = with_secret(&s.client, "m2m_sk_x");
    let res = s
        .admin
        .post_form(&format!("{M2M}/{}/disable", s.client.id), &[])
        .await;
    assert_eq!(res.status, 303);
    let refused = token(&s.app, &s.client, "").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "invalid_client");
    assert_eq!(refused.text, token(&s.app, &unknown, "").await.text);
    assert_eq!(whoami(&s.app, &before).await.status, 401);
    let list = s.admin.get(M2M).await;
    assert!(list.body.contains(">Disabled<"));
    let menu = s.admin.get(&format!("{M2M}/{}/menu", s.client.id)).await;
    assert!(menu.body.contains("data-testid=\"menu-enable\""));

    let res = s
        .admin
        .post_form(&format!("{M2M}/{}/enable", s.client.id), &[])
        .await;
    assert_eq!(res.status, 303);
    let after = access_token(&s.app, &s.client).await;
    assert_eq!(whoami(&s.app, &after).await.status, 200);
    assert_eq!(
        whoami(&s.app, &before).await.status,
        401,
        "tokens from before the disable stay dead"
    );
    let events = AuditEvent::list_for_target(
        &mut *s.app.conn().await,
        s.org,
        "credential",
        &s.client.id.to_string(),
        10,
    )
    .await
    .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"credential.disabled") && actions.contains(&"credential.enabled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_cannot_retire_disable_or_enable() {
    let mut s = setup().await;
    rotate_with_overlap(&mut s, "1h").await;
    let (_, mut viewer) = s.app.login_as(StaffRole::Viewer).await;
    for action in ["retire", "disable", "enable"] {
        let res = viewer
            .post_form(&format!("{M2M}/{}/{action}", s.client.id), &[])
            .await;
        assert_eq!(res.status, 403, "{action}");
        let form = viewer.get(&format!("{M2M}/{}/{action}", s.client.id)).await;
        assert_eq!(form.status, 403, "{action}");
    }
    assert!(credential(&s).await.previous_secret_live(s.app.clock.now()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_an_overlap_a_credential_still_keeps_at_most_ten_live_tokens() {
    let mut s = setup().await;
    let old = with_secret(&s.client, &s.client.secret);
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(access_token(&s.app, &old).await);
    }
    let new = rotate_with_overlap(&mut s, "1h").await;
    for _ in 0..6 {
        tokens.push(access_token(&s.app, &new).await);
    }
    let mut live = 0;
    for t in &tokens {
        if whoami(&s.app, t).await.status == 200 {
            live += 1;
        }
    }
    assert_eq!(live, 10);
    assert_eq!(whoami(&s.app, &tokens[0]).await.status, 401);
    assert_eq!(whoami(&s.app, &tokens[1]).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_sent_twice_rotates_once_and_never_shows_a_secret_again() {
    let mut s = setup().await;
    let rotate = format!("{M2M}/{}/rotate", s.client.id);
    let dialog = s.admin.get(&rotate).await;
    let key = dialog
        .body
        .split("name=\"rotation_key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the confirmation carries a rotation key")
        .to_string();
    let fields = [("overlap", "now"), ("rotation_key", key.as_str())];

    let first = s.admin.post_form(&rotate, &fields).await;
    assert_eq!(first.status, 200);
    let secret = testid_text(&first.body, "client-secret").unwrap();
    let version = credential(&s).await.secret_version;

    // The browser reloads the reveal page: the same form again, without JavaScript.
    let again = s.admin.post_form(&rotate, &fields).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("This secret was already shown"));
    assert!(again.body.contains("This rotation was already made"));
    assert!(!again.body.contains("data-testid=\"client-secret\""));
    assert_eq!(
        credential(&s).await.secret_version,
        version,
        "not rotated twice"
    );
    let new = with_secret(&s.client, &secret);
    assert_eq!(
        token(&s.app, &new, "").await.status,
        200,
        "the shown secret works"
    );

    // With htmx, the same replay is a conflict toast; a fresh dialog rotates again.
    let replay = s.admin.hx_post(&rotate, &fields).await;
    assert_eq!(replay.status, 409);
    let fresh = s.admin.get(&rotate).await;
    assert!(
        fresh.body.contains("name=\"rotation_key\" value=\""),
        "a key of its own"
    );
    assert!(!fresh.body.contains(&key), "each dialog has its own key");
    let page = s.admin.post_form(&rotate, &[("overlap", "now")]).await;
    assert_eq!(
        page.status, 200,
        "a rotation without a key is never a replay"
    );
    assert_eq!(credential(&s).await.secret_version, version + 1);
}
