//! The organisation's credential policy (Settings → Credential policy): who may change it,
//! what it refuses, and what it does to the credential form and list: expiry presets, the
//! maximum lifetime, "expires soon", the stale flag and the expiring-soon banner.

use chrono::Duration;
use m2m_console::db::models::audit_event::AuditEvent;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::user::StaffRole;

use crate::fixtures::{
    create_via_htmx, seed_catalog, setup, setup_with, testid_text, token, valid_form, with,
};
use crate::helpers::{Browser, TestApp};

const POLICY: &str = "/settings/policy";
const M2M: &str = "/settings/integrations/machine-to-machine";

fn policy_form<'a>(
    default: &'a str,
    max: &'a str,
    soon: &'a str,
    stale: &'a str,
    action: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("default_lifetime_days", default),
        ("max_lifetime_days", max),
        ("expires_soon_days", soon),
        ("stale_after_days", stale),
        ("stale_action", action),
    ]
}

async fn super_admin(app: &TestApp) -> Browser {
    app.login_as(StaffRole::SuperAdmin).await.1
}

async fn set_policy(browser: &mut Browser, form: &[(&'static str, &str)]) {
    let page = browser.post_form(POLICY, form).await;
    assert_eq!(page.status, 303, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_super_admin_sees_and_changes_the_policy() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    assert_eq!(browser.get(POLICY).await.status, 403);
    let form = policy_form("30", "90", "14", "60", "disable");
    assert_eq!(browser.post_form(POLICY, &form).await.status, 403);
    assert!(
        !browser.get("/settings").await.body.contains(POLICY),
        "an Admin is not offered the page"
    );

    let mut boss = super_admin(&app).await;
    assert!(boss.get("/settings").await.body.contains(POLICY));
    let page = boss.get(POLICY).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(r#"value="90""#),
        "the defaults are shown"
    );
    set_policy(&mut boss, &form).await;
    let page = boss.get(POLICY).await;
    assert!(page.body.contains("Saved the credential policy."));
    for value in ["30", "90", "14", "60"] {
        assert!(
            page.body.contains(&format!(r#"value="{value}""#)),
            "{value}"
        );
    }
    let mut conn = app.conn().await;
    let policy = m2m_console::policy::load(&mut conn, admin.org_id)
        .await
        .unwrap();
    assert_eq!(policy.max_lifetime_days, Some(90));
    assert_eq!(
        policy.stale_action,
        m2m_console::policy::StaleAction::Disable
    );
    let events = AuditEvent::list_for_org(&mut conn, admin.org_id, 10)
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.action == "policy.updated")
        .expect("audited");
    assert_eq!(event.details["before"]["stale_after_days"], 90);
    assert_eq!(event.details["after"]["stale_after_days"], 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_makes_no_sense_is_refused_with_its_reasons() {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let org = boss_user.org_id;
    let cases: [(Vec<(&'static str, &str)>, &str); 6] = [
        (
            policy_form("400", "90", "30", "90", "warn"),
            "default_lifetime_days",
        ),
        (
            policy_form("", "0", "30", "90", "warn"),
            "max_lifetime_days",
        ),
        (
            policy_form("", "", "3 days", "90", "warn"),
            "expires_soon_days",
        ),
        (
            policy_form("", "", "400", "90", "warn"),
            "expires_soon_days",
        ),
        (policy_form("", "", "30", "", "warn"), "stale_after_days"),
        (policy_form("", "", "30", "90", "delete"), "stale_action"),
    ];
    for (form, field) in cases {
        let page = boss.hx_post(POLICY, &form).await;
        assert_eq!(page.status, 422, "{field}: {}", page.body);
        assert!(
            page.body
                .contains(&format!("data-testid=\"error-{field}\"")),
            "{field}: {}",
            page.body
        );
    }
    let events = AuditEvent::list_for_org(&mut *app.conn().await, org, 10)
        .await
        .unwrap();
    assert!(
        events.iter().all(|e| e.action != "policy.updated"),
        "nothing saved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_sets_the_expiry_and_the_maximum_lifetime_is_enforced() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;

    let form = with(valid_form(&catalog), "expiry", "90");
    let page = create_via_htmx(&mut browser, &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut conn = app.conn().await;
    let created = Credential::list_for_org(&mut conn, admin.org_id)
        .await
        .unwrap();
    let off_by = created[0].expires_at.unwrap() - (app.clock.now() + Duration::days(90));
    assert!(off_by.abs() < Duration::minutes(1), "{off_by}");

    let mut boss = super_admin(&app).await;
    set_policy(&mut boss, &policy_form("", "60", "30", "90", "warn")).await;
    let new_form = browser.get(&format!("{M2M}/new")).await.body;
    assert!(
        !new_form.contains(r#"data-testid="expiry-never""#),
        "never is not offered"
    );
    assert!(
        !new_form.contains(r#"data-testid="expiry-90""#),
        "nor beyond the maximum"
    );
    assert!(new_form.contains(r#"data-testid="expiry-30""#));
    assert!(new_form.contains("allows at most 60 days"));

    let refused = [
        (with(valid_form(&catalog), "expiry", "never"), "expiry"),
        (with(valid_form(&catalog), "expiry", "365"), "expiry"),
        (with(valid_form(&catalog), "expiry", "soonish"), "expiry"),
        (valid_form(&catalog), "expiry"),
    ];
    let too_late = (app.clock.now() + Duration::days(61))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let custom = with(
        with(valid_form(&catalog), "expiry", "custom"),
        "expires_at",
        &too_late,
    );
    let custom_empty = with(valid_form(&catalog), "expiry", "custom");
    for (form, field) in refused
        .into_iter()
        .chain([(custom, "expires_at"), (custom_empty, "expires_at")])
    {
        let page = create_via_htmx(&mut browser, &form).await;
        assert_eq!(page.status, 422, "{form:?}: {}", page.body);
        assert!(
            page.body
                .contains(&format!("data-testid=\"error-{field}\"")),
            "{form:?}: {}",
            page.body
        );
    }
    assert_eq!(
        Credential::count_in_org(&mut conn, admin.org_id)
            .await
            .unwrap(),
        1
    );

    let allowed = (app.clock.now() + Duration::days(59))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let form = with(
        with(valid_form(&catalog), "expiry", "custom"),
        "expires_at",
        &allowed,
    );
    let form = with(form, "name", "Within the limit");
    assert_eq!(create_via_htmx(&mut browser, &form).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_form_preselects_the_default_lifetime() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = app.login_as(StaffRole::Admin).await;
    let checked = |body: &str, value: &str| {
        body.contains(&format!(
            r#"value="{value}" checked data-testid="expiry-{value}""#
        ))
    };
    let form = browser.get(&format!("{M2M}/new")).await.body;
    assert!(checked(&form, "never"), "{form}");

    let mut boss = super_admin(&app).await;
    set_policy(&mut boss, &policy_form("90", "", "30", "90", "warn")).await;
    let form = browser.get(&format!("{M2M}/new")).await.body;
    assert!(checked(&form, "90"), "{form}");

    set_policy(&mut boss, &policy_form("45", "", "30", "90", "warn")).await;
    let form = browser.get(&format!("{M2M}/new")).await.body;
    assert!(checked(&form, "custom"), "{form}");
    let in_45_days = (app.clock.now() + Duration::days(45))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    assert!(form.contains(&format!(r#"value="{in_45_days}""#)), "{form}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_credential_is_flagged_as_the_policy_says() {
    let mut s = setup().await;
    let stale = |body: &str| testid_text(body, "stale");
    assert_eq!(stale(&s.admin.get(M2M).await.body), None);

    s.app.clock.advance(Duration::days(91));
    let mut boss = super_admin(&s.app).await;
    let list = boss.get(M2M).await.body;
    assert_eq!(
        stale(&list).as_deref(),
        Some("Unused for 91 days"),
        "{list}"
    );

    set_policy(&mut boss, &policy_form("", "", "30", "120", "warn")).await;
    assert_eq!(stale(&boss.get(M2M).await.body), None, "not yet 120 days");
    set_policy(&mut boss, &policy_form("", "", "30", "30", "nothing")).await;
    assert_eq!(
        stale(&boss.get(M2M).await.body),
        None,
        "the policy says nothing"
    );
    set_policy(&mut boss, &policy_form("", "", "30", "30", "warn")).await;
    assert!(stale(&boss.get(M2M).await.body).is_some());

    assert_eq!(token(&s.app, &s.client, "").await.status, 200);
    s.app.flush_usage().await;
    assert_eq!(stale(&boss.get(M2M).await.body), None, "used again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_warns_of_credentials_expiring_within_a_week() {
    let in_days = |app: &TestApp, days: i64| {
        (app.clock.now() + Duration::days(days))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let mut s = setup_with(|f| f).await;
    let banner = |body: &str| {
        let start = body.find(r#"data-testid="expiring-banner""#)?;
        Some(body[start..start + body[start..].find("</div>")?].to_string())
    };
    assert_eq!(banner(&s.admin.get(M2M).await.body), None);

    let five = in_days(&s.app, 5);
    let three = in_days(&s.app, 3);
    let twenty = in_days(&s.app, 20);
    for (name, at) in [
        ("Billing export", &five),
        ("Payroll push", &three),
        ("CRM", &twenty),
    ] {
        let form = with(with(valid_form(&s.catalog), "name", name), "expires_at", at);
        assert_eq!(create_via_htmx(&mut s.admin, &form).await.status, 200);
    }
    let shown = banner(&s.admin.get(M2M).await.body).expect("a banner");
    assert!(
        shown.contains("2 credentials expire within 7 days"),
        "{shown}"
    );
    let payroll = shown.find("Payroll push").unwrap();
    let billing = shown.find("Billing export").unwrap();
    assert!(payroll < billing, "soonest first: {shown}");
    assert!(!shown.contains("CRM"));

    let credentials = Credential::list_for_org(&mut *s.app.conn().await, s.org)
        .await
        .unwrap();
    let payroll = credentials
        .iter()
        .find(|c| c.name == "Payroll push")
        .unwrap();
    let revoked = s
        .admin
        .post_form(&format!("{M2M}/{}/revoke", payroll.id), &[])
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let shown = banner(&s.admin.get(M2M).await.body).expect("a banner");
    assert!(
        shown.contains("1 credential expires within 7 days"),
        "{shown}"
    );
    assert!(
        !shown.contains("Payroll push"),
        "a revoked credential needs no warning"
    );
}
