//! `POST /api/v1/leaks`: a secret scanner reports strings found in public. A live secret's
//! credential is disabled, a live token revoked, people are emailed, the audit log keeps the
//! URL, and the answer is the same whatever matched.

use std::time::Duration as StdDuration;

use m2m_console::config::SmtpSettings;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::credential::Credential;
use m2m_console::email::Mailer;
use m2m_console::jobs::scheduled;
use serde_json::json;

use crate::fixtures::{Answer, Setup, access_token, post, setup_on, token, whoami};
use crate::helpers::{TestApp, captured_logs};
use crate::mail_server::MailServer;

const LEAKS: &str = "/api/v1/leaks";
const FOUND_AT: &str = "https://github.com/acme/warehouse/blob/main/.env";

async fn report(app: &TestApp, items: serde_json::Value, headers: &[(&str, &str)]) -> Answer {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let res = reqwest::Client::new()
        .post(app.url(LEAKS))
        .body(items.to_string());
    let res = all.iter().fold(res, |r, (k, v)| r.header(*k, *v));
    crate::fixtures::answer(res.send().await.unwrap()).await
}

fn item(token: &str) -> serde_json::Value {
    json!({ "token": token, "type": "m2m_client_secret", "url": FOUND_AT })
}

async fn mailing() -> (MailServer, Mailer, Setup) {
    let mail = MailServer::start();
    let smtp = SmtpSettings::parse(&mail.url(), Some("console@acme.test")).unwrap();
    let mailer = Mailer::new(&smtp).unwrap();
    let app = TestApp::spawn_with(|s| {
        s.smtp = Some(smtp);
        s.job_interval = StdDuration::from_secs(3600);
    })
    .await;
    (mail, mailer, setup_on(app, |f| f).await)
}

async fn deliver(s: &Setup, mailer: &Mailer) -> scheduled::Report {
    let mut conn = s.app.conn().await;
    scheduled::run_once(&mut conn, Some(mailer), &s.app.address, s.app.clock.now()).await
}

async fn events(s: &Setup) -> Vec<AuditEvent> {
    AuditEvent::list_for_org(&mut *s.app.conn().await, s.org, 50)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_secret_disables_its_credential_and_people_are_told() {
    let (mail, mailer, s) = mailing().await;
    let live_token = access_token(&s.app, &s.client).await;

    let answer = report(&s.app, json!([item(&s.client.secret)]), &[]).await;
    assert_eq!((answer.status, answer.text.as_str()), (202, "[]"));
    assert_eq!(token(&s.app, &s.client, "").await.status, 401, "at once");
    assert_eq!(
        whoami(&s.app, &live_token).await.status,
        401,
        "its tokens too"
    );
    let c = Credential::find_in_org(&mut *s.app.conn().await, s.org, s.client.id)
        .await
        .unwrap();
    assert!(
        c.is_disabled() && !c.is_revoked(),
        "disabled, so it can be enabled again"
    );

    let all = events(&s).await;
    let reported = all
        .iter()
        .find(|e| e.action == "credential.leak_reported")
        .unwrap();
    assert_eq!(reported.details["url"], FOUND_AT);
    assert_eq!(reported.details["what"], "client_secret");
    assert_eq!(reported.details["outcome"], "credential_disabled");
    assert_eq!(
        reported.target_id.as_deref(),
        Some(s.client.id.to_string().as_str())
    );
    let disabled = all
        .iter()
        .find(|e| e.action == "credential.disabled")
        .unwrap();
    assert_eq!(disabled.details["reason"], "leaked");

    assert_eq!(deliver(&s, &mailer).await.delivered.sent, 2);
    let mut to: Vec<String> = mail.received().iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    let mut expected = vec!["ops@acme.test".to_string(), s.admin_email.clone()];
    expected.sort();
    assert_eq!(to, expected);
    let email = &mail.received()[0];
    assert!(
        email
            .subject()
            .contains("was found in public: it is disabled"),
        "{}",
        email.subject()
    );
    assert!(email.body().contains(FOUND_AT));
    assert!(
        !email.data.contains(&s.client.secret),
        "never the secret itself"
    );

    // Reported again (from another place): recorded, no second email.
    let again = report(&s.app, json!([item(&s.client.secret)]), &[]).await;
    assert_eq!(again.status, 202);
    let outcomes: Vec<_> = events(&s)
        .await
        .into_iter()
        .filter(|e| e.action == "credential.leak_reported")
        .map(|e| e.details["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        [json!("already_disabled"), json!("credential_disabled")]
    );
    assert_eq!(deliver(&s, &mailer).await.delivered.sent, 0);
    assert!(!captured_logs().contains(&s.client.secret), "never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_token_is_revoked_and_its_credential_keeps_working() {
    let (mail, mailer, s) = mailing().await;
    let leaked = access_token(&s.app, &s.client).await;
    let other = access_token(&s.app, &s.client).await;
    let answer = report(
        &s.app,
        json!([{ "token": leaked, "type": "m2m_access_token", "url": FOUND_AT }]),
        &[],
    )
    .await;
    assert_eq!(answer.status, 202);
    assert_eq!(whoami(&s.app, &leaked).await.status, 401);
    assert_eq!(whoami(&s.app, &other).await.status, 200, "only that token");
    assert_eq!(token(&s.app, &s.client, "").await.status, 200);
    assert_eq!(deliver(&s, &mailer).await.delivered.sent, 2);
    let subject = mail.received()[0].subject();
    assert!(
        subject.contains("An access token of API credential “Warehouse sync”"),
        "{subject}"
    );
    assert!(!captured_logs().contains(&leaked));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_is_the_same_whatever_matched() {
    let s = setup_on(TestApp::spawn().await, |f| f).await;
    let unknown = m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret).unwrap();
    // The real secret with one character changed: its checksum fails.
    let mut mangled: Vec<char> = s.client.secret.chars().collect();
    let last = mangled.len() - 1;
    mangled[last] = if mangled[last] == 'a' { 'b' } else { 'a' };
    let mangled: String = mangled.into_iter().collect();

    let mut answers = Vec::new();
    for items in [
        json!([item(unknown.expose())]),
        json!([item(&mangled)]),
        json!([item("ghp_not_ours_at_all"), { "token": 42 }, { "url": FOUND_AT }, "text"]),
        json!([]),
    ] {
        let a = report(&s.app, items, &[]).await;
        answers.push((a.status, a.text));
    }
    assert!(
        answers.iter().all(|a| *a == (202, "[]".to_string())),
        "{answers:?}"
    );
    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        200,
        "nothing was disabled"
    );
    assert!(
        events(&s)
            .await
            .iter()
            .all(|e| e.action != "credential.leak_reported")
    );

    for (body, status) in [("{not json", 400), ("{\"token\": \"x\"}", 400)] {
        let a = post(&s.app, LEAKS, body, &[("Content-Type", "application/json")]).await;
        assert_eq!(a.status, status, "{body}");
        assert_eq!(a.json()["error"], "invalid_request");
    }
    let too_many: Vec<_> = (0..1001).map(|_| item("x")).collect();
    assert_eq!(report(&s.app, json!(too_many), &[]).await.status, 413);
    let get = reqwest::get(s.app.url(LEAKS)).await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_limited_per_address() {
    let app =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    for _ in 0..30 {
        assert_eq!(
            report(&app, json!([]), &from("203.0.113.9")).await.status,
            202
        );
    }
    let refused = report(&app, json!([]), &from("203.0.113.9")).await;
    assert_eq!(refused.status, 429);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(
        report(&app, json!([]), &from("198.51.100.4")).await.status,
        202,
        "others are not"
    );
}
