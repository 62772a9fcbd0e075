//! The staleness policy's "disable" action, run by the scheduled job: what it disables and
//! what it leaves, the audit row by the system, the email, and enabling again.

use std::time::Duration as StdDuration;

use chrono::Duration;
use m2m_console::config::SmtpSettings;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::user::StaffRole;
use m2m_console::email::Mailer;
use m2m_console::jobs::scheduled;

use crate::fixtures::{Setup, create_via_htmx, setup_on, token, valid_form, with};
use crate::helpers::{Browser, PASSWORD, TestApp};
use crate::mail_server::MailServer;

const M2M: &str = "/settings/integrations/machine-to-machine";

struct Stage {
    s: Setup,
    boss: Browser,
    boss_email: String,
    mail: MailServer,
    mailer: Mailer,
}

/// A credential never used, and a Super Admin who set the staleness policy to `action`
/// after 30 days.
async fn stage(action: &str) -> Stage {
    let mail = MailServer::start();
    let smtp = SmtpSettings::parse(&mail.url(), Some("console@acme.test")).unwrap();
    let mailer = Mailer::new(&smtp).unwrap();
    let app = TestApp::spawn_with(|s| {
        s.smtp = Some(smtp);
        s.job_interval = StdDuration::from_secs(3600);
    })
    .await;
    let s = setup_on(app, |f| f).await;
    let (boss_user, mut boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let policy = [
        ("default_lifetime_days", ""),
        ("max_lifetime_days", ""),
        ("expires_soon_days", "30"),
        ("stale_after_days", "30"),
        ("stale_action", action),
    ];
    assert_eq!(
        boss.post_form("/settings/policy", &policy).await.status,
        303
    );
    Stage {
        s,
        boss,
        boss_email: boss_user.email,
        mail,
        mailer,
    }
}

async fn run(st: &Stage) -> scheduled::Report {
    let app = &st.s.app;
    let mut conn = app.conn().await;
    scheduled::run_once(&mut conn, Some(&st.mailer), &app.address, app.clock.now()).await
}

async fn credential(st: &Stage) -> Credential {
    Credential::find_in_org(&mut *st.s.app.conn().await, st.s.org, st.s.client.id)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disable_policy_disables_what_nobody_used_and_tells_the_owner_and_the_admins() {
    let mut st = stage("disable").await;
    let form = with(valid_form(&st.s.catalog), "name", "Billing export");
    let billing = create_via_htmx(&mut st.s.admin, &form).await;
    assert_eq!(billing.status, 200);
    let listed = Credential::list_for_org(&mut *st.s.app.conn().await, st.s.org)
        .await
        .unwrap();
    let billing_client = crate::fixtures::Client {
        id: listed
            .iter()
            .find(|c| c.name == "Billing export")
            .unwrap()
            .id,
        client_id: crate::fixtures::testid_text(&billing.body, "client-id").unwrap(),
        secret: crate::fixtures::testid_text(&billing.body, "client-secret").unwrap(),
    };

    st.s.app.clock.advance(Duration::days(20));
    assert_eq!(token(&st.s.app, &billing_client, "").await.status, 200);
    st.s.app.flush_usage().await;
    st.s.app.clock.advance(Duration::days(11));
    let report = run(&st).await;
    assert_eq!(report.disabled, 1, "only the one unused for 31 days");
    assert!(credential(&st).await.is_disabled());
    assert_eq!(token(&st.s.app, &st.s.client, "").await.status, 401);
    assert_eq!(token(&st.s.app, &billing_client, "").await.status, 200);

    let events = AuditEvent::list_for_org(&mut *st.s.app.conn().await, st.s.org, 20)
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.action == "credential.disabled")
        .unwrap();
    assert_eq!(event.details["reason"], "stale");
    assert_eq!(event.actor_email, None, "the system did it");
    st.boss.login(&st.boss_email, PASSWORD).await;
    let log = st.boss.get("/settings/audit").await.body;
    assert!(
        log.contains("<td><span class=\"audit-actor\">System</span></td>"),
        "{log}"
    );

    let mut recipients: Vec<String> = st
        .mail
        .received()
        .iter()
        .flat_map(|m| m.to.clone())
        .collect();
    recipients.sort();
    let mut expected = vec![
        "ops@acme.test".to_string(),
        st.s.admin_email.clone(),
        st.boss_email.clone(),
    ];
    expected.sort();
    assert_eq!(recipients, expected);
    let email = &st.mail.received()[0];
    assert_eq!(
        email.subject(),
        "API credential “Warehouse sync” was disabled"
    );
    let body = email.body();
    assert!(body.contains("not been used for 31 days"), "{body}");
    assert!(body.contains("unused for 30 days"), "{body}");

    assert_eq!(run(&st).await.disabled, 0, "once");
    assert_eq!(st.mail.received().len(), 3);

    // Enabling it gives it a new period: the next run leaves it alone.
    st.s.admin.login(&st.s.admin_email, PASSWORD).await;
    let enabled =
        st.s.admin
            .post_form(&format!("{M2M}/{}/enable", st.s.client.id), &[])
            .await;
    assert_eq!(enabled.status, 303, "{}", enabled.body);
    assert_eq!(run(&st).await.disabled, 0);
    assert_eq!(token(&st.s.app, &st.s.client, "").await.status, 200);
    st.s.app.clock.advance(Duration::days(31));
    assert_eq!(run(&st).await.disabled, 2, "both unused for 31 days now");
    assert_eq!(st.mail.received().len(), 9, "a new email for each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warn_policy_only_flags() {
    let st = stage("warn").await;
    st.s.app.clock.advance(Duration::days(100));
    assert_eq!(run(&st).await.disabled, 0);
    assert!(!credential(&st).await.is_disabled());
    assert_eq!(token(&st.s.app, &st.s.client, "").await.status, 200);
    assert!(st.mail.received().is_empty());
}
