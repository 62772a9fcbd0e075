//! Expiry reminders and their delivery over SMTP to a real server in the test process:
//! who receives them, when, exactly once with several instances, and what happens while
//! the mail server is down.

use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use m2m_console::config::SmtpSettings;
use m2m_console::db::models::user::StaffRole;
use m2m_console::db::schema::notices;
use m2m_console::email::Mailer;
use m2m_console::jobs::scheduled::{self, Report};

use crate::fixtures::{Setup, setup_on, token, with};
use crate::helpers::{RefusedPort, TestApp, captured_logs};
use crate::mail_server::{MailServer, Received};

const OWNER: &str = "ops@acme.test";

fn smtp(url: &str) -> SmtpSettings {
    SmtpSettings::parse(url, Some("API console <console@acme.test>")).unwrap()
}

/// An app sending to `mail`; its own job loop runs every `interval`.
async fn app_mailing(mail: &MailServer, interval: StdDuration) -> TestApp {
    let url = mail.url();
    TestApp::spawn_with(|s| {
        s.smtp = Some(smtp(&url));
        s.job_interval = interval;
    })
    .await
}

/// A credential owned by ops@acme.test created 40 days before its expiry and now `days`
/// from it (and a Viewer, who is never emailed).
async fn expiring_in(app: TestApp, days: i64) -> Setup {
    let at = (app.clock.now() + Duration::days(40))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let s = setup_on(app, |f| with(f, "expires_at", &at)).await;
    s.app
        .create_user("Acme", "viewer@acme.test", StaffRole::Viewer)
        .await;
    s.app.clock.advance(Duration::days(40 - days));
    s
}

async fn run(app: &TestApp, mailer: Option<&Mailer>) -> Report {
    let mut conn = app.conn().await;
    scheduled::run_once(&mut conn, mailer, &app.address, app.clock.now()).await
}

fn to(messages: &[Received]) -> Vec<String> {
    let mut all: Vec<String> = messages.iter().flat_map(|m| m.to.clone()).collect();
    all.sort();
    all
}

fn admin_email(s: &Setup) -> String {
    s.admin_email.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_reach_the_owner_and_the_admins_once_each_with_two_instances_running() {
    let mail = MailServer::start();
    let app = app_mailing(&mail, StdDuration::from_millis(200)).await;
    let s = expiring_in(app, 40).await;
    let other = s.app.second_instance().await;
    let mut expected = vec![OWNER.to_string(), admin_email(&s)];
    expected.sort();

    // Both instances' job loops run every 200 ms from here on.
    tokio::time::sleep(StdDuration::from_millis(800)).await;
    assert!(mail.received().is_empty(), "40 days ahead: nothing yet");

    s.app.clock.advance(Duration::days(11));
    let first = mail.wait_for(2).await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(to(&mail.received()), expected, "once each: {first:?}");
    let reminder = &first[0];
    assert!(
        reminder.subject().contains("“Warehouse sync” expires in 2"),
        "{}",
        reminder.subject()
    );
    let body = reminder.body();
    assert!(body.contains(&s.client.client_id), "{body}");
    assert!(body.contains("of Acme"), "{body}");
    // Links use PUBLIC_URL, the address people reach the console at.
    let link = format!(
        "{}/settings/integrations/machine-to-machine/{}",
        s.app.settings.issuer(),
        s.client.id
    );
    assert!(body.contains(&link), "{body}");
    assert!(!body.contains(&s.client.secret), "never the secret");
    assert!(
        reminder
            .data
            .contains("From: \"API console\" <console@acme.test>")
    );

    s.app.clock.advance(Duration::days(23));
    mail.wait_for(4).await;
    s.app.clock.advance(Duration::days(5) + Duration::hours(12));
    mail.wait_for(6).await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    let all = mail.received();
    assert_eq!(
        all.len(),
        6,
        "{:?}",
        all.iter().map(Received::subject).collect::<Vec<_>>()
    );
    assert!(
        all[2].subject().ends_with("expires in 6 days"),
        "{}",
        all[2].subject()
    );
    assert!(
        all[4].subject().contains("expires in 12 hours"),
        "{}",
        all[4].subject()
    );

    s.app.clock.advance(Duration::days(2));
    tokio::time::sleep(StdDuration::from_millis(1000)).await;
    assert_eq!(mail.received().len(), 6, "nothing once it has expired");
    drop(other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_send_each_email_exactly_once() {
    let mail = MailServer::start();
    let app = app_mailing(&mail, StdDuration::from_secs(3600)).await;
    let s = expiring_in(app, 5).await;
    let mailer = std::sync::Arc::new(Mailer::new(&smtp(&mail.url())).unwrap());
    let runs = (0..6).map(|_| {
        let pool = s.app.pool.clone();
        let mailer = mailer.clone();
        let (base, now) = (s.app.address.clone(), s.app.clock.now());
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            scheduled::run_once(&mut conn, Some(&mailer), &base, now).await
        })
    });
    let reports = futures::future::join_all(runs).await;
    let sent: usize = reports
        .iter()
        .map(|r| r.as_ref().unwrap().delivered.sent)
        .sum();
    let queued: usize = reports.iter().map(|r| r.as_ref().unwrap().reminders).sum();
    assert_eq!((queued, sent), (2, 2));
    let mut expected = vec![OWNER.to_string(), admin_email(&s)];
    expected.sort();
    assert_eq!(to(&mail.received()), expected);
    let subject = mail.received()[0].subject();
    assert!(subject.ends_with("expires in 5 days"), "{subject}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_mail_server_delays_nothing_and_is_retried_with_backoff() {
    let down = RefusedPort::reserve();
    let dead_url = format!("smtp://127.0.0.1:{}", down.port());
    let app = TestApp::spawn_with(|s| {
        s.smtp = Some(smtp(&dead_url));
        s.job_interval = StdDuration::from_secs(3600);
    })
    .await;
    let s = expiring_in(app, 5).await;
    let dead = Mailer::new(&smtp(&dead_url)).unwrap();

    let report = run(&s.app, Some(&dead)).await;
    assert_eq!((report.reminders, report.delivered.failed), (2, 2));
    assert!(captured_logs().contains("could not send an email; will retry"));
    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        200,
        "the rest works"
    );
    let rows: Vec<(i32, Option<String>)> = notices::table
        .select((notices::attempts, notices::last_error))
        .load(&mut *s.app.conn().await)
        .await
        .unwrap();
    assert!(rows.iter().all(|(n, e)| *n == 1 && e.is_some()), "{rows:?}");

    let again = run(&s.app, Some(&dead)).await;
    assert_eq!(
        again.delivered,
        Default::default(),
        "not due again for a minute"
    );

    // The server comes back (first answering "try later", then accepting).
    let mail = MailServer::start();
    let alive = Mailer::new(&smtp(&mail.url())).unwrap();
    mail.refuse(true);
    s.app.clock.advance(Duration::seconds(61));
    assert_eq!(run(&s.app, Some(&alive)).await.delivered.failed, 2);
    mail.refuse(false);
    s.app.clock.advance(Duration::seconds(61));
    assert_eq!(
        run(&s.app, Some(&alive)).await.delivered.failed,
        0,
        "2 minutes now"
    );
    s.app.clock.advance(Duration::seconds(60));
    assert_eq!(run(&s.app, Some(&alive)).await.delivered.sent, 2);
    assert_eq!(mail.received().len(), 2);
    assert_eq!(
        run(&s.app, Some(&alive)).await,
        Report::default(),
        "sent once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_not_sent_within_three_days_is_given_up_not_sent_late() {
    let app = TestApp::spawn_with(|s| s.job_interval = StdDuration::from_secs(3600)).await;
    let s = expiring_in(app, 6).await;
    assert_eq!(
        run(&s.app, None).await.reminders,
        2,
        "queued even with email off"
    );

    s.app
        .clock
        .advance(Duration::days(3) + Duration::minutes(1));
    let mail = MailServer::start();
    let mailer = Mailer::new(&smtp(&mail.url())).unwrap();
    let report = run(&s.app, Some(&mailer)).await;
    assert_eq!(report.delivered.abandoned, 2);
    assert!(mail.received().is_empty());
}
